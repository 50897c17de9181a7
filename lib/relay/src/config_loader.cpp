#include "tickrelay/relay/config_loader.hpp"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <unordered_set>

#include "tickrelay/fanout/stream_name.hpp"
#include "tickrelay/wire/asio.hpp"
#include "tickrelay/wire/endpoint.hpp"
#include "upstream/stream_routing.hpp"

namespace tickrelay::config {
namespace {

std::string format_error(const std::string& source, int line, const std::string& key, const std::string& reason) {
  std::string out = source;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + reason;
}

// Walks the YAML tree, turning each problem into a ConfigError that names the
// key path and the line.
class Reader {
 public:
  Reader(std::string source, std::string base_dir) : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& reason) const {
    const int line = node.IsDefined() && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    throw ConfigError(source_, line, key, reason);
  }

  // Rejects keys the schema does not know (typos would otherwise be ignored)
  // and keys given twice.
  void check_keys(const YAML::Node& map, const std::string& path,
                  std::initializer_list<std::string_view> allowed) const {
    if (!map.IsMap()) fail(map, path, "expected a mapping");
    std::set<std::string> seen;
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) fail(entry.first, path, "expected a plain key, not a list or mapping");
      const auto key = entry.first.as<std::string>();
      const std::string full = path.empty() ? key : path + "." + key;
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string known;
        for (auto a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
        fail(entry.first, full, "unknown key (known here: " + known + ")");
      }
      if (!seen.insert(key).second) fail(entry.first, full, "given twice");
    }
  }

  template <class T>
  T scalar(const YAML::Node& node, const std::string& key, const char* what) const {
    if (!node.IsScalar()) fail(node, key, std::string("expected ") + what);
    try {
      return node.as<T>();
    } catch (const YAML::BadConversion&) {
      fail(node, key, std::string("expected ") + what + ", got '" + node.Scalar() + "'");
    }
  }

  std::string string(const YAML::Node& node, const std::string& key) const {
    return scalar<std::string>(node, key, "a string");
  }

  bool boolean(const YAML::Node& node, const std::string& key) const {
    return scalar<bool>(node, key, "true or false");
  }

  std::size_t count(const YAML::Node& node, const std::string& key, std::size_t min, std::size_t max) const {
    const auto text = string(node, key);
    std::size_t value = 0;
    if (!parse_size(text, value)) fail(node, key, "expected a whole number, got '" + text + "'");
    if (value < min || value > max)
      fail(node, key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " + text + ")");
    return value;
  }

  double seconds(const YAML::Node& node, const std::string& key, double min, double max) const {
    const auto text = string(node, key);
    double value = 0;
    if (!parse_duration(text, value))
      fail(node, key, "expected a duration such as 30, 30s, 250ms, 5m or 23h50m, got '" + text + "'");
    if (value < min || value > max) {
      std::ostringstream out;
      out << "must be between " << min << "s and " << max << "s (got " << text << ")";
      fail(node, key, out.str());
    }
    return value;
  }

  double number(const YAML::Node& node, const std::string& key, double min, double max) const {
    const auto value = scalar<double>(node, key, "a number");
    if (!(value >= min && value <= max)) {
      std::ostringstream out;
      out << "must be between " << min << " and " << max << " (got " << node.Scalar() << ")";
      fail(node, key, out.str());
    }
    return value;
  }

  std::string listen(const YAML::Node& node, const std::string& key) const {
    const auto text = string(node, key);
    std::string host;
    unsigned short port = 0;
    error_code ec;
    if (!wire::split_host_port(text, host, port) || (net::ip::make_address(host, ec), ec))
      fail(node, key, "expected IP:PORT such as 0.0.0.0:8765 or [::1]:8765, got '" + text + "'");
    return text;
  }

  // A path relative to the config file's folder; the file must be readable
  // and a regular file: a FIFO would block the loop at reload, a device
  // such as /dev/zero never ends.
  std::string readable_file(const YAML::Node& node, const std::string& key) const {
    const auto text = string(node, key);
    if (text.empty()) return text;
    std::filesystem::path p(text);
    if (p.is_relative()) p = std::filesystem::path(base_dir_) / p;
    std::error_code ec;
    const auto status = std::filesystem::status(p, ec);
    if (ec || !std::filesystem::exists(status)) fail(node, key, "cannot read file " + p.string());
    if (!std::filesystem::is_regular_file(status)) fail(node, key, p.string() + " is not a regular file");
    if (!std::ifstream(p).good()) fail(node, key, "cannot read file " + p.string());
    return p.string();
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::string base_dir_;
};

std::vector<std::string> read_symbols_file(const Reader& reader, const YAML::Node& node, const std::string& key,
                                           const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> symbols;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    line.erase(0, line.find_first_not_of(" \t\r"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line.empty() || line.front() == '#') continue;
    const auto symbol = fanout::normalize_symbol(line);
    if (symbol.empty() || !std::all_of(symbol.begin(), symbol.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        }))
      reader.fail(node, key, path + " line " + std::to_string(number) + ": not a symbol: '" + line + "'");
    symbols.push_back(symbol);
  }
  if (symbols.empty()) reader.fail(node, key, path + " holds no symbols");
  return symbols;
}

void dedupe_in_order(std::vector<std::string>& items) {
  std::unordered_set<std::string> seen;
  std::erase_if(items, [&](const std::string& s) { return !seen.insert(s).second; });
}

UpstreamConfig read_upstream(const Reader& r, const YAML::Node& node, const std::string& key) {
  UpstreamConfig up;
  // Before any key is looked up: a subscript on a scalar throws yaml-cpp's
  // own error, not one naming the key and line.
  if (!node.IsMap()) r.fail(node, key, "expected a mapping");
  if (const auto& t = node["type"]) {
    const auto type = r.string(t, key + ".type");
    if (type != "binance" && type != "nats") r.fail(t, key + ".type", "expected binance or nats, got '" + type + "'");
    up.type = type == "nats" ? config::UpstreamType::nats : config::UpstreamType::binance;
  }
  if (up.type == config::UpstreamType::nats) {
    // Events come from the backbone: no URL, connections or pacing of its own.
    r.check_keys(node, key, {"name", "type", "product", "streams", "symbols", "symbols_file", "time_unit"});
    if (!node["product"]) r.fail(node, key + ".product", "required for an upstream of type nats");
  } else {
    r.check_keys(node, key,
                 {"name", "type", "url", "product", "streams", "symbols", "symbols_file", "max_streams_per_connection",
                  "time_unit", "tls", "reconnect", "max_connection_age", "stall_timeout", "connect_timeout",
                  "connection_rate", "message_rate", "max_message_bytes", "rest_url"});
  }
  if (!node["name"]) r.fail(node, key + ".name", "required");
  up.name = r.string(node["name"], key + ".name");
  if (up.name.empty() || !std::all_of(up.name.begin(), up.name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      }))
    r.fail(node["name"], key + ".name", "use letters, digits, '-' and '_' (it becomes a metrics label)");

  std::string host;
  if (up.type == config::UpstreamType::binance) {
    if (!node["url"]) r.fail(node, key + ".url", "required");
    const auto& url_node = node["url"];
    up.url = r.string(url_node, key + ".url");
    const auto parsed = boost::urls::parse_uri(up.url);
    if (!parsed || (parsed->scheme() != "ws" && parsed->scheme() != "wss") || parsed->host().empty())
      r.fail(url_node, key + ".url", "expected ws://HOST[:PORT] or wss://HOST[:PORT], got '" + up.url + "'");
    if (!parsed->encoded_path().empty() && parsed->encoded_path() != "/")
      r.fail(url_node, key + ".url",
             "give the base URL without a path (e.g. wss://fstream.binance.com): tickrelay routes each stream "
             "to the path that carries it (/market, /public, /stream)");
    if (parsed->has_query() || parsed->has_fragment())
      r.fail(url_node, key + ".url", "no query or fragment: streams and time unit have keys of their own");
    host = std::string(parsed->host());
  }

  if (const auto& p = node["product"]) {
    const auto name = r.string(p, key + ".product");
    const auto product = upstream::parse_product(name);
    if (!product) r.fail(p, key + ".product", "expected spot, usdm-futures or coinm-futures, got '" + name + "'");
    up.product = *product;
  } else if (auto product = upstream::product_for_host(host)) {
    up.product = *product;
  } else {
    r.fail(node["url"], key + ".product", "required for host " + host + " (spot, usdm-futures or coinm-futures)");
  }

  if (node["symbols"] && node["symbols_file"])
    r.fail(node["symbols_file"], key + ".symbols_file", "give symbols or symbols_file, not both");
  if (const auto& s = node["symbols"]) {
    if (!s.IsSequence()) r.fail(s, key + ".symbols", "expected a list of symbols");
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto k = key + ".symbols[" + std::to_string(i) + "]";
      const auto symbol = fanout::normalize_symbol(r.string(s[i], k));
      if (symbol.empty() || !std::all_of(symbol.begin(), symbol.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
          }))
        r.fail(s[i], k, "not a symbol: '" + s[i].Scalar() + "'");
      up.symbols.push_back(symbol);
    }
  }
  if (const auto& f = node["symbols_file"]) {
    up.symbols_file = r.readable_file(f, key + ".symbols_file");
    up.symbols = read_symbols_file(r, f, key + ".symbols_file", up.symbols_file);
  }
  dedupe_in_order(up.symbols);

  const auto& streams = node["streams"];
  if (!streams || !streams.IsSequence() || streams.size() == 0)
    r.fail(streams ? streams : node, key + ".streams", "expected a non-empty list of streams or templates");
  for (std::size_t i = 0; i < streams.size(); ++i) {
    const auto k = key + ".streams[" + std::to_string(i) + "]";
    const auto pattern = r.string(streams[i], k);
    up.stream_patterns.push_back(pattern);
    std::vector<std::string> expanded;
    if (const auto pos = pattern.find("{symbol}"); pos != std::string::npos) {
      if (up.symbols.empty()) r.fail(streams[i], k, "template needs symbols or symbols_file");
      for (const auto& symbol : up.symbols) {
        std::string name = pattern;
        name.replace(pos, 8, symbol);
        expanded.push_back(std::move(name));
      }
    } else {
      expanded.push_back(pattern);
    }
    for (auto& name : expanded) {
      const auto stream = fanout::parse_stream_name(name);
      if (!stream) r.fail(streams[i], k, "not a Binance stream name: '" + name + "'");
      if (!upstream::route_stream(up.product, stream->kind))
        r.fail(streams[i], k,
               "stream '" + name + "' (" + std::string(fanout::kind_label(stream->kind)) + ") is not served by " +
                   product_name(up.product) + ": cannot route it");
      up.streams.push_back(std::move(name));
    }
  }
  dedupe_in_order(up.streams);

  if (const auto& n = node["max_streams_per_connection"])
    up.max_streams_per_connection = r.count(n, key + ".max_streams_per_connection", 1, 1024);
  // Spot documents timeUnit=MICROSECOND; the futures products do not, so
  // they are read in milliseconds unless the config says otherwise. Either
  // way each client gets the unit it asked for.
  up.microsecond_time = up.product == config::Product::spot;
  if (const auto& n = node["time_unit"]) {
    const auto unit = r.string(n, key + ".time_unit");
    if (unit != "millisecond" && unit != "microsecond")
      r.fail(n, key + ".time_unit", "expected millisecond or microsecond, got '" + unit + "'");
    up.microsecond_time = unit == "microsecond";
  }
  if (const auto& tls = node["tls"]) {
    const auto k = key + ".tls";
    r.check_keys(tls, k, {"verify", "ca_file"});
    if (tls["verify"]) up.tls.verify = r.boolean(tls["verify"], k + ".verify");
    if (tls["ca_file"]) up.tls.ca_file = r.readable_file(tls["ca_file"], k + ".ca_file");
  }
  if (const auto& rc = node["reconnect"]) {
    const auto k = key + ".reconnect";
    r.check_keys(rc, k, {"base", "cap"});
    if (rc["base"]) up.reconnect_base_seconds = r.seconds(rc["base"], k + ".base", 0.01, 3600);
    if (rc["cap"]) up.reconnect_cap_seconds = r.seconds(rc["cap"], k + ".cap", 0.01, 86400);
    if (up.reconnect_cap_seconds < up.reconnect_base_seconds)
      r.fail(rc, k + ".cap", "must not be below reconnect.base");
  }
  if (const auto& n = node["max_connection_age"])
    up.max_connection_age_seconds = r.seconds(n, key + ".max_connection_age", 1, 24 * 3600);
  if (const auto& n = node["stall_timeout"]) up.stall_timeout_seconds = r.seconds(n, key + ".stall_timeout", 0.1, 3600);
  if (up.stall_timeout_seconds == 0) up.stall_timeout_seconds = upstream::default_stall_timeout(up.product);
  if (const auto& n = node["connect_timeout"])
    up.connect_timeout_seconds = r.seconds(n, key + ".connect_timeout", 0.1, 600);
  if (const auto& cr = node["connection_rate"]) {
    const auto k = key + ".connection_rate";
    r.check_keys(cr, k, {"count", "window"});
    if (cr["count"]) up.connection_rate_count = r.count(cr["count"], k + ".count", 1, 100000);
    if (cr["window"]) up.connection_rate_window_seconds = r.seconds(cr["window"], k + ".window", 0.001, 86400);
  }
  if (const auto& n = node["message_rate"]) up.message_rate_per_second = r.number(n, key + ".message_rate", 0.1, 1000);
  if (up.message_rate_per_second == 0) up.message_rate_per_second = upstream::default_message_rate(up.product);
  if (const auto& n = node["max_message_bytes"])
    up.max_message_bytes = r.count(n, key + ".max_message_bytes", 1024, std::size_t{1} << 30);
  if (up.type == config::UpstreamType::binance) {
    if (const auto& n = node["rest_url"]) {
      up.rest_url = r.string(n, key + ".rest_url");
      const auto parsed = boost::urls::parse_uri(up.rest_url);
      if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty() ||
          (!parsed->encoded_path().empty() && parsed->encoded_path() != "/") || parsed->has_query())
        r.fail(n, key + ".rest_url", "expected https://HOST[:PORT] or http://HOST[:PORT], got '" + up.rest_url + "'");
    } else {
      up.rest_url = upstream::default_rest_url(up.product);
    }
  }
  return up;
}

