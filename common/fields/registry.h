#pragma once

// Field declarations. Each event source (syscall, k8s_audit) has a registry of the fields its
// rules may use; one family per file declares its fields with their type, argument form and
// extractor (see syscall_*_fields.cc and audit_fields.cc).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/result.h"
#include "common/fields/value.h"

namespace vigil::fields {

enum FieldFlags : uint32_t {
  kNone = 0,
  kList = 1u << 0,         // yields zero or more values; only exists/in/intersects apply
  kArgRequired = 1u << 1,  // proc.aname needs no arg, ka.uri.param does
  kArgAllowed = 1u << 2,   // field[arg] accepted
  kArgIndex = 1u << 3,     // the argument must be a non-negative integer: proc.aname[2]
  kDotArg = 1u << 4,       // the argument may follow a dot: evt.arg.flags == evt.arg[flags]
};

// A field's argument as bound at compile time.
struct FieldArg {
  bool present = false;
  std::string text;                      // as written, without brackets or quotes
  int64_t index = -1;                    // the numeric value when text is a non-negative integer
  std::shared_ptr<const void> prepared;  // set by FieldInfo::prepare (e.g. a parsed JSON pointer)
};

// Appends the field's values for `event` to `out`; appends nothing when the field is unset
// (<NA>). `event` is the source's event type (SyscallEvent, AuditEvent). Must not throw.
using ExtractFn = void (*)(const void* event, const FieldArg& arg, ValueWriter& out);
// Validates and pre-processes an argument once, at compile time. Returns an error message or "".
using PrepareFn = std::string (*)(FieldArg& arg);

struct FieldInfo {
  const char* name;
  FieldType type;
  uint32_t flags;
  const char* description;
  ExtractFn extract;
  PrepareFn prepare = nullptr;
};

struct BoundField {
  const FieldInfo* info = nullptr;
  FieldArg arg;

  // "proc.aname[2]", "evt.arg.flags" -> "evt.arg[flags]" is rendered as written by the user.
  std::string display;
  bool is_list() const { return (info->flags & kList) != 0; }
};

class FieldRegistry {
 public:
  explicit FieldRegistry(std::string source) : source_(std::move(source)) {}

  // Adds one family's fields. Duplicate names are a programming error (asserts).
  void add(std::span<const FieldInfo> family);

  const std::string& source() const { return source_; }
  const FieldInfo* find(std::string_view name) const;
  const std::vector<const FieldInfo*>& all() const { return ordered_; }

  // Resolves a field reference as written in a condition: `name` may carry a dot argument
  // (`evt.arg.flags`); `bracket_arg` is the text inside `[...]`, if any.
  Result<BoundField> bind(std::string_view name, std::optional<std::string_view> bracket_arg) const;

 private:
  std::string source_;
  std::unordered_map<std::string_view, const FieldInfo*> by_name_;
  std::vector<const FieldInfo*> ordered_;
};

}  // namespace vigil::fields
