#pragma once

// The pieces of the sink types that tests and tools reach directly; the rest of Vigil goes
// through make_sink_target() in sink.h. HTTP encoders live in sink_types.cc, the local outputs
// (stdout, file) in local_outputs.cc.

#include <unistd.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/alerts/alert.h"
#include "common/alerts/sink.h"
#include "common/api/v1alpha1/types.h"
#include "common/base/result.h"

namespace vigil::alerts {

// Batch sizes of the destinations that take lists.
inline constexpr size_t kWebhookMaxBatch = 100;
inline constexpr size_t kAlertmanagerMaxBatch = 100;

// A Slack message template (spec.slack.template), parsed once. Placeholders, written {name} or
// {{name}}:
//   {rule} {priority} {output} (Falco's output line) {message} (the output without time and
//   priority) {source} {hostname} {namespace} {pod} {time} (RFC 3339) {tags} (comma separated)
//   {field:NAME} (an output field as written in the rule's output, e.g. {field:k8s.pod.name};
//   <NA> when the alert has no such field).
// Any other '{' is literal text, except {identifier} with an unknown identifier, which is an
// error (a typo would otherwise reach Slack verbatim). Values are escaped for Slack's mrkdwn
// (&, <, >); the template's own text is not, so it may carry links such as <https://...|Runbook>.
class SlackTemplate {
 public:
  static Result<SlackTemplate> parse(std::string_view text);
  std::string render(const Alert& alert) const;

 private:
  struct Segment {
    std::string literal;      // printed before the placeholder
    std::string placeholder;  // "" at the end; "rule", ..., or "field:NAME"
  };
  std::vector<Segment> segments_;
};

// Slack's attachment colour for a priority, as Falcosidekick's Slack output picks it.
std::string_view slack_color(rules::Priority p);

// Alertmanager's alerts endpoint under a base URL: "http://am:9093" ->
// "http://am:9093/api/v2/alerts"; a URL already ending in /api/v2/alerts is kept; a path prefix (a
// route prefix behind a proxy) is kept in front of /api/v2/alerts.
std::string alertmanager_alerts_url(std::string_view base);

// Alertmanager's severity label (Falcosidekick's default mapping): critical, warning or
// information.
std::string_view alertmanager_severity(rules::Priority p);

// Local outputs (local_outputs.cc).

// stdout: Falco's JSON or output line per alert, one write(2) per batch to `fd` (standard output
// unless a test passes a pipe).
std::shared_ptr<LocalOutput> make_stdout_output(api::v1alpha1::AlertFormat format,
                                                int fd = STDOUT_FILENO);

// file: `spec.path` must name a file under `directory` (api::kFileSinkDirectory unless a test
// passes its own, ending in '/'), without '.' or '..' components. The file and any
// subdirectories are opened without following symbolic links; files are created 0600. The file
// is opened on the first write, so a missing directory is a write error the dispatcher retries,
// not a rejected sink.
Result<std::shared_ptr<LocalOutput>> make_file_output(
    const api::v1alpha1::FileSink& spec,
    std::string_view directory = api::v1alpha1::kFileSinkDirectory);

}  // namespace vigil::alerts
