#pragma once
// YAML to Config, validated as a whole: the first problem found is reported
// with the file, line, key and reason, and nothing half-loaded is returned.
#include <stdexcept>
#include <string>
#include <string_view>

#include "tickrelay/relay/config.hpp"

namespace tickrelay::config {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string source, int line, std::string key, std::string reason);
  int line() const { return line_; }  // 1-based; 0 when not tied to a line
  const std::string& key() const { return key_; }
  const std::string& reason() const { return reason_; }

 private:
  int line_;
  std::string key_;
  std::string reason_;
};

// Reads and validates a config file; relative paths inside it (symbols_file,
// CA and certificate files) are resolved against the file's directory.
Config load_config_file(const std::string& path);

// The same for YAML text; `base_dir` resolves relative paths.
Config load_config_string(std::string_view yaml, const std::string& source_name, const std::string& base_dir);

// Parses "30", "30s", "1.5s", "250ms", "5m", "23h50m" into seconds.
bool parse_duration(std::string_view text, double& seconds);

// Parses "4194304", "4MiB", "64KiB", "1GiB" into bytes.
bool parse_size(std::string_view text, std::size_t& bytes);

}  // namespace tickrelay::config
