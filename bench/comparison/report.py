"""The comparison's report: ratios to tickrelay, saturation, Markdown and JSON."""

import json

# (key, column title, decimals) of the study's table, server side and client side.
SERVER_FIGURES = (
    ("duration_s", "duration s", 1),
    ("cpu_percent", "CPU %", 1),
    ("rss_avg_mib", "RSS avg MiB", 1),
    ("rss_peak_mib", "RSS peak MiB", 1),
    ("throughput_msgs_per_second", "delivered msgs/s", 0),
    ("threads", "threads", 0),
)
CLIENT_FIGURES = (
    ("duration_s", "duration s", 1),
    ("cpu_percent", "CPU %", 1),
    ("rss_avg_mib", "RSS avg MiB", 1),
    ("rss_peak_mib", "RSS peak MiB", 1),
    ("latency_avg_ms", "latency avg ms", 2),
    ("latency_p50_ms", "p50 ms", 2),
    ("latency_p99_ms", "p99 ms", 2),
    ("latency_p999_ms", "p99.9 ms", 2),
    ("throughput_msgs_per_second", "msgs/s", 0),
    ("delivered_pct_of_offered", "delivered % of offered", 0),
    ("lost", "lost", 0),
)
SIMULATOR_FIGURES = (("cpu_percent", "simulator CPU %", 1),)
# Every result that ran carries these; the quick test checks them all.
REQUIRED = {
    "server": [k for k, _, _ in SERVER_FIGURES],
    "client": [k for k, _, _ in CLIENT_FIGURES] + ["connect_s", "errors", "latency_max_ms", "steady_msgs_per_second"],
    "simulator": [k for k, _, _ in SIMULATOR_FIGURES],
}
REFERENCE = "tickrelay"


def add_ratios(results):
    """ratio_to_tickrelay: each figure over tickrelay's at the same point."""
    reference = {r["point"]: r for r in results if r["impl"] == REFERENCE and r.get("status") in ("ok", "aborted")}
    for r in results:
        ref = reference.get(r["point"])
        if ref is None or "server" not in r:
            r["ratio_to_tickrelay"] = None
            continue
        ratios = {}
        for side, figures in (("server", SERVER_FIGURES), ("client", CLIENT_FIGURES), ("simulator", SIMULATOR_FIGURES)):
            ratios[side] = {}
            for key, _, _ in figures:
                value, base = r[side].get(key), ref[side].get(key)
                ok = isinstance(value, (int, float)) and isinstance(base, (int, float)) and base > 0
                ratios[side][key] = round(value / base, 3) if ok else None
        r["ratio_to_tickrelay"] = ratios


def saturation(results, impls, points):
    """Per implementation: where it stopped keeping up, and what it delivered."""
    order = sorted(points, key=lambda p: p.offered)
    rows = []
    for impl in impls:
        ran = [r for p in order for r in results
               if r["impl"] == impl.name and r["point"] == p.label and r.get("status") in ("ok", "aborted")]
        first = next((r for r in ran if r["saturated"]), None)
        best = max(ran, key=lambda r: r["client"]["steady_msgs_per_second"], default=None)
        row = {"impl": impl.name, "points_run": len(ran), "reached": first is not None,
               "highest_delivered_msgs_per_second": best["client"]["steady_msgs_per_second"] if best else None,
               "highest_delivered_at_offered": best["offered_msgs_per_second"] if best else None}
        if first is not None:
            row.update({
                "saturated_at_point": first["point"],
                "saturated_at_offered_msgs_per_second": first["offered_msgs_per_second"],
                "throughput_at_saturation_msgs_per_second": first["client"]["steady_msgs_per_second"],
                "server_cpu_percent_there": first["server"]["cpu_percent"],
                "latency_p99_ms_there": first["client"]["latency_p99_ms"],
                "limited_by": first.get("limited_by"),
                "why": "; ".join(first["saturation_reasons"]),
            })
        rows.append(row)
    return rows


def _number(value, decimals):
    if value is None:
        return "–"
    if decimals == 0:
        return f"{value:,.0f}"
    return f"{value:,.{decimals}f}"


def _ratio(value):
    if value is None:
        return ""
    if value >= 100:
        return f" ({value:,.0f}×)"
    if value >= 10:
        return f" ({value:.0f}×)"
    if value >= 1:
        return f" ({value:.1f}×)"
    return f" ({value:.2f}×)"


