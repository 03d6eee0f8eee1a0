#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Count every check of one or more meson test logs and print the closing line.

Each TAP line ("ok N", "not ok N", "... # SKIP") is one check. A known
failure ("not ok ... # TODO") is not a pass: it counts as skipped; a TODO
that passes counts as failed, so its entry gets removed. A test that
printed no TAP counts as one check by its meson result. A test whose checks
all passed but which exited non-zero (a crash, a plan mismatch) adds one
failure, so a dying test can never look green.

Usage: summarize.py LABEL=build/meson-logs/testlog.json [...]
"""
import json
import re
import sys

TAP = re.compile(r'^(not )?ok\b[^#]*(#\s*(SKIP|TODO)\b.*)?', re.I)


def explain(t):
    """Under a FAILED line: the checks that failed, each with the comment
    lines that follow it, and the tail of the test's stderr, so that a CI
    log names what broke without the build directory."""
    out = (t.get("stdout") or "").splitlines()
    shown = 0
    for i, line in enumerate(out):
        m = TAP.match(line)
        if not m or not m.group(1) or (m.group(3) or "").upper() == "TODO":
            continue
        print(f"    {line}")
        for extra in out[i + 1:i + 6]:
            if not extra.startswith("#"):
                break
            print(f"    {extra}")
        shown += 1
        if shown == 5:
            break
    for line in (t.get("stderr") or "").splitlines()[-15:]:
        print(f"    stderr: {line}")
    if t.get("returncode") not in (None, 0):
        print(f"    exit status {t['returncode']}")


def count(path, label):
    p = f = s = 0
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        print(f"{label}: no test log ({e.strerror})")
        return 0, 1, 0
    for line in lines:
        t = json.loads(line)
        res = t.get("result", "")
        tp = tf = ts = 0
        for out in (t.get("stdout") or "").splitlines():
            m = TAP.match(out)
            if not m:
                continue
            directive = (m.group(3) or "").upper()
            if directive == "SKIP":
                ts += 1
            elif directive == "TODO":
                if m.group(1):
                    ts += 1
                else:
                    tf += 1
            elif m.group(1):
                tf += 1
            else:
                tp += 1
        if tp + tf + ts == 0:
            if res in ("OK", "EXPECTEDFAIL"):
                tp = 1
            elif res == "SKIP":
                ts = 1
            else:
                tf = 1
        elif res not in ("OK", "SKIP", "EXPECTEDFAIL") and tf == 0:
            tf = 1
        if tf:
            print(f"FAILED [{label}] {t['name']}: {res}")
            explain(t)
        elif res == "SKIP" or (ts and not tp):
            why = ""
            m = re.search(r'1\.\.0\s*#\s*SKIP\s*(.*)', t.get("stdout") or "")
            if m:
                why = m.group(1)
            print(f"skipped [{label}] {t['name']}: {why}")
        p, f, s = p + tp, f + tf, s + ts
    return p, f, s


def main():
    P = F = S = 0
    for arg in sys.argv[1:]:
        label, _, path = arg.partition("=")
        p, f, s = count(path, label)
        print(f"{label}: {p} passed, {f} failed, {s} skipped")
        P, F, S = P + p, F + f, S + s
    line = f"{P} passed, {F} failed"
    if S:
        line += f", {S} skipped"
    print(line)
    return 1 if F else 0


if __name__ == "__main__":
    sys.exit(main())
