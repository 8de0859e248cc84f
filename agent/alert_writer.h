#pragma once

// Standalone alert outputs: standard output (text or Falco JSON) and a JSON-lines file. Alerts
// go through a bounded queue drained by one writer thread, so a slow terminal or disk never
// stalls capture; an alert that does not fit is counted as dropped, never lost silently.
// (The full sink framework — Slack, webhooks, retries, spool — is common/alerts' job.)

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "agent/agent_config.h"
#include "common/alerts/alert.h"
#include "common/base/result.h"

namespace vigil::agent {

struct AlertWriterOptions {
  bool to_stdout = true;
  OutputFormat stdout_format = OutputFormat::kText;
  std::string file;  // JSON lines appended; empty: none
  size_t queue_limit = 10000;
  // Also hands every alert to this (cluster mode: the AlertSink dispatcher), on the caller's
  // thread; it must not block.
  std::function<void(const alerts::Alert&)> forward;
};

struct AlertWriterStats {
  uint64_t queued = 0;        // accepted into the queue
  uint64_t written = 0;       // written to every output
  uint64_t dropped = 0;       // queue full
  uint64_t write_errors = 0;  // a write or flush failed (the alert is counted, not retried)
  std::map<std::string, uint64_t> by_rule;  // alerts raised per rule name (incl. dropped)
  // Per SecurityRule (namespace, name): alerts raised (incl. dropped) and the newest event time.
  struct RuleAlerts {
    uint64_t alerts = 0;
    int64_t last_time_ns = 0;
  };
  std::map<std::pair<std::string, std::string>, RuleAlerts> by_object;
};

class AlertWriter {
 public:
  // Opens the file (append, created 0600) and starts the writer thread.
  static Result<std::unique_ptr<AlertWriter>> start(const AlertWriterOptions& options);
  ~AlertWriter();
  AlertWriter(const AlertWriter&) = delete;
  AlertWriter& operator=(const AlertWriter&) = delete;

  // Never blocks on I/O. False when the queue is full (the alert is counted as dropped).
  bool push(alerts::Alert alert);
  // Writes what is queued and stops the thread. Idempotent.
  void stop();
  AlertWriterStats stats() const;

 private:
  struct Impl;
  explicit AlertWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent
