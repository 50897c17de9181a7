#include "nats_keys.hpp"

#include "tickrelay/wire/base64.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace tickrelay::test {
namespace {

using Bytes = std::vector<unsigned char>;

constexpr unsigned char kSeedPrefix = 18 << 3;  // 'S'

// CRC-16/XMODEM (polynomial 0x1021, initial 0), which NKeys append.
std::uint16_t crc16(const Bytes& data) {
  std::uint16_t crc = 0;
  for (const auto byte : data) {
    crc ^= static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

// RFC 4648 base32, without padding.
std::string base32(const Bytes& data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const auto byte : data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

// base64url without padding, as JWTs are written.
std::string base64url(std::string_view data) {
  auto out = wire::base64(data);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::string with_checksum(Bytes raw) {
  const auto crc = crc16(raw);
  raw.push_back(static_cast<unsigned char>(crc & 0xff));
  raw.push_back(static_cast<unsigned char>(crc >> 8));
  return base32(raw);
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey key_of(const NKey& key) {
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                         reinterpret_cast<const unsigned char*>(key.raw_seed.data()),
                                         key.raw_seed.size()));
  if (!pkey) throw std::runtime_error("Ed25519 key from seed");
  return pkey;
}

std::string claims_object(const NKey& issuer, const std::string& subject, const std::string& claims) {
  static std::atomic<int> counter{0};
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return "{\"jti\":\"TICKRELAYTEST" + std::to_string(++counter) + "\",\"iat\":" + std::to_string(now) + ",\"iss\":\"" +
         issuer.public_key + "\",\"sub\":\"" + subject + "\"," + claims + "}";
}

}  // namespace

NKey make_nkey(NKeyType type) {
  Bytes seed(32);
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) throw std::runtime_error("RAND_bytes");
  NKey key;
  key.type = type;
  key.raw_seed.assign(seed.begin(), seed.end());
  const auto pkey = key_of(key);
  Bytes pub(32);
  std::size_t pub_size = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &pub_size) != 1 || pub_size != 32)
    throw std::runtime_error("Ed25519 public key");
  const auto prefix = static_cast<unsigned char>(type);
  Bytes pub_raw{prefix};
  pub_raw.insert(pub_raw.end(), pub.begin(), pub.end());
  key.public_key = with_checksum(pub_raw);
  // Two prefix bytes carry 'S' and the type, five bits at a time.
  Bytes seed_raw{static_cast<unsigned char>(kSeedPrefix | (prefix >> 5)),
                 static_cast<unsigned char>((prefix & 31) << 3)};
  seed_raw.insert(seed_raw.end(), seed.begin(), seed.end());
  key.seed = with_checksum(seed_raw);
  return key;
}

std::string sign_jwt(const NKey& issuer, const std::string& subject, const std::string& claims) {
  const std::string signing_input = base64url(R"({"typ":"JWT","alg":"ed25519-nkey"})") + "." +
                                    base64url(claims_object(issuer, subject, claims));
  const auto pkey = key_of(issuer);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char signature[64];
  std::size_t size = sizeof signature;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature, &size, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    throw std::runtime_error("Ed25519 signature");
  return signing_input + "." + base64url(std::string_view(reinterpret_cast<const char*>(signature), size));
}

std::string operator_jwt(const NKey& op, const std::string& name) {
  return sign_jwt(op, op.public_key, "\"name\":\"" + name + "\",\"nats\":{\"type\":\"operator\",\"version\":2}");
}

std::string account_jwt(const NKey& op, const NKey& account, const std::string& name) {
  // No limits: -1 is "none"; an absent limit reads as 0.
  return sign_jwt(op, account.public_key,
                  "\"name\":\"" + name +
                      "\",\"nats\":{\"limits\":{\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,"
                      "\"exports\":-1,\"wildcards\":true,\"conn\":-1,\"leaf\":-1},"
                      "\"default_permissions\":{\"pub\":{},\"sub\":{}},\"type\":\"account\",\"version\":2}");
}

std::string user_jwt(const NKey& account, const NKey& user, const std::string& name, const std::string& permissions) {
  return sign_jwt(account, user.public_key,
                  "\"name\":\"" + name + "\",\"nats\":{" + permissions +
                      ",\"subs\":-1,\"data\":-1,\"payload\":-1,\"type\":\"user\",\"version\":2}");
}

std::string creds_text(const std::string& user_jwt, const NKey& user) {
  return "-----BEGIN NATS USER JWT-----\n" + user_jwt +
         "\n------END NATS USER JWT------\n\n"
         "-----BEGIN USER NKEY SEED-----\n" +
         user.seed + "\n------END USER NKEY SEED------\n";
}

}  // namespace tickrelay::test
