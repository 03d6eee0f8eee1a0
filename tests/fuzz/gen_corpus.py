#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generate the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

Run from anywhere: ./tests/fuzz/gen_corpus.py. Rewrites the seed-* files
(regress-* files, saved findings, are left alone). The input formats are
described at the top of each fuzz_*.c.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus')


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


def clean(target):
    d = os.path.join(OUT, target)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if n.startswith('seed-'):
                os.unlink(os.path.join(d, n))


# ---------------------------------------------------------------- virtq --
VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT = 1, 2, 4


def desc(addr, ln, flags=0, nxt=0):
    return struct.pack('<QIHH', addr, ln, flags, nxt)


def virtq_input(num_log2, descs, heads, avail_idx=None, indirect=False,
                event_idx=False, where=0, base=0, extra=None):
    """Ring at gpa 0 (where=0): desc table, avail ring, used ring."""
    num = 1 << num_log2
    cfg = num_log2 | (0x10 if indirect else 0) | (0x20 if event_idx else 0) | (where << 6)
    mem = bytearray(0x600)
    table = b''.join(descs)[:16 * num]
    if where == 1:  # avail/used in region 1: only the table is in the data
        avail_off = None
    elif where == 2:
        avail_off = 16 * num  # the table is at 0x20000, beyond the data
        table = b''
    else:
        avail_off = 16 * num
    mem[0:len(table)] = table
    if avail_off is not None:
        idx = len(heads) if avail_idx is None else avail_idx
        ring = struct.pack('<HH', 0, idx & 0xffff) + b''.join(
            struct.pack('<H', h) for h in heads)
        mem[avail_off:avail_off + len(ring)] = ring
    for off, blob in (extra or {}).items():
        mem[off:off + len(blob)] = blob
    return struct.pack('<BH', cfg, base) + bytes(mem).rstrip(b'\0')


def gen_virtq():
    t = 'fuzz-virtq'
    clean(t)
    w = lambda n, d: write(t, n, d)
    R, W, N, I = 0, VRING_DESC_F_WRITE, VRING_DESC_F_NEXT, VRING_DESC_F_INDIRECT
    w('simple', virtq_input(3, [desc(0x1000, 100, N, 1), desc(0x2000, 200, W)], [0]))
    w('two-chains', virtq_input(3, [desc(0x1000, 40, N, 1), desc(0x2000, 80, W),
                                    desc(0x3000, 16), desc(0x4000, 16, W)], [0, 2]))
    w('cross-region', virtq_input(3, [desc(0x7f00, 0x200, N, 1), desc(0x8100, 64, W)], [0]))
    w('hole', virtq_input(3, [desc(0x10000, 16)], [0]))
    w('past-end', virtq_input(3, [desc(0x20f00, 0x200, W)], [0]))
    w('overflow', virtq_input(3, [desc(0xfffffffffffffff0, 0x20)], [0]))
    w('zero-len', virtq_input(3, [desc(0x1000, 0, N, 1), desc(0x2000, 0, W)], [0]))
    w('loop', virtq_input(3, [desc(0x1000, 8, N, 1), desc(0x1000, 8, N, 0)], [0]))
    w('next-oob', virtq_input(3, [desc(0x1000, 8, N, 9)], [0]))
    w('rd-after-wr', virtq_input(3, [desc(0x1000, 8, W | N, 1), desc(0x2000, 8)], [0]))
    w('head-oob', virtq_input(3, [desc(0x1000, 8)], [8]))
    w('avail-jump', virtq_input(3, [desc(0x1000, 8)], [0], avail_idx=100))
    w('base-wrap', virtq_input(3, [desc(0x1000, 8)], [0], avail_idx=0, base=0xffff))
    ind = desc(0x1000, 32, N, 1) + desc(0x2000, 64, W)
    w('indirect', virtq_input(3, [desc(0x200, 32, I)], [0], indirect=True, extra={0x200: ind}))
    w('indirect-off', virtq_input(3, [desc(0x200, 32, I)], [0], indirect=False, extra={0x200: ind}))
    w('indirect-next', virtq_input(3, [desc(0x200, 32, I | N, 1), desc(0x1000, 8)], [0],
                                   indirect=True, extra={0x200: ind}))
    w('indirect-nested', virtq_input(3, [desc(0x200, 16, I)], [0], indirect=True,
                                     extra={0x200: desc(0x300, 16, I)}))
    w('indirect-badlen', virtq_input(3, [desc(0x200, 17, I)], [0], indirect=True, extra={0x200: ind}))
    w('indirect-cross', virtq_input(3, [desc(0x7ff0, 32, I)], [0], indirect=True))
    w('indirect-loop', virtq_input(3, [desc(0x200, 32, I)], [0], indirect=True,
                                   extra={0x200: desc(0x1000, 8, N, 1) + desc(0x1000, 8, N, 0)}))
    w('event-idx', virtq_input(3, [desc(0x1000, 8, W)], [0, 0, 0], event_idx=True))
    w('ring1', virtq_input(0, [desc(0x1000, 8, W)], [], where=1))
    w('ring-small-region', virtq_input(8, [], [], where=2))
    w('big-ring', virtq_input(8, [desc(0x1000 + 16 * i, 16, W if i % 2 else 0) for i in range(256)],
                              list(range(256))))
    w('long-chain', virtq_input(7, [desc(0x1000, 4, N, i + 1) for i in range(127)] +
                                [desc(0x2000, 4, W)], [0]))
    w('empty', b'')


