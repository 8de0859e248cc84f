#pragma once

// Compiles loaded rule definitions into an immutable RuleSet: parse every condition, resolve
// macros and lists (separate passes over the AST), append exceptions, bind fields to
// extractors, pre-build constant sets, lay out each condition as a jump program and index rules
// by event type. One bad rule does not stop the others: each rule gets a status.

#include <memory>
#include <string>
#include <vector>

#include "common/base/diagnostic.h"
#include "common/rules/rule_defs.h"
#include "common/rules/rule_set.h"

namespace vigil::rules {

struct RuleStatus {
  std::string name;
  std::string object_namespace;
  std::string source;
  bool enabled = true;
  bool accepted = false;
  std::string message;  // the first error, "3:17: expected ')' ..." (line:col in the file)
  std::string file;
  SourcePos pos;
  std::string expanded_condition;  // macros and lists resolved
  std::vector<std::string> warnings;
};

struct CompileOptions {
  bool warn_unused = true;  // unused macros and lists (Vigil's own library is never reported)
  // Sources looked up before the built-in syscall and k8s_audit ones (tests use a fake source).
  std::vector<const fields::EventSource*> extra_sources;
};

struct CompileOutput {
  std::shared_ptr<const RuleSet> rule_set;
  std::vector<RuleStatus> statuses;  // one per rule definition, in definition order
  Diagnostics diagnostics;
};

CompileOutput compile_rules(const RuleDefs& defs, const CompileOptions& options = {});

}  // namespace vigil::rules
