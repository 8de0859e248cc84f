#pragma once

// Pod metadata for the containers of this node, from a watch of the node's pods (a k8s::Watcher
// on pods with fieldSelector spec.nodeName=<node>, whose handler is on_pod_event()). A container
// is matched by the full id of its cgroup against the pod's status: containerStatuses[],
// initContainerStatuses[] and ephemeralContainerStatuses[] each carry "containerd://<id>",
// "cri-o://<id>" or "docker://<id>", and lastState.terminated.containerID names the container a
// restart replaced.
//
// Threads: on_pod_event() runs on the watcher thread, lookup() on the capture thread. Each pod
// version is parsed (off the lock) into an immutable snapshot that owns every string lookup()
// hands out; the lock is held only to swap map entries (writer) or to find an entry and copy a
// shared_ptr (reader), so the capture thread never waits behind JSON parsing.
//
// Lifetime of ids: an id stays resolvable while its pod lists it. An id the pod no longer lists
// (the container restarted and got a new id) and every id of a deleted pod stays resolvable for
// a grace period, as the container's last processes may still be producing events, then is
// forgotten.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/container_id.h"
#include "agent/pod_parse.h"
#include "common/base/result.h"
#include "common/fields/syscall_event.h"
#include "common/fields/value.h"
#include "common/k8s/watch_stream.h"

namespace vigil::agent {

// ---------------------------------------------------------------------------------------------
// The cache
// ---------------------------------------------------------------------------------------------

struct PodMetadataOptions {
  // How long an id stays resolvable after its pod was deleted or stopped listing it.
  std::chrono::milliseconds grace{60'000};
  size_t max_pods = 5'000;  // live pods (a node runs at most a few hundred)
  // Resolvable ids, live and in their grace period. At the cap, ids in their grace period are
  // dropped first (oldest first); then new ids are not stored (counted in dropped_containers).
  size_t max_containers = 20'000;
  PodParseLimits parse;
  // The time source for the grace period; steady_clock::now when unset (tests inject one).
  std::function<std::chrono::steady_clock::time_point()> clock;
};

struct PodMetadataStats {
  uint64_t pods = 0;          // live pods known
  uint64_t containers = 0;    // resolvable ids (live and in grace)
  uint64_t events = 0;        // pod events applied
  uint64_t parse_errors = 0;  // pod events skipped: the object did not parse
  uint64_t lookup_hits = 0;
  uint64_t lookup_misses = 0;
  uint64_t expired = 0;             // ids forgotten at the end of their grace period
  uint64_t evicted = 0;             // ids dropped from their grace period early, for room
  uint64_t dropped_pods = 0;        // new pods not stored: max_pods reached
  uint64_t dropped_containers = 0;  // ids not stored: max_containers reached
};

class PodMetadataCache : public ContainerMetadata {
 public:
  explicit PodMetadataCache(PodMetadataOptions options = {});
  ~PodMetadataCache() override;
  PodMetadataCache(const PodMetadataCache&) = delete;
  PodMetadataCache& operator=(const PodMetadataCache&) = delete;

  // The pod watch handler (k8s::WatchHandler): ADDED and MODIFIED replace what is known about
  // the pod, DELETED starts the grace period of all its ids. BOOKMARK and ERROR are ignored.
  // Thread-safe; never throws.
  void on_pod_event(k8s::WatchEventType type, const std::string& pod_json);

  // ContainerMetadata. Holds the lock for a hash lookup and a shared_ptr copy. The views point
  // into a snapshot this object keeps until the next lookup() call. Call from one thread at a
  // time (the capture thread).
  bool lookup(std::string_view full_id, fields::ContainerInfo& c, fields::K8sInfo& k) override;

  // Forgets ids whose grace period has ended. on_pod_event() does it too; call it every few
  // seconds when pod events may be rare. Thread-safe.
  void expire();

  PodMetadataStats stats() const;
  // The last parse error, for a log line ("" when none).
  std::string last_error() const;

 private:
  struct Snapshot;  // one pod version with the views lookup() hands out; immutable
  using TimePoint = std::chrono::steady_clock::time_point;
  static constexpr TimePoint kLive = TimePoint::max();
  struct Slot {
    std::shared_ptr<const Snapshot> snapshot;
    uint32_t index = 0;         // into the snapshot's containers
    TimePoint expires = kLive;  // kLive while the pod lists the id
  };

  TimePoint now() const;
  // All *_locked functions need mu_.
  void upsert_locked(const std::shared_ptr<const Snapshot>& snap, TimePoint now);
  void delete_locked(const std::shared_ptr<const Snapshot>& snap, TimePoint now);
  // Stores `id` -> (snap, index), live; false when there is no room.
  bool put_locked(const std::string& id, const std::shared_ptr<const Snapshot>& snap,
                  uint32_t index);
  // Starts the grace period of `id` if it is a live id of pod `key`.
  void start_grace_locked(const std::string& id, const std::string& key, TimePoint now);
  bool evict_one_locked();
  void expire_locked(TimePoint now);

  const PodMetadataOptions options_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Snapshot>> pods_;  // guarded by mu_
  std::unordered_map<std::string, Slot> containers_;                       // guarded by mu_
  // Ids in their grace period, by expiry (the period is fixed, so appending keeps the order).
  // An entry whose slot has since expired differently or gone is stale and skipped.
  std::deque<std::pair<TimePoint, std::string>> expiring_;  // guarded by mu_
  PodMetadataStats stats_;                                  // guarded by mu_
  std::string last_error_;                                  // guarded by mu_

  // lookup() scratch (capture thread): keeps the views of the last answer alive.
  std::string key_;
  std::shared_ptr<const Snapshot> held_;
};

}  // namespace vigil::agent
