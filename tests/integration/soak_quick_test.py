#!/usr/bin/python3
"""bench/soak end to end, short and small, on the real programs over loopback.

About a minute with 100 steady clients and 20 churn clients a second, every
fault at least once (upstream drop, reload, slow consumer): the run must end
by itself, no process may die, every reload must be applied, and every
figure of the summary must be in the JSON and printed. The verdict itself
is not checked (a minute is too short for a slope to mean anything), nor is
anything about speed.

Usage: soak_quick_test.py --repo DIR --build-dir DIR
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

# The run takes about 80 s; this only stops a hung run from hanging the suite.
TIMEOUT_S = 300
# Exit 0 (no growth) and 1 (growth flagged) are both a run that worked.
RAN = (0, 1)
FIGURES = ("duration_s", "rss_first_kib", "rss_start_kib", "rss_end_kib", "rss_max_kib", "rss_slope_kib_per_hour",
           "fds_start", "fds_end", "fds_max", "fd_slope_per_hour", "queue_bytes_max", "delivered_total",
           "steady_messages", "steady_lost", "steady_duplicates", "steady_reconnects", "steady_errors",
           "churn_opened", "churn_closed", "churn_aborted", "churn_failed", "reloads", "reloads_applied",
           "upstream_drops", "slow_consumers", "slow_consumers_cut")
PRINTED = ("RSS: first", "RSS slope after warm-up:", "open fds:", "queued bytes max:", "delivered (relay):",
           "steady clients:", "churn:", "reloads:", "client disconnects by reason:", "verdict:")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--build-dir", required=True)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-test-") as tmp:
        out = os.path.join(tmp, "out")
        argv = [os.path.join(options.repo, "bench", "soak"), "--build-dir", options.build_dir, "--seconds", "60",
                "--clients", "100", "--churn", "20", "--drop-every", "20", "--reload-every", "20",
                "--slow-every", "40", "--slow-hold", "25", "--sample-every", "2", "--output-dir", out]
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT_S)
        print(done.stdout)
        print(done.stderr, file=sys.stderr)
        assert done.returncode in RAN, f"bench/soak exited {done.returncode}"
        with open(os.path.join(out, "soak.json"), encoding="utf-8") as f:
            doc = json.load(f)
        with open(os.path.join(out, "soak.md"), encoding="utf-8") as f:
            md = f.read()

    assert not doc["died"], f"a process died: {doc['died']}"
    assert not doc["interrupted"]
    summary = doc["summary"]
    assert not summary["failures"], summary["failures"]
    for key in FIGURES:
        assert isinstance(summary.get(key), (int, float)), f"summary {key} is {summary.get(key)!r}"
    assert summary["delivered_total"] > 0 and summary["steady_messages"] > 0, "nothing delivered"
    assert summary["reloads"] >= 1 and summary["reloads"] == summary["reloads_applied"], doc["reloads"]
    assert summary["slow_consumers"] >= 1, "no slow consumer ran"
    assert len(doc["samples"]) >= 10, f"{len(doc['samples'])} samples"
    for prefix in PRINTED:
        assert f"\n{prefix}" in done.stdout, f"not printed: {prefix!r}"
        assert f"- {prefix}" in md, f"not in soak.md: {prefix!r}"
    assert "## Samples" in md
    print("ok")


if __name__ == "__main__":
    main()
