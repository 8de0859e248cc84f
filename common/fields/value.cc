#include "common/fields/value.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace vigil::fields {

const char* field_type_name(FieldType t) {
  switch (t) {
    case FieldType::kString:
      return "string";
    case FieldType::kPath:
      return "path";
    case FieldType::kNumber:
      return "number";
    case FieldType::kBool:
      return "bool";
    case FieldType::kIpAddr:
      return "ipaddr";
    case FieldType::kIpNet:
      return "ipnet";
  }
  return "unknown";
}

// Addresses compare by family and bytes; the prefix only matters for networks (ip_in_net).
bool IpAddr::operator==(const IpAddr& o) const {
  if (family != o.family) {
    return false;
  }
  const size_t n = family == 4 ? 4 : (family == 6 ? 16 : 0);
  return std::memcmp(bytes, o.bytes, n) == 0;
}

namespace {

// Strict dotted quad: exactly four decimal parts of 1-3 digits, each <= 255.
bool parse_ipv4(std::string_view s, uint8_t out[4]) {
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    size_t digits = 0;
    unsigned value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (++digits > 3) {
        return false;
      }
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    if (digits == 0 || value > 255) {
      return false;
    }
    out[part++] = static_cast<uint8_t>(value);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') {
        return false;
      }
      ++i;
    }
  }
  return i == s.size();
}

bool parse_ipv6(std::string_view s, uint8_t out[16]) {
  // INET6_ADDRSTRLEN (46) covers the longest textual form, IPv4-mapped included.
  char buf[64];
  if (s.empty() || s.size() >= sizeof(buf)) {
    return false;
  }
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return inet_pton(AF_INET6, buf, out) == 1;
}

}  // namespace

bool parse_ip(std::string_view text, IpAddr& out, bool allow_prefix) {
  IpAddr result;
  std::string_view addr = text;
  std::string_view prefix_text;
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    if (!allow_prefix) {
      return false;
    }
    addr = text.substr(0, slash);
    prefix_text = text.substr(slash + 1);
    if (prefix_text.empty() || prefix_text.size() > 3) {
      return false;
    }
  }

  if (addr.find(':') != std::string_view::npos) {
    if (!parse_ipv6(addr, result.bytes)) {
      return false;
    }
    result.family = 6;
  } else {
    if (!parse_ipv4(addr, result.bytes)) {
      return false;
    }
    result.family = 4;
  }

  const unsigned max_prefix = result.family == 4 ? 32 : 128;
  if (!prefix_text.empty()) {
    unsigned prefix = 0;
    for (char c : prefix_text) {
      if (c < '0' || c > '9') {
        return false;
      }
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > max_prefix) {
      return false;
    }
    result.prefix = static_cast<uint8_t>(prefix);
  } else if (allow_prefix) {
    // A bare address used as a network is the network of that one host.
    result.prefix = static_cast<uint8_t>(max_prefix);
  }
  out = result;
  return true;
}

bool ip_in_net(const IpAddr& addr, const IpAddr& net) {
  if (addr.family == 0 || addr.family != net.family) {
    return false;
  }
  const unsigned max_prefix = net.family == 4 ? 32 : 128;
  const unsigned prefix = std::min<unsigned>(net.prefix, max_prefix);
  const unsigned full_bytes = prefix / 8;
  if (std::memcmp(addr.bytes, net.bytes, full_bytes) != 0) {
    return false;
  }
  const unsigned rest = prefix % 8;
  if (rest == 0) {
    return true;
  }
  const uint8_t mask = static_cast<uint8_t>(0xFFu << (8 - rest));
  return (addr.bytes[full_bytes] & mask) == (net.bytes[full_bytes] & mask);
}

std::string format_ip(const IpAddr& ip) {
  char buf[64] = {};
  if (ip.family == 4) {
    inet_ntop(AF_INET, ip.bytes, buf, sizeof(buf));
  } else if (ip.family == 6) {
    inet_ntop(AF_INET6, ip.bytes, buf, sizeof(buf));
  } else {
    return "";
  }
  std::string out(buf);
  const unsigned max_prefix = ip.family == 4 ? 32 : 128;
  // Addresses carry prefix 0 and single-host networks the full length: neither gets a suffix.
  if (ip.prefix != 0 && ip.prefix < max_prefix) {
    out += '/';
    out += std::to_string(ip.prefix);
  }
  return out;
}

void ValuePool::reserve(size_t n) {
  if (n <= capacity_) {
    return;
  }
  auto bigger = std::make_unique<Value[]>(n);
  std::copy(data_.get(), data_.get() + size_, bigger.get());
  data_ = std::move(bigger);
  capacity_ = n;
}

void ValuePool::grow() { reserve(std::max<size_t>(64, capacity_ * 2)); }

namespace {
constexpr size_t kMinBlockSize = 4096;
}

char* Arena::allocate(size_t n) {
  if (!blocks_.empty()) {
    Block& b = blocks_.back();
    if (b.size - b.used >= n) {
      char* p = b.data.get() + b.used;
      b.used += n;
      return p;
    }
  }
  size_t size = std::max(n, kMinBlockSize);
  if (!blocks_.empty()) {
    size = std::max(size, blocks_.back().size * 2);
  }
  Block b;
  b.data = std::make_unique<char[]>(size);
  b.size = size;
  b.used = n;
  char* p = b.data.get();
  blocks_.push_back(std::move(b));
  return p;
}

std::string_view Arena::copy(std::string_view s) {
  if (s.empty()) {
    return {};
  }
  char* p = allocate(s.size());
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

void Arena::consolidate() {
  // The last event needed more than the first block: replace all blocks by one that holds
  // everything, so that the next event of that size allocates nothing.
  size_t total = 0;
  for (const Block& b : blocks_) {
    total += b.size;
  }
  blocks_.clear();
  Block b;
  b.data = std::make_unique<char[]>(total);
  b.size = total;
  blocks_.push_back(std::move(b));
}

}  // namespace vigil::fields
