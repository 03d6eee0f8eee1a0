#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""DAX guest tests: a real Linux guest (Debian's cloud kernel, whose
fs/fuse/dax.c is the DAX client the vdax design follows) under QEMU with the
project's DAX window patches (scripts/qemu-dax.sh), on vdaxd with
--cache-size. Output is TAP.

  dax_test.py rw       small window (8 MiB), files 8x larger: reads, writes,
                       mmap reads and writes, truncate and punch hole while
                       mapped; data checked against the host copies; vdaxd's
                       own counters prove the window was used and reclaimed
  dax_test.py inode    -o dax=inode with --inode-dax=size:BYTES: small files
                       not mapped, large ones mapped
  dax_test.py refuse   -o dax=always where there is no window (stock QEMU on
                       QEMU's virtiofsd) fails the mount with a clear error;
                       the DAX QEMU refuses a backend without SHMEM
  dax_test.py reboot   several guests in a row on one vdaxd with DAX, one of
                       them killed hard while it has live mappings
  dax_test.py hosttrunc  the host truncates a file under a live guest mapping:
                       QEMU survives the guest's accesses past the end
  dax_test.py kill     vdaxd killed while the guest has live mappings: QEMU
                       neither crashes nor hangs, guest I/O gets errors, the
                       host files are intact
  dax_test.py par      four guest processes at once, each faulting or
                       reading random blocks of its own file, the files 4x
                       the window together, on vdaxd with a worker pool:
                       SETUPMAPPINGs and REMOVEMAPPINGs in flight together
                       on QEMU's backend channel (in one of up to five
                       runs: a fast host may answer each before the next);
                       every block checked
  dax_test.py posix    vdax-posix in the guest with DAX, compared check by
                       check with the local run and with the same guest
                       without DAX

