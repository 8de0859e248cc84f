#include "common/k8s/events.h"

#include <unistd.h>

#include <chrono>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/k8s/log.h"
#include "common/k8s/time_format.h"

namespace vigil::k8s {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Bucket {
  double tokens;
  Clock::time_point at;
};

}  // namespace

// A token bucket per object plus one for everything.
class EventRateLimit {
 public:
  bool allow(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    if (!take(global_, now, kGlobalBurst, kGlobalPerSecond)) return false;
    if (per_object_.size() >= kMaxKeys && per_object_.find(key) == per_object_.end()) {
      // Forget objects whose buckets have refilled: they behave as new ones anyway.
      for (auto it = per_object_.begin(); it != per_object_.end();) {
        refill(it->second, now, kObjectBurst, kObjectPerSecond);
        it = it->second.tokens >= kObjectBurst ? per_object_.erase(it) : std::next(it);
      }
      if (per_object_.size() >= kMaxKeys) per_object_.erase(per_object_.begin());
    }
    auto [it, inserted] = per_object_.try_emplace(key, Bucket{kObjectBurst, now});
    return take(it->second, now, kObjectBurst, kObjectPerSecond);
  }

 private:
  static constexpr double kGlobalBurst = 100;
  static constexpr double kGlobalPerSecond = 10;
  static constexpr double kObjectBurst = 25;
  static constexpr double kObjectPerSecond = 0.1;
  static constexpr size_t kMaxKeys = 4096;

  static void refill(Bucket& b, Clock::time_point now, double burst, double rate) {
    const double secs = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst, b.tokens + secs * rate);
    b.at = now;
  }
  static bool take(Bucket& b, Clock::time_point now, double burst, double rate) {
    refill(b, now, burst, rate);
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

  std::mutex mu_;
  Bucket global_{kGlobalBurst, Clock::now()};           // guarded by mu_
  std::unordered_map<std::string, Bucket> per_object_;  // guarded by mu_
};

namespace {

// Cuts at a byte limit without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

std::string hostname() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "unknown";
  return host;
}

json reference_json(const ObjectReference& o) {
  json ref = {{"apiVersion", o.api_version}, {"kind", o.kind}, {"name", o.name}};
  if (!o.namespace_.empty()) ref["namespace"] = o.namespace_;
  if (!o.uid.empty()) ref["uid"] = o.uid;
  if (!o.resource_version.empty()) ref["resourceVersion"] = o.resource_version;
  return ref;
}

// Creates the Event; `limit` decides whether it is sent at all.
void send_event(Client& client, EventRateLimit& limit, const ObjectReference& involved,
                EventType type, std::string_view reason, std::string_view message,
                std::string_view component) {
  const std::string object = object_key(involved.namespace_, involved.name);
  if (!limit.allow(fmt::format("{}|{}|{}", component, involved.kind, object))) {
    logger().debug("Dropped event {} about {} {}: over the rate limit", reason, involved.kind,
                   object);
    return;
  }
  const auto now = std::chrono::system_clock::now();
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const std::string ns = involved.namespace_.empty() ? "default" : involved.namespace_;
  const std::string name = fmt::format("{}.{:x}", truncate_utf8(involved.name, 200), nanos);
  const std::string type_name = type == EventType::kWarning ? "Warning" : "Normal";
  const std::string reason_s = truncate_utf8(reason, 128);
  const std::string instance = truncate_utf8(fmt::format("{}-{}", component, hostname()), 128);

  {
    const json event = {
        {"apiVersion", "events.k8s.io/v1"},
        {"kind", "Event"},
        {"metadata", {{"name", name}, {"namespace", ns}}},
        {"eventTime", format_micro_time(now)},
        {"reportingController", std::string(component)},
        {"reportingInstance", instance},
        {"action", reason_s},
        {"reason", reason_s},
        {"type", type_name},
        {"note", truncate_utf8(message, 1024)},
        {"regarding", reference_json(involved)},
    };
    auto created = client.create(events(), ns, event.dump());
    if (created) return;
    if (created.error_code() != kStatusNotFound) {
      logger().warn("Failed to record event {} about {} {}: {}", reason_s, involved.kind, object,
                    created.error());
      return;
    }
    // events.k8s.io/v1 has been served since Kubernetes 1.19; older servers get a core Event.
  }
  const std::string ts = format_time(now);
  const json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"involvedObject", reference_json(involved)},
      {"reason", reason_s},
      {"message", truncate_utf8(message, 1024)},
      {"type", type_name},
      {"source", {{"component", std::string(component)}, {"host", hostname()}}},
      {"firstTimestamp", ts},
      {"lastTimestamp", ts},
      {"count", 1},
      {"reportingComponent", std::string(component)},
      {"reportingInstance", instance},
  };
  if (auto created = client.create(core_events(), ns, event.dump()); !created) {
    logger().warn("Failed to record event {} about {} {}: {}", reason_s, involved.kind, object,
                  created.error());
  }
}

}  // namespace

EventRecorder::EventRecorder(Client& client, std::string component)
    : client_(client),
      component_(std::move(component)),
      limit_(std::make_unique<EventRateLimit>()) {}

EventRecorder::~EventRecorder() = default;

void EventRecorder::record(const ObjectReference& involved, EventType type, std::string_view reason,
                           std::string_view message) {
  send_event(client_, *limit_, involved, type, reason, message, component_);
}

void record_event(Client& client, const ObjectReference& involved, EventType type,
                  std::string_view reason, std::string_view message, std::string_view component) {
  static EventRateLimit shared;
  send_event(client, shared, involved, type, reason, message, component);
}

}  // namespace vigil::k8s
