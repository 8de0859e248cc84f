#pragma once

// How every operator replica's audit receiver reports what it did, so that the leader (the only
// replica writing status) can sum it into the SecurityRules' alerts and the AlertSinks' delivery
// counters: a ConfigMap per replica in the operator's namespace, labelled
// vigil.dev/audit-receiver, holding the same status a NodeAgent has (rules with alerts, sinks
// with delivered/failed/dropped, heartbeat). The leader's NodeStatusIndex takes these as
// receivers: they count for alerts and sinks and make audit rules Programmed, never as nodes.
//
// Counters continue across a restart of the same replica (same identity): the reporter starts
// from what its ConfigMap holds.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/api/v1alpha1/types.h"
#include "common/base/result.h"
#include "operator/audit/audit_receiver.h"

namespace vigil::k8s {
class Client;
}
namespace vigil::alerts {
struct SinkStats;
}

namespace vigil::op {

inline constexpr std::string_view kReceiverLabel = "vigil.dev/audit-receiver";
inline constexpr std::string_view kReceiverReportKey = "status.json";

// "vigil-audit-receiver-<identity>", the identity lowercased with anything outside [a-z0-9-]
// turned into '-', cut to fit a name.
std::string receiver_configmap_name(std::string_view identity);

// The status a receiver reports: `stored` (what its ConfigMap held at start, may be null) plus
// the receiver's counts and the dispatcher's sink stats since then.
api::v1alpha1::NodeAgentStatus build_receiver_status(const api::v1alpha1::NodeAgentStatus* stored,
                                                     const std::vector<AuditRuleCount>& counts,
                                                     const std::vector<alerts::SinkStats>& sinks,
                                                     api::v1alpha1::Time now, bool stopping);

// The ConfigMap (JSON for POST/PUT) holding `status` for `identity`.
std::string render_receiver_configmap(std::string_view ns, std::string_view identity,
                                      const api::v1alpha1::NodeAgentStatus& status,
                                      std::string_view resource_version = {},
                                      std::string_view owner_references_json = {});
// A receiver's report as a NodeAgent (name = identity); error when the ConfigMap is not one.
Result<api::v1alpha1::NodeAgent> parse_receiver_configmap(std::string_view configmap_json);

// Writes this replica's report: within `report_interval` of a change, and every `heartbeat`.
class ReceiverReporter {
 public:
  struct Options {
    std::string ns;
    std::string identity;
    std::chrono::milliseconds report_interval{2000};
    std::chrono::seconds heartbeat{30};
    std::string owner_references_json;  // of the ConfigMap ("" for none)
  };
  ReceiverReporter(k8s::Client& client, Options options, const AuditReceiver& receiver,
                   std::function<std::vector<alerts::SinkStats>()> sink_stats);
  ~ReceiverReporter();  // stop()

  void start();
  // Writes a last report (Ready False, "Stopped") and stops. Idempotent.
  void stop();
  uint64_t writes() const { return writes_; }
  uint64_t failures() const { return failures_; }

 private:
  void run();
  bool write(bool stopping);

  k8s::Client& client_;
  Options options_;
  const AuditReceiver& receiver_;
  std::function<std::vector<alerts::SinkStats>()> sink_stats_;
  std::unique_ptr<api::v1alpha1::NodeAgentStatus> stored_;  // loaded once; null: none
  bool loaded_ = false;
  std::string resource_version_;
  api::v1alpha1::NodeAgentStatus last_written_;
  std::chrono::steady_clock::time_point last_write_{};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> writes_{0}, failures_{0};
  std::thread thread_;
};

}  // namespace vigil::op
