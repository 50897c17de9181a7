"""Child processes, ports, HTTP probes, /proc readings and Prometheus text,
for the comparison harness and the Python tests alike (the tests import it
with bench/ on sys.path: `from comparison import processes`).

Every process the harness or a test starts goes through Child (most through
Children): it runs in its own session (so a Ctrl-C at the terminal reaches
only the harness, which then stops the children in order), it gets SIGKILL if
its starter dies without cleaning up (PR_SET_PDEATHSIG), and stop() ends it,
SIGTERM first, SIGKILL after a bounded wait. Every wait has a deadline.
"""

import ctypes
import os
import re
import signal
import socket
import subprocess
import time

from prometheus_client.parser import text_string_to_metric_families

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def log(text):
    """A harness's progress line, shown at once."""
    print(text, flush=True)


def stop_on_sigterm():
    """A kill of the harness stops its children the same way a Ctrl-C does."""
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)


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

    def start(self, cwd=None):
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stdout(self):
        return _read(self.stdout_path)

    def stderr(self):
        return _read(self.stderr_path)

    def output(self, chars=3000):
        """The tails of stdout and stderr, for a failure message."""
        return self.stdout()[-chars:] + self.stderr()[-chars:]

    def first_line(self, timeout):
        """The first line the process prints, waiting at most timeout seconds."""
        return self.wait_for_stdout(r"\A([^\n]*)\n", timeout).group(1)

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

    def terminate(self, timeout=15.0):
        """SIGTERM, as an operator ends a run; the exit code, or None if it did not exit in time."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait(10)

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


def wait_for(predicate, what, timeout):
    """Polls until predicate() returns something true; returns it, or raises AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def free_port():
    return free_ports(1)[0]


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


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def children_of(pid):
    """The pids whose parent is pid, from /proc/<pid>/status."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                if any(line.split() == ["PPid:", str(pid)] for line in f):
                    found.append(int(entry))
        except OSError:
            pass
    return found


def thread_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None


def load_average():
    with open("/proc/loadavg", encoding="ascii") as f:
        return [float(x) for x in f.read().split()[:3]]


def metric_samples(text):
    """Prometheus text format to [(sample name, {label: value}, value)], by prometheus_client's parser.

    Sample names keep their suffixes (_total, _bucket, _sum, _count); a line
    that is not valid exposition text raises ValueError.
    """
    return [(sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(text) for sample in family.samples]


def metric_sum(text, name):
    """Sum of the samples of one metric in Prometheus text, or None if absent."""
    values = [value for sample, _, value in metric_samples(text) if sample == name]
    return sum(values) if values else None


def metric_by_label(text, name, label):
    """{label value: summed samples} of one metric in Prometheus text."""
    values = {}
    for sample, labels, value in metric_samples(text):
        if sample == name and label in labels:
            values[labels[label]] = values.get(labels[label], 0.0) + value
    return values


def refuse_busy_ports(ports, tool, log, hint="--base-port / --metrics-base-port"):
    """False (after saying which) when any of `ports` is in use on HOST; then keeps this
    harness off the relay's CPU 0 for the run."""
    busy = [p for p in sorted(set(ports)) if port_in_use(p)]
    if busy:
        log(f"{tool}: port(s) {', '.join(map(str, busy))} on {HOST} are in use; stop what holds them, "
            f"or pick others with {hint}")
        return False
    if 1 in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {1})
    return True
