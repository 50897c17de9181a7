#include "sim_options.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "tickrelay/observe/build_info.hpp"
#include "tickrelay/wire/duration.hpp"

namespace tickrelay::sim {
namespace {

constexpr int kUsageError = 2;
// Beyond what one core can produce by orders of magnitude, and small enough
// that the pacer's arithmetic stays exact for years of uptime.
constexpr std::uint64_t kMaxRate = 1'000'000'000;
// Ten years: any longer "duration" is a typo, and it keeps time sums far
// from overflowing.
constexpr double kMaxSeconds = 10.0 * 365 * 86400;
// Binance's largest spot snapshot: a snapshot can always hold a whole book.
constexpr std::uint64_t kMaxBookLevels = 5000;
// Far beyond any real limit, and far from overflowing a minute's count.
constexpr std::uint64_t kMaxWeightLimit = 1'000'000'000;
// A held answer keeps its connection open: ten minutes is already more
// than any test needs.
constexpr Micros kMaxRestDelay{std::chrono::minutes(10)};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Decimal only: CLI11 would read "010" as octal and "-1" as a huge unsigned.
std::uint64_t parse_count(std::string_view flag, const std::string& text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value < min || value > max) {
    throw UsageError(std::string(flag) + ": expected a whole number from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", got \"" + text + "\"");
  }
  return value;
}

Micros parse_seconds(std::string_view flag, const std::string& text, bool allow_zero) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || !std::isfinite(value) || value < 0 || value > kMaxSeconds ||
      (!allow_zero && value == 0)) {
    throw UsageError(std::string(flag) + ": expected a number of seconds " + (allow_zero ? ">= 0" : "> 0") +
                     ", got \"" + text + "\"");
  }
  return std::chrono::round<Micros>(wire::to_duration(value));
}

void parse_listen(const std::string& text, SimOptions& options) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw UsageError("--listen: expected HOST:PORT, got \"" + text + "\"");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) throw UsageError("--listen: expected HOST:PORT, got \"" + text + "\"");
  options.listen_host = host;
  options.listen_port = static_cast<std::uint16_t>(parse_count("--listen port", text.substr(colon + 1), 0, 65535));
}

struct RawFlags {
  std::string listen = "127.0.0.1:9443";
  std::string symbols_file;
  std::string symbols;
  std::string rate = "1000";
  std::string seed = "1";
  std::string ping_interval = "20";
  std::string pong_timeout = "60";
  std::string max_connection_age = "86400";
  std::string max_streams = "1024";
  std::string book_levels = "1000";
  std::string rest_weight_limit;
  std::string rest_delay = "0";
  std::string drop_every, drop_after_events, stall_after, stall_for, shutdown_after, shutdown_grace, malformed_every;
  std::string refuse_for, refuse_first, skip_every, malformed_kinds;
};

