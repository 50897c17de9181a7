"""One measurement: an implementation at a load point, from start to stop.

For each (implementation, point):
 1. tickrelay-sim on CPU 1 at the point's rate, over the 346 kline streams;
 2. the implementation on CPU 0, told to relay from the simulator;
 3. one tickrelay-load run on CPU 1: all clients connect at once; its
    --warm-up (connecting, the server settling) is left out of every figure,
    then it measures for the duration, with --server-pid for the server's
    /proc figures and --metrics-port for Prometheus; meanwhile the harness
    reads the simulator's CPU after the warm-up, the RSS of server and
    simulator (a guard stops the run if either passes --max-rss-mib) and the
    load client's own /metrics twice a second (how long the clients took to
    connect, and the delivered rate after the warm-up);
 4. a run that delivered nothing after its warm-up is a failure, not a point;
 5. everything stopped, the simulator last.
"""

import json
import os
import signal
import time
from dataclasses import dataclass

from . import implementations, processes

MIB = 1024 * 1024

# A point counts as saturated when the implementation no longer keeps up:
# it delivers under this share of the offered messages once every client is
# connected...
DELIVERED_MIN_PCT = 90.0
# ...or its p99 latency passes this. A relay that keeps up on loopback stays in
# single-digit milliseconds; past this, messages are queueing faster than they
# leave and the latency grows for as long as the run lasts.
P99_MAX_MS = 100.0
# CPU 1 carries both the load client and the simulator. When together they
# keep it this busy while the server still has room on CPU 0, a saturated
# point has measured the load side, and the server's figure there is only a
# lower bound; the report says so rather than blame the server.
LOAD_SIDE_BUSY_PCT = 90.0
SERVER_ROOM_PCT = 90.0

# Waiting for things that take well under a second on an idle machine, with
# room for a machine busy with other people's builds.
SIM_START_S = 20
LOAD_GRACE_S = 60     # beyond warm-up or duration, before the load client is interrupted
LOAD_EXIT_S = 15      # after SIGINT, before SIGKILL
POLL_S = 0.25
SIM_DRAIN_S = 0.3     # for the server's upstream connections to close before the simulator stops
# The load client's /metrics is read this often; a quick point measures 3 s,
# so a steady rate needs several readings once every client is connected.
METRICS_EVERY_S = 0.5
STEADY_MIN_S = 1.0


@dataclass(frozen=True)
class Point:
    label: str
    clients: int
    rate: int              # simulator --rate: events/s over all streams; each client gets every event
    always: bool = True    # run even after the implementation saturated at a lower offered load

    @property
    def offered(self):
        """Messages/s the implementation must deliver: every event to every client."""
        return self.clients * self.rate


@dataclass
class Ports:
    sim: int
    server: int
    relay_metrics: int
    load_metrics: int


def sim_argv(ctx, port, rate):
    return [os.path.join(ctx.bin_dir, "tickrelay-sim"), "--plain", "--listen", f"{processes.HOST}:{port}",
            "--rate", str(rate), "--symbols-file", ctx.symbols_file, "--seed", "1", "--log-level", "warn"]


def load_argv(ctx, impl, point, port, output, server_pid=None, metrics_port=None):
    # --time-unit stays auto (magnitude): E in milliseconds from a server that
    # ignored timeUnit=MICROSECOND shows up as millisecond_times in the report.
    # tickrelay gives each client the unit it asks for (milliseconds unless
    # asked), so its clients ask for the microseconds the peers pass on as
    # they come from the simulator; the peers' clients ask for nothing, so
    # the load client reads their unit from E's magnitude.
    scheme = "wss" if ctx.tls_cert and impl.kind == "tickrelay" else "ws"
    path = ctx.client_path
    if impl.kind == "tickrelay":
        path += ("&" if "?" in path else "?") + "timeUnit=MICROSECOND"
    argv = [os.path.join(ctx.bin_dir, "tickrelay-load"), "--url", f"{scheme}://{processes.HOST}:{port}{path}",
            "--impl", impl.name, "--symbols-file", ctx.symbols_file, "--template", ctx.template,
            "-c", str(point.clients), "--warm-up", f"{ctx.warm_up:g}", "-d", f"{ctx.duration:g}",
            "--format", "json", "--output", output, "--quiet", "--top", "0"]
    if scheme == "wss":
        argv += ["--ca-file", ctx.tls_cert]
    if server_pid is not None:
        argv += ["--server-pid", str(server_pid)]
    if metrics_port:
        argv += ["--metrics-port", str(metrics_port)]
    return argv


