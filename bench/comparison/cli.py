"""bench/compare's command line and main loop (what it measures: bench/README.md)."""

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass

from . import charts, implementations, processes, report, runner
from .runner import Point

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The default run. Each client subscribes to all 346 kline streams, as the
# study's clients did; the simulator's rate is events/s over all of them, so
# a point offers clients × rate messages/s. Real USD-M klines push at most
# every 250 ms, about 1,400 events/s for the 346 pairs at the busiest, so
# "light" and "moderate" sit inside what Binance would send, and the sweep
# goes on (100 clients, rising rate) until the slowest implementations stop
# keeping up. An implementation that saturated skips the sweep points above.
DEFAULT_POINTS = (
    Point("light", 20, 500),
    Point("moderate", 100, 500),
    Point("sweep 1", 100, 1000, always=False),
    Point("sweep 2", 100, 2000, always=False),
    Point("sweep 3", 100, 5000, always=False),
    Point("sweep 4", 100, 10000, always=False),
)
QUICK_POINTS = (Point("light", 5, 200),)
DEFAULT_DURATION_S, DEFAULT_WARM_UP_S = 10.0, 3.0
QUICK_DURATION_S, QUICK_WARM_UP_S = 3.0, 1.5

# Above this 1-minute load average before the run, the harness says the
# machine is busy: the server and the load side each expect a whole core,
# and anything else runnable competes with them.
BUSY_LOAD_AVERAGE = 0.5

DEFAULT_BASE_PORT = 18760          # simulator, then the relay's client port
# Where deploy/prometheus/prometheus.yml scrapes, so the Grafana dashboard
# follows a run live: the load client of IMPLS[i] on 9101 + i, tickrelayd's
# /metrics on 9465 (its usual metrics.listen).
DEFAULT_METRICS_BASE_PORT = 9101
DEFAULT_RELAY_METRICS_PORT = 9465


@dataclass
class Context:
    bin_dir: str
    peers_dir: str
    symbols_file: str
    template: str
    work_dir: str
    duration: float
    warm_up: float
    max_rss_bytes: int
    # The clients' request path: /ws/<streams> (raw payloads) or /stream
    # (?streams=, the combined envelope, which raw_relay always sends).
    client_path: str = "/ws"
    # When set, tickrelayd serves wss:// with these PEM files and the load
    # client trusts tls_cert.
    tls_cert: str = ""
    tls_key: str = ""


