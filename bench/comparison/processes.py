"""Child processes, ports and /proc readings for the harness.

Every process the harness starts goes through Children: it runs in its own
session (so a Ctrl-C at the terminal reaches only the harness, which then
stops the children in order), it gets SIGKILL if the harness dies without
cleaning up (PR_SET_PDEATHSIG), and Children.stop_all() ends whatever is still
running, SIGTERM first, SIGKILL after a bounded wait.
"""

import ctypes
import os
import re
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _die_with_parent():
    # Runs in the child between fork and exec; survives the exec of taskset
    # and of the program taskset execs.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Child:
    """One started process; its stdout and stderr go to files in the run's work folder."""

    def __init__(self, name, argv, log_dir, cpu=None):
        self.name = name
        self.argv = (["taskset", "-c", str(cpu)] if cpu is not None else []) + list(argv)
        self.stdout_path = os.path.join(log_dir, f"{name}.out")
        self.stderr_path = os.path.join(log_dir, f"{name}.err")
        self.proc = None

    @property
    def pid(self):
        # taskset execs the program, so this is the program's own pid.
        return self.proc.pid

    def start(self):
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stdout(self):
        return _read(self.stdout_path)

    def stderr(self):
        return _read(self.stderr_path)

    def wait_for_stdout(self, pattern, timeout):
        """The first match of pattern in stdout, waiting at most timeout seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.stdout())
            if match:
                return match
            if not self.running():
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before printing "
                                   f"{pattern!r}: {self.stderr()[-1500:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} printed no {pattern!r} within {timeout} s: "
                                   f"{self.stderr()[-1500:]}")
            time.sleep(0.05)

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        """The exit code, or None if still running after timeout seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace=5.0):
        """SIGTERM, then SIGKILL after grace seconds; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait(grace) is None:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


class Children:
    """The processes alive right now, stopped newest first."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.alive = []

    def start(self, name, argv, cpu=None):
        child = Child(name, argv, self.log_dir, cpu).start()
        self.alive.append(child)
        return child

    def stop(self, child, grace=5.0):
        code = child.stop(grace)
        if child in self.alive:
            self.alive.remove(child)
        return code

    def stop_all(self):
        while self.alive:
            self.stop(self.alive[-1])


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def port_in_use(port):
    """True when something listens on 127.0.0.1:port (bound as the servers bind, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def free_ports(count):
    """count distinct ports the kernel considers free right now."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def http_get(port, path, timeout=2.0):
    """(status, body) of a plain HTTP/1.0 GET on 127.0.0.1, or (0, "") when nothing answers."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {HOST}\r\n\r\n".encode())
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except OSError:
        return 0, ""
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d+)", head)
    return (int(match.group(1)) if match else 0), body.decode("utf-8", "replace")


def cpu_seconds(pid):
    """utime + stime of a process from /proc/<pid>/stat, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime 14 and stime 15 (proc(5)).
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def resident_bytes(pid):
    """Resident set size of a process from /proc/<pid>/statm, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE_SIZE
    except OSError:
        return None


def thread_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None


def load_average():
    with open("/proc/loadavg", encoding="ascii") as f:
        return [float(x) for x in f.read().split()[:3]]
