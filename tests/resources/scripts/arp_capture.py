"""Print ARP frames seen on an interface as hex, one per line (run inside a netns).

Usage: python arp_capture.py IFACE COUNT SECONDS — prints "ready" once listening, then
up to COUNT frames received within SECONDS.
"""

from __future__ import annotations

import select
import socket
import sys
import time

ETH_P_ARP = 0x0806


def main() -> None:
    iface, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    sock.bind((iface, 0))
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    seen = 0
    while seen < count and (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], left)
        if readable:
            print(sock.recv(2048).hex(), flush=True)
            seen += 1


if __name__ == "__main__":
    main()
