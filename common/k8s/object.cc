#include "common/k8s/object.h"

#include <nlohmann/json.hpp>

#include "common/base/bounded_json.h"
#include "common/k8s/client_config.h"

namespace vigil::k8s {

std::string resource_version_of(std::string_view object_json) {
  const nlohmann::json o = parse_bounded_json(object_json);
  if (!o.is_object()) return {};
  auto meta = o.find("metadata");
  if (meta == o.end() || !meta->is_object()) return {};
  auto rv = meta->find("resourceVersion");
  return rv != meta->end() && rv->is_string() ? rv->get<std::string>() : std::string();
}

std::map<std::string, std::string> secret_data(std::string_view secret_json) {
  std::map<std::string, std::string> out;
  const nlohmann::json s = parse_bounded_json(secret_json);
  if (s.is_discarded() || !s.is_object()) return out;
  if (auto it = s.find("data"); it != s.end() && it->is_object()) {
    for (auto kv = it->begin(); kv != it->end(); ++kv) {
      if (!kv.value().is_string()) continue;
      if (auto decoded = base64_decode(kv.value().get<std::string>()))
        out[kv.key()] = std::move(*decoded);
    }
  }
  if (auto it = s.find("stringData"); it != s.end() && it->is_object()) {
    for (auto kv = it->begin(); kv != it->end(); ++kv)
      if (kv.value().is_string()) out[kv.key()] = kv.value().get<std::string>();
  }
  return out;
}

}  // namespace vigil::k8s
