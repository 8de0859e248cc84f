#pragma once

// Kubernetes Events about objects ("Compiled SecurityRule default/shell-in-container"), as
// `kubectl describe` and `kubectl events` show them.

#include <memory>
#include <string>
#include <string_view>

#include "common/k8s/client.h"

namespace vigil::k8s {

// The object an event is about.
struct ObjectReference {
  std::string api_version;  // "vigil.dev/v1alpha1"
  std::string kind;         // "SecurityRule"
  std::string namespace_;   // "" for cluster-scoped objects (the event then goes to "default")
  std::string name;
  std::string uid;
  std::string resource_version;
};

enum class EventType { kNormal, kWarning };

class EventRateLimit;  // events.cc

// Records Events for one component: creates an events.k8s.io/v1 Event (or a core v1 Event when
// the server answers 404 for that API) with reportingController = component,
// reportingInstance = component-hostname and action = reason. Best effort: failures are logged,
// never returned, so callers do not branch on them. Bounded: each object gets a burst of 25
// events, then one per 10 s (client-go's spam filter, with a faster refill), and the recorder at
// most 10 per second with a burst of 100; events over the limit are dropped with a debug log.
// Thread-safe.
class EventRecorder {
 public:
  EventRecorder(Client& client, std::string component);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  void record(const ObjectReference& involved, EventType type, std::string_view reason,
              std::string_view message);

 private:
  Client& client_;
  const std::string component_;
  const std::unique_ptr<EventRateLimit> limit_;
};

// The same through one process-wide rate limit, for callers without a recorder of their own.
void record_event(Client& client, const ObjectReference& involved, EventType type,
                  std::string_view reason, std::string_view message, std::string_view component);

}  // namespace vigil::k8s
