#!/usr/bin/env python3
"""Host side of the network VM tests (test_virtio_net.sh, test_iavf.sh); runs inside the test's
network namespace.

  vnet_host.py recv ADDR PORT OUT   accept one connection, write "<md5> <bytes>" of all it sent to OUT
  vnet_host.py send ADDR PORT MIB   connect (retrying 20 s), send MIB MiB of random data, print md5
  vnet_host.py counter ADDR PORT    answer each connection with 1, 2, 3, ... (boot counter)
  vnet_host.py udp ADDR PORT FLOWS COUNT   COUNT datagrams from each of FLOWS source ports (RSS)
  vnet_host.py vlan IFACE VID ADDR SECONDS  answer ARP and ping for ADDR on VLAN VID of IFACE
                                    (raw frames: the host kernel needs no VLAN support)
  vnet_host.py flood IFACE MAC N ADDR PORT
                                    send N raw frames to MAC out of IFACE, then connect to
                                    ADDR:PORT (retrying 20 s) and close: "sent"
"""
import hashlib
import os
import socket
import struct
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


def udp(addr, port, flows, count):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
    for s in socks:
        s.bind(("", 0))  # a different ephemeral source port per flow
    for _ in range(count):
        for s in socks:
            s.sendto(b"x" * 64, (addr, port))
        time.sleep(0.01)
    print(" ".join(str(s.getsockname()[1]) for s in socks))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def vlan_frame(data, tci):
    """The tag of a received frame (from PACKET_AUXDATA or inline) and the untagged frame."""
    if data[12:14] == b"\x81\x00":
        return int.from_bytes(data[14:16], "big"), data[:12] + data[16:]
    return tci, data


def vlan_answer(frame, mac, ip):
    et = frame[12:14]
    if et == b"\x08\x06" and frame[20:22] == b"\x00\x01" and frame[38:42] == ip:
        arp = frame[14:20] + b"\x00\x02" + mac + ip + frame[22:28] + frame[28:32]
        return frame[6:12] + mac + et + arp
    if et == b"\x08\x00" and frame[23] == 1 and frame[30:34] == ip and frame[34] == 8:
        ihl = (frame[14] & 15) * 4
        icmp = bytearray(frame[14 + ihl:])
        icmp[0] = 0
        icmp[2:4] = b"\0\0"
        icmp[2:4] = struct.pack("!H", csum(bytes(icmp)))
        iph = frame[14:26] + frame[30:34] + frame[26:30] + frame[34:14 + ihl]
        return frame[6:12] + mac + et + iph + bytes(icmp)
    return None


def vlan(ifname, vid, addr, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((ifname, 0))
    s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA: the tag the kernel took off
    with open(f"/sys/class/net/{ifname}/address") as f:
        mac = bytes.fromhex(f.read().strip().replace(":", ""))
    ip = socket.inet_aton(addr)
    deadline = time.time() + seconds
    answered = 0
    while time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            data, anc, _, sa = s.recvmsg(65535, socket.CMSG_SPACE(32))
        except socket.timeout:
            break
        if sa[2] == 4:  # PACKET_OUTGOING: our own answers
            continue
        tci = None
        for level, kind, d in anc:
            if level == 263 and kind == 8 and len(d) >= 20:
                status, _, _, _, _, vtci, _ = struct.unpack("IIIHHHH", d[:20])
                if status & 0x10:  # TP_STATUS_VLAN_VALID
                    tci = vtci
        tci, frame = vlan_frame(data, tci)
        if tci is None or tci & 0xFFF != vid:
            continue
        out = vlan_answer(frame, mac, ip)
        if out:
            s.send(out[:12] + b"\x81\x00" + struct.pack("!H", vid) + out[12:])
            answered += 1
            print(f"answered {answered}", flush=True)


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
    elif cmd == "udp":
        udp(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "vlan":
        vlan(args[0], int(args[1]), args[2], float(args[3]))
    elif cmd == "flood":
        flood(args[0], args[1], int(args[2]), args[3], int(args[4]))
    else:
        sys.exit(__doc__)