BooksConfig read_books(const Reader& r, const YAML::Node& node) {
  const std::string key = "books";
  r.check_keys(node, key,
               {"enabled", "snapshot_limit", "max_levels", "max_buffered_events", "weight_per_minute",
                "max_concurrent_snapshots", "request_timeout", "wait", "client_weight_per_minute"});
  BooksConfig b;
  if (const auto& v = node["enabled"]) b.enabled = r.boolean(v, key + ".enabled");
  if (const auto& v = node["snapshot_limit"]) b.snapshot_limit = r.count(v, key + ".snapshot_limit", 5, 5000);
  if (const auto& v = node["max_levels"]) b.max_levels = r.count(v, key + ".max_levels", 5, 100000);
  if (const auto& v = node["max_buffered_events"])
    b.max_buffered_events = r.count(v, key + ".max_buffered_events", 1, 1000000);
  if (const auto& v = node["weight_per_minute"])
    b.weight_per_minute = r.count(v, key + ".weight_per_minute", 1, 1000000);
  if (const auto& v = node["max_concurrent_snapshots"])
    b.max_concurrent_snapshots = r.count(v, key + ".max_concurrent_snapshots", 1, 64);
  if (const auto& v = node["request_timeout"])
    b.request_timeout_seconds = r.seconds(v, key + ".request_timeout", 0.1, 600);
  if (const auto& v = node["wait"]) b.wait_seconds = r.seconds(v, key + ".wait", 0, 60);
  if (const auto& v = node["client_weight_per_minute"])
    b.client_weight_per_minute = r.count(v, key + ".client_weight_per_minute", 1, 1000000);
  return b;
}

