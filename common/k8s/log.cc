#include "common/k8s/log.h"

#include <memory>

namespace vigil::k8s {

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    if (auto registered = spdlog::get("k8s")) return registered;
    return spdlog::default_logger()->clone("k8s");
  }();
  return *instance;
}

}  // namespace vigil::k8s
