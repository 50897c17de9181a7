"""Node's ws for the Node peer, installed with npm ci from bench/peers' lock
file when that version is not there yet. Used by the peers' test and by
bench/compare; standard library only."""

import fcntl
import json
import os
import shutil
import subprocess
import time

NPM_ATTEMPTS = 2
NPM_TIMEOUT_S = 90
NPM_LOCK_WAIT_S = 200


def ensure_node_ws(peers_dir):
    """Installs the peers' locked npm packages unless they are there already."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are needed for node_ws_fanout (Debian: nodejs npm)")
    lock_path = os.path.join(peers_dir, "package-lock.json")
    with open(lock_path, encoding="utf-8") as f:
        locked = json.load(f)["packages"]["node_modules/ws"]["version"]

    def installed():
        try:
            with open(os.path.join(peers_dir, "node_modules", "ws", "package.json"), encoding="utf-8") as f:
                return json.load(f).get("version") == locked
        except (OSError, ValueError):
            return False

    if installed():
        return
    # Another test run may be installing right now: take turns on the lock file.
    with open(lock_path, "rb") as lock:
        deadline = time.monotonic() + NPM_LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{lock_path} stayed locked for {NPM_LOCK_WAIT_S} s")
                time.sleep(0.2)
        try:
            failures = []
            # npm retries each fetch itself; these keep one attempt well inside
            # NPM_TIMEOUT_S when the registry is unreachable.
            env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false",
                       npm_config_audit="false", npm_config_fetch_retries="2",
                       npm_config_fetch_retry_mintimeout="2000", npm_config_fetch_retry_maxtimeout="10000")
            for attempt in range(NPM_ATTEMPTS):
                if installed():
                    return
                # The cache first; a second attempt asks the registry, in case
                # the cached copy was the problem.
                cache = "--prefer-offline" if attempt == 0 else "--prefer-online"
                try:
                    done = subprocess.run(["npm", "ci", cache, "--no-audit", "--no-fund"],
                                          cwd=peers_dir, env=env, stdin=subprocess.DEVNULL,
                                          capture_output=True, text=True, timeout=NPM_TIMEOUT_S)
                    if done.returncode != 0:
                        failures.append(f"npm ci exited {done.returncode}: {done.stderr[-1000:]}")
                except subprocess.TimeoutExpired:
                    failures.append(f"npm ci took over {NPM_TIMEOUT_S} s")
            if not installed():
                raise RuntimeError("could not install ws for node_ws_fanout: " + " | ".join(failures))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
