#!/usr/bin/env python3
"""Writes tests/data/drive.nmea, the drive gpsfake replays in the tests and
the demo: 72 s of a car in Berlin at 5 fixes a second (RMC + GGA per fix):
4 s without a fix while the receiver starts (which also gives a client that
connects after gpsfake started the time to see the first fix), then pulling
away, turning, a tunnel without a fix from 36 s to 42 s, and a hard brake
(14 m/s to 4 m/s in 1.6 s) at 60 s: 62 s of moving fixes. Deterministic:
running it again gives the same bytes.

    scripts/make-drive-nmea.py [OUT]   (default tests/data/drive.nmea)
"""
import math
import os
import sys

RATE = 5                      # fixes a second
DURATION = 72                 # seconds
START = (2026, 5, 14, 8, 30, 0)  # UTC of the first fix
LAT0, LON0, ALT0 = 52.5163, 13.3777, 34.0
ACQUIRE = 4.0                 # no fix before, receiver starting
NO_FIX = (36.0, 42.0)         # tunnel: no fix in [36 s, 42 s)
EARTH = 6371008.8             # mean radius, metres


def speed_at(t):
    """Metres a second: pull away, cruise, slow for a turn, hard brake."""
    t = max(0.0, t - ACQUIRE) + 2.0
    if t < 10:
        return 1.4 * t
    if t < 30:
        return 14.0
    if t < 34:
        return 14.0 - 2.0 * (t - 30)
    if t < 38:
        return 6.0 + 2.0 * (t - 34)
    if t < 58:
        return 14.0
    if t < 59.6:
        return 14.0 - 6.25 * (t - 58)
    if t < 64:
        return 4.0
    return 4.0 + 1.0 * (t - 64)


def heading_at(t):
    """Degrees true: east, a 90 degree left turn at 32 s, a gentle curve."""
    if t < 31:
        return 90.0
    if t < 35:
        return 90.0 - 22.5 * (t - 31)
    if t < 50:
        return 0.0
    return 0.0 + 1.5 * (t - 50)


def nmea(body):
    cs = 0
    for c in body.encode():
        cs ^= c
    return "$%s*%02X\r\n" % (body, cs)


def dm(value, hemis, width):
    h = hemis[0] if value >= 0 else hemis[1]
    value = abs(value)
    deg = int(value)
    minutes = (value - deg) * 60.0
    return "%0*d%09.6f,%s" % (width, deg, minutes, h)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "data", "drive.nmea")
    lat, lon = LAT0, LON0
    y, mo, d, hh, mi, ss = START
    lines = []
    n = DURATION * RATE
    for i in range(n):
        t = i / RATE
        v = speed_at(t)
        hdg = heading_at(t)
        if i:
            # move along the previous heading for one fix interval
            dist = speed_at(t - 1.0 / RATE) / RATE
            h = math.radians(heading_at(t - 1.0 / RATE))
            lat += math.degrees(dist * math.cos(h) / EARTH)
            lon += math.degrees(dist * math.sin(h) /
                                (EARTH * math.cos(math.radians(lat))))
        alt = ALT0 + 3.0 * math.sin(t / 20.0)
        csec = (ss * 100 + i * 100 // RATE)
        sec = csec // 100
        stamp = "%02d%02d%02d.%02d" % (hh + (mi + sec // 60) // 60,
                                       (mi + sec // 60) % 60, sec % 60,
                                       csec % 100)
        date = "%02d%02d%02d" % (d, mo, y % 100)
        fix = t >= ACQUIRE and not (NO_FIX[0] <= t < NO_FIX[1])
        if fix:
            knots = v * 3600.0 / 1852.0
            lines.append(nmea("GPRMC,%s,A,%s,%s,%.3f,%.2f,%s,,,A" % (
                stamp, dm(lat, "NS", 2), dm(lon, "EW", 3), knots, hdg,
                date)))
            lines.append(nmea("GPGGA,%s,%s,%s,1,09,0.9,%.1f,M,39.5,M,,"
                              % (stamp, dm(lat, "NS", 2), dm(lon, "EW", 3),
                                 alt)))
        else:
            lines.append(nmea("GPRMC,%s,V,,,,,,,%s,,,N" % (stamp, date)))
            lines.append(nmea("GPGGA,%s,,,,,0,00,99.9,,,,,," % stamp))
    with open(out, "w", newline="") as f:
        f.write("# drive.nmea: made by scripts/make-drive-nmea.py for "
                "gst-dashcam; %d s at %d fixes/s,\n# no fix before %g s "
                "and from %g s to %g s, hard brake at 60 s.\n"
                % (DURATION, RATE, ACQUIRE, NO_FIX[0], NO_FIX[1]))
        f.writelines(lines)


if __name__ == "__main__":
    main()
