#!/usr/bin/python3
"""The Prometheus config and the Grafana dashboard, checked against the real programs.

FilesTest (no programs): `promtool check config` passes on
deploy/prometheus/prometheus.yml and it scrapes both jobs every second; the
provisioning files, deploy/compose.yaml and the dashboard JSON parse and fit
together; every panel, query and template variable names the provisioned data
source uid; only defined template variables are used; the comparison row
groups every query by impl; the relay and backbone rows follow $instance.

MetricsTest: tickrelay-sim, tickrelayd and tickrelay-load run on loopback;
their /metrics pass `promtool check metrics`; tickrelayd's /metrics keeps the
same series while two waves of clients come and go; every metric name the
dashboard uses is one of the names the programs really export (read from
their /metrics, never from a list kept here).

LiveTest: the simulator, the relay and two load clients (impl "tickrelay"
through the relay, impl "sim-direct" straight to the simulator, each with its
own --metrics-port and --server-pid) run for about 30 s while Debian's
`prometheus` scrapes them with a config made from the shipped one. Then every
expression of every panel and every template variable is evaluated through
Prometheus' HTTP API, with $instance and $impl set to all (.*) and to one
concrete value; an error, an empty result or a result without a number fails.

All on 127.0.0.1; every wait has a deadline and every loop a bound.

Run: dashboard_test.py --bin-dir build/bin --source-dir . [FilesTest|MetricsTest|LiveTest ...]
"""

import argparse
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from comparison import processes  # noqa: E402  (bench/comparison/processes.py, shared with the harness)

HOST = "127.0.0.1"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
NATS_SERVER = "/usr/sbin/nats-server"
DATASOURCES_DIR = "grafana/provisioning/datasources"
DASHBOARDS_PROVIDER_DIR = "grafana/provisioning/dashboards"
DASHBOARD = "grafana/dashboards/tickrelay.json"
PROMETHEUS_CONFIG = "deploy/prometheus/prometheus.yml"
COMPOSE = "deploy/compose.yaml"
RELAY_JOB = "tickrelayd"
LOAD_JOB = "tickrelay-load"

SIM_RATE = "300"  # events/s: enough for every histogram window, light on a shared 2-core machine
SIM_SYMBOLS = "btcusdt,ethusdt"
RELAY_STREAMS = ["btcusdt@aggTrade", "ethusdt@aggTrade", "btcusdt@kline_1h", "ethusdt@kline_1h"]
# How long the live test lets Prometheus scrape before querying: long enough
# for a run to show on the dashboard, well over the widest rate window it uses.
LIVE_RUN_S = 30
# Grafana's interval variables, made concrete. With the 1 s scrape, 10 s holds
# about ten samples, so a rate never lacks the two it needs even when a
# loaded machine delays scrapes.
INTERVALS = {"__rate_interval": "10s", "__interval": "5s", "__range": "30s"}
IMPLS = ("tickrelay", "sim-direct")
BACKBONE_ROW = "Backbone (ingest → NATS → edge)"
# Every load run is ended by the test (SIGTERM, or at teardown); its
# --duration only bounds a run the test failed to end.
LOAD_BOUND_S = 120

START_TIMEOUT_S = 30
EXIT_TIMEOUT_S = 15
HTTP_TIMEOUT_S = 10

OPTIONS = None  # set by main()


def source(path):
    return os.path.join(OPTIONS.source_dir, path)


def program(name):
    return os.path.join(OPTIONS.bin_dir, name)


free_port = processes.free_port


def http_get_ok(port):
    """True once something accepts a TCP connection on port."""
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_for(predicate, what, timeout=START_TIMEOUT_S):
    return processes.wait_for(predicate, what, timeout)


def http_get(port, path):
    """(status, body) of a GET on loopback; (0, "") when nothing answers."""
    return processes.http_get(port, path, timeout=HTTP_TIMEOUT_S)


