#!/usr/bin/env python3
"""Checks of tests/vm/test_trace.sh on a decoded trace (iomed-trace --json) of a Linux guest's
virtio_net driver binding iomed's virtio-net, pinging, unbinding and binding again.

  trace_check.py TRACE.json     prints one line per check: "PASS name" or "FAIL name detail"

The order asserted is the one the virtio 1.x spec (3.1.1) and the PCI bring-up impose, not
Linux's implementation details: IDs read from config space before any BAR access, the status
handshake 0 -> ACKNOWLEDGE -> DRIVER -> FEATURES_OK (read back) -> DRIVER_OK, queues enabled
and MSI-X set up before DRIVER_OK, kicks and interrupts after it.
"""
import json
import sys

VENDOR, DEVICE = 0x1AF4, 0x1041
STATUS = 0x14  # device_status in the common configuration (BAR0 offset 0)
NOTIFY = 0x3000  # the notify area in BAR0
HANDSHAKE = [0x0, 0x1, 0x3, 0xB, 0xF]

results = []


def check(name, ok, detail=""):
    results.append(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok else ' ' + detail}")


def is_bar(r):
    return r["type"] in ("read", "write") and r["region"].startswith("bar")


def first(recs, pred, start=0):
    for i in range(start, len(recs)):
        if pred(recs[i]):
            return i
    return None


def subsequence(values, want):
    """Index in values where want ends as a subsequence, or None."""
    k = 0
    for i, v in enumerate(values):
        if v == want[k]:
            k += 1
            if k == len(want):
                return i
    return None


def config_read(r, off, value):
    """A config read that returned @value (16 bits) at @off, as a 2-byte read or inside a longer one."""
    if r["type"] != "read" or r["region"] != "config" or "data" not in r:
        return False
    data = bytes.fromhex(r["data"].rstrip("."))
    lo = off - r["offset"]
    return 0 <= lo and lo + 2 <= len(data) and int.from_bytes(data[lo:lo + 2], "little") == value


def main(path):
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    head, recs = lines[0], lines[1:]
    check("header", head.get("type") == "header" and head.get("device") == "vn0"
          and head.get("model") == "virtio-net", json.dumps(head))
    check("connect-first", bool(recs) and recs[0]["type"] == "connect",
          recs[0]["type"] if recs else "no records")

    first_bar = first(recs, is_bar)
    if first_bar is None:
        check("bar-access", False, "no BAR access in the trace")
        return
    first_access = first(recs, lambda r: r["type"] in ("read", "write"))
    a = recs[first_access]
    check("first-access-is-config-read", a["type"] == "read" and a["region"] == "config"
          and a["offset"] == 0 and config_read(a, 0, VENDOR), json.dumps(a))
    before = recs[first_access:first_bar]
    check("vendor-id-before-bars", any(config_read(r, 0, VENDOR) for r in before),
          f"no config read of vendor {VENDOR:#x} before the first BAR access")
    check("device-id-before-bars", any(config_read(r, 2, DEVICE) for r in before),
          f"no config read of device {DEVICE:#x} before the first BAR access")
    check("dma-mapped-before-bars",
          any(r["type"] == "dma_map" and r["fd"] == "yes" for r in recs[:first_bar]),
          "no DMA_MAP of guest memory before the driver started")

    # the status handshake, as the driver wrote it (index into recs of each write)
    writes = [(i, r["value"]) for i, r in enumerate(recs) if r["type"] == "write"
              and r["region"] == "bar0" and r["offset"] == STATUS and r["count"] == 1]
    end = subsequence([v for _, v in writes], HANDSHAKE)
    check("status-handshake", end is not None,
          f"status writes {[hex(v) for _, v in writes]}, want {[hex(v) for v in HANDSHAKE]} in order")
    if end is None:
        return
    ok_idx = writes[end][0]
    fo_idx = max(i for i, v in writes[:end] if v == 0xB)
    check("features-ok-read-back", any(r["type"] == "read" and r["region"] == "bar0"
                                       and r["offset"] == STATUS and r.get("value") == 0xB
                                       for r in recs[fo_idx:ok_idx]),
          "the driver did not read FEATURES_OK back before DRIVER_OK")
    # what the device accepted, reported by the model itself (a device event follows each write)
    events = [r["status"] for r in recs if r["type"] == "event" and r["kind"] == "virtio-status"]
    check("status-events", subsequence(events, HANDSHAKE) is not None,
          f"device status events {[hex(v) for v in events]}")
    enabled = {r["queue"] for r in recs[:ok_idx] if r["type"] == "event"
               and r["kind"] == "virtio-queue" and r["enabled"] == 1 and r["desc"] and r["used"]}
    check("queues-enabled-before-driver-ok", {0, 1} <= enabled,
          f"queues enabled before DRIVER_OK: {sorted(enabled)}")
    check("msix-before-driver-ok", any(r["type"] == "set_irqs" and r["index"] == "msix"
                                       and r["nfds"] > 0 for r in recs[:ok_idx]),
          "no MSI-X eventfds assigned before DRIVER_OK")
    after = recs[ok_idx:]
    kicks = sum(1 for r in after if r["type"] == "write" and r["region"] == "bar0"
                and r["offset"] >= NOTIFY)
    irqs = sum(1 for r in after if r["type"] == "irq" and r["index"] == "msix"
               and r["outcome"] == "delivered")
    check("kicks", kicks >= 15, f"{kicks} queue notifications after DRIVER_OK")
    check("interrupts", irqs >= 15, f"{irqs} MSI-X interrupts delivered after DRIVER_OK")
    # unbind resets the device (status 0), bind runs the handshake again
    again = subsequence([v for _, v in writes[end + 1:]], HANDSHAKE)
    check("rebind-handshake", again is not None,
          f"status writes after the first DRIVER_OK: {[hex(v) for _, v in writes[end + 1:]]}")

    tail = [r["type"] for r in recs[-3:]]
    check("ends-clean", tail == ["disconnect", "reset", "end"] and recs[-1]["lost"] == 0
          and recs[-2]["cause"] == "client-gone" and recs[-1]["records"] == len(recs) - 1,
          f"last records {json.dumps(recs[-3:])}")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except (OSError, ValueError, KeyError, IndexError) as e:
        results.append(f"FAIL check-script {type(e).__name__}: {e}")
    print("\n".join(results))
