"""bench/fanout_limit: tickrelayd against raw_relay, same invocation, same load.

raw_relay (bench/raw_relay.cpp) is the least a fan-out relay can do on one
thread: per upstream read, each message framed once and one send() per
client. Measuring tickrelayd beside it on the same points says how far it is
from what the sockets themselves allow, and where the difference goes
(system calls per message, CPU per message). Three parts, each optional:

  points  each relay at every --clients × --rate point over the klines of the
          first --symbols pairs, clients on /stream?streams= (the combined
          envelope: raw_relay forwards the upstream's bytes as they came, so
          both relays send the same bytes). bench/compare's run_point measures
          (relay on CPU 0, simulator and load client on CPU 1); perf stat
          counts the relay's send and receive system calls over the measured
          window; --perf-record DIR also records a profile of each.
  idle    memory per idle client: the relay's VmRSS before and after
          --idle-clients clients connected on one stream that carries
          nothing (the simulator at rate 0).
  tls     tickrelayd serving wss:// against ws://, back to back, at the
          --tls-clients × --tls-rate points.
"""

import argparse
import dataclasses
import datetime
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

from . import cli, implementations, processes, report, runner
from .runner import Point

NAME = "fanout-limit"
DEFAULT_CLIENTS = (100, 1000)
DEFAULT_RATES = (1000, 5000)
DEFAULT_SYMBOLS = 20
DEFAULT_IDLE_CLIENTS = 10_000
DEFAULT_TLS_CLIENTS = (100, 1000)
DEFAULT_TLS_RATE = 1000
# Away from bench/compare's defaults (18760, 9101), which other runs may hold.
DEFAULT_BASE_PORT = 19000
DEFAULT_METRICS_BASE_PORT = 19500
RELAY_METRICS_OFFSET = 64  # tickrelayd's /metrics at --metrics-base-port + this
PERF_RECORD_S = 8.0

# System calls counted by perf stat's tracepoints (root, or
# perf_event_paranoid ≤ 1; no hardware counters needed). Asio sends with
# sendmsg and reads with recvmsg, raw_relay with send (sendto) and recv
# (recvfrom); the others are there so that no path is missed.
SEND_CALLS = ("sendmsg", "sendto", "writev", "write")
RECV_CALLS = ("recvmsg", "recvfrom", "readv", "read")
WAIT_CALLS = ("epoll_wait", "epoll_pwait")
PERF_EVENTS = ["task-clock"] + [f"syscalls:sys_enter_{c}" for c in SEND_CALLS + RECV_CALLS + WAIT_CALLS]
# perf stat stops this much before the load client, so that the clients'
# closing never falls inside its window.
PERF_MARGIN_S = 0.5

IDLE_CONNECT_S = 120   # for every idle client to be connected
IDLE_SETTLE_S = 2.0    # after that, before VmRSS is read again
IDLE_STREAM_FROM = 0   # the first configured stream: at rate 0 it carries nothing


class PerfStat:
    """perf stat on the relay over the measured window: system calls and task-clock."""

    name = "perf_stat"

    def __init__(self, children, work_dir, tag, seconds):
        self.children, self.seconds, self.tag = children, seconds, tag
        self.output = os.path.join(work_dir, f"perf-stat-{tag}.csv")
        self.child = None

    def start(self, pid):
        argv = ["perf", "stat", "-x,", "-o", self.output, "-e", ",".join(PERF_EVENTS), "-p", str(pid),
                "--", "sleep", f"{self.seconds:g}"]
        self.child = self.children.start(f"perf-stat-{self.tag}", argv, cpu=1)

    def finish(self):
        if self.child is None:
            return None
        self.child.wait(self.seconds + 15)
        self.children.stop(self.child)
        counts = {}
        try:
            with open(self.output, encoding="utf-8") as f:
                for line in f:
                    fields = line.strip().split(",")
                    if len(fields) < 3 or line.startswith("#"):
                        continue
                    event = fields[2].removeprefix("syscalls:sys_enter_")
                    try:
                        counts[event] = float(fields[0])
                    except ValueError:
                        counts[event] = None  # <not counted>, <not supported>
        except OSError:
            return None
        sends = sum(counts.get(c) or 0 for c in SEND_CALLS)
        recvs = sum(counts.get(c) or 0 for c in RECV_CALLS)
        return {"seconds": self.seconds, "counts": counts,
                "sends_per_second": round(sends / self.seconds),
                "recvs_per_second": round(recvs / self.seconds),
                "epoll_waits_per_second": round(sum(counts.get(c) or 0 for c in WAIT_CALLS) / self.seconds),
                "task_clock_ms": counts.get("task-clock")}

    def stop(self):
        if self.child is not None:
            self.children.stop(self.child)


