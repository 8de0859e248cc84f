#pragma once

// A compiled comparison (internal to the engine). Constants are parsed for the field's type
// once; `in` lists become hash sets, regexes are compiled RE2 programs (linear time on
// untrusted input), globs and path prefixes are pre-split.
//
// finalize() picks a specialised evaluation (CheckKind) for the common shapes (one string or
// number constant, an `in` list of constants); every specialisation computes exactly what the
// generic evaluation does, only with fewer branches.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/fields/value.h"
#include "common/rules/ast.h"

namespace re2 {
class RE2;
}

namespace vigil::rules {

namespace check_detail {

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline uint32_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// a[0, n) == b[0, n) without a library call for the short strings rules compare (names, paths
// of a few dozen bytes): overlapping word loads, most mismatches decided by the first word.
inline bool same_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    if (load64(a) != load64(b) || load64(a + n - 8) != load64(b + n - 8)) return false;
    return n <= 16 || std::memcmp(a + 8, b + 8, n - 16) == 0;
  }
  if (n >= 4) return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}
inline bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
}
inline bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && same_bytes(s.data(), prefix.data(), prefix.size());
}
inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         same_bytes(s.data() + s.size() - suffix.size(), suffix.data(), suffix.size());
}
bool contains(std::string_view hay, std::string_view needle);

}  // namespace check_detail

// A set of strings for `in` / `intersects`: open addressing over a power-of-two table with a
// cheap hash of the length and the first and last bytes; small sets are scanned linearly.
// Lookups cost at most the longest probe run of the (fixed) table, whatever the input.
class StrSet {
 public:
  void insert(std::string_view s);
  bool contains(std::string_view s) const {
    if (((len_mask_ >> (s.size() & 63)) & 1) == 0) return false;
    return contains_slow(s);
  }
  size_t size() const { return items_.size(); }

 private:
  static uint64_t hash(std::string_view s);
  bool contains_slow(std::string_view s) const;
  void rebuild();

  uint64_t len_mask_ = 0;                // bit (length % 64) of every item: a cheap pre-filter
  std::vector<uint32_t> table_;          // 1 + index into items_, 0 = empty; empty when small
  std::vector<std::string_view> items_;  // distinct, in insertion order
};

enum class CheckKind : uint8_t {
  kGeneric,
  kStrEq,          // string == constant
  kStrNe,          // string != constant
  kStrStartsWith,  // string startswith constant
  kStrEndsWith,    // string endswith constant
  kStrContains,    // string contains constant
  kStrGlob,        // string glob constant (case-sensitive)
  kStrIn,          // string in / intersects (constants)
  kNumCmp,         // number or bool compared with one constant: = != < <= > >=
  kNumIn,          // number or bool in / intersects (constants)
};

struct Check {
  Check();
  ~Check();
  Check(Check&&) noexcept;
  Check& operator=(Check&&) noexcept;

  // What evaluation reads first, together.
  CheckKind kind = CheckKind::kGeneric;  // set by finalize()
  ast::Op op = ast::Op::kEq;
  ast::Modifier modifier = ast::Modifier::kNone;
  fields::FieldType type = fields::FieldType::kString;
  bool lhs_list = false;
  bool rhs_is_field = false;
  uint32_t lhs_slot = 0;
  uint32_t rhs_slot = 0;
  uint8_t num_accept = 0;     // kNumCmp other than !=: bit 0 accepts <, bit 1 =, bit 2 >
  uint32_t glob_literal = 0;  // kStrGlob: length of the pattern's prefix without wildcards
  std::string_view kstr;      // the constant of single-constant kinds (values[0])
  int64_t knum = 0;
  StrSet str_set;  // in / intersects

  std::vector<fields::Value> values;  // constants, parsed for `type`
  std::deque<std::string> storage;    // owns the strings `values` point into
  std::unordered_set<int64_t> num_set;
  std::vector<std::unique_ptr<re2::RE2>> regexes;

  // When the left side is the source's event-type field (evt.type) with a constant right side,
  // the check depends only on the event type: its result per type id, computed once by the
  // compiler, which then moves it into SourceRules (Instr::type_row). Empty otherwise.
  std::vector<uint8_t> by_type;

  // Chooses `kind` once the check is compiled (constants parsed, sets built).
  void finalize();

  // Evaluates the check for one event given the extracted values. Inline: the engine's loop
  // runs the specialised kinds without a call.
  bool eval(std::span<const fields::Value> lhs, std::span<const fields::Value> rhs) const;
  // The same without specialisation (every kind takes the generic path); tests compare the two.
  bool eval_reference(std::span<const fields::Value> lhs,
                      std::span<const fields::Value> rhs) const {
    return eval_generic(lhs, rhs);
  }

 private:
  bool eval_generic(std::span<const fields::Value> lhs, std::span<const fields::Value> rhs) const;
  bool num_member(int64_t a) const;
};

