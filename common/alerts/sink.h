#pragma once

// Alert sinks: where alerts go once a rule fired (DESIGN.md §2, AlertSink). This header is the
// contract between the pieces:
//   - sink types (sink_types.cc): an AlertSink's spec plus its Secret values become a SinkTarget,
//     which knows how to encode alerts for its destination (Slack, webhook, Falcosidekick,
//     Alertmanager) or write them locally (stdout, file);
//   - the filter (filter.cc): which alerts a sink receives;
//   - the dispatcher (dispatcher.h): per-sink queues, batching, retries, dedup, rate limits and
//     the spool, off the detection path.
// Secrets are referenced by the spec and resolved into Credentials by the operator (the bundle
// Secret); they are never logged and never part of an error message.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/alerts/alert.h"
#include "common/api/v1alpha1/types.h"
#include "common/base/result.h"

namespace vigil::alerts {

// The Secret values an AlertSink references, as the operator puts them in the bundle Secret:
// "<secret name>/<key>" -> value.
using Credentials = std::map<std::string, std::string>;

// One HTTP request to a sink's destination.
struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type included
  std::string body;
};

// TLS towards the destination, from the spec's Secrets (PEM).
struct HttpTls {
  std::string ca_pem;  // empty: the system trust store
  std::string client_cert_pem;
  std::string client_key_pem;  // secret
  bool insecure_skip_verify = false;
};

// Turns alerts into requests for one destination. Immutable once built; encode() is called from
// the sink's delivery thread only.
class Encoder {
 public:
  virtual ~Encoder() = default;
  // Alerts one request may carry: 1 where the destination takes one alert per request (Slack,
  // Falco-format webhook, Falcosidekick), more where it takes a list (webhook batch format,
  // Alertmanager).
  virtual size_t max_batch() const = 0;
  // `batch` is not empty and holds at most max_batch() alerts.
  virtual HttpRequest encode(std::span<const Alert> batch) const = 0;
};

// stdout and file sinks: written in place, no network.
class LocalOutput {
 public:
  virtual ~LocalOutput() = default;
  // Writes the alerts; an error (disk full, ...) is retried by the dispatcher like an HTTP
  // failure.
  virtual Result<bool> write(std::span<const Alert> batch) = 0;
};

// One AlertSink, ready for the dispatcher: exactly one of `encoder` and `local` is set.
struct SinkTarget {
  std::string ns;  // the AlertSink's namespace and name
  std::string name;
  int64_t generation = 0;  // its metadata.generation (a changed sink restarts its queue state)
  api::v1alpha1::SinkType type = api::v1alpha1::SinkType::kStdout;
  api::v1alpha1::SinkFilter filter;
  api::v1alpha1::Delivery delivery;
  std::shared_ptr<const Encoder> encoder;  // HTTP sinks
  HttpTls tls;
  std::chrono::seconds timeout{10};
  std::shared_ptr<LocalOutput> local;  // stdout, file
};

// Builds a sink from its spec and credentials. Errors name the spec field and never include a
// credential's value ("slack.webhookSecretRef: Secret slack-webhook has no key 'url'").
Result<SinkTarget> make_sink_target(std::string ns, std::string name, int64_t generation,
                                    const api::v1alpha1::AlertSinkSpec& spec,
                                    const Credentials& credentials);

// Whether `alert` goes to a sink with `filter` in namespace `sink_ns`. A sink in
// `cluster_namespace` receives alerts from the whole cluster; a sink in any other namespace only
// alerts about that namespace (the rule's namespace, or k8s.ns.name / ka.target.namespace of the
// event for cluster-wide rules). Alerts of DryRun rules go to no sink. Empty filter lists match
// everything.
bool sink_accepts(const api::v1alpha1::SinkFilter& filter, std::string_view sink_ns,
                  std::string_view cluster_namespace, const Alert& alert);

// The namespace an alert is about: its rule's namespace for tenant rules (rule_namespace other
// than `cluster_namespace`), else the event's (Alert::event_namespace); "" when unknown.
std::string_view alert_namespace(const Alert& alert, std::string_view cluster_namespace);

}  // namespace vigil::alerts