class Watch:
    """What the harness observes beside the load client during a run."""

    def __init__(self, ctx, server, sim, metrics_port, clients, probes=()):
        self.ctx = ctx
        # Each probe's start(pid) runs once, when the warm-up ends (perf on the server, say).
        self.probes = list(probes)
        self.measure_from = ctx.warm_up  # seconds after the load client started
        self.sim_cpu_mark = None         # (seconds, simulator CPU seconds) once the warm-up is over
        self.started = None
        self.server = server
        self.sim = sim
        self.metrics_port = metrics_port
        self.clients = clients
        self.abort = None
        self.rss_peak = {"server": 0, "simulator": 0}
        self.server_threads = 0
        self.samples = []  # (seconds since start, messages, connections up)
        self._next_scrape = 0.0

    def check(self, started):
        self.started = started
        now = time.monotonic() - started
        if self.sim_cpu_mark is None and now >= self.measure_from:
            self.sim_cpu_mark = (now, processes.cpu_seconds(self.sim.pid))
            for probe in self.probes:
                probe.start(self.server.pid)
        for label, child in (("server", self.server), ("simulator", self.sim)):
            if not child.running():
                self.abort = self.abort or f"{label} exited ({child.proc.returncode}) during the run"
                continue
            rss = processes.resident_bytes(child.pid) or 0
            self.rss_peak[label] = max(self.rss_peak[label], rss)
            if rss > self.ctx.max_rss_bytes and self.abort is None:
                self.abort = (f"{label} RSS {rss / MIB:.0f} MiB passed the {self.ctx.max_rss_bytes / MIB:.0f} MiB guard "
                              "(messages queueing without bound)")
        self.server_threads = max(self.server_threads, processes.thread_count(self.server.pid) or 0)
        if self.metrics_port and now >= self._next_scrape:
            self._next_scrape = now + METRICS_EVERY_S
            status, text = processes.http_get(self.metrics_port, "/metrics", timeout=0.5)
            if status == 200:
                messages = processes.metric_sum(text, "tickrelay_load_messages_total")
                up = processes.metric_sum(text, "tickrelay_load_connections")
                if messages is not None and up is not None:
                    self.samples.append((now, messages, up))

    def steady_rate(self):
        """(seconds until every client was connected, messages/s delivered after the warm-up with every
        client connected); None for what the readings cannot tell (never all connected, too few readings)."""
        connected = [s for s in self.samples if s[2] >= self.clients]
        if not connected:
            return None, None
        steady = [s for s in connected if s[0] >= self.measure_from]
        if len(steady) < 2 or steady[-1][0] - steady[0][0] < STEADY_MIN_S:
            return connected[0][0], None
        first, last = steady[0], steady[-1]
        return connected[0][0], (last[1] - first[1]) / (last[0] - first[0])

    def sim_cpu_percent(self):
        """The simulator's CPU % of one core from the end of the warm-up until now."""
        if self.sim_cpu_mark is None:
            return 0.0
        now, cpu = time.monotonic() - self.started, processes.cpu_seconds(self.sim.pid)
        if self.sim_cpu_mark is None or self.sim_cpu_mark[1] is None or cpu is None or now <= self.sim_cpu_mark[0]:
            return 0.0
        return 100.0 * (cpu - self.sim_cpu_mark[1]) / (now - self.sim_cpu_mark[0])