Options: --vm tools/vm.sh --vdaxd PATH --virtiofsd PATH --guest-prog PATH
--posix PATH --tmp-base DIR --allow-list FILE. Needs root and QEMU; exits 77
(skip) otherwise. The DAX QEMU is built on first use (about 5 minutes).
"""

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest_test as gt  # noqa: E402  (Tap, Backend, run_vm, parse_tap, ...)

tap = gt.tap
MIB = 1 << 20
BLK = 4096
WINDOW = 8 * MIB

# ------------------------------------------------------------ file patterns
# Must match tests/guest/dax_guest.c.


def _table():
    x = 0x2545f4914f6cdd1d
    out = bytearray(2 * BLK)
    for i in range(len(out)):
        x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        out[i] = x >> 56
    return bytes(out)


TABLE = _table()


def block(seed, b):
    if seed == 0:
        return bytes(BLK)
    off = b * 16 % BLK
    return struct.pack('<QQ', seed, b) + TABLE[off:off + BLK - 16]


def lcg_blocks(seed, count, nblocks):
    s, out = seed, []
    for _ in range(count):
        s = (s * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        out.append((s >> 33) % nblocks)
    return out


def write_pattern(path, size, seed):
    with open(path, 'wb') as f:
        for b in range((size + BLK - 1) // BLK):
            f.write(block(seed, b)[:min(BLK, size - b * BLK)])


def first_difference(path, size, seed_of_block, cut=None):
    """None if the file is @size bytes of the pattern, else a description.
    @cut: the file was cut there; the rest of that block must be zeros."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        return str(e)
    if len(data) != size:
        return 'size %d, want %d' % (len(data), size)
    for b in range((size + BLK - 1) // BLK):
        want = block(seed_of_block(b), b)
        if cut is not None and cut // BLK == b:
            want = want[:cut % BLK] + bytes(BLK - cut % BLK)
        want = want[:min(BLK, size - b * BLK)]
        if data[b * BLK:b * BLK + len(want)] != want:
            return 'block %d differs' % b
    return None


# ------------------------------------------------------------------ helpers

class DaxBackend(gt.Backend):
    """vdaxd with extra arguments (the window, the per-file policy)."""

    def __init__(self, exe, shared, workdir, args=(), kind='vdaxd', name=None):
        super().__init__(kind, exe, shared, workdir)
        self.args = list(args)
        if name:
            self.sock = os.path.join(workdir, name + '.sock')
            self.logpath = os.path.join(workdir, name + '.log')

    def argv(self):
        return super().argv() + self.args

    def dax_counts(self):
        """The last 'dax: ...' counter line of the log, as a dict."""
        text = gt.read(self.logpath)
        found = re.findall(r'dax: ([^:]+): (\d+) mappings set up, (\d+) removed, (\d+) live'
                           r'(?:, at most (\d+) in flight at once)?', text)
        if not found:
            return None
        why, setups, removes, live, most = found[-1]
        return {'why': why, 'setups': int(setups), 'removes': int(removes),
                'live': int(live), 'most': int(most or 0)}


def dax_qemu(opts):
    """The DAX-capable QEMU, built once; None (with a diagnostic) if not."""
    if os.environ.get('VDAX_QEMU_DAX'):
        return os.environ['VDAX_QEMU_DAX']
    p = subprocess.run([os.path.join(gt.REPO, 'scripts', 'qemu-dax.sh')],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=3000)
    if p.returncode != 0:
        tap.diag('scripts/qemu-dax.sh failed:\n' + p.stderr.decode(errors='replace')[-2000:])
        return None
    return p.stdout.decode().strip()


def run_dax_vm(opts, be, cmd, timeout, dax='8M', mount_opts=None, qemu=None, adds=(),
               logname='dax', extra=()):
    """Boot a guest on @be with a window of @dax (None: stock QEMU, no window)."""
    extra = list(extra)
    if dax:
        extra.append('--dax=' + dax)
    if mount_opts:
        extra += ['--mount-opts', mount_opts]
    env = {}
    if qemu:
        env['VDAX_QEMU'] = qemu
    return gt.run_vm(opts, be.sock, cmd, timeout, adds=[opts.guest_prog] + list(adds),
                     logname=logname, backend=be, vm_args=extra, env=env)


def results(res):
    """R: lines of the guest; "R:dax:NAME:V", "R:read:NAME:V" and
    "R:par:NAME:V" get the key "dax:NAME" / "read:NAME" / "par:NAME"."""
    out = {}
    for line in res.out.splitlines():
        m = re.match(r'^R:((?:dax|read|par):[^:]+):(.*)$', line) or \
            re.match(r'^R:([^:]+):(.*)$', line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def prologue(opts):
    """The DAX QEMU (checked) and a fresh shared directory; (None, None)
    if there is no such QEMU."""
    qemu = dax_qemu(opts)
    if not tap.ok(qemu is not None, 'the DAX-capable QEMU is built (scripts/qemu-dax.sh)'):
        return None, None
    shared = os.path.join(opts.work, 'shared')
    os.mkdir(shared)
    return qemu, shared


def start(be, what):
    if not tap.ok(be.start(), '%s: backend started and listening' % what):
        tap.diag(be.log_tail())
        be.stop()
        return False
    return True


def results_ok(res, steps, what):
    r = results(res)
    good = True
    for s in steps:
        good &= tap.is_eq(r.get(s), 'ok', '%s: guest step %s' % (what, s))
    return good


# ----------------------------------------------------------------------- rw

RW_STEPS = ['seqread', 'randread', 'randwrite', 'mmapread', 'mmapwrite',
            'trunc_before', 'trunc_down', 'trunc_sigbus', 'trunc_kept', 'trunc_up',
            'trunc_mark', 'punch_mmap', 'punch_read', 'punch_size', 'append']


def cmd_rw(opts):
    qemu, shared = prologue(opts)
    if qemu is None:
        return tap.done()
    big, trunc, punch = 8 * WINDOW, 4 * WINDOW, 2 * WINDOW
    write_pattern(os.path.join(shared, 'big.bin'), big, 1)
    write_pattern(os.path.join(shared, 'trunc.bin'), trunc, 4)
    write_pattern(os.path.join(shared, 'punch.bin'), punch, 5)

    be = DaxBackend(opts.vdaxd, shared, opts.work, ['--cache-size=%d' % WINDOW])
    if not start(be, 'rw'):
        return tap.done()
    prog = os.path.basename(opts.guest_prog)
    cmd = 'grep " /mnt " /proc/mounts | sed "s/^/R:mount:/"; %s rw /mnt' % prog
    res = run_dax_vm(opts, be, cmd, opts.vm_timeout * 3, dax='8M', qemu=qemu)
    gt.check_vm(res, 'rw')
    mount = results(res).get('mount', '')
    tap.ok('dax=always' in mount, 'rw: the guest mounted with dax=always (%s)' % mount.strip())
    results_ok(res, RW_STEPS, 'rw')
    tap.diag('rw: reads the guest kernel failed with EBUSY and the test retried: %s'
             % results(res).get('ebusy'))
    if tap.failed:
        tap.diag('guest output:\n' + res.out[-3000:])

    # The host copies, byte for byte.
    nb = big // BLK
    seeds = [1] * nb
    for b in lcg_blocks(11, 400, nb):
        seeds[b] = 2
    for b in lcg_blocks(13, 300, nb):
        seeds[b] = 3
    tap.is_eq(first_difference(os.path.join(shared, 'big.bin'), big, lambda b: seeds[b]), None,
              'rw: big.bin on the host has every guest write (pwrite and mmap), nothing else')
    tdown, tup, tmark = 5 * MIB + 100, 8 * MIB, 6 * MIB

    def tseed(b):
        if b * BLK == tmark:
            return 6
        return 4 if b * BLK < tdown else 0
    diff = first_difference(os.path.join(shared, 'trunc.bin'), tup, tseed, cut=tdown)
    tap.is_eq(diff, None, 'rw: trunc.bin on the host: cut at 5 MiB + 100, regrown with zeros, '
              'the block written through the map after the regrowth')
    hoff, hlen = 3 * MIB + 8192, 2 * MIB
    tap.is_eq(first_difference(os.path.join(shared, 'punch.bin'), punch,
                               lambda b: 0 if hoff <= b * BLK < hoff + hlen else 5), None,
              'rw: punch.bin on the host: the hole is zeros, the rest intact')
    tap.is_eq(first_difference(os.path.join(shared, 'new.bin'), 3 * MIB + 5, lambda b: 7), None,
              'rw: new.bin (extending writes) on the host')

    tap.ok(be.alive(), 'rw: vdaxd still running after the guest powered off')
    rc = be.stop()
    tap.is_eq(rc, 0, 'rw: vdaxd exits with status 0 on SIGTERM')
    c = be.dax_counts()
    tap.diag('vdaxd window counters: %r' % (c,))
    # 8 MiB is 4 ranges; 64+32+16 MiB of files cannot fit without reclaim.
    tap.ok(c is not None and c['setups'] > 4 * 4,
           'rw: vdaxd set up mappings for the guest (%s)' % (c and c['setups']))
    tap.ok(c is not None and c['removes'] > 4,
           'rw: the guest\'s reclaim removed mappings (REMOVEMAPPING: %s)' % (c and c['removes']))
    if tap.failed:
        tap.diag('vdaxd log tail:\n' + be.log_tail())
    return tap.done()


# -------------------------------------------------------------------- inode

def cmd_inode(opts):
    qemu, shared = prologue(opts)
    if qemu is None:
        return tap.done()
    write_pattern(os.path.join(shared, 'small.s1'), 64 * 1024, 1)
    write_pattern(os.path.join(shared, 'large.s2'), 6 * MIB, 2)
    be = DaxBackend(opts.vdaxd, shared, opts.work,
                    ['--cache-size=%d' % WINDOW, '--inode-dax=size:%d' % MIB])
    if not start(be, 'inode'):
        return tap.done()
    prog = os.path.basename(opts.guest_prog)
    cmd = ('grep " /mnt " /proc/mounts | sed "s/^/R:mount:/"; '
           '%s statx small.s1 large.s2 && %s read small.s1 large.s2' % (prog, prog))
    res = run_dax_vm(opts, be, cmd, opts.vm_timeout, dax='8M', mount_opts='dax=inode',
                     qemu=qemu)
    gt.check_vm(res, 'inode')
    r = results(res)
    tap.ok('dax=inode' in r.get('mount', ''), 'inode: mounted with dax=inode')
    tap.is_eq(r.get('dax:small.s1'), '0', 'inode: a 64 KiB file is not DAX (STATX_ATTR_DAX)')
    tap.is_eq(r.get('dax:large.s2'), '1', 'inode: a 6 MiB file is DAX (STATX_ATTR_DAX)')
    tap.is_eq(r.get('read:small.s1'), 'ok', 'inode: the small file reads right')
    tap.is_eq(r.get('read:large.s2'), 'ok', 'inode: the large file reads right')
    be.stop()
    c = be.dax_counts()
    tap.diag('vdaxd window counters: %r' % (c,))
    # 6 MiB = 3 ranges of 2 MiB: the large file only.
    tap.ok(c is not None and c['setups'] == 3,
           'inode: exactly the large file\'s 3 ranges were mapped (%s)' % (c and c['setups']))
    return tap.done()


# ---------------------------------------------------------------------- par

PAR_FILES = 4
PAR_ROUNDS = 900
PAR_TRIES = 5


def cmd_par(opts):
    """Requests in parallel: four processes of a one-vCPU guest, each on its
    own inode (the kernel's per-inode DAX lock does not serialise them), fault
    and read at random through files 4x the window together. While one
    process waits for its SETUPMAPPING the next one runs and sends its own;
    vdaxd's pool serves them at once, so several SHMEM_MAPs and SHMEM_UNMAPs
    are on QEMU's backend channel together, each answered in order."""
    qemu, shared = prologue(opts)
    if qemu is None:
        return tap.done()
    names = []
    for i in range(PAR_FILES):
        name = 'par%d.s%d' % (i, 21 + i)
        write_pattern(os.path.join(shared, name), WINDOW, 21 + i)
        names.append(name)
    # Whether two requests meet on the channel depends on how fast QEMU
    # answers: on a fast host one run may see none. Up to PAR_TRIES runs,
    # each checked whole; the overlap must show in one of them.
    prog = os.path.basename(opts.guest_prog)
    cmd = 'cd /mnt && %s par %d %s' % (prog, PAR_ROUNDS, ' '.join(names))
    most = []
    for attempt in range(PAR_TRIES):
        be = DaxBackend(opts.vdaxd, shared, opts.work,
                        ['--cache-size=%d' % WINDOW, '--thread-pool-size=4'])
        if not start(be, 'par'):
            return tap.done()
        res = run_dax_vm(opts, be, cmd, opts.vm_timeout * 2, dax='8M', qemu=qemu)
        gt.check_vm(res, 'par')
        r = results(res)
        for i, name in enumerate(names):
            how = 'a mapping' if i % 2 else 'pread'
            tap.is_eq(r.get('par:' + name), 'ok',
                      'par: process %d read %d random blocks of %s by %s, all right (run %d)'
                      % (i, PAR_ROUNDS, name, how, attempt + 1))
        if tap.failed:
            tap.diag('guest output:\n' + res.out[-3000:])
        tap.diag('par: the four processes took %s ms' % r.get('par_ms'))
        tap.diag('par: reads the guest kernel failed with EBUSY and the test retried: %d'
                 % sum(int(n) for n in re.findall(r'^R:ebusy:[^:]+:(\d+)$', res.out, re.M)))
        be.stop()
        c = be.dax_counts()
        tap.diag('vdaxd window counters: %r' % (c,))
        tap.ok(c is not None and c['removes'] > 0 and c['setups'] > 4 * WINDOW // (2 * MIB),
               'par: the window was filled and reclaimed (run %d: %s)' % (attempt + 1, c))
        most.append(c and c['most'])
        if c is None or tap.failed or c['most'] > 1:
            break
    tap.ok(any(m and m > 1 for m in most),
           'par: vdaxd had more than one map or unmap in flight on the backend channel '
           'at once (most per run: %s)' % most)
    for i, name in enumerate(names):
        tap.is_eq(first_difference(os.path.join(shared, name), WINDOW, lambda b, s=21 + i: s),
                  None, 'par: %s is unchanged on the host' % name)
    return tap.done()


# ------------------------------------------------------------------- refuse

def cmd_refuse(opts):
    shared = os.path.join(opts.work, 'shared')
    os.mkdir(shared)
    have_vfsd = opts.virtiofsd and os.access(opts.virtiofsd, os.X_OK)
    if have_vfsd:
        be = DaxBackend(opts.virtiofsd, shared, opts.work, kind='virtiofsd')
        if start(be, 'refuse'):
            # Stock QEMU: the device has no window at all.
            res = run_dax_vm(opts, be, 'echo unreachable', opts.vm_timeout, dax=None,
                             mount_opts='dax=always')
            tap.ok(res.booted(), 'refuse: guest booted on QEMU\'s virtiofsd')
            tap.ok(not res.mounted() and res.rc == 125,
                   'refuse: mount -o dax=always without a window fails')
            tap.ok('dax can\'t be enabled' in res.console,
                   'refuse: the guest kernel says why ("dax can\'t be enabled ...")')
            be.stop()
        qemu = dax_qemu(opts)
        be = DaxBackend(opts.virtiofsd, shared, opts.work, kind='virtiofsd', name='virtiofsd2')
        if qemu and start(be, 'refuse (DAX QEMU)'):
            res = run_dax_vm(opts, be, 'echo unreachable', 60, dax='8M', qemu=qemu)
            tap.ok(not res.booted() and res.rc != 0,
                   'refuse: the DAX QEMU does not start on a backend without SHMEM')
            tap.ok('cannot map a DAX window' in res.err,
                   'refuse: and says why (%s)' % ' '.join(res.err.split())[-160:])
            be.stop()
    else:
        tap.skip('refuse: virtiofsd', 'QEMU virtiofsd not installed')
    # vdaxd without --cache-size: the DAX QEMU refuses too (dax=on, no window).
    qemu = dax_qemu(opts)
    be = DaxBackend(opts.vdaxd, shared, opts.work, name='vdaxd-nowin')
    if qemu and start(be, 'refuse (vdaxd, no window)'):
        res = run_dax_vm(opts, be, 'echo unreachable', 60, dax='auto', qemu=qemu)
        tap.ok(not res.booted() and 'cannot map a DAX window' in res.err,
               'refuse: dax=on on a vdaxd with no window is refused by QEMU')
        be.stop()
    return tap.done()


# ------------------------------------------------------------------- reboot

def kill_qemu_on_flag(flag, sock, timeout):
    """SIGKILL the QEMU attached to @sock once @flag exists."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not os.path.exists(flag):
        time.sleep(0.05)
    if os.path.exists(flag):
        subprocess.run(['pkill', '-KILL', '-f', 'qemu-system.*path=' + re.escape(sock)])


def cmd_reboot(opts):
    qemu, shared = prologue(opts)
    if qemu is None:
        return tap.done()
    write_pattern(os.path.join(shared, 'a.s1'), 12 * MIB, 1)
    be = DaxBackend(opts.vdaxd, shared, opts.work, ['--cache-size=%d' % WINDOW])
    if not start(be, 'reboot'):
        return tap.done()
    prog = os.path.basename(opts.guest_prog)
    # Boot 1: read through the window (12 MiB in an 8 MiB window).
    res = run_dax_vm(opts, be, '%s read a.s1' % prog, opts.vm_timeout, qemu=qemu,
                     logname='reboot1')
    gt.check_vm(res, 'boot 1')
    tap.is_eq(results(res).get('read:a.s1'), 'ok', 'boot 1: read through the window')
    c1 = be.dax_counts()
    # Boot 2, QEMU killed hard while the guest holds live mappings.
    flag = os.path.join(shared, 'held.flag')
    cmd = ('%s hold a.s1 600 > /tmp/h & while ! grep -q hold_mapped /tmp/h; do sleep 0.1; done; '
           'touch held.flag; wait' % prog)
    killer = threading.Thread(target=kill_qemu_on_flag, args=(flag, be.sock, opts.vm_timeout),
                              daemon=True)
    killer.start()
    res = run_dax_vm(opts, be, cmd, opts.vm_timeout, qemu=qemu, logname='reboot2')
    killer.join()
    tap.ok(os.path.exists(flag), 'boot 2: file mapped and read')
    tap.ok(res.rc != 0 and not res.finished(),
           'boot 2: QEMU killed hard while mapped (vm.sh exit %d)' % res.rc)
    tap.ok(be.alive(), 'vdaxd alive after a DAX frontend vanished')
    # Boot 3 on the same daemon: DAX works again, with the right data.
    with open(os.path.join(shared, 'b.s3'), 'wb'):
        pass
    write_pattern(os.path.join(shared, 'b.s3'), 5 * MIB, 3)
    res = run_dax_vm(opts, be, '%s read a.s1 b.s3' % prog, opts.vm_timeout, qemu=qemu,
                     logname='reboot3')
    gt.check_vm(res, 'boot 3')
    r = results(res)
    tap.is_eq((r.get('read:a.s1'), r.get('read:b.s3')), ('ok', 'ok'),
              'boot 3: reads through the window after a killed frontend')
    c3 = be.dax_counts()
    tap.ok(c1 is not None and c3 is not None and c3['setups'] > c1['setups'],
           'boot 3 set up new mappings')
    tap.ok('frontend gone' in gt.read(be.logpath),
           'vdaxd forgot the killed frontend\'s mappings ("frontend gone")')

    # Boot 4 reboots inside one QEMU: device reset, then a second FUSE_INIT
    # on the same connection while the first boot's ranges were mapped.
    cmd = ('if [ -e rebooted.flag ]; then %s read a.s1 b.s3; else '
           'touch rebooted.flag; %s read a.s1 b.s3 && sync && reboot -f; fi'
           % (prog, prog))
    res = run_dax_vm(opts, be, cmd, opts.vm_timeout * 2, qemu=qemu, logname='reboot4',
                     extra=['--allow-reboot'])
    gt.check_vm(res, 'boot 4 (reset in QEMU)')
    tap.is_eq(res.console.count('VDAX-BOOTED'), 2, 'boot 4: the guest booted twice in one QEMU')
    r = results(res)
    tap.is_eq((r.get('read:a.s1'), r.get('read:b.s3')), ('ok', 'ok'),
              'boot 4: after the reset the guest maps and reads right again')
    tap.ok('dax: guest reset' in gt.read(be.logpath),
           'vdaxd saw the second INIT and emptied the window ("guest reset")')
    tap.ok(be.alive(), 'vdaxd alive after the in-QEMU reboot')
    be.stop()
    tap.diag('counters after boot 1: %r, after boot 3: %r, at the end: %r'
             % (c1, c3, be.dax_counts()))
    return tap.done()


# --------------------------------------------------------------------- kill

KILL_GUEST = r'''
%(prog)s hold a.s1 30 > /tmp/hold.out 2>&1 &
i=0
while ! grep -q hold_mapped /tmp/hold.out && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
touch mapped.flag
# The host kills vdaxd when it sees the flag.
sleep 5
echo "R:phase:killed"
if timeout 20 cat b.s1 > /dev/null 2>/tmp/cat.err; then echo "R:cat:ok"; else echo "R:cat:failed $(tr '\n' ' ' < /tmp/cat.err)"; fi
if timeout 20 sh -c 'echo late > late.txt' 2>/dev/null; then echo "R:write:ok"; else echo "R:write:failed"; fi
wait
cat /tmp/hold.out
echo "R:guest:alive"
'''


def cmd_kill(opts):
    qemu, shared = prologue(opts)
    if qemu is None:
        return tap.done()
    write_pattern(os.path.join(shared, 'a.s1'), 4 * MIB, 1)
    write_pattern(os.path.join(shared, 'b.s1'), 4 * MIB, 1)
    before = {n: gt.md5(os.path.join(shared, n)) for n in ('a.s1', 'b.s1')}
    be = DaxBackend(opts.vdaxd, shared, opts.work, ['--cache-size=%d' % WINDOW])
    if not start(be, 'kill'):
        return tap.done()
    prog = os.path.basename(opts.guest_prog)
    flag = os.path.join(shared, 'mapped.flag')
    killed = threading.Event()

    def killer():
        end = time.monotonic() + opts.vm_timeout
        while time.monotonic() < end and not os.path.exists(flag):
            time.sleep(0.05)
        if os.path.exists(flag):
            be.proc.kill()
            killed.set()
    t = threading.Thread(target=killer, daemon=True)
    t.start()
    res = run_dax_vm(opts, be, KILL_GUEST % {'prog': prog}, opts.vm_timeout, qemu=qemu,
                     logname='kill')
    r = results(res)
    tap.is_eq(r.get('hold_mapped'), 'ok', 'kill: the guest had the file mapped and read')
    tap.ok(killed.is_set() and not be.alive(), 'kill: vdaxd killed while the guest held mappings')
    tap.ok(res.rc != 124 and 'vm.sh hung' not in res.err,
           'kill: QEMU neither crashed nor hung (vm.sh exit %d)' % res.rc)
    tap.ok(res.finished() and r.get('guest', '') == 'alive',
           'kill: the guest ran its script to the end and powered off')
    tap.ok(r.get('cat', '').startswith('failed') and 'not connected' in r.get('cat', ''),
           'kill: a read after the kill fails with ENOTCONN (%s)' % r.get('cat'))
    tap.is_eq(r.get('write'), 'failed', 'kill: a create after the kill fails')
    # Documented: the window is emptied when the backend goes, so reads
    # through a mapping made before see zeros from then on (never a crash).
    tap.ok('block starts 0/0' in r.get('hold_end', ''),
           'kill: reads through the old mapping see zeros afterwards (%s)' % r.get('hold_end'))
    after = {n: gt.md5(os.path.join(shared, n)) for n in ('a.s1', 'b.s1')}
    tap.is_eq(after, before, 'kill: the host files are intact')
    if tap.failed:
        tap.diag('guest output:\n' + res.out[-2000:])
        tap.diag('vm.sh stderr:\n' + res.err[-2000:])
    return tap.done()


# ---------------------------------------------------------------- hosttrunc

def cmd_hosttrunc(opts):
    """The host truncates a file under the guest's live mapping: the guest's
    next touches fault inside QEMU (SIGBUS past the end of a mapped file);
    QEMU must live and the guest see zeros."""
    qemu, shared = prologue(opts)
    if qemu is None:
        return tap.done()
    path = os.path.join(shared, 'a.s1')
    write_pattern(path, 4 * MIB, 1)
    be = DaxBackend(opts.vdaxd, shared, opts.work, ['--cache-size=%d' % WINDOW])
    if not start(be, 'hosttrunc'):
        return tap.done()
    prog = os.path.basename(opts.guest_prog)
    flag = os.path.join(shared, 'mapped.flag')
    cmd = ('%s hold a.s1 15 > /tmp/h & while ! grep -q hold_mapped /tmp/h; do sleep 0.1; done; '
           'touch mapped.flag; wait; cat /tmp/h; echo R:guest:alive' % prog)

    def truncater():
        end = time.monotonic() + opts.vm_timeout
        while time.monotonic() < end and not os.path.exists(flag):
            time.sleep(0.05)
        if os.path.exists(flag):
            os.truncate(path, 0)
    t = threading.Thread(target=truncater, daemon=True)
    t.start()
    res = run_dax_vm(opts, be, cmd, opts.vm_timeout, qemu=qemu, logname='hosttrunc')
    t.join()
    r = results(res)
    tap.is_eq(r.get('hold_mapped'), 'ok', 'hosttrunc: the guest mapped and read the file')
    tap.ok(os.path.exists(flag) and os.path.getsize(path) == 0,
           'hosttrunc: the host truncated it to 0 under the mapping')
    tap.ok(res.finished() and r.get('guest') == 'alive',
           'hosttrunc: QEMU survived the guest touching pages past the end; the guest '
           'ran to the end and powered off')
    tap.ok('block starts 0/0' in r.get('hold_end', ''),
           'hosttrunc: the guest read zeros there (%s)' % r.get('hold_end'))
    tap.ok(be.alive(), 'hosttrunc: vdaxd still serving')
    be.stop()
    if tap.failed:
        tap.diag('guest output:\n' + res.out[-2000:] + '\nvm.sh:\n' + res.err[-2000:])
    return tap.done()


# -------------------------------------------------------------------- posix

def cmd_posix(opts):
    if not opts.posix or not os.access(opts.posix, os.X_OK):
        tap.skip_all('vdax-posix not built')
    qemu = dax_qemu(opts)
    if not tap.ok(qemu is not None, 'the DAX-capable QEMU is built'):
        return tap.done()
    rules = gt.load_allow_list(opts.allow_list)
    local = os.path.join(opts.work, 'local')
    os.mkdir(local)
    p = subprocess.run([opts.posix, local], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=opts.posix_timeout)
    a = gt.parse_tap(p.stdout.decode(errors='replace'))
    tap.ok(len(a) > 0, 'local: vdax-posix printed checks')

    def guest_run(name, dax):
        shared = os.path.join(opts.work, 'shared-' + name)
        os.mkdir(shared)
        args = ['--xattr'] + (['--cache-size=%d' % (64 * MIB)] if dax else [])
        be = DaxBackend(opts.vdaxd, shared, opts.work, args, name=name)
        if not start(be, name):
            return None
        cmd = ('grep " /mnt " /proc/mounts | sed "s/^/R:mount:/"; mkdir -p px && %s /mnt/px'
               % os.path.basename(opts.posix))
        res = run_dax_vm(opts, be, cmd, opts.posix_timeout, dax='64M' if dax else None,
                         qemu=qemu if dax else None, adds=[opts.posix], logname=name)
        gt.check_vm(res, name)
        if dax:
            tap.ok('dax=always' in results(res).get('mount', ''),
                   '%s: mounted with dax=always' % name)
        be.stop()
        if dax:
            c = be.dax_counts()
            tap.ok(c is not None and c['setups'] > 0,
                   '%s: vdax-posix ran through the window (%s mappings)' % (name, c and c['setups']))
        gt.show_failures(name, res.out)
        return gt.parse_tap(res.out)

    d = guest_run('vdaxd-dax', True)
    n = guest_run('vdaxd-nodax', False)
    if d is None or n is None:
        return tap.done()
    d1 = gt.compare(rules, d, a, 'local', 'local', label_a='dax')
    d2 = gt.compare(rules, d, n, 'nodax', 'nodax', label_a='dax')
    tap.diag('unexpected differences: %d vs local, %d vs the guest without DAX' % (d1, d2))
    return tap.done()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('mode', choices=['rw', 'inode', 'refuse', 'reboot', 'kill', 'hosttrunc',
                                     'par', 'posix'])
    ap.add_argument('--vm', default=os.path.join(gt.REPO, 'tools', 'vm.sh'))
    ap.add_argument('--vdaxd')
    ap.add_argument('--virtiofsd', default='/usr/lib/qemu/virtiofsd')
    ap.add_argument('--guest-prog')
    ap.add_argument('--posix')
    ap.add_argument('--tmp-base', default=None)
    ap.add_argument('--allow-list', default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), 'expected-differences-dax.txt'))
    ap.add_argument('--vm-timeout', type=int, default=240)
    ap.add_argument('--posix-timeout', type=int, default=1200)
    ap.add_argument('--keep', action='store_true')
    opts = ap.parse_args()
    for k in ('vm', 'vdaxd', 'virtiofsd', 'guest_prog', 'posix', 'allow_list'):
        if getattr(opts, k):
            setattr(opts, k, os.path.abspath(getattr(opts, k)))
    if os.geteuid() != 0:
        tap.skip_all('needs root (the backends serve the shared directory as root)')
    if not opts.vdaxd or not os.access(opts.vdaxd, os.X_OK):
        tap.skip_all('vdaxd not built')
    if not opts.guest_prog or not os.access(opts.guest_prog, os.X_OK):
        tap.skip_all('vdax-dax-guest not built (a static build is needed)')
    if shutil.which('qemu-system-x86_64') is None:
        tap.skip_all('qemu-system-x86_64 not installed')
    k = subprocess.run([os.path.join(gt.REPO, 'scripts', 'guest-kernel.sh')],
                       stdin=subprocess.DEVNULL, capture_output=True)
    if k.returncode != 0:
        tap.skip_all('no guest kernel: ' + k.stderr.decode(errors='replace')[-200:])
    return gt.run_mode(opts, 'dax', {'rw': cmd_rw, 'inode': cmd_inode, 'refuse': cmd_refuse,
                                     'reboot': cmd_reboot, 'kill': cmd_kill,
                                     'hosttrunc': cmd_hosttrunc, 'par': cmd_par,
                                     'posix': cmd_posix})


if __name__ == '__main__':
    sys.exit(main())
