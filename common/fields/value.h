#pragma once

// The values that field extractors produce and rules compare. Extraction never allocates per
// event once warm: strings are views into the event or into a per-event Arena, and values are
// appended to a pool owned by the caller's EvalContext.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace vigil::fields {

enum class FieldType : uint8_t {
  kString,
  kPath,    // a string holding a file path (pmatch, basename work on any string too)
  kNumber,  // int64; also times (ns) and durations (ns)
  kBool,    // stored in Value::num as 0/1
  kIpAddr,  // Value::ip
  kIpNet,   // an address field compared against networks: `fd.snet in (10.0.0.0/8)`
};

const char* field_type_name(FieldType t);

struct IpAddr {
  uint8_t family = 0;  // 4 or 6; 0 when unset
  uint8_t prefix = 0;  // network prefix length (only for parsed networks)
  uint8_t bytes[16] = {};

  bool operator==(const IpAddr& o) const;
};

// Parses "10.1.2.3", "::1", "10.0.0.0/8", "fe80::/10". Returns false on malformed input.
bool parse_ip(std::string_view text, IpAddr& out, bool allow_prefix);
// True when addr lies in net (same family, first net.prefix bits equal).
bool ip_in_net(const IpAddr& addr, const IpAddr& net);
std::string format_ip(const IpAddr& ip);

struct Value {
  std::string_view str;  // kString, kPath
  int64_t num = 0;       // kNumber, kBool
  IpAddr ip;             // kIpAddr, kIpNet
};

// A bump allocator for strings computed during one event (ancestor names, transformed values,
// JSON renderings). reset() keeps the first block so steady state allocates nothing.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  char* allocate(size_t n);
  std::string_view copy(std::string_view s);
  // Forgets everything allocated (cheap: called per event).
  void reset() {
    if (blocks_.size() > 1) {
      consolidate();
    }
    if (!blocks_.empty()) {
      blocks_.front().used = 0;
    }
  }

 private:
  void consolidate();

  struct Block {
    std::unique_ptr<char[]> data;
    size_t size = 0;
    size_t used = 0;
  };
  std::vector<Block> blocks_;
};

// The values extracted during one event: an array that keeps its memory across clear(), so
// steady state allocates nothing, and appends inline (extraction appends a value per field).
class ValuePool {
 public:
  ValuePool() = default;
  ValuePool(const ValuePool&) = delete;
  ValuePool& operator=(const ValuePool&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Value* data() { return data_.get(); }
  const Value* data() const { return data_.get(); }
  Value& operator[](size_t i) { return data_[i]; }
  const Value& operator[](size_t i) const { return data_[i]; }
  const Value* begin() const { return data_.get(); }
  const Value* end() const { return data_.get() + size_; }

  void clear() { size_ = 0; }
  // Drops the values from index n on (no-op when there are fewer).
  void truncate(size_t n) {
    if (n < size_) size_ = n;
  }
  void reserve(size_t n);
  // Appends a value-initialised Value and returns it.
  Value& push() {
    if (size_ == capacity_) [[unlikely]] {
      grow();
    }
    Value& v = data_[size_++];
    v = Value{};
    return v;
  }

 private:
  void grow();

  std::unique_ptr<Value[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// What an extractor writes into. Values appended here stay valid until the EvalContext moves on
// to the next event.
class ValueWriter {
 public:
  ValueWriter(ValuePool& pool, Arena& arena) : pool_(pool), arena_(arena) {}

  // The view must stay valid for the whole event (point into the event, or use str_copy).
  // Values are written in place: building one on the stack and copying it in stalls on store
  // forwarding, which cost more than the extraction itself.
  void str(std::string_view s) { pool_.push().str = s; }
  void str_copy(std::string_view s) { str(arena_.copy(s)); }
  void num(int64_t n) { pool_.push().num = n; }
  void boolean(bool b) { num(b ? 1 : 0); }
  void ip(const IpAddr& a) { pool_.push().ip = a; }
  Arena& arena() { return arena_; }

 private:
  ValuePool& pool_;
  Arena& arena_;
};

}  // namespace vigil::fields
