#pragma once

// The abstract syntax tree of a condition. Every node carries the position (file, line, column)
// of the text it came from, so errors found in later passes still point at the source.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vigil::rules::ast {

struct Pos {
  uint32_t line = 0;  // 1-based, 0 = unknown
  uint32_t col = 0;
  uint16_t file = 0;  // index into the loader's file table
};

enum class Transformer : uint8_t { kToLower, kToUpper, kB64, kBasename, kLen };
const char* transformer_name(Transformer t);

// A field reference, possibly wrapped in transformers: `tolower(proc.name)`, `proc.aname[2]`.
struct FieldExpr {
  std::string name;                       // "proc.aname", "evt.arg.flags"
  std::optional<std::string> arg;         // text between [ and ]
  std::vector<Transformer> transformers;  // innermost first
  Pos pos;

  std::string to_string() const;
};

enum class Op : uint8_t {
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kContains,
  kIContains,
  kBContains,
  kStartsWith,
  kBStartsWith,
  kEndsWith,
  kGlob,
  kIGlob,
  kRegex,
  kIn,
  kIntersects,
  kPMatch,
  kExists,
};
const char* op_name(Op op);
bool op_takes_list(Op op);  // in, intersects, pmatch

enum class Modifier : uint8_t { kNone, kOneOf, kAnyOf, kAllOf };
const char* modifier_name(Modifier m);

struct Value {
  std::string text;
  bool quoted = false;  // a quoted value is never taken for a list name
  Pos pos;
};

// The right-hand side of a comparison.
struct Rhs {
  enum class Kind : uint8_t { kNone, kValue, kList, kField } kind = Kind::kNone;
  std::vector<Value> values;  // kValue: one; kList: zero or more (bare names may be list refs)
  std::optional<std::string> list_name;  // `proc.name in shell_binaries` (no parentheses)
  std::optional<FieldExpr> field;        // val(field) or transformer(field)
  Pos pos;
};

struct Node {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kCheck, kMacroRef } kind;
  Pos pos;
  std::vector<std::unique_ptr<Node>> children;  // and/or: 2+, not: 1

  // kCheck
  FieldExpr field;
  Op op = Op::kEq;
  Modifier modifier = Modifier::kNone;
  Rhs rhs;

  // kMacroRef
  std::string name;

  std::unique_ptr<Node> clone() const;
  // Renders the condition back to text (fully parenthesized where needed).
  std::string to_string() const;
};

}  // namespace vigil::rules::ast
