#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn a vdax-bench Markdown report of the vdaxd, virtiofsd and rust columns
into the three-daemon table of BENCHMARKS.md: the throughput rows with the
ratios vdaxd/virtiofsd and vdaxd/rust of the medians.

  bench/three-daemons.py REPORT.md [--plot PNG]

--plot PNG also draws the two ratios per row as bars with gnuplot (a line
at 1: above it vdaxd is faster).
"""
import os
import re
import subprocess
import sys
import tempfile

SUFFIX = {'k': 1e3, 'M': 1e6}


def value(cell):
    m = re.match(r'\s*([0-9.]+)([kM]?)', cell)
    return float(m.group(1)) * SUFFIX.get(m.group(2), 1) if m else None


def main():
    rows, header = [], None
    for line in open(sys.argv[1]):
        if line.startswith('| workload | thr | unit |'):
            # vdax-bench's own names, or this script's table (re-plotted)
            alias = {'QEMU virtiofsd': 'virtiofsd', 'Rust virtiofsd': 'rust'}
            header = [alias.get(c.strip(), c.strip())
                      for c in line.strip().strip('|').split('|')]
            continue
        if header and line.startswith('|---'):
            continue
        if header and line.startswith('|'):
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            rows.append(dict(zip(header, cells)))
            continue
        if header and rows:
            break
    need = ('vdaxd', 'virtiofsd', 'rust')
    if not rows or any(k not in rows[0] for k in need):
        sys.exit('three-daemons: no vdaxd/virtiofsd/rust table in ' + sys.argv[1])
    print('| workload | thr | unit | vdaxd | QEMU virtiofsd | Rust virtiofsd '
          '| vdaxd/QEMU | vdaxd/Rust |')
    print('|---|---:|---|---:|---:|---:|---:|---:|')
    bars = []
    for r in rows:
        v, q, s = (value(r[k]) for k in need)
        rq = '%.2f' % (v / q) if v and q else 'n/a'
        rs = '%.2f' % (v / s) if v and s else 'n/a'
        print('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            r['workload'], r['thr'], r['unit'], r['vdaxd'].split(' [')[0],
            r['virtiofsd'].split(' [')[0], r['rust'].split(' [')[0], rq, rs))
        if v and q and s:
            bars.append(('%s, %s thr' % (r['workload'], r['thr']), v / q, v / s))
    if '--plot' in sys.argv[2:]:
        plot(bars, sys.argv[sys.argv.index('--plot') + 1])


def plot(bars, png):
    """Clustered bars of vdaxd/QEMU and vdaxd/Rust per row, a line at 1."""
    with tempfile.TemporaryDirectory() as tmp:
        dat = os.path.join(tmp, 'three.dat')
        with open(dat, 'w') as f:
            for name, rq, rs in bars:
                f.write('"%s" %.4f %.4f\n' % (name.replace('"', "'"), rq, rs))
        gp = """set terminal pngcairo size 1150,600 noenhanced
set output '%s'
set title 'libvdax on vdaxd against QEMU virtiofsd and the Rust virtiofsd (> 1: vdaxd faster)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set bmargin 11
set rmargin 12
set xtics rotate by -35 scale 0 font ',9'
set ylabel 'vdaxd / other daemon (ratio of medians)'
set yrange [0:*]
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2
plot '%s' using 2:xtic(1) title 'vdaxd / QEMU virtiofsd', '' using 3 title 'vdaxd / Rust virtiofsd'
""" % (png, dat)
        subprocess.run(['gnuplot'], input=gp, text=True, check=True)


if __name__ == '__main__':
    main()
