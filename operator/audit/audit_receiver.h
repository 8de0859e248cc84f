#pragma once

// The operator's audit webhook receiver: kube-apiserver POSTs audit.k8s.io/v1 EventLists (its
// batching backend; up to hundreds of events and megabytes per request) or single Events to
// /k8s-audit (or /k8s_audit). handle() authenticates the caller, decodes the body and answers at
// once; one worker thread evaluates the k8s_audit rules off the request path and hands alerts
// to the dispatcher, so the API server never waits on rules or sinks.
//
// The API server retries a batch on any non-2xx answer and on timeouts, so:
//  - a body that can never succeed (malformed JSON, wrong kind) gets 400 with a short reason;
//    a batch with a few bad events is accepted, the bad events are counted and logged;
//  - when the queue is full the answer is 429 with Retry-After, and the batch is not queued:
//    the API server sends it again, nothing is lost;
//  - events already seen (auditID + stage, in a window of recent ones) are not evaluated twice.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http/server.h"

namespace vigil::rules {
class RuleSet;
}
namespace vigil::alerts {
struct Alert;
class Dispatcher;
}  // namespace vigil::alerts

namespace vigil::op {

struct AuditReceiverOptions {
  size_t max_body_bytes = 16u << 20;  // the server's body limit should match (413 past it)
  // Decoded batches waiting for the evaluator; past either bound, requests get 429.
  size_t max_queued_batches = 256;
  size_t max_queued_bytes = 256u << 20;
  size_t dedup_window = 200000;  // (auditID, stage) pairs remembered
  std::string cluster_name;      // ka.cluster.name
  std::string hostname;          // the alerts' hostname field
  // Callers are authenticated by a client certificate the server verified, or by one of these
  // bearer tokens. With neither configured, and allow_unauthenticated false, every request is
  // refused (401).
  std::vector<std::string> tokens;
  bool allow_unauthenticated = false;  // tests and benchmarks on loopback only
};

struct AuditReceiverStats {
  uint64_t requests = 0;         // POSTs that reached the receiver
  uint64_t unauthorized = 0;     // 401
  uint64_t bad_requests = 0;     // 400 (malformed body, wrong kind) and 415
  uint64_t busy = 0;             // 429 (queue full)
  uint64_t events = 0;           // events accepted into the queue
  uint64_t rejected_events = 0;  // events of an accepted batch set aside (bad envelope)
  uint64_t duplicates = 0;       // events seen before (auditID + stage), not evaluated again
  uint64_t evaluated = 0;        // events run through the rules
  uint64_t alerts = 0;
  uint64_t queued_batches = 0;  // gauge
  uint64_t queued_bytes = 0;    // gauge
  // Time from the request's arrival to the end of its evaluation (alerts handed to the sinks'
  // queues), over every batch: sum and count, and the largest.
  double delay_seconds_sum = 0;
  uint64_t delay_count = 0;
  double delay_seconds_max = 0;
};

// Alerts of one rule since the receiver started (the reporter adds what was stored before).
struct AuditRuleCount {
  std::string ns;
  std::string name;
  uint64_t alerts = 0;
  int64_t last_time_ns = 0;  // the newest alerting event's time
};

// The accepted rules (a rendered bundle's rules text), compiled together with Vigil's library the
// way the agents compile the bundle; the receiver evaluates their k8s_audit source. Null when
// they do not compile together (logged; the caller keeps the previous set).
std::shared_ptr<const rules::RuleSet> compile_receiver_rules(const std::string& rules_text,
                                                             const std::string& cluster_ns);

class AuditReceiver {
 public:
  // `dispatcher` (may be null) receives every alert; so does `on_alert` (tests, benchmarks),
  // on the evaluator thread.
  AuditReceiver(AuditReceiverOptions options, alerts::Dispatcher* dispatcher,
                std::function<void(const alerts::Alert&)> on_alert = nullptr);
  ~AuditReceiver();  // stop()
  AuditReceiver(const AuditReceiver&) = delete;
  AuditReceiver& operator=(const AuditReceiver&) = delete;

  // The rules to evaluate (their k8s_audit source); swapped between two batches. Null: none.
  void set_rules(std::shared_ptr<const rules::RuleSet> rules);
  bool has_rules() const;
  // Replaces the accepted bearer tokens (the TLS Secret was renewed or edited).
  void set_tokens(std::vector<std::string> tokens);

  // The route handler for POST /k8s-audit and /k8s_audit. Safe from any thread.
  http::Response handle(const http::Request& request);
  // The same authentication and content-type checks on a request's head, for the server's
  // before_body hook: a refused caller gets 401 (or 415) before its body is read. Empty: go on.
  std::optional<http::Response> check_head(const http::Request& request);

  // Waits until every queued batch is evaluated; false on timeout.
  bool flush(std::chrono::milliseconds timeout);
  // Stops the evaluator; batches still queued are evaluated first. Idempotent.
  void stop();

  AuditReceiverStats stats() const;
  std::vector<AuditRuleCount> rule_counts() const;  // rules that alerted, sorted by ns/name
  // Prometheus text for the receiver's counters (vigil_operator_audit_*).
  std::string metrics_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::op