# ----------------------------------------------------------- vhost-msg --
VU = dict(GET_FEATURES=1, SET_FEATURES=2, SET_OWNER=3, RESET_OWNER=4, SET_MEM_TABLE=5,
          SET_LOG_BASE=6, SET_LOG_FD=7, SET_VRING_NUM=8, SET_VRING_ADDR=9,
          SET_VRING_BASE=10, GET_VRING_BASE=11, SET_VRING_KICK=12, SET_VRING_CALL=13,
          SET_VRING_ERR=14, GET_PROTOCOL_FEATURES=15, SET_PROTOCOL_FEATURES=16,
          GET_QUEUE_NUM=17, SET_VRING_ENABLE=18, SEND_RARP=19, NET_SET_MTU=20,
          SET_BACKEND_REQ_FD=21, IOTLB_MSG=22, SET_VRING_ENDIAN=23, GET_CONFIG=24,
          SET_CONFIG=25, RESET_DEVICE=34, VRING_KICK=35, GET_MAX_MEM_SLOTS=36,
          ADD_MEM_REG=37, REM_MEM_REG=38, SET_STATUS=39, GET_STATUS=40,
          GET_SHMEM_CONFIG=44)
V1, NEED_REPLY = 0x1, 0x8
FEATURES = (1 << 32) | (1 << 29) | (1 << 28) | (1 << 30)
PROTO = (1 << 0) | (1 << 3) | (1 << 5) | (1 << 10) | (1 << 15)
UVA = 0x7f0000000000
FZ_POKE, FZ_KICK = 0xffffff01, 0xffffff02


def msg(req, payload=b'', flags=V1 | NEED_REPLY, nfds=None, kind=0, size=None):
    ctl = (0 if nfds is None else nfds + 1) << 4 | kind
    return struct.pack('<III', req, flags | ctl << 24,
                       len(payload) if size is None else size) + payload


def u64(v):
    return struct.pack('<Q', v)


def region(gpa, size, uva, off=0):
    return struct.pack('<QQQQ', gpa, size, uva, off)


def state(idx, num):
    return struct.pack('<II', idx, num)


def vaddr(idx, desc, used, avail, flags=0):
    return struct.pack('<IIQQQQ', idx, flags, desc, used, avail, 0)


def mem_table(*regions):
    return struct.pack('<II', len(regions), 0) + b''.join(regions)


def ring_poke(num=8):
    """A chain (readable 64 bytes, writable 128) in a ring at RAM offset 0."""
    d = desc(0x1000, 64, VRING_DESC_F_NEXT, 1) + desc(0x2000, 128, VRING_DESC_F_WRITE)
    avail = struct.pack('<HHH', 0, 1, 0)
    return (msg(FZ_POKE, struct.pack('<I', 0) + d) +
            msg(FZ_POKE, struct.pack('<I', 16 * num) + avail))


def setup(q=1, num=8, proto=PROTO, features=FEATURES):
    used = (16 * num + 6 + 2 * num + 2 + 3) & ~3
    return (msg(VU['GET_FEATURES'], flags=V1) +
            msg(VU['SET_FEATURES'], u64(features)) +
            msg(VU['GET_PROTOCOL_FEATURES'], flags=V1) +
            msg(VU['SET_PROTOCOL_FEATURES'], u64(proto)) +
            msg(VU['SET_OWNER']) +
            msg(VU['SET_MEM_TABLE'], mem_table(region(0, 1 << 20, UVA))) +
            msg(VU['SET_VRING_NUM'], state(q, num)) +
            msg(VU['SET_VRING_BASE'], state(q, 0)) +
            msg(VU['SET_VRING_ADDR'], vaddr(q, UVA, UVA + used, UVA + 16 * num)) +
            msg(VU['SET_VRING_CALL'], u64(q)) +
            msg(VU['SET_VRING_KICK'], u64(q)) +
            msg(VU['SET_VRING_ENABLE'], state(q, 1)))