def _cell(result, side, key, decimals):
    value = result[side].get(key)
    ratios = result.get("ratio_to_tickrelay") or {}
    ratio = (ratios.get(side) or {}).get(key) if result["impl"] != REFERENCE else None
    return _number(value, decimals) + _ratio(ratio)


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([" --- "] + [" ---: "] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def point_title(point):
    return (f"{point.label}: {point.clients:,} clients × 346 kline streams at {point.rate:,} events/s "
            f"(offered {point.offered:,} msgs/s)")


def point_tables(point, results):
    """Markdown server and client tables of one load point."""
    rows = [r for r in results if r["point"] == point.label]
    done = [r for r in rows if "server" in r]
    out = [f"### {point_title(point)}", ""]
    if done:
        out += ["Server (the relay process, `/proc/<pid>`, pinned to CPU 0):", ""]
        header = ["implementation"] + [t for _, t, _ in SERVER_FIGURES] + [t for _, t, _ in SIMULATOR_FIGURES]
        out.append(_table(header, [[f"`{r['impl']}`"] + [_cell(r, "server", k, d) for k, _, d in SERVER_FIGURES]
                                   + [_cell(r, "simulator", k, d) for k, _, d in SIMULATOR_FIGURES] for r in done]))
        out += ["", "Client (tickrelay-load on CPU 1: its own `/proc/self`; latency = receive time − E):", ""]
        header = ["implementation"] + [t for _, t, _ in CLIENT_FIGURES]
        out.append(_table(header, [[f"`{r['impl']}`"] + [_cell(r, "client", k, d) for k, _, d in CLIENT_FIGURES]
                                   for r in done]))
    notes = [r for r in rows if r.get("status") != "ok" or r.get("saturated")]
    if notes:
        out.append("")
        for r in notes:
            if r.get("status") == "skipped":
                out.append(f"- `{r['impl']}`: not run ({r['note']}).")
            elif r.get("status") == "failed":
                out.append(f"- `{r['impl']}`: failed: {r['note'][:300]}")
            else:
                out.append(f"- `{r['impl']}` saturated: {'; '.join(r['saturation_reasons'])}.")
    out.append("")
    return "\n".join(out)


def saturation_table(rows):
    header = ["implementation", "saturated at offered msgs/s", "delivered there msgs/s", "server CPU % there",
              "p99 there ms", "highest delivered msgs/s", "limited by", "why"]
    body = []
    for row in rows:
        best = _number(row["highest_delivered_msgs_per_second"], 0)
        if row["reached"]:
            body.append([f"`{row['impl']}`", _number(row["saturated_at_offered_msgs_per_second"], 0),
                         _number(row["throughput_at_saturation_msgs_per_second"], 0),
                         _number(row["server_cpu_percent_there"], 1), _number(row["latency_p99_ms_there"], 1),
                         best, row["limited_by"] or "–", row["why"]])
        else:
            body.append([f"`{row['impl']}`", "not reached", "–", "–", "–", "≥ " + best if row["points_run"] else "–", "–",
                         "kept up at every point run" if row["points_run"] else "no point ran"])
    return _table(header, body)


def by_point_table(impl, points, results):
    """One implementation across the load points: what issue-style scaling tables quote."""
    header = ["clients", "events/s", "offered msgs/s", "delivered msgs/s", "delivered % of offered", "p50 ms",
              "p99 ms", "p99.9 ms", "lost", "server CPU %", "server RSS avg MiB", "server RSS peak MiB"]
    body = []
    for point in sorted(points, key=lambda p: (p.offered, p.clients)):
        r = next((r for r in results if r["impl"] == impl and r["point"] == point.label), None)
        if r is None or "server" not in r:
            continue
        c, s = r["client"], r["server"]
        body.append([f"{point.clients:,}", f"{point.rate:,}", f"{point.offered:,}",
                     _number(c["steady_msgs_per_second"], 0), _number(c["delivered_pct_of_offered"], 0),
                     _number(c["latency_p50_ms"], 2), _number(c["latency_p99_ms"], 2),
                     _number(c["latency_p999_ms"], 2), _number(c["lost"], 0), _number(s["cpu_percent"], 1),
                     _number(s["rss_avg_mib"], 1), _number(s["rss_peak_mib"], 1)])
    return _table(header, body) if body else ""


def header_lines(doc):
    """The title and the lines every report starts with: when, what, where, how busy."""
    return [f"# {doc['title']}", "",
            f"- date: {doc['date']}",
            f"- command: `{doc['command']}`",
            f"- commit: {doc['host']['commit']}",
            f"- machine: {doc['host']['cpus']} CPUs, {doc['host']['kernel']}; load average (1, 5, 15 min) "
            f"before {', '.join(f'{x:.2f}' for x in doc['host']['load_before'])}, "
            f"after {', '.join(f'{x:.2f}' for x in doc['host']['load_after'])}"]


def markdown(doc, points, chart_files):
    out = header_lines(doc) + [
           f"- each point: {doc['settings']['warm_up_s']:g} s warm-up (not measured), then "
           f"{doc['settings']['duration_s']:g} s measured; server on CPU 0, simulator and load client on CPU 1",
           f"- saturated: delivered < {doc['settings']['delivered_min_pct']:g} % of offered once all clients were "
           f"connected, or p99 > {doc['settings']['p99_max_ms']:g} ms, or messages lost, or connection errors",
           f"- limited by: `server` when it used ≥ {doc['settings']['server_room_pct']:g} % of CPU 0 at the saturated "
           f"point; `load side` when the load client and the simulator used ≥ "
           f"{doc['settings']['load_side_busy_pct']:g} % of CPU 1 while the server had room (its figure is then "
           "a lower bound); `unclear` when neither was saturated on average",
           "- ratios in parentheses: figure ÷ tickrelay's at the same point", ""]
    for point in points:
        out.append(point_tables(point, doc["results"]))
    if len(points) > 1:
        out += ["### Saturation", "", saturation_table(doc["saturation"]), ""]
        # Delivered is counted once every client was connected (steady state).
        for impl in doc["implementations"]:
            table = by_point_table(impl["name"], points, doc["results"])
            if table:
                out += [f"### `{impl['name']}` across the points", "", table, ""]
    for title, path in chart_files:
        out += [f"![{title}]({path})", ""]
    return "\n".join(out)


def write(doc, points, md_path, json_path, chart_files):
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(markdown(doc, points, chart_files))
