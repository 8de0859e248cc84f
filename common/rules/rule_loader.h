#pragma once

// Loads Falco rule files and SecurityRule objects (YAML, or the JSON the API server returns)
// into RuleDefs, applying `override:` and the deprecated `append: true` as Falco does. Every
// problem becomes a Diagnostic with file, line and column; loading goes on past errors so a
// user sees all of them at once.

#include <string>
#include <string_view>

#include "common/base/diagnostic.h"
#include "common/rules/rule_defs.h"

namespace vigil::rules {

// Highest Falco engine version whose rule files Vigil reads (`required_engine_version`).
inline constexpr std::string_view kEngineVersion = "0.57.0";

class RuleLoader {
 public:
  RuleLoader(RuleDefs& defs, Diagnostics& diags) : defs_(defs), diags_(diags) {}

  // Loads one file's text: a Falco rules file (a YAML sequence of list/macro/rule items) or one
  // or more SecurityRule documents (`kind: SecurityRule`, or a `kind: List` of them). Returns
  // false when the text had errors (other items may still have loaded).
  bool load_text(const std::string& name, std::string_view text, bool builtin = false);
  bool load_file(const std::string& path);
  // Vigil's own macro and list library, compiled into the binary.
  bool load_builtin_library();

 private:
  class FileContext;
  RuleDefs& defs_;
  Diagnostics& diags_;
};

}  // namespace vigil::rules
