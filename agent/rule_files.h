#pragma once

// The agent's rules in standalone mode: files and directories from the command line, plus the
// embedded defaults, compiled into an immutable RuleSet. Also the cheap change detection the
// reload loop polls.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_config.h"
#include "common/base/result.h"
#include "common/rules/rule_set.h"

namespace vigil::agent {

struct LoadedRules {
  std::shared_ptr<const rules::RuleSet> rule_set;
  std::vector<std::string> files;     // the files read, in order
  size_t syscall_rules = 0;           // accepted and enabled rules of the syscall source
  size_t other_rules = 0;             // other sources (k8s_audit): not evaluated by the agent
  std::vector<std::string> warnings;  // "file:line:col: warning: ..."
};

// Expands directories (their *.yaml and *.yml files, sorted, not recursive) and loads and
// compiles everything. Any error fails the whole load, with every diagnostic in the message,
// one per line: the agent never runs a rule set that is silently missing rules.
Result<LoadedRules> load_rules(const AgentConfig& config);

// A fingerprint of the rule files' names, sizes, mtimes and inodes (and the directories'
// listings): changes whenever a file is edited, added, removed or replaced by rename.
uint64_t rule_files_fingerprint(const AgentConfig& config);

}  // namespace vigil::agent
