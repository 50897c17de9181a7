#pragma once
// NATS identities for tests, made the way NATS' own tools make them: Ed25519
// key pairs written as NKeys (a type prefix, the key, a CRC-16, in base32),
// and JWTs signed with them (operator, account, user), so that a real
// nats-server can be run with NKey users or in operator mode.
#include <string>

namespace tickrelay::test {

enum class NKeyType : unsigned char {
  operator_key = 14 << 3,  // 'O'
  account = 0,             // 'A'
  user = 20 << 3,          // 'U'
};

struct NKey {
  NKeyType type = NKeyType::user;
  std::string public_key;  // e.g. "U..." (56 characters)
  std::string seed;        // e.g. "SU..." (58 characters): the private part
  std::string raw_seed;    // the 32 bytes of the Ed25519 private key
};

NKey make_nkey(NKeyType type);

// A JWT whose claims are `claims` (a JSON object's members, without braces,
// e.g. "\"name\":\"x\",\"nats\":{...}") with "iss" `issuer`, "sub" `subject`,
// and "jti" and "iat" added, signed by `issuer`'s key.
std::string sign_jwt(const NKey& issuer, const std::string& subject, const std::string& claims);

// The operator JWT (self-signed), an account JWT it signs, a user JWT the
// account signs: what `nsc` writes for operator mode. `permissions` is the
// user's "pub"/"sub" members, e.g. "\"pub\":{\"allow\":[\"a.>\"]},\"sub\":{}".
std::string operator_jwt(const NKey& op, const std::string& name);
std::string account_jwt(const NKey& op, const NKey& account, const std::string& name);
std::string user_jwt(const NKey& account, const NKey& user, const std::string& name, const std::string& permissions);

// A `.creds` file's text: the user JWT and the user's seed, in the framing
// nats-server's clients read.
std::string creds_text(const std::string& user_jwt, const NKey& user);

}  // namespace tickrelay::test