def epilog():
    names = [impl.name for impl in implementations.DEFAULT_IMPLS]
    fixed = [p for p in DEFAULT_POINTS if p.always]
    sweep = [p for p in DEFAULT_POINTS if not p.always]
    runs = len(DEFAULT_POINTS) * len(names)
    ports = [f"{name} {DEFAULT_METRICS_BASE_PORT + i}" for i, name in enumerate(names)]
    ports = ", ".join(ports[:3]) + ",\n  " + ", ".join(ports[3:])
    return f"""\
runs:
  bench/compare
      The full comparison, for the README: {len(names)} implementations, each at
      {", ".join(f"{p.label} ({p.clients} clients × {p.rate:,} events/s)" for p in fixed)},
      then a sweep at {sweep[0].clients} clients and {", ".join(f"{p.rate:,}" for p in sweep)} events/s; an
      implementation that saturated skips the rest of the sweep. {DEFAULT_WARM_UP_S:g} s warm-up and
      {DEFAULT_DURATION_S:g} s measured per point: at most {runs} runs, under 10 minutes. Writes
      bench/results/<date>/compare.md, .json, -throughput.png and -p99.png.
      Run it on a quiet machine: the server owns CPU 0, the simulator and
      the load client share CPU 1; anything else on them (a build, a
      browser) shows up as latency. `uptime` before: load average under 0.5.
  bench/compare --quick
      One light point per implementation ({QUICK_POINTS[0].clients} clients × {QUICK_POINTS[0].rate:,} events/s,
      {QUICK_WARM_UP_S:g} s + {QUICK_DURATION_S:g} s), under 2 minutes; the test suite's run.
      Output in bench/results/tmp/quick/.
  bench/compare --impl tickrelay --clients 10,100,1000 --rate 200
      tickrelay alone at each client count (bench/fanout_scaling).

live in Grafana:
  While a point runs, its tickrelay-load serves Prometheus metrics (label
  impl=<name>) on 127.0.0.1:<--metrics-base-port + i>, by default
  {ports};
  tickrelayd's own /metrics on {DEFAULT_RELAY_METRICS_PORT} (--relay-metrics-port). These are the
  ports deploy/prometheus/prometheus.yml scrapes every second, so the
  Grafana dashboard (grafana/README.md) shows each implementation as it runs.

needs:
  build/bin/ (cmake -S . -B build -G Ninja && cmake --build build), taskset,
  Debian's python3-websockets, python3-tornado and python3-matplotlib; node
  and npm for node_ws_fanout (npm ci in bench/peers/ on first use).

exit status: 0 every point ran, 1 a point failed, 2 could not start (a
missing program, a busy port), 130 interrupted (every child stopped).
What is measured and how it differs from the study: bench/README.md.
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bench/compare",
        description="tickrelay against the study's Python relays (and Node's ws), same machine, same load.",
        epilog=epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    names = [impl.name for impl in implementations.DEFAULT_IMPLS]
    known = [impl.name for impl in implementations.IMPLS]
    parser.add_argument("--impl", default=",".join(names),
                        help=f"implementations, comma-separated (default: all of {', '.join(names)}; also "
                             f"{', '.join(n for n in known if n not in names)})")
    parser.add_argument("--quick", action="store_true",
                        help="one light point per implementation, short runs (the test suite's smoke run)")
    parser.add_argument("--clients", help="client counts, comma-separated: replaces the default points "
                                          "with every --clients × --rate pair")
    parser.add_argument("--rate", help="simulator events/s over all streams, comma-separated (with --clients; "
                                       "default 1000)")
    parser.add_argument("--duration", type=float, help=f"measured seconds per point (default {DEFAULT_DURATION_S:g}, "
                                                       f"quick {QUICK_DURATION_S:g})")
    parser.add_argument("--warm-up", type=float, help=f"warm-up seconds per point (default {DEFAULT_WARM_UP_S:g}, "
                                                      f"quick {QUICK_WARM_UP_S:g})")
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"), help="CMake build folder (default build/)")
    parser.add_argument("--output-dir", help="where the .md, .json and .png go "
                                             "(default bench/results/<date>/, quick: bench/results/tmp/quick/)")
    parser.add_argument("--work-dir", help="configs, logs and raw reports (default bench/results/tmp/<name>-<time>/)")
    parser.add_argument("--name", help="file name stem of the outputs (default compare, quick: compare-quick)")
    parser.add_argument("--title", help="heading of the Markdown report")
    parser.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT,
                        help="simulator on this port, the relay under test on the next; 0: any free ports "
                             f"(default {DEFAULT_BASE_PORT})")
    parser.add_argument("--metrics-base-port", type=int, default=DEFAULT_METRICS_BASE_PORT,
                        help="load client of the i-th implementation serves Prometheus metrics on this + i; "
                             f"0: any free ports, for the load clients and tickrelayd (default {DEFAULT_METRICS_BASE_PORT})")
    parser.add_argument("--relay-metrics-port", type=int,
                        help=f"tickrelayd's /metrics and /healthz (default {DEFAULT_RELAY_METRICS_PORT}, or any free "
                             "port with --metrics-base-port 0)")
    parser.add_argument("--max-rss-mib", type=int, default=2048,
                        help="stop a run when the server or the simulator passes this resident size (default 2048)")
    parser.add_argument("--symbols-file", default=os.path.join(REPO, "config", "usdt-pairs.txt"),
                        help="the pairs (default config/usdt-pairs.txt: the study's 346)")
    parser.add_argument("--template", default="{symbol}@kline_1h", help="stream per pair (default %(default)s)")
    parser.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    args = parser.parse_args(argv)

    impls = []
    for name in (n.strip() for n in args.impl.split(",") if n.strip()):
        if name not in implementations.BY_NAME:
            parser.error(f"--impl: unknown {name!r} (known: {', '.join(known)})")
        impls.append(implementations.BY_NAME[name])
    if not impls:
        parser.error("--impl names no implementation")
    args.impls = impls

    def numbers(text, option):
        try:
            values = [int(x) for x in text.split(",") if x.strip()]
        except ValueError:
            parser.error(f"{option}: expected whole numbers, comma-separated")
        if not values or min(values) <= 0:
            parser.error(f"{option}: expected positive numbers")
        return values

    if args.clients or args.rate:
        if args.quick:
            parser.error("--quick has its own point; drop --clients/--rate")
        clients = numbers(args.clients, "--clients") if args.clients else [100]
        rates = numbers(args.rate, "--rate") if args.rate else [1000]
        args.points = [Point(f"{c} clients @ {r}" if len(rates) > 1 else f"{c} clients", c, r)
                       for r in rates for c in clients]
    else:
        args.points = list(QUICK_POINTS if args.quick else DEFAULT_POINTS)
    if args.duration is None:
        args.duration = QUICK_DURATION_S if args.quick else DEFAULT_DURATION_S
    if args.warm_up is None:
        args.warm_up = QUICK_WARM_UP_S if args.quick else DEFAULT_WARM_UP_S
    if args.duration <= 0 or args.warm_up <= 0:
        parser.error("--duration and --warm-up must be positive")
    if args.name is None:
        args.name = "compare-quick" if args.quick else "compare"
    if args.relay_metrics_port is None:
        args.relay_metrics_port = DEFAULT_RELAY_METRICS_PORT if args.metrics_base_port else 0
    for option in ("base_port", "metrics_base_port", "relay_metrics_port"):
        port = getattr(args, option)
        if port != 0 and not 1024 <= port <= 65500:
            parser.error(f"--{option.replace('_', '-')}: expected 0 or 1024–65500")
    return args


def assign_ports(args):
    """{impl name: runner.Ports}, fixed from the base ports unless those are 0."""
    n = len(implementations.IMPLS)
    if args.base_port:
        sim, server = args.base_port, args.base_port + 1
    else:
        sim, server = processes.free_ports(2)
    if args.metrics_base_port:
        load = [args.metrics_base_port + i for i in range(n)]
    else:
        load = processes.free_ports(n)
    relay_metrics = args.relay_metrics_port or processes.free_ports(1)[0]
    return {impl.name: runner.Ports(sim, server, relay_metrics, load[implementations.index_of(impl)])
            for impl in args.impls}


def git_commit():
    try:
        done = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        return done.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if done.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def one_line(r):
    if r["status"] in ("failed", "skipped"):
        return f"{r['status']}: {r['note'][:200]}"
    c, s = r["client"], r["server"]
    line = (f"{c['steady_msgs_per_second']:>9,} msgs/s ({c['delivered_pct_of_offered']:.0f} %), p50 "
            f"{c['latency_p50_ms']:.2f} p99 {c['latency_p99_ms']:.2f} ms, server CPU {s['cpu_percent']:.0f} % "
            f"RSS {s['rss_peak_mib']:.0f} MiB, sim CPU {r['simulator']['cpu_percent']:.0f} %")
    if r["saturated"]:
        line += f"  [saturated: {'; '.join(r['saturation_reasons'])}]"
    return line


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stamp = datetime.datetime.now()
    if args.output_dir:
        output_dir = args.output_dir
    elif args.quick:
        output_dir = os.path.join(REPO, "bench", "results", "tmp", "quick")  # not for committing
    else:
        output_dir = os.path.join(REPO, "bench", "results", stamp.strftime("%Y-%m-%d"))
    work_dir = args.work_dir or os.path.join(REPO, "bench", "results", "tmp",
                                             f"{args.name}-{stamp.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(output_dir, exist_ok=True)
    os.makedirs(work_dir, exist_ok=True)

    log = processes.log
    processes.stop_on_sigterm()

    ctx = Context(bin_dir=os.path.join(os.path.abspath(args.build_dir), "bin"),
                  peers_dir=os.path.join(REPO, "bench", "peers"),
                  symbols_file=os.path.abspath(args.symbols_file), template=args.template,
                  work_dir=os.path.abspath(work_dir), duration=args.duration, warm_up=args.warm_up,
                  max_rss_bytes=args.max_rss_mib * runner.MIB)
    try:
        implementations.check_available(args.impls, ctx)
    except RuntimeError as e:
        log(f"bench/compare: {e}")
        return 2
    ports = assign_ports(args)
    wanted = [p for ps in ports.values() for p in (ps.sim, ps.server, ps.relay_metrics, ps.load_metrics)]
    if not processes.refuse_busy_ports(wanted, "bench/compare", log,
                                       "--base-port / --metrics-base-port / --relay-metrics-port"):
        return 2

    load_before = processes.load_average()
    planned = len(args.points) * len(args.impls)
    log(f"bench/compare: {len(args.impls)} implementation(s) × {len(args.points)} point(s), "
        f"{args.warm_up:g} s warm-up + {args.duration:g} s each; load average {load_before[0]:.2f}; "
        f"logs in {work_dir}")
    if load_before[0] > BUSY_LOAD_AVERAGE:
        log(f"bench/compare: note: the machine is busy (load average {load_before[0]:.2f}); other work on CPU 0 "
            "and 1 will show up as latency and lost throughput. For figures to publish, run on a quiet machine.")
    log("metrics: " + ", ".join(f"{name} on :{p.load_metrics}" for name, p in ports.items())
        + (f"; tickrelayd on :{ports['tickrelay'].relay_metrics}" if "tickrelay" in ports else ""))

    results, saturated_at = [], {}
    children = processes.Children(work_dir)
    interrupted = False
    started = time.monotonic()
    try:
        n = 0
        for point in args.points:
            log(f"== {report.point_title(point)}")
            for impl in args.impls:
                n += 1
                if not point.always and impl.name in saturated_at and point.offered > saturated_at[impl.name]:
                    note = f"saturated at {saturated_at[impl.name]:,} msgs/s offered"
                    results.append({"impl": impl.name, "shape": impl.shape, "library": impl.library,
                                    "point": point.label, "clients": point.clients, "rate": point.rate,
                                    "offered_msgs_per_second": point.offered, "status": "skipped", "note": note,
                                    "saturated": True, "saturation_reasons": ["skipped"]})
                    log(f"  [{n}/{planned}] {impl.name:<19} skipped: {note}")
                    continue
                r = runner.run_point(ctx, children, impl, point, ports[impl.name], log)
                results.append(r)
                log(f"  [{n}/{planned}] {impl.name:<19} {one_line(r)}")
                if r["saturated"]:
                    saturated_at.setdefault(impl.name, point.offered)
    except KeyboardInterrupt:
        interrupted = True
        log("bench/compare: interrupted; stopping every process it started")
    finally:
        children.stop_all()
    elapsed = time.monotonic() - started

    report.add_ratios(results)
    doc = {
        "tool": "bench/compare",
        "title": args.title or ("tickrelay and the study's relays: quick run" if args.quick
                                else "tickrelay and the study's relays, same machine, same load"),
        "date": stamp.strftime("%Y-%m-%d %H:%M"),
        "command": "bench/compare " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
        "interrupted": interrupted,
        "elapsed_s": round(elapsed, 1),
        "host": {"cpus": os.cpu_count(), "kernel": f"{platform.system()} {platform.release()}",
                 "commit": git_commit(), "load_before": load_before, "load_after": processes.load_average()},
        "settings": {"duration_s": args.duration, "warm_up_s": args.warm_up, "streams": 346,
                     "template": args.template, "symbols_file": os.path.relpath(ctx.symbols_file, REPO),
                     "upstream": "tickrelay-sim --plain, USD-M paths (/market), timeUnit=MICROSECOND",
                     "server_cpu": 0, "load_and_simulator_cpu": 1,
                     "tickrelay_client_queue_bytes": implementations.CLIENT_QUEUE_BYTES,
                     "delivered_min_pct": runner.DELIVERED_MIN_PCT, "p99_max_ms": runner.P99_MAX_MS,
                     "load_side_busy_pct": runner.LOAD_SIDE_BUSY_PCT, "server_room_pct": runner.SERVER_ROOM_PCT,
                     "max_rss_mib": args.max_rss_mib},
        "implementations": [{"name": i.name, "shape": i.shape, "library": i.library} for i in args.impls],
        "points": [{"label": p.label, "clients": p.clients, "rate": p.rate, "offered_msgs_per_second": p.offered}
                   for p in args.points],
        "results": results,
        "saturation": report.saturation(results, args.impls, args.points),
    }
    chart_files = []
    if not args.no_charts:
        chart_files = charts.write(doc, args.impls, output_dir, args.name)
    md_path = os.path.join(output_dir, f"{args.name}.md")
    json_path = os.path.join(output_dir, f"{args.name}.json")
    report.write(doc, args.points, md_path, json_path, chart_files)
    log(f"bench/compare: {elapsed:.0f} s; wrote {md_path}, {json_path}"
        + "".join(f", {os.path.join(output_dir, f)}" for _, f in chart_files))
    if interrupted:
        return 130
    return 1 if any(r["status"] == "failed" for r in results) else 0