void resolve(const RawFlags& raw, SimOptions& options) {
  parse_listen(raw.listen, options);

  const bool has_cert = !options.tls_cert_file.empty();
  const bool has_key = !options.tls_key_file.empty();
  if (options.plain && (has_cert || has_key)) throw UsageError("--plain excludes --tls-cert and --tls-key");
  if (!options.plain && !(has_cert && has_key)) {
    if (has_cert != has_key) throw UsageError("--tls-cert and --tls-key must be given together");
    throw UsageError("choose TLS with --tls-cert FILE --tls-key FILE, or --plain");
  }

  SymbolList symbols;
  if (!raw.symbols_file.empty()) symbols = SymbolList::from_file(raw.symbols_file);
  if (!raw.symbols.empty()) symbols.merge(SymbolList::from_csv(raw.symbols));
  if (symbols.empty()) symbols = SymbolList::from_csv("btcusdt,ethusdt");
  options.symbols = std::move(symbols);

  options.rate = parse_count("--rate", raw.rate, 0, kMaxRate);
  options.seed = parse_count("--seed", raw.seed, 0, UINT64_MAX);
  options.ping_interval = parse_seconds("--ping-interval", raw.ping_interval, true);
  options.pong_timeout = parse_seconds("--pong-timeout", raw.pong_timeout, false);
  options.max_streams_per_connection = static_cast<std::size_t>(
      parse_count("--max-streams-per-connection", raw.max_streams, 1, 1'000'000));
  options.book_levels = static_cast<std::size_t>(parse_count("--book-levels", raw.book_levels, 1, kMaxBookLevels));
  if (!raw.rest_weight_limit.empty()) {
    options.rest_weight_limit = parse_count("--rest-weight-limit", raw.rest_weight_limit, 1, kMaxWeightLimit);
  }
  options.rest_delay = parse_seconds("--rest-delay", raw.rest_delay, true);
  if (options.rest_delay > kMaxRestDelay) {
    throw UsageError("--rest-delay: at most 600 seconds, got \"" + raw.rest_delay + "\"");
  }

  FaultSettings& f = options.faults;
  f.max_connection_age = parse_seconds("--max-connection-age", raw.max_connection_age, false);
  if (!raw.drop_every.empty()) f.drop_every = parse_seconds("--drop-every", raw.drop_every, false);
  if (!raw.drop_after_events.empty()) {
    f.drop_after_events = parse_count("--drop-after-events", raw.drop_after_events, 1, UINT64_MAX);
  }
  if (!raw.stall_after.empty()) f.stall_after = parse_seconds("--stall-after", raw.stall_after, true);
  if (!raw.stall_for.empty()) {
    if (!f.stall_after) throw UsageError("--stall-for needs --stall-after");
    f.stall_for = parse_seconds("--stall-for", raw.stall_for, true);
  }
  if (!raw.shutdown_after.empty()) f.shutdown_after = parse_seconds("--shutdown-after", raw.shutdown_after, false);
  if (!raw.shutdown_grace.empty()) f.shutdown_grace = parse_seconds("--shutdown-grace", raw.shutdown_grace, false);
  if (!raw.malformed_every.empty()) {
    f.malformed_every = parse_count("--malformed-every", raw.malformed_every, 1, UINT64_MAX);
  }
  if (!raw.malformed_kinds.empty()) {
    if (f.malformed_every == 0) throw UsageError("--malformed-kinds needs --malformed-every");
    std::string_view rest = raw.malformed_kinds;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto name = rest.substr(0, comma);
      const auto kind = malformed_kind_named(name);
      if (!kind) throw UsageError("--malformed-kinds: unknown kind \"" + std::string(name) + "\"");
      f.malformed_kinds.push_back(*kind);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  if (f.malformed_between && f.malformed_every == 0) throw UsageError("--malformed-between needs --malformed-every");
  if (!raw.refuse_for.empty()) f.refuse_for = parse_seconds("--refuse-for", raw.refuse_for, false);
  if (!raw.refuse_first.empty()) f.refuse_first = parse_count("--refuse-first", raw.refuse_first, 1, UINT64_MAX);
  if (!raw.skip_every.empty()) f.skip_every = parse_count("--skip-every", raw.skip_every, 1, UINT64_MAX);
  if (!f.target_path.empty() && f.target_path.front() != '/') {
    throw UsageError("--fault-target-path: expected a path prefix starting with '/', got \"" + f.target_path + "\"");
  }
}

}  // namespace

