#pragma once

// The resource types of Vigil's API, for the Kubernetes client.

#include "common/k8s/resource.h"

namespace vigil::op {

inline k8s::ResourceRef security_rules() {
  return {"vigil.dev", "v1alpha1", "securityrules", true};
}
inline k8s::ResourceRef alert_sinks() { return {"vigil.dev", "v1alpha1", "alertsinks", true}; }
inline k8s::ResourceRef node_agents() { return {"vigil.dev", "v1alpha1", "nodeagents", false}; }

}  // namespace vigil::op
