#pragma once

// Cluster mode's rules: the bundle ConfigMap the operator publishes (common/bundle), compiled
// into a rule set beside the running one. The agent swaps it in only when every rule compiles;
// otherwise the old set keeps running and the error goes into the NodeAgent's status.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/rules/rule_set.h"

namespace vigil::agent {

// One SecurityRule of a bundle as this node sees it.
struct BundleRuleState {
  std::string ns;
  std::string name;
  int64_t generation = 0;  // the SecurityRule's metadata.generation in the bundle
  std::string source;      // "syscall", "k8s_audit"
  bool programmed = false;
  std::string error;  // why not programmed (compile error, other source)
};

struct CompiledBundle {
  int64_t generation = 0;  // the ConfigMap's vigil.dev/bundle-generation (0: unknown)
  std::string hash;        // vigil.dev/bundle-hash
  std::string resource_version;
  // Set when the bundle could not be used: malformed ConfigMap, a rule that does not compile.
  // Then rule_set is null and the running rules stay.
  std::string error;
  std::shared_ptr<const rules::RuleSet> rule_set;
  std::vector<BundleRuleState> rules;  // sorted by namespace, name
  size_t syscall_rules = 0;            // accepted, enabled and of the syscall source
};

// Compiles the rules of a bundle ConfigMap (the JSON the API server returns). Rules in
// `cluster_namespace` apply to the whole node; others only to their namespace's pods.
// `builtin_library`: load Vigil's macro and list library first (as the operator does).
// Never throws; untrusted input gives an error.
CompiledBundle compile_bundle(std::string_view configmap_json, std::string_view cluster_namespace,
                              bool builtin_library = true);

// An empty rule set (no rules): what cluster mode captures with until the first bundle arrives.
std::shared_ptr<const rules::RuleSet> empty_rule_set();

}  // namespace vigil::agent
