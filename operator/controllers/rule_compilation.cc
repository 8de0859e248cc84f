#include "operator/controllers/rule_compilation.h"

#include <map>

#include <nlohmann/json.hpp>

#include "common/base/bounded_json.h"
#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"

namespace vigil::op {

RuleCompilation compile_security_rules(const std::vector<RuleObject>& rules,
                                       const std::string& cluster_namespace) {
  RuleCompilation out;
  rules::RuleDefs defs;
  Diagnostics builtin_diags;
  rules::RuleLoader(defs, builtin_diags).load_builtin_library();

  rules::LoadOptions opts;
  opts.cluster_namespace = cluster_namespace;
  opts.positions_in_values = true;
  // Each object is loaded as its own "file" named ns/name, so its diagnostics are its own.
  std::map<std::string, Diagnostics> load_diags;
  for (const auto& r : rules) {
    const std::string key = r.ns + "/" + r.name;
    nlohmann::json doc;
    doc["apiVersion"] = "vigil.dev/v1alpha1";
    doc["kind"] = "SecurityRule";
    doc["metadata"] = {{"name", r.name}, {"namespace", r.ns}};
    nlohmann::json spec = parse_bounded_json(r.spec_json);
    if (spec.is_discarded() || !spec.is_object()) {
      load_diags[key].error(key, {}, "", "spec is not a JSON object");
      continue;
    }
    doc["spec"] = std::move(spec);
    rules::RuleLoader loader(defs, load_diags[key], opts);
    loader.load_text(key, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  rules::CompileOptions copts;
  copts.warn_unused = false;
  auto compiled = rules::compile_rules(defs, copts);

  std::map<std::string, const rules::RuleStatus*> by_key;
  for (const auto& s : compiled.statuses) by_key[s.object_namespace + "/" + s.name] = &s;

  for (const auto& r : rules) {
    const std::string key = r.ns + "/" + r.name;
    RuleVerdict v;
    v.ns = r.ns;
    v.name = r.name;
    v.generation = r.generation;
    const Diagnostics& ld = load_diags[key];
    auto st = by_key.find(key);
    if (ld.has_errors() || st == by_key.end()) {
      v.accepted = false;
      v.reason = "InvalidSpec";
      for (const auto& d : ld.items()) {
        if (d.severity != Severity::kError) continue;
        v.message = (d.item.empty() ? "" : d.item + ": ") + d.message;
        break;
      }
      if (v.message.empty()) v.message = "the rule could not be loaded";
      out.verdicts.push_back(std::move(v));
      continue;
    }
    const rules::RuleStatus& s = *st->second;
    v.source = s.source;
    v.expanded_condition = s.expanded_condition;
    v.warnings = s.warnings;
    for (const auto& d : ld.items())
      if (d.severity == Severity::kWarning) v.warnings.push_back(d.message);
    if (s.accepted) {
      v.accepted = true;
      v.reason = "Compiled";
      v.message = "Compiled";
      if (!v.warnings.empty()) {
        v.message += " with " + std::to_string(v.warnings.size()) + " warning" +
                     (v.warnings.size() > 1 ? "s" : "") + ": " + v.warnings.front();
      }
      out.accepted.push_back(bundle::BundleObject{r.ns, r.name, r.generation, r.spec_json});
    } else {
      v.accepted = false;
      v.reason = "InvalidCondition";
      v.message =
          s.message.find("output:") != std::string::npos ? s.message : "condition " + s.message;
    }
    out.verdicts.push_back(std::move(v));
  }
  return out;
}

}  // namespace vigil::op
