"""Tries to reach what a rotation function must not, and prints one JSON
object: each attempt's name and "ok" or the errno name it failed with.

Files to read come as PROBE_FILES (os.pathsep-separated, name=path); the
result also goes to the file PROBE_OUT when set, and PROBE_FAIL makes the
step fail afterwards. The
server is the parent process (the sandbox launcher executes the function in
its own place). Used by the sandbox tests; it reads one byte of each file
and never prints what it read.
"""
import ctypes
import errno
import json
import os
import signal
import sys
import time

PTRACE_SEIZE = 0x4206
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
results = {}


def attempt(name, fn):
    try:
        fn()
        results[name] = "ok"
    except OSError as e:
        results[name] = errno.errorcode.get(e.errno, str(e.errno))


def read_one(path):
    with open(path, "rb") as f:
        f.read(1)


def ptrace_seize(pid):
    if libc.ptrace(PTRACE_SEIZE, pid, None, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def ptrace_own_child():
    # Landlock allows tracing a process in the same sandbox; only the
    # seccomp filter refuses it.
    pid = os.fork()
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    try:
        ptrace_seize(pid)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


for item in filter(None, os.environ.get("PROBE_FILES", "").split(os.pathsep)):
    name, _, path = item.partition("=")
    attempt(name, lambda p=path: read_one(p))

server = os.getppid()
attempt("server_mem", lambda: os.close(os.open(f"/proc/{server}/mem", os.O_RDONLY)))
attempt("server_environ", lambda: read_one(f"/proc/{server}/environ"))
attempt("server_ptrace", lambda: ptrace_seize(server))
attempt("server_signal", lambda: os.kill(server, 0))
attempt("ptrace_own_child", ptrace_own_child)
out = json.dumps(results, sort_keys=True)
print(out)
if os.environ.get("PROBE_OUT"):
    with open(os.environ["PROBE_OUT"], "w") as f:
        f.write(out)
if os.environ.get("PROBE_FAIL"):
    sys.exit(1)
