"""bench/soak: tickrelayd for an hour under steady load, churn and faults, watched for growth.

What runs, all on 127.0.0.1 (bench/README.md, "Soak"):
  tickrelay-sim   plain ws://, port chosen by the kernel, --rate events/s over
                  the kline streams of the first --symbols pairs; it drops
                  every upstream connection at --drop-every seconds of age
                  (its own fault flag), so the relay reconnects that often.
  tickrelayd      pinned to CPU 0, the config bench/compare uses; every
                  --reload-every seconds the config is rewritten (an extra
                  aggTrade stream and max_client_lag 3s, then back) and the
                  relay gets SIGHUP; its tickrelay_streams_carried must follow.
  tickrelay-load  --clients steady clients on CPU 1, each on the first
                  --client-streams streams (/stream?streams=), processing every
                  message and counting lost ids (gaps); --reconnect, so a
                  client cut while the machine is busy comes back.
  churn.py        --churn clients opened a second and as many closed
                  (comparison/churn.py, asyncio and python3-websockets), on
                  CPU 1; 30 % of them leave without a close frame.
  slow consumer   every --slow-every seconds one client with a tiny receive
                  buffer subscribes to every stream and never reads (it only
                  pings, so as not to be closed as idle), until the relay cuts
                  it (slow_consumer or lagging) or --slow-hold passes.
                  The relay's socket send buffer (about 4 MiB on loopback)
                  fills first: at the default rate that takes about 85 s,
                  then max_client_lag (2 s) cuts it.

Every --sample-every seconds the harness reads the relay's VmRSS and open fds
(/proc/<pid>), and from its /metrics the queued bytes, delivered messages,
clients connected, streams carried and upstream reconnects; from the load
client's /metrics its messages, lost ids and connections. It prints a table
of the samples (every --print-every-th), then the summary: RSS slope by least
squares over the samples after the warm-up (--warm-up, default the larger of
10 % of the run and 2 minutes, at most half the run) in KiB per hour, fd
slope per hour, RSS at the end of the warm-up, at the end and at most,
totals delivered and lost, reloads, drops and slow consumers cut, and a
verdict.

Verdict: GROWTH when the RSS slope passes --max-rss-slope (KiB/h, default
1024: 1 MiB/h) or the end RSS passes the warm-up's by more than
--max-rss-growth-pct (default 10), or the fd slope passes --max-fd-slope
(default 100 fds/h); FAIL when a process died, a reload was refused or not
applied, or nothing was delivered. A run of a few minutes is too short for
the slopes to mean much (allocator warm-up weighs heavily); judge growth on
the hour.

Exit status: 0 no growth flagged, 1 growth flagged, 2 could not start,
3 a process died or a check failed, 130 interrupted. Every child is stopped
on every path out. Writes soak.json and soak.md, with every child's log,
under bench/results/tmp/soak-<time>/ (--output-dir).
"""

import argparse
import datetime
import json
import os
import shlex
import signal
import socket
import sys
import time

from . import cli, implementations, processes, report, runner
from .limit import subset_symbols, vm_rss_kib

NAME = "soak"
KIB = 1024
CHURN_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "churn.py")

