#include "report.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

namespace tickrelay::client {
namespace json = boost::json;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// One numeric figure per target, shared by the table and the CSV so the two
// never disagree on what a column means.
struct Figure {
  const char* key;    // CSV column / JSON-ish name
  const char* label;  // table row
  int decimals;
  bool ratio;  // show the ratio to the first target in the table
  std::function<double(const TargetReport&)> get;
};

const std::vector<Figure>& figures() {
  static const std::vector<Figure> list = {
      {"connections", "connections", 0, false, [](const TargetReport& t) { return double(t.connections); }},
      {"connections_up_end", "connections up at end", 0, false,
       [](const TargetReport& t) { return double(t.connections_up_end); }},
      {"messages", "messages", 0, true, [](const TargetReport& t) { return double(t.messages); }},
      {"bytes", "bytes", 0, true, [](const TargetReport& t) { return double(t.bytes); }},
      {"messages_per_second", "messages/s", 1, true, [](const TargetReport& t) { return t.messages_per_second; }},
      {"megabytes_per_second", "MB/s", 3, true, [](const TargetReport& t) { return t.megabytes_per_second; }},
      {"per_connection_min", "messages per connection, min", 0, true,
       [](const TargetReport& t) { return double(t.per_connection_min); }},
      {"per_connection_avg", "messages per connection, avg", 1, true,
       [](const TargetReport& t) { return t.per_connection_avg; }},
      {"per_connection_max", "messages per connection, max", 0, true,
       [](const TargetReport& t) { return double(t.per_connection_max); }},
      {"per_connection_rate", "messages/s per connection", 1, true,
       [](const TargetReport& t) { return t.per_connection_rate; }},
      {"per_connection_megabytes_per_second", "MB/s per connection", 4, true,
       [](const TargetReport& t) { return t.per_connection_megabytes_per_second; }},
      {"latency_samples", "latency samples", 0, false, [](const TargetReport& t) { return double(t.latency.samples); }},
      {"latency_avg_ms", "latency avg (ms)", 3, true, [](const TargetReport& t) { return t.latency.avg_ms; }},
      {"latency_p50_ms", "latency p50 (ms)", 3, true, [](const TargetReport& t) { return t.latency.p50_ms; }},
      {"latency_p90_ms", "latency p90 (ms)", 3, true, [](const TargetReport& t) { return t.latency.p90_ms; }},
      {"latency_p99_ms", "latency p99 (ms)", 3, true, [](const TargetReport& t) { return t.latency.p99_ms; }},
      {"latency_p999_ms", "latency p99.9 (ms)", 3, true, [](const TargetReport& t) { return t.latency.p999_ms; }},
      {"latency_max_ms", "latency max (ms)", 3, true, [](const TargetReport& t) { return t.latency.max_ms; }},
      {"millisecond_times", "samples with E in ms (1 ms res.)", 0, false,
       [](const TargetReport& t) { return double(t.millisecond_times); }},
      {"without_event_time", "messages without E", 0, false,
       [](const TargetReport& t) { return double(t.without_event_time); }},
      {"negative_latency", "E later than now (clock skew)", 0, false,
       [](const TargetReport& t) { return double(t.negative_latency); }},
      {"lost", "messages lost (gaps)", 0, false, [](const TargetReport& t) { return double(t.lost); }},
      {"duplicates", "duplicates", 0, false, [](const TargetReport& t) { return double(t.duplicates); }},
      {"connect_errors", "connect errors", 0, false, [](const TargetReport& t) { return double(t.connect_errors); }},
      {"drops", "dropped connections", 0, false, [](const TargetReport& t) { return double(t.drops); }},
      {"errors", "errors (connect + dropped)", 0, false, [](const TargetReport& t) { return double(t.errors()); }},
      {"reconnects", "reconnects", 0, false, [](const TargetReport& t) { return double(t.reconnects); }},
      {"control_messages", "control responses", 0, false,
       [](const TargetReport& t) { return double(t.control_messages); }},
      {"malformed", "malformed messages", 0, false, [](const TargetReport& t) { return double(t.malformed); }},
      {"server_cpu_percent", "server CPU % (one core)", 1, true,
       [](const TargetReport& t) { return t.server.cpu_percent; }},
      {"server_cpu_seconds", "server CPU seconds", 2, true, [](const TargetReport& t) { return t.server.cpu_seconds; }},
      {"server_resident_avg_bytes", "server RSS avg (MiB)", 1, true,
       [](const TargetReport& t) { return t.server.resident_avg; }},
      {"server_resident_peak_bytes", "server RSS peak (MiB)", 1, true,
       [](const TargetReport& t) { return double(t.server.resident_peak); }},
  };
  return list;
}

bool is_server_figure(const Figure& f) { return std::string_view(f.key).starts_with("server_"); }
bool is_bytes_figure(const Figure& f) { return std::string_view(f.key).ends_with("_bytes"); }

std::string pad_right(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

json::object process_json(const ProcessFigures& f) {
  json::object o;
  o["available"] = f.available;
  o["exited"] = f.exited;
  o["cpu_percent"] = f.cpu_percent;
  o["cpu_seconds"] = f.cpu_seconds;
  o["cpu_seconds_total"] = f.cpu_seconds_total;
  o["resident_avg_bytes"] = f.resident_avg;
  o["resident_peak_bytes"] = f.resident_peak;
  o["resident_last_bytes"] = f.resident_last;
  o["samples"] = f.samples;
  return o;
}

}  // namespace

std::string render_table(const RunReport& report) {
  std::ostringstream out;
  out << "tickrelay-load " << report.version << ": " << fixed(report.duration_seconds, 2) << " s";
  if (report.warm_up_seconds > 0) out << " after " << fixed(report.warm_up_seconds, 2) << " s warm-up";
  out << ", " << report.threads << (report.threads == 1 ? " thread" : " threads") << ", reader " << report.reader
      << "\n";
  const ProcessFigures& c = report.client;
  out << "client (this process): CPU " << fixed(c.cpu_percent, 1) << " % of one core, RSS avg "
      << fixed(c.resident_avg / kMiB, 1) << " MiB, peak " << fixed(double(c.resident_peak) / kMiB, 1) << " MiB\n\n";

  const auto& targets = report.targets;
  const bool any_server = std::any_of(targets.begin(), targets.end(),
                                      [](const TargetReport& t) { return t.server_pid.has_value(); });
  std::vector<std::pair<std::string, std::vector<std::string>>> rows;
  rows.emplace_back("", std::vector<std::string>{});
  rows.emplace_back("url", std::vector<std::string>{});
  for (const auto& t : targets) {
    rows[0].second.push_back(t.impl);
    rows[1].second.push_back(t.url);
  }
  if (any_server) {
    rows.emplace_back("server pid", std::vector<std::string>{});
    for (const auto& t : targets) rows.back().second.push_back(t.server_pid ? std::to_string(*t.server_pid) : "-");
  }
  for (const Figure& f : figures()) {
    if (is_server_figure(f) && !any_server) continue;
    std::vector<std::string> cells;
    const double first = f.get(targets.front());
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (is_server_figure(f) && !targets[i].server.available) {
        cells.push_back("-");
        continue;
      }
      double v = f.get(targets[i]);
      const double shown = is_bytes_figure(f) ? v / kMiB : v;
      std::string cell = fixed(shown, f.decimals);
      if (i > 0 && f.ratio && first > 0) cell += " (" + fixed(v / first, 2) + "x)";
      cells.push_back(cell);
    }
    rows.emplace_back(f.label, std::move(cells));
  }
  std::size_t label_width = 0;
  for (const auto& row : rows) label_width = std::max(label_width, row.first.size());
  std::vector<std::size_t> widths(targets.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.second.size(); ++i) widths[i] = std::max(widths[i], row.second[i].size());
  }
  for (const auto& row : rows) {
    std::string line = pad_right(row.first, label_width + 2);
    for (std::size_t i = 0; i < row.second.size(); ++i) {
      line += pad_right(row.second[i], widths[i] + (i + 1 < row.second.size() ? 3 : 0));
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }

  for (const auto& t : targets) {
    if (t.millisecond_times > 0) {
      out << "\nnote (" << t.impl << "): " << t.millisecond_times
          << " latency samples had E in milliseconds, so their latency is only known to ±1 ms;"
             " add timeUnit=MICROSECOND to the URL where the server supports it.";
    }
    if (t.without_event_time > 0) {
      out << "\nnote (" << t.impl << "): " << t.without_event_time
          << " messages carried no E and are not in the latency.";
    }
    if (!t.first_error.empty()) {
      out << "\nfirst error (" << t.impl << "): " << t.first_error;
    }
    if (t.server_pid && t.server.exited) {
      out << "\nnote (" << t.impl << "): server pid " << *t.server_pid << " exited during the run.";
    } else if (t.server_pid && !t.server.available) {
      out << "\nnote (" << t.impl << "): server pid " << *t.server_pid << " could not be read from /proc.";
    }
  }
  for (const auto& t : targets) {
    if (t.top_movers.empty()) continue;
    out << "\n\ntop movers (" << t.impl << ")\n";
    std::size_t name_width = 6;
    for (const auto& s : t.top_movers) name_width = std::max(name_width, s.name.size());
    out << pad_right("symbol", name_width + 2) << pad_right("change %", 12) << pad_right("price", 16) << "updates\n";
    for (const auto& s : t.top_movers) {
      out << pad_right(s.name, name_width + 2) << pad_right((s.change_pct >= 0 ? "+" : "") + fixed(s.change_pct, 2), 12)
          << pad_right(fixed(s.last_price, 8), 16) << s.updates << "\n";
    }
  }
  std::string text = out.str();
  if (text.back() != '\n') text += '\n';
  return text;
}