class PerfRecord:
    """perf record -g of the relay for a few seconds of the window, then its text report."""

    name = "perf_record"

    def __init__(self, children, out_dir, tag, seconds):
        self.children, self.seconds, self.tag = children, seconds, tag
        self.data = os.path.join(out_dir, f"perf-{tag}.data")
        self.text = os.path.join(out_dir, f"perf-{tag}.txt")
        self.flat = os.path.join(out_dir, f"perf-{tag}-flat.txt")
        self.child = None

    def start(self, pid):
        argv = ["perf", "record", "-g", "-o", self.data, "-p", str(pid), "--", "sleep", f"{self.seconds:g}"]
        self.child = self.children.start(f"perf-record-{self.tag}", argv, cpu=1)

    def finish(self):
        if self.child is None:
            return None
        self.child.wait(self.seconds + 30)
        self.children.stop(self.child)
        # The call-graph report's first 80 lines (the top entries with their
        # callers), and a flat one: every symbol over 1 %, one line each.
        written = {}
        for key, path, extra in (("report", self.text, []), ("flat", self.flat, ["-g", "none"])):
            try:
                done = subprocess.run(["perf", "report", "-i", self.data, "--no-children", "--stdio",
                                       "--percent-limit", "1"] + extra, capture_output=True, text=True, timeout=300)
            except (OSError, subprocess.TimeoutExpired) as e:
                return {"data": self.data, "error": str(e)}
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(done.stdout.splitlines()[:80]) + "\n")
            written[key] = path
        return dict(written, data=self.data)

    def stop(self):
        if self.child is not None:
            self.children.stop(self.child)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bench/fanout_limit",
        description="tickrelayd against raw_relay (a minimal epoll fan-out relay), same invocation, same load.",
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)

    def numbers(text):
        values = [int(x) for x in text.split(",") if x.strip()]
        if not values or min(values) <= 0:
            raise argparse.ArgumentTypeError("expected positive whole numbers, comma-separated")
        return values

    parser.add_argument("--parts", default="points,idle,tls",
                        help="what to run, comma-separated: points, idle, tls (default all)")
    parser.add_argument("--skip", default="", help="parts not to run, comma-separated")
    parser.add_argument("--impl", default="raw_relay,tickrelay", help="relays at the points (default %(default)s)")
    parser.add_argument("--clients", type=numbers, default=list(DEFAULT_CLIENTS),
                        help="client counts (default 100,1000)")
    parser.add_argument("--rate", type=numbers, default=list(DEFAULT_RATES),
                        help="simulator events/s over all streams (default 1000,5000)")
    parser.add_argument("--symbols", type=int, default=DEFAULT_SYMBOLS,
                        help="the first N pairs of --symbols-file, one kline stream each (default 20)")
    parser.add_argument("--symbols-file", default=os.path.join(cli.REPO, "config", "usdt-pairs.txt"))
    parser.add_argument("--template", default="{symbol}@kline_1h", help="stream per pair (default %(default)s)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per point (default 10)")
    parser.add_argument("--warm-up", type=float, default=3.0, help="warm-up seconds per point (default 3)")
    parser.add_argument("--idle-clients", type=int, default=DEFAULT_IDLE_CLIENTS,
                        help="idle clients for the memory part (default 10000)")
    parser.add_argument("--tls-clients", type=numbers, default=list(DEFAULT_TLS_CLIENTS),
                        help="client counts of the wss/ws part (default 100,1000)")
    parser.add_argument("--tls-rate", type=int, default=DEFAULT_TLS_RATE, help="events/s there (default 1000)")
    parser.add_argument("--no-perf", action="store_true", help="no perf stat (no system-call figures)")
    parser.add_argument("--perf-record", metavar="DIR",
                        help="also perf record -g each relay at each point into DIR (perf-<impl>-N<c>-R<r>.data "
                             "and .txt); its overhead is in that run's figures")
    parser.add_argument("--build-dir", default=os.path.join(cli.REPO, "build"))
    parser.add_argument("--output-dir", help="default bench/results/<date>/")
    parser.add_argument("--work-dir", help="default bench/results/tmp/fanout-limit-<time>/")
    parser.add_argument("--name", default=NAME, help="file name stem of the outputs (default %(default)s)")
    parser.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT,
                        help="simulator on this port, the relay on the next; 0: any free ports (default %(default)s)")
    parser.add_argument("--metrics-base-port", type=int, default=DEFAULT_METRICS_BASE_PORT,
                        help="load client of the i-th implementation on this + i, tickrelayd on this + "
                             f"{RELAY_METRICS_OFFSET}; 0: any free ports (default %(default)s)")
    parser.add_argument("--max-rss-mib", type=int, default=2048)
    args = parser.parse_args(argv)
    known = {"points", "idle", "tls"}
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    if not parts <= known or not skip <= known:
        parser.error(f"--parts/--skip: expected some of {', '.join(sorted(known))}")
    args.parts = parts - skip
    args.impls = []
    for name in (n.strip() for n in args.impl.split(",") if n.strip()):
        if name not in implementations.BY_NAME:
            parser.error(f"--impl: unknown {name!r}")
        args.impls.append(implementations.BY_NAME[name])
    if args.symbols <= 0 or args.duration <= 1 or args.warm_up <= 0:
        parser.error("--symbols, --duration (> 1 s) and --warm-up must be positive")
    return args


