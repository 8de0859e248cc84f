#pragma once

// The one way a bundle's rules are compiled, by every consumer: the node agents (syscall rules)
// and the operator's audit receiver (k8s_audit rules). Same library, same namespace scoping, so
// a rule means the same wherever it runs.

#include <string_view>

#include "common/rules/compiler.h"

namespace vigil::bundle {

// Compiles a bundle's rules text (Bundle::rules): Vigil's macro and list library first (unless
// `builtin_library` is false), rules in `cluster_namespace` cluster-wide and the others scoped
// to their namespace, positions reported inside each value, no unused-definition warnings.
// The result's diagnostics hold the loader's and the compiler's.
rules::CompileOutput compile_bundle_rules(std::string_view rules_text,
                                          std::string_view cluster_namespace,
                                          bool builtin_library = true);

}  // namespace vigil::bundle
