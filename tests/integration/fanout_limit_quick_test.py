#!/usr/bin/python3
"""bench/fanout_limit end to end at a light point, on the real programs over loopback.

Every part runs once, small: raw_relay and tickrelayd must both deliver, the
idle part must connect its clients and read both VmRSS figures, the wss/ws
pair must deliver over TLS and plain, and every figure of the report must
be there. perf stat's figures are checked only where perf may count
system calls. Nothing is asserted about speed.

Usage: fanout_limit_quick_test.py --repo DIR --build-dir DIR
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

# The run itself takes about half a minute; this only stops a hung run from
# hanging the test suite.
TIMEOUT_S = 300
FIGURES = ("delivered_msgs_per_second", "latency_p50_ms", "latency_p99_ms", "latency_p999_ms", "relay_cpu_percent",
           "cpu_us_per_message")
PERF_FIGURES = ("sends_per_second", "messages_per_send", "upstream_reads_per_second")


def perf_counts_syscalls():
    try:
        done = subprocess.run(["perf", "stat", "-x,", "-e", "syscalls:sys_enter_sendto", "--", "true"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--build-dir", required=True)
    options = parser.parse_args()
    perf = perf_counts_syscalls()
    with tempfile.TemporaryDirectory(prefix="fanout-limit-test-") as tmp:
        argv = [os.path.join(options.repo, "bench", "fanout_limit"), "--build-dir", options.build_dir,
                "--clients", "5", "--rate", "200", "--duration", "2", "--warm-up", "1", "--idle-clients", "50",
                "--tls-clients", "5", "--tls-rate", "200", "--base-port", "0", "--metrics-base-port", "0",
                "--output-dir", os.path.join(tmp, "out"), "--work-dir", os.path.join(tmp, "work")]
        if not perf:
            argv.append("--no-perf")
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT_S)
        print(done.stdout)
        print(done.stderr, file=sys.stderr)
        assert done.returncode == 0, f"bench/fanout_limit exited {done.returncode}"
        with open(os.path.join(tmp, "out", "fanout-limit.json"), encoding="utf-8") as f:
            doc = json.load(f)
        with open(os.path.join(tmp, "out", "fanout-limit.md"), encoding="utf-8") as f:
            md = f.read()

    assert [r["impl"] for r in doc["points"]] == ["raw_relay", "tickrelay"], [r["impl"] for r in doc["points"]]
    assert [r["variant"] for r in doc["tls"]] == ["ws", "wss"], [r["variant"] for r in doc["tls"]]
    for r in doc["points"] + doc["tls"]:
        name = f"{r['impl']} {r['variant']}"
        assert r["status"] == "ok", f"{name}: {r['status']} {r.get('note')}"
        assert r["client"]["millisecond_times"] == 0, f"{name}: E not in microseconds"
        for key in FIGURES + (PERF_FIGURES if perf else ()):
            value = r["figures"].get(key)
            assert isinstance(value, (int, float)), f"{name}: {key} is {value!r}"
        assert r["figures"]["delivered_msgs_per_second"] > 0, f"{name}: delivered nothing"
    assert [e["impl"] for e in doc["idle"]] == ["raw_relay", "tickrelay"]
    for e in doc["idle"]:
        assert e["status"] == "ok", f"idle {e['impl']}: {e}"
        assert e["connected"] == 50 and isinstance(e["kib_per_client"], (int, float)), e
    for heading in ("## tickrelayd and raw_relay", "## Memory per idle client", "## tickrelayd: wss:// against ws://"):
        assert heading in md, f"report has no {heading!r}"
    print("ok")


if __name__ == "__main__":
    main()
