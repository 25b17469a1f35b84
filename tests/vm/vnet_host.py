#!/usr/bin/env python3
"""Host side of the network VM tests (test_virtio_net.sh, test_iavf.sh); runs inside the test's
network namespace.

  vnet_host.py recv ADDR PORT OUT   accept one connection, write "<md5> <bytes>" of all it sent to OUT
  vnet_host.py send ADDR PORT MIB   connect (retrying 20 s), send MIB MiB of random data, print md5
  vnet_host.py counter ADDR PORT    answer each connection with 1, 2, 3, ... (boot counter)
  vnet_host.py udp ADDR PORT FLOWS COUNT   COUNT datagrams from each of FLOWS source ports (RSS)
"""
import hashlib
import os
import socket
import sys
import time


def listen(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for _ in range(100):  # the address appears when the tap is configured
        try:
            s.bind((addr, port))
            break
        except OSError:
            time.sleep(0.1)
    s.listen(4)
    return s


def recv(addr, port, out):
    s = listen(addr, port)
    c, _ = s.accept()
    h, n = hashlib.md5(), 0
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.close()
    with open(out + ".tmp", "w") as f:
        f.write(f"{h.hexdigest()} {n}\n")
    os.rename(out + ".tmp", out)


def send(addr, port, mib):
    deadline = time.time() + 20
    while True:
        try:
            c = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    c.settimeout(None)
    h = hashlib.md5()
    chunk = 1 << 20
    for _ in range(mib):
        b = os.urandom(chunk)
        h.update(b)
        c.sendall(b)
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    c.close()
    print(f"{h.hexdigest()} {mib * chunk}")


def counter(addr, port):
    s = listen(addr, port)
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        c.sendall(f"{n}\n".encode())
        c.close()


def udp(addr, port, flows, count):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
    for s in socks:
        s.bind(("", 0))  # a different ephemeral source port per flow
    for _ in range(count):
        for s in socks:
            s.sendto(b"x" * 64, (addr, port))
        time.sleep(0.01)
    print(" ".join(str(s.getsockname()[1]) for s in socks))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "recv":
        recv(args[0], int(args[1]), args[2])
    elif cmd == "send":
        send(args[0], int(args[1]), int(args[2]))
    elif cmd == "counter":
        counter(args[0], int(args[1]))
    elif cmd == "udp":
        udp(args[0], int(args[1]), int(args[2]), int(args[3]))
    else:
        sys.exit(__doc__)
