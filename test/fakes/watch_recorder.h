#pragma once

// Collects Watcher handler calls as "ADDED name=value" (value = data.v of a ConfigMap) and lets a
// test wait for a count. Shared by the Watcher unit tests and the Kubernetes client e2e tests.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/k8s/watch_stream.h"
#include "common/k8s/watcher.h"

namespace vigil::testing {

class WatchRecorder {
 public:
  explicit WatchRecorder(std::chrono::milliseconds default_timeout = std::chrono::seconds(5))
      : default_timeout_(default_timeout) {}

  k8s::WatchHandler handler() {
    return [this](k8s::WatchEventType type, const std::string& object) {
      const nlohmann::json obj = nlohmann::json::parse(object);
      std::string value = obj.contains("data") ? obj["data"].value("v", "") : "";
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(std::string(k8s::to_string(type)) + " " +
                        obj["metadata"].value("name", "") + "=" + value);
      cv_.notify_all();
    };
  }
  bool wait_for(size_t n) { return wait_for(n, default_timeout_); }
  bool wait_for(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::chrono::milliseconds default_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

}  // namespace vigil::testing