# The reload alternates between the base config and this one: a stream added
# upstream (then removed again) and a limit changed, the two kinds of change
# a reload plans.
TOGGLED_STREAM_TEMPLATE = "{symbol}@aggTrade"
TOGGLED_SERVER_LINES = ("max_client_lag: 3s",)
RELOAD_APPLIED_S = 15.0  # for tickrelay_streams_carried to show a reload
# The slow consumer's receive buffer: the smaller, the sooner the relay's own
# queue (and its oldest frame's age) grows; the relay's send buffer still
# takes its few MiB first.
SLOW_RCVBUF = 4096
# ...and it pings this often: the relay closes a client silent for twice its
# idle_ping (30 s), which would end a client that never reads as idle before
# it lags past max_client_lag.
SLOW_PING_S = 10.0
# A masked WebSocket ping without payload (RFC 6455 5.5.2: client frames are masked).
SLOW_PING_FRAME = bytes([0x89, 0x80]) + b"\x00\x00\x00\x00"
LOAD_RAMP_UP_S = 10.0
LOAD_EXTRA_S = 120.0     # the load client's -d beyond the run; it is interrupted at the end
LOAD_EXIT_S = 20.0
CHURN_EXTRA_S = 60.0     # the same for the churner, stopped with SIGTERM
SLOW_CHECK_S = 1.0       # how often the relay's cut counters are read while a slow consumer waits
STOP_GRACE_S = 10.0
POLL_S = 0.2


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench/soak", description=__doc__.splitlines()[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="run length (default 60)")
    length.add_argument("--seconds", type=float, help="run length in seconds")
    parser.add_argument("--clients", type=int, default=1000, help="steady clients (default %(default)s)")
    parser.add_argument("--churn", type=float, default=100.0,
                        help="churn clients opened (and closed) a second (default %(default)s)")
    parser.add_argument("--symbols", type=int, default=8,
                        help="kline streams carried: the first N pairs of --symbols-file (default %(default)s)")
    parser.add_argument("--client-streams", type=int, default=4,
                        help="streams each steady client subscribes to (default %(default)s)")
    parser.add_argument("--rate", type=int, default=100,
                        help="simulator events/s over all streams (default %(default)s)")
    parser.add_argument("--template", default="{symbol}@kline_1m", help="stream per pair (default %(default)s)")
    parser.add_argument("--symbols-file", default=os.path.join(cli.REPO, "config", "usdt-pairs.txt"))
    parser.add_argument("--drop-every", type=float, default=180.0,
                        help="simulator drops each upstream connection at this age, s; 0: never (default %(default)s)")
    parser.add_argument("--reload-every", type=float, default=150.0,
                        help="config rewritten and SIGHUP this often, s; 0: never (default %(default)s)")
    parser.add_argument("--slow-every", type=float, default=240.0,
                        help="a slow consumer this often, s; 0: never (default %(default)s)")
    parser.add_argument("--slow-hold", type=float, default=180.0,
                        help="longest a slow consumer waits to be cut, s (default %(default)s)")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--print-every", type=int,
                        help="print every Nth sample (default: every sample up to 10 minutes, else one a minute)")
    parser.add_argument("--warm-up", type=float,
                        help="seconds left out of the slopes (default max(10 %% of the run, 120), at most half)")
    parser.add_argument("--max-rss-slope", type=float, default=1024.0,
                        help="RSS slope flagged as growth, KiB/h (default %(default)g)")
    parser.add_argument("--max-rss-growth-pct", type=float, default=10.0,
                        help="end RSS over the warm-up's flagged as growth, %% (default %(default)g)")
    parser.add_argument("--max-fd-slope", type=float, default=100.0,
                        help="open-fd slope flagged as growth, fds/h (default %(default)g)")
    parser.add_argument("--build-dir", default=os.path.join(cli.REPO, "build"),
                        help="build folder, or its bin/ (default <repo>/build)")
    parser.add_argument("--output-dir", help="default bench/results/tmp/soak-<time>/")
    args = parser.parse_args(argv)
    args.duration = (args.seconds if args.seconds is not None
                     else 60.0 * (args.minutes if args.minutes is not None else 60.0))
    if args.duration < 20:
        parser.error("the run must last at least 20 s")
    if min(args.clients, args.symbols, args.client_streams, args.rate) <= 0 or args.churn < 0:
        parser.error("--clients, --symbols, --client-streams and --rate must be positive, --churn not negative")
    if args.sample_every <= 0 or min(args.drop_every, args.reload_every, args.slow_every) < 0:
        parser.error("--sample-every must be positive, the fault periods not negative")
    args.client_streams = min(args.client_streams, args.symbols)
    if args.warm_up is None:
        args.warm_up = max(0.1 * args.duration, 120.0)
    args.warm_up = min(args.warm_up, 0.5 * args.duration)
    if args.print_every is None:
        args.print_every = 1 if args.duration <= 600 else max(1, round(60 / args.sample_every))
    return args


def bin_dir(build_dir):
    build_dir = os.path.abspath(build_dir)
    nested = os.path.join(build_dir, "bin")
    return nested if os.path.isdir(nested) else build_dir


