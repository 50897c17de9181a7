#include "upstream/dns_resolver.hpp"

#include <ares.h>
#include <netdb.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace tickrelay::upstream {
namespace {

// c-ares errors as error_codes for the connect chain's fail().
class AresCategory : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "c-ares"; }
  std::string message(int code) const override { return ares_strerror(code); }
};

const AresCategory& ares_category() {
  static const AresCategory category;
  return category;
}

}  // namespace

struct DnsResolver::Impl {
  // One watcher per socket c-ares opens. The descriptor is c-ares's: it is
  // released, never closed, by Asio.
  struct Watch {
    std::unique_ptr<net::posix::stream_descriptor> descriptor;
    bool want_read = false;
    bool want_write = false;
    bool reading = false;
    bool writing = false;
  };

  struct Query {
    Impl* impl;
    unsigned short port;
    Handler handler;
  };

  net::io_context& ioc;
  ares_channel channel = nullptr;
  std::map<ares_socket_t, Watch> watches;
  net::steady_timer timer;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  explicit Impl(net::io_context& io) : ioc(io), timer(io) {
    if (const int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
      throw std::runtime_error(std::string("c-ares init failed: ") + ares_strerror(rc));
    ares_options options{};
    options.sock_state_cb = &Impl::on_socket_state;
    options.sock_state_cb_data = this;
    if (const int rc = ares_init_options(&channel, &options, ARES_OPT_SOCK_STATE_CB); rc != ARES_SUCCESS) {
      ares_library_cleanup();
      throw std::runtime_error(std::string("c-ares channel failed: ") + ares_strerror(rc));
    }
  }

  ~Impl() {
    *alive = false;
    timer.cancel();
    for (auto& [fd, watch] : watches) watch.descriptor->release();
    watches.clear();
    // Pending queries complete with ARES_EDESTRUCTION; their handlers are
    // dropped because `alive` is false.
    ares_destroy(channel);
    ares_library_cleanup();
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    if (!readable && !writable) {
      if (auto it = self->watches.find(fd); it != self->watches.end()) {
        it->second.descriptor->release();
        self->watches.erase(it);
      }
      return;
    }
    auto& watch = self->watches[fd];
    if (!watch.descriptor) watch.descriptor = std::make_unique<net::posix::stream_descriptor>(self->ioc, fd);
    watch.want_read = readable != 0;
    watch.want_write = writable != 0;
    self->arm(fd);
  }

  void arm(ares_socket_t fd) {
    auto it = watches.find(fd);
    if (it == watches.end()) return;
    auto& watch = it->second;
    std::weak_ptr<bool> guard = alive;
    if (watch.want_read && !watch.reading) {
      watch.reading = true;
      watch.descriptor->async_wait(net::posix::stream_descriptor::wait_read, [this, fd, guard](error_code ec) {
        if (guard.expired()) return;
        if (auto w = watches.find(fd); w != watches.end()) w->second.reading = false;
        if (ec) return;
        ares_process_fd(channel, fd, ARES_SOCKET_BAD);
        arm(fd);
        schedule_timeout();
      });
    }
    if (watch.want_write && !watch.writing) {
      watch.writing = true;
      watch.descriptor->async_wait(net::posix::stream_descriptor::wait_write, [this, fd, guard](error_code ec) {
        if (guard.expired()) return;
        if (auto w = watches.find(fd); w != watches.end()) w->second.writing = false;
        if (ec) return;
        ares_process_fd(channel, ARES_SOCKET_BAD, fd);
        arm(fd);
        schedule_timeout();
      });
    }
  }

  // c-ares retries and gives up on its own clock; wake it when it asks.
  void schedule_timeout() {
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv) == nullptr) return;
    timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    std::weak_ptr<bool> guard = alive;
    timer.async_wait([this, guard](error_code ec) {
      if (ec || guard.expired()) return;
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      schedule_timeout();
    });
  }

  static void on_result(void* arg, int status, int, ares_addrinfo* result) {
    std::unique_ptr<Query> query(static_cast<Query*>(arg));
    std::vector<tcp::endpoint> endpoints;
    if (status == ARES_SUCCESS && result != nullptr) {
      for (auto* node = result->nodes; node != nullptr; node = node->ai_next) {
        if (node->ai_family == AF_INET) {
          const auto* sa = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
          net::ip::address_v4::bytes_type bytes;
          std::memcpy(bytes.data(), &sa->sin_addr, 4);
          endpoints.emplace_back(net::ip::address_v4(bytes), query->port);
        } else if (node->ai_family == AF_INET6) {
          const auto* sa = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
          net::ip::address_v6::bytes_type bytes;
          std::memcpy(bytes.data(), &sa->sin6_addr, 16);
          endpoints.emplace_back(net::ip::address_v6(bytes, sa->sin6_scope_id), query->port);
        }
      }
    }
    if (result != nullptr) ares_freeaddrinfo(result);
    if (status == ARES_EDESTRUCTION) return;
    error_code ec;
    if (status != ARES_SUCCESS)
      ec = error_code(status, ares_category());
    else if (endpoints.empty())
      ec = error_code(ARES_ENODATA, ares_category());
    // Complete from the loop, not from inside c-ares's processing.
    net::post(query->impl->ioc, [handler = std::move(query->handler), ec, endpoints = std::move(endpoints)]() {
      handler(ec, endpoints);
    });
  }
};

DnsResolver::DnsResolver(net::io_context& ioc) : impl_(std::make_unique<Impl>(ioc)) {}
DnsResolver::~DnsResolver() = default;

void DnsResolver::resolve(const std::string& host, unsigned short port, Handler handler) {
  error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (!ec) {
    net::post(impl_->ioc,
              [handler = std::move(handler), endpoint = tcp::endpoint(address, port)] { handler({}, {endpoint}); });
    return;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  auto* query = new Impl::Query{impl_.get(), port, std::move(handler)};
  ares_getaddrinfo(impl_->channel, host.c_str(), nullptr, &hints, &Impl::on_result, query);
  impl_->schedule_timeout();
}

}  // namespace tickrelay::upstream
