#pragma once
#include <openssl/types.h>

#include <cstddef>
#include <string>

#include "tickrelay/wire/asio.hpp"

namespace tickrelay::client {

// The byte stream under the raw reader: a plain TCP socket, or OpenSSL
// working straight on that socket (no BIO pair and none of Asio's SSL stream
// buffers, which cost ~70 KiB per connection). The socket is non-blocking;
// no call waits, each says what it would wait for and the session arms that
// wait on its event loop.
class RawTransport {
 public:
  enum class Wait { none, readable, writable };
  struct Result {
    std::size_t bytes = 0;
    Wait wait = Wait::none;  // nothing more now: wait for this, then retry
    error_code ec;           // set: the stream ended (eof) or failed
  };

  explicit RawTransport(tcp::socket& socket) : socket_(socket) {}
  ~RawTransport();
  RawTransport(const RawTransport&) = delete;
  RawTransport& operator=(const RawTransport&) = delete;

  // Puts TLS on the connected, non-blocking socket: SNI and, when verifying,
  // the host name check. Returns false when OpenSSL refuses.
  bool start_tls(SSL_CTX* context, const std::string& host, bool verify);
  bool tls() const { return ssl_ != nullptr; }
  // One step of the TLS handshake; done when neither wait nor ec is set.
  Result handshake();
  Result read(char* data, std::size_t size);
  Result write(const char* data, std::size_t size);
  // A short read proves a plain socket empty; TLS hands over one record per
  // read, so only a wait proves it there.
  bool short_read_means_empty() const { return ssl_ == nullptr; }
  // Sends TLS close_notify if it can without waiting.
  void shutdown();

 private:
  Result tls_result(int rc);

  tcp::socket& socket_;
  SSL* ssl_ = nullptr;
};

}  // namespace tickrelay::client
