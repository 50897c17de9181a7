#include "raw_transport.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <climits>

#include "tickrelay/wire/tls_context.hpp"

namespace tickrelay::client {
namespace {

int clamp_int(std::size_t size) { return size > INT_MAX ? INT_MAX : static_cast<int>(size); }

}  // namespace

RawTransport::~RawTransport() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

bool RawTransport::start_tls(SSL_CTX* context, const std::string& host, bool verify) {
  ssl_ = SSL_new(context);
  if (ssl_ == nullptr) return false;
  // Partial writes and a write buffer that may move between retries: the
  // session appends to its outbox while a write waits.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // A server that closes without close_notify ends the stream like EOF on a
  // plain socket, instead of as a protocol error.
  SSL_set_options(ssl_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (!wire::prepare_client_tls_stream(ssl_, host, verify) || SSL_set_fd(ssl_, socket_.native_handle()) != 1) {
    return false;
  }
  SSL_set_connect_state(ssl_);
  return true;
}

RawTransport::Result RawTransport::tls_result(int rc) {
  Result result;
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ: result.wait = Wait::readable; break;
    case SSL_ERROR_WANT_WRITE: result.wait = Wait::writable; break;
    case SSL_ERROR_ZERO_RETURN: result.ec = net::error::eof; break;
    case SSL_ERROR_SYSCALL:
      result.ec = errno != 0 ? error_code(errno, boost::system::system_category()) : error_code(net::error::eof);
      break;
    default: {
      const unsigned long code = ERR_peek_last_error();
      result.ec = error_code(static_cast<int>(code), net::error::get_ssl_category());
      break;
    }
  }
  return result;
}

RawTransport::Result RawTransport::handshake() {
  ERR_clear_error();
  errno = 0;
  const int rc = SSL_do_handshake(ssl_);
  return rc == 1 ? Result{} : tls_result(rc);
}

RawTransport::Result RawTransport::read(char* data, std::size_t size) {
  if (ssl_ == nullptr) {
    Result result;
    result.bytes = socket_.read_some(net::buffer(data, size), result.ec);
    if (result.ec == net::error::would_block) {
      result.ec = {};
      result.wait = Wait::readable;
    }
    return result;
  }
  ERR_clear_error();
  errno = 0;
  const int rc = SSL_read(ssl_, data, clamp_int(size));
  if (rc > 0) {
    Result result;
    result.bytes = static_cast<std::size_t>(rc);
    return result;
  }
  return tls_result(rc);
}

RawTransport::Result RawTransport::write(const char* data, std::size_t size) {
  if (ssl_ == nullptr) {
    Result result;
    result.bytes = socket_.write_some(net::buffer(data, size), result.ec);
    if (result.ec == net::error::would_block) {
      result.ec = {};
      result.wait = Wait::writable;
    }
    return result;
  }
  ERR_clear_error();
  errno = 0;
  const int rc = SSL_write(ssl_, data, clamp_int(size));
  if (rc > 0) {
    Result result;
    result.bytes = static_cast<std::size_t>(rc);
    return result;
  }
  return tls_result(rc);
}

void RawTransport::shutdown() {
  if (ssl_ != nullptr && SSL_is_init_finished(ssl_)) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
  }
}

}  // namespace tickrelay::client