def slope_per_hour(points):
    """Least-squares slope of [(seconds, value)], per hour; None with fewer than two distinct times."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return 3600.0 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


class SlowConsumer:
    """One client that subscribes to every stream and never reads, until the relay cuts it.

    The relay's cut is seen in its metrics (disconnects for slow_consumer or
    lagging going up while this client is open), not on the socket, which
    this client never reads."""

    def __init__(self, port, path, hold_s):
        self.port, self.path, self.hold_s = port, path, hold_s
        self.sock = None
        self.opened_at = None
        self.pinged_at = None
        self.cuts_before = None

    def start(self, cuts_now):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RCVBUF)
        sock.settimeout(5.0)
        try:
            sock.connect((processes.HOST, self.port))
            key = "c29hay1zbG93LWNsaWVudA=="  # any 16 bytes, base64
            sock.sendall((f"GET {self.path} HTTP/1.1\r\nHost: {processes.HOST}:{self.port}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                         .encode())
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                chunk = sock.recv(1)  # byte by byte: nothing past the response head is read
                if not chunk:
                    break
                head += chunk
        except OSError as e:
            sock.close()
            return f"slow consumer could not connect: {e}"
        if not head.startswith(b"HTTP/1.1 101"):
            sock.close()
            return f"slow consumer refused: {head[:80]!r}"
        self.sock, self.opened_at, self.pinged_at, self.cuts_before = sock, time.monotonic(), time.monotonic(), cuts_now
        return None

    def check(self, cuts_now):
        """'cut' or 'held' once done (the socket then closed), else None."""
        if self.sock is None:
            return None
        if cuts_now is not None and cuts_now > self.cuts_before:
            outcome = "cut"
        elif time.monotonic() - self.opened_at > self.hold_s:
            outcome = "held"
        else:
            if time.monotonic() - self.pinged_at > SLOW_PING_S:
                self.pinged_at = time.monotonic()
                try:
                    self.sock.sendall(SLOW_PING_FRAME)
                except OSError:
                    pass  # closed by the relay: its counters say why
            return None
        self.close()
        return outcome

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class Soak:
    """The run: its processes, the faults it injects, and what it samples."""

    def __init__(self, args, out_dir, log):
        self.args, self.out_dir, self.log = args, out_dir, log
        self.children = processes.Children(out_dir)
        self.bin_dir = bin_dir(args.build_dir)
        self.symbols_file, symbols = subset_symbols(args.symbols_file, args.symbols, out_dir)
        names = [s.rpartition(":")[2].lower() for s in symbols]
        self.streams = [args.template.replace("{symbol}", n) for n in names]
        self.toggled_stream = TOGGLED_STREAM_TEMPLATE.replace("{symbol}", names[0])
        self.ctx = cli.Context(bin_dir=self.bin_dir, peers_dir=os.path.join(cli.REPO, "bench", "peers"),
                               symbols_file=self.symbols_file, template=args.template, work_dir=out_dir,
                               duration=args.duration, warm_up=args.warm_up, max_rss_bytes=0)
        self.sim = self.relay = self.load = self.churn = None
        self.sim_port = 0
        self.client_port, self.metrics_port, self.load_metrics_port = processes.free_ports(3)
        self.samples = []
        self.reloads = []      # {"t", "toggled", "applied", "streams_carried"}
        self.slow = []         # {"t", "outcome", "seconds"}
        self.slow_client = None
        self.died = []         # "name exited (code)"
        self.notes = []
        self.load_report = None
        self.relay_final = {}
        self.churn_final = {}
        self.started = None
        self.elapsed = 0.0

    # --- processes ---------------------------------------------------------

    def start(self):
        a = self.args
        argv = runner.sim_argv(self.ctx, 0, a.rate)
        if a.drop_every > 0:
            argv += ["--drop-every", f"{a.drop_every:g}"]
        self.sim = self.children.start("sim", argv, cpu=1)
        self.sim_port = int(self.sim.wait_for_stdout(r"listening \S+:(\d+)", timeout=runner.SIM_START_S).group(1))
        tickrelay = implementations.BY_NAME["tickrelay"]
        self.relay = implementations.start_server(tickrelay, self.children, self.ctx, self.sim_port,
                                                  self.client_port, self.metrics_port)
        self.config_path = implementations.tickrelay_config_path(self.ctx, self.client_port)
        base = f"ws://{processes.HOST}:{self.client_port}"
        self.load = self.children.start("load", [
            os.path.join(self.bin_dir, "tickrelay-load"), "--url", f"{base}/stream?timeUnit=MICROSECOND",
            "--impl", "tickrelay", "--streams", ",".join(self.streams[:a.client_streams]),
            "-c", str(a.clients), "--ramp-up", f"{min(LOAD_RAMP_UP_S, a.duration / 4):g}",
            "-d", f"{a.duration + LOAD_EXTRA_S:g}", "--reconnect", "--server-pid", str(self.relay.pid),
            "--metrics-port", str(self.load_metrics_port), "--format", "json",
            "--output", os.path.join(self.out_dir, "load.json"), "--quiet", "--top", "0"], cpu=1)
        if a.churn > 0:
            self.churn = self.children.start("churn", [
                implementations.PYTHON, CHURN_SCRIPT, "--url", base, "--streams", ",".join(self.streams),
                "--rate", f"{a.churn:g}", "--seconds", f"{a.duration + CHURN_EXTRA_S:g}"], cpu=1)

    def watched(self):
        return [c for c in (self.sim, self.relay, self.load, self.churn) if c is not None]

    def check_alive(self):
        for child in self.watched():
            if not child.running() and not any(d.startswith(child.name + " ") for d in self.died):
                self.died.append(f"{child.name} exited ({child.proc.returncode}): {child.stderr()[-600:].strip()}")

    def stop(self):
        self.elapsed = time.monotonic() - self.started if self.started is not None else 0.0
        if self.slow_client is not None:
            held = time.monotonic() - self.slow_client.opened_at
            self.slow.append({"t": round(time.monotonic() - self.started, 1), "outcome": "open at the end",
                              "seconds": round(held, 1)})
            self.slow_client.close()
            self.slow_client = None
        # The load client writes its report on SIGINT.
        if self.load is not None and self.load.running():
            self.load.signal(signal.SIGINT)
            self.load.wait(LOAD_EXIT_S)
        if self.churn is not None and self.churn.running():
            self.churn.signal(signal.SIGTERM)
            self.churn.wait(STOP_GRACE_S)
        if self.relay is not None and self.relay.running():
            self.relay_final = self.relay_metrics() or {}
        self.children.stop_all()  # the newest first: churn, load, relay, then the simulator
        try:
            with open(os.path.join(self.out_dir, "load.json"), encoding="utf-8") as f:
                self.load_report = json.load(f)
        except (OSError, ValueError) as e:
            self.notes.append(f"no load client report: {e}")
        if self.churn is not None:
            self.churn_final = self.churn_counts()

    # --- readings ------------------------------------------------------------

    def relay_metrics(self):
        status, text = processes.http_get(self.metrics_port, "/metrics", timeout=2.0)
        if status != 200:
            return None
        try:
            total = lambda name: processes.metric_sum(text, name)  # noqa: E731
            return {
                "rss_metric_bytes": total("process_resident_memory_bytes"),
                "queue_bytes": total("tickrelay_client_queue_bytes"),
                "delivered": total("tickrelay_delivered_messages_total"),
                "clients": total("tickrelay_clients_connected"),
                "streams_carried": total("tickrelay_streams_carried"),
                "upstream_reconnects": total("tickrelay_upstream_reconnects_total"),
                "disconnects": processes.metric_by_label(text, "tickrelay_client_disconnects_total", "reason"),
            }
        except ValueError as e:
            self.notes.append(f"unreadable relay /metrics: {e}")
            return None

    def load_metrics(self):
        status, text = processes.http_get(self.load_metrics_port, "/metrics", timeout=2.0)
        if status != 200:
            return None
        total = lambda name: processes.metric_sum(text, name) or 0  # noqa: E731
        return {"messages": total("tickrelay_load_messages_total"), "lost": total("tickrelay_load_gaps_total"),
                "duplicates": total("tickrelay_load_duplicates_total"),
                "connections": total("tickrelay_load_connections"),
                "reconnects": total("tickrelay_load_reconnects_total"), "errors": total("tickrelay_load_errors_total")}

    def churn_counts(self):
        """The churner's last complete line of running totals."""
        for line in reversed(self.churn.stdout().splitlines()):
            try:
                return json.loads(line)
            except ValueError:
                continue
        return {}

    def cuts(self, relay):
        if relay is None:
            return None
        d = relay["disconnects"]
        return d.get("slow_consumer", 0) + d.get("lagging", 0)

    def sample(self, now):
        relay = self.relay_metrics()
        load = self.load_metrics() or {}
        churn = self.churn_counts() if self.churn is not None else {}
        row = {"t": round(now, 1), "rss_kib": vm_rss_kib(self.relay.pid), "fds": fd_count(self.relay.pid),
               "queue_bytes": None, "delivered": None, "clients": None, "streams_carried": None,
               "upstream_reconnects": None, "steady_up": load.get("connections"),
               "steady_messages": load.get("messages"), "lost": load.get("lost"),
               "duplicates": load.get("duplicates"), "steady_reconnects": load.get("reconnects"),
               "churn_opened": churn.get("opened"), "churn_failed": churn.get("failed"),
               "reloads": len(self.reloads), "slow_cut": sum(1 for s in self.slow if s["outcome"] == "cut")}
        if relay is not None:
            row.update({k: relay[k] for k in ("queue_bytes", "delivered", "clients", "streams_carried",
                                              "upstream_reconnects")})
            row["rss_metric_kib"] = round(relay["rss_metric_bytes"] / KIB) if relay["rss_metric_bytes"] else None
        self.samples.append(row)
        return row, relay

    # --- faults --------------------------------------------------------------

    def reload(self, now):
        toggled = len(self.reloads) % 2 == 0
        expected = len(self.streams) + (1 if toggled else 0)
        yaml = implementations.tickrelay_yaml(
            self.sim_port, self.client_port, self.metrics_port, self.symbols_file, self.args.template,
            extra_streams=[self.toggled_stream] if toggled else (),
            server_extra=TOGGLED_SERVER_LINES if toggled else ())
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(yaml)
        self.relay.signal(signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_APPLIED_S
        carried = None
        while time.monotonic() < deadline and self.relay.running():
            relay = self.relay_metrics()
            carried = relay["streams_carried"] if relay else None
            if carried == expected:
                break
            time.sleep(0.25)
        entry = {"t": round(now, 1), "toggled": toggled, "applied": carried == expected,
                 "streams_carried": carried, "expected": expected}
        self.reloads.append(entry)
        if not entry["applied"]:
            self.notes.append(f"reload at {now:.0f} s not applied: streams carried {carried}, expected {expected}")

    def slow_tick(self, now, cuts_now):
        a = self.args
        if self.slow_client is not None:
            outcome = self.slow_client.check(cuts_now)
            if outcome:
                held = time.monotonic() - self.slow_client.opened_at
                self.slow.append({"t": round(now, 1), "outcome": outcome, "seconds": round(held, 1)})
                self.slow_client = None
            return
        # One at a time; the first after a third of a period, none in the last minute.
        due = a.slow_every / 3 + a.slow_every * len(self.slow)
        if a.slow_every > 0 and now >= due and now < a.duration - min(60.0, a.duration / 4):
            client = SlowConsumer(self.client_port, "/stream?streams=" + "/".join(self.streams), a.slow_hold)
            error = client.start(cuts_now if cuts_now is not None else 0)
            if error:
                self.slow.append({"t": round(now, 1), "outcome": "failed", "seconds": 0})
                self.notes.append(error)
            else:
                self.slow_client = client

    # --- the run -------------------------------------------------------------

    def run(self, print_row):
        a = self.args
        self.started = time.monotonic()
        next_sample = 0.0
        next_reload = a.reload_every if a.reload_every > 0 else float("inf")
        cuts_now = None
        next_slow_check = 0.0
        while (now := time.monotonic() - self.started) < a.duration:
            self.check_alive()
            if self.died:
                break
            if now >= next_sample:
                next_sample += a.sample_every
                row, relay = self.sample(now)
                cuts_now = self.cuts(relay)
                if (len(self.samples) - 1) % a.print_every == 0:
                    print_row(row)
            if now >= next_reload:
                next_reload += a.reload_every
                self.reload(now)
            if self.slow_client is not None and now >= next_slow_check:
                next_slow_check = now + SLOW_CHECK_S
                cuts_now = self.cuts(self.relay_metrics())
            self.slow_tick(now, cuts_now)
            time.sleep(POLL_S)
        if not self.died:
            row, _ = self.sample(time.monotonic() - self.started)
            print_row(row)


# (key, column title, how to show it) of the samples table.
COLUMNS = (
    ("t", "t s", lambda v: f"{v:.0f}"),
    ("rss_kib", "RSS KiB", lambda v: f"{v:,}"),
    ("fds", "fds", lambda v: f"{v:,}"),
    ("queue_bytes", "queued KiB", lambda v: f"{v / KIB:,.1f}"),
    ("delivered", "delivered", lambda v: f"{v:,.0f}"),
    ("clients", "clients", lambda v: f"{v:,.0f}"),
    ("steady_up", "steady up", lambda v: f"{v:,.0f}"),
    ("lost", "lost", lambda v: f"{v:,.0f}"),
    ("churn_opened", "churn opened", lambda v: f"{v:,}"),
    ("streams_carried", "streams", lambda v: f"{v:.0f}"),
    ("upstream_reconnects", "drops", lambda v: f"{v:.0f}"),
    ("reloads", "reloads", lambda v: f"{v}"),
    ("slow_cut", "slow cut", lambda v: f"{v}"),
)


def row_cells(row):
    return [show(row[key]) if row.get(key) is not None else "–" for key, _, show in COLUMNS]


def text_row(cells):
    return "  ".join(f"{c:>12}" for c in cells)


def summarize(soak):
    """The summary's figures and the verdict, from the samples and the final counts."""
    a = soak.args
    samples = [s for s in soak.samples if s["rss_kib"] is not None]
    steady = [s for s in samples if s["t"] >= a.warm_up]
    rss = [(s["t"], s["rss_kib"]) for s in steady]
    fds = [(s["t"], s["fds"]) for s in steady if s["fds"] is not None]
    load = (soak.load_report or {}).get("targets", [{}])[0]
    last = soak.samples[-1] if soak.samples else {}
    final = soak.relay_final or {}
    churn = soak.churn_final or {}
    s = {
        "duration_s": round(soak.elapsed, 1),
        "warm_up_s": a.warm_up,
        "samples": len(soak.samples),
        "steady_samples": len(steady),
        "rss_start_kib": rss[0][1] if rss else None,
        "rss_end_kib": rss[-1][1] if rss else None,
        "rss_max_kib": max((x["rss_kib"] for x in samples), default=None),
        "rss_first_kib": samples[0]["rss_kib"] if samples else None,
        "rss_slope_kib_per_hour": slope_per_hour(rss),
        "fds_start": fds[0][1] if fds else None,
        "fds_end": fds[-1][1] if fds else None,
        "fds_max": max((f for _, f in fds), default=None),
        "fd_slope_per_hour": slope_per_hour(fds),
        "queue_bytes_max": max((x["queue_bytes"] for x in soak.samples if x["queue_bytes"] is not None), default=None),
        "delivered_total": final.get("delivered", last.get("delivered")),
        "steady_messages": load.get("messages", last.get("steady_messages")),
        "steady_lost": load.get("lost", last.get("lost")),
        "steady_duplicates": load.get("duplicates", last.get("duplicates")),
        "steady_reconnects": last.get("steady_reconnects"),
        "steady_errors": load.get("errors"),
        "churn_started": churn.get("started"),
        "churn_opened": churn.get("opened"),
        "churn_failed": churn.get("failed"),
        "churn_closed": churn.get("closed"),
        "churn_aborted": churn.get("aborted"),
        "churn_skipped": churn.get("skipped"),
        "reloads": len(soak.reloads),
        "reloads_applied": sum(1 for r in soak.reloads if r["applied"]),
        "upstream_drops": final.get("upstream_reconnects", last.get("upstream_reconnects")),
        "slow_consumers": len(soak.slow),
        "slow_consumers_cut": sum(1 for x in soak.slow if x["outcome"] == "cut"),
        "disconnects": final.get("disconnects", {}),
    }
    if s["churn_opened"] is not None and s["duration_s"]:
        s["churn_opened_per_second"] = round(s["churn_opened"] / s["duration_s"], 1)
    growth, failures = [], list(soak.died)
    slope = s["rss_slope_kib_per_hour"]
    if slope is not None and slope > a.max_rss_slope:
        growth.append(f"RSS slope {slope:,.0f} KiB/h > {a.max_rss_slope:,.0f}")
    if rss and rss[-1][1] > rss[0][1] * (1 + a.max_rss_growth_pct / 100):
        growth.append(f"RSS {rss[0][1]:,} → {rss[-1][1]:,} KiB, > +{a.max_rss_growth_pct:g} %")
    if s["fd_slope_per_hour"] is not None and s["fd_slope_per_hour"] > a.max_fd_slope:
        growth.append(f"fd slope {s['fd_slope_per_hour']:,.0f}/h > {a.max_fd_slope:g}")
    if len(steady) < 2:
        failures.append("fewer than two samples after the warm-up: no slope")
    if s["reloads"] > s["reloads_applied"]:
        failures.append(f"{s['reloads'] - s['reloads_applied']} reload(s) not applied")
    if not s["delivered_total"]:
        failures.append("the relay delivered nothing")
    relay_log = soak.relay.stderr().splitlines() if soak.relay is not None else []
    refused = [line for line in relay_log if "reload refused" in line or "reload failed" in line]
    if refused:
        failures.append(f"the relay refused a reload: {refused[0][:200]}")
    s["growth"] = growth
    s["failures"] = failures
    if failures:
        s["verdict"] = "FAIL: " + "; ".join(failures)
    elif growth:
        s["verdict"] = "GROWTH: " + "; ".join(growth)
    else:
        s["verdict"] = (f"OK: no growth (RSS slope ≤ {a.max_rss_slope:,.0f} KiB/h, end RSS ≤ +"
                        f"{a.max_rss_growth_pct:g} %, fd slope ≤ {a.max_fd_slope:g}/h)")
    return s


def _n(value, decimals=0):
    return report._number(value, decimals)


def summary_lines(s):
    d = s["disconnects"]
    cut_reasons = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(d.items()) if v) or "none"
    return [
        f"run: {s['duration_s']:,.0f} s, {s['samples']} samples, warm-up {s['warm_up_s']:,.0f} s "
        f"({s['steady_samples']} samples after it)",
        f"RSS: first {_n(s['rss_first_kib'])} KiB, after warm-up {_n(s['rss_start_kib'])} KiB, end "
        f"{_n(s['rss_end_kib'])} KiB, max {_n(s['rss_max_kib'])} KiB",
        f"RSS slope after warm-up: {_n(s['rss_slope_kib_per_hour'])} KiB/h",
        f"open fds: after warm-up {_n(s['fds_start'])}, end {_n(s['fds_end'])}, max {_n(s['fds_max'])}; "
        f"slope {_n(s['fd_slope_per_hour'], 1)}/h",
        f"queued bytes max: {_n(s['queue_bytes_max'])}",
        f"delivered (relay): {_n(s['delivered_total'])} messages",
        f"steady clients: {_n(s['steady_messages'])} messages, lost {_n(s['steady_lost'])}, duplicates "
        f"{_n(s['steady_duplicates'])}, reconnects {_n(s['steady_reconnects'])}, errors {_n(s['steady_errors'])}",
        f"churn: {_n(s['churn_opened'])} opened ({_n(s.get('churn_opened_per_second'), 1)}/s), "
        f"{_n(s['churn_closed'])} closed, {_n(s['churn_aborted'])} aborted, {_n(s['churn_failed'])} failed, "
        f"{_n(s['churn_skipped'])} skipped",
        f"reloads: {s['reloads']} ({s['reloads_applied']} applied); upstream drops: {_n(s['upstream_drops'])}; "
        f"slow consumers: {s['slow_consumers']} ({s['slow_consumers_cut']} cut)",
        f"client disconnects by reason: {cut_reasons}",
        f"verdict: {s['verdict']}",
    ]


