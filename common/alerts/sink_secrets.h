#pragma once

// The Secrets an AlertSink references and their values as Credentials ("<secret name>/<key>" ->
// value, sink.h): the one place that knows which spec fields name Secrets, so the operator (which
// puts the values in the bundle Secret) and vigilctl (sink test) resolve a sink the same way.
// Values are never part of a message.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/alerts/sink.h"
#include "common/api/v1alpha1/types.h"
#include "common/base/result.h"

namespace vigil::alerts {

// One reference from a spec to a Secret in the sink's namespace.
struct SecretUse {
  std::string name;
  std::string key;   // empty: the whole Secret (headersSecretRef, tls.clientCertSecretRef)
  std::string path;  // the field that references it, for messages: "spec.slack.webhookSecretRef"
};

// Every Secret reference of `spec`, in spec order (a Secret may appear more than once).
std::vector<SecretUse> secret_uses(const api::v1alpha1::AlertSinkSpec& spec);

// Returns a Secret of the sink's namespace by name, as the API server returns it (JSON); an
// error whose code is 404 (k8s::kStatusNotFound) when there is no such Secret.
using SecretGetter = std::function<Result<std::string>(const std::string& name)>;

struct ResolvedCredentials {
  Credentials credentials;
  // One per unresolved reference: "spec.slack.webhookSecretRef: Secret vigil-system/slack not
  // found", "... Secret vigil-system/slack has no key 'url'". Empty: all resolved.
  std::vector<std::string> problems;
};

// Reads the Secrets `spec` references through `get` and decodes their values: `data` (base64)
// and, for a manifest that was not applied yet, `stringData` (plain text, which wins over data as
// the API server merges them). A value that is not valid base64 is left out, so the sink reports
// the key as missing.
ResolvedCredentials resolve_sink_credentials(std::string_view ns,
                                             const api::v1alpha1::AlertSinkSpec& spec,
                                             const SecretGetter& get);

}  // namespace vigil::alerts
