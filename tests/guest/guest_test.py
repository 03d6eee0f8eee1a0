#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Guest tests: boot a real Linux guest under QEMU (tools/vm.sh) on a
vhost-user-fs backend and check what it sees. Output is TAP.

  guest_test.py smoke  --backend vdaxd|virtiofsd|rust [common options]
      boot, mount, move data both ways (host -> guest, guest -> host)
  guest_test.py readonly [common options]
      a guest on vdaxd --readonly: reads work, every change is EROFS
  guest_test.py reboot [common options]
      several guests in a row on one running vdaxd, one of them killed hard
  guest_test.py posix  [common options]
      vdax-posix (a) on a local directory, (b) in the guest on vdaxd, (c) in
      the guest on QEMU's virtiofsd, (d) in the guest on the Rust virtiofsd;
      one check per test name comparing (b) with each of (a), (c) and (d),
      minus the allow-listed differences of tests/guest/expected-differences.txt

Common options: --vm tools/vm.sh --vdaxd PATH --virtiofsd PATH --rust PATH
--posix PATH --tmp-base DIR --allow-list FILE. Needs root (the backends
serve the shared directory as root) and QEMU; exits 77 (skip) otherwise.
Extra daemon arguments: $VDAX_GUEST_VDAXD_ARGS, $VDAX_GUEST_VIRTIOFSD_ARGS,
$VDAX_GUEST_RUST_ARGS. The Rust virtiofsd has no remote locks: it is started
without posix_lock/flock (the guest kernel then keeps locks locally).
"""

import argparse
import fnmatch
import hashlib
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, directive=None):
        self.n += 1
        if not cond and not (directive or '').upper().startswith(('SKIP', 'TODO')):
            self.failed += 1
        line = '%sok %d - %s' % ('' if cond else 'not ', self.n, name)
        if directive:
            line += ' # ' + directive
        print(line, flush=True)
        return cond

    def skip(self, name, why):
        return self.ok(True, name, 'SKIP ' + why)

    def is_eq(self, got, want, name):
        r = self.ok(got == want, name)
        if not r:
            self.diag('  got:  %r' % (got,))
            self.diag('  want: %r' % (want,))
        return r

    @staticmethod
    def diag(msg):
        for line in str(msg).splitlines() or ['']:
            print('# ' + line, flush=True)

    def done(self):
        print('1..%d' % self.n, flush=True)
        return 0 if self.failed == 0 else 1

    @staticmethod
    def skip_all(why):
        print('1..0 # SKIP %s' % why, flush=True)
        sys.exit(77)


tap = Tap()


def tail(path, n=15):
    try:
        with open(path, 'r', errors='replace') as f:
            return ''.join(f.readlines()[-n:])
    except OSError:
        return ''


class Backend:
    """A vhost-user-fs backend process serving one shared directory."""

    def __init__(self, kind, exe, shared, workdir, features=()):
        self.kind = kind
        self.features = features  # subset of xattr, posix_lock, flock
        self.exe = exe
        self.shared = shared
        self.sock = os.path.join(workdir, kind + '.sock')
        self.logpath = os.path.join(workdir, kind + '.log')
        self.proc = None

    def argv(self):
        if self.kind == 'vdaxd':
            extra = shlex.split(os.environ.get('VDAX_GUEST_VDAXD_ARGS', ''))
            return [self.exe, '--socket-path=' + self.sock,
                    '--shared-dir=' + self.shared] + \
                ['--' + f.replace('_', '-') for f in self.features] + extra
        if self.kind == 'rust':
            extra = shlex.split(os.environ.get('VDAX_GUEST_RUST_ARGS', ''))
            return [self.exe, '--socket-path=' + self.sock,
                    '--shared-dir=' + self.shared, '--cache=auto'] + \
                ['--' + f for f in self.features if f == 'xattr'] + extra
        extra = shlex.split(os.environ.get('VDAX_GUEST_VIRTIOFSD_ARGS', ''))
        feats = []
        for f in self.features:
            feats += ['-o', f]
        return [self.exe, '--socket-path=' + self.sock,
                '-o', 'source=' + self.shared, '-o', 'cache=auto'] + feats + extra

    def start(self, timeout=15):
        """Start the daemon; True once its socket exists."""
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass
        log = open(self.logpath, 'ab')
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log,
                                     start_new_session=True)
        log.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                if stat.S_ISSOCK(os.stat(self.sock).st_mode):
                    return True
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL; returns the exit status (None if killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(timeout) is None:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def log_tail(self):
        st = ''
        if self.proc is not None and self.proc.poll() is not None:
            st = '%s exited with status %d\n' % (self.kind, self.proc.returncode)
        return st + tail(self.logpath)


class VmResult:
    def __init__(self, rc, out, err, console):
        self.rc = rc
        self.out = out
        self.err = err
        self.console = console

    def booted(self):
        return 'VDAX-BOOTED' in self.console.splitlines()

    def mounted(self):
        return 'VDAX-MOUNTED' in self.console.splitlines()

    def finished(self):
        return re.search(r'^VDAX-EXIT=\d+$', self.console, re.M) is not None

    def umounted(self):
        return self.finished() and 'VDAX-UMOUNT-FAILED' not in self.console

    def results(self):
        """R:<key>:<value> lines printed by a guest script."""
        res = {}
        for line in self.out.splitlines():
            m = re.match(r'^R:([^:]+):(.*)$', line)
            if m:
                res[m.group(1)] = m.group(2)
        return res


def run_vm(opts, sock, cmd, timeout, adds=(), logname='console', backend=None,
           vm_args=(), env=None):
    """Boot a guest with tools/vm.sh (extra arguments @vm_args, extra
    environment @env); if @backend dies meanwhile, the guest is stopped
    after a grace period instead of waiting for the timeout."""
    logpath = os.path.join(opts.work, '%s.%d.log' % (logname, os.getpid()))
    argv = [opts.vm, '--socket', sock, '--cmd', cmd, '--timeout', str(timeout),
            '--log', logpath] + list(vm_args)
    for a in adds:
        argv += ['--add', a]
    outf = tempfile.TemporaryFile(dir=opts.work)
    errf = tempfile.TemporaryFile(dir=opts.work)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=outf, stderr=errf,
                         env=dict(os.environ, **(env or {})))
    end = time.monotonic() + timeout + 120
    dead_since = None
    note = b''
    while p.poll() is None:
        now = time.monotonic()
        if backend is not None and not backend.alive():
            dead_since = dead_since or now
            if now - dead_since > 10:
                note = b'backend died during the guest run; guest stopped\n'
                break
        if now > end:
            note = b'vm.sh hung; killed\n'
            break
        time.sleep(0.2)
    if p.poll() is None:
        p.terminate()  # vm.sh kills QEMU on SIGTERM
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    rc = p.returncode
    outf.seek(0)
    errf.seek(0)
    out, err = outf.read(), errf.read() + note
    outf.close()
    errf.close()
    console = ''
    try:
        with open(logpath, 'r', errors='replace') as f:
            console = f.read()
        os.unlink(logpath)
    except OSError:
        pass
    return VmResult(rc, out.decode(errors='replace'), err.decode(errors='replace'),
                    console)


def check_vm(res, what):
    """The standard boot/mount/finish checks; True if all passed."""
    good = tap.ok(res.booted(), '%s: guest booted' % what)
    good &= tap.ok(res.mounted(), '%s: guest mounted virtio-fs' % what)
    good &= tap.ok(res.finished(), '%s: guest run finished' % what)
    good &= tap.ok(res.umounted(), '%s: guest unmounted cleanly' % what)
    if not good:
        tap.diag('vm.sh exit status %d; stderr:\n%s' % (res.rc, res.err[-3000:]))
        tap.diag('console tail:\n' + '\n'.join(res.console.splitlines()[-25:]))
    return good


def md5(path):
    h = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def read(path):
    try:
        with open(path, 'r', errors='replace') as f:
            return f.read()
    except OSError as e:
        return '<%s>' % e.strerror


# --------------------------------------------------------------------- smoke

SMOKE_GUEST = r'''
r() { echo "R:$1:$2"; }
r host_read "$(cat from-host.txt)"
r host_md5 "$(md5sum big-host.bin | cut -d' ' -f1)"
r host_size "$(stat -c %s big-host.bin)"
r host_dir "$(ls hostdir | tr '\n' ' ')"
r host_dir_count "$(ls hostdir | wc -l)"
echo "written by the guest" > from-guest.txt
chmod 640 from-guest.txt
dd if=/dev/urandom of=big-guest.bin bs=64k count=64 2>/dev/null
r guest_md5 "$(md5sum big-guest.bin | cut -d' ' -f1)"
echo "appended by the guest" >> append.txt
mkdir -p d/e && echo x > d/e/f && mv d/e/f d/e/g
r rename "$(ls d/e)"
ln -s from-guest.txt link
r readlink "$(readlink link)"
rm to-delete.txt
r deleted "$(if [ -e to-delete.txt ]; then echo present; else echo gone; fi)"
truncate -s 12345 trunc.bin
sync
r done yes
'''


def smoke_prepare(shared):
    with open(os.path.join(shared, 'from-host.txt'), 'w') as f:
        f.write('written by the host')
    with open(os.path.join(shared, 'big-host.bin'), 'wb') as f:
        f.write(os.urandom(3 << 20))
    with open(os.path.join(shared, 'append.txt'), 'w') as f:
        f.write('line from the host\n')
    with open(os.path.join(shared, 'to-delete.txt'), 'w') as f:
        f.write('delete me\n')
    os.mkdir(os.path.join(shared, 'hostdir'))
    names = ['file%03d' % i for i in range(150)]
    for n in names:
        open(os.path.join(shared, 'hostdir', n), 'w').close()
    return names


def smoke_check(shared, names, res, what):
    r = res.results()
    tap.is_eq(r.get('host_read'), 'written by the host', '%s: host file read in the guest' % what)
    tap.is_eq(r.get('host_md5'), md5(os.path.join(shared, 'big-host.bin')),
              '%s: 3 MiB host file has the same md5 in the guest' % what)
    tap.is_eq(r.get('host_size'), str(3 << 20), '%s: stat size in the guest' % what)
    tap.is_eq(r.get('host_dir_count'), str(len(names)), '%s: readdir count of a 150-entry directory' % what)
    tap.is_eq(r.get('host_dir'), ' '.join(sorted(names)) + ' ', '%s: readdir names' % what)
    tap.is_eq(read(os.path.join(shared, 'from-guest.txt')), 'written by the guest\n',
              '%s: guest-written file seen on the host' % what)
    try:
        mode = stat.S_IMODE(os.stat(os.path.join(shared, 'from-guest.txt')).st_mode)
    except OSError:
        mode = None
    tap.is_eq(mode, 0o640, '%s: chmod in the guest seen on the host' % what)
    try:
        got = md5(os.path.join(shared, 'big-guest.bin'))
    except OSError as e:
        got = str(e)
    tap.ok(r.get('guest_md5') is not None and got == r.get('guest_md5'),
           '%s: 4 MiB guest-written file has the same md5 on the host' % what)
    tap.is_eq(read(os.path.join(shared, 'append.txt')),
              'line from the host\nappended by the guest\n', '%s: append in the guest' % what)
    tap.is_eq(r.get('rename'), 'g', '%s: rename seen in the guest' % what)
    tap.ok(os.path.exists(os.path.join(shared, 'd/e/g')) and
           not os.path.exists(os.path.join(shared, 'd/e/f')), '%s: rename seen on the host' % what)
    try:
        link = os.readlink(os.path.join(shared, 'link'))
    except OSError as e:
        link = str(e)
    tap.is_eq(link, 'from-guest.txt', '%s: guest symlink seen on the host' % what)
    tap.is_eq(r.get('readlink'), 'from-guest.txt', '%s: readlink in the guest' % what)
    tap.is_eq(r.get('deleted'), 'gone', '%s: unlink seen in the guest' % what)
    tap.ok(not os.path.exists(os.path.join(shared, 'to-delete.txt')), '%s: unlink seen on the host' % what)
    try:
        size = os.stat(os.path.join(shared, 'trunc.bin')).st_size
    except OSError:
        size = None
    tap.is_eq(size, 12345, '%s: truncate in the guest seen on the host' % what)
    tap.is_eq(r.get('done'), 'yes', '%s: guest script ran to the end' % what)
    tap.is_eq(res.rc, 0, '%s: vm.sh exit status' % what)


def cmd_smoke(opts):
    kind = opts.backend
    exe = {'vdaxd': opts.vdaxd, 'virtiofsd': opts.virtiofsd, 'rust': opts.rust}[kind]
    if not exe or not os.access(exe, os.X_OK):
        tap.skip_all('%s not available' % kind)
    shared = os.path.join(opts.work, 'shared')
    os.mkdir(shared)
    names = smoke_prepare(shared)
    be = Backend(kind, exe, shared, opts.work)
    if not tap.ok(be.start(), '%s: backend started and listening' % kind):
        tap.diag(be.log_tail())
        be.stop()
        return tap.done()
    res = run_vm(opts, be.sock, SMOKE_GUEST, opts.vm_timeout, backend=be)
    check_vm(res, kind)
    smoke_check(shared, names, res, kind)
    if kind == 'vdaxd':
        tap.ok(be.alive(), 'vdaxd: still running after the guest powered off')
        rc = be.stop()
        tap.is_eq(rc, 0, 'vdaxd: exits with status 0 on SIGTERM')
    else:
        # QEMU's and the Rust virtiofsd serve one frontend and exit.
        rc = be.wait_exit(10)
        if rc is None:
            rc = be.stop()
        tap.is_eq(rc, 0, '%s: exited cleanly after the guest left' % kind)
    if tap.failed:
        tap.diag('%s log tail:\n%s' % (kind, be.log_tail()))
    return tap.done()


# ------------------------------------------------------------------ readonly

READONLY_GUEST = r'''
r() { echo "R:$1:$2"; }
r read "$(cat from-host.txt)"
r ls "$(ls | tr '\n' ' ')"
try() { # try NAME CMD...: the error message of a change that must fail
	n=$1; shift
	if out=$("$@" 2>&1); then r "$n" "succeeded"; else
		case $out in *"Read-only file system"*) r "$n" EROFS ;; *) r "$n" "$out" ;; esac
	fi
}
try create sh -c 'echo x > new.txt'
try append sh -c 'echo x >> from-host.txt'
try mkdir mkdir d
try rm rm from-host.txt
try mv mv from-host.txt moved.txt
try chmod chmod 600 from-host.txt
try truncate truncate -s 0 from-host.txt
try symlink ln -s from-host.txt link
r done yes
'''


def cmd_readonly(opts):
    if not opts.vdaxd or not os.access(opts.vdaxd, os.X_OK):
        tap.skip_all('vdaxd not available')
    shared = os.path.join(opts.work, 'shared')
    os.mkdir(shared)
    with open(os.path.join(shared, 'from-host.txt'), 'w') as f:
        f.write('written by the host')
    os.environ['VDAX_GUEST_VDAXD_ARGS'] = (os.environ.get('VDAX_GUEST_VDAXD_ARGS', '') +
                                           ' --readonly').strip()
    be = Backend('vdaxd', opts.vdaxd, shared, opts.work)
    if not tap.ok(be.start(), 'vdaxd --readonly started and listening'):
        tap.diag(be.log_tail())
        be.stop()
        return tap.done()
    res = run_vm(opts, be.sock, READONLY_GUEST, opts.vm_timeout, backend=be)
    check_vm(res, 'readonly')
    r = res.results()
    tap.is_eq(r.get('read'), 'written by the host', 'readonly: the guest reads a host file')
    tap.is_eq(r.get('ls'), 'from-host.txt ', 'readonly: the guest lists the share')
    for name in ('create', 'append', 'mkdir', 'rm', 'mv', 'chmod', 'truncate', 'symlink'):
        tap.is_eq(r.get(name), 'EROFS', 'readonly: %s in the guest fails with EROFS' % name)
    tap.is_eq(sorted(os.listdir(shared)), ['from-host.txt'], 'readonly: nothing changed on the host')
    tap.is_eq(read(os.path.join(shared, 'from-host.txt')), 'written by the host',
              'readonly: the host file is intact')
    tap.is_eq(r.get('done'), 'yes', 'readonly: guest script ran to the end')
    be.stop()
    if tap.failed:
        tap.diag('vdaxd log tail:\n' + be.log_tail())
    # The same guest on the Rust virtiofsd --readonly: the same answers.
    if not opts.rust or not os.access(opts.rust, os.X_OK):
        tap.skip('readonly: the same answers as the Rust virtiofsd --readonly',
                 'the Rust virtiofsd not available')
        return tap.done()
    rshared = os.path.join(opts.work, 'shared-rust')
    os.mkdir(rshared)
    with open(os.path.join(rshared, 'from-host.txt'), 'w') as f:
        f.write('written by the host')
    os.environ['VDAX_GUEST_RUST_ARGS'] = (os.environ.get('VDAX_GUEST_RUST_ARGS', '') +
                                          ' --readonly').strip()
    rb = Backend('rust', opts.rust, rshared, opts.work)
    if not tap.ok(rb.start(), 'the Rust virtiofsd --readonly started'):
        tap.diag(rb.log_tail())
        rb.stop()
        return tap.done()
    rres = run_vm(opts, rb.sock, READONLY_GUEST, opts.vm_timeout)
    check_vm(rres, 'readonly on the Rust virtiofsd')
    tap.is_eq(rres.results(), r, 'readonly: the same answers as the Rust virtiofsd --readonly')
    rb.stop()
    return tap.done()


# -------------------------------------------------------------------- reboot

def cmd_reboot(opts):
    if not opts.vdaxd or not os.access(opts.vdaxd, os.X_OK):
        tap.skip_all('vdaxd not available')
    shared = os.path.join(opts.work, 'shared')
    os.mkdir(shared)
    be = Backend('vdaxd', opts.vdaxd, shared, opts.work)
    if not tap.ok(be.start(), 'vdaxd started and listening'):
        tap.diag(be.log_tail())
        be.stop()
        return tap.done()

    # Boot 1: a clean run that leaves a file behind.
    res = run_vm(opts, be.sock, 'echo one > boot1.txt && cat boot1.txt', opts.vm_timeout, backend=be)
    check_vm(res, 'boot 1')
    tap.is_eq(read(os.path.join(shared, 'boot1.txt')), 'one\n', 'boot 1: file written')
    tap.ok(be.alive(), 'vdaxd alive after boot 1')

    # Boot 2 on the same daemon: sees boot 1's file, writes its own.
    res = run_vm(opts, be.sock, 'cat boot1.txt && echo two > boot2.txt', opts.vm_timeout, backend=be)
    check_vm(res, 'boot 2')
    tap.is_eq(res.out.strip(), 'one', 'boot 2: reads the file of boot 1')
    tap.is_eq(read(os.path.join(shared, 'boot2.txt')), 'two\n', 'boot 2: file written')
    tap.ok(be.alive(), 'vdaxd alive after boot 2')

    # Boot 3 dies hard mid-I/O: QEMU killed by vm.sh's timeout.
    hard = 'echo started; while :; do dd if=/dev/zero of=busy.bin bs=64k count=16 2>/dev/null; done'
    res = run_vm(opts, be.sock, hard, 15, backend=be)
    tap.ok(res.mounted(), 'boot 3: mounted before being killed')
    tap.is_eq(res.rc, 124, 'boot 3: QEMU killed by the hard timeout')
    tap.ok(be.alive(), 'vdaxd alive after a frontend vanished mid-I/O')

    # Boot 4: the daemon must accept the next frontend after that.
    res = run_vm(opts, be.sock, 'cat boot2.txt && ls busy.bin && echo four > boot4.txt',
                 opts.vm_timeout, backend=be)
    check_vm(res, 'boot 4')
    tap.is_eq(res.out.strip(), 'two\nbusy.bin', 'boot 4: sees the files of earlier boots')
    tap.is_eq(read(os.path.join(shared, 'boot4.txt')), 'four\n', 'boot 4: file written')
    tap.is_eq(res.rc, 0, 'boot 4: vm.sh exit status')
    tap.ok(be.alive(), 'vdaxd alive after boot 4')
    rc = be.stop()
    tap.is_eq(rc, 0, 'vdaxd exits with status 0 on SIGTERM')
    if tap.failed:
        tap.diag('vdaxd log tail:\n' + be.log_tail())
    return tap.done()


# --------------------------------------------------------------------- posix

# "[not ]ok [N] [-] name [# SKIP|TODO|comment...]": the name ends at '#'.
TAP_LINE = re.compile(r'^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(SKIP|TODO)?\b(.*))?$', re.I)


def parse_tap(text):
    """{check name: 'pass'|'fail'|'skip'} in order; duplicate names get #2..."""
    res = {}
    for line in text.splitlines():
        m = TAP_LINE.match(line.strip())
        if not m:
            continue
        name = m.group(3) or ('unnamed-%s' % m.group(2))
        if m.group(4) and m.group(4).upper() == 'SKIP':
            outcome = 'skip'
        elif m.group(1):
            outcome = 'fail'
        else:
            outcome = 'pass'
        key, i = name, 2
        while key in res:
            key = '%s#%d' % (name, i)
            i += 1
        res[key] = outcome
    return res