def markdown(doc, printed):
    s = doc["summary"]
    out = report.header_lines(doc) + [
        f"- relay pinned to CPU 0; simulator, {doc['settings']['clients']:,} steady clients (tickrelay-load), "
        f"churn ({doc['settings']['churn']:g} clients/s) and slow consumers on CPU 1; loopback only",
        f"- faults: upstream dropped every {doc['settings']['drop_every_s']:g} s, reload every "
        f"{doc['settings']['reload_every_s']:g} s, slow consumer every {doc['settings']['slow_every_s']:g} s",
        "", "## Samples", "",
        report._table([title for _, title, _ in COLUMNS], [row_cells(r) for r in printed]), "",
        "## Summary", ""] + [f"- {line}" for line in summary_lines(s)] + [""]
    if doc["notes"]:
        out += ["## Notes", ""] + [f"- {n}" for n in doc["notes"]] + [""]
    return "\n".join(out)


def trimmed_load_report(load_report):
    """The load client's report without the per-symbol price movers it lists."""
    if not load_report:
        return None
    trimmed = dict(load_report)
    trimmed["targets"] = [{k: v for k, v in t.items() if k != "top_movers"} for t in load_report.get("targets", [])]
    return trimmed


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    stamp = datetime.datetime.now()
    out_dir = os.path.abspath(args.output_dir or os.path.join(cli.REPO, "bench", "results", "tmp",
                                                              f"{NAME}-{stamp.strftime('%Y%m%d-%H%M%S')}"))
    os.makedirs(out_dir, exist_ok=True)

    log = processes.log
    processes.stop_on_sigterm()

    soak = Soak(args, out_dir, log)
    try:
        implementations.check_available([implementations.BY_NAME["tickrelay"]], soak.ctx)
    except RuntimeError as e:
        log(f"bench/soak: {e}")
        return 2
    if 1 in os.sched_getaffinity(0):
        os.sched_setaffinity(0, {1})  # off the relay's CPU 0
    load_before = processes.load_average()
    log(f"bench/soak: {args.duration:,.0f} s, {args.clients:,} steady clients on {args.client_streams} of "
        f"{len(soak.streams)} streams at {args.rate:,} events/s, churn {args.churn:g}/s; load average "
        f"{load_before[0]:.2f}; logs in {out_dir}")
    printed = []

    def print_row(row):
        if not printed:
            log(text_row([title for _, title, _ in COLUMNS]))
        printed.append(row)
        log(text_row(row_cells(row)))

    interrupted = False
    code = 0
    try:
        soak.start()
        soak.run(print_row)
    except KeyboardInterrupt:
        interrupted = True
        log("bench/soak: interrupted; stopping every process it started")
    except (RuntimeError, AssertionError) as e:
        soak.died.append(str(e)[:1500])
        log(f"bench/soak: {e}")
    finally:
        soak.stop()
    summary = summarize(soak)
    doc = {"tool": "bench/soak", "title": "tickrelayd soak: steady load, churn and faults, watched for growth",
           "date": stamp.strftime("%Y-%m-%d %H:%M"),
           "command": "bench/soak " + " ".join(shlex.quote(a) for a in argv),
           "host": {"cpus": os.cpu_count(), "kernel": f"{os.uname().sysname} {os.uname().release}",
                    "commit": cli.git_commit(), "load_before": load_before,
                    "load_after": processes.load_average()},
           "settings": {"duration_s": args.duration, "warm_up_s": args.warm_up, "clients": args.clients,
                        "client_streams": soak.streams[:args.client_streams], "streams": soak.streams,
                        "toggled_stream": soak.toggled_stream, "rate": args.rate, "churn": args.churn,
                        "drop_every_s": args.drop_every, "reload_every_s": args.reload_every,
                        "slow_every_s": args.slow_every, "slow_hold_s": args.slow_hold,
                        "sample_every_s": args.sample_every, "max_rss_slope_kib_per_hour": args.max_rss_slope,
                        "max_rss_growth_pct": args.max_rss_growth_pct, "max_fd_slope_per_hour": args.max_fd_slope},
           "interrupted": interrupted, "died": soak.died, "notes": soak.notes, "summary": summary,
           "reloads": soak.reloads, "slow_consumers": soak.slow, "samples": soak.samples,
           "churn": soak.churn_final,
           "load_report": trimmed_load_report(soak.load_report)}
    json_path, md_path = os.path.join(out_dir, f"{NAME}.json"), os.path.join(out_dir, f"{NAME}.md")
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(markdown(doc, printed))
    log("")
    for line in summary_lines(summary):
        log(line)
    log(f"bench/soak: wrote {md_path}, {json_path}")
    if interrupted:
        return 130
    if summary["failures"]:
        code = 3
    elif summary["growth"]:
        code = 1
    return code
