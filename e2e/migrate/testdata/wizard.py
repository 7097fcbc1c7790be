"""Drive `gocluster reshard SEED` on a pseudo-terminal through its wizard.

usage: wizard.py GOCLUSTER SEED SLOTS
Answers: SLOTS slots, the first master as target, "all" as sources, yes.
Prints everything the program wrote; exits with the program's status.
"""
import os
import pty
import select
import sys
import time

gocluster, seed, slots = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.environ["NO_COLOR"] = "1"
    os.execv(gocluster, [gocluster, "reshard", seed])

out = b""
answered = 0  # cursor position queries (ESC [6n) answered so far


def pump(timeout):
    """Read what is available; answer survey's cursor position queries."""
    global out, answered
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return False
    chunk = os.read(fd, 65536)
    if not chunk:
        raise OSError("eof")
    out += chunk
    while out.count(b"\x1b[6n") > answered:
        os.write(fd, b"\x1b[1;1R")
        answered += 1
    return True


def read_until(text, timeout=30):
    global out
    deadline = time.time() + timeout
    while text.encode() not in out:
        if time.time() > deadline:
            sys.stdout.write(out.decode(errors="replace"))
            sys.stdout.write("\nwizard.py: timed out waiting for %r\n" % text)
            os.kill(pid, 9)
            sys.exit(3)
        try:
            pump(0.2)
        except OSError:
            break


def send(keys):
    deadline = time.time() + 0.3  # let survey switch the terminal to raw mode
    while time.time() < deadline:
        try:
            pump(0.05)
        except OSError:
            break
    os.write(fd, keys.encode())


read_until("How many slots do you want to move")
send(slots + "\r")
read_until("What is the receiving node?")
send("\r")
read_until("Source nodes")
send(" ")
send("\r")
read_until("Do you want to proceed with the proposed reshard plan")
send("yes\r")
while True:
    try:
        if not pump(30):
            break
    except OSError:
        break
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
