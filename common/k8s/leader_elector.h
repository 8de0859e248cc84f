#pragma once

// Leader election on a coordination.k8s.io/v1 Lease, interoperable with client-go's
// leaderelection package (LeaseLock): same spec fields, same MicroTime timestamps, same
// acquire/renew/release rules, so a Vigil operator and a client-go controller contending for one
// Lease behave as two client-go candidates would.
//
// - Expiry is judged by the local steady clock from when this candidate last saw the Lease
//   record change, never by comparing the remote renewTime with the local clock (skew-tolerant).
// - Every write is a PUT carrying the last resourceVersion read, so a race loses with 409.
// - A leader that cannot renew for renew_deadline steps down (on_stopped_leading) and becomes a
//   candidate again; is_leader() turns false by itself once renew_deadline has passed since the
//   last successful renewal, even while a request is still hanging.
// - stop() while leading calls on_stopped_leading and then, with release_on_stop, releases the
//   Lease as client-go's ReleaseOnCancel does (holderIdentity "", leaseDurationSeconds 1), so a
//   successor takes over at once instead of after lease_duration.
//
// Callbacks run on the elector's thread and must return promptly: start or stop work elsewhere.
// Give the elector a Client whose request timeout is shorter than renew_deadline.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/base/result.h"
#include "common/k8s/client.h"

namespace vigil::k8s {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate; default_leader_identity() is a good choice
  // controller-runtime's defaults. Must satisfy lease_duration > renew_deadline >
  // 1.2 * retry_period > 0, as client-go requires.
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  bool release_on_stop = true;
  // metadata.ownerReferences of the Lease when this candidate creates it (a JSON array), so it
  // goes away with its owner; "" for none.
  std::string owner_references_json;
};

struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  // Optional: the Lease's holder changed (including to this candidate).
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
 public:
  // Validates the configuration.
  static Result<std::unique_ptr<LeaderElector>> create(Client& client, LeaderElectionConfig config,
                                                       LeaderCallbacks callbacks);
  ~LeaderElector();  // stop()s
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void start();
  // Steps down (releasing the Lease if configured) and joins the thread. Idempotent.
  void stop();

  bool is_leader() const;
  // The holder this candidate last observed ("" when none).
  std::string leader() const;
  const std::string& identity() const { return config_.identity; }

 private:
  struct Record {
    std::string holder;
    int lease_duration_seconds = 0;
    std::string acquire_time;
    std::string renew_time;
    int transitions = 0;
    bool operator==(const Record&) const = default;
  };

  LeaderElector(Client& client, LeaderElectionConfig config, LeaderCallbacks callbacks);
  void run();
  // client-go's tryAcquireOrRenew: true when this candidate holds the Lease afterwards.
  bool try_acquire_or_renew();
  bool write_lease(const Record& record, bool create);
  void observe(const Record& record, std::string lease_json,
               std::chrono::steady_clock::time_point at);
  void release();
  bool sleep_for(std::chrono::milliseconds d);
  std::chrono::milliseconds jittered(std::chrono::milliseconds d);
  std::string describe() const;

  Client& client_;
  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool started_ = false;   // guarded by mu_
  bool leading_ = false;   // guarded by mu_
  std::chrono::steady_clock::time_point
      renewed_at_;              // guarded by mu_: start of the last good renewal
  Record observed_;             // guarded by mu_
  std::string observed_lease_;  // guarded by mu_: the Lease JSON as last read/written
  std::chrono::steady_clock::time_point observed_at_;  // guarded by mu_
};

// "<hostname>_<16 random hex digits>", client-go's convention.
std::string default_leader_identity();

}  // namespace vigil::k8s
