#pragma once

// Cluster mode's sinks: the AlertSinks of the operator's bundle (ConfigMap data "sinks.json")
// with the Secret values they reference (Secret vigil-bundle-credentials), turned into
// SinkTargets for the alert dispatcher. A sink that cannot be built is left out and reported;
// the others still deliver.

#include <string>
#include <string_view>
#include <vector>

#include "common/alerts/sink.h"

namespace vigil::agent {

struct BundleSinks {
  std::vector<alerts::SinkTarget> targets;
  std::vector<std::string> errors;  // "ns/name: why" (never a secret value)
  std::string error;                // the whole set could not be read
};

// `configmap_json`: the bundle ConfigMap; `secret_json`: the credentials Secret as the API
// server returns it ("" when there is none yet: sinks needing credentials then fail to build).
BundleSinks build_bundle_sinks(std::string_view configmap_json, std::string_view secret_json);

}  // namespace vigil::agent