def load_allow_list(path):
    """[(glob, comparison, why)]; comparison is 'local', 'virtiofsd', 'rust',
    'nodax' (the same guest without DAX) or '*'."""
    rules = []
    if not path:
        return rules
    try:
        with open(path) as f:
            for ln, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith('#'):
                    continue
                parts = line.split(None, 2)
                if len(parts) < 3 or parts[1] not in ('local', 'virtiofsd', 'rust', 'nodax', '*'):
                    tap.diag('%s:%d: ignored malformed line' % (path, ln))
                    continue
                rules.append((parts[0], parts[1], parts[2]))
    except OSError as e:
        tap.diag('cannot read allow-list %s: %s' % (path, e))
    return rules


def allowed(rules, name, comparison):
    base = name.split('#', 1)[0]
    for glob, comp, why in rules:
        if comp in ('*', comparison) and fnmatch.fnmatchcase(base, glob):
            return why
    return None


def compare(rules, vd, other, other_name, comparison, label_a='vdaxd'):
    names = list(vd) + [n for n in other if n not in vd]
    differ = 0
    for name in names:
        a, b = vd.get(name, 'missing'), other.get(name, 'missing')
        label = '%s=%s %s' % (label_a, other_name, name)
        why = allowed(rules, name, comparison)
        if a != b and why:
            tap.skip(label, 'allowed difference (%s %s, %s %s): %s' % (label_a, a, other_name,
                                                                        b, why))
            continue
        if a != b:
            differ += 1
        if not tap.ok(a == b, label):
            tap.diag('  %s: %s, %s: %s' % (label_a, a, other_name, b))
    return differ


