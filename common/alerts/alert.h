#pragma once

// The alert model and Falco's JSON alert format (same keys: time, rule, priority, source,
// hostname, output, output_fields, tags), so tools that read Falco's alerts read Vigil's.

#include <cstdint>
#include <string>
#include <vector>

#include "common/fields/source.h"
#include "common/rules/output.h"
#include "common/rules/rule_defs.h"

namespace vigil::rules {
struct CompiledRule;
class EvalContext;
}  // namespace vigil::rules

namespace vigil::alerts {

struct Alert {
  int64_t time_ns = 0;  // event time, ns since the epoch
  std::string rule;
  rules::Priority priority = rules::Priority::kWarning;
  std::string source;
  std::string hostname;
  std::string message;  // the rendered output template
  std::vector<rules::OutputField> output_fields;
  std::vector<std::string> tags;
  std::string rule_namespace;  // namespace of the SecurityRule ("" for rule files)
  // What the event is about, when its source knows: the pod's namespace and name for syscall
  // events (k8s.ns.name, k8s.pod.name), the audited object's namespace and, when it is a pod,
  // its name for k8s_audit events (ka.target.namespace, ka.target.name). "" when unknown.
  // Used for routing (sink filters, tenant sinks) and Alertmanager labels; not part of Falco's
  // JSON.
  std::string event_namespace;
  std::string event_pod;
  rules::RuleMode mode = rules::RuleMode::kAlert;

  // Falco's `output`: "03:31:56.746609046: Warning <message>".
  std::string output() const;
};

// Renders the rule's output for a matching event.
Alert make_alert(const rules::CompiledRule& rule, const fields::EventSource& source,
                 const void* event, rules::EvalContext& ctx, std::string_view hostname);

// The event's time in ns (evt.rawtime / jevt.rawtime); 0 when unknown.
int64_t event_time_ns(const fields::EventSource& source, const void* event,
                      rules::EvalContext& ctx);

std::string format_rfc3339_ns(int64_t time_ns);  // "2026-11-27T03:31:56.746609046Z"

// One JSON object on one line, Falco's format.
std::string to_falco_json(const Alert& alert);

}  // namespace vigil::alerts
