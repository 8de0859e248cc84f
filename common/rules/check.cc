#include "common/rules/check.h"

#include <algorithm>
#include <cstring>

#include <re2/re2.h>

namespace vigil::rules {
namespace {

using ast::Op;
using fields::FieldType;
using fields::Value;

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > hay.size()) return false;
  const char first = lower(needle[0]);
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (lower(hay[i]) != first) continue;
    size_t j = 1;
    while (j < needle.size() && lower(hay[i + j]) == lower(needle[j])) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

// One comparison of a single left value with a single right value.
bool compare_one(Op op, FieldType type, const Value& l, const Value& r, const re2::RE2* re) {
  switch (type) {
    case FieldType::kString:
    case FieldType::kPath: {
      std::string_view a = l.str, b = r.str;
      switch (op) {
        case Op::kEq:
          return a == b;
        case Op::kNe:
          return a != b;
        case Op::kLt:
          return a < b;
        case Op::kLe:
          return a <= b;
        case Op::kGt:
          return a > b;
        case Op::kGe:
          return a >= b;
        case Op::kContains:
        case Op::kBContains:
          return check_detail::contains(a, b);
        case Op::kIContains:
          return icontains(a, b);
        case Op::kStartsWith:
        case Op::kBStartsWith:
          return a.substr(0, b.size()) == b;
        case Op::kEndsWith:
          return a.size() >= b.size() && a.substr(a.size() - b.size()) == b;
        case Op::kGlob:
          return glob_match(b, a, false);
        case Op::kIGlob:
          return glob_match(b, a, true);
        case Op::kRegex:
          return re != nullptr && re2::RE2::FullMatch(re2::StringPiece(a.data(), a.size()), *re);
        case Op::kIn:
        case Op::kIntersects:
          return a == b;
        case Op::kPMatch:
          return path_prefix_match(b, a);
        case Op::kExists:
          return true;
      }
      return false;
    }
    case FieldType::kNumber:
    case FieldType::kBool: {
      int64_t a = l.num, b = r.num;
      switch (op) {
        case Op::kEq:
        case Op::kIn:
        case Op::kIntersects:
          return a == b;
        case Op::kNe:
          return a != b;
        case Op::kLt:
          return a < b;
        case Op::kLe:
          return a <= b;
        case Op::kGt:
          return a > b;
        case Op::kGe:
          return a >= b;
        default:
          return false;
      }
    }
    case FieldType::kIpAddr:
      switch (op) {
        case Op::kEq:
        case Op::kIn:
        case Op::kIntersects:
          return r.ip.prefix ? fields::ip_in_net(l.ip, r.ip) : l.ip == r.ip;
        case Op::kNe:
          return r.ip.prefix ? !fields::ip_in_net(l.ip, r.ip) : !(l.ip == r.ip);
        default:
          return false;
      }
    case FieldType::kIpNet:
      switch (op) {
        case Op::kEq:
        case Op::kIn:
        case Op::kIntersects:
          return fields::ip_in_net(l.ip, r.ip);
        case Op::kNe:
          return !fields::ip_in_net(l.ip, r.ip);
        default:
          return false;
      }
  }
  return false;
}

}  // namespace

Check::Check() = default;
Check::~Check() = default;
Check::Check(Check&&) noexcept = default;
Check& Check::operator=(Check&&) noexcept = default;

