// libFuzzer target for the agent's bundle intake: the input is the bundle ConfigMap as the watch
// delivers it (untrusted JSON, whose data."rules.yaml" is rule text). Every input must give
// either a rule set or an error, never both and never neither, and no crash.
//
//   make fuzz   (builds fuzz/*_fuzz.cc with clang and libFuzzer in build-fuzz/)
//   ./build-fuzz/bundle_sync_fuzz -max_len=65536 fuzz/corpus/bundle_sync

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/bundle_sync.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const vigil::agent::CompiledBundle b = vigil::agent::compile_bundle(text, "vigil-system");
  if ((b.rule_set == nullptr) == b.error.empty()) std::abort();
  for (const auto& r : b.rules) {
    if (r.programmed && !b.error.empty()) std::abort();
    if (r.programmed && r.source != "syscall") std::abort();
  }
  return 0;
}
