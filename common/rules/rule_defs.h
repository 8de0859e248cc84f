#pragma once

// What rule files and SecurityRule objects define, after loading and before compiling: lists,
// macros and rules with the text of their conditions and where each piece came from.
// Override/append items have already been applied here.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/rules/ast.h"

namespace vigil::rules {

enum class Priority : uint8_t {
  kEmergency = 0,
  kAlert,
  kCritical,
  kError,
  kWarning,
  kNotice,
  kInformational,
  kDebug,
};
// Any case; "info" is accepted for Informational, as Falco does.
std::optional<Priority> parse_priority(std::string_view text);
// Falco's spelling in alerts: "Warning", "Informational", ...
const char* priority_name(Priority p);

enum class RuleMode : uint8_t { kAlert, kDryRun };

// Text with the file position of each of its bytes, so a condition assembled from YAML
// (folded, quoted, appended) still maps errors back to line and column.
struct MappedText {
  std::string text;
  std::vector<ast::Pos> pos;  // pos.size() == text.size() + 1 (the last is "end of text")

  void append(const MappedText& other, char separator);
  ast::Pos at(size_t offset) const;
};

struct ListDef {
  std::string name;
  std::vector<std::string> items;  // quotes around an item ("\"(systemd)\"") already removed
  std::vector<bool> item_quoted;   // a quoted item is never expanded as a list name
  ast::Pos pos;
  bool builtin = false;  // from Vigil's library: no "unused" warning
};

struct MacroDef {
  std::string name;
  MappedText condition;
  ast::Pos pos;
  bool builtin = false;
};

// One value of an exception tuple: a scalar, or a list for `in`/`pmatch`/`intersects`.
struct ExceptionValue {
  std::vector<std::string> items;  // a scalar has exactly one item
  bool is_list = false;
};

struct ExceptionDef {
  std::string name;
  std::vector<std::string> fields;
  std::vector<std::string> comps;
  bool single_field = false;  // `fields: proc.name` (not a list): values are one flat list
  std::vector<std::vector<ExceptionValue>> values;  // one row per tuple
  ast::Pos pos;
};

struct RuleDef {
  std::string name;
  std::string desc;
  MappedText condition;
  std::string output;
  ast::Pos output_pos;
  Priority priority = Priority::kWarning;
  std::string source = "syscall";
  std::vector<std::string> tags;
  bool enabled = true;
  bool skip_if_unknown_filter = false;
  bool warn_evttypes = true;
  RuleMode mode = RuleMode::kAlert;
  std::vector<ExceptionDef> exceptions;
  ast::Pos pos;

  // SecurityRule objects only.
  std::string object_namespace;        // "" for rules from files
  std::vector<ListDef> local_lists;    // spec.lists: visible to this rule only
  std::vector<MacroDef> local_macros;  // spec.macros
  bool cluster_scope = true;           // false: sees only events of object_namespace
};

// Everything loaded so far, in definition order.
struct RuleDefs {
  std::vector<std::string> files;  // ast::Pos::file indexes this
  std::vector<ListDef> lists;
  std::vector<MacroDef> macros;
  std::vector<RuleDef> rules;
  std::vector<std::string> required_plugins;  // "container 0.4.0", reported only
  std::string required_engine_version;

  ListDef* find_list(std::string_view name);
  MacroDef* find_macro(std::string_view name);
  RuleDef* find_rule(std::string_view name);
  const std::string& file_name(const ast::Pos& pos) const;
};

}  // namespace vigil::rules