def gen_vhost():
    t = 'fuzz-vhost-msg'
    clean(t)
    w = lambda n, d: write(t, n, d)
    # Every request alone, with a payload of the size it expects.
    sizes = dict(SET_FEATURES=8, SET_MEM_TABLE=8 + 32, SET_VRING_NUM=8, SET_VRING_ADDR=40,
                 SET_VRING_BASE=8, GET_VRING_BASE=8, SET_VRING_KICK=8, SET_VRING_CALL=8,
                 SET_VRING_ERR=8, SET_PROTOCOL_FEATURES=8, SET_VRING_ENABLE=8,
                 ADD_MEM_REG=40, REM_MEM_REG=40, SET_LOG_BASE=16, SET_STATUS=8)
    for name, req in VU.items():
        pl = bytes(sizes.get(name, 0))
        if name == 'SET_MEM_TABLE':
            pl = mem_table(region(0, 1 << 20, UVA))
        elif name in ('ADD_MEM_REG', 'REM_MEM_REG'):
            pl = u64(0) + region(0, 1 << 20, UVA)
        w('req-%02d-%s' % (req, name.lower()), b'\x04' + msg(req, pl))
    w('unknown', b'\x00' + msg(200) + msg(0xffff))
    # A whole session: features, memory, a running ring, a request.
    full = setup() + ring_poke() + msg(FZ_KICK, b'\x01')
    w('session', b'\x00' + full + msg(VU['GET_VRING_BASE'], state(1, 0), flags=V1))
    w('session-pool', b'\x03' + full + msg(VU['RESET_OWNER']))
    w('session-eventidx', b'\x00' + setup(features=FEATURES) + ring_poke() +
      msg(FZ_KICK, b'\x01'))
    w('session-dax', b'\x04' + setup(proto=PROTO | (1 << 21)) +
      msg(VU['SET_BACKEND_REQ_FD']) + msg(VU['GET_SHMEM_CONFIG'], flags=V1))
    w('session-hiprio', b'\x01' + setup(q=0) + setup(q=2, num=16) + ring_poke() +
      msg(FZ_KICK, b'\x00') + msg(FZ_KICK, b'\x02'))
    w('mem-slots', b'\x00' + setup() +
      msg(VU['ADD_MEM_REG'], u64(0) + region(1 << 20, 1 << 20, UVA + (1 << 20), 1 << 20)) +
      msg(VU['REM_MEM_REG'], u64(0) + region(0, 1 << 20, UVA)) +
      msg(VU['ADD_MEM_REG'], u64(0) + region(0, 1 << 20, UVA)) + ring_poke() +
      msg(FZ_KICK, b'\x01'))
    w('mem-swap-running', b'\x02' + setup() + ring_poke() + msg(FZ_KICK, b'\x01') +
      msg(VU['SET_MEM_TABLE'], mem_table(region(0, 1 << 20, UVA), region(1 << 20, 4096, UVA + (1 << 20), 1 << 20))) +
      msg(FZ_KICK, b'\x01'))
    w('mem-unaligned-offset', b'\x00' + msg(VU['SET_MEM_TABLE'], mem_table(region(0, 8192, UVA, 100))))
    w('mem-overlap', b'\x00' + msg(VU['SET_MEM_TABLE'], mem_table(region(0, 8192, UVA), region(4096, 8192, UVA + 65536))))
    w('mem-overflow', b'\x00' + msg(VU['SET_MEM_TABLE'], mem_table(region(0xfffffffffffff000, 0x2000, UVA))))
    w('mem-huge', b'\x00' + msg(VU['SET_MEM_TABLE'], mem_table(region(0, 1 << 40, UVA))))
    w('mem-9-regions', b'\x00' + msg(VU['SET_MEM_TABLE'], struct.pack('<II', 9, 0), nfds=0))
    w('mem-fewer-fds', b'\x00' + msg(VU['SET_MEM_TABLE'], mem_table(region(0, 4096, UVA), region(4096, 4096, UVA + 4096)), nfds=1))
    w('mem-devnull', b'\x00' + msg(VU['SET_MEM_TABLE'], mem_table(region(0, 4096, UVA)), kind=2))
    w('mem-eventfd', b'\x00' + msg(VU['SET_MEM_TABLE'], mem_table(region(0, 4096, UVA)), kind=1))
    w('add-reg-no-proto', b'\x00' + msg(VU['ADD_MEM_REG'], u64(0) + region(0, 4096, UVA)))
    w('too-many-slots', b'\x00' + setup() + b''.join(
        msg(VU['ADD_MEM_REG'], u64(0) + region((i + 1) << 20, 4096, UVA + ((i + 1) << 20)))
        for i in range(34)))
    # Header and size shapes.
    w('short-header', b'\x00' + struct.pack('<II', 1, 1))
    w('size-too-big', b'\x00' + msg(VU['SET_FEATURES'], u64(0), size=64))
    w('size-too-small', b'\x00' + msg(VU['SET_FEATURES'], b'\0\0\0\0'))
    w('oversized', b'\x00' + msg(VU['SET_MEM_TABLE'], bytes(2100)))
    w('bad-version', b'\x00' + msg(VU['GET_FEATURES'], flags=2))
    w('reply-flag', b'\x00' + msg(VU['GET_FEATURES'], flags=V1 | 4))
    w('junk-flags', b'\x00' + msg(VU['GET_FEATURES'], flags=V1 | 0x100))
    w('fds-on-get', b'\x00' + msg(VU['GET_FEATURES'], nfds=3))
    w('eight-fds', b'\x00' + msg(VU['SET_VRING_CALL'], u64(1), nfds=8))
    w('bad-feature', b'\x00' + msg(VU['SET_FEATURES'], u64(1 << 40)))
    w('bad-proto', b'\x00' + msg(VU['SET_PROTOCOL_FEATURES'], u64(1 << 50)))
    w('queue-oob', b'\x00' + msg(VU['SET_VRING_NUM'], state(200, 8)) +
      msg(VU['SET_VRING_CALL'], u64(255)))
    w('ring-size', b'\x00' + msg(VU['SET_VRING_NUM'], state(1, 100)) +
      msg(VU['SET_VRING_NUM'], state(1, 65536)) + msg(VU['SET_VRING_NUM'], state(1, 0)))
    w('base-big', b'\x00' + msg(VU['SET_VRING_BASE'], state(1, 70000)))
    w('kick-nofd', b'\x00' + msg(VU['SET_VRING_KICK'], u64(1 | 1 << 8)) +
      msg(VU['SET_VRING_CALL'], u64(1 | 1 << 8)) + msg(VU['SET_VRING_ERR'], u64(1 | 1 << 20)))
    w('ring-outside', b'\x00' + setup()[:-len(msg(VU['SET_VRING_ENABLE'], state(1, 1)))] +
      msg(VU['SET_VRING_ADDR'], vaddr(1, UVA + (1 << 20) - 64, UVA, UVA)))
    w('ring-misaligned', b'\x00' + msg(VU['SET_MEM_TABLE'], mem_table(region(0, 1 << 20, UVA))) +
      msg(VU['SET_VRING_NUM'], state(1, 8)) + msg(VU['SET_VRING_ADDR'], vaddr(1, UVA + 1, UVA + 0x801, UVA + 0x401)))
    w('num-while-running', b'\x00' + setup() + msg(VU['SET_VRING_NUM'], state(1, 16)) +
      msg(VU['SET_VRING_ADDR'], vaddr(1, UVA, UVA + 0x200, UVA + 0x100)) +
      msg(VU['SET_VRING_ENABLE'], state(1, 0)) + msg(VU['SET_VRING_ENABLE'], state(1, 2)))
    w('reset-twice', b'\x00' + setup() + msg(VU['RESET_OWNER']) + setup() + msg(VU['RESET_OWNER']))
    w('backend-fd-no-proto', b'\x00' + msg(VU['SET_BACKEND_REQ_FD']))
    # Finding (kept as regress-*): a memory fd shorter than its region; the
    # ring lies past the fd's end, so touching it raises SIGBUS.
    base = 0x180000
    bad = (msg(VU['SET_FEATURES'], u64(FEATURES)) + msg(VU['SET_PROTOCOL_FEATURES'], u64(PROTO)) +
           msg(VU['SET_MEM_TABLE'], mem_table(region(0, 2 << 20, UVA)), kind=3) +
           msg(VU['SET_VRING_NUM'], state(1, 8)) +
           msg(VU['SET_VRING_ADDR'], vaddr(1, UVA + base, UVA + base + 0x200, UVA + base + 0x100)) +
           msg(VU['SET_VRING_CALL'], u64(1)) + msg(VU['SET_VRING_KICK'], u64(1)) +
           msg(VU['SET_VRING_ENABLE'], state(1, 1)))
    with open(os.path.join(OUT, t, 'regress-memfd-smaller-than-region'), 'wb') as f:
        f.write(b'\x00' + bad)


