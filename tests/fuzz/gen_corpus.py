#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of tests/fuzz/corpus/<fuzzer>/ (run from anywhere).

The seeds are real-looking inputs in each harness's format (see the comment
at the top of each fuzz_*.c): a QEMU-like session, DMA table sequences, one
valid message of every command, testdev register programs.
"""
import json
import os
import struct

TOP = os.path.dirname(os.path.abspath(__file__))

VERSION, DMA_MAP, DMA_UNMAP, GET_INFO, GET_REGION_INFO, GET_IO_FDS, GET_IRQ_INFO, \
    SET_IRQS, REGION_READ, REGION_WRITE, DMA_READ, DMA_WRITE, RESET = range(1, 14)
WRITE_MULTI = 15
NO_REPLY = 0x10
CONFIG, INTX, MSIX, ERR, REQ = 7, 0, 2, 3, 4
QEMU_JSON = json.dumps({"capabilities": {
    "max_msg_fds": 16, "max_data_xfer_size": 1048576, "pgsizes": 4096,
    "max_dma_maps": 65535, "write_multiple": True,
    "migration": {"pgsize": 4096, "max_bitmap_size": 268435456}}},
    separators=(",", ":")).encode() + b"\0"


def msg(cmd, payload=b"", msg_id=0, flags=0):
    return struct.pack("<HHIII", msg_id, cmd, 16 + len(payload), flags, 0) + payload


def version():
    return struct.pack("<HH", 0, 0) + QEMU_JSON


def dma_map(addr, size, offset=0, prot=3):
    return struct.pack("<IIQQQ", 32, prot, offset, addr, size)


def dma_unmap(addr, size, flags=0):
    return struct.pack("<IIQQ", 24, flags, addr, size)


def region_info(index, argsz=32):
    return struct.pack("<IIIIQQ", argsz, 0, index, 0, 0, 0)


def irq_info(index):
    return struct.pack("<IIII", 16, 0, index, 0)


def set_irqs(flags, index, start, count, data=b""):
    return struct.pack("<IIIII", 20 + len(data), flags, index, start, count) + data


def access(region, offset, count, data=b""):
    return struct.pack("<QII", offset, region, count) + data


def w32(region, offset, value):
    return access(region, offset, 4, struct.pack("<I", value))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# --- fuzz_session: records (op, u16 len, bytes) ---------------------------
def rec(m, nfds=0, kind=0, fixup=True):
    op = (0x80 if fixup else 0) | (kind << 5) | nfds
    return bytes([op]) + struct.pack("<H", len(m)) + m


def ram(offset, data):
    return b"\xf0" + struct.pack("<HB", offset, len(data)) + data


EV_TRIGGER = 0x4 | 0x20
qemu = b"".join([
    rec(msg(VERSION, version(), 1)),
    rec(msg(DMA_MAP, dma_map(0, 0x10000), 2), nfds=1),
    rec(msg(DMA_MAP, dma_map(0x100000, 0x1000, prot=1), 3)),  # ROM, no fd
    rec(msg(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0), 4)),
    *[rec(msg(GET_REGION_INFO, region_info(i), 5 + i)) for i in (0, 1, 2, 3, 4, 5, 7)],
    rec(msg(GET_REGION_INFO, region_info(2, 256), 12)),
    rec(msg(GET_REGION_INFO, region_info(6), 13)),
    *[rec(msg(GET_IRQ_INFO, irq_info(i), 14 + i)) for i in (MSIX, ERR, REQ)],
    rec(msg(SET_IRQS, set_irqs(EV_TRIGGER, ERR, 0, 1), 20), nfds=1, kind=1),
    rec(msg(REGION_READ, access(CONFIG, 0, 4096), 21)),
    rec(msg(REGION_READ, access(CONFIG, 0x40, 4), 22)),
    rec(msg(REGION_WRITE, access(CONFIG, 4, 2, struct.pack("<H", 0x6)), 23)),
    rec(msg(SET_IRQS, set_irqs(EV_TRIGGER, MSIX, 0, 8), 24), nfds=8, kind=1),
    rec(msg(REGION_WRITE, access(CONFIG, 0x52, 2, struct.pack("<H", 0x8007)), 25)),
    ram(0, b"guest memory: DMA me" * 4),
    rec(msg(REGION_WRITE, w32(0, 0x40, 0), 26, NO_REPLY)),
    rec(msg(REGION_WRITE, w32(0, 0x48, 0x8000), 27, NO_REPLY)),
    rec(msg(REGION_WRITE, w32(0, 0x50, 0x1000), 28, NO_REPLY)),
    rec(msg(REGION_WRITE, w32(0, 0x5c, 3), 29, NO_REPLY)),
    rec(msg(REGION_WRITE, w32(0, 0x54, 3), 30)),
    rec(msg(REGION_READ, access(0, 0x58, 4), 31)),
    rec(msg(REGION_READ, access(1, 0x800, 8), 32)),
    rec(msg(WRITE_MULTI,
            struct.pack("<Q", 2) + struct.pack("<QII", 0x20, 0, 4) + b"abcd\0\0\0\0" +
            struct.pack("<QII", 0x2000, 2, 8) + b"12345678", 33, NO_REPLY)),
    rec(msg(REGION_READ, access(2, 0x2000, 0x1000), 34)),
    rec(msg(DMA_UNMAP, dma_unmap(0, 0x10000), 35)),
    rec(msg(RESET, b"", 36)),
    rec(msg(DMA_UNMAP, dma_unmap(0, 0, 2), 37)),
])
write(f"{TOP}/corpus/fuzz_session/qemu-like", qemu)

intx = b"".join([
    rec(msg(VERSION, version(), 1)),
    rec(msg(SET_IRQS, set_irqs(EV_TRIGGER, INTX, 0, 1), 2), nfds=1, kind=1),
    rec(msg(SET_IRQS, set_irqs(0x4 | 0x10, INTX, 0, 1), 3), nfds=1, kind=1),
    rec(msg(REGION_WRITE, w32(0, 0x08, 0), 4)),
    b"\xf3",
    rec(msg(REGION_WRITE, w32(0, 0x10, 1), 5)),
    rec(msg(SET_IRQS, set_irqs(0x2 | 0x10, INTX, 0, 1, b"\1"), 6)),
    rec(msg(SET_IRQS, set_irqs(0x1 | 0x20, INTX, 0, 0), 7)),
    rec(msg(SET_IRQS, set_irqs(0x1 | 0x8, MSIX, 2, 3), 8)),
    rec(msg(REGION_WRITE, w32(0, 0x08, 3), 9)),
    rec(msg(SET_IRQS, set_irqs(0x1 | 0x10, MSIX, 2, 3), 10)),
])
write(f"{TOP}/corpus/fuzz_session/intx-msix", intx)

# One message cut in three raw chunks; a second sent with more fds than allowed.
m = msg(VERSION, version(), 1)
frag = rec(m[:5], fixup=False) + rec(m[5:40], fixup=False) + rec(m[40:], fixup=False)
frag += rec(msg(DMA_MAP, dma_map(0x2000, 0x1000), 2), nfds=20)
frag += rec(msg(DMA_MAP, dma_map(0x2000, 0x1000), 3), nfds=2)
frag += rec(msg(DMA_MAP, dma_map(0x2000, 0x4000), 4), nfds=1, kind=3)
frag += rec(msg(DMA_MAP, dma_map(0x8000, 0x4000, 0x4000), 5), nfds=1, kind=2)
frag += rec(msg(REGION_READ, access(CONFIG, 0, 0x100), 6))[:30]
write(f"{TOP}/corpus/fuzz_session/fragments-fds", frag)

write(f"{TOP}/corpus/fuzz_session/eof-mid-message",
      rec(msg(VERSION, version(), 1)) + rec(msg(DMA_MAP, dma_map(0, 0x1000), 2)[:20],
                                            nfds=1, fixup=False) + b"\xf1")

# --- fuzz_dma: u8 max, then ops (op % 10) ----------------------------------
def a_small(page):           # dec_addr mode 0
    return bytes([(page << 2) & 0xff])


def s_pages(n):              # dec_size mode 0
    return bytes([((n - 1) << 2) & 0xff])


def add(page, pages, fsel, psel):
    return b"\x00" + a_small(page) + s_pages(pages) + bytes([fsel, psel])


dma_seq = b"".join([
    b"\x10",
    add(0, 2, 0x00, 3), add(2, 2, 0x21, 3), add(4, 1, 0x04, 1), add(8, 4, 0x12, 2),
    add(1, 1, 0, 3),                                        # overlap
    b"\x05" + a_small(0) + bytes([1]) + struct.pack("<H", 0x3000) + b"\x01",  # translate
    b"\x06" + a_small(0) + b"\x00" + struct.pack("<H", 0x5000),              # read across
    b"\x07" + a_small(1) + b"\x00" + struct.pack("<H", 0x2000) + b"\x42",    # write across
    b"\x08" + a_small(0) + b"\x00" + struct.pack("<H", 0x4800) + bytes([1 | (3 << 2)]),
    b"\x09" + a_small(3),
    b"\x03" + a_small(0) + s_pages(4),                      # remove two
    b"\x03" + a_small(8) + s_pages(1),                      # cut: EINVAL
    b"\x03" + bytes([2 | (0 << 2)]) + bytes([2]),           # to 2^64
    b"\x04",
])
write(f"{TOP}/corpus/fuzz_dma/maps", dma_seq)
write(f"{TOP}/corpus/fuzz_dma/top", b"\x03" + b"".join([
    b"\x00" + bytes([2 | (1 << 2)]) + s_pages(1) + b"\x00\x03",
    b"\x00" + bytes([3]) + struct.pack("<Q", 0xfffffffffffff000) + bytes([2]) + b"\x04\x03",
    b"\x06" + bytes([2 | (1 << 2)]) + b"\x01" + struct.pack("<Q", 0x2000),
    b"\x03" + bytes([0]) + bytes([2]),
]))

# --- fuzz_validate: u8 setup, u16 xfer, header, payload ----------------------
def vseed(name, m, negotiated=True, nfds=0):
    setup = (1 if negotiated else 0) | (nfds << 3)
    write(f"{TOP}/corpus/fuzz_validate/{name}", bytes([setup]) + b"\x01\x00" + m)


vseed("version", msg(VERSION, version()), negotiated=False)
vseed("dma-map", msg(DMA_MAP, dma_map(0x100000, 0x200000, 0x1000)), nfds=1)
vseed("dma-unmap", msg(DMA_UNMAP, dma_unmap(0x100000, 0x200000)))
vseed("dma-unmap-top", msg(DMA_UNMAP, dma_unmap(0xfffffffffffff000, 0x1000)))
vseed("get-info", msg(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0)))
vseed("region-info", msg(GET_REGION_INFO, region_info(2, 256)))
vseed("io-fds", msg(GET_IO_FDS, struct.pack("<IIII", 16, 0, 0, 0)))
vseed("irq-info", msg(GET_IRQ_INFO, irq_info(MSIX)))
vseed("set-irqs-ev", msg(SET_IRQS, set_irqs(EV_TRIGGER, MSIX, 0, 8)), nfds=8)
vseed("set-irqs-bool", msg(SET_IRQS, set_irqs(0x2 | 0x8, MSIX, 6, 2, b"\1\0")))
vseed("set-irqs-off", msg(SET_IRQS, set_irqs(0x1 | 0x20, INTX, 0, 0)))
vseed("read-config", msg(REGION_READ, access(CONFIG, 0, 4096)))
vseed("write-bar0", msg(REGION_WRITE, w32(0, 0x20, 0x12345678), flags=NO_REPLY))
vseed("write-multi", msg(WRITE_MULTI, struct.pack("<Q", 1) + struct.pack("<QII", 0xffc, 0, 4) +
                         b"abcd\0\0\0\0", flags=NO_REPLY))
vseed("reset", msg(RESET))

# --- fuzz_testdev: maps, eventfds, guest memory, ops -----------------------
def t_map(page, pages, fpage, flags):
    return bytes([page, pages - 1, fpage, flags])


def t_w(region, off, data):      # op 2: write of 1, 2, 4 or 8 bytes, small offset mode
    return b"\x02" + bytes([region, {1: 0, 2: 1, 4: 2, 8: 3}[len(data)]]) + \
        struct.pack("<H", off) + data


def t_r(region, off, n=4):
    return b"\x00" + bytes([region, {1: 0, 2: 1, 4: 2, 8: 3}[n]]) + struct.pack("<H", off)


prog = b"".join([
    b"\x03", t_map(0, 4, 0, 3), t_map(4, 4, 4, 3), t_map(16, 2, 8, 1),
    b"\xff",                                       # eventfds: all MSI-X, INTx
    b"\x04", bytes(range(256)),                    # 4 blocks of guest memory
    t_w(7, 4, struct.pack("<H", 0x6)),             # memory + bus master
    t_w(0, 0x40, struct.pack("<I", 0x100)), t_w(0, 0x48, struct.pack("<I", 0x5000)),
    t_w(0, 0x50, struct.pack("<I", 0x2000)), t_w(0, 0x5c, struct.pack("<I", 1)),
    t_w(0, 0x54, struct.pack("<I", 3)), t_r(0, 0x58),
    t_w(0, 0x48, struct.pack("<I", 0x10000)), t_w(0, 0x54, struct.pack("<I", 1)),
    t_w(7, 0x52, struct.pack("<H", 0x8000)),       # MSI-X on
    t_w(0, 0x08, struct.pack("<I", 5)), t_r(1, 0x800, 8),
    b"\x07\x05", t_w(0, 0x08, struct.pack("<I", 5)), b"\x07\x15",
    t_w(1, 0x10, struct.pack("<Q", 0xfee00000)), t_r(1, 0x10, 8),
    t_w(0, 0x18, struct.pack("<I", 0x2ffe)), t_w(0, 0x1c, struct.pack("<I", 7)),
    t_r(2, 0x2000), t_w(2, 0x3ffc, b"zzzz"),
    t_w(0, 0x20, struct.pack("<I", 0xdeadbeef)), t_w(0, 0x04, struct.pack("<I", 1)),
    t_w(7, 0x10, struct.pack("<I", 0xffffffff)), t_r(7, 0x10),
    t_w(7, 0x68, struct.pack("<H", 0x8000)),       # FLR
    b"\x06\x00", b"\x05",
])
write(f"{TOP}/corpus/fuzz_testdev/program", prog)
write(f"{TOP}/corpus/fuzz_testdev/intx", b"\x00\x80\x00" + b"".join([
    t_w(7, 4, struct.pack("<H", 0x4)), t_w(0, 0x08, struct.pack("<I", 0)), t_r(7, 6, 2),
    b"\x07\x30", t_w(7, 4, struct.pack("<H", 0x404)), t_w(0, 0x10, struct.pack("<I", 1)),
    b"\x07\x20", t_w(7, 4, struct.pack("<H", 0x4)),
]))

# --- fuzz_iavf: registers, guest memory, virtchnl messages, polls ---------
GPA_IAVF = 0x100000


def i_w(reg, val):                 # op 0: register write
    return b"\x00" + struct.pack("<HI", reg // 4, val)


def i_r(reg):                      # op 1: register read
    return b"\x01" + struct.pack("<H", reg // 4)


def i_poke(off, data):             # op 3: guest memory
    return b"\x03" + struct.pack("<HB", off, len(data)) + data


def i_msg(op, payload=b""):        # op 4: a virtchnl message at the ATQ head
    return b"\x04" + struct.pack("<IH", op, len(payload)) + payload


def arq_desc(i):                   # a posted ARQ buffer at RAM + 0x10000 + i * 4 KiB
    return struct.pack("<HHHHIIIIII", 0x1200, 0, 4096, 0, 0, 0, 0, 0, 0,
                       GPA_IAVF + 0x10000 + i * 4096)


def qpair(q, tx, rx):
    txq = struct.pack("<HHHHQQ", 1, q, 64, 0, GPA_IAVF + tx, 0)
    rxq = struct.pack("<HHIHHIIBBBBQiI", 1, q, 64, 0, 0, 2048, 1534, 0, 0, 0, 0,
                      GPA_IAVF + rx, 0, 0)
    return txq + rxq


ARQ_SETUP = b"".join([i_poke(0x1000 + 32 * i, arq_desc(i)) for i in range(8)] + [
    i_w(0x7400, 0), i_w(0x7000, 0), i_w(0x8000, 8 | 1 << 31),
    i_w(0x6C00, GPA_IAVF + 0x1000), i_w(0x6000, 0), i_w(0x7000, 7),
    i_w(0x5C00, 0x19), i_w(0x5000, 1 << 30)])
BRING_UP = b"".join([
    ARQ_SETUP,
    i_msg(1, struct.pack("<II", 1, 1)),
    i_msg(3, struct.pack("<I", 0x1 | 0x10000 | 0x80000 | 0x80)),
    i_msg(6, struct.pack("<HHI", 1, 1, 0) + qpair(0, 0x4000, 0x6000) + bytes(64)),
    i_msg(7, struct.pack("<H", 2) + struct.pack("<HHHHHH", 1, 1, 1, 1, 0, 1) +
          struct.pack("<HHHHHH", 1, 0, 0, 0, 0, 0) + bytes(12)),
    i_msg(8, struct.pack("<HHII", 1, 0, 1, 1)),
    i_w(0x3800, 0x19),
])
FRAME = (b"\x02\x00\x00\x00\x00\x02\x52\x54\x00\x00\x00\x01\x08\x00" +
         bytes([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]) +
         struct.pack(">HHHH", 1234, 80, 26, 0) + bytes(range(18)))
TRAFFIC = b"".join([
    i_poke(0x6000 + 32 * i, struct.pack("<QQQQ", GPA_IAVF + 0xa000 + 2048 * i, 0, 0, 0))
    for i in range(4)] + [
    i_w(0x2000, 4),
    i_poke(0x9000, FRAME),
    i_poke(0x4000, struct.pack("<QQ", GPA_IAVF + 0x9000,
                               0x3 << 4 | 0x300 << 4 | 0x40 << 4 | (7 | 5 << 7) << 16 |
                               len(FRAME) << 34)),
    i_w(0x0000, 1), b"\x02", b"\x02", i_r(0x7400), i_r(0x4800),
])
write(f"{TOP}/corpus/fuzz_iavf/bring-up", b"\x00" + BRING_UP + b"\x02" + i_r(0x8800))
write(f"{TOP}/corpus/fuzz_iavf/traffic", b"\x00" + BRING_UP + TRAFFIC)
write(f"{TOP}/corpus/fuzz_iavf/rss-vlan", b"\x00" + BRING_UP + b"".join([
    i_msg(23, struct.pack("<HH", 1, 52) + bytes(range(52))),
    i_msg(24, struct.pack("<HH", 1, 64) + bytes(64)),
    i_msg(12, struct.pack("<HHHH", 1, 1, 100, 0)),
    i_msg(27), i_msg(14, struct.pack("<HH", 1, 3)), i_msg(15, struct.pack("<HHII", 1, 0, 0, 0)),
    TRAFFIC, i_msg(9, struct.pack("<HHII", 1, 0, 1, 1)), i_msg(2), b"\x05", b"\x06", b"\x07",
]))
