#include "backbone/subjects.hpp"

#include <cctype>

namespace tickrelay::backbone {

namespace {

bool token_char(char c) { return std::isgraph(static_cast<unsigned char>(c)) != 0 && c != '.' && c != '*' && c != '>'; }

std::string stream_subject(std::string_view prefix, std::string_view kind, config::Product product,
                           std::string_view stream) {
  if (stream.empty()) return {};
  std::string subject;
  subject.reserve(prefix.size() + kind.size() + stream.size() + 8);
  subject.append(prefix).append(kind).append(".").append(product_token(product)).append(".");
  for (const char c : stream) {
    if (c == '@') {
      subject.push_back('.');
    } else if (token_char(c)) {
      subject.push_back(c);
    } else {
      return {};
    }
  }
  // "a@@b" or a trailing '@' would make an empty token.
  if (subject.back() == '.' || subject.find("..") != std::string::npos) return {};
  return subject;
}

}  // namespace

std::string_view product_token(config::Product product) {
  switch (product) {
    case config::Product::spot: return "spot";
    case config::Product::usdm_futures: return "usdm";
    case config::Product::coinm_futures: return "coinm";
  }
  return "spot";
}

std::string event_subject(std::string_view prefix, config::Product product, std::string_view stream) {
  return stream_subject(prefix, "", product, stream);
}

std::string last_value_subject(std::string_view prefix, config::Product product, std::string_view stream) {
  return stream_subject(prefix, "-last", product, stream);
}

std::string source_subject(std::string_view prefix, std::string_view name) {
  std::string subject = std::string(prefix) + "-ingest.";
  for (const char c : name) subject.push_back(token_char(c) ? c : '_');
  if (name.empty()) subject.push_back('_');
  return subject;
}

}  // namespace tickrelay::backbone