def run_load(children, ctx, name, argv, duration, watch=None):
    """Runs one tickrelay-load to its end (or interrupts it); returns (report, abort reason)."""
    output = argv[argv.index("--output") + 1]
    if os.path.exists(output):
        os.remove(output)
    child = children.start(name, argv, cpu=1)
    started = time.monotonic()
    deadline = started + duration + LOAD_GRACE_S
    interrupted = None
    while child.running():
        if watch is not None:
            watch.check(started)
            if watch.abort and interrupted is None:
                interrupted = time.monotonic()
                child.signal(signal.SIGINT)  # it stops and still writes its report
        if time.monotonic() > deadline and interrupted is None:
            interrupted = time.monotonic()
            child.signal(signal.SIGINT)
            if watch is not None:
                watch.abort = watch.abort or f"the load client overran its duration by {LOAD_GRACE_S} s"
        if interrupted is not None and time.monotonic() > interrupted + LOAD_EXIT_S:
            break
        time.sleep(POLL_S)
    code = children.stop(child, grace=2.0)
    try:
        with open(output, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        raise RuntimeError(f"{name}: no report (exit {code}): {e}; stderr: {child.stderr()[-800:]}") from None
    return report, (watch.abort if watch else None)


def _mib(value):
    return round(value / MIB, 1) if value is not None else None


def summarize(impl, point, report, watch, sim_cpu_percent, relay_extra):
    """The study's figures for server and client from tickrelay-load's report."""
    target = report["targets"][0]
    server = target.get("server") or {}
    client = report["client"]
    latency = target["latency_ms"]
    connect_s, steady = watch.steady_rate()
    delivered = steady if steady is not None else target["messages_per_second"]
    result = {
        "server": {
            "duration_s": round(report["duration_seconds"], 2),
            "cpu_percent": round(server.get("cpu_percent", 0.0), 1),
            "rss_avg_mib": _mib(server.get("resident_avg_bytes")),
            "rss_peak_mib": _mib(server.get("resident_peak_bytes")),
            "throughput_msgs_per_second": round(target["messages_per_second"]),
            "threads": watch.server_threads,
        },
        "client": {
            "duration_s": round(report["duration_seconds"], 2),
            "cpu_percent": round(client["cpu_percent"], 1),
            "rss_avg_mib": _mib(client["resident_avg_bytes"]),
            "rss_peak_mib": _mib(client["resident_peak_bytes"]),
            "latency_avg_ms": round(latency["avg"], 3),
            "latency_p50_ms": round(latency["p50"], 3),
            "latency_p99_ms": round(latency["p99"], 3),
            "latency_p999_ms": round(latency["p999"], 3),
            "latency_max_ms": round(latency["max"], 3),
            "throughput_msgs_per_second": round(target["messages_per_second"]),
            "messages": target["messages"],
            "lost": target["lost"],
            "duplicates": target["duplicates"],
            "errors": target["errors"],
            "connections_up_end": target["connections_up_end"],
            "connect_s": round(connect_s, 2) if connect_s is not None else None,
            "steady_msgs_per_second": round(delivered),
            "delivered_pct_of_offered": round(100.0 * delivered / point.offered, 1),
            "millisecond_times": target["millisecond_times"],
        },
        "simulator": {
            "cpu_percent": round(sim_cpu_percent, 1),
            "rss_peak_mib": _mib(watch.rss_peak["simulator"]),
        },
    }
    if relay_extra is not None:
        result["relay"] = relay_extra
    reasons = []
    c = result["client"]
    if c["messages"] == 0:
        reasons.append("no messages")
    if c["delivered_pct_of_offered"] < DELIVERED_MIN_PCT:
        reasons.append(f"delivered {c['delivered_pct_of_offered']:.0f} % of offered")
    if c["latency_p99_ms"] > P99_MAX_MS:
        reasons.append(f"p99 {c['latency_p99_ms']:.0f} ms")
    if c["lost"] > 0:
        reasons.append(f"{c['lost']} lost")
    if c["errors"] > 0:
        reasons.append(f"{c['errors']} connection errors")
    if watch.abort:
        reasons.append(watch.abort)
    result["saturated"] = bool(reasons)
    load_side = c["cpu_percent"] + result["simulator"]["cpu_percent"]
    result["load_side_cpu_percent"] = round(load_side, 1)
    result["limited_by"] = None
    if reasons:
        server_busy = result["server"]["cpu_percent"]
        if load_side >= LOAD_SIDE_BUSY_PCT and server_busy < SERVER_ROOM_PCT:
            result["limited_by"] = "load side"
            reasons.append(f"CPU 1 (load client + simulator) at {load_side:.0f} % while the server used "
                           f"{server_busy:.0f} %: a lower bound for this server")
        elif server_busy >= SERVER_ROOM_PCT:
            result["limited_by"] = "server"
        else:
            result["limited_by"] = "unclear"
            reasons.append(f"neither CPU was saturated on average (server {server_busy:.0f} %, CPU 1 "
                           f"{load_side:.0f} %): other work on the machine took CPU time (see the load "
                           "average), or a burst the averages hide")
    result["saturation_reasons"] = reasons
    # The raw report, without the per-symbol price movers it lists.
    trimmed = dict(report)
    trimmed["targets"] = [{k: v for k, v in t.items() if k != "top_movers"} for t in report["targets"]]
    result["load_report"] = trimmed
    return result


def relay_figures(metrics_port):
    """tickrelayd's own view after a run: clients it cut, upstream reconnects."""
    status, text = processes.http_get(metrics_port, "/metrics")
    if status != 200:
        return None
    return {
        "client_disconnects": processes.metric_by_label(text, "tickrelay_client_disconnects_total", "reason"),
        "upstream_reconnects": processes.metric_by_label(text, "tickrelay_upstream_reconnects_total", "reason"),
        "delivered_messages": processes.metric_sum(text, "tickrelay_delivered_messages_total"),
    }


def run_point(ctx, children, impl, point, ports, log, probes=()):
    """Measures impl at point; returns the result dict (status ok, or failed with a note).

    probes: objects with start(server_pid), called when the warm-up ends, and
    finish(), called after the load client ended, whose dict goes under
    result["probes"][probe.name]; stop() ends whatever a probe still runs."""
    base = {"impl": impl.name, "shape": impl.shape, "library": impl.library, "point": point.label,
            "clients": point.clients, "rate": point.rate, "offered_msgs_per_second": point.offered}
    tag = f"{point.label.replace(' ', '_')}-{impl.name}"
    sim = server = None
    try:
        busy = [p for p in (ports.sim, ports.server, ports.relay_metrics, ports.load_metrics)
                if p and processes.port_in_use(p)]
        if busy:
            raise RuntimeError(f"port(s) {', '.join(map(str, busy))} on {processes.HOST} are in use")
        sim = children.start(f"sim-{tag}", sim_argv(ctx, ports.sim, point.rate), cpu=1)
        sim.wait_for_stdout(r"listening \S+:\d+", timeout=SIM_START_S)
        server = implementations.start_server(impl, children, ctx, ports.sim, ports.server, ports.relay_metrics)

        watch = Watch(ctx, server, sim, ports.load_metrics, point.clients, probes)
        out = os.path.join(ctx.work_dir, f"measure-{tag}.json")
        report, _ = run_load(children, ctx, f"load-{tag}",
                             load_argv(ctx, impl, point, ports.server, out, server_pid=server.pid,
                                       metrics_port=ports.load_metrics),
                             ctx.warm_up + ctx.duration, watch)
        sim_cpu = watch.sim_cpu_percent()
        measured = report["targets"][0]
        if measured["messages"] == 0 and not watch.abort:
            raise RuntimeError("no messages after the warm-up: "
                               + (measured.get("first_error") or server.stderr()[-800:] or "no error reported"))
        relay_extra = relay_figures(ports.relay_metrics) if impl.kind == "tickrelay" else None
        result = dict(base, status="aborted" if watch.abort else "ok", note=watch.abort or "")
        result.update(summarize(impl, point, report, watch, sim_cpu, relay_extra))
        if probes:
            result["probes"] = {probe.name: probe.finish() for probe in probes}
        return result
    except RuntimeError as e:
        return dict(base, status="failed", note=str(e)[:2000], saturated=True, saturation_reasons=["failed"])
    finally:
        for probe in probes:
            probe.stop()
        # The server first, so that it closes its upstream connections
        # itself: a simulator stopped first would make every relay log an
        # upstream drop and start reconnecting while being stopped.
        if server is not None:
            code = children.stop(server)
            if code not in (0, -signal.SIGTERM, None):
                log(f"    note: {impl.name} exited with {code} on SIGTERM")
        if sim is not None:
            time.sleep(SIM_DRAIN_S)
            code = children.stop(sim)
            if code not in (0, -signal.SIGTERM, None):
                log(f"    note: tickrelay-sim exited with {code} on SIGTERM")
