#!/usr/bin/env python3
"""Which recorded segments does the server have, and how?

usage: ts_coverage.py REC_DIR SERVER_DIR [--device car42] [--prefer-live]

For every segment in REC_DIR (a looprecsink directory) prints one line:
  NAME backlog     the server has a byte-identical copy uploaded as NAME
  NAME live        its bytes (after the leading PAT/PMT) are inside a live
                   recording the server made
  NAME partial     the server has only part of it
  NAME missing     the server does not have it
and exits 1 if any segment is partial or missing. A backlog copy that
differs from the segment, or a second copy (NAME.1.ts), is reported as
"duplicate" or "corrupt" and also fails. With --prefer-live, a segment
that is inside a live recording is "live" even when it was also uploaded
(a backlog upload after a congestion gap that live had not lost after
all).
"""
import os
import sys

PSI = 2 * 188


def main():
    rec, server = sys.argv[1], sys.argv[2]
    device = "car42"
    if "--device" in sys.argv:
        device = sys.argv[sys.argv.index("--device") + 1]
    sdir = os.path.join(server, device)
    files = sorted(os.listdir(sdir)) if os.path.isdir(sdir) else []
    lives = [open(os.path.join(sdir, f), "rb").read() for f in files
             if "T" not in f.split(".")[0]]  # live: YYYYmmdd-HHMMSS.ts
    bad = 0
    for name in sorted(os.listdir(rec)):
        if not name.endswith(".ts"):
            continue
        data = open(os.path.join(rec, name), "rb").read()
        stem = name[:-3]
        copies = [f for f in files if f == name or
                  (f.startswith(stem + ".") and f.endswith(".ts"))]
        identical = [c for c in copies
                     if open(os.path.join(sdir, c), "rb").read() == data]
        state = None
        body = data[PSI:] if len(data) > PSI else data
        if "--prefer-live" in sys.argv and any(body in live for live in lives):
            state = "live"
        elif len(identical) > 1:
            state = "duplicate"
        elif identical:
            state = "backlog"
        if state is None:
            body = data[PSI:] if len(data) > PSI else data
            if any(body in live for live in lives):
                state = "live"
            elif copies:
                state = "corrupt"
            elif any(body[:188 * 50] in live for live in lives):
                state = "partial"
            else:
                state = "missing"
        if state not in ("backlog", "live"):
            bad += 1
        print(name, state)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
