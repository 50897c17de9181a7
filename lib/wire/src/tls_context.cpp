#include "tickrelay/wire/tls_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdexcept>

namespace tickrelay::wire {

ssl::context make_client_tls_context(const TlsClientOptions& options) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (!options.verify) {
    ctx.set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx.set_verify_mode(ssl::verify_peer);
  error_code ec;
  if (options.ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(options.ca_file, ec);
  }
  if (ec) {
    throw std::runtime_error("cannot load CA " +
                             (options.ca_file.empty() ? std::string("store") : "file " + options.ca_file) + ": " +
                             ec.message());
  }
  return ctx;
}

bool prepare_client_tls_stream(SSL* handle, const std::string& host, bool verify) {
  error_code ec;
  const bool is_ip = !net::ip::make_address(host, ec).to_string().empty() && !ec;
  // SNI selects the certificate on shared front ends such as Binance's; RFC
  // 6066 forbids an IP literal there.
  if (!is_ip && SSL_set_tlsext_host_name(handle, host.c_str()) != 1) {
    return false;
  }
  if (!verify) {
    return true;
  }
  // Checked by OpenSSL during the handshake: a certificate for another name
  // fails it with "certificate verify failed".
  X509_VERIFY_PARAM* param = SSL_get0_param(handle);
  if (is_ip) {
    return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
}

ssl::context make_server_tls_context(const std::string& cert_file, const std::string& key_file) {
  ssl::context ctx(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) {
    throw std::runtime_error("cannot load certificate " + cert_file + ": " + ec.message());
  }
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error("cannot load private key " + key_file + ": " + ec.message());
  }
  return ctx;
}

}  // namespace tickrelay::wire