SimOptionsResult parse_sim_options(int argc, const char* const* argv) {
  SimOptions options;
  RawFlags raw;
  CLI::App app{
      "tickrelay-sim: a local exchange simulator speaking Binance's market-data stream protocol, with its REST depth snapshots"};
  app.set_version_flag("--version", std::string("tickrelay-sim ") + TICKRELAY_VERSION + " (" +
                                        tickrelay::observe::build_commit() + ")");
  app.get_formatter()->column_width(36);

  app.add_option("--listen", raw.listen, "HOST:PORT to listen on (port 0: any free port)")->capture_default_str();
  auto* cert =
      app.add_option("--tls-cert", options.tls_cert_file, "PEM certificate chain (TLS)")->check(CLI::ExistingFile);
  auto* key = app.add_option("--tls-key", options.tls_key_file, "PEM private key (TLS)")->check(CLI::ExistingFile);
  auto* plain = app.add_flag("--plain", options.plain, "plain WebSocket (ws://) instead of TLS");
  plain->excludes(cert)->excludes(key);
  app.add_option("--symbols-file", raw.symbols_file, "symbols, one per line (BINANCE:BTCUSDT or btcusdt)")
      ->check(CLI::ExistingFile);
  app.add_option("--symbols", raw.symbols, "comma-separated symbols (default btcusdt,ethusdt)");
  app.add_option("--rate", raw.rate, "events per second over all subscribed streams; 0 = paused")
      ->capture_default_str();
  app.add_option("--seed", raw.seed, "seed of the price walks and ids")->capture_default_str();
  app.add_option("--ping-interval", raw.ping_interval, "SECONDS between server pings; 0 = never")
      ->capture_default_str();
  app.add_option("--pong-timeout", raw.pong_timeout, "SECONDS without a pong before closing")->capture_default_str();
  app.add_option("--max-connection-age", raw.max_connection_age, "SECONDS after which a connection is closed")
      ->capture_default_str();
  app.add_option("--max-streams-per-connection", raw.max_streams, "streams one connection may hold")
      ->capture_default_str();
  app.add_option("--book-levels", raw.book_levels, "price levels a side of each order book (1-5000)")
      ->capture_default_str();
  app.add_option("--rest-weight-limit", raw.rest_weight_limit,
                 "REST request weight per client and UTC minute, on spot and futures alike (default 6000 spot, "
                 "2400 futures); past it: 429");
  app.add_option("--rest-delay", raw.rest_delay,
                 "SECONDS each REST answer is held back (the snapshot is taken on arrival); at most 600")
      ->capture_default_str();
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();

  const std::string faults = "Faults";
  app.add_option("--drop-every", raw.drop_every, "drop each connection abruptly at this age (SECONDS)")->group(faults);
  app.add_option("--drop-after-events", raw.drop_after_events, "drop each connection after N events")->group(faults);
  app.add_option("--stall-after", raw.stall_after, "stop sending at this connection age (SECONDS)")->group(faults);
  app.add_option("--stall-for", raw.stall_for, "stall duration in SECONDS; 0 = forever")->group(faults);
  app.add_option("--shutdown-after", raw.shutdown_after, "send serverShutdown at this age (SECONDS), then close")
      ->group(faults);
  app.add_option("--shutdown-grace", raw.shutdown_grace,
                 "SECONDS from serverShutdown to the close (default 1): the time a client has to replace it")
      ->group(faults);
  app.add_option("--malformed-every", raw.malformed_every, "replace every Nth frame by a malformed one")->group(faults);
  app.add_option("--malformed-kinds", raw.malformed_kinds,
                 "comma-separated kinds --malformed-every cycles through (truncated_json, not_json, "
                 "unsubscribed_stream, missing_stream, wrong_types, duplicate_data, binary_frame, deep_nesting, "
                 "max_id, empty_frame); default the first five")
      ->group(faults);
  app.add_flag("--malformed-between", options.faults.malformed_between,
               "send each malformed frame before its event instead of in its place")
      ->group(faults);
  app.add_option("--refuse-for", raw.refuse_for, "refuse connections for SECONDS after start")->group(faults);
  app.add_option("--refuse-first", raw.refuse_first, "refuse the first N connection attempts")->group(faults);
  app.add_option("--skip-every", raw.skip_every, "lose every Nth event of each stream (ids show a gap)")->group(faults);
  app.add_option("--fault-target-path", options.faults.target_path,
                 "apply faults only to request paths with this prefix, e.g. /market")
      ->group(faults);

  try {
    app.parse(argc, argv);
    resolve(raw, options);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out;
    std::ostringstream err;
    const int code = app.exit(e, out, err);
    if (code == 0) return SimOptionsResult{std::nullopt, 0, out.str()};
    return SimOptionsResult{std::nullopt, kUsageError, err.str()};
  } catch (const std::exception& e) {
    // UsageError, and symbol-file errors naming the file and line.
    return SimOptionsResult{std::nullopt, kUsageError,
                            std::string("tickrelay-sim: ") + e.what() + "\nRun with --help for more information.\n"};
  }
  return SimOptionsResult{std::move(options), 0, {}};
}

}  // namespace tickrelay::sim