class Programs:
    """tickrelay-sim, tickrelayd fed by it, and any number of tickrelay-load clients."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.processes = []
        self.sim_port = None
        self.relay = None
        self.relay_port = None
        self.relay_metrics_port = None

    def start(self, name, argv):
        process = processes.Child(name, argv, self.workdir).start()
        self.processes.append(process)
        return process

    def start_sim_and_relay(self):
        self.sim = self.start("sim", [program("tickrelay-sim"), "--plain", "--listen", f"{HOST}:0", "--rate",
                                      SIM_RATE, "--symbols", SIM_SYMBOLS, "--log-level", "warn"])
        words = self.sim.first_line(START_TIMEOUT_S).split()
        if len(words) != 3 or words[0] != "listening" or words[2] != "ws":
            raise AssertionError(f"tickrelay-sim said {' '.join(words)!r}")
        self.sim_port = int(words[1].rsplit(":", 1)[1])
        self.relay_port = free_port()
        self.relay_metrics_port = free_port()
        config = os.path.join(self.workdir, "tickrelayd.yaml")
        with open(config, "w", encoding="utf-8") as f:
            f.write("upstreams:\n"
                    "  - name: sim\n"
                    f"    url: ws://{HOST}:{self.sim_port}\n"
                    "    product: usdm-futures\n"
                    "    time_unit: microsecond\n"
                    f"    streams: {json.dumps(RELAY_STREAMS)}\n"
                    f"server:\n  listen: \"{HOST}:{self.relay_port}\"\n  max_clients_per_ip: 0\n"
                    f"metrics:\n  listen: \"{HOST}:{self.relay_metrics_port}\"\n"
                    "log:\n  level: warn\n")
        self.relay = self.start("tickrelayd", [program("tickrelayd"), "--config", config])

        def healthy():
            if not self.relay.running():
                raise AssertionError(f"tickrelayd exited: {self.relay.output()}")
            return http_get(self.relay_metrics_port, "/healthz")[0] == 200
        wait_for(healthy, "tickrelayd /healthz answering 200")

    def start_backbone(self):
        """nats-server, an ingest relay on the simulator and an edge relay reading it: the backbone row's
        sources. Returns (ingest metrics port, edge client port, edge metrics port, edge pid)."""
        nats_port = free_port()
        self.start("nats-server", [NATS_SERVER, "-a", HOST, "-p", str(nats_port)])
        wait_for(lambda: http_get_ok(nats_port), "nats-server accepting connections")
        streams = json.dumps(RELAY_STREAMS)

        def relay(name, upstream, publish):
            client_port, metrics_port = free_port(), free_port()
            config = os.path.join(self.workdir, f"{name}.yaml")
            with open(config, "w", encoding="utf-8") as f:
                f.write(upstream +
                        f"backbone:\n  nats:\n    urls: [\"nats://{HOST}:{nats_port}\"]\n    name: {name}\n"
                        f"    publish: {'true' if publish else 'false'}\n"
                        f"server:\n  listen: \"{HOST}:{client_port}\"\n  max_clients_per_ip: 0\n"
                        f"metrics:\n  listen: \"{HOST}:{metrics_port}\"\nlog:\n  level: warn\n")
            process = self.start(name, [program("tickrelayd"), "--config", config])
            wait_for(lambda: http_get(metrics_port, "/healthz")[0] == 200, f"{name} /healthz answering 200")
            return process, client_port, metrics_port

        _, _, ingest_metrics = relay("ingest", "upstreams:\n  - name: sim\n"
                                     f"    url: ws://{HOST}:{self.sim_port}\n    product: usdm-futures\n"
                                     f"    time_unit: microsecond\n    streams: {streams}\n", True)
        edge, edge_port, edge_metrics = relay("edge", "upstreams:\n  - name: backbone\n    type: nats\n"
                                              "    product: usdm-futures\n    time_unit: microsecond\n"
                                              f"    streams: {streams}\n", False)
        return ingest_metrics, edge_port, edge_metrics, edge.pid

    def relay_url(self, path):
        return f"ws://{HOST}:{self.relay_port}{path}"

    def sim_url(self, path):
        return f"ws://{HOST}:{self.sim_port}{path}"

    def start_load(self, name, url, impl, server_pid, connections):
        """A tickrelay-load run with its metrics on a fresh port; returns (process, port)."""
        port = free_port()
        process = self.start(name, [program("tickrelay-load"), "--url", url, "--impl", impl, "--server-pid",
                                    str(server_pid), "-c", str(connections), "-d", str(LOAD_BOUND_S),
                                    "--metrics-port", str(port), "-q", "--format", "json", "--output",
                                    os.path.join(self.workdir, f"{name}.json")])

        def flowing():
            if not process.running():
                raise AssertionError(f"{name} exited: {process.output()}")
            samples = parse_exposition(http_get(port, "/metrics")[1])
            up = sum(v for (n, _), v in samples.items() if n == "tickrelay_load_connections")
            received = sum(v for (n, _), v in samples.items() if n == "tickrelay_load_messages_total")
            return up == connections and received > 0
        wait_for(flowing, f"{name}: {connections} connections up and messages arriving")
        return process, port

    def stop_all(self):
        # Clients first, then the relay, then what feeds it.
        for process in reversed(self.processes):
            process.stop(grace=EXIT_TIMEOUT_S)


def parse_exposition(body):
    """Prometheus text format to {(name, sorted label pairs): value}, by prometheus_client's parser."""
    return {(name, tuple(sorted(labels.items()))): value for name, labels, value in processes.metric_samples(body)}