bool glob_match(std::string_view pattern, std::string_view text, bool ci) {
  // Iterative wildcard matching with single-star backtracking: linear in practice, no recursion
  // (patterns are untrusted).
  size_t p = 0, t = 0, star_p = std::string_view::npos, star_t = 0;
  auto eq = [ci](char a, char b) { return ci ? lower(a) == lower(b) : a == b; };
  auto match_class = [&](size_t& pp, char c) -> int {  // -1 malformed, 0 no, 1 yes
    size_t i = pp + 1;
    bool neg = false;
    if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
      neg = true;
      ++i;
    }
    bool matched = false;
    bool first = true;
    while (i < pattern.size() && (first || pattern[i] != ']')) {
      first = false;
      char lo = pattern[i];
      char hi = lo;
      if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
        hi = pattern[i + 2];
        i += 2;
      }
      char cc = ci ? lower(c) : c;
      char l2 = ci ? lower(lo) : lo, h2 = ci ? lower(hi) : hi;
      if (cc >= l2 && cc <= h2) matched = true;
      ++i;
    }
    if (i >= pattern.size()) return -1;
    pp = i + 1;
    return matched != neg ? 1 : 0;
  };
  while (t < text.size()) {
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star_p = p++;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        size_t pp = p;
        int r = match_class(pp, text[t]);
        if (r == 1) {
          p = pp;
          ++t;
          continue;
        }
        if (r == -1 && eq('[', text[t])) {
          ++p;
          ++t;
          continue;
        }
      } else {
        if (pc == '\\' && p + 1 < pattern.size()) pc = pattern[++p];
        if (eq(pc, text[t])) {
          ++p;
          ++t;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool path_prefix_match(std::string_view prefix, std::string_view path) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || prefix == "/" || path[prefix.size()] == '/';
}

// ---- StrSet ---------------------------------------------------------------------------------

namespace {
constexpr size_t kLinearSetMax = 4;  // up to this many items, a scan beats hashing

}  // namespace

namespace check_detail {

bool contains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > hay.size()) return false;
  return memmem(hay.data(), hay.size(), needle.data(), needle.size()) != nullptr;
}

}  // namespace check_detail

void StrSet::insert(std::string_view s) {
  if (contains(s)) return;
  items_.push_back(s);
  len_mask_ |= uint64_t{1} << (s.size() & 63);
  if (items_.size() <= kLinearSetMax) return;
  if (table_.size() < 2 * items_.size()) {
    rebuild();
    return;
  }
  const size_t mask = table_.size() - 1;
  size_t i = hash(s) & mask;
  while (table_[i] != 0) i = (i + 1) & mask;
  table_[i] = static_cast<uint32_t>(items_.size());
}

void StrSet::rebuild() {
  size_t cap = 16;
  while (cap < 4 * items_.size()) cap *= 2;  // load <= 1/4 after a rebuild, <= 1/2 before the next
  table_.assign(cap, 0);
  const size_t mask = cap - 1;
  for (size_t k = 0; k < items_.size(); ++k) {
    size_t i = hash(items_[k]) & mask;
    while (table_[i] != 0) i = (i + 1) & mask;
    table_[i] = static_cast<uint32_t>(k + 1);
  }
}

// ---- specialised evaluation -----------------------------------------------------------------

void Check::finalize() {
  kind = CheckKind::kGeneric;
  if (rhs_is_field || modifier != ast::Modifier::kNone || op == Op::kExists) return;
  const bool is_str = type == FieldType::kString || type == FieldType::kPath;
  const bool is_num = type == FieldType::kNumber || type == FieldType::kBool;
  if (op == Op::kIn || op == Op::kIntersects) {
    if (is_str) kind = CheckKind::kStrIn;
    if (is_num) kind = CheckKind::kNumIn;
    return;
  }
  if (lhs_list || values.size() != 1) return;
  kstr = values[0].str;
  knum = values[0].num;
  if (is_str) {
    switch (op) {
      case Op::kEq:
        kind = CheckKind::kStrEq;
        break;
      case Op::kNe:
        kind = CheckKind::kStrNe;
        break;
      case Op::kStartsWith:
        kind = CheckKind::kStrStartsWith;
        break;
      case Op::kEndsWith:
        kind = CheckKind::kStrEndsWith;
        break;
      case Op::kContains:
        kind = CheckKind::kStrContains;
        break;
      case Op::kGlob: {
        // Up to the first wildcard or escape, the pattern matches itself only: a text that does
        // not start with that prefix fails before glob_match could backtrack to any star.
        const size_t special = kstr.find_first_of("*?[\\");
        glob_literal =
            static_cast<uint32_t>(special == std::string_view::npos ? kstr.size() : special);
        kind = CheckKind::kStrGlob;
        break;
      }
      default:
        break;
    }
  } else if (is_num) {
    switch (op) {
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
        kind = CheckKind::kNumCmp;
        break;
      default:
        break;
    }
    switch (op) {
      case Op::kEq:
        num_accept = 0b010;
        break;
      case Op::kLt:
        num_accept = 0b001;
        break;
      case Op::kLe:
        num_accept = 0b011;
        break;
      case Op::kGt:
        num_accept = 0b100;
        break;
      case Op::kGe:
        num_accept = 0b110;
        break;
      default:
        break;
    }
  }
}

