#pragma once
#include <vector>

#include "load_options.hpp"
#include "tickrelay/wire/asio.hpp"

namespace tickrelay::client {

// What every worker needs to open connections, prepared once before the run:
// addresses are resolved up front so no thread ever waits on DNS mid-run.
struct RunSetup {
  const LoadOptions& options;
  std::vector<tcp::resolver::results_type> endpoints;  // per target
  ssl::context* tls = nullptr;                         // set when a target is wss://
};

}  // namespace tickrelay::client