def promtool(*args, stdin=None):
    done = subprocess.run([PROMTOOL, *args], input=stdin, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


# --- the dashboard's queries -------------------------------------------------

def load_dashboard():
    with open(source(DASHBOARD), encoding="utf-8") as f:
        return json.load(f)


def load_yaml_dir(path):
    docs = []
    for name in sorted(os.listdir(source(path))):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(source(path), name), encoding="utf-8") as f:
                docs.append((name, yaml.safe_load(f)))
    return docs


def provisioned_datasource():
    """The one Prometheus data source the provisioning files define."""
    sources = [ds for _, doc in load_yaml_dir(DATASOURCES_DIR) for ds in doc.get("datasources", [])]
    prometheus = [ds for ds in sources if ds.get("type") == "prometheus"]
    if len(prometheus) != 1:
        raise AssertionError(f"expected one provisioned Prometheus data source, found {prometheus}")
    return prometheus[0]


def panels_of(dashboard):
    """Every panel (rows included), with the title of the row it sits under."""
    out = []
    row = None
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            row = panel.get("title")
            out.append((row, panel))
            for inner in panel.get("panels", []):  # a collapsed row holds its panels
                out.append((row, inner))
        else:
            out.append((row, panel))
    return out


def queries_of(dashboard):
    """(row title, panel title, refId, expr) for every panel query."""
    return [(row, panel.get("title"), target.get("refId"), target["expr"])
            for row, panel in panels_of(dashboard) for target in panel.get("targets", [])]


LABEL_VALUES = re.compile(r"^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$")


def variable_query(variable):
    query = variable.get("query")
    return query.get("query") if isinstance(query, dict) else query


def label_values_of(variable):
    match = LABEL_VALUES.match(variable_query(variable) or "")
    if not match:
        raise AssertionError(f"variable {variable['name']}: expected label_values(metric, label), got "
                             f"{variable_query(variable)!r}")
    return match.group(1), match.group(2)


VARIABLE = re.compile(r"\$(?:\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|([a-zA-Z_][a-zA-Z0-9_]*))")


def substitute(expr, values):
    """Replaces $name and ${name} as Grafana would; fails on a variable it has no value for."""
    def replace(match):
        name = match.group(1) or match.group(2)
        if name not in values:
            raise AssertionError(f"unknown variable ${name} in {expr}")
        return values[name]
    return VARIABLE.sub(replace, expr)


PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
                   "group_right", "inf", "nan"}