def run_posix_guest(opts, kind, exe, tag):
    shared = os.path.join(opts.work, 'shared-' + kind)
    os.mkdir(shared)
    be = Backend(kind, exe, shared, opts.work, features=opts.features)
    tap.diag('%s: %s' % (tag, ' '.join(be.argv())))
    if not tap.ok(be.start(), '%s: backend started and listening' % tag):
        tap.diag(be.log_tail())
        be.stop()
        return None
    cmd = 'mkdir -p px && %s /mnt/px' % shlex.quote(os.path.basename(opts.posix))
    res = run_vm(opts, be.sock, cmd, opts.posix_timeout,
                 adds=[opts.posix], logname='posix-' + kind,
                 backend=be if kind == 'vdaxd' else None)
    good = check_vm(res, tag)
    tap.ok(be.alive() or kind != 'vdaxd', '%s: backend survived the conformance run' % tag)
    be.stop()
    if not good:
        tap.diag('%s log tail:\n%s' % (kind, be.log_tail()))
    checks = parse_tap(res.out)
    tap.ok(len(checks) > 0, '%s: vdax-posix printed checks in the guest' % tag)
    show_failures(tag, res.out)
    return checks


def show_failures(tag, text, limit=60):
    bad = [l.strip() for l in text.splitlines() if l.startswith('not ok')]
    if bad:
        tap.diag('%s: failing vdax-posix checks:' % tag)
        for line in bad[:limit]:
            tap.diag('  ' + line)


