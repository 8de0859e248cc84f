#pragma once

// Reading fields every caller needs from an object as the API server returns it (JSON text).
// Untrusted-shape safe: a missing or mistyped field reads as empty.

#include <map>
#include <string>
#include <string_view>

namespace vigil::k8s {

// metadata.resourceVersion, or "".
std::string resource_version_of(std::string_view object_json);

// A Secret's data (base64-decoded; values that are not base64 are left out) and stringData,
// by key. Empty when the object has neither.
std::map<std::string, std::string> secret_data(std::string_view secret_json);

}  // namespace vigil::k8s