def metric_names(expr):
    """Metric names a PromQL expression selects: identifiers that are not
    functions, keywords, label names or parts of strings, ranges or numbers."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


# --- tests -------------------------------------------------------------------

class FilesTest(unittest.TestCase):
    """The shipped files alone."""

    def test_prometheus_config_passes_promtool_and_scrapes_every_second(self):
        code, output = promtool("check", "config", source(PROMETHEUS_CONFIG))
        self.assertEqual(code, 0, output)
        with open(source(PROMETHEUS_CONFIG), encoding="utf-8") as f:
            config = yaml.safe_load(f)
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        for name in (RELAY_JOB, LOAD_JOB):
            self.assertIn(name, jobs)
            interval = jobs[name].get("scrape_interval", config.get("global", {}).get("scrape_interval"))
            self.assertEqual(interval, "1s", f"{name} must be scraped every second for live views")
            self.assertTrue(jobs[name].get("static_configs"), f"{name} has no targets")

    def test_dashboard_provider_loads_the_dashboards_folder(self):
        providers = [p for _, doc in load_yaml_dir(DASHBOARDS_PROVIDER_DIR) for p in doc.get("providers", [])]
        self.assertEqual(len(providers), 1, providers)
        self.assertEqual(providers[0]["type"], "file")
        self.assertTrue(providers[0]["options"]["path"].startswith("/"), providers[0])

    def test_compose_mounts_the_shipped_files_where_provisioning_expects_them(self):
        with open(source(COMPOSE), encoding="utf-8") as f:
            services = yaml.safe_load(f)["services"]
        mounts = {}
        for service in services.values():
            for volume in service.get("volumes", []):
                host, container = volume.split(":")[:2]
                if host.startswith("."):
                    path = os.path.normpath(os.path.join(os.path.dirname(source(COMPOSE)), host))
                    self.assertTrue(os.path.exists(path), f"{COMPOSE} mounts {host}, which does not exist")
                    mounts[os.path.relpath(path, OPTIONS.source_dir)] = container
        self.assertEqual(mounts.get(os.path.normpath(PROMETHEUS_CONFIG)), "/etc/prometheus/prometheus.yml")
        self.assertEqual(mounts.get(DATASOURCES_DIR), "/etc/grafana/provisioning/datasources")
        self.assertEqual(mounts.get(DASHBOARDS_PROVIDER_DIR), "/etc/grafana/provisioning/dashboards")
        provider = load_yaml_dir(DASHBOARDS_PROVIDER_DIR)[0][1]["providers"][0]
        self.assertEqual(mounts.get(os.path.dirname(DASHBOARD)), provider["options"]["path"])
        # Grafana reaches Prometheus where the compose file makes it listen.
        listen = next(arg.split("=", 1)[1] for arg in services["prometheus"]["command"]
                      if arg.startswith("--web.listen-address="))
        self.assertEqual(provisioned_datasource()["url"], f"http://{listen}")

    def test_every_panel_names_the_provisioned_datasource(self):
        uid = provisioned_datasource()["uid"]
        self.assertTrue(uid)
        with open(source(DASHBOARD), encoding="utf-8") as f:
            text = f.read()
        self.assertNotIn("${DS_", text, "an exported dashboard's input placeholder; name the uid instead")
        dashboard = json.loads(text)
        self.assertGreaterEqual(dashboard.get("schemaVersion", 0), 38)
        ids = [panel["id"] for _, panel in panels_of(dashboard)]
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")
        panels = [(row, p) for row, p in panels_of(dashboard) if p.get("type") != "row"]
        self.assertTrue(panels)
        for row, panel in panels:
            what = f"{row} / {panel.get('title')}"
            self.assertIsNotNone(row, f"{what}: every panel sits in a row")
            self.assertEqual(panel.get("datasource"), {"type": "prometheus", "uid": uid}, what)
            self.assertTrue(panel.get("targets"), f"{what} has no query")
            for target in panel["targets"]:
                self.assertEqual(target.get("datasource"), {"type": "prometheus", "uid": uid}, what)
                self.assertTrue(target.get("expr", "").strip(), f"{what} {target.get('refId')} has no expr")
            grid = panel["gridPos"]
            self.assertLessEqual(grid["x"] + grid["w"], 24, what)
        for variable in dashboard["templating"]["list"]:
            self.assertEqual(variable.get("datasource"), {"type": "prometheus", "uid": uid}, variable["name"])

    def test_panels_use_only_defined_variables(self):
        dashboard = load_dashboard()
        defined = {v["name"]: ".*" for v in dashboard["templating"]["list"]}
        self.assertEqual(set(defined), {"instance", "impl"})
        for variable in dashboard["templating"]["list"]:
            label_values_of(variable)
            self.assertTrue(variable.get("includeAll") and variable.get("allValue") == ".*", variable["name"])
        for row, panel, ref, expr in queries_of(dashboard):
            substituted = substitute(expr, {**defined, **INTERVALS})
            self.assertNotIn("$", substituted, f"{panel} {ref}")

    def test_comparison_row_shows_every_impl_for_server_and_client(self):
        dashboard = load_dashboard()
        rows = [panel["title"] for _, panel in panels_of(dashboard) if panel.get("type") == "row"]
        self.assertEqual(len(rows), 4, rows)
        comparison = [q for q in queries_of(dashboard) if q[0] == rows[0]]
        relay = [q for q in queries_of(dashboard) if q[0] == rows[1]]
        backbone = [q for q in queries_of(dashboard) if q[0] == rows[2]]
        books = [q for q in queries_of(dashboard) if q[0] == rows[3]]
        for _, panel, ref, expr in comparison:
            self.assertRegex(expr, r"by \((le, )?impl\)", f"{panel} {ref} must show each impl apart")
            self.assertIn('impl=~"$impl"', expr, f"{panel} {ref} must follow the impl variable")
        for _, panel, ref, expr in relay + backbone + books:
            self.assertIn('instance=~"$instance"', expr, f"{panel} {ref} must follow the instance variable")
        # The comparison's figures, server and client side by side.
        used = set().union(*(metric_names(q[3]) for q in comparison))
        for name in ("tickrelay_load_server_cpu_seconds_total", "tickrelay_load_cpu_seconds_total",
                     "tickrelay_load_server_resident_memory_bytes", "tickrelay_load_resident_memory_bytes",
                     "tickrelay_load_latency_seconds_bucket", "tickrelay_load_messages_total"):
            self.assertIn(name, used)
        used = set().union(*(metric_names(q[3]) for q in relay))
        for name in ("tickrelay_clients_connected", "tickrelay_upstream_connected",
                     "tickrelay_upstream_reconnects_total", "tickrelay_upstream_event_lag_seconds_bucket",
                     "tickrelay_relay_latency_seconds_bucket", "tickrelay_client_queue_bytes",
                     "tickrelay_client_disconnects_total", "tickrelay_upstream_gaps_total"):
            self.assertIn(name, used)
        # The backbone row: both ends of NATS, the hop's cost, and the edges' clients.
        used = set().union(*(metric_names(q[3]) for q in backbone))
        for name in ("tickrelay_backbone_connected", "tickrelay_backbone_reconnects_total",
                     "tickrelay_backbone_published_messages_total", "tickrelay_backbone_publish_errors_total",
                     "tickrelay_backbone_received_messages_total", "tickrelay_backbone_duplicates_total",
                     "tickrelay_backbone_subscriptions", "tickrelay_backbone_rtt_seconds_bucket",
                     "tickrelay_upstream_event_lag_seconds_bucket", "tickrelay_clients_connected"):
            self.assertIn(name, used)
        # The order books row: what is kept, resyncs, the REST weight spent, age and memory.
        used = set().union(*(metric_names(q[3]) for q in books))
        for name in ("tickrelay_books", "tickrelay_books_synced", "tickrelay_book_resyncs_total",
                     "tickrelay_book_snapshot_requests_total", "tickrelay_book_snapshot_weight_total",
                     "tickrelay_book_oldest_age_seconds", "tickrelay_book_bytes"):
            self.assertIn(name, used)

    def test_metric_name_extraction(self):
        self.assertEqual(metric_names('histogram_quantile(0.99, sum by (le, impl) (rate(a_bucket{impl=~"x"}[5m])))'),
                         {"a_bucket"})
        self.assertEqual(metric_names('sum by (impl) (group by (job, instance, impl) (b{x="y"}) * on (job, instance) '
                                      'group_left c) * 100'), {"b", "c"})
        self.assertEqual(metric_names("time() - d and on (job, instance) e offset 1m"), {"d", "e"})
        self.assertEqual(metric_names('f{reason!="slow_consumer"} > 1e-3'), {"f"})


class MetricsTest(unittest.TestCase):
    """The running programs' /metrics: valid, bounded, and what the dashboard asks for."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="dashboard_test.")
        cls.programs = Programs(cls.tmp.name)
        try:
            cls.run_scenario()
        except BaseException:
            cls.programs.stop_all()
            cls.tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.programs.stop_all()
        cls.tmp.cleanup()

    @classmethod
    def relay_scrape(cls, clients):
        """tickrelayd's /metrics once it reports this many clients."""
        def scrape():
            status, body = http_get(cls.programs.relay_metrics_port, "/metrics")
            if status != 200:
                return None
            samples = parse_exposition(body)
            return body if samples.get(("tickrelay_clients_connected", ())) == clients else None
        return wait_for(scrape, f"tickrelayd reporting {clients} clients")

    @classmethod
    def run_scenario(cls):
        p = cls.programs
        p.start_sim_and_relay()
        cls.relay_bodies = {"before any client": cls.relay_scrape(0)}
        cls.load_bodies = []
        # Two waves with different paths, stream sets and sizes: the relay's
        # label sets must depend on neither. Each wave ends by SIGTERM once the
        # relay has counted its clients.
        waves = [("wave1", p.relay_url("/ws/btcusdt@aggTrade"), 20),
                 ("wave2", p.relay_url("/stream?streams=ethusdt@aggTrade/btcusdt@kline_1h"), 50)]
        for name, url, connections in waves:
            load, port = p.start_load(name, url, "tickrelay", p.relay.pid, connections)
            cls.relay_bodies[f"{connections} clients connected"] = cls.relay_scrape(connections)
            cls.load_bodies.append(http_get(port, "/metrics")[1])
            code = load.terminate(EXIT_TIMEOUT_S)
            if code != 0:
                raise AssertionError(f"{name} exited with {code}: {load.output()}")
            cls.relay_bodies[f"after {name} left"] = cls.relay_scrape(0)

    def test_metrics_pass_promtool(self):
        for what, body in list(self.relay_bodies.items()) + [("tickrelay-load", b) for b in self.load_bodies]:
            code, output = promtool("check", "metrics", stdin=body)
            self.assertEqual(code, 0, f"{what}: {output}")

    def test_relay_series_stay_the_same_as_clients_come_and_go(self):
        series = {what: set(parse_exposition(body)) for what, body in self.relay_bodies.items()}
        sizes = {what: len(body.splitlines()) for what, body in self.relay_bodies.items()}
        first = next(iter(series))
        for what, keys in series.items():
            self.assertEqual(keys, series[first], f"series {what} differ from {first}: "
                                                  f"{sorted(keys ^ series[first])[:10]}")
        self.assertEqual(len(set(sizes.values())), 1, f"line counts: {sizes}")
        # The client-side figures did move, so the equality is not vacuous.
        during = parse_exposition(self.relay_bodies["50 clients connected"])
        self.assertGreater(during[("tickrelay_delivered_messages_total", ())], 0)

    def test_dashboard_uses_only_exported_metrics(self):
        exported = set()
        for body in list(self.relay_bodies.values()) + self.load_bodies:
            exported |= {name for name, _ in parse_exposition(body)}
        # The families a run with --server-pid must have, so the check below
        # does not pass just because a program printed nothing.
        self.assertIn("tickrelay_build_info", exported)
        self.assertIn("tickrelay_load_server_cpu_seconds_total", exported)
        dashboard = load_dashboard()
        used = {}
        for _, panel, ref, expr in queries_of(dashboard):
            for name in metric_names(expr):
                used.setdefault(name, f"{panel} {ref}")
        for variable in dashboard["templating"]["list"]:
            used.setdefault(label_values_of(variable)[0], f"variable {variable['name']}")
        self.assertTrue(used)
        missing = {name: where for name, where in used.items() if name not in exported}
        self.assertEqual(missing, {}, f"metrics the dashboard uses but no program exports; exported: "
                                      f"{sorted(exported)}")