def cmd_posix(opts):
    if not opts.posix or not os.access(opts.posix, os.X_OK):
        tap.skip_all('vdax-posix not built')
    if not opts.vdaxd or not os.access(opts.vdaxd, os.X_OK):
        tap.skip_all('vdaxd not built')
    rules = load_allow_list(opts.allow_list)

    # (a) on a local directory of the same host file system
    local = os.path.join(opts.work, 'local')
    os.mkdir(local)
    try:
        p = subprocess.run([opts.posix, local], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=opts.posix_timeout)
        local_out = p.stdout.decode(errors='replace')
    except subprocess.TimeoutExpired:
        local_out = ''
    a = parse_tap(local_out)
    show_failures('local', local_out)
    tap.ok(len(a) > 0, 'local: vdax-posix printed checks')

    # (b) in the guest on vdaxd, (c) in the guest on QEMU's virtiofsd
    b = run_posix_guest(opts, 'vdaxd', opts.vdaxd, 'vdaxd')
    have_c = opts.virtiofsd and os.access(opts.virtiofsd, os.X_OK)
    c = run_posix_guest(opts, 'virtiofsd', opts.virtiofsd, 'virtiofsd') if have_c else None
    have_d = opts.rust and os.access(opts.rust, os.X_OK)
    d = run_posix_guest(opts, 'rust', opts.rust, 'rust') if have_d else None
    if b is None:
        return tap.done()
    for label, res in (('local', a), ('vdaxd', b), ('virtiofsd', c), ('rust', d)):
        if res is not None:
            tap.diag('%s: %d checks, %d failed, %d skipped' % (
                label, len(res), sum(v == 'fail' for v in res.values()),
                sum(v == 'skip' for v in res.values())))
    d1 = compare(rules, b, a, 'local', 'local')
    if c is not None:
        d2 = compare(rules, b, c, 'virtiofsd', 'virtiofsd')
    else:
        d2 = 0
        tap.skip('vdaxd=virtiofsd *', 'QEMU virtiofsd not available')
    if d is not None:
        d3 = compare(rules, b, d, 'rust', 'rust')
    else:
        d3 = 0
        tap.skip('vdaxd=rust *', 'the Rust virtiofsd not available')
    tap.diag('unexpected differences: %d vs local, %d vs virtiofsd, %d vs rust' % (d1, d2, d3))
    # Allow-list entries that no longer match anything are worth knowing.
    for glob, comp, _ in rules:
        hit = False
        for name in set(b) | set(a) | set(c or {}) | set(d or {}):
            base = name.split('#', 1)[0]
            if not fnmatch.fnmatchcase(base, glob):
                continue
            if comp in ('*', 'local') and b.get(name) != a.get(name):
                hit = True
            if c is not None and comp in ('*', 'virtiofsd') and b.get(name) != c.get(name):
                hit = True
            if d is not None and comp in ('*', 'rust') and b.get(name) != d.get(name):
                hit = True
        if not hit:
            tap.diag('allow-list entry "%s %s" matched no difference' % (glob, comp))
    return tap.done()