bool Check::num_member(int64_t a) const {
  if (values.size() <= 8) {
    for (const Value& v : values)
      if (v.num == a) return true;
    return false;
  }
  return num_set.count(a) > 0;
}

bool Check::eval_generic(std::span<const Value> lhs, std::span<const Value> rhs) const {
  if (op == Op::kExists) return !lhs.empty();
  if (lhs.empty()) return false;

  const bool is_str = type == FieldType::kString || type == FieldType::kPath;

  if (lhs_list && (op == Op::kIn || op == Op::kIntersects)) {
    if (rhs_is_field) {
      auto in_rhs = [&](const Value& v) {
        for (const auto& r : rhs)
          if (compare_one(Op::kEq, type, v, r, nullptr)) return true;
        return false;
      };
      if (op == Op::kIn) return std::all_of(lhs.begin(), lhs.end(), in_rhs);
      return std::any_of(lhs.begin(), lhs.end(), in_rhs);
    }
    auto member = [&](const Value& v) {
      if (is_str) return str_set.contains(v.str);
      if (type == FieldType::kNumber || type == FieldType::kBool) return num_set.count(v.num) > 0;
      for (const auto& r : values)
        if (compare_one(Op::kEq, type, v, r, nullptr)) return true;
      return false;
    };
    if (op == Op::kIn) return std::all_of(lhs.begin(), lhs.end(), member);
    return std::any_of(lhs.begin(), lhs.end(), member);
  }

  std::span<const Value> right = rhs_is_field ? rhs : std::span<const Value>(values);
  if (rhs_is_field && right.empty()) return false;

  // On a field with several values (fd.ip: both ends; proc.aname: every ancestor) `!=` means
  // "no value equals", so that `a != b` is always `not a = b` once the field is set.
  if (op == Op::kNe && modifier == ast::Modifier::kNone && lhs.size() > 1) {
    for (const Value& l : lhs)
      if (compare_one(Op::kEq, type, l, right[0], nullptr)) return false;
    return true;
  }

  for (const Value& l : lhs) {
    bool hit = false;
    if (modifier != ast::Modifier::kNone) {
      size_t n = 0;
      for (size_t i = 0; i < right.size(); ++i) {
        const re2::RE2* re = op == Op::kRegex && i < regexes.size() ? regexes[i].get() : nullptr;
        if (compare_one(op, type, l, right[i], re)) ++n;
      }
      switch (modifier) {
        case ast::Modifier::kAnyOf:
          hit = n > 0;
          break;
        case ast::Modifier::kAllOf:
          hit = n == right.size();
          break;
        case ast::Modifier::kOneOf:
          hit = n == 1;
          break;
        case ast::Modifier::kNone:
          break;
      }
    } else if (op == Op::kIn || op == Op::kIntersects) {
      if (is_str && !rhs_is_field) {
        hit = str_set.contains(l.str);
      } else if ((type == FieldType::kNumber || type == FieldType::kBool) && !rhs_is_field) {
        hit = num_set.count(l.num) > 0;
      } else {
        for (const auto& r : right) {
          if (compare_one(op, type, l, r, nullptr)) {
            hit = true;
            break;
          }
        }
      }
    } else if (op == Op::kPMatch) {
      for (const auto& r : right) {
        if (compare_one(op, type, l, r, nullptr)) {
          hit = true;
          break;
        }
      }
    } else {
      const re2::RE2* re = op == Op::kRegex && !regexes.empty() ? regexes[0].get() : nullptr;
      hit = compare_one(op, type, l, right[0], re);
    }
    if (hit) return true;
  }
  return false;
}

}  // namespace vigil::rules
