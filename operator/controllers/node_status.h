#pragma once

// What the node agents report, summed per SecurityRule and per AlertSink. Pure (no I/O), so it
// is unit-tested without a cluster; the controllers merge the result into the status they write.
//
// A NodeAgent is stale when its lastHeartbeatTime is missing or older than the threshold. Stale
// nodes still count as targeted (the rule is meant to run there) but never as programmed or
// failed; their counters still count (they are history).
//
// Built once per reconcile pass: the constructor indexes every NodeAgent's rule and sink entries
// by key, so each query costs the entries for that key (plus the nodes whose bundle failed), not
// a scan of every node: 1,000 rules on 100 nodes is 100,000 entries visited once.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/api/v1alpha1/types.h"

namespace vigil::op {

inline constexpr std::chrono::seconds kDefaultNodeStaleAfter{90};

// A rule's share of the node agents' reports.
struct RuleNodeStatus {
  api::v1alpha1::NodeCounts nodes;
  api::v1alpha1::AlertCounts alerts;
  // The Programmed condition for an accepted rule (type, observedGeneration and
  // lastTransitionTime are the controller's).
  api::v1alpha1::ConditionStatus programmed = api::v1alpha1::ConditionStatus::kUnknown;
  std::string reason;  // Programmed, FailedOnNodes, Pending, NoNodes, AuditReceiver
  std::string message;

  bool operator==(const RuleNodeStatus&) const = default;
};

// A sink's delivery counters, summed over every node.
struct SinkNodeStatus {
  int64_t delivered = 0;
  int64_t failed = 0;
  int64_t dropped = 0;
  int32_t reporting = 0;  // fresh nodes that report the sink
  // Fresh nodes whose deliveries are failing (state Degraded or CircuitOpen), in name order, as
  // "node: error" (up to a few), and how many there are.
  int32_t failing = 0;
  std::string failing_message;
  std::string last_error;  // the first failing node's, else any node's last error
  std::optional<api::v1alpha1::Time> last_delivery_time;  // the newest over every node

  bool operator==(const SinkNodeStatus&) const = default;
};

// Which bundle generation first carried each rule's current generation, as this operator
// published them. After a restart (or a failover) the history starts at the bundle then
// current: conservative, since a node on an older bundle waits to be counted until it catches up.
class BundleHistory {
 public:
  struct Published {
    std::string ns;
    std::string name;
    int64_t generation = 0;  // the rule's metadata.generation in the bundle
  };
  // The rules of bundle `bundle_generation`, just published (or found unchanged).
  void record(const std::vector<Published>& rules, int64_t bundle_generation);
  // The first bundle generation holding generation `generation` of the rule; 0 when unknown.
  int64_t since(std::string_view ns, std::string_view name, int64_t generation) const;
  size_t size() const { return since_.size(); }

 private:
  struct Entry {
    int64_t rule_generation = 0;
    int64_t bundle_generation = 0;
  };
  std::unordered_map<std::string, Entry> since_;  // "ns/name"
};

class NodeStatusIndex {
 public:
  // `agents` in any order (messages name nodes in name order). `now` and `stale_after` decide
  // which nodes are stale.
  // `receivers`: the operator replicas' audit receivers (audit/receiver_report.h), in the
  // NodeAgent shape. They add alerts (audit rules) and sink counters, and make an accepted audit
  // rule Programmed while one of them is fresh; they are never nodes.
  NodeStatusIndex(std::vector<std::shared_ptr<const api::v1alpha1::NodeAgent>> agents,
                  api::v1alpha1::Time now, std::chrono::seconds stale_after,
                  std::vector<std::shared_ptr<const api::v1alpha1::NodeAgent>> receivers = {});
  // For tests and callers that own plain values.
  NodeStatusIndex(const std::vector<api::v1alpha1::NodeAgent>& agents, api::v1alpha1::Time now,
                  std::chrono::seconds stale_after,
                  const std::vector<api::v1alpha1::NodeAgent>& receivers = {});

  NodeStatusIndex(const NodeStatusIndex&) = delete;
  NodeStatusIndex& operator=(const NodeStatusIndex&) = delete;

  // `generation`: the rule's current metadata.generation; a node programmed with an older one
  // does not count as programmed. Agents list only the rules that have something to say
  // (alerts, an error); a node that lists nothing for the rule counts as programmed when its
  // probe runs and it runs bundle generation `since_bundle` or newer — the first bundle that
  // held this generation of the rule (BundleHistory; 0: unknown, only listed entries count).
  RuleNodeStatus rule(std::string_view ns, std::string_view name, int64_t generation,
                      api::v1alpha1::RuleSource source, int64_t since_bundle = 0) const;
  SinkNodeStatus sink(std::string_view ns, std::string_view name) const;

  size_t agent_count() const { return agents_.size(); }
  size_t stale_count() const { return stale_count_; }
  size_t receiver_count() const { return receivers_.size(); }
  size_t fresh_receiver_count() const { return fresh_receivers_; }

 private:
  struct Key {
    std::string_view ns;
    std::string_view name;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  struct RuleEntry {
    uint32_t agent;  // index into agents_
    const api::v1alpha1::NodeRuleStatus* status;
  };

  void build();
  void add_sinks(const api::v1alpha1::NodeAgent& reporter, bool stale);

  // Sorted by name; the string_views below point into these objects.
  std::vector<std::shared_ptr<const api::v1alpha1::NodeAgent>> agents_;
  std::vector<bool> stale_;              // per agent
  std::vector<uint32_t> bundle_failed_;  // fresh agents whose bundle.error is set, in name order
  std::vector<uint32_t> stale_agents_;   // in name order
  size_t stale_count_ = 0;
  api::v1alpha1::Time now_;
  std::chrono::seconds stale_after_;
  std::unordered_map<Key, std::vector<RuleEntry>, KeyHash> rules_;
  std::unordered_map<Key, SinkNodeStatus, KeyHash> sinks_;
  std::vector<std::shared_ptr<const api::v1alpha1::NodeAgent>> receivers_;  // sorted by name
  size_t fresh_receivers_ = 0;
  std::unordered_map<Key, std::vector<const api::v1alpha1::NodeRuleStatus*>, KeyHash>
      receiver_rules_;
};

}  // namespace vigil::op
