#pragma once

// The bundle: every accepted SecurityRule and AlertSink, rendered by the operator into one
// versioned object the agents load (DESIGN.md §3). The operator writes it to a ConfigMap (rules
// and sink settings) and a Secret (sink credentials); agents watch both.
//
// Rendering is deterministic (objects sorted by namespace/name, keys in a fixed order), so the
// content hash only changes when the content does, and the operator rewrites the ConfigMap only
// then.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace vigil::bundle {

// ConfigMap and Secret layout.
inline constexpr std::string_view kConfigMapName = "vigil-bundle";
inline constexpr std::string_view kSecretName = "vigil-bundle-credentials";
inline constexpr std::string_view kRulesKey = "rules.yaml";
inline constexpr std::string_view kSinksKey = "sinks.json";
inline constexpr std::string_view kCredentialsKey = "credentials.json";
inline constexpr std::string_view kGenerationAnnotation = "vigil.dev/bundle-generation";
inline constexpr std::string_view kHashAnnotation = "vigil.dev/bundle-hash";

// One object as it goes into the bundle: its identity and its spec as JSON.
struct BundleObject {
  std::string ns;
  std::string name;
  int64_t generation = 0;  // metadata.generation the operator accepted
  std::string spec_json;
};

struct Bundle {
  int64_t generation = 0;
  std::string hash;   // "sha256:<hex>" over rules and sinks
  std::string rules;  // SecurityRule documents, "---"-separated JSON (loadable by RuleLoader)
  std::string sinks;  // JSON array of {namespace, name, generation, spec}
};

// Renders the objects (any order in; sorted out) into the bundle's texts and hash. The
// generation is left for the caller (the publisher bumps it when the hash changes).
Bundle render_bundle(std::vector<BundleObject> rules, std::vector<BundleObject> sinks);

// "sha256:<64 hex digits>" of the data.
std::string sha256_hex(std::string_view data);

// Reads the SecurityRule documents of a bundle back into (namespace, name, generation) and the
// document text; used by agents and tests. Error on malformed input.
Result<std::vector<BundleObject>> parse_bundle_rules(std::string_view rules);

}  // namespace vigil::bundle
