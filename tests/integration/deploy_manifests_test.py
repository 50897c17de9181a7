#!/usr/bin/python3
"""The scaled-out deployment files (deploy/kubernetes/, deploy/haproxy/), structurally.

Nothing here talks to a cluster; the files must agree with each other and with
the tickrelayd.yaml embedded in their ConfigMaps:

- every YAML under deploy/kubernetes parses (several documents a file); each
  object has apiVersion, kind and metadata.name, once. `*-values.yaml` are Helm
  values, not objects: NATS is a cluster of 3 without JetStream, the
  prometheus-adapter rule serves tickrelay_clients_connected per pod.
- Deployments: the selector matches the template's labels, containers have
  an image, the command reads the mounted tickrelayd.yaml, every ConfigMap
  mounted is shipped (or is the symbols list the README creates).
- Probes: readiness is GET /healthz on the container port that is the
  config's metrics.listen port, liveness GET /livez on its server.listen port;
  both listen on every address, not loopback.
- terminationGracePeriodSeconds exceeds server.shutdown_drain; Guaranteed
  QoS (requests equal limits, whole CPUs); cpu_affinity -1.
- Services and PodDisruptionBudgets select one Deployment each, targetPorts
  are container ports; the HPA (autoscaling/v2) scales the edge Deployment on
  the Pods metric tickrelay_clients_connected.
- The ingest: two replicas, required anti-affinity on the node's hostname,
  backbone.nats.publish true, a Binance upstream. The edge: an upstream of type
  nats offering the ingest's streams, backbone.nats.urls naming the NATS
  chart's servers, max_clients_per_ip 0.
- HAProxy: `haproxy -c` accepts deploy/haproxy/haproxy.cfg; leastconn, health
  checks GET /healthz on the edges' metrics port, servers on their client
  port, and nothing that cuts a draining edge's sessions.

Run: deploy_manifests_test.py --source-dir .
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

HAPROXY = "/usr/sbin/haproxy"
TIMEOUT_S = 60
# A server.shutdown_drain left out of a config.
DEFAULT_SHUTDOWN_DRAIN_S = 5.0
# ConfigMaps that deploy/README.md creates from a file with
# `kubectl create configmap`, by name: the key they hold, the file it comes from.
EXTERNAL_CONFIGMAPS = {"tickrelay-symbols": ("usdt-pairs.txt", os.path.join("config", "usdt-pairs.txt"))}
BACKBONE_NATS_KEYS = {"urls", "name", "publish", "subject_prefix", "unsubscribe_grace"}
CONFIG_KEY = "tickrelayd.yaml"

ARGS = None


def source_path(*parts):
    return os.path.join(ARGS.source_dir, *parts)


def parse_duration(value):
    """A tickrelayd duration (30, 30s, 250ms, 5m, 23h50m) in seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError("not a duration: %r" % value)
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(int(n) * scale[u] for n, u in parts)


def listen_port(address):
    """(host, port) of an IP:PORT or [v6]:PORT listen address."""
    host, _, port = str(address).rpartition(":")
    return host.strip("[]"), int(port)


def load_manifests():
    """{path: [documents]} of every YAML under deploy/kubernetes."""
    root = source_path("deploy", "kubernetes")
    paths = sorted(glob.glob(os.path.join(root, "*.yaml")) + glob.glob(os.path.join(root, "*.yml")))
    files = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            files[path] = [doc for doc in yaml.safe_load_all(f) if doc is not None]
    return files


def is_helm_values(path):
    return os.path.basename(path).endswith(("-values.yaml", "-values.yml"))


