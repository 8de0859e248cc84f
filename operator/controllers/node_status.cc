#include "operator/controllers/node_status.h"

#include <algorithm>
#include <functional>

namespace vigil::op {

namespace api = vigil::api::v1alpha1;

namespace {

constexpr size_t kNamedNodes = 3;
constexpr std::chrono::seconds kReceiverStaleAfter{
    90};  // 3 of their heartbeats           // nodes named in a condition message
constexpr size_t kMaxErrorInMessage = 256;  // per node, so one long error cannot hide the rest

std::string shorten(std::string_view text) {
  if (text.size() <= kMaxErrorInMessage) return std::string(text);
  return std::string(text.substr(0, kMaxErrorInMessage - 3)) + "...";
}

// "a, b, c and 2 more"
std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kNamedNodes; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > kNamedNodes)
    out += " and " + std::to_string(names.size() - kNamedNodes) + " more";
  return out;
}

}  // namespace

size_t NodeStatusIndex::KeyHash::operator()(const Key& k) const noexcept {
  const size_t h = std::hash<std::string_view>{}(k.ns);
  return h ^ (std::hash<std::string_view>{}(k.name) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

NodeStatusIndex::NodeStatusIndex(std::vector<std::shared_ptr<const api::NodeAgent>> agents,
                                 api::Time now, std::chrono::seconds stale_after,
                                 std::vector<std::shared_ptr<const api::NodeAgent>> receivers)
    : agents_(std::move(agents)),
      now_(now),
      stale_after_(stale_after),
      receivers_(std::move(receivers)) {
  build();
}

NodeStatusIndex::NodeStatusIndex(const std::vector<api::NodeAgent>& agents, api::Time now,
                                 std::chrono::seconds stale_after,
                                 const std::vector<api::NodeAgent>& receivers)
    : now_(now), stale_after_(stale_after) {
  agents_.reserve(agents.size());
  for (const auto& a : agents) agents_.push_back(std::make_shared<const api::NodeAgent>(a));
  for (const auto& r : receivers) receivers_.push_back(std::make_shared<const api::NodeAgent>(r));
  build();
}

void NodeStatusIndex::build() {
  std::erase(agents_, nullptr);
  std::sort(agents_.begin(), agents_.end(),
            [](const auto& a, const auto& b) { return a->metadata.name < b->metadata.name; });
  stale_.assign(agents_.size(), false);
  for (uint32_t i = 0; i < agents_.size(); ++i) {
    const api::NodeAgentStatus& st = agents_[i]->status;
    const bool stale = !st.last_heartbeat_time || now_ - *st.last_heartbeat_time > stale_after_;
    stale_[i] = stale;
    if (stale) {
      stale_agents_.push_back(i);
    } else if (!st.bundle.error.empty()) {
      bundle_failed_.push_back(i);
    }
    for (const auto& r : st.rules) rules_[Key{r.namespace_, r.name}].push_back(RuleEntry{i, &r});
    add_sinks(*agents_[i], stale);
  }
  std::erase(receivers_, nullptr);
  std::sort(receivers_.begin(), receivers_.end(),
            [](const auto& a, const auto& b) { return a->metadata.name < b->metadata.name; });
  for (const auto& r : receivers_) {
    const api::NodeAgentStatus& st = r->status;
    // Receivers heartbeat every 30 s (ReceiverReporter), whatever the nodes' threshold is.
    const bool stale =
        !st.last_heartbeat_time ||
        now_ - *st.last_heartbeat_time > std::max(stale_after_, kReceiverStaleAfter) ||
        st.probe.state != api::ProbeState::kRunning;
    if (!stale) ++fresh_receivers_;
    for (const auto& e : st.rules) receiver_rules_[Key{e.namespace_, e.name}].push_back(&e);
    add_sinks(*r, stale);
  }
  stale_count_ = stale_agents_.size();
}

void NodeStatusIndex::add_sinks(const api::NodeAgent& reporter, bool stale) {
  for (const auto& s : reporter.status.sinks) {
    SinkNodeStatus& sum = sinks_[Key{s.namespace_, s.name}];
    sum.delivered += s.delivered;
    sum.failed += s.failed;
    sum.dropped += s.dropped;
    if (s.last_delivery_time &&
        (!sum.last_delivery_time || *s.last_delivery_time > *sum.last_delivery_time))
      sum.last_delivery_time = s.last_delivery_time;
    if (stale) continue;
    ++sum.reporting;
    if (!s.state.empty() && s.state != "Ready") {
      if (sum.failing == 0) sum.last_error = s.last_error;
      if (sum.failing < static_cast<int32_t>(kNamedNodes)) {
        if (!sum.failing_message.empty()) sum.failing_message += "; ";
        sum.failing_message += reporter.metadata.name + " (" + s.state + ")" +
                               (s.last_error.empty() ? "" : ": " + shorten(s.last_error));
      }
      ++sum.failing;
    } else if (sum.failing == 0 && sum.last_error.empty()) {
      sum.last_error = s.last_error;
    }
  }
}

void BundleHistory::record(const std::vector<Published>& rules, int64_t bundle_generation) {
  std::unordered_map<std::string, Entry> next;
  next.reserve(rules.size());
  for (const auto& r : rules) {
    std::string key = r.ns + "/" + r.name;
    auto it = since_.find(key);
    Entry e{r.generation, bundle_generation};
    if (it != since_.end() && it->second.rule_generation == r.generation) e = it->second;
    next.emplace(std::move(key), e);
  }
  since_ = std::move(next);
}

int64_t BundleHistory::since(std::string_view ns, std::string_view name, int64_t generation) const {
  std::string key;
  key.reserve(ns.size() + name.size() + 1);
  key.append(ns).append("/").append(name);
  auto it = since_.find(key);
  return it != since_.end() && it->second.rule_generation == generation
             ? it->second.bundle_generation
             : 0;
}

RuleNodeStatus NodeStatusIndex::rule(std::string_view ns, std::string_view name, int64_t generation,
                                     api::RuleSource source, int64_t since_bundle) const {
  RuleNodeStatus out;
  static const std::vector<RuleEntry> kNone;
  auto it = rules_.find(Key{ns, name});
  const std::vector<RuleEntry>& entries = it == rules_.end() ? kNone : it->second;

  // Per node: bit 0 = has an entry, bit 1 = programmed at the current generation, bit 2 = failed
  // at the current generation. Only this rule's entries and the bundle failures are visited.
  constexpr uint8_t kSeen = 1, kProgrammed = 2, kFailed = 4;
  std::vector<uint8_t> state(agents_.size(), 0);
  struct Failure {
    uint32_t agent;
    std::string_view error;
    bool bundle;
  };
  std::vector<Failure> failures;
  int32_t programmed = 0;
  for (const RuleEntry& e : entries) {
    uint8_t& s = state[e.agent];
    if (s & kSeen) continue;  // a list-map has one entry per rule; ignore a buggy duplicate
    s |= kSeen;
    // Alerts are history: every node, stale or not, whatever generation it ran.
    out.alerts.total += e.status->alerts;
    if (e.status->last_triggered &&
        (!out.alerts.last_triggered || *e.status->last_triggered > *out.alerts.last_triggered))
      out.alerts.last_triggered = e.status->last_triggered;
    if (stale_[e.agent] || e.status->generation != generation) continue;
    // An entry that reports an error failed, even if it also claims to be programmed.
    if (!e.status->error.empty()) {
      s |= kFailed;
      failures.push_back(Failure{e.agent, e.status->error, false});
    } else if (e.status->programmed &&
               agents_[e.agent]->status.probe.state == api::ProbeState::kRunning) {
      s |= kProgrammed;
      ++programmed;
    }
  }

  // Nodes that list nothing for the rule: programmed when they run a bundle that has it.
  if (since_bundle > 0) {
    for (uint32_t a = 0; a < agents_.size(); ++a) {
      if (state[a] || stale_[a]) continue;
      const api::NodeAgentStatus& st = agents_[a]->status;
      if (st.probe.state == api::ProbeState::kRunning && st.bundle.generation >= since_bundle) {
        state[a] |= kSeen | kProgrammed;
        ++programmed;
      }
    }
  }

  if (source == api::RuleSource::kK8sAudit) {
    // Evaluated by the operator replicas' audit receivers, not by the node agents.
    if (auto r = receiver_rules_.find(Key{ns, name}); r != receiver_rules_.end()) {
      for (const api::NodeRuleStatus* e : r->second) {
        out.alerts.total += e->alerts;
        if (e->last_triggered &&
            (!out.alerts.last_triggered || *e->last_triggered > *out.alerts.last_triggered))
          out.alerts.last_triggered = e->last_triggered;
      }
    }
    out.reason = "AuditReceiver";
    if (fresh_receivers_ > 0) {
      out.programmed = api::ConditionStatus::kTrue;
      out.message = "evaluated by the audit receiver of " + std::to_string(fresh_receivers_) +
                    (fresh_receivers_ == 1 ? " operator replica" : " operator replicas");
    } else {
      out.reason = "NoAuditReceiver";
      out.message = receivers_.empty()
                        ? "no operator replica runs an audit receiver (--audit-addr off?)"
                        : "no operator replica's audit receiver has reported recently";
    }
    return out;
  }
  if (agents_.empty()) {
    out.reason = "NoNodes";
    out.message = "no NodeAgent exists: no node agent has reported yet";
    return out;
  }

  for (uint32_t a : bundle_failed_) {
    if (state[a] & (kProgrammed | kFailed)) continue;
    failures.push_back(Failure{a, agents_[a]->status.bundle.error, true});
  }
  std::sort(failures.begin(), failures.end(),
            [](const Failure& a, const Failure& b) { return a.agent < b.agent; });

  const auto targeted = static_cast<int32_t>(agents_.size());
  out.nodes = api::NodeCounts{targeted, programmed, static_cast<int32_t>(failures.size())};
  const std::string of_nodes = " of " + std::to_string(targeted) + " nodes";

  std::vector<std::string> stale_names;
  for (uint32_t a : stale_agents_) stale_names.push_back(agents_[a]->metadata.name);
  const std::string stale_note = stale_names.empty() ? ""
                                                     : std::to_string(stale_names.size()) +
                                                           " stale: " + name_list(stale_names);

  if (programmed == targeted) {
    out.programmed = api::ConditionStatus::kTrue;
    out.reason = "Programmed";
    out.message = "programmed on " + std::to_string(programmed) + of_nodes;
  } else if (!failures.empty()) {
    out.programmed = api::ConditionStatus::kFalse;
    out.reason = "FailedOnNodes";
    out.message = "failed on " + std::to_string(failures.size()) + of_nodes + ": ";
    for (size_t i = 0; i < failures.size() && i < kNamedNodes; ++i) {
      if (i > 0) out.message += "; ";
      out.message += agents_[failures[i].agent]->metadata.name + ": " +
                     (failures[i].bundle ? "bundle not applied: " : "") +
                     shorten(failures[i].error);
    }
    if (failures.size() > kNamedNodes)
      out.message += " ... and " + std::to_string(failures.size() - kNamedNodes) + " more";
    if (!stale_note.empty()) out.message += " (" + stale_note + ")";
  } else {
    out.programmed = api::ConditionStatus::kUnknown;
    out.reason = "Pending";
    out.message = "programmed on " + std::to_string(programmed) + of_nodes + "; waiting for " +
                  std::to_string(targeted - programmed);
    if (!stale_note.empty()) out.message += " (" + stale_note + ")";
  }
  return out;
}

SinkNodeStatus NodeStatusIndex::sink(std::string_view ns, std::string_view name) const {
  auto it = sinks_.find(Key{ns, name});
  return it == sinks_.end() ? SinkNodeStatus{} : it->second;
}

}  // namespace vigil::op
