#!/usr/bin/env python3
"""A UDP relay that delays and drops packets, standing in for a poor mobile
link (the kernel here has no netem).

usage: udp_relay.py --listen PORT --to PORT [--delay-ms 80]
                    [--loss PERCENT] [--loss-after S] [--loss-for S]

Listens on 127.0.0.1:--listen (0 = any free port, printed as
"relaying on PORT") and forwards each client (by source address: every
SRT connection is its own client) to 127.0.0.1:--to from a socket of its
own. Every packet, both ways, is delayed --delay-ms; from --loss-after
seconds after start, for --loss-for seconds, --loss percent of them, both
ways, are dropped at random. Packets of one direction keep their order.
Runs until killed; prints the counts on SIGTERM.
"""
import argparse
import heapq
import random
import select
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, default=0)
    ap.add_argument("--to", type=int, required=True)
    ap.add_argument("--delay-ms", type=float, default=80.0)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--loss-after", type=float, default=0.0)
    ap.add_argument("--loss-for", type=float, default=1e9)
    a = ap.parse_args()

    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", a.listen))
    print("relaying on %d" % front.getsockname()[1], flush=True)
    server = ("127.0.0.1", a.to)
    delay = a.delay_ms / 1000.0
    start = time.monotonic()
    clients = {}        # client address -> its upstream socket
    by_sock = {}        # upstream socket -> client address
    queue = []          # (due, seq, socket, payload, destination)
    seq = 0
    counts = {"relayed": 0, "dropped": 0}

    def stop(*_):
        print("relayed %(relayed)d, dropped %(dropped)d" % counts, flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def lossy(now):
        t = now - start
        return a.loss > 0 and a.loss_after <= t < a.loss_after + a.loss_for

    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, sock, data, dest = heapq.heappop(queue)
            try:
                sock.sendto(data, dest)
            except OSError:
                pass
        timeout = max(0.0, queue[0][0] - now) if queue else 0.5
        ready, _, _ = select.select([front] + list(by_sock), [], [], timeout)
        now = time.monotonic()
        for sock in ready:
            try:
                data, addr = sock.recvfrom(65536)
            except OSError:
                continue
            if sock is front:
                up = clients.get(addr)
                if up is None:
                    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.bind(("127.0.0.1", 0))
                    clients[addr] = up
                    by_sock[up] = addr
                out, dest = up, server
            else:
                out, dest = front, by_sock[sock]
            if lossy(now) and random.random() * 100 < a.loss:
                counts["dropped"] += 1
                continue
            counts["relayed"] += 1
            seq += 1
            heapq.heappush(queue, (now + delay, seq, out, data, dest))


if __name__ == "__main__":
    main()
