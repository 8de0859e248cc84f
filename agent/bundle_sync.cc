#include "agent/bundle_sync.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <tuple>

#include "common/base/bounded_json.h"
#include "common/base/diagnostic.h"
#include "common/bundle/bundle.h"
#include "common/bundle/compile.h"
#include "common/rules/compiler.h"

namespace vigil::agent {

namespace {

using Json = nlohmann::json;

const std::string* string_at(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

}  // namespace

std::shared_ptr<const rules::RuleSet> empty_rule_set() {
  rules::RuleDefs defs;
  return rules::compile_rules(defs).rule_set;
}

CompiledBundle compile_bundle(std::string_view configmap_json, std::string_view cluster_namespace,
                              bool builtin_library) {
  CompiledBundle out;
  const Json cm = parse_bounded_json(configmap_json);
  if (cm.is_discarded() || !cm.is_object()) {
    out.error = "the bundle ConfigMap is not valid JSON";
    return out;
  }
  const Json* meta = cm.contains("metadata") ? &cm["metadata"] : nullptr;
  if (meta && meta->is_object()) {
    if (const auto* rv = string_at(*meta, "resourceVersion")) out.resource_version = *rv;
    if (meta->contains("annotations")) {
      const Json& ann = (*meta)["annotations"];
      if (const auto* g = string_at(ann, std::string(bundle::kGenerationAnnotation).c_str())) {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(g->data(), g->data() + g->size(), v);
        if (ec == std::errc() && p == g->data() + g->size() && v >= 0) out.generation = v;
      }
      if (const auto* h = string_at(ann, std::string(bundle::kHashAnnotation).c_str())) {
        out.hash = *h;
      }
    }
  }
  const Json* data = cm.contains("data") ? &cm["data"] : nullptr;
  const std::string* text =
      data ? string_at(*data, std::string(bundle::kRulesKey).c_str()) : nullptr;
  if (!text) {
    out.error = "the bundle ConfigMap has no data." + std::string(bundle::kRulesKey);
    return out;
  }

  // The rules' identities and generations, as the operator rendered them.
  auto objects = bundle::parse_bundle_rules(*text);
  if (!objects.ok()) {
    out.error = "the bundle's rules do not parse: " + objects.error();
    return out;
  }
  std::map<std::pair<std::string, std::string>, int64_t> generations;
  for (const auto& o : *objects) generations[{o.ns, o.name}] = o.generation;

  auto compiled = bundle::compile_bundle_rules(*text, cluster_namespace, builtin_library);
  const Diagnostics& diags = compiled.diagnostics;

  for (const auto& s : compiled.statuses) {
    if (s.object_namespace.empty()) continue;  // the built-in library has no rules; be safe
    BundleRuleState r;
    r.ns = s.object_namespace;
    r.name = s.name;
    r.source = s.source;
    auto g = generations.find({r.ns, r.name});
    r.generation = g == generations.end() ? 0 : g->second;
    if (!s.accepted) {
      r.error = s.message.empty() ? "does not compile" : s.message;
    } else if (s.source != "syscall") {
      r.error = "source " + s.source + " is not evaluated by node agents";
    } else {
      r.programmed = true;
      if (s.enabled) ++out.syscall_rules;
    }
    out.rules.push_back(std::move(r));
  }
  // Rules the loader never produced a status for (a document it rejected whole).
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : out.rules) seen.emplace(r.ns, r.name);
  for (const auto& [key, gen] : generations) {
    if (seen.count(key)) continue;
    out.rules.push_back(BundleRuleState{key.first, key.second, gen, "", false,
                                        "the rule could not be loaded from the bundle"});
  }
  std::sort(out.rules.begin(), out.rules.end(), [](const auto& a, const auto& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });

  if (diags.has_errors()) {
    std::string msg;
    size_t shown = 0;
    for (const auto& d : diags.items()) {
      if (d.severity != Severity::kError) continue;
      if (++shown > 20) break;
      msg += d.to_string() + "\n";
    }
    msg += std::to_string(diags.error_count()) + " error(s); the previous bundle stays in effect";
    out.error = std::move(msg);
    for (auto& r : out.rules) r.programmed = false;
    out.syscall_rules = 0;
    return out;
  }
  out.rule_set = compiled.rule_set;
  return out;
}

}  // namespace vigil::agent