def subset_symbols(path, count, work_dir):
    """The first count pairs of path, in a file of their own for the simulator, the relays and the load client."""
    with open(path, encoding="utf-8") as f:
        symbols = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")][:count]
    out = os.path.join(work_dir, f"symbols-{len(symbols)}.txt")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(symbols) + "\n")
    return out, symbols


def vm_rss_kib(pid):
    """VmRSS of pid in KiB from /proc/<pid>/status, or None."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def make_cert(work_dir):
    """A self-signed P-256 certificate for 127.0.0.1 (the load client checks the IP address)."""
    cert, key = os.path.join(work_dir, "relay-cert.pem"), os.path.join(work_dir, "relay-key.pem")
    done = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                           "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                           "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl req failed: {done.stderr[-500:]}")
    return cert, key


def figures(r, perf=True):
    """The table's figures of one run_point result."""
    if r.get("status") not in ("ok", "aborted"):
        return None
    c, s = r["client"], r["server"]
    delivered = c["steady_msgs_per_second"]
    stat = (r.get("probes") or {}).get("perf_stat") or {}
    sends, recvs = stat.get("sends_per_second"), stat.get("recvs_per_second")
    return {
        "delivered_msgs_per_second": delivered,
        "delivered_pct_of_offered": c["delivered_pct_of_offered"],
        "latency_p50_ms": c["latency_p50_ms"], "latency_p99_ms": c["latency_p99_ms"],
        "latency_p999_ms": c["latency_p999_ms"], "lost": c["lost"],
        "relay_cpu_percent": s["cpu_percent"],
        "sends_per_second": sends,
        "messages_per_send": round(delivered / sends, 2) if sends else None,
        "upstream_reads_per_second": recvs,
        "cpu_us_per_message": round(s["cpu_percent"] / 100 * 1e6 / delivered, 3) if delivered else None,
        "load_side_cpu_percent": r.get("load_side_cpu_percent"),
        "saturated": r.get("saturated"), "saturation_reasons": r.get("saturation_reasons"),
    }


def assign_ports(args, impls):
    """{impl name: runner.Ports}: fixed from the base ports, or any free ports where a base is 0."""
    sim, server = (args.base_port, args.base_port + 1) if args.base_port else processes.free_ports(2)
    if args.metrics_base_port:
        relay_metrics = args.metrics_base_port + RELAY_METRICS_OFFSET
        load = {impl.name: args.metrics_base_port + implementations.index_of(impl) for impl in impls}
    else:
        free = processes.free_ports(len(impls) + 1)
        relay_metrics, load = free[0], {impl.name: port for impl, port in zip(impls, free[1:])}
    return {impl.name: runner.Ports(sim, server, relay_metrics, load[impl.name]) for impl in impls}


