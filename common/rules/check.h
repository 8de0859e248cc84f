#pragma once

// A compiled comparison (internal to the engine). Constants are parsed for the field's type
// once; `in` lists become hash sets, regexes are compiled RE2 programs (linear time on
// untrusted input), globs and path prefixes are pre-split.

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

struct Check {
  Check();
  ~Check();
  Check(Check&&) noexcept;
  Check& operator=(Check&&) noexcept;

  uint32_t lhs_slot = 0;
  ast::Op op = ast::Op::kEq;
  ast::Modifier modifier = ast::Modifier::kNone;
  fields::FieldType type = fields::FieldType::kString;
  bool lhs_list = false;

  bool rhs_is_field = false;
  uint32_t rhs_slot = 0;

  std::vector<fields::Value> values;             // constants, parsed for `type`
  std::deque<std::string> storage;               // owns the strings `values` point into
  std::unordered_set<std::string_view> str_set;  // in / intersects / == anyof
  std::unordered_set<int64_t> num_set;
  size_t min_len = 0, max_len = 0;  // of str_set, a cheap pre-filter
  std::vector<std::unique_ptr<re2::RE2>> regexes;

  // Evaluates the check for one event given the extracted values.
  bool eval(std::span<const fields::Value> lhs, std::span<const fields::Value> rhs) const;
};

// Exposed for tests.
bool glob_match(std::string_view pattern, std::string_view text, bool case_insensitive);
bool path_prefix_match(std::string_view prefix, std::string_view path);

}  // namespace vigil::rules
