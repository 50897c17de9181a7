"""PNG charts of delivered throughput and p99 latency against offered load (Debian's python3-matplotlib)."""

import os

MARKERS = "os^vDP"


def _series(results, impl):
    rows = sorted((r for r in results if r["impl"] == impl and "client" in r), key=lambda r: r["offered_msgs_per_second"])
    return rows


def write(doc, impls, out_dir, name):
    """Writes <name>-throughput.png and <name>-p99.png; returns [(title, file name)]."""
    import matplotlib
    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    results = doc["results"]
    offered = sorted({r["offered_msgs_per_second"] for r in results})
    if not offered:
        return []
    subtitle = f"{doc['date']}, {doc['settings']['duration_s']:g} s per point, server on CPU 0"
    files = []

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=100)
    ax.plot(offered, offered, linestyle="--", color="grey", linewidth=1, label="offered (keeping up)")
    for i, impl in enumerate(impls):
        rows = _series(results, impl.name)
        if not rows:
            continue
        ax.plot([r["offered_msgs_per_second"] for r in rows], [r["client"]["steady_msgs_per_second"] for r in rows],
                marker=MARKERS[i % len(MARKERS)], label=impl.name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (messages/s = clients × events/s)")
    ax.set_ylabel("delivered messages/s (all clients connected)")
    ax.set_title(f"Delivered throughput against offered load\n{subtitle}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = f"{name}-throughput.png"
    fig.savefig(os.path.join(out_dir, path))
    plt.close(fig)
    files.append(("delivered throughput against offered load", path))

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=100)
    for i, impl in enumerate(impls):
        rows = _series(results, impl.name)
        if not rows:
            continue
        ax.plot([r["offered_msgs_per_second"] for r in rows], [max(r["client"]["latency_p99_ms"], 1e-3) for r in rows],
                marker=MARKERS[i % len(MARKERS)], label=impl.name)
    ax.axhline(doc["settings"]["p99_max_ms"], linestyle="--", color="grey", linewidth=1, label="saturation line")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (messages/s = clients × events/s)")
    ax.set_ylabel("p99 latency, now − E (ms)")
    ax.set_title(f"p99 latency against offered load\n{subtitle}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = f"{name}-p99.png"
    fig.savefig(os.path.join(out_dir, path))
    plt.close(fig)
    files.append(("p99 latency against offered load", path))
    return files
