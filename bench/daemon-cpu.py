#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""CPU time each daemon spends per operation: vdaxd, QEMU's C virtiofsd and
the Rust virtiofsd, served the same workload by libvdax in one interleaved
vdax-bench run.

On this machine the metadata rows are set by the client (libvdax's round
trip on the two cores it shares with the daemon), so the throughput of the
three daemons comes out level; what a faster daemon buys is CPU left for
the guest. This measures it: `perf record -e cpu-clock` samples every
process of the run, the samples of each daemon's processes (told apart by
their thread names) give its CPU seconds, and vdax-bench's JSON gives the
operations it served (each repetition's rate times its duration, plus the
quarter-length warm-up at the mean rate). A column's slice ends after the
operation in flight, so a row whose operation is long (a 10 000-entry
listing takes about 0.15 s) serves a little more than that count: one
slice per repetition, of a second, keeps the error under 15 % there and
negligible on the other rows; it falls on the three daemons alike.

  bench/daemon-cpu.py BUILD_DIR RUST_VIRTIOFSD [--workloads meta,walk,...]
                      [--threads 1,4] [--reps N] [--duration S] [--md FILE]
                      [--bench-arg=--queues=N]...

Needs root and perf (linux-perf). Prints a Markdown table: CPU µs per
operation of each daemon and the ratios QEMU/vdaxd and Rust/vdaxd (> 1:
vdaxd needs less CPU for the same work).
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

FREQ = 4000  # samples per CPU second


def classify(threads):
    """Which daemon a process is, from its threads' names, or None."""
    names = set(threads)
    if 'vdaxd' in names:
        return 'vdaxd'
    # The Rust daemon runs under its own loader: its main thread is
    # ld-linux-x86-64 (or virtiofsd once it renames), its queue threads
    # vring_worker, its backend-channel thread virtiofsd-backend.
    if names & {'vring_worker', 'ld-linux-x86-64'} or \
            any(n.startswith('virtiofsd-') for n in names):
        return 'rust'
    if 'virtiofsd' in names:
        return 'virtiofsd'
    return None


def daemon_cpu(perf_data):
    """{daemon: CPU seconds} from a perf.data of cpu-clock samples."""
    out = subprocess.run(['perf', 'script', '-i', perf_data, '-F', 'pid,comm'],
                         capture_output=True, text=True, check=True).stdout
    per_pid = collections.defaultdict(collections.Counter)
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        pid, comm = parts[-1], ' '.join(parts[:-1])
        per_pid[pid][comm] += 1
    cpu = collections.Counter()
    for pid, threads in per_pid.items():
        who = classify(threads)
        if who:
            cpu[who] += sum(threads.values()) / FREQ
    return cpu


def ops_served(res, duration):
    runs = [r for r in res['runs'] if r is not None]
    if not runs:
        return None
    # each repetition: rate x duration; the warm-up is a quarter of one
    return sum(runs) * duration + 0.25 * duration * sum(runs) / len(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('rust')
    ap.add_argument('--workloads', default='meta,walk,readdir,randread,randwrite')
    ap.add_argument('--threads', default='1,4')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--duration', type=float, default=1.0)
    ap.add_argument('--md')
    ap.add_argument('--bench-arg', action='append', default=[],
                    help='one more vdax-bench option (e.g. --queues=1)')
    a = ap.parse_args()
    bench = os.path.join(a.build, 'bench', 'vdax-bench')
    cols = ('vdaxd', 'virtiofsd', 'rust')
    lines = ['| workload | thr | unit of work | vdaxd µs CPU | QEMU virtiofsd µs CPU '
             '| Rust virtiofsd µs CPU | QEMU/vdaxd | Rust/vdaxd |',
             '|---|---:|---|---:|---:|---:|---:|---:|']
    unit_of = {'IOPS': 'request', 'MiB/s': 'MiB', 'files/s': 'file (create, stat, unlink)',
               'entries/s': 'entry', 'stats/s': 'stat'}
    with tempfile.TemporaryDirectory() as tmp:
        for w in a.workloads.split(','):
            for t in a.threads.split(','):
                data = os.path.join(tmp, 'perf.data')
                js = os.path.join(tmp, 'r.json')
                cmd = ['perf', 'record', '-q', '-e', 'cpu-clock', '-F', str(FREQ),
                       '-o', data, '--', bench, '--rust=' + a.rust,
                       '--only=' + ','.join(cols), '--workloads=' + w,
                       '--threads=' + t, '--reps=%d' % a.reps,
                       '--duration=%g' % a.duration, '--slices=1',
                       '--json=' + js,
                       '--md=' + os.path.join(tmp, 'r.md')] + a.bench_arg
                print('daemon-cpu: %s x%s' % (w, t), file=sys.stderr)
                if subprocess.run(cmd, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode:
                    print('daemon-cpu: vdax-bench failed on %s' % w, file=sys.stderr)
                    continue
                cpu = daemon_cpu(data)
                run = json.load(open(js))
                res = {r['backend']: r for r in run['results']
                       if r['workload'] == w and r['threads'] == int(t)}
                if not all(c in res for c in cols):
                    continue
                per = {}
                for c in cols:
                    ops = ops_served(res[c], a.duration)
                    per[c] = cpu[c] / ops * 1e6 if ops and cpu[c] else None
                title = run['workloads'][0]['title']
                unit = unit_of.get(res['vdaxd']['unit'], res['vdaxd']['unit'])

                def f(v):
                    return 'n/a' if v is None else '%.1f' % v

                def r(x, y):
                    return 'n/a' if not x or not y else '%.2f' % (x / y)
                lines.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
                    title, t, unit, f(per['vdaxd']), f(per['virtiofsd']),
                    f(per['rust']), r(per['virtiofsd'], per['vdaxd']),
                    r(per['rust'], per['vdaxd'])))
    text = '\n'.join(lines) + '\n'
    sys.stdout.write(text)
    if a.md:
        open(a.md, 'w').write(text)


if __name__ == '__main__':
    main()