# ----------------------------------------------------------------- fuse --
OP = dict(LOOKUP=1, FORGET=2, GETATTR=3, SETATTR=4, READLINK=5, SYMLINK=6, MKNOD=8,
          MKDIR=9, UNLINK=10, RMDIR=11, RENAME=12, LINK=13, OPEN=14, READ=15, WRITE=16,
          STATFS=17, RELEASE=18, FSYNC=20, SETXATTR=21, GETXATTR=22, LISTXATTR=23,
          REMOVEXATTR=24, FLUSH=25, INIT=26, OPENDIR=27, READDIR=28, RELEASEDIR=29,
          FSYNCDIR=30, GETLK=31, SETLK=32, SETLKW=33, ACCESS=34, CREATE=35,
          INTERRUPT=36, BMAP=37, DESTROY=38, IOCTL=39, POLL=40, NOTIFY_REPLY=41,
          BATCH_FORGET=42, FALLOCATE=43, READDIRPLUS=44, RENAME2=45, LSEEK=46,
          COPY_FILE_RANGE=47, SETUPMAPPING=48, REMOVEMAPPING=49, SYNCFS=50, TMPFILE=51)
ROOT = 1


def N(i):
    """Placeholder: the i-th nodeid replied in this input."""
    return 0xfffffffffffffe00 | i


def F(i):
    """Placeholder: the i-th fh replied in this input."""
    return 0xfffffffffffffd00 | i


_unique = [100]


def req(op, nodeid=ROOT, body=b'', uid=0, gid=0, extlen=0, ln=None):
    _unique[0] += 1
    hdr_len = 40 + len(body) if ln is None else ln
    return struct.pack('<IIQQIIIHH', hdr_len, OP[op] if isinstance(op, str) else op,
                       _unique[0], nodeid, uid, gid, 4242, extlen, 0) + body


