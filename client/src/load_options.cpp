#include "load_options.hpp"

#include <CLI/CLI.hpp>

#include <boost/asio/ip/address.hpp>

#include <map>
#include <sstream>
#include <stdexcept>

#include "stream_list.hpp"
#include "tickrelay/observe/build_info.hpp"

namespace tickrelay::client {
namespace {

constexpr const char* kDescription =
    "tickrelay-load: opens N WebSocket connections to one or more servers (tickrelay or any other),\n"
    "processes every Binance market message (symbol, price, change %), and reports latency (now - E),\n"
    "throughput, gaps, connection errors and the CPU and memory of itself and of the server.";

std::string usage_error(const std::string& message) {
  return "tickrelay-load: " + message + "\nRun with --help for more information.\n";
}

}  // namespace

std::vector<int> parse_cpu_list(const std::string& list) {
  std::vector<int> cpus;
  for (const auto& item : split_list(list)) {
    const auto dash = item.find('-');
    std::size_t used = 0;
    try {
      const int first = std::stoi(item.substr(0, dash), &used);
      if (used != item.substr(0, dash).size() || first < 0) throw std::invalid_argument(item);
      int last = first;
      if (dash != std::string::npos) {
        const std::string tail = item.substr(dash + 1);
        last = std::stoi(tail, &used);
        if (used != tail.size() || last < first) throw std::invalid_argument(item);
      }
      for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    } catch (const std::logic_error&) {
      throw std::invalid_argument("bad CPU list item \"" + item + "\" in --cpu " + list);
    }
  }
  if (cpus.empty()) {
    throw std::invalid_argument("--cpu needs at least one CPU number");
  }
  return cpus;
}

ParseOutcome parse_load_options(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_load_options(static_cast<int>(argv.size()), argv.data());
}

ParseOutcome parse_load_options(int argc, const char* const* argv) {
  ParseOutcome outcome;
  LoadOptions options;
  CLI::App app(kDescription, "tickrelay-load");
  app.set_version_flag("--version", std::string("tickrelay-load ") + TICKRELAY_VERSION + " (" +
                                        tickrelay::observe::build_commit() + ")");
  app.get_formatter()->column_width(34);

  std::vector<std::string> urls;
  std::vector<std::string> impls;
  std::vector<int> server_pids;
  std::string streams_list;
  std::string symbols_file;
  std::string stream_template = "{symbol}@kline_1h";
  std::optional<double> duration;
  std::string cpu_list;
  int metrics_port = 0;

  const std::map<std::string, OutputFormat> formats{{"table", OutputFormat::table},
                                                    {"json", OutputFormat::json},
                                                    {"csv", OutputFormat::csv}};
  const std::map<std::string, TimeUnit> units{{"auto", TimeUnit::automatic},
                                              {"ms", TimeUnit::milliseconds},
                                              {"us", TimeUnit::microseconds}};
  const std::map<std::string, ReaderKind> readers{{"beast", ReaderKind::beast}, {"raw", ReaderKind::raw}};

  auto* target_group = "Target";
  app.add_option("--url", urls, "WebSocket URL (ws:// or wss://); repeat to compare servers")
      ->required()
      ->allow_extra_args(false)
      ->group(target_group);
  app.add_option("--impl", impls, "label of the i-th --url (default target<i>)")
      ->allow_extra_args(false)
      ->group(target_group);
  app.add_option("--streams", streams_list, "comma-separated stream names, e.g. btcusdt@trade,ethusdt@trade")
      ->group(target_group);
  app.add_option("--symbols-file", symbols_file, "symbols, one per line (BINANCE:BTCUSDT or btcusdt)")
      ->check(CLI::ExistingFile)
      ->group(target_group);
  app.add_option("--template", stream_template, "stream name per symbol from --symbols-file")
      ->capture_default_str()
      ->group(target_group);
  app.add_flag("--subscribe", options.subscribe, "send the streams in a SUBSCRIBE after connecting instead of the path")
      ->group(target_group);
  app.add_option("--ca-file", options.ca_file, "extra CA certificate (PEM) for wss://")
      ->check(CLI::ExistingFile)
      ->group(target_group);
  app.add_flag("--insecure", options.insecure, "do not verify the wss:// server's certificate")->group(target_group);
  app.add_option("--server-pid", server_pids, "pid of the i-th server, sampled from /proc")
      ->allow_extra_args(false)
      ->check(CLI::PositiveNumber)
      ->group(target_group);

  auto* load_group = "Load";
  app.add_option("-c,--connections", options.connections, "connections per target")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000))
      ->group(load_group);
  app.add_option("--ramp-up", options.ramp_up_seconds, "seconds over which connections are opened evenly")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0))
      ->group(load_group);
  app.add_option("--warm-up", options.warm_up_seconds,
                 "seconds at the start left out of the report (connecting, settling); --duration follows")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0))
      ->group(load_group);
  app.add_option("-d,--duration", duration, "seconds to run (default 10 unless --messages is given)")
      ->check(CLI::Range(0.001, 31.0 * 86400))
      ->group(load_group);
  app.add_option("--messages", options.max_messages, "stop after this many market messages in total")
      ->check(CLI::PositiveNumber)
      ->group(load_group);
  app.add_option("--threads", options.threads, "event-loop threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256))
      ->group(load_group);
  app.add_option("--cpu", cpu_list, "pin the i-th thread to the i-th CPU of this list, e.g. 1 or 2-3")
      ->group(load_group);
  app.add_flag("--reconnect", options.reconnect, "reopen dropped connections after a short backoff")->group(load_group);

  auto* output_group = "Output";
  app.add_option("--format", options.format,
                 "report format: table, json or csv (with json or csv on stdout, the live line goes to stderr)")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case))
      ->group(output_group);
  app.add_option("--output", options.output_file, "write the report to this file instead of stdout")
      ->group(output_group);
  app.add_flag("-q,--quiet", options.quiet, "no live line")->group(output_group);
  app.add_option("--alert-pct", options.alert_pct, "print symbols whose price change passes this many percent")
      ->check(CLI::PositiveNumber)
      ->group(output_group);
  app.add_option("--top", options.top_movers, "top movers listed in the report")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000))
      ->group(output_group);
  app.add_option("--metrics-port", metrics_port, "serve Prometheus metrics on this port")
      ->check(CLI::Range(1, 65535))
      ->group(output_group);
  app.add_option("--metrics-listen", options.metrics_listen, "address for --metrics-port")
      ->capture_default_str()
      ->group(output_group);

  auto* measure_group = "Measurement";
  app.add_option("--time-unit", options.time_unit, "unit of E: auto (URL, then magnitude), ms or us")
      ->transform(CLI::CheckedTransformer(units, CLI::ignore_case))
      ->group(measure_group);
  bool no_kline_gaps = false;
  app.add_flag("--no-kline-gaps", no_kline_gaps, "do not treat kline k.L as a per-event sequence (real Binance)")
      ->group(measure_group);
  app.add_option("--reader", options.reader,
                 "raw (default: own frame reader on a shared buffer) or beast (Beast's websocket::stream)")
      ->transform(CLI::CheckedTransformer(readers, CLI::ignore_case))
      ->group(measure_group);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::ostringstream out, err;
    outcome.exit_code = app.exit(e, out, err);
    outcome.out = out.str();
    return outcome;
  } catch (const CLI::CallForVersion& e) {
    std::ostringstream out, err;
    outcome.exit_code = app.exit(e, out, err);
    outcome.out = out.str();
    return outcome;
  } catch (const CLI::ParseError& e) {
    outcome.exit_code = 2;
    outcome.err = usage_error(e.what());
    return outcome;
  }

  try {
    if (impls.size() > urls.size()) {
      throw std::invalid_argument("more --impl (" + std::to_string(impls.size()) + ") than --url (" +
                                  std::to_string(urls.size()) + ")");
    }
    if (server_pids.size() > urls.size()) {
      throw std::invalid_argument("more --server-pid than --url");
    }
    if (!streams_list.empty() && !symbols_file.empty()) {
      throw std::invalid_argument("give either --streams or --symbols-file, not both");
    }
    if (!streams_list.empty()) {
      options.streams = split_list(streams_list);
      if (options.streams.empty()) throw std::invalid_argument("--streams names no stream");
    } else if (!symbols_file.empty()) {
      options.streams = expand_template(stream_template, read_symbols_file(symbols_file));
      if (options.streams.empty()) throw std::invalid_argument("--symbols-file " + symbols_file + " names no symbol");
    }
    if (options.subscribe && options.streams.empty()) {
      throw std::invalid_argument("--subscribe needs --streams or --symbols-file");
    }
    options.kline_gaps = !no_kline_gaps;
    if (!cpu_list.empty()) options.cpus = parse_cpu_list(cpu_list);
    if (options.warm_up_seconds > 0 && options.max_messages > 0) {
      // A message count would include the warm-up's messages.
      throw std::invalid_argument("--warm-up needs --duration, not --messages");
    }
    if (duration) {
      options.duration_seconds = *duration;
      options.duration_set = true;
    } else if (options.max_messages > 0) {
      options.duration_seconds = 0;  // until the message count is reached
    }
    if (metrics_port != 0) {
      options.metrics_port = static_cast<unsigned short>(metrics_port);
      boost::system::error_code ec;
      boost::asio::ip::make_address(options.metrics_listen, ec);
      if (ec) throw std::invalid_argument("--metrics-listen " + options.metrics_listen + " is not an IP address");
    }
    for (std::size_t i = 0; i < urls.size(); ++i) {
      std::string impl = i < impls.size() ? impls[i] : "target" + std::to_string(i + 1);
      std::optional<pid_t> pid;
      if (i < server_pids.size()) pid = server_pids[i];
      options.targets.push_back(make_target_spec(urls[i], std::move(impl), pid, options.streams, options.subscribe));
    }
  } catch (const std::exception& e) {
    outcome.exit_code = 2;
    outcome.err = usage_error(e.what());
    return outcome;
  }
  outcome.options = std::move(options);
  return outcome;
}

}  // namespace tickrelay::client
