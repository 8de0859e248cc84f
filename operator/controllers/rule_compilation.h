#pragma once

// What the SecurityRule controller decides for each rule, independent of the API server: compile
// every SecurityRule against Vigil's macro library (plus each rule's own macros and lists) and
// return a verdict per object and the accepted ones for the bundle. Pure, so it is unit-tested
// without a cluster; the controller turns verdicts into status patches.

#include <cstdint>
#include <string>
#include <vector>

#include "common/bundle/bundle.h"

namespace vigil::op {

struct RuleObject {
  std::string ns;
  std::string name;
  int64_t generation = 0;
  std::string spec_json;  // the object's .spec as the API server returned it
};

struct RuleVerdict {
  std::string ns;
  std::string name;
  int64_t generation = 0;
  bool accepted = false;
  std::string reason;   // CamelCase: Compiled, InvalidCondition, InvalidSpec
  std::string message;  // "condition 1:27: expected ')' ...", or "Compiled" with warnings
  std::string expanded_condition;
  std::string source;
  std::vector<std::string> warnings;
};

struct RuleCompilation {
  std::vector<RuleVerdict> verdicts;           // same order as the input
  std::vector<bundle::BundleObject> accepted;  // for the bundle
};

// cluster_namespace: rules there apply cluster-wide, others only to their namespace.
RuleCompilation compile_security_rules(const std::vector<RuleObject>& rules,
                                       const std::string& cluster_namespace);

}  // namespace vigil::op