def run_points(args, ctx, children, ports, log, points, impls, tag_prefix="", ctx_for=None):
    """run_point for every point and implementation, with perf probes; results in order."""
    results = []
    for point in points:
        for impl in impls:
            run_ctx = ctx_for(impl) if ctx_for else ctx
            variant = "wss" if run_ctx.tls_cert else "ws"
            tag = f"{tag_prefix}{impl.name}-{variant}-N{point.clients}-R{point.rate}"
            probes = []
            if not args.no_perf:
                probes.append(PerfStat(children, ctx.work_dir, tag, max(1.0, ctx.duration - PERF_MARGIN_S)))
            if args.perf_record:
                probes.append(PerfRecord(children, args.perf_record, f"{impl.name}-{variant}-N{point.clients}-"
                                         f"R{point.rate}", min(PERF_RECORD_S, ctx.duration - PERF_MARGIN_S)))
            r = runner.run_point(run_ctx, children, impl, point, ports[impl.name], log, probes)
            r["variant"] = variant
            r["figures"] = figures(r)
            results.append(r)
            log(f"  {impl.name:<10} {variant:<3} N={point.clients:<5} R={point.rate:<5} " + one_line(r))
    return results


def one_line(r):
    f = r.get("figures")
    if f is None:
        return f"{r['status']}: {r.get('note', '')[:300]}"
    line = (f"{f['delivered_msgs_per_second']:>9,} msgs/s, p99 {f['latency_p99_ms']:.2f} ms, CPU "
            f"{f['relay_cpu_percent']:.0f} %, {_n(f['cpu_us_per_message'], 2)} µs/msg, sends/s "
            f"{_n(f['sends_per_second'], 0)}, msgs/send {_n(f['messages_per_send'], 1)}")
    if f["saturated"]:
        line += f"  [saturated: {'; '.join(f['saturation_reasons'])}]"
    return line


def _n(value, decimals):
    return report._number(value, decimals)


def idle_rss(args, ctx, children, ports, log, impl, stream):
    """The relay's VmRSS before and after args.idle_clients idle clients connected."""
    entry = {"impl": impl.name, "clients": args.idle_clients, "stream": stream}
    p = ports[impl.name]
    sim = server = load = None
    try:
        sim = children.start(f"sim-idle-{impl.name}", runner.sim_argv(ctx, p.sim, 0), cpu=1)
        sim.wait_for_stdout(r"listening \S+:\d+", timeout=runner.SIM_START_S)
        server = implementations.start_server(impl, children, ctx, p.sim, p.server, p.relay_metrics)
        time.sleep(1.0)
        before = vm_rss_kib(server.pid)
        argv = [os.path.join(ctx.bin_dir, "tickrelay-load"), "--url", f"ws://{processes.HOST}:{p.server}/stream",
                "--impl", impl.name, "--streams", stream, "-c", str(args.idle_clients),
                "-d", f"{IDLE_CONNECT_S + 30}", "--format", "json", "--quiet", "--top", "0",
                "--output", os.path.join(ctx.work_dir, f"idle-{impl.name}.json"),
                "--metrics-port", str(p.load_metrics)]
        load = children.start(f"load-idle-{impl.name}", argv, cpu=1)
        started = time.monotonic()
        up = 0
        while time.monotonic() - started < IDLE_CONNECT_S and load.running() and server.running():
            status, text = processes.http_get(p.load_metrics, "/metrics", timeout=1.0)
            if status == 200:
                up = int(processes.metric_sum(text, "tickrelay_load_connections") or 0)
                if up >= args.idle_clients:
                    break
            time.sleep(0.5)
        connect_s = time.monotonic() - started
        time.sleep(IDLE_SETTLE_S)
        status, text = processes.http_get(p.load_metrics, "/metrics", timeout=1.0)
        if status == 200:
            up = int(processes.metric_sum(text, "tickrelay_load_connections") or 0)
        after = vm_rss_kib(server.pid)
        if before is None or after is None:
            raise RuntimeError(f"{impl.name} exited during the idle run: {server.stderr()[-500:]}")
        entry.update({"status": "ok" if up >= args.idle_clients else "partial", "connected": up,
                      "connect_s": round(connect_s, 1), "rss_before_kib": before, "rss_after_kib": after,
                      "kib_per_client": round((after - before) / up, 2) if up else None})
    except RuntimeError as e:
        entry.update({"status": "failed", "note": str(e)[:1000]})
    finally:
        for child in (load, server):
            if child is not None:
                child.signal(signal.SIGINT)
                children.stop(child)
        if sim is not None:
            time.sleep(runner.SIM_DRAIN_S)
            children.stop(sim)
    log(f"  {impl.name:<10} idle: " + (f"{entry['connected']:,} clients, VmRSS {entry['rss_before_kib']:,} → "
                                       f"{entry['rss_after_kib']:,} KiB, {_n(entry['kib_per_client'], 2)} KiB/client"
                                       if entry["status"] != "failed" else f"failed: {entry['note'][:300]}"))
    return entry


