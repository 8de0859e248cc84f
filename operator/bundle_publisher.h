#pragma once

// Writes the bundle (rules and sink settings in a ConfigMap, sink credentials in a Secret) into
// the operator's namespace, and only when its content changed: the generation goes up by one
// each time the content hash changes. Agents watch both objects.

#include <map>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/bundle/bundle.h"

namespace vigil::k8s {
class Client;
}

namespace vigil::op {

struct PublishResult {
  bool changed = false;
  int64_t generation = 0;
  std::string hash;
};

class BundlePublisher {
 public:
  // `owner_references_json`: metadata.ownerReferences (a JSON array) of the ConfigMap and the
  // Secret, so they go away with the install; "" for none.
  BundlePublisher(k8s::Client& client, std::string ns, std::string owner_references_json = {})
      : client_(client), ns_(std::move(ns)), owners_(std::move(owner_references_json)) {}

  Result<PublishResult> publish(
      std::vector<bundle::BundleObject> rules, std::vector<bundle::BundleObject> sinks,
      const std::map<std::string, std::map<std::string, std::string>>& credentials);

 private:
  Result<bool> write_credentials(const std::string& json, const std::string& hash);

  k8s::Client& client_;
  std::string ns_;
  std::string owners_;
};

}  // namespace vigil::op