// The form of a user NKey's public key: 'U', then base32 (RFC 4648, no
// padding) to 56 characters. Its checksum is the server's to check.
bool is_user_nkey(std::string_view key) {
  return key.size() == 56 && key.front() == 'U' &&
         std::all_of(key.begin(), key.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); });
}

BackboneConfig read_backbone(const Reader& r, const YAML::Node& node) {
  r.check_keys(node, "backbone", {"nats"});
  BackboneConfig b;
  const auto& n = node["nats"];
  if (!n) return b;
  const std::string key = "backbone.nats";
  r.check_keys(n, key,
               {"urls", "name", "publish", "subject_prefix", "unsubscribe_grace", "source_timeout", "connect_timeout",
                "reconnect_wait", "max_buffered_bytes", "tls", "user", "password", "token", "nkey", "nkey_seed_file",
                "credentials_file"});
  auto& nats = b.nats;
  const auto& urls = n["urls"];
  if (!urls || !urls.IsSequence() || urls.size() == 0)
    r.fail(urls ? urls : n, key + ".urls", "expected a non-empty list of nats://HOST:PORT or tls://HOST:PORT");
  std::vector<std::string> hosts;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const auto k = key + ".urls[" + std::to_string(i) + "]";
    const auto url = r.string(urls[i], k);
    const auto parsed = boost::urls::parse_uri(url);
    if (!parsed || (parsed->scheme() != "nats" && parsed->scheme() != "tls") || parsed->host().empty() ||
        !parsed->has_port() || parsed->has_userinfo())
      r.fail(urls[i], k,
             "expected nats://HOST:PORT or tls://HOST:PORT (credentials go in user and password), got '" + url + "'");
    nats.tls.enabled = nats.tls.enabled || parsed->scheme() == "tls";
    std::string host(parsed->encoded_host_address());
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(std::move(host));
    nats.urls.push_back(url);
  }
  if (const auto& tls = n["tls"]) {
    const auto k = key + ".tls";
    r.check_keys(tls, k, {"ca_file", "cert_file", "key_file", "server_name"});
    nats.tls.enabled = true;
    if (tls["ca_file"]) nats.tls.ca_file = r.readable_file(tls["ca_file"], k + ".ca_file");
    if (tls["cert_file"]) nats.tls.cert_file = r.readable_file(tls["cert_file"], k + ".cert_file");
    if (tls["key_file"]) nats.tls.key_file = r.readable_file(tls["key_file"], k + ".key_file");
    if (nats.tls.cert_file.empty() != nats.tls.key_file.empty())
      r.fail(tls, k, "give both cert_file and key_file, or neither");
    if (tls["server_name"]) {
      nats.tls.server_name = r.string(tls["server_name"], k + ".server_name");
      if (nats.tls.server_name.empty()) r.fail(tls["server_name"], k + ".server_name", "expected a host name");
    }
  }
  if (nats.tls.enabled && nats.tls.server_name.empty()) {
    if (hosts.size() != 1)
      r.fail(n["tls"] ? n["tls"] : urls, key + ".tls.server_name",
             "the urls name " + std::to_string(hosts.size()) +
                 " hosts and one name is checked against every server's certificate: give the name they all carry");
    nats.tls.server_name = hosts.front();
  }
  if (const auto& v = n["user"]) nats.user = r.string(v, key + ".user");
  if (const auto& v = n["password"]) nats.password = r.string(v, key + ".password");
  if (const auto& v = n["token"]) nats.token = r.string(v, key + ".token");
  if (nats.user.empty() != nats.password.empty())
    r.fail(n["user"] ? n["user"] : n["password"], key + (n["user"] ? ".password" : ".user"),
           "give both user and password, or neither");
  if (const auto& v = n["nkey"]) {
    nats.nkey = r.string(v, key + ".nkey");
    if (!is_user_nkey(nats.nkey))
      r.fail(v, key + ".nkey", "expected a user NKey's public key (56 characters from A-Z and 2-7, starting with U)");
  }
  if (const auto& v = n["nkey_seed_file"]) nats.nkey_seed_file = r.readable_file(v, key + ".nkey_seed_file");
  if (nats.nkey.empty() != nats.nkey_seed_file.empty())
    r.fail(n["nkey"] ? n["nkey"] : n["nkey_seed_file"], key + (n["nkey"] ? ".nkey_seed_file" : ".nkey"),
           "give both nkey and nkey_seed_file, or neither");
  if (const auto& v = n["credentials_file"]) nats.credentials_file = r.readable_file(v, key + ".credentials_file");
  // At most one way to authenticate: the error names the second one given.
  const std::pair<const char*, bool> ways[] = {{"user", !nats.user.empty()},
                                               {"token", !nats.token.empty()},
                                               {"nkey", !nats.nkey.empty()},
                                               {"credentials_file", !nats.credentials_file.empty()}};
  const char* given = nullptr;
  for (const auto& [name, set] : ways) {
    if (!set) continue;
    if (given)
      r.fail(n[name], key + "." + name,
             std::string("give one of user and password, token, nkey or credentials_file: ") + given +
                 " is given already");
    given = name;
  }
  if (const auto& v = n["name"]) nats.name = r.string(v, key + ".name");
  if (nats.name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    nats.name = host;
  }
  if (const auto& v = n["publish"]) nats.publish = r.boolean(v, key + ".publish");
  if (const auto& v = n["subject_prefix"]) {
    nats.subject_prefix = r.string(v, key + ".subject_prefix");
    // One or more subject tokens: no wildcards, spaces or empty tokens.
    bool ok = !nats.subject_prefix.empty() && nats.subject_prefix.front() != '.' && nats.subject_prefix.back() != '.' &&
              nats.subject_prefix.find("..") == std::string::npos;
    for (const char c : nats.subject_prefix)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (!ok) r.fail(v, key + ".subject_prefix", "use letters, digits, '-', '_' and '.' between tokens");
  }
  if (const auto& v = n["unsubscribe_grace"])
    nats.unsubscribe_grace_seconds = r.seconds(v, key + ".unsubscribe_grace", 0, 86400);
  if (const auto& v = n["source_timeout"])
    nats.source_timeout_seconds = r.seconds(v, key + ".source_timeout", 0.1, 3600);
  if (const auto& v = n["connect_timeout"])
    nats.connect_timeout_seconds = r.seconds(v, key + ".connect_timeout", 0.1, 600);
  if (const auto& v = n["reconnect_wait"])
    nats.reconnect_wait_seconds = r.seconds(v, key + ".reconnect_wait", 0.01, 600);
  if (const auto& v = n["max_buffered_bytes"])
    nats.max_buffered_bytes = r.count(v, key + ".max_buffered_bytes", 1 << 16, std::size_t{1} << 30);
  return b;
}

