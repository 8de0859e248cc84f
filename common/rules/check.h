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

// A set of strings for `in` / `intersects`: open addressing over a power-of-two table with a
// cheap hash of the length and the first and last bytes; small sets are scanned linearly.
// Lookups cost at most the longest probe run of the (fixed) table, whatever the input.
class StrSet {
 public:
  void insert(std::string_view s);
  bool contains(std::string_view s) const {
    if (s.size() < min_len_ || s.size() > max_len_) return false;
    return contains_slow(s);
  }
  size_t size() const { return items_.size(); }

 private:
  static uint64_t hash(std::string_view s);
  bool contains_slow(std::string_view s) const;
  void rebuild();

  size_t min_len_ = SIZE_MAX, max_len_ = 0;  // a cheap pre-filter
  std::vector<uint32_t> table_;              // 1 + index into items_, 0 = empty; empty when small
  std::vector<std::string_view> items_;      // distinct, in insertion order
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

  // Evaluates the check for one event given the extracted values.
  bool eval(std::span<const fields::Value> lhs, std::span<const fields::Value> rhs) const;

 private:
  bool eval_generic(std::span<const fields::Value> lhs, std::span<const fields::Value> rhs) const;
};

// Exposed for tests.
bool glob_match(std::string_view pattern, std::string_view text, bool case_insensitive);
bool path_prefix_match(std::string_view prefix, std::string_view path);

}  // namespace vigil::rules
