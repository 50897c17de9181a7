// The config file: YAML text to a validated Config. Any problem must come
// back as a ConfigError (with its line and key); anything else escaping, or
// a crash, is a finding. Relative file names resolve against a folder with
// one symbols file in it.
#include <unistd.h>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "tickrelay/relay/config_loader.hpp"

namespace {

std::string base_dir() {
  const auto dir = std::filesystem::temp_directory_path() / ("tickrelay-fuzz-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "symbols.txt") << "# symbols\nBTCUSDT\nethusdt\n";
  return dir.string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string dir = base_dir();
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  try {
    (void)tickrelay::config::load_config_string(yaml, "fuzz.yaml", dir);
  } catch (const tickrelay::config::ConfigError&) {
  }
  return 0;
}