def points_table(results, points, impls):
    header = ["clients", "events/s", "offered msgs/s", "relay", "delivered msgs/s", "tickrelay ÷ raw", "p50 ms",
              "p99 ms", "p99.9 ms", "relay CPU %", "CPU µs/msg", "tickrelay ÷ raw µs/msg", "sends/s",
              "msgs/send", "upstream reads/s"]
    rows = []
    for point in points:
        here = {r["impl"]: r for r in results if r["clients"] == point.clients and r["rate"] == point.rate}
        raw = (here.get("raw_relay") or {}).get("figures")
        for impl in impls:
            r = here.get(impl.name)
            if r is None:
                continue
            f = r.get("figures")
            cells = [f"{point.clients:,}", f"{point.rate:,}", f"{point.offered:,}", f"`{impl.name}`"]
            if f is None:
                rows.append(cells + [f"{r['status']}"] + [""] * (len(header) - 5))
                continue
            ratio = ratio_us = ""
            if impl.name == "tickrelay" and raw:
                ratio = _ratio(f["delivered_msgs_per_second"], raw["delivered_msgs_per_second"])
                ratio_us = _ratio(f["cpu_us_per_message"], raw["cpu_us_per_message"])
            rows.append(cells + [_n(f["delivered_msgs_per_second"], 0), ratio, _n(f["latency_p50_ms"], 2),
                                 _n(f["latency_p99_ms"], 2), _n(f["latency_p999_ms"], 2),
                                 _n(f["relay_cpu_percent"], 1), _n(f["cpu_us_per_message"], 2), ratio_us,
                                 _n(f["sends_per_second"], 0), _n(f["messages_per_send"], 1),
                                 _n(f["upstream_reads_per_second"], 0)])
    return report._table(header, rows)


def _ratio(value, base):
    if not isinstance(value, (int, float)) or not isinstance(base, (int, float)) or not base:
        return "–"
    return f"{value / base:.2f}×"


def idle_table(entries):
    header = ["relay", "idle clients connected", "VmRSS before KiB", "VmRSS after KiB", "KiB per idle client"]
    rows = [[f"`{e['impl']}`", _n(e.get("connected"), 0), _n(e.get("rss_before_kib"), 0),
             _n(e.get("rss_after_kib"), 0), _n(e.get("kib_per_client"), 2) if e["status"] != "failed"
             else "failed: " + e.get("note", "")[:120]] for e in entries]
    return report._table(header, rows)


def tls_table(results, tls_points):
    header = ["clients", "events/s", "ws delivered msgs/s", "wss delivered msgs/s", "wss ÷ ws delivered",
              "ws CPU µs/msg", "wss CPU µs/msg", "wss ÷ ws µs/msg", "ws p99 ms", "wss p99 ms", "ws sends/s",
              "wss sends/s"]
    rows = []
    for point in tls_points:
        here = {r["variant"]: r.get("figures") for r in results
                if r["clients"] == point.clients and r["rate"] == point.rate}
        ws, wss = here.get("ws"), here.get("wss")
        if not ws or not wss:
            rows.append([f"{point.clients:,}", f"{point.rate:,}"] + ["failed"] + [""] * (len(header) - 3))
            continue
        rows.append([f"{point.clients:,}", f"{point.rate:,}", _n(ws["delivered_msgs_per_second"], 0),
                     _n(wss["delivered_msgs_per_second"], 0),
                     _ratio(wss["delivered_msgs_per_second"], ws["delivered_msgs_per_second"]),
                     _n(ws["cpu_us_per_message"], 2), _n(wss["cpu_us_per_message"], 2),
                     _ratio(wss["cpu_us_per_message"], ws["cpu_us_per_message"]), _n(ws["latency_p99_ms"], 2),
                     _n(wss["latency_p99_ms"], 2), _n(ws["sends_per_second"], 0), _n(wss["sends_per_second"], 0)])
    return report._table(header, rows)


