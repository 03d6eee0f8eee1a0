#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn a vdax-bench Markdown report of the vdaxd, virtiofsd and rust columns
into the three-daemon table of BENCHMARKS.md: the throughput rows with the
ratios vdaxd/virtiofsd and vdaxd/rust of the medians.

  bench/three-daemons.py REPORT.md
"""
import re
import sys

SUFFIX = {'k': 1e3, 'M': 1e6}


def value(cell):
    m = re.match(r'\s*([0-9.]+)([kM]?)', cell)
    return float(m.group(1)) * SUFFIX.get(m.group(2), 1) if m else None


def main():
    rows, header = [], None
    for line in open(sys.argv[1]):
        if line.startswith('| workload | thr | unit |'):
            header = [c.strip() for c in line.strip().strip('|').split('|')]
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
    for r in rows:
        v, q, s = (value(r[k]) for k in need)
        rq = '%.2f' % (v / q) if v and q else 'n/a'
        rs = '%.2f' % (v / s) if v and s else 'n/a'
        print('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            r['workload'], r['thr'], r['unit'], r['vdaxd'].split(' [')[0],
            r['virtiofsd'].split(' [')[0], r['rust'].split(' [')[0], rq, rs))


if __name__ == '__main__':
    main()
