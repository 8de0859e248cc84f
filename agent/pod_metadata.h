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
#include "common/base/result.h"
#include "common/fields/syscall_event.h"
#include "common/fields/value.h"
#include "common/k8s/watch_stream.h"

namespace vigil::agent {

// ---------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------

// An image reference split as Falco splits it (libsinsp sinsp_utils::split_container_image with
// the registry kept in the repository), following the Docker reference grammar
// "[host[:port]/]path[:tag][@digest]":
//   "registry:5000/ns/name:tag@sha256:abc" -> "registry:5000/ns/name", "tag", "sha256:abc"
//   "registry:5000/ns/name"                -> "registry:5000/ns/name", "", ""
//   "nginx"                                -> "nginx", "", ""   (no implied "latest", no
//                                             implied docker.io/library/: Falco adds neither)
// Views point into `image`.
struct ImageReference {
  std::string_view repository;
  std::string_view tag;
  std::string_view digest;
};
ImageReference split_image_reference(std::string_view image);

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

// One container id of a pod, with what the pod says about that container.
struct PodContainerInfo {
  std::string id;    // 64 lowercase hex characters, the runtime's "<scheme>://" removed
  std::string type;  // container.type: "containerd", "cri-o", "docker"; "" for another scheme
  std::string name;  // container.name: the name in the pod spec
  // status image, or the spec image when the status has none or names an image id
  std::string image;
  std::string image_id;  // hex, from an imageID that is an image id ("sha256:<hex>")
  std::string image_repository;
  std::string image_tag;
  std::string image_digest;  // from imageID ("<repo>@sha256:..."), else from the image
  uint64_t start_ts = 0;     // ns since the epoch (state's startedAt), 0 = unknown
  uint8_t privileged = fields::kTriUnknown;  // spec securityContext.privileged
  bool previous = false;                     // from lastState.terminated: replaced by a restart
};

struct PodInfo {
  std::string uid;
  std::string name;
  std::string ns;
  std::string ip;  // status.podIP as written ("" when not assigned yet)
  fields::IpAddr ip_addr;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  uint8_t host_pid = fields::kTriUnknown;                   // spec.hostPID, hostNetwork, hostIPC
  uint8_t host_network = fields::kTriUnknown;
  uint8_t host_ipc = fields::kTriUnknown;
  // Containers that have an id (a container not created yet has none), in status order:
  // containerStatuses, initContainerStatuses, ephemeralContainerStatuses; each one's previous
  // id (lastState) after it.
  std::vector<PodContainerInfo> containers;

  // The cache's key: the uid, or "namespace/name" for a pod without one.
  std::string key() const;
};

struct PodParseLimits {
  size_t max_bytes = 4u << 20;   // the API server stores objects up to ~1.5 MiB
  size_t max_labels = 512;       // labels beyond are dropped (the first in key order are kept)
  size_t max_containers = 1024;  // ids per pod; beyond: an error
};

// Parses a Pod as the API server serialises it. Untrusted input: never throws; not JSON, nesting
// deeper than kMaxJsonDepth, over the limits, or a field this reads having the wrong type gives
// an Error naming it ("status.containerStatuses[0].containerID: expected a string"). Fields it
// does not read are not checked. A pod needs metadata.name and metadata.namespace.
Result<PodInfo> parse_pod(std::string_view json, const PodParseLimits& limits = {});

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
