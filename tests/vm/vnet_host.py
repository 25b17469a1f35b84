#!/usr/bin/env python3
"""Host side of tests/vm/test_virtio_net.sh (runs inside the test's network namespace).

  vnet_host.py recv ADDR PORT OUT   accept one connection, write "<md5> <bytes>" of all it sent to OUT
  vnet_host.py send ADDR PORT MIB   connect (retrying 20 s), send MIB MiB of random data, print md5
  vnet_host.py counter ADDR PORT    answer each connection with 1, 2, 3, ... (boot counter)
  vnet_host.py flood IFACE MAC N ADDR PORT
                                    send N raw frames to MAC out of IFACE, then connect to
                                    ADDR:PORT (retrying 20 s) and close: "sent"
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


def connect(addr, port):
    deadline = time.time() + 20
    while True:
        try:
            return socket.create_connection((addr, port), timeout=5)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def send(addr, port, mib):
    c = connect(addr, port)
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


def flood(iface, mac, n, addr, port):
    """Frames of the IEEE local experimental EtherType: no guest stack answers them."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
    frame = bytes.fromhex(mac.replace(":", "")) + src + b"\x88\xb5" + bytes(46)
    for _ in range(n):
        s.send(frame)
    s.close()
    connect(addr, port).close()
    print(f"sent {n} frames to {mac}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "recv":
        recv(args[0], int(args[1]), args[2])
    elif cmd == "send":
        send(args[0], int(args[1]), int(args[2]))
    elif cmd == "counter":
        counter(args[0], int(args[1]))
    elif cmd == "flood":
        flood(args[0], args[1], int(args[2]), args[3], int(args[4]))
    else:
        sys.exit(__doc__)