# ---------------------------------------------------------------------- main

def fetch_rust():
    """The Rust virtiofsd's wrapper from scripts/rust-virtiofsd.sh, or ''."""
    try:
        p = subprocess.run([os.path.join(REPO, 'scripts', 'rust-virtiofsd.sh')],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        tap.diag('the Rust virtiofsd cannot be fetched: %s' % e)
        return ''
    lines = p.stdout.decode(errors='replace').splitlines()
    if p.returncode != 0 or not lines:
        tap.diag('the Rust virtiofsd cannot be fetched: ' +
                 ' '.join(p.stderr.decode(errors='replace').split())[-200:])
        return ''
    return lines[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('mode', choices=['smoke', 'reboot', 'posix', 'readonly'])
    ap.add_argument('--backend', choices=['vdaxd', 'virtiofsd', 'rust'], default='vdaxd')
    ap.add_argument('--vm', default=os.path.join(REPO, 'tools', 'vm.sh'))
    ap.add_argument('--vdaxd')
    ap.add_argument('--virtiofsd', default='/usr/lib/qemu/virtiofsd')
    ap.add_argument('--rust', default='',
                    help='the Rust virtiofsd; "fetch": fetch it with '
                    'scripts/rust-virtiofsd.sh (not available if that fails)')
    ap.add_argument('--posix')
    ap.add_argument('--tmp-base', default=None)
    ap.add_argument('--allow-list', default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), 'expected-differences.txt'))
    ap.add_argument('--vm-timeout', type=int, default=180)
    ap.add_argument('--posix-timeout', type=int, default=900)
    ap.add_argument('--features', default='xattr',
                    help='posix: backend features to enable in both daemons '
                    '(comma-separated: xattr, posix_lock, flock)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory')
    opts = ap.parse_args()
    opts.features = [f for f in opts.features.split(',') if f]
    for f in opts.features:
        if f not in ('xattr', 'posix_lock', 'flock'):
            ap.error('unknown feature ' + f)
    if opts.rust == 'fetch':
        opts.rust = fetch_rust()
    # Meson passes build targets relative to the build directory.
    for k in ('vm', 'vdaxd', 'virtiofsd', 'rust', 'posix', 'allow_list'):
        if getattr(opts, k):
            setattr(opts, k, os.path.abspath(getattr(opts, k)))

    if os.geteuid() != 0:
        tap.skip_all('needs root (the backends serve the shared directory as root)')
    if shutil.which(os.environ.get('VDAX_QEMU', 'qemu-system-x86_64')) is None:
        tap.skip_all('qemu-system-x86_64 not installed')
    k = subprocess.run([os.path.join(REPO, 'scripts', 'guest-kernel.sh')],
                       stdin=subprocess.DEVNULL, capture_output=True)
    if k.returncode != 0:
        tap.skip_all('no guest kernel: ' + ' '.join(k.stderr.decode(errors='replace').split())[-200:])

    return run_mode(opts, 'guest', {'smoke': cmd_smoke, 'reboot': cmd_reboot,
                                    'posix': cmd_posix, 'readonly': cmd_readonly})


def run_mode(opts, prefix, modes):
    """Run modes[opts.mode](opts) in a fresh work directory opts.work, kept
    if the run failed (or with --keep); the mode's exit status."""
    # One base directory for everything, so the local run of vdax-posix
    # sees the same host file system as the daemons.
    base = opts.tmp_base or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    opts.work = tempfile.mkdtemp(prefix='%s-%s-' % (prefix, opts.mode), dir=base)
    # Socket paths must fit sun_path (108 bytes).
    if len(opts.work) > 80:
        shutil.rmtree(opts.work)
        opts.work = tempfile.mkdtemp(prefix='vdax-%s-%s-' % (prefix, opts.mode))
    rc = 1
    try:
        rc = modes[opts.mode](opts)
    finally:
        if opts.keep or rc != 0:
            tap.diag('work directory kept: ' + opts.work)
        else:
            shutil.rmtree(opts.work, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