ServerConfig read_server(const Reader& r, const YAML::Node& node) {
  const std::string key = "server";
  r.check_keys(node, key,
               {"listen", "max_clients", "max_clients_per_ip", "client_queue_bytes", "max_client_lag",
                "max_streams_per_client", "client_message_rate", "max_client_message_bytes", "max_request_bytes",
                "max_path_bytes", "handshake_timeout", "idle_ping", "shutdown_drain", "auth_token", "tls",
                "subscribe_on_demand", "max_on_demand_streams", "on_demand_idle", "replay"});
  ServerConfig s;
  if (const auto& n = node["listen"]) s.listen = r.listen(n, key + ".listen");
  if (const auto& n = node["max_clients"]) s.max_clients = r.count(n, key + ".max_clients", 1, 1000000);
  if (const auto& n = node["max_clients_per_ip"])
    s.max_clients_per_ip = r.count(n, key + ".max_clients_per_ip", 0, 1000000);
  if (const auto& n = node["client_queue_bytes"])
    s.client_queue_bytes = r.count(n, key + ".client_queue_bytes", 4096, std::size_t{1} << 32);
  if (const auto& n = node["max_client_lag"])
    s.max_client_lag_seconds = r.seconds(n, key + ".max_client_lag", 0.001, 3600);
  if (const auto& n = node["max_streams_per_client"])
    s.max_streams_per_client = r.count(n, key + ".max_streams_per_client", 1, 65536);
  // At least 1: a client's token bucket holds one second's worth, which
  // below one never reaches the whole token its first message needs.
  if (const auto& n = node["client_message_rate"])
    s.client_message_rate = r.number(n, key + ".client_message_rate", 1, 100000);
  if (const auto& n = node["max_client_message_bytes"])
    s.max_client_message_bytes = r.count(n, key + ".max_client_message_bytes", 256, 16 << 20);
  if (const auto& n = node["max_request_bytes"])
    s.max_request_bytes = r.count(n, key + ".max_request_bytes", 1024, 1 << 20);
  if (const auto& n = node["max_path_bytes"]) s.max_path_bytes = r.count(n, key + ".max_path_bytes", 64, 1 << 20);
  if (s.max_path_bytes > s.max_request_bytes)
    r.fail(node, key + ".max_path_bytes", "must not exceed max_request_bytes");
  if (const auto& n = node["handshake_timeout"])
    s.handshake_timeout_seconds = r.seconds(n, key + ".handshake_timeout", 0.1, 600);
  if (const auto& n = node["idle_ping"]) s.idle_ping_seconds = r.seconds(n, key + ".idle_ping", 0.1, 3600);
  if (const auto& n = node["shutdown_drain"]) s.shutdown_drain_seconds = r.seconds(n, key + ".shutdown_drain", 0, 600);
  if (const auto& n = node["auth_token"]) s.auth_token = r.string(n, key + ".auth_token");
  if (const auto& tls = node["tls"]) {
    r.check_keys(tls, key + ".tls", {"cert_file", "key_file"});
    if (tls["cert_file"]) s.tls.cert_file = r.readable_file(tls["cert_file"], key + ".tls.cert_file");
    if (tls["key_file"]) s.tls.key_file = r.readable_file(tls["key_file"], key + ".tls.key_file");
    if (s.tls.cert_file.empty() != s.tls.key_file.empty())
      r.fail(tls, key + ".tls", "give both cert_file and key_file, or neither");
  }
  if (const auto& n = node["subscribe_on_demand"]) s.subscribe_on_demand = r.boolean(n, key + ".subscribe_on_demand");
  if (const auto& n = node["max_on_demand_streams"])
    s.max_on_demand_streams = r.count(n, key + ".max_on_demand_streams", 0, 100000);
  if (const auto& n = node["on_demand_idle"])
    s.on_demand_idle_seconds = r.seconds(n, key + ".on_demand_idle", 1, 7 * 24 * 3600);
  if (const auto& replay = node["replay"]) {
    if (!replay.IsMap()) r.fail(replay, key + ".replay", "expected a mapping of stream type to true/false");
    for (const auto& entry : replay) {
      if (!entry.first.IsScalar()) r.fail(entry.first, key + ".replay", "expected a stream type as key");
      const auto family = entry.first.as<std::string>();
      const auto k = key + ".replay." + family;
      if (!s.replay.contains(family)) {
        std::string known;
        for (const auto& [name, on] : s.replay) known += (known.empty() ? "" : ", ") + name;
        r.fail(entry.first, k, "not a stream type with a state to replay (known: " + known + ")");
      }
      s.replay[family] = r.boolean(entry.second, k);
    }
  }
  return s;
}

