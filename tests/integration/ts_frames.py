#!/usr/bin/env python3
"""Which recorded video frames does the server have, byte for byte?

usage: ts_frames.py REC_DIR SERVER_DIR [--device car42]

Lists every video frame (access unit) of the recording (the .ts segments
in REC_DIR) and of every file the server wrote for the device (live
sessions and backlog uploads) with ffprobe, as (PTS, MD5 of the frame's
bytes), and prints how many recorded frames the server has nowhere, with
their PTS ranges in seconds. A frame whose TS packets arrived only in part
has other bytes, so it counts as missing. Exits 1 if any is missing.
"""
import json
import os
import subprocess
import sys


def frames(path):
    out = subprocess.run(
        ["ffprobe", "-v", "quiet", "-select_streams", "v:0",
         "-show_data_hash", "MD5", "-show_entries", "packet=pts,data_hash",
         "-of", "json", path],
        stdout=subprocess.PIPE, check=False).stdout.decode()
    result = set()
    try:
        packets = json.loads(out).get("packets", [])
    except ValueError:
        packets = []
    for p in packets:
        if "pts" in p and "data_hash" in p:
            result.add((int(p["pts"]), p["data_hash"]))
    return result


def ranges(pts_list):
    out, start, prev = [], None, None
    for p in sorted(pts_list):
        if start is None:
            start = prev = p
        elif p - prev > 3003 * 2:  # more than ~2 frames apart at 30 fps
            out.append((start, prev))
            start = prev = p
        else:
            prev = p
    if start is not None:
        out.append((start, prev))
    return ", ".join("%.2f-%.2f" % (a / 90000.0, b / 90000.0) for a, b in out)


def main():
    rec, server = sys.argv[1], sys.argv[2]
    device = "car42"
    if "--device" in sys.argv:
        device = sys.argv[sys.argv.index("--device") + 1]
    recorded = set()
    for name in sorted(os.listdir(rec)):
        if name.endswith(".ts"):
            recorded |= frames(os.path.join(rec, name))
    have = set()
    sdir = os.path.join(server, device)
    if os.path.isdir(sdir):
        for name in sorted(os.listdir(sdir)):
            if name.endswith(".ts"):
                have |= frames(os.path.join(sdir, name))
    missing = recorded - have
    print("%d of %d recorded frames missing on the server%s" % (
        len(missing), len(recorded),
        (" (PTS s: %s)" % ranges([p for p, _ in missing])) if missing else ""))
    return 1 if missing or not recorded else 0


if __name__ == "__main__":
    sys.exit(main())