class LiveTest(unittest.TestCase):
    """Every panel's expression through a real Prometheus scraping the real programs."""

    @classmethod
    def setUpClass(cls):
        for path in (PROMETHEUS, PROMTOOL):
            if not os.access(path, os.X_OK):
                raise AssertionError(f"{path} is missing: install Debian's prometheus package (./dev deps)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="dashboard_live.")
        cls.programs = Programs(cls.tmp.name)
        try:
            cls.start()
        except BaseException:
            cls.programs.stop_all()
            cls.tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.programs.stop_all()
        cls.tmp.cleanup()

    @classmethod
    def start(cls):
        p = cls.programs
        p.start_sim_and_relay()
        streams = "btcusdt@aggTrade/ethusdt@aggTrade/btcusdt@kline_1h"
        _, relay_load_port = p.start_load("load-tickrelay", p.relay_url(f"/stream?streams={streams}"), IMPLS[0],
                                          p.relay.pid, 10)
        _, sim_load_port = p.start_load("load-sim-direct",
                                        p.sim_url(f"/market/stream?streams={streams}&timeUnit=MICROSECOND"),
                                        IMPLS[1], p.sim.pid, 10)
        # The backbone row's sources: an ingest relay and an edge relay with clients of its own.
        ingest_metrics, edge_port, edge_metrics, edge_pid = p.start_backbone()
        # Its clients make the edge subscribe; they are not scraped, so the
        # comparison row keeps its two implementations.
        p.start_load("load-edge", f"ws://{HOST}:{edge_port}/stream?streams={streams}", "edge", edge_pid, 5)
        cls.relay_instance = f"{HOST}:{p.relay_metrics_port}"
        cls.backbone_instances = [f"{HOST}:{ingest_metrics}", f"{HOST}:{edge_metrics}"]
        cls.config = cls.prometheus_config({RELAY_JOB: [cls.relay_instance] + cls.backbone_instances,
                                            LOAD_JOB: [f"{HOST}:{relay_load_port}", f"{HOST}:{sim_load_port}"]})
        cls.port = free_port()
        cls.prometheus = p.start("prometheus", [
            PROMETHEUS, f"--config.file={cls.config}", f"--storage.tsdb.path={os.path.join(cls.tmp.name, 'tsdb')}",
            f"--web.listen-address={HOST}:{cls.port}", "--log.level=warn"])
        started = time.monotonic()

        def ready():
            if not cls.prometheus.running():
                raise AssertionError(f"prometheus exited: {cls.prometheus.output()}")
            return http_get(cls.port, "/-/ready")[0] == 200
        wait_for(ready, "prometheus ready")

        def all_up():
            targets = cls.api("targets")["activeTargets"]
            return len(targets) == 5 and all(t["health"] == "up" for t in targets)
        wait_for(all_up, "prometheus scraping all five targets")
        # Let the run go on for LIVE_RUN_S in all; every program must still be
        # up when the queries are made.
        time.sleep(max(0.0, LIVE_RUN_S - (time.monotonic() - started)))
        for process in p.processes:
            if not process.running():
                raise AssertionError(f"{process.name} exited during the run: {process.output()}")

    @classmethod
    def prometheus_config(cls, targets):
        """The shipped config with each job's targets replaced by this test's ports."""
        with open(source(PROMETHEUS_CONFIG), encoding="utf-8") as f:
            config = yaml.safe_load(f)
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        for name, addresses in targets.items():
            if name not in jobs:
                raise AssertionError(f"{PROMETHEUS_CONFIG} has no job {name}")
            jobs[name]["static_configs"] = [{"targets": addresses}]
        path = os.path.join(cls.tmp.name, "prometheus.yml")
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f)
        return path

    @classmethod
    def api(cls, endpoint, **params):
        """GET on Prometheus' HTTP API; the query endpoint by POST, as Grafana sends long expressions."""
        url = f"http://{HOST}:{cls.port}/api/v1/{endpoint}"
        form = urllib.parse.urlencode(params)
        post = endpoint == "query"
        try:
            with urllib.request.urlopen(url if post else f"{url}?{form}", data=form.encode() if post else None,
                                        timeout=HTTP_TIMEOUT_S) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as e:
            body = e.read().decode()
            answer = json.loads(body) if body.startswith("{") else {"errorType": f"HTTP {e.code}", "error": body}
        if answer.get("status") != "success":
            raise AssertionError(f"{endpoint} {params}: {answer.get('errorType')}: {answer.get('error')}")
        # A warning means Prometheus answered only part of the question.
        if answer.get("warnings"):
            raise AssertionError(f"{endpoint} {params}: warnings {answer['warnings']}")
        return answer["data"]

    def evaluate_all(self, values, rows=None):
        """Every panel query (of `rows`, or all) with these variable values; returns {(panel, refId): result}."""
        results = {}
        problems = []
        for row, panel, ref, expr in queries_of(load_dashboard()):
            if rows is not None and row not in rows:
                continue
            query = substitute(expr, {**values, **INTERVALS})
            try:
                data = self.api("query", query=query)
            except AssertionError as e:
                problems.append(f"{panel} {ref}: {e}")
                continue
            series = data["result"] if data["resultType"] == "vector" else []
            numbers = [float(s["value"][1]) for s in series if math.isfinite(float(s["value"][1]))]
            if not numbers:
                problems.append(f"{panel} {ref}: no number in {data} for {query}")
            results[(panel, ref)] = series
        self.assertEqual(problems, [])
        return results

    def test_every_panel_query_has_data_for_all_instances_and_impls(self):
        results = self.evaluate_all({"instance": ".*", "impl": ".*"})
        dashboard = load_dashboard()
        comparison_row = next(p["title"] for _, p in panels_of(dashboard) if p.get("type") == "row")
        for row, panel, ref, _ in queries_of(dashboard):
            if row == comparison_row:
                impls = {s["metric"].get("impl") for s in results[(panel, ref)]}
                self.assertEqual(impls, set(IMPLS), f"{panel} {ref}: every impl side by side")
        # What the dashboard would show now, for whoever reads the test's output.
        panels = {panel for _, panel, _, _ in queries_of(dashboard)}
        print(f"\n{len(panels)} panels, {len(results)} expressions, every one with data:", file=sys.stderr)
        for (panel, ref), series in results.items():
            shown = ", ".join(f"{s['metric'].get('impl') or s['metric'].get('reason') or ''}={float(s['value'][1]):.4g}"
                              for s in series[:4])
            print(f"  {panel} [{ref}] {len(series)} series: {shown}", file=sys.stderr)

    def test_every_panel_query_has_data_for_one_instance_and_impl(self):
        rows = {row for row, _, _, _ in queries_of(load_dashboard())}
        results = self.evaluate_all({"instance": self.relay_instance, "impl": IMPLS[0]}, rows - {BACKBONE_ROW})
        for (panel, ref), series in results.items():
            for s in series:
                self.assertIn(s["metric"].get("impl", IMPLS[0]), (IMPLS[0],), f"{panel} {ref}")
                self.assertIn(s["metric"].get("instance", self.relay_instance), (self.relay_instance,),
                              f"{panel} {ref}")
        # The backbone row compares an ingest relay with an edge: its panels
        # are checked with just those two selected.
        selected = "|".join(self.backbone_instances)
        results = self.evaluate_all({"instance": selected, "impl": IMPLS[0]}, {BACKBONE_ROW})
        for (panel, ref), series in results.items():
            for s in series:
                self.assertIn(s["metric"].get("instance", self.backbone_instances[0]), self.backbone_instances,
                              f"{panel} {ref}")

    def test_template_variables_list_the_running_programs(self):
        expected = {"instance": {self.relay_instance, *self.backbone_instances}, "impl": set(IMPLS)}
        for variable in load_dashboard()["templating"]["list"]:
            metric, label = label_values_of(variable)
            values = set(self.api(f"label/{label}/values", **{"match[]": metric}))
            self.assertEqual(values, expected[variable["name"]], variable["name"])

    def test_relay_is_healthy_and_single_threaded_during_the_run(self):
        self.assertEqual(http_get(self.programs.relay_metrics_port, "/healthz"), (200, "ok\n"))
        # The client port's liveness answer; readiness is the metrics port's alone.
        self.assertEqual(http_get(self.programs.relay_port, "/livez"), (200, "ok\n"))
        self.assertEqual(http_get(self.programs.relay_port, "/healthz")[0], 426)
        data = self.api("query", query=f'tickrelay_process_threads{{instance="{self.relay_instance}"}}')
        self.assertEqual([s["value"][1] for s in data["result"]], ["1"])


def main():
    global OPTIONS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True, help="where tickrelayd, tickrelay-sim and tickrelay-load are")
    parser.add_argument("--source-dir", required=True, help="the repository (deploy/ and grafana/)")
    OPTIONS, rest = parser.parse_known_args()
    OPTIONS.bin_dir = os.path.abspath(OPTIONS.bin_dir)
    OPTIONS.source_dir = os.path.abspath(OPTIONS.source_dir)
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()
