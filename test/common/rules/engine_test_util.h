#pragma once

// Loads rule text, compiles it against the fake source and evaluates FakeEvents.

#include <string>
#include <vector>

#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"
#include "test/fakes/fake_source.h"

namespace vigil::testing {

struct Compiled {
  rules::RuleDefs defs;
  Diagnostics load_diags;
  rules::CompileOutput out;

  std::string all_diagnostics() const {
    Diagnostics d = load_diags;
    d.append(out.diagnostics);
    return d.to_string();
  }
  bool has_errors() const { return load_diags.has_errors() || out.diagnostics.has_errors(); }

  std::vector<std::string> matches(const FakeEvent& e) const {
    std::vector<std::string> names;
    const auto* src = out.rule_set->source("fake");
    if (!src) return names;
    rules::EvalContext ctx;
    for (uint32_t i : src->evaluate(&e, ctx)) names.push_back(src->rules()[i].name);
    return names;
  }
  bool fires(const FakeEvent& e) const { return !matches(e).empty(); }
};

inline Compiled compile_text(const std::string& yaml, const std::string& file = "rules.yaml",
                             rules::LoadOptions load_options = {}) {
  Compiled c;
  rules::RuleLoader loader(c.defs, c.load_diags, std::move(load_options));
  loader.load_text(file, yaml);
  rules::CompileOptions opts;
  opts.extra_sources.push_back(&fake_source());
  c.out = rules::compile_rules(c.defs, opts);
  return c;
}

// One rule named "r" with the given condition on the fake source.
inline Compiled compile_condition(const std::string& condition, const std::string& prelude = "") {
  std::string yaml =
      prelude + "- rule: r\n  desc: d\n  condition: '" + condition +
      "'\n  output: o\n  priority: WARNING\n  source: fake\n  warn_evttypes: false\n";
  return compile_text(yaml);
}

}  // namespace vigil::testing