def notes(results):
    out = []
    for r in results:
        f = r.get("figures")
        if f is None:
            out.append(f"- `{r['impl']}` {r.get('variant', '')} at {r['clients']:,} × {r['rate']:,}: "
                       f"{r['status']}: {r.get('note', '')[:300]}")
        elif f["saturated"]:
            out.append(f"- `{r['impl']}` {r.get('variant', '')} at {r['clients']:,} × {r['rate']:,} saturated: "
                       f"{'; '.join(f['saturation_reasons'])}")
    return out


def markdown(doc, points, tls_points, impls):
    s = doc["settings"]
    out = report.header_lines(doc) + [
           f"- streams: {s['streams']} × `{s['template']}` (the first {s['streams']} pairs of "
           f"`{s['symbols_file']}`); clients on `/stream?streams=` (combined envelope) for both relays",
           f"- each point: {s['warm_up_s']:g} s warm-up, then {s['duration_s']:g} s measured; relay on CPU 0, "
           "simulator and load client on CPU 1",
           "- delivered: messages/s every client processed once all were connected; latency: receive time − E; "
           "relay CPU %: the relay's /proc CPU time over the window; CPU µs/msg: relay CPU time ÷ delivered "
           "messages",
           f"- sends/s and upstream reads/s: the relay's send-family ({', '.join(SEND_CALLS)}) and "
           f"receive-family ({', '.join(RECV_CALLS)}) system calls a second, `perf stat` tracepoints over "
           f"the window minus {PERF_MARGIN_S:g} s; clients send nothing meanwhile, so receives are upstream "
           "reads; msgs/send: delivered ÷ sends", ""]
    if "points" in doc["parts"]:
        out += ["## tickrelayd and raw_relay", "", points_table(doc["points"], points, impls), ""]
        out += notes(doc["points"]) + [""]
    if "idle" in doc["parts"]:
        out += [f"## Memory per idle client ({doc['settings']['idle_clients']:,} clients, one stream that carries "
                "nothing: simulator at rate 0)", "", idle_table(doc["idle"]), "",
                "(VmRSS after − before) ÷ clients connected; kernel socket buffers are not in a process's RSS.", ""]
    if "tls" in doc["parts"]:
        out += ["## tickrelayd: wss:// against ws:// (back to back, same point)", "",
                tls_table(doc["tls"], tls_points), ""]
        out += notes(doc["tls"]) + [""]
    return "\n".join(out)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    stamp = datetime.datetime.now()
    output_dir = args.output_dir or os.path.join(cli.REPO, "bench", "results", stamp.strftime("%Y-%m-%d"))
    work_dir = os.path.abspath(args.work_dir or os.path.join(cli.REPO, "bench", "results", "tmp",
                                                             f"{args.name}-{stamp.strftime('%Y%m%d-%H%M%S')}"))
    os.makedirs(output_dir, exist_ok=True)
    os.makedirs(work_dir, exist_ok=True)
    if args.perf_record:
        args.perf_record = os.path.abspath(args.perf_record)
        os.makedirs(args.perf_record, exist_ok=True)

    log = processes.log
    processes.stop_on_sigterm()

    symbols_file, symbols = subset_symbols(args.symbols_file, args.symbols, work_dir)
    streams = [args.template.replace("{symbol}", s.rpartition(":")[2].lower()) for s in symbols]
    ctx = cli.Context(bin_dir=os.path.join(os.path.abspath(args.build_dir), "bin"),
                      peers_dir=os.path.join(cli.REPO, "bench", "peers"), symbols_file=symbols_file,
                      template=args.template, work_dir=work_dir, duration=args.duration, warm_up=args.warm_up,
                      max_rss_bytes=args.max_rss_mib * runner.MIB, client_path="/stream")
    tickrelay = implementations.BY_NAME["tickrelay"]
    raw = implementations.BY_NAME["raw_relay"]
    everyone = list(dict.fromkeys(args.impls + [tickrelay, raw]))
    try:
        implementations.check_available(everyone, ctx)
        if not args.no_perf and shutil.which("perf") is None:
            raise RuntimeError("perf is missing (Debian: linux-perf); or run with --no-perf")
    except RuntimeError as e:
        log(f"bench/fanout_limit: {e}")
        return 2
    ports = assign_ports(args, everyone)
    wanted = [x for p in ports.values() for x in (p.sim, p.server, p.relay_metrics, p.load_metrics)]
    if not processes.refuse_busy_ports(wanted, "bench/fanout_limit", log):
        return 2

    points = [Point(f"N{c} R{r}", c, r) for r in args.rate for c in args.clients]
    tls_points = [Point(f"tls N{c} R{args.tls_rate}", c, args.tls_rate) for c in args.tls_clients]
    load_before = processes.load_average()
    log(f"bench/fanout_limit: parts {', '.join(sorted(args.parts))}; {len(streams)} streams; "
        f"{args.warm_up:g} s + {args.duration:g} s a point; load average {load_before[0]:.2f}; logs in {work_dir}")
    children = processes.Children(work_dir)
    doc = {"tool": "bench/fanout_limit", "title": "tickrelayd against raw_relay: fan-out at the limit",
           "date": stamp.strftime("%Y-%m-%d %H:%M"),
           "command": "bench/fanout_limit " + " ".join(shlex.quote(a) for a in argv),
           "parts": sorted(args.parts), "points": [], "idle": [], "tls": [], "interrupted": False}
    started = time.monotonic()
    try:
        if "points" in args.parts:
            log("== points")
            doc["points"] = run_points(args, ctx, children, ports, log, points, args.impls)
        if "idle" in args.parts:
            log(f"== memory per idle client ({args.idle_clients:,} clients)")
            for impl in (raw, tickrelay):
                doc["idle"].append(idle_rss(args, ctx, children, ports, log, impl, streams[IDLE_STREAM_FROM]))
        if "tls" in args.parts:
            log("== tickrelayd wss:// against ws://")
            cert, key = make_cert(work_dir)
            tls_ctx = dataclasses.replace(ctx, tls_cert=cert, tls_key=key)
            for point in tls_points:
                for variant_ctx in (ctx, tls_ctx):
                    doc["tls"] += run_points(args, variant_ctx, children, ports, log, [point], [tickrelay],
                                             tag_prefix="tls-")
    except KeyboardInterrupt:
        doc["interrupted"] = True
        log("bench/fanout_limit: interrupted; stopping every process it started")
    except RuntimeError as e:
        log(f"bench/fanout_limit: {e}")
    finally:
        children.stop_all()
    doc["elapsed_s"] = round(time.monotonic() - started, 1)
    doc["host"] = {"cpus": os.cpu_count(), "kernel": f"{os.uname().sysname} {os.uname().release}",
                   "commit": cli.git_commit(), "load_before": load_before, "load_after": processes.load_average()}
    doc["settings"] = {"duration_s": args.duration, "warm_up_s": args.warm_up, "streams": len(streams),
                       "template": args.template, "symbols_file": os.path.relpath(args.symbols_file, cli.REPO),
                       "clients": args.clients, "rates": args.rate, "idle_clients": args.idle_clients,
                       "tls_clients": args.tls_clients, "tls_rate": args.tls_rate,
                       "perf_events": PERF_EVENTS, "client_path": "/stream",
                       "client_queue_bytes": implementations.CLIENT_QUEUE_BYTES}
    md = markdown(doc, points, tls_points, args.impls)
    md_path = os.path.join(output_dir, f"{args.name}.md")
    json_path = os.path.join(output_dir, f"{args.name}.json")
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(md)
    log("")
    log(md)
    log(f"bench/fanout_limit: {doc['elapsed_s']:.0f} s; wrote {md_path}, {json_path}")
    if doc["interrupted"]:
        return 130
    failed = [r for r in doc["points"] + doc["tls"] if r.get("figures") is None]
    failed += [e for e in doc["idle"] if e["status"] == "failed"]
    return 1 if failed else 0