std::string render_json(const RunReport& report) {
  json::object root;
  root["tool"] = "tickrelay-load";
  root["version"] = report.version;
  root["duration_seconds"] = report.duration_seconds;
  root["warm_up_seconds"] = report.warm_up_seconds;
  root["threads"] = report.threads;
  root["reader"] = report.reader;
  root["client"] = process_json(report.client);
  json::array targets;
  const TargetReport* first = report.targets.empty() ? nullptr : &report.targets.front();
  for (const auto& t : report.targets) {
    json::object o;
    o["impl"] = t.impl;
    o["url"] = t.url;
    o["connections"] = t.connections;
    o["connections_up_end"] = t.connections_up_end;
    o["messages"] = t.messages;
    o["bytes"] = t.bytes;
    o["messages_per_second"] = t.messages_per_second;
    o["megabytes_per_second"] = t.megabytes_per_second;
    o["per_connection"] = json::object{{"min", t.per_connection_min},
                                       {"avg", t.per_connection_avg},
                                       {"max", t.per_connection_max},
                                       {"messages_per_second", t.per_connection_rate},
                                       {"megabytes_per_second", t.per_connection_megabytes_per_second}};
    o["latency_ms"] = json::object{{"samples", t.latency.samples}, {"avg", t.latency.avg_ms}, {"min", t.latency.min_ms},
                                   {"p50", t.latency.p50_ms},      {"p90", t.latency.p90_ms}, {"p99", t.latency.p99_ms},
                                   {"p999", t.latency.p999_ms},    {"max", t.latency.max_ms}};
    o["event_time_in_milliseconds"] = t.millisecond_times > 0;
    o["millisecond_times"] = t.millisecond_times;
    o["without_event_time"] = t.without_event_time;
    o["negative_latency"] = t.negative_latency;
    o["lost"] = t.lost;
    o["duplicates"] = t.duplicates;
    o["connect_errors"] = t.connect_errors;
    o["drops"] = t.drops;
    o["errors"] = t.errors();
    o["reconnects"] = t.reconnects;
    o["control_messages"] = t.control_messages;
    o["malformed"] = t.malformed;
    o["first_error"] = t.first_error;
    if (t.server_pid) {
      json::object server = process_json(t.server);
      server["pid"] = *t.server_pid;
      o["server"] = std::move(server);
    } else {
      o["server"] = nullptr;
    }
    json::array movers;
    for (const auto& s : t.top_movers) {
      movers.push_back(json::object{{"symbol", s.name},
                                    {"change_pct", s.change_pct},
                                    {"price", s.last_price},
                                    {"updates", s.updates},
                                    {"change_from_first_price", s.change_from_first}});
    }
    o["top_movers"] = std::move(movers);
    json::object ratio;
    for (const Figure& f : figures()) {
      if (!f.ratio || first == nullptr) continue;
      const double base = f.get(*first);
      if (base > 0) ratio[f.key] = f.get(t) / base;
    }
    o["ratio_to_first"] = std::move(ratio);
    targets.push_back(std::move(o));
  }
  root["targets"] = std::move(targets);
  return json::serialize(root) + "\n";
}

std::string render_csv(const RunReport& report) {
  std::string out =
      "impl,url,duration_seconds,threads,client_cpu_percent,client_resident_avg_bytes,client_resident_peak_bytes";
  for (const Figure& f : figures()) {
    out += ",";
    out += f.key;
  }
  out += ",first_error\n";
  for (const auto& t : report.targets) {
    out += csv_field(t.impl) + "," + csv_field(t.url) + "," + fixed(report.duration_seconds, 3) + "," +
           std::to_string(report.threads) + "," + fixed(report.client.cpu_percent, 2) + "," +
           fixed(report.client.resident_avg, 0) + "," + std::to_string(report.client.resident_peak);
    for (const Figure& f : figures()) {
      out += ",";
      out += fixed(f.get(t), f.decimals == 0 ? 0 : 6);
    }
    out += "," + csv_field(t.first_error) + "\n";
  }
  return out;
}

std::string render_report(const RunReport& report, OutputFormat format) {
  switch (format) {
    case OutputFormat::json: return render_json(report);
    case OutputFormat::csv: return render_csv(report);
    case OutputFormat::table: break;
  }
  return render_table(report);
}

}  // namespace tickrelay::client