Config read_config(const Reader& r, const YAML::Node& root) {
  if (!root.IsDefined() || root.IsNull()) throw ConfigError(r.source(), 0, "", "empty configuration");
  r.check_keys(root, "", {"upstreams", "server", "metrics", "backbone", "books", "cpu_affinity", "log"});
  Config config;
  config.source = r.source();
  const auto& ups = root["upstreams"];
  if (!ups || !ups.IsSequence() || ups.size() == 0)
    r.fail(ups ? ups : root, "upstreams", "expected a non-empty list of upstreams");
  std::set<std::string> names;
  for (std::size_t i = 0; i < ups.size(); ++i) {
    const auto key = "upstreams[" + std::to_string(i) + "]";
    auto up = read_upstream(r, ups[i], key);
    if (!names.insert(up.name).second) r.fail(ups[i]["name"], key + ".name", "name '" + up.name + "' is used twice");
    config.upstreams.push_back(std::move(up));
  }
  if (const auto& s = root["server"]) config.server = read_server(r, s);
  if (const auto& b = root["backbone"]) config.backbone = read_backbone(r, b);
  if (const auto& b = root["books"]) config.books = read_books(r, b);
  for (std::size_t i = 0; i < config.upstreams.size(); ++i) {
    if (config.upstreams[i].type == UpstreamType::nats && !config.backbone.enabled())
      r.fail(ups[i]["type"], "upstreams[" + std::to_string(i) + "].type",
             "an upstream of type nats needs backbone.nats.urls");
  }
  if (const auto& m = root["metrics"]) {
    r.check_keys(m, "metrics", {"listen"});
    if (m["listen"]) config.metrics.listen = r.listen(m["listen"], "metrics.listen");
  }
  if (const auto& n = root["cpu_affinity"]) {
    const auto cpu = r.number(n, "cpu_affinity", -1, 4095);
    if (cpu != std::floor(cpu)) r.fail(n, "cpu_affinity", "expected a CPU number or -1");
    config.cpu_affinity = static_cast<int>(cpu);
  }
  if (const auto& l = root["log"]) {
    r.check_keys(l, "log", {"level", "target"});
    if (l["level"]) {
      config.log.level = r.string(l["level"], "log.level");
      static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
      if (!kLevels.contains(config.log.level))
        r.fail(l["level"], "log.level", "expected trace, debug, info, warn, error, critical or off");
    }
    if (l["target"]) {
      config.log.target = r.string(l["target"], "log.target");
      if (config.log.target != "auto" && config.log.target != "stderr" && config.log.target != "journald")
        r.fail(l["target"], "log.target", "expected auto, stderr or journald");
    }
  }
  return config;
}

}  // namespace