def z(s):
    return s.encode() + b'\0'


def ctl(in_split=(0, 0, 0), out_split=(0, 0, 0), out_size=0):
    return bytes(in_split) + bytes(out_split) + struct.pack('<H', out_size)


def lookup(name, parent=ROOT):
    return req('LOOKUP', parent, z(name))


def open_(node, flags=os.O_RDWR):
    return req('OPEN', node, struct.pack('<II', flags, 0))


def read_in(fh, off, size):
    return struct.pack('<QQIIQII', fh, off, size, 0, 0, 0, 0)


def release(node, fh, op='RELEASE'):
    return req(op, node, struct.pack('<QIIQ', fh, 0, 0, 0))


def setattr_in(valid, fh=0, size=0, mode=0, uid=0, gid=0):
    return struct.pack('<IIQQQQQQIIIIIIII', valid, 0, fh, size, 0, 1, 2, 3, 0, 0, 0,
                       mode, 0, uid, gid, 0)


def lk_in(fh, typ, start=0, end=100, lk_flags=0):
    return struct.pack('<QQQQIIII', fh, 7, start, end, typ, 0, lk_flags, 0)


def gen_fuse():
    t = 'fuzz-fuse'
    clean(t)
    C = ctl()
    w = lambda n, *reqs, c=C: write(t, n, c + b''.join(reqs))
    F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
    # One seed per opcode, each set up with what it needs.
    w('01-lookup', lookup('file'), lookup('dir'), lookup('sub', N(1)), lookup('nothere'))
    w('02-forget', lookup('file'), req('FORGET', N(0), u64(1)), req('GETATTR', N(0), bytes(16)))
    w('03-getattr', req('GETATTR', ROOT, bytes(16)), lookup('file'), open_(N(0)),
      req('GETATTR', N(0), struct.pack('<IIQ', 1, 0, F(0))))
    w('04-setattr', lookup('file'), req('SETATTR', N(0), setattr_in(1 | 8 | 16 | 32, size=10)),
      req('SETATTR', N(0), setattr_in(2 | 4, uid=1000, gid=1000)),
      open_(N(0)), req('SETATTR', N(0), setattr_in(8 | 64, fh=F(0), size=3)))
    w('05-readlink', lookup('link'), req('READLINK', N(0)), lookup('abs'), req('READLINK', N(1)),
      lookup('file'), req('READLINK', N(2)))
    w('06-symlink', req('SYMLINK', ROOT, z('newlink') + z('/etc/passwd')), lookup('newlink'),
      req('READLINK', N(1)))
    w('08-mknod', req('MKNOD', ROOT, struct.pack('<IIII', 0o10644, 0, 0o22, 0) + z('fifo')),
      req('MKNOD', ROOT, struct.pack('<IIII', 0o100600, 0, 0, 0) + z('reg')),
      req('MKNOD', ROOT, struct.pack('<IIII', 0o20600, 0x0801, 0, 0) + z('blk')))
    w('09-mkdir', req('MKDIR', ROOT, struct.pack('<II', 0o755, 0o22) + z('newdir')),
      req('MKDIR', N(0), struct.pack('<II', 0o700, 0) + z('deeper')))
    w('10-unlink', req('UNLINK', ROOT, z('file')), req('UNLINK', ROOT, z('dir')),
      req('UNLINK', ROOT, z('nothere')))
    w('11-rmdir', lookup('dir'), req('RMDIR', N(0), z('inner')), req('RMDIR', ROOT, z('dir')))
    w('12-rename', lookup('dir'), req('RENAME', ROOT, u64(N(0)) + z('file') + z('moved')),
      req('RENAME', N(0), u64(ROOT) + z('sub') + z('sub2')))
    w('13-link', lookup('file'), req('LINK', ROOT, u64(N(0)) + z('link2')),
      lookup('dir'), req('LINK', N(1), u64(N(1)) + z('dirlink')))
    w('14-open', lookup('file'), open_(N(0), os.O_RDONLY), open_(N(0), os.O_WRONLY | os.O_TRUNC),
      open_(N(0), os.O_RDWR | os.O_APPEND), lookup('dir'), open_(N(1)))
    w('15-read', lookup('file'), open_(N(0)), req('READ', N(0), read_in(F(0), 0, 4096)),
      req('READ', N(0), read_in(F(0), 4090, 100)), req('READ', N(0), read_in(F(0), 1 << 40, 10)))
    w('16-write', lookup('file'), open_(N(0)),
      req('WRITE', N(0), struct.pack('<QQIIQII', F(0), 10, 5, 0, 0, 0, 0) + b'hello'),
      req('WRITE', N(0), struct.pack('<QQIIQII', F(0), 0, 500, 0, 0, 0, 0) + b'short'))
    w('17-statfs', req('STATFS'), lookup('file'), req('STATFS', N(0)))
    w('18-release', lookup('file'), open_(N(0)), release(N(0), F(0)), release(N(0), F(0)),
      release(N(0), 12345))
    w('20-fsync', lookup('file'), open_(N(0)), req('FSYNC', N(0), struct.pack('<QII', F(0), 1, 0)),
      req('FSYNC', N(0), struct.pack('<QII', F(0), 0, 0)))
    w('21-setxattr', lookup('file'),
      req('SETXATTR', N(0), struct.pack('<IIII', 3, 0, 0, 0) + z('user.new') + b'abc'),
      req('SETXATTR', ROOT, struct.pack('<IIII', 3, 0, 0, 0) + z('trusted.x') + b'abc'),
      req('SETXATTR', N(0), struct.pack('<IIII', 100, 0, 0, 0) + z('user.big') + b'ab'))
    w('22-getxattr', lookup('file'), req('GETXATTR', N(0), struct.pack('<II', 0, 0) + z('user.fuzz')),
      req('GETXATTR', N(0), struct.pack('<II', 64, 0) + z('user.fuzz')),
      req('GETXATTR', N(0), struct.pack('<II', 2, 0) + z('user.fuzz')))
    w('23-listxattr', lookup('file'), req('LISTXATTR', N(0), struct.pack('<II', 0, 0)),
      req('LISTXATTR', N(0), struct.pack('<II', 256, 0)), req('LISTXATTR', N(0), struct.pack('<II', 3, 0)))
    w('24-removexattr', lookup('file'), req('REMOVEXATTR', N(0), z('user.fuzz')),
      req('REMOVEXATTR', N(0), z('user.fuzz')))
    w('25-flush', lookup('file'), open_(N(0)), req('FLUSH', N(0), struct.pack('<QIIQ', F(0), 0, 0, 0)))
    w('26-init', req('INIT', 0, struct.pack('<IIIII', 7, 38, 65536, 0xffffffff, 0xffffffff) + bytes(44)),
      req('INIT', 0, struct.pack('<IIII', 7, 22, 0, 0)), req('INIT', 0, struct.pack('<IIII', 8, 0, 0, 0)),
      req('INIT', 0, struct.pack('<IIII', 6, 0, 0, 0)))
    w('27-opendir', req('OPENDIR', ROOT, struct.pack('<II', 0, 0)), lookup('file'),
      req('OPENDIR', N(0), struct.pack('<II', 0, 0)))
    w('28-readdir', req('OPENDIR', ROOT, struct.pack('<II', 0, 0)),
      req('READDIR', ROOT, read_in(F(0), 0, 4096)), req('READDIR', ROOT, read_in(F(0), 2, 80)),
      req('READDIR', ROOT, read_in(F(0), 0, 10)), release(ROOT, F(0), 'RELEASEDIR'))
    w('29-releasedir', req('OPENDIR', ROOT, struct.pack('<II', 0, 0)), release(ROOT, F(0), 'RELEASEDIR'),
      release(ROOT, F(0), 'RELEASEDIR'))
    w('30-fsyncdir', req('OPENDIR', ROOT, struct.pack('<II', 0, 0)),
      req('FSYNCDIR', ROOT, struct.pack('<QII', F(0), 0, 0)))
    w('31-getlk', lookup('file'), open_(N(0)), req('GETLK', N(0), lk_in(F(0), F_WRLCK)))
    w('32-setlk', lookup('file'), open_(N(0)), open_(N(0)),
      req('SETLK', N(0), lk_in(F(0), F_WRLCK)), req('SETLK', N(0), lk_in(F(1), F_WRLCK)),
      req('GETLK', N(0), lk_in(F(1), F_WRLCK)), req('SETLK', N(0), lk_in(F(0), F_UNLCK)),
      req('SETLK', N(0), lk_in(F(0), F_WRLCK, lk_flags=1)))
    w('33-setlkw', lookup('file'), open_(N(0)), open_(N(0)),
      req('SETLKW', N(0), lk_in(F(0), F_RDLCK)), req('SETLKW', N(0), lk_in(F(1), F_WRLCK)),
      req('SETLKW', N(0), lk_in(F(0), F_WRLCK, lk_flags=1)))
    w('34-access', req('ACCESS', ROOT, struct.pack('<II', 7, 0)), lookup('file'),
      req('ACCESS', N(0), struct.pack('<II', 2, 0), uid=1000, gid=1000))
    w('35-create', req('CREATE', ROOT, struct.pack('<IIII', os.O_RDWR | os.O_CREAT, 0o644, 0o22, 0) + z('new')),
      req('WRITE', N(0), struct.pack('<QQIIQII', F(0), 0, 3, 0, 0, 0, 0) + b'xyz'),
      req('CREATE', ROOT, struct.pack('<IIII', os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644, 0, 0) + z('new')))
    w('36-interrupt', req('INTERRUPT', 0, u64(5)))
    w('37-unsupported', req('BMAP', ROOT, bytes(16)), req('IOCTL', ROOT, bytes(32)),
      req('POLL', ROOT, bytes(24)), req('NOTIFY_REPLY', ROOT, bytes(24)), req(9999, ROOT), req(0, ROOT))
    w('38-destroy', req('DESTROY', ROOT), req('GETATTR', ROOT, bytes(16)))
    w('42-batch-forget', lookup('file'), lookup('file'),
      req('BATCH_FORGET', 0, struct.pack('<II', 2, 0) + u64(N(0)) + u64(1) + u64(1) + u64(5)),
      req('BATCH_FORGET', 0, struct.pack('<II', 1000, 0) + u64(N(0)) + u64(1)))
    w('43-fallocate', lookup('file'), open_(N(0)),
      req('FALLOCATE', N(0), struct.pack('<QQQII', F(0), 0, 8192, 0, 0)),
      req('FALLOCATE', N(0), struct.pack('<QQQII', F(0), 0, 4096, 3, 0)))
    w('44-readdirplus', req('OPENDIR', ROOT, struct.pack('<II', 0, 0)),
      req('READDIRPLUS', ROOT, read_in(F(0), 0, 8192)), req('READDIRPLUS', ROOT, read_in(F(0), 0, 200)))
    w('45-rename2', req('RENAME2', ROOT, struct.pack('<QII', ROOT, 1, 0) + z('file') + z('empty')),
      req('RENAME2', ROOT, struct.pack('<QII', ROOT, 2, 0) + z('file') + z('dir')),
      req('RENAME2', ROOT, struct.pack('<QII', ROOT, 4, 0) + z('file') + z('wh')),
      req('RENAME2', ROOT, struct.pack('<QII', ROOT, 0xff, 0) + z('file') + z('x')))
    w('46-lseek', lookup('file'), open_(N(0)), req('LSEEK', N(0), struct.pack('<QQII', F(0), 0, 3, 0)),
      req('LSEEK', N(0), struct.pack('<QQII', F(0), 0, 4, 0)), req('LSEEK', N(0), struct.pack('<QQII', F(0), 0, 0, 0)))
    w('47-copy-file-range', lookup('file'), lookup('empty'), open_(N(0)), open_(N(1)),
      req('COPY_FILE_RANGE', N(0), struct.pack('<QQQQQQQ', F(0), 0, N(1), F(1), 0, 100, 0)))
    w('48-setupmapping', lookup('file'), open_(N(0)),
      req('SETUPMAPPING', N(0), struct.pack('<QQQQQ', F(0), 0, 4096, 3, 0)),
      req('SETUPMAPPING', N(0), struct.pack('<QQQQQ', F(0), 4096, 4096, 1, 8192)),
      open_(N(0), os.O_RDONLY),
      req('SETUPMAPPING', N(0), struct.pack('<QQQQQ', F(1), 0, 4096, 2, 0)),
      req('SETUPMAPPING', N(0), struct.pack('<QQQQQ', F(0), 0, 4096, 1, (16 << 20))),
      req('SETUPMAPPING', N(0), struct.pack('<QQQQQ', F(0), 1, 4096, 1, 0)),
      req('SETUPMAPPING', N(0), struct.pack('<QQQQQ', F(0), 0xfffffffffffff000, 8192, 1, 0)),
      req('SETUPMAPPING', N(0), struct.pack('<QQQQQ', F(0), 0, 4096, 0x80, 0)))
    w('49-removemapping', req('REMOVEMAPPING', ROOT, struct.pack('<I', 2) + struct.pack('<QQ', 0, 4096) +
                             struct.pack('<QQ', 8192, 8192)),
      req('REMOVEMAPPING', ROOT, struct.pack('<I', 1) + struct.pack('<QQ', 0xfffffffffffff000, 0x2000)),
      req('REMOVEMAPPING', ROOT, struct.pack('<I', 0x10000000) + struct.pack('<QQ', 0, 4096)),
      req('REMOVEMAPPING', ROOT, struct.pack('<I', 0)),
      req('REMOVEMAPPING', ROOT, struct.pack('<I', 1) + struct.pack('<QQ', 4095, 4096)))
    w('50-syncfs', req('SYNCFS', ROOT, u64(0)))
    w('51-tmpfile', req('TMPFILE', ROOT, struct.pack('<IIII', os.O_RDWR, 0o600, 0, 0) + z('')),
      req('WRITE', N(0), struct.pack('<QQIIQII', F(0), 0, 3, 0, 0, 0, 0) + b'tmp'))
    # Escapes: none of these may touch the canary next to the shared directory.
    w('esc-dotdot', lookup('..'), lookup('.'), lookup('../canary'), lookup('a/b'), lookup(''),
      req('GETATTR', N(0), bytes(16)))
    w('esc-symlinks', lookup('abs'), open_(N(0), os.O_RDWR | os.O_TRUNC), lookup('up'),
      open_(N(1), os.O_WRONLY), req('SETATTR', N(0), setattr_in(8, size=0)),
      req('SETATTR', N(1), setattr_in(1, mode=0o777)), lookup('dotdot'),
      lookup('canary', N(2)), req('MKDIR', N(2), struct.pack('<II', 0o755, 0) + z('evil')),
      req('UNLINK', N(2), z('canary')))
    w('esc-rename', req('RENAME', ROOT, u64(ROOT) + z('file') + z('../evil')),
      req('RENAME2', ROOT, struct.pack('<QII', ROOT, 2, 0) + z('file') + z('..')),
      req('LINK', ROOT, u64(ROOT) + z('rootlink')), req('SYMLINK', ROOT, z('s') + z('..')),
      lookup('s'), req('CREATE', N(0), struct.pack('<IIII', os.O_RDWR | os.O_CREAT, 0o644, 0, 0) + z('x')))
    w('esc-root-attr', req('SETATTR', ROOT, setattr_in(1 | 2 | 4, mode=0o777, uid=1, gid=1)),
      req('SETXATTR', ROOT, struct.pack('<IIII', 1, 0, 0, 0) + z('user.r') + b'r'),
      req('RMDIR', ROOT, z('.')), req('RMDIR', ROOT, z('..')))
    w('esc-fifo-open', req('MKNOD', ROOT, struct.pack('<IIII', 0o10644, 0, 0, 0) + z('p')),
      lookup('p'), req('READLINK', N(1)), req('GETXATTR', N(1), struct.pack('<II', 0, 0) + z('user.x')),
      req('SETATTR', N(1), setattr_in(8, size=0)))
    # Malformed shapes.
    w('bad-short-header', b'\x28\x00\x00\x00\x01\x00\x00\x00' + bytes(12))
    w('bad-len-small', req('GETATTR', ROOT, bytes(16), ln=20))
    w('bad-len-big', req('GETATTR', ROOT, bytes(16), ln=4000))
    w('bad-no-nul', req('LOOKUP', ROOT, b'file'))
    w('bad-extlen', req('LOOKUP', ROOT, z('file'), extlen=0xffff), req('LOOKUP', ROOT, z('file') + bytes(11), extlen=2))
    w('bad-body-short', req('READ', ROOT, bytes(8)), req('SETATTR', ROOT, bytes(10)),
      req('RENAME', ROOT, u64(ROOT) + z('file')))
    w('bad-stale-ids', req('GETATTR', 0, bytes(16)), req('GETATTR', 0xffffffff, bytes(16)),
      req('GETATTR', 0x100000002, bytes(16)), req('READ', ROOT, read_in(0, 0, 100)),
      req('READ', ROOT, read_in(0xffffffffffffffff, 0, 100)))
    w('bad-read-huge', lookup('file'), open_(N(0)), req('READ', N(0), read_in(F(0), 0, 0xffffffff)),
      req('READ', N(0), read_in(F(0), 0xffffffffffffff00, 0x1000)))
    w('bad-write-huge', lookup('file'), open_(N(0)),
      req('WRITE', N(0), struct.pack('<QQIIQII', F(0), 0xfffffffffffffff0, 16, 0, 0, 0, 0) + bytes(16)),
      req('WRITE', N(0), struct.pack('<QQIIQII', F(0), 0, 0xffffffff, 0, 0, 0, 0) + bytes(16)))
    w('bad-name-long', req('LOOKUP', ROOT, z('x' * 300)), req('MKDIR', ROOT, struct.pack('<II', 0o755, 0) + z('y' * 256)))
    w('uid-nobody', req('CREATE', ROOT, struct.pack('<IIII', os.O_RDWR | os.O_CREAT, 0o4777, 0, 0) + z('suid'), uid=65534, gid=65534),
      lookup('file'), open_(N(1), os.O_RDWR), req('SETATTR', N(1), setattr_in(1, mode=0o4755)))
    w('table-full', *[req('MKNOD', ROOT, struct.pack('<IIII', 0o100600, 0, 0, 0) + z('f%d' % i)) for i in range(70)])
    # The same requests through split buffers and small reply buffers.
    w('split-lookup-read', lookup('file'), open_(N(0)), req('READ', N(0), read_in(F(0), 0, 5000)),
      c=ctl((1, 7, 33), (3, 0xff, 17), 9000))
    w('split-readdirplus', req('OPENDIR', ROOT, struct.pack('<II', 0, 0)),
      req('READDIRPLUS', ROOT, read_in(F(0), 0, 4096)), c=ctl((40, 3, 5), (16, 1, 100), 3000))
    w('split-write', lookup('file'), open_(N(0)),
      req('WRITE', N(0), struct.pack('<QQIIQII', F(0), 0, 300, 0, 0, 0, 0) + bytes(range(256)) + bytes(44)),
      c=ctl((41, 60, 100), (0xff, 0xff, 8), 0))
    w('tiny-reply', req('GETATTR', ROOT, bytes(16)), lookup('file'), req('STATFS'), c=ctl(out_size=16))
    w('no-room-header', req('GETATTR', ROOT, bytes(16)), c=ctl(out_size=8))


def main():
    gen_virtq()
    gen_vhost()
    gen_fuse()
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print('corpus: %d bytes in %s' % (total, OUT))
    return 0


if __name__ == '__main__':
    sys.exit(main())
