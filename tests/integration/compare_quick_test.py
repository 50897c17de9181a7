#!/usr/bin/python3
"""bench/compare end to end, on the real programs over loopback.

- `--quick` runs every implementation once at a light point: each one must
  deliver messages with microsecond E, and every figure of the report must be
  there (JSON, Markdown, PNG charts). Nothing is asserted about speed.
- Busy ports: the harness refuses to start and says which port.
- Ctrl-C (SIGINT) while a point runs: the harness stops every process it
  started and exits 130.

Usage: compare_quick_test.py --repo DIR --build-dir DIR
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

# The harness's own bounds make a quick run finish in about a minute; these
# only stop a hung run from hanging the test suite.
QUICK_TIMEOUT_S = 420
INTERRUPT_TIMEOUT_S = 120

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from comparison import processes, report  # noqa: E402  (the harness's own helpers; the figures its report promises)

IMPLS = ["tickrelay", "ws_per_client", "ws_fanout", "tornado_per_client", "tornado_fanout", "node_ws_fanout"]


def harness(options, *extra):
    return [os.path.join(options.repo, "bench", "compare"), "--build-dir", options.build_dir, *extra]


def check_quick(options, tmp):

    out_dir, work_dir = os.path.join(tmp, "out"), os.path.join(tmp, "work")
    done = subprocess.run(harness(options, "--quick", "--output-dir", out_dir, "--work-dir", work_dir,
                                  "--base-port", "0", "--metrics-base-port", "0"),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=QUICK_TIMEOUT_S)
    print(done.stdout)
    print(done.stderr, file=sys.stderr)
    assert done.returncode == 0, f"bench/compare --quick exited {done.returncode}"

    with open(os.path.join(out_dir, "compare-quick.json"), encoding="utf-8") as f:
        doc = json.load(f)
    for key in ("date", "command", "host", "settings", "points", "results", "saturation"):
        assert key in doc, f"report has no {key}"
    assert doc["host"]["load_before"] and doc["host"]["load_after"]
    assert [r["impl"] for r in doc["results"]] == IMPLS, [r["impl"] for r in doc["results"]]
    for r in doc["results"]:
        name = r["impl"]
        assert r["status"] == "ok", f"{name}: {r['status']} {r.get('note')}"
        for side, keys in report.REQUIRED.items():
            for key in keys:
                value = r[side].get(key)
                assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{name}: {side}.{key} = {value!r}"
        client, server = r["client"], r["server"]
        assert client["messages"] > 0, f"{name} delivered no message"
        assert client["millisecond_times"] == 0, f"{name}: E arrived in milliseconds"
        assert client["connections_up_end"] == r["clients"], f"{name}: {client['connections_up_end']} clients up"
        assert server["rss_peak_mib"] > 0 and server["threads"] >= 1, f"{name}: no /proc figures of the server"
        assert r["load_report"]["targets"][0]["server"]["samples"] > 0, f"{name}: server never sampled"
        assert r["load_report"]["warm_up_seconds"] > 0, f"{name}: the warm-up was counted in the figures"
        if name == "tickrelay":
            assert server["threads"] == 1, f"tickrelayd runs {server['threads']} threads"
            assert r["relay"]["client_disconnects"].get("slow_consumer", 0) == 0
        else:
            ratios = r["ratio_to_tickrelay"]
            assert ratios is not None, f"{name}: no ratios to tickrelay"
            for side, keys in (("server", ["cpu_percent", "rss_peak_mib", "throughput_msgs_per_second"]),
                               ("client", ["latency_p99_ms", "throughput_msgs_per_second"])):
                for key in keys:
                    assert ratios[side].get(key) is not None, f"{name}: no ratio for {side}.{key}"
    assert {row["impl"] for row in doc["saturation"]} == set(IMPLS)

    with open(os.path.join(out_dir, "compare-quick.md"), encoding="utf-8") as f:
        md = f.read()
    for _, title, _ in report.SERVER_FIGURES + report.CLIENT_FIGURES:
        assert f" {title} |" in md, f"Markdown has no column {title!r}"
    for name in IMPLS:
        assert md.count(f"| `{name}` |") == 2, f"Markdown lacks the server and client rows of {name}"
    for chart in ("compare-quick-throughput.png", "compare-quick-p99.png"):
        with open(os.path.join(out_dir, chart), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{chart} is not a PNG"
        assert f"]({chart})" in md, f"Markdown does not show {chart}"


def check_busy_port(options, tmp):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(harness(options, "--quick", "--impl", "tickrelay", "--base-port", str(port),
                                      "--metrics-base-port", "0", "--output-dir", os.path.join(tmp, "busy"),
                                      "--work-dir", os.path.join(tmp, "busy-work")),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, f"exit {done.returncode} with port {port} busy: {done.stdout}"
    assert str(port) in done.stdout and "in use" in done.stdout, done.stdout


def check_interrupt(options, tmp):
    proc = subprocess.Popen(harness(options, "--quick", "--impl", "ws_fanout", "--duration", "60",
                                    "--base-port", "0", "--metrics-base-port", "0",
                                    "--output-dir", os.path.join(tmp, "int"), "--work-dir", os.path.join(tmp, "int-work")),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Simulator, peer and a load client: three children once measuring.
        deadline = time.monotonic() + INTERRUPT_TIMEOUT_S
        started = []
        while len(started) < 3 and time.monotonic() < deadline and proc.poll() is None:
            started = processes.children_of(proc.pid)
            time.sleep(0.2)
        assert len(started) >= 3, f"harness started {started} (exit {proc.poll()})"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=INTERRUPT_TIMEOUT_S)
        print(output)
        assert proc.returncode == 130, f"exit {proc.returncode} after SIGINT"
        left = [pid for pid in started if processes.alive(pid)]
        assert not left, f"processes left running after SIGINT: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--build-dir", required=True)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compare-test-") as tmp:
        for check in (check_busy_port, check_quick, check_interrupt):
            print(f"--- {check.__name__}", flush=True)
            check(options, tmp)
    print("ok")


if __name__ == "__main__":
    main()
