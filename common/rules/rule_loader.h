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

struct LoadOptions {
  // SecurityRules in this namespace apply to the whole cluster; those in any other namespace see
  // only events of their own namespace (DESIGN.md §2). Empty: every rule is cluster-wide (rule
  // files, vigilctl).
  std::string cluster_namespace;
  // Report positions inside each value (condition line:col) rather than in the file. For
  // objects read back from the API server, whose JSON text means nothing to the user.
  bool positions_in_values = false;
};

class RuleLoader {
 public:
  RuleLoader(RuleDefs& defs, Diagnostics& diags, LoadOptions options = {})
      : defs_(defs), diags_(diags), options_(std::move(options)) {}

  // Loads one file's text: a Falco rules file (a YAML sequence of list/macro/rule items) or one
  // or more SecurityRule documents (`kind: SecurityRule`, or a `kind: List` of them). Returns
  // false when the text had errors (other items may still have loaded).
  bool load_text(const std::string& name, std::string_view text, bool builtin = false);
  bool load_file(const std::string& path);
  // Vigil's own macro and list library, compiled into the binary (embedded files outside
  // rules/default/).
  bool load_builtin_library();
  // Vigil's default rules (rules/default/*.yaml), compiled into the binary: what the standalone
  // agent runs when it is given no rule files.
  bool load_default_rules();

 private:
  class FileContext;
  RuleDefs& defs_;
  Diagnostics& diags_;
  LoadOptions options_;
};

}  // namespace vigil::rules
