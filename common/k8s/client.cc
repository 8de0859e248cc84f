#include "common/k8s/client.h"

#include <utility>

namespace vigil::k8s {

void CancelToken::cancel() {
  cancelled_.store(true, std::memory_order_release);
  std::lock_guard<std::mutex> lock(waker_mu_);
  if (waker_) waker_();
}

void CancelToken::set_waker(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(waker_mu_);
  waker_ = std::move(wake);
  // A cancel() that came before the waker was set must still wake the new stream.
  if (waker_ && cancelled()) waker_();
}

std::string_view patch_content_type(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
    case PatchType::kApply:
      return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

}  // namespace vigil::k8s
