#!/usr/bin/python3
"""The shipped systemd units (deploy/systemd/) and where `cmake --install` puts them.

- `systemd-analyze verify` passes on tickrelayd.service, tickrelayd.socket and
  an instance of tickrelay-load@.service, with nothing printed. verify needs
  ExecStart= to exist, so it runs on copies whose /usr/bin paths name the
  programs in the build tree (a stand-in for tickrelay-load when it is not
  built).
- `systemd-analyze security --offline` rates tickrelayd.service at or below
  MAX_EXPOSURE (it is a network daemon: the network itself stays open).
- The units agree with the shipped config: LimitNOFILE= covers
  server.max_clients, the socket listens on server.listen's port.
- `cmake --install` into a DESTDIR puts programs in bin/, the config in
  /etc/tickrelay, the units in the systemd unit directory with ExecStart=
  rewritten for the prefix, the sysusers.d entry, the README.

Run: systemd_units_test.py --source-dir . --build-dir build
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

# systemd-analyze security's scale: 0 (locked down) to 10 (exposed); below 2
# is "OK". A daemon that must reach the internet cannot get PrivateNetwork=
# or an IP allow list, which alone costs 0.7.
MAX_EXPOSURE = 2.0
# Descriptors beyond the clients: upstream shards, metrics, journal, slack.
FD_MARGIN = 1024
TIMEOUT_S = 120

ARGS = None
UNITS = ("tickrelayd.service", "tickrelayd.socket", "tickrelay-load@.service")


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, **kwargs)


def unit_settings(path):
    """{key: [values]} of a unit file, every section together."""
    settings = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";", "[")):
                continue
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def shipped_config():
    with open(os.path.join(ARGS.source_dir, "config", "tickrelayd.yaml"), encoding="utf-8") as f:
        return f.read()


def parse_bytes(text):
    """A systemd size such as 3G or 512M, in bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


class UnitFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tickrelay-units-")
        self.systemd_dir = os.path.join(ARGS.source_dir, "deploy", "systemd")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def program(self, name):
        built = os.path.join(ARGS.build_dir, "bin", name)
        if os.access(built, os.X_OK):
            return built
        stand_in = os.path.join(self.tmp, name)
        with open(stand_in, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(stand_in, 0o755)
        return stand_in

    def copy_for_verify(self, unit, as_name=None):
        with open(os.path.join(self.systemd_dir, unit), encoding="utf-8") as f:
            text = f.read()
        for name in ("tickrelayd", "tickrelay-load"):
            text = text.replace("/usr/bin/%s " % name, self.program(name) + " ")
            text = text.replace("/usr/bin/%s\n" % name, self.program(name) + "\n")
        path = os.path.join(self.tmp, as_name or unit)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_verify_passes_silently(self):
        paths = [self.copy_for_verify("tickrelayd.service"), self.copy_for_verify("tickrelayd.socket"),
                 self.copy_for_verify("tickrelay-load@.service", "tickrelay-load@example.service")]
        result = run(["systemd-analyze", "verify"] + paths)
        ours = [line for line in (result.stdout + result.stderr).splitlines() if "tickrelay" in line]
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(ours, [], "verify complains")

    def security(self, root, unit):
        result = run(["systemd-analyze", "security", "--offline=true", "--root=" + root, "--no-pager", unit])
        match = re.search(r"Overall exposure level for %s: ([0-9.]+) (\w+)" % re.escape(unit), result.stdout)
        self.assertIsNotNone(match, result.stdout + result.stderr)
        return float(match.group(1)), match.group(2)

    def test_security_exposure_is_low(self):
        unit_dir = os.path.join(self.tmp, "root", "etc", "systemd", "system")
        os.makedirs(unit_dir)
        for unit in UNITS:
            shutil.copy(os.path.join(self.systemd_dir, unit), unit_dir)
        score, label = self.security(os.path.join(self.tmp, "root"), "tickrelayd.service")
        print("systemd-analyze security tickrelayd.service: %.1f %s" % (score, label))
        self.assertLessEqual(score, MAX_EXPOSURE)
        score, label = self.security(os.path.join(self.tmp, "root"), "tickrelay-load@example.service")
        print("systemd-analyze security tickrelay-load@example.service: %.1f %s" % (score, label))
        self.assertLessEqual(score, MAX_EXPOSURE)

    def test_service_is_what_the_issue_asks(self):
        s = unit_settings(os.path.join(self.systemd_dir, "tickrelayd.service"))
        self.assertEqual(s["Type"], ["notify"])
        self.assertEqual(s["Restart"], ["on-failure"])
        self.assertEqual(s["CPUAffinity"], ["0"])
        self.assertTrue(s.get("WatchdogSec"))
        self.assertIn("/bin/kill -HUP $MAINPID", s["ExecReload"])
        self.assertEqual(s["CapabilityBoundingSet"], [""])
        self.assertNotIn(s.get("User", ["root"])[0], ("", "root"))
        for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "MemoryDenyWriteExecute"):
            self.assertEqual(s.get(key), ["yes"], key)
        self.assertEqual(s["ProtectSystem"], ["strict"])
        self.assertIn("@system-service", s["SystemCallFilter"])

    def test_service_bounds_memory_cores_and_restarts(self):
        s = unit_settings(os.path.join(self.systemd_dir, "tickrelayd.service"))
        self.assertEqual(s.get("LimitCORE"), ["0"])
        high, top = (parse_bytes(s[k][0]) for k in ("MemoryHigh", "MemoryMax"))
        self.assertLess(high, top)
        self.assertGreaterEqual(high, 1 << 30)
        self.assertTrue(s.get("StartLimitIntervalSec"))
        self.assertGreater(int(s["StartLimitBurst"][0]), 0)

    def test_units_agree_with_the_shipped_config(self):
        config = shipped_config()
        max_clients = int(re.search(r"^\s+max_clients:\s*(\d+)", config, re.M).group(1))
        listen_port = re.search(r'^\s+listen:\s*"?[^"\s]*:(\d+)"?', config, re.M).group(1)
        s = unit_settings(os.path.join(self.systemd_dir, "tickrelayd.service"))
        self.assertGreaterEqual(int(s["LimitNOFILE"][0]), max_clients + FD_MARGIN)
        sock = unit_settings(os.path.join(self.systemd_dir, "tickrelayd.socket"))
        self.assertTrue(sock["ListenStream"][0].endswith(":" + listen_port), sock["ListenStream"])
        load = unit_settings(os.path.join(self.systemd_dir, "tickrelay-load@.service"))
        self.assertEqual(load["EnvironmentFile"], ["/etc/tickrelay/load/%i.env"])
        self.assertEqual(load["ExecStart"], ["/usr/bin/tickrelay-load $TICKRELAY_LOAD_ARGS"])

    def install(self, prefix):
        destdir = os.path.join(self.tmp, "dest" + prefix.replace("/", "-"))
        env = dict(os.environ, DESTDIR=destdir)
        result = run(["cmake", "--install", ARGS.build_dir, "--prefix", prefix], env=env)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return destdir

    def unit_dir(self):
        result = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"])
        return result.stdout.strip() or "/lib/systemd/system"

    def test_cmake_install_layout(self):
        for prefix in ("/usr", "/opt/tickrelay"):
            with self.subTest(prefix=prefix):
                dest = self.install(prefix)
                for path in (prefix + "/bin/tickrelayd", prefix + "/bin/tickrelay-sim"):
                    self.assertTrue(os.access(dest + path, os.X_OK), path)
                for path in ("/etc/tickrelay/tickrelayd.yaml", "/etc/tickrelay/usdt-pairs.txt",
                             "/etc/tickrelay/load/example.env", "/usr/lib/sysusers.d/tickrelay.conf",
                             prefix + "/share/doc/tickrelay/README.md"):
                    self.assertTrue(os.path.isfile(dest + path), path)
                if os.path.isdir(os.path.join(ARGS.source_dir, "grafana")):
                    self.assertTrue(os.path.isdir(dest + prefix + "/share/tickrelay/grafana"))
                if os.path.isdir(os.path.join(ARGS.source_dir, "deploy", "prometheus")):
                    self.assertTrue(os.path.isdir(dest + prefix + "/share/tickrelay/prometheus"))
                units = dest + self.unit_dir()
                for unit in UNITS:
                    self.assertTrue(os.path.isfile(os.path.join(units, unit)), unit)
                service = unit_settings(os.path.join(units, "tickrelayd.service"))
                self.assertEqual(service["ExecStart"],
                                 [prefix + "/bin/tickrelayd --config /etc/tickrelay/tickrelayd.yaml"])
                load = unit_settings(os.path.join(units, "tickrelay-load@.service"))
                self.assertEqual(load["ExecStart"], [prefix + "/bin/tickrelay-load $TICKRELAY_LOAD_ARGS"])
                # The installed config is the shipped one, and valid.
                check = run([dest + prefix + "/bin/tickrelayd", "--check-config", dest + "/etc/tickrelay/tickrelayd.yaml"])
                self.assertEqual(check.returncode, 0, check.stdout + check.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    if shutil.which("systemd-analyze") is None:
        print("SKIP: systemd-analyze is not installed")
        return 77
    program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
