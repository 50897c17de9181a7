#pragma once
#include <string>

#include "tickrelay/wire/asio.hpp"

namespace tickrelay::wire {

// TLS settings for a connection we open (the relay to Binance, the load client
// to a wss:// server).
struct TlsClientOptions {
  // Verify the peer's chain and host name; off only when a config says so.
  bool verify = true;
  // Extra trust anchor, e.g. the simulator's self-signed certificate. Empty:
  // the system's CA store.
  std::string ca_file;
};

// Builds a client context: TLS 1.2+, verify_peer unless disabled, CA file or
// system store. Throws std::runtime_error naming the file on a bad CA file.
ssl::context make_client_tls_context(const TlsClientOptions& options);

// Sets SNI and, when verifying, the expected host name on one connection's
// stream; call before the TLS handshake. Returns false if OpenSSL refuses.
bool prepare_client_tls_stream(SSL* handle, const std::string& host, bool verify);

// Builds a server context from PEM files. Throws std::runtime_error naming the
// file that could not be used.
ssl::context make_server_tls_context(const std::string& cert_file, const std::string& key_file);

}  // namespace tickrelay::wire