// Inline so that the engine's loop runs set lookups without a call.
inline uint64_t StrSet::hash(std::string_view s) {
  const size_t n = s.size();
  const char* p = s.data();
  uint64_t a = 0, b = 0;
  if (n >= 8) {
    a = check_detail::load64(p);
    b = check_detail::load64(p + n - 8);
  } else if (n >= 4) {
    a = check_detail::load32(p);
    b = check_detail::load32(p + n - 4);
  } else if (n > 0) {
    a = static_cast<uint8_t>(p[0]) | (uint64_t{static_cast<uint8_t>(p[n / 2])} << 8) |
        (uint64_t{static_cast<uint8_t>(p[n - 1])} << 16);
  }
  uint64_t h = (n * 0x9E3779B97F4A7C15ull) ^ a;
  h *= 0xff51afd7ed558ccdull;
  h ^= b + (h >> 32);
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

inline bool StrSet::contains_slow(std::string_view s) const {
  if (table_.empty()) {
    for (std::string_view item : items_)
      if (check_detail::same(item, s)) return true;
    return false;
  }
  const size_t mask = table_.size() - 1;
  for (size_t i = hash(s) & mask;; i = (i + 1) & mask) {
    const uint32_t e = table_[i];
    if (e == 0) return false;
    if (check_detail::same(items_[e - 1], s)) return true;
  }
}

// Exposed for tests.
bool glob_match(std::string_view pattern, std::string_view text, bool case_insensitive);
bool path_prefix_match(std::string_view prefix, std::string_view path);

// Each case computes what eval_generic computes for that shape: a check on a field with several
// values (proc.aname, fd.ip) holds when any value satisfies it, except `!=`, which holds when no
// value equals; list fields under `in` need every value, under `intersects` any.
[[gnu::always_inline]] inline bool Check::eval(std::span<const fields::Value> lhs,
                                               std::span<const fields::Value> rhs) const {
  using check_detail::same;
  using check_detail::starts_with;
  // The commonest kinds first, as plain branches: the engine's loop runs many checks of
  // different kinds per event, and a jump table's one indirect jump predicts worse.
  if (kind == CheckKind::kNumCmp) {
    const int64_t b = knum;
    if (op == ast::Op::kNe) {
      if (lhs.empty()) return false;
      for (const fields::Value& l : lhs)
        if (l.num == b) return false;
      return true;
    }
    for (const fields::Value& l : lhs) {
      const int order = (l.num > b) - (l.num < b) + 1;  // 0: <, 1: =, 2: >
      if ((num_accept >> order) & 1) return true;
    }
    return false;
  }
  if (kind == CheckKind::kStrIn) {
    if (lhs.empty()) return false;
    if (lhs_list && op == ast::Op::kIn) {
      for (const fields::Value& l : lhs)
        if (!str_set.contains(l.str)) return false;
      return true;
    }
    for (const fields::Value& l : lhs)
      if (str_set.contains(l.str)) return true;
    return false;
  }
  if (kind == CheckKind::kStrEq) {
    for (const fields::Value& l : lhs)
      if (same(l.str, kstr)) return true;
    return false;
  }
  if (kind == CheckKind::kStrStartsWith) {
    for (const fields::Value& l : lhs)
      if (starts_with(l.str, kstr)) return true;
    return false;
  }
  switch (kind) {
    case CheckKind::kGeneric:
    case CheckKind::kNumCmp:
    case CheckKind::kStrIn:
    case CheckKind::kStrEq:
    case CheckKind::kStrStartsWith:
      break;
    case CheckKind::kStrNe:
      if (lhs.empty()) return false;
      for (const fields::Value& l : lhs)
        if (same(l.str, kstr)) return false;
      return true;
    case CheckKind::kStrEndsWith:
      for (const fields::Value& l : lhs)
        if (check_detail::ends_with(l.str, kstr)) return true;
      return false;
    case CheckKind::kStrContains:
      for (const fields::Value& l : lhs)
        if (check_detail::contains(l.str, kstr)) return true;
      return false;
    case CheckKind::kStrGlob:
      // Up to its first wildcard the pattern only matches itself: a text without that prefix
      // fails glob_match before it could backtrack to any star.
      for (const fields::Value& l : lhs) {
        if (starts_with(l.str, kstr.substr(0, glob_literal)) && glob_match(kstr, l.str, false))
          return true;
      }
      return false;
    case CheckKind::kNumIn:
      if (lhs.empty()) return false;
      if (lhs_list && op == ast::Op::kIn) {
        for (const fields::Value& l : lhs)
          if (!num_member(l.num)) return false;
        return true;
      }
      for (const fields::Value& l : lhs)
        if (num_member(l.num)) return true;
      return false;
  }
  return eval_generic(lhs, rhs);
}

}  // namespace vigil::rules