def selects(selector, labels):
    """Whether matchLabels all appear in labels (matchExpressions are not used here)."""
    match = (selector or {}).get("matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def resolve_port(container, port):
    """A probe's or targetPort's port (a name or a number) as a container port number, or None."""
    for p in container.get("ports") or []:
        if port == p.get("name") or port == p.get("containerPort"):
            return p["containerPort"]
    return None


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = load_manifests()
        cls.objects = [doc for path, docs in cls.files.items() if not is_helm_values(path) for doc in docs]
        cls.values = {os.path.basename(p): docs for p, docs in cls.files.items() if is_helm_values(p)}

    def kind(self, kind):
        return [o for o in self.objects if isinstance(o, dict) and o.get("kind") == kind]

    def config_map(self, name):
        found = [c for c in self.kind("ConfigMap") if c["metadata"]["name"] == name]
        return found[0] if found else None

    def mounted_config_maps(self, deployment):
        names = []
        for volume in deployment["spec"]["template"]["spec"].get("volumes") or []:
            if "configMap" in volume:
                names.append(volume["configMap"]["name"])
            for source in (volume.get("projected") or {}).get("sources") or []:
                if "configMap" in source:
                    names.append(source["configMap"]["name"])
        return names

    def relay_config(self, deployment):
        """The tickrelayd.yaml a Deployment mounts, parsed."""
        name = deployment["metadata"]["name"]
        embedded = []
        for cm_name in self.mounted_config_maps(deployment):
            cm = self.config_map(cm_name)
            if cm is not None and CONFIG_KEY in (cm.get("data") or {}):
                embedded.append(cm["data"][CONFIG_KEY])
        self.assertEqual(len(embedded), 1, "%s mounts one ConfigMap holding %s" % (name, CONFIG_KEY))
        config = yaml.safe_load(embedded[0])
        self.assertIsInstance(config, dict, name)
        return config

    def test_every_relay_config_passes_tickrelayd_check_config(self):
        """The relay itself validates each ConfigMap's tickrelayd.yaml, beside the symbols file it names."""
        tickrelayd = os.path.join(ARGS.bin_dir or "", "tickrelayd")
        if not ARGS.bin_dir or not os.access(tickrelayd, os.X_OK):
            self.skipTest("no --bin-dir with tickrelayd: the configs are checked structurally only")
        for d in self.kind("Deployment"):
            embedded = [self.config_map(n)["data"][CONFIG_KEY] for n in self.mounted_config_maps(d)
                        if self.config_map(n) is not None and CONFIG_KEY in (self.config_map(n).get("data") or {})]
            with tempfile.TemporaryDirectory(prefix="deploy_manifests.") as folder:
                path = os.path.join(folder, CONFIG_KEY)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(embedded[0])
                shutil.copy(source_path("config", "usdt-pairs.txt"), folder)
                result = subprocess.run([tickrelayd, "--check-config", path], capture_output=True, text=True,
                                        timeout=30)
                self.assertEqual(result.returncode, 0, "%s: %s%s" % (d["metadata"]["name"], result.stdout,
                                                                     result.stderr))

    def deployments_by_role(self):
        """{'ingest': deployment, 'edge': deployment}, told apart by their configs."""
        roles = {}
        for d in self.kind("Deployment"):
            config = self.relay_config(d)
            nats = (config.get("backbone") or {}).get("nats") or {}
            role = "ingest" if nats.get("publish") is True else "edge"
            self.assertNotIn(role, roles, "one %s Deployment" % role)
            roles[role] = (d, config)
        self.assertEqual(set(roles), {"ingest", "edge"})
        return roles

    def containers(self, deployment):
        return deployment["spec"]["template"]["spec"]["containers"]

    def test_every_file_parses_and_every_object_is_named(self):
        self.assertTrue(self.files, "no YAML under deploy/kubernetes")
        for path, docs in self.files.items():
            self.assertTrue(docs, "%s holds no document" % path)
        seen = set()
        for obj in self.objects:
            self.assertIsInstance(obj, dict)
            for key in ("apiVersion", "kind", "metadata"):
                self.assertIn(key, obj, obj)
            self.assertTrue(obj["metadata"].get("name"), obj)
            key = (obj["kind"], obj["metadata"]["name"])
            self.assertNotIn(key, seen, "%s %s defined twice" % key)
            seen.add(key)
        self.assertEqual({"nats-values.yaml", "prometheus-adapter-values.yaml"} - set(self.values), set())

    def test_deployments_select_their_pods_and_mount_what_is_shipped(self):
        deployments = self.kind("Deployment")
        self.assertEqual(len(deployments), 2)
        for d in deployments:
            name = d["metadata"]["name"]
            self.assertEqual(d["apiVersion"], "apps/v1", name)
            labels = d["spec"]["template"]["metadata"]["labels"]
            self.assertTrue(selects(d["spec"]["selector"], labels), "%s: selector must match template labels" % name)
            for c in self.containers(d):
                self.assertTrue(c.get("image"), "%s/%s has no image" % (name, c.get("name")))
            for cm_name in self.mounted_config_maps(d):
                if self.config_map(cm_name) is None:
                    self.assertIn(cm_name, EXTERNAL_CONFIGMAPS, "%s mounts ConfigMap %s, which is nowhere" % (name, cm_name))
            config = self.relay_config(d)
            # The command reads the file where the ConfigMap is mounted.
            (c,) = self.containers(d)
            command = (c.get("command") or []) + (c.get("args") or [])
            self.assertIn("--config", command, name)
            config_path = command[command.index("--config") + 1]
            mounts = {m["mountPath"].rstrip("/") for m in c.get("volumeMounts") or []}
            self.assertIn(os.path.dirname(config_path), mounts, name)
            self.assertEqual(os.path.basename(config_path), CONFIG_KEY, name)
            # Symbol files come from the external ConfigMap, made from the repo's file.
            for upstream in config["upstreams"]:
                if "symbols_file" in upstream:
                    keys = {key for key, _ in EXTERNAL_CONFIGMAPS.values()}
                    self.assertIn(upstream["symbols_file"], keys, name)
        for key, path in EXTERNAL_CONFIGMAPS.values():
            self.assertTrue(os.path.isfile(source_path(path)), path)

    def test_probes_point_at_the_configured_ports(self):
        for role, (d, config) in self.deployments_by_role().items():
            (c,) = self.containers(d)
            client_host, client_port = listen_port(config["server"]["listen"])
            metrics_host, metrics_port = listen_port(config["metrics"]["listen"])
            # The kubelet probes the pod's address, so loopback would fail.
            self.assertIn(client_host, ("0.0.0.0", "::"), role)
            self.assertIn(metrics_host, ("0.0.0.0", "::"), role)
            ready = c.get("readinessProbe", {}).get("httpGet")
            live = c.get("livenessProbe", {}).get("httpGet")
            self.assertIsNotNone(ready, "%s: readinessProbe httpGet" % role)
            self.assertIsNotNone(live, "%s: livenessProbe httpGet" % role)
            self.assertEqual(ready["path"], "/healthz", role)
            self.assertEqual(resolve_port(c, ready["port"]), metrics_port, "%s: readiness on metrics.listen's port" % role)
            self.assertEqual(live["path"], "/livez", role)
            self.assertEqual(resolve_port(c, live["port"]), client_port, "%s: liveness on server.listen's port" % role)

    def test_pods_outlast_the_drain_and_get_guaranteed_cores(self):
        for role, (d, config) in self.deployments_by_role().items():
            spec = d["spec"]["template"]["spec"]
            drain = parse_duration(config.get("server", {}).get("shutdown_drain", DEFAULT_SHUTDOWN_DRAIN_S))
            self.assertGreater(spec.get("terminationGracePeriodSeconds", 30), drain, role)
            self.assertEqual(config.get("cpu_affinity"), -1, "%s: the kubelet pins, not the relay" % role)
            for c in spec["containers"]:
                resources = c.get("resources") or {}
                requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
                for what in ("cpu", "memory"):
                    self.assertIn(what, requests, role)
                    self.assertEqual(str(requests[what]), str(limits.get(what)), "%s: %s requests == limits" % (role, what))
                self.assertRegex(str(requests["cpu"]), r"^[1-9][0-9]*$", "%s: whole CPUs" % role)

    def test_services_target_container_ports(self):
        services = self.kind("Service")
        self.assertTrue(services)
        for s in services:
            name = s["metadata"]["name"]
            matched = [d for d in self.kind("Deployment")
                       if selects({"matchLabels": s["spec"]["selector"]}, d["spec"]["template"]["metadata"]["labels"])]
            self.assertEqual(len(matched), 1, "%s selects one Deployment" % name)
            (c,) = self.containers(matched[0])
            for port in s["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                self.assertIsNotNone(resolve_port(c, target), "%s: targetPort %s is no container port" % (name, target))
        edge, config = self.deployments_by_role()["edge"]
        (c,) = self.containers(edge)
        edge_services = [s for s in services
                         if selects({"matchLabels": s["spec"]["selector"]}, edge["spec"]["template"]["metadata"]["labels"])]
        self.assertEqual(len(edge_services), 1)
        served = {resolve_port(c, p.get("targetPort", p["port"])) for p in edge_services[0]["spec"]["ports"]}
        self.assertIn(listen_port(config["server"]["listen"])[1], served)
        self.assertIn(listen_port(config["metrics"]["listen"])[1], served)

    def test_hpa_scales_edges_on_connected_clients(self):
        (hpa,) = self.kind("HorizontalPodAutoscaler")
        self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
        edge, _ = self.deployments_by_role()["edge"]
        target = hpa["spec"]["scaleTargetRef"]
        self.assertEqual((target["kind"], target["name"]), ("Deployment", edge["metadata"]["name"]))
        self.assertNotIn("replicas", edge["spec"], "the HPA owns the edge count")
        pods = [m["pods"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
        self.assertEqual(len(pods), 1)
        self.assertEqual(pods[0]["metric"]["name"], "tickrelay_clients_connected")
        self.assertEqual(pods[0]["target"]["type"], "AverageValue")
        self.assertGreater(float(pods[0]["target"]["averageValue"]), 0)
        self.assertLessEqual(hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"])
        # The adapter serves the metric under the same name.
        rules = self.values["prometheus-adapter-values.yaml"][0]["rules"]["custom"]
        self.assertTrue(any("tickrelay_clients_connected" in r["seriesQuery"] and
                            r["name"].get("as") == "tickrelay_clients_connected" and
                            r["resources"]["overrides"]["pod"]["resource"] == "pod" for r in rules))

    def test_disruption_budgets_cover_both_roles(self):
        covered = set()
        for pdb in self.kind("PodDisruptionBudget"):
            self.assertEqual(pdb["apiVersion"], "policy/v1")
            matched = [d for d in self.kind("Deployment")
                       if selects(pdb["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
            self.assertEqual(len(matched), 1, pdb["metadata"]["name"])
            covered.add(matched[0]["metadata"]["name"])
        roles = self.deployments_by_role()
        self.assertEqual(covered, {roles["ingest"][0]["metadata"]["name"], roles["edge"][0]["metadata"]["name"]})

    def test_ingests_publish_from_separate_nodes(self):
        d, config = self.deployments_by_role()["ingest"]
        self.assertEqual(d["spec"]["replicas"], 2)
        self.assertIs(config["backbone"]["nats"]["publish"], True)
        self.assertLessEqual(set(config["backbone"]["nats"]), BACKBONE_NATS_KEYS)
        self.assertTrue(config["backbone"]["nats"]["urls"])
        self.assertTrue(config["upstreams"])
        for upstream in config["upstreams"]:
            self.assertNotEqual(upstream.get("type"), "nats")
            self.assertRegex(upstream["url"], r"^wss?://")
        template = d["spec"]["template"]
        terms = (template["spec"].get("affinity", {}).get("podAntiAffinity", {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution")) or []
        self.assertTrue(any(t.get("topologyKey") == "kubernetes.io/hostname" and
                            selects(t.get("labelSelector"), template["metadata"]["labels"]) for t in terms),
                        "ingest needs required anti-affinity on kubernetes.io/hostname against itself")

    def test_edges_take_the_ingests_streams_from_nats(self):
        roles = self.deployments_by_role()
        _, edge = roles["edge"]
        _, ingest = roles["ingest"]
        nats = edge["backbone"]["nats"]
        self.assertLessEqual(set(nats), BACKBONE_NATS_KEYS)
        self.assertTrue(nats["urls"])
        self.assertNotEqual(nats.get("publish"), True)
        self.assertEqual(edge["server"]["max_clients_per_ip"], 0, "behind a proxy clients share addresses")
        backbone = [u for u in edge["upstreams"] if u.get("type") == "nats"]
        self.assertTrue(backbone, "edge needs an upstream of type nats")
        for u in backbone:
            self.assertNotIn("url", u)
        offered = {(u["product"], tuple(u["streams"]), u.get("symbols_file")) for u in backbone}
        published = {(u["product"], tuple(u["streams"]), u.get("symbols_file")) for u in ingest["upstreams"]}
        self.assertLessEqual(offered, published, "the edge offers only streams the ingests publish")
        self.assertEqual(nats.get("subject_prefix", "tickrelay"), ingest["backbone"]["nats"].get("subject_prefix", "tickrelay"))
        parse_duration(nats.get("unsubscribe_grace", "30s"))

    def test_nats_chart_values_match_the_relays_urls(self):
        values = self.values["nats-values.yaml"][0]
        cluster = values["config"]["cluster"]
        self.assertIs(cluster["enabled"], True)
        self.assertEqual(cluster["replicas"], 3)
        self.assertIs(values["config"]["jetstream"]["enabled"], False)
        # Release "nats": StatefulSet pods nats-N behind the headless Service nats-headless.
        expected = ["nats://nats-%d.nats-headless:4222" % i for i in range(cluster["replicas"])]
        for role, (_, config) in self.deployments_by_role().items():
            self.assertEqual(config["backbone"]["nats"]["urls"], expected, role)


def haproxy_sections(text):
    """[(section header, [directive lines])] of an HAProxy config, comments dropped."""
    sections = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            sections.append((line.strip(), []))
        elif sections:
            sections[-1][1].append(line.strip())
    return sections


class HAProxyConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = source_path("deploy", "haproxy", "haproxy.cfg")
        with open(cls.path, encoding="utf-8") as f:
            cls.text = f.read()
        cls.sections = haproxy_sections(cls.text)
        with open(source_path("deploy", "kubernetes", "edge.yaml"), encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
        config = yaml.safe_load(cm["data"][CONFIG_KEY])
        cls.client_port = listen_port(config["server"]["listen"])[1]
        cls.metrics_port = listen_port(config["metrics"]["listen"])[1]

    def section(self, header):
        found = [lines for h, lines in self.sections if h == header]
        self.assertEqual(len(found), 1, header)
        return found[0]

    def test_haproxy_accepts_it(self):
        if not os.access(HAPROXY, os.X_OK):
            self.skipTest("%s is not installed (apt install haproxy); config not checked by HAProxy" % HAPROXY)
        check = subprocess.run([HAPROXY, "-c", "-f", self.path], capture_output=True, text=True, timeout=TIMEOUT_S)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_edges_get_clients_by_least_connections_and_ready_checks(self):
        backend = self.section("backend edges")
        self.assertIn("balance leastconn", backend)
        self.assertIn("option httpchk GET /healthz", backend)
        self.assertIn("option redispatch", self.section("defaults") + backend)
        servers = [line.split() for line in backend if line.startswith("server ")]
        self.assertGreaterEqual(len(servers), 2)
        for words in servers:
            self.assertEqual(int(words[2].rpartition(":")[2]), self.client_port, words)
            self.assertIn("check", words)
            self.assertEqual(int(words[words.index("port") + 1]), self.metrics_port, "%s: checks on the metrics port" % words)
            for setting, value in (("inter", "1s"), ("fall", "2"), ("rise", "2")):
                self.assertEqual(words[words.index(setting) + 1], value, words)
        # A draining edge's sessions must stay when it is marked down.
        self.assertNotRegex(self.text, r"(?m)^[^#]*on-marked-down\s+shutdown-sessions")

    def test_clients_port_timeouts_and_reloads(self):
        frontend = self.section("frontend clients")
        binds = [line.split()[1] for line in frontend if line.startswith("bind ")]
        self.assertEqual([int(b.rpartition(":")[2]) for b in binds], [self.client_port])
        defaults = self.section("defaults")
        for timeout in ("tunnel", "client", "server", "connect", "http-request"):
            self.assertTrue(any(line.startswith("timeout %s " % timeout) for line in defaults), timeout)
        self.assertTrue(any(line.startswith("retries ") for line in defaults))
        self.assertTrue(any(line.startswith("hard-stop-after ") for line in self.section("global")))
        stats = self.section("frontend stats")
        self.assertTrue(all(line.split()[1].startswith("127.0.0.1:") for line in stats if line.startswith("bind ")))


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    parser.add_argument("--bin-dir", help="where tickrelayd is, to run --check-config on the ConfigMaps' configs")
    ARGS, rest = parser.parse_known_args()
    program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
