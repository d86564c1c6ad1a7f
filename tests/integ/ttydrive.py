#!/usr/bin/env python3
"""ttydrive.py - runs a command (real kubectl) on a pty of its own, as a person at a
terminal would, and drives it step by step.

    ttydrive.py ROWSxCOLS STEP... -- CMD ARG...

Steps, in order:
    send=TEXT       write TEXT to the terminal (\\r, \\n, \\x03 escapes are decoded)
    expect=REGEX    wait until the output since the last expect matches REGEX
    resize=RxC      resize the terminal (the kernel sends SIGWINCH to kubectl)
    poll=TEXT       send TEXT now, and again every 2 s while the next expect waits
                    (kubectl sends a resize and the keys typed after it on separate
                    streams, so a command typed right after a resize may still run
                    at the old size: a person would look again)
Every expect waits at most 60 s; the whole run is bounded by 240 s. Prints the full
transcript on stdout at the end; exits with the command's exit code, or 124 when an
expect timed out (the transcript says which).
"""
import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def winsize(fd, spec):
    rows, cols = (int(x) for x in spec.split("x"))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    argv = sys.argv[1:]
    if "--" not in argv or len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cut = argv.index("--")
    size, steps, cmd = argv[0], argv[1:cut], argv[cut + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    winsize(fd, size)
    os.kill(pid, signal.SIGWINCH)
    out = b""
    mark = 0
    deadline = time.monotonic() + 240
    status = None

    def pump(timeout):
        nonlocal out
        r, _, _ = select.select([fd], [], [], timeout)
        if fd in r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                return False
            out += data
        return True

    rc = 0
    poll = None
    for step in steps:
        kind, _, arg = step.partition("=")
        if kind == "send":
            os.write(fd, codecs.decode(arg, "unicode_escape").encode("latin-1"))
        elif kind == "resize":
            winsize(fd, arg)
        elif kind == "poll":
            poll = codecs.decode(arg, "unicode_escape").encode("latin-1")
            os.write(fd, poll)
        elif kind == "expect":
            rx = re.compile(arg.encode())
            end = min(time.monotonic() + 60, deadline)
            alive = True
            again = time.monotonic() + 2
            while not rx.search(out, mark):
                if poll is not None and time.monotonic() > again:
                    os.write(fd, poll)
                    again = time.monotonic() + 2
                if time.monotonic() > end or not alive:
                    sys.stdout.write("ttydrive: timed out on %r\n" % step)
                    rc = 124
                    break
                alive = pump(0.2)
            poll = None
            if rc:
                break
            mark = rx.search(out, mark).end()
        else:
            sys.stdout.write("ttydrive: unknown step %r\n" % step)
            rc = 2
            break
    if rc:
        os.kill(pid, signal.SIGKILL)
    while status is None and time.monotonic() < deadline:
        pump(0.2)
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = st
    if status is None:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        rc = rc or 124
    for _ in range(100):  # what is left, bounded
        r, _, _ = select.select([fd], [], [], 0.05)
        if fd not in r:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    sys.stdout.write(out.decode("utf-8", "replace"))
    if rc:
        return rc
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else (status >> 8)


if __name__ == "__main__":
    sys.exit(main())
