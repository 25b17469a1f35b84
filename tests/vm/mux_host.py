#!/usr/bin/env python3
"""Host side of tests/vm/test_mux.sh (runs inside the test's network namespace).

  mux_host.py barrier ADDR PORT N IFNAME MACS...
      A barrier for N guests: each connects and sends a phase name; when N have sent the same
      phase, each gets "go". After the "count" phase it sends the probe frames on IFNAME: to
      the i-th MAC i+1... frames (EtherType 0x88b5), one to an address nobody owns, two
      broadcasts, then the end marker (EtherType 0x88b6). Ends after the "done" phase.
"""
import socket
import sys
import time

from vnet_host import listen

NOBODY = bytes.fromhex("525400ffffee")
BCAST = b"\xff" * 6


def mac(s):
    return bytes.fromhex(s.replace(":", ""))


def send_probes(ifname, macs):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    src = s.getsockname()[4][:6]

    def frame(dst, etype, tag):
        return dst + src + etype + bytes([tag]) * 46

    time.sleep(1)  # every guest is counting once it joined the barrier
    for i, m in enumerate(macs):
        for _ in range(i + 3):
            s.send(frame(mac(m), b"\x88\xb5", i))
    s.send(frame(NOBODY, b"\x88\xb5", 9))
    for _ in range(2):
        s.send(frame(BCAST, b"\x88\xb5", 8))
    time.sleep(0.5)
    s.send(frame(BCAST, b"\x88\xb6", 7))
    s.close()


def barrier(addr, port, n, ifname, macs):
    ls = listen(addr, port)
    waiting = {}
    while True:
        c, _ = ls.accept()
        phase = c.recv(64).decode(errors="replace").strip()
        print(f"barrier: {phase}", flush=True)
        waiting.setdefault(phase, []).append(c)
        if len(waiting[phase]) < n:
            continue
        for c in waiting.pop(phase):
            c.sendall(b"go\n")
            c.close()
        if phase == "count":
            send_probes(ifname, macs)
        if phase == "done":
            return


if __name__ == "__main__":
    barrier(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6:])
