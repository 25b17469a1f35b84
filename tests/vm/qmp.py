#!/usr/bin/env python3
"""A one-shot QMP client for the VM tests (QEMU started with -qmp unix:SOCKET,server=on,wait=off).

  qmp.py SOCKET COMMAND [ARGS-JSON] [--event NAME] [--device ID] [--timeout SEC]

Connects, negotiates capabilities, runs COMMAND with ARGS and prints its "return" as JSON (exit 0),
or prints the QMP error (exit 1). With --event it then waits on the same connection for event NAME
(whose data.device is ID when --device is given) and exits 2 if none came within the timeout.
"""
import json
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    opts = {"--event": None, "--device": None, "--timeout": "30"}
    pos = []
    while args:
        a = args.pop(0)
        if a in opts:
            opts[a] = args.pop(0)
        else:
            pos.append(a)
    if len(pos) not in (2, 3):
        sys.exit(__doc__)
    path, cmd = pos[0], pos[1]
    cargs = json.loads(pos[2]) if len(pos) == 3 else None
    deadline = time.monotonic() + float(opts["--timeout"])

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(100):  # QEMU creates the socket shortly after it starts
        try:
            s.connect(path)
            break
        except OSError:
            time.sleep(0.1)
    f = s.makefile("rw")
    events = []

    def recv():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        s.settimeout(left)
        line = f.readline()
        if not line:
            raise EOFError("QEMU closed the QMP connection")
        return json.loads(line)

    def execute(name, arguments=None):
        req = {"execute": name}
        if arguments is not None:
            req["arguments"] = arguments
        f.write(json.dumps(req) + "\n")
        f.flush()
        while True:
            msg = recv()
            if "event" in msg:
                events.append(msg)
            elif "return" in msg or "error" in msg:
                return msg

    recv()  # greeting
    execute("qmp_capabilities")
    msg = execute(cmd, cargs)
    if "error" in msg:
        print(json.dumps(msg["error"]))
        sys.exit(1)
    print(json.dumps(msg["return"]))
    if not opts["--event"]:
        return

    def matches(ev):
        if ev.get("event") != opts["--event"]:
            return False
        return opts["--device"] is None or ev.get("data", {}).get("device") == opts["--device"]

    try:
        while not any(matches(e) for e in events):
            msg = recv()
            if "event" in msg:
                events.append(msg)
    except (TimeoutError, socket.timeout):
        print("no %s event within %s s" % (opts["--event"], opts["--timeout"]), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
