// libFuzzer target for the rule language: the input is used twice, as a bare condition (parser
// only) and as a whole rules file (YAML loader, macro/list resolution, compiler, output
// templates). Rule text is untrusted input: nothing may crash, hang or leak.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/rules/compiler.h"
#include "common/rules/parser.h"
#include "common/rules/rule_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);

  vigil::rules::Parser parser(text);
  if (auto ast = parser.parse()) {
    (void)ast->to_string();
    (void)ast->clone();
  }

  vigil::rules::RuleDefs defs;
  vigil::Diagnostics diags;
  vigil::rules::RuleLoader loader(defs, diags);
  loader.load_text("fuzz.yaml", text);
  auto out = vigil::rules::compile_rules(defs);
  (void)out.diagnostics.to_string();
  return 0;
}