ConfigError::ConfigError(std::string source, int line, std::string key, std::string reason)
    : std::runtime_error(format_error(source, line, key, reason)),
      line_(line),
      key_(std::move(key)),
      reason_(std::move(reason)) {}

Config load_config_string(std::string_view yaml, const std::string& source_name, const std::string& base_dir) {
  Reader reader(source_name, base_dir);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(source_name, e.mark.line + 1, "", "YAML syntax: " + e.msg);
  }
  return read_config(reader, root);
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, 0, "", "cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  const auto dir = std::filesystem::path(path).parent_path().string();
  return load_config_string(text.str(), path, dir.empty() ? "." : dir);
}

bool parse_duration(std::string_view text, double& seconds) {
  if (text.empty()) return false;
  double total = 0;
  bool any = false;
  while (!text.empty()) {
    double value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || !std::isfinite(value) || value < 0) return false;  // from_chars reads "nan", "inf"
    text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
    double unit = 1;
    if (text.starts_with("ms")) {
      unit = 0.001;
      text.remove_prefix(2);
    } else if (!text.empty() &&
               (text.front() == 's' || text.front() == 'm' || text.front() == 'h' || text.front() == 'd')) {
      unit = text.front() == 's' ? 1 : text.front() == 'm' ? 60 : text.front() == 'h' ? 3600 : 86400;
      text.remove_prefix(1);
    } else if (!text.empty() || any) {
      return false;  // a bare number is only allowed alone
    }
    total += value * unit;
    any = true;
  }
  seconds = total;
  return true;
}

bool parse_size(std::string_view text, std::size_t& bytes) {
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) return false;
  const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  std::uint64_t scale = 1;
  if (unit == "KiB")
    scale = 1ull << 10;
  else if (unit == "MiB")
    scale = 1ull << 20;
  else if (unit == "GiB")
    scale = 1ull << 30;
  else if (!unit.empty())
    return false;
  if (value > (~0ull) / scale) return false;
  bytes = static_cast<std::size_t>(value * scale);
  return true;
}

}  // namespace tickrelay::config
