#include "tickrelay/wire/base64.hpp"

#include <openssl/evp.h>

namespace tickrelay::wire {

std::string base64(std::string_view bytes) {
  // EVP_EncodeBlock writes a terminating NUL after the text.
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace tickrelay::wire
