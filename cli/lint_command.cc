#include <cstdio>

#include "cli/commands.h"
#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"

namespace vigil::cli {

int run_lint(const std::vector<std::string>& args) {
  bool builtin = true;
  bool warnings = true;
  std::vector<std::string> files;
  for (const auto& a : args) {
    if (a == "--no-builtin") {
      builtin = false;
    } else if (a == "--no-warnings") {
      warnings = false;
    } else if (a == "--help" || a == "-h") {
      std::puts("Usage: vigilctl lint [--no-builtin] [--no-warnings] FILE...");
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "vigilctl lint: unknown option '%s'\n", a.c_str());
      return 2;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::fputs("vigilctl lint: no files given\nUsage: vigilctl lint [--no-builtin] FILE...\n",
               stderr);
    return 2;
  }
  rules::RuleDefs defs;
  Diagnostics diags;
  rules::RuleLoader loader(defs, diags);
  if (builtin) loader.load_builtin_library();
  for (const auto& f : files) loader.load_file(f);
  auto out = rules::compile_rules(defs);
  diags.append(out.diagnostics);
  size_t errors = 0, shown_warnings = 0;
  for (const auto& d : diags.items()) {
    if (d.severity == Severity::kWarning && !warnings) continue;
    std::printf("%s\n", d.to_string().c_str());
    if (d.severity == Severity::kError) {
      ++errors;
    } else {
      ++shown_warnings;
    }
  }
  size_t accepted = 0, enabled = 0;
  for (const auto& s : out.statuses) {
    accepted += s.accepted;
    enabled += s.accepted && s.enabled;
  }
  std::fprintf(
      stderr,
      "%zu rules (%zu accepted, %zu enabled), %zu macros, %zu lists: %zu errors, %zu warnings\n",
      out.statuses.size(), accepted, enabled, defs.macros.size(), defs.lists.size(), errors,
      diags.warning_count());
  return errors ? 1 : 0;
}

}  // namespace vigil::cli
