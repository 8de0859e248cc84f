#pragma once

// A reflector: keeps a local copy of one resource type in sync with the API server by listing
// (paginated) and then watching from the list's resourceVersion, on a thread of its own.
//
// - A watch the server ends (timeoutSeconds) or a dropped connection resumes from the last
//   resourceVersion seen (event or bookmark), so no event is missed or repeated.
// - 410 Gone (HTTP status or an ERROR event with code 410 / reason Expired) relists with a
//   consistent read and reports the difference: ADDED for new objects, MODIFIED for changed ones,
//   DELETED (with the last known state) for objects that vanished meanwhile.
// - Other failures back off with jitter (200 ms doubling to 30 s by default).
//
// The handler runs on the watcher thread, in the order the server sent the events; it must not
// block for long and must not call stop() on its own watcher.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/k8s/backoff.h"
#include "common/k8s/client.h"
#include "common/k8s/watch_stream.h"

namespace vigil::k8s {

struct WatcherOptions {
  ResourceRef resource;
  std::string ns;  // "" watches every namespace (and is required for cluster-scoped resources)
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  // Each watch asks the server to end it after a random time in [min, 2 * min], as client-go
  // does, so many watchers do not reconnect in step.
  std::chrono::seconds min_watch_timeout{300};
  BackoffPolicy backoff{};
};

// Called with kAdded, kModified or kDeleted (never kBookmark or kError) and the object's JSON.
using WatchHandler = std::function<void(WatchEventType type, const std::string& object_json)>;

struct CachedObject {
  std::shared_ptr<const std::string> object;  // JSON text, shared with snapshots
  std::string resource_version;
};

struct WatcherStats {
  uint64_t lists = 0;    // completed (possibly paginated) lists, the first one included
  uint64_t relists = 0;  // lists after 410 Gone or a broken stream
  uint64_t watches = 0;  // watch requests opened
  uint64_t events = 0;   // ADDED/MODIFIED/DELETED delivered to the handler
  uint64_t errors = 0;   // failed lists and watches
};

class Watcher {
 public:
  Watcher(Client& client, WatcherOptions options, WatchHandler handler);
  ~Watcher();  // stop()s
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Starts the thread. A stopped watcher cannot be started again.
  void start();
  // Ends the stream and joins the thread; returns promptly (the open watch is woken up, it does
  // not wait for the server). Idempotent.
  void stop();

  // True once the first list has been delivered to the handler.
  bool has_synced() const;
  bool wait_for_sync(std::chrono::milliseconds timeout) const;

  // Keys are "namespace/name", or "name" for cluster-scoped objects.
  std::optional<CachedObject> get(const std::string& key) const;
  std::map<std::string, CachedObject> snapshot() const;
  // The resourceVersion the next watch would start from.
  std::string resource_version() const;
  WatcherStats stats() const;

 private:
  struct ListedObject {
    std::string key;
    std::string resource_version;
    std::shared_ptr<const std::string> object;
  };
  enum class StreamOutcome { kResume, kRelist, kBackOff, kStopped };

  void run();
  // Lists every page; on success replaces the cache, delivers the differences and returns true.
  bool list_and_replace(bool relist);
  Result<std::string> list_all(std::vector<ListedObject>& out);
  StreamOutcome watch_once();
  void apply(const WatchEvent& event);
  // Sleeps unless stop() comes first; returns false when stopping.
  bool sleep_for(std::chrono::milliseconds d);
  std::string describe() const;

  Client& client_;
  const WatcherOptions options_;
  const WatchHandler handler_;
  Backoff backoff_;  // watcher thread only
  CancelToken cancel_;
  std::thread thread_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;                      // guarded by mu_
  bool started_ = false;                       // guarded by mu_
  bool synced_ = false;                        // guarded by mu_
  std::map<std::string, CachedObject> cache_;  // guarded by mu_
  std::string resource_version_;               // guarded by mu_
  WatcherStats stats_;                         // guarded by mu_
};

}  // namespace vigil::k8s
