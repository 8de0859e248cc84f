#include "common/bundle/compile.h"

#include <string>

#include "common/base/diagnostic.h"
#include "common/rules/rule_loader.h"

namespace vigil::bundle {

rules::CompileOutput compile_bundle_rules(std::string_view rules_text,
                                          std::string_view cluster_namespace,
                                          bool builtin_library) {
  rules::RuleDefs defs;
  Diagnostics diags;
  rules::LoadOptions lopts;
  lopts.cluster_namespace = std::string(cluster_namespace);
  lopts.positions_in_values = true;
  rules::RuleLoader loader(defs, diags, lopts);
  if (builtin_library) loader.load_builtin_library();
  loader.load_text("bundle", rules_text);
  rules::CompileOptions copts;
  copts.warn_unused = false;
  rules::CompileOutput compiled = rules::compile_rules(defs, copts);
  diags.append(compiled.diagnostics);
  compiled.diagnostics = std::move(diags);
  return compiled;
}

}  // namespace vigil::bundle
