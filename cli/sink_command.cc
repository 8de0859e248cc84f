// vigilctl sink: sends one test alert through an AlertSink, as Falcosidekick's /test does, and
// lists the AlertSinks with their delivery counters.
//
// `sink test` reads the AlertSink and the Secrets it references from the cluster (or from
// manifest files, to try a sink before applying it), builds the sink exactly as the agents do
// (make_sink_target) and delivers one alert directly, without the dispatcher: no filter, no
// queue, no retry, so what is printed is what the destination answered.

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/manifests.h"
#include "cli/options.h"
#include "common/alerts/alert.h"
#include "common/alerts/http_transport.h"
#include "common/alerts/sink.h"
#include "common/alerts/sink_secrets.h"
#include "common/api/v1alpha1/types.h"
#include "common/base/bounded_json.h"
#include "common/k8s/client.h"
#include "common/k8s/client_config.h"
#include "common/k8s/curl_client.h"
#include "common/k8s/resource.h"

namespace vigil::cli {
namespace {

namespace v1 = api::v1alpha1;

constexpr const char* kSinkUsage = R"(Usage:
  vigilctl sink test NAME [-n NAMESPACE] [--kubeconfig FILE] [--context NAME]
                          [--priority P] [--timeout SECONDS] [--dry-run]
  vigilctl sink test [NAME] --file SINK.yaml [--secrets SECRETS.yaml]... [-n NAMESPACE]
                            [--priority P] [--timeout SECONDS] [--dry-run]
  vigilctl sink list [-n NAMESPACE | -A] [--kubeconfig FILE] [--context NAME]

sink test sends ONE test alert (rule "Vigil test alert", priority Debug, tags [test]) through
the AlertSink NAME, as the agents would, but directly: the sink's filter, queue and retries are
bypassed. It reads the AlertSink and the Secrets it references from the cluster, or with --file
from manifests (YAML or JSON; --file may hold the Secrets too), to try a sink before applying it.
  -n, --namespace NS  the AlertSink's namespace (default: the kubeconfig context's namespace if
                      it sets one other than "default", else vigil-system; with --file, the
                      manifest's)
  --kubeconfig FILE   default: $KUBECONFIG, the in-cluster service account, ~/.kube/config
  --context NAME      a kubeconfig context other than the current one
  --priority P        the test alert's priority (default Debug)
  --timeout SECONDS   the request timeout (default: the sink's timeoutSeconds)
  --dry-run           print the request (method, URL without its path, header names, body)
                      instead of sending it
Prints "sent a test alert to AlertSink NS/NAME (TYPE): HTTP 200 in 143 ms" or the error.

sink list prints the AlertSinks with their type, Accepted and Ready conditions and the
delivered, failed and dropped counts the agents reported (-A: all namespaces).

Exit status: 0 sent, 1 not sent (sink not found or invalid, Secret missing, delivery failed),
2 usage errors.
)";

constexpr const char* kClusterNamespace = "vigil-system";

k8s::ResourceRef alert_sinks_ref() { return {"vigil.dev", "v1alpha1", "alertsinks", true}; }

struct SinkOptions {
  std::string name;
  std::string ns;
  bool all_namespaces = false;
  std::optional<std::string> kubeconfig;
  std::string context;
  std::vector<std::string> files;         // --file
  std::vector<std::string> secret_files;  // --secrets
  rules::Priority priority = rules::Priority::kDebug;
  std::optional<int> timeout_seconds;
  bool dry_run = false;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "vigilctl sink: %s\n\n%s", message.c_str(), kSinkUsage);
  return 2;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "vigilctl sink: %s\n", message.c_str());
  return 1;
}

// Parses the arguments after "test" or "list". Returns 0 when done, else the exit status.
int parse_options(const std::string& sub, const std::vector<std::string>& args, SinkOptions& o) {
  std::vector<std::string> positional;
  for (OptionCursor cursor(args); cursor.next();) {
    const std::string a = cursor.name();
    auto value = [&](std::string& out) { return cursor.value(out); };
    std::string v;
    if (a == "-n" || a == "--namespace") {
      if (!value(o.ns) || o.ns.empty()) return usage_error(a + " needs a namespace");
    } else if (a == "-A" || a == "--all-namespaces") {
      if (sub != "list") return usage_error(a + " is only for sink list");
      o.all_namespaces = true;
    } else if (a == "--kubeconfig") {
      if (!value(v) || v.empty()) return usage_error("--kubeconfig needs a file");
      o.kubeconfig = v;
    } else if (a == "--context") {
      if (!value(o.context) || o.context.empty()) return usage_error("--context needs a name");
    } else if (sub == "test" && (a == "--file" || a == "-f")) {
      if (!value(v) || v.empty()) return usage_error(a + " needs a file");
      o.files.push_back(v);
    } else if (sub == "test" && a == "--secrets") {
      if (!value(v) || v.empty()) return usage_error("--secrets needs a file");
      o.secret_files.push_back(v);
    } else if (sub == "test" && a == "--priority") {
      if (!value(v)) return usage_error("--priority needs a value");
      auto p = rules::parse_priority(v);
      if (!p)
        return usage_error("--priority: '" + v +
                           "' is not a priority (Emergency, Alert, Critical, Error, Warning, "
                           "Notice, Informational, Debug)");
      o.priority = *p;
    } else if (sub == "test" && a == "--timeout") {
      if (!value(v)) return usage_error("--timeout needs a number of seconds");
      char* end = nullptr;
      const long t = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || t < 1 || t > 600)
        return usage_error("--timeout: '" + v + "' is not a number of seconds from 1 to 600");
      o.timeout_seconds = static_cast<int>(t);
    } else if (sub == "test" && a == "--dry-run") {
      o.dry_run = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("unknown option '" + cursor.arg() + "' for sink " + sub);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() > 1) return usage_error("sink " + sub + " takes one NAME");
  if (!positional.empty()) o.name = positional[0];
  if (sub == "list") {
    if (!o.name.empty()) return usage_error("sink list takes no NAME");
    if (o.all_namespaces && !o.ns.empty()) return usage_error("-A and -n exclude each other");
    return 0;
  }
  if (!o.secret_files.empty() && o.files.empty())
    return usage_error("--secrets needs --file (Secrets are read from the cluster otherwise)");
  if (!o.files.empty() && (o.kubeconfig || !o.context.empty()))
    return usage_error("--file reads no cluster: --kubeconfig and --context do not apply");
  if (o.files.empty() && o.name.empty()) return usage_error("sink test needs the AlertSink's NAME");
  return 0;
}

// --------------------------------------------------------------------------------------------
// Where the AlertSink and its Secrets come from.

struct LoadedSink {
  std::string json;  // the AlertSink object
  std::string ns;
  alerts::SecretGetter get_secret;
};

// The cluster: the client must outlive the getter.
struct ClusterSource {
  std::unique_ptr<k8s::CurlClient> client;
  std::string default_namespace;
};

Result<ClusterSource> connect(const SinkOptions& o) {
  k8s::KubeconfigOptions kopts;
  kopts.context = o.context;
  auto cfg = k8s::load_client_config(o.kubeconfig, kopts);
  if (!cfg.ok()) return make_error("cannot load the cluster configuration: " + cfg.error());
  k8s::CurlClientOptions copts;
  copts.user_agent = "vigilctl/0.1";
  copts.request_timeout = std::chrono::seconds(30);
  auto client = k8s::CurlClient::from_config(*cfg, copts);
  if (!client.ok()) return make_error("cannot use " + cfg->source + ": " + client.error());
  // AlertSinks live in vigil-system unless the context names a namespace of its own (the
  // configuration cannot tell an explicit "default" from none).
  std::string ns = cfg->default_namespace;
  if (ns.empty() || ns == "default") ns = kClusterNamespace;
  return ClusterSource{std::move(client).value(), std::move(ns)};
}

Result<LoadedSink> load_from_cluster(const SinkOptions& o, ClusterSource& cluster) {
  LoadedSink s;
  s.ns = o.ns.empty() ? cluster.default_namespace : o.ns;
  auto got = cluster.client->get(alert_sinks_ref(), s.ns, o.name);
  if (!got.ok()) {
    if (got.error_code() == k8s::kStatusNotFound)
      return Error{"AlertSink " + s.ns + "/" + o.name + " not found", 1};
    return make_error("cannot read AlertSink " + s.ns + "/" + o.name + ": " + got.error());
  }
  s.json = std::move(got).value();
  k8s::Client* client = cluster.client.get();
  const std::string ns = s.ns;
  s.get_secret = [client, ns](const std::string& name) {
    return client->get(k8s::secrets(), ns, name);
  };
  return s;
}

Result<LoadedSink> load_from_files(const SinkOptions& o) {
  std::vector<Manifest> sinks, secrets;
  auto read = [&](const std::string& path, bool secrets_only) -> std::optional<std::string> {
    auto ms = read_manifests(path);
    if (!ms.ok()) return ms.error();
    for (auto& m : *ms) {
      if (m.kind == "Secret") {
        secrets.push_back(std::move(m));
      } else if (m.kind == "AlertSink" && !secrets_only) {
        sinks.push_back(std::move(m));
      }
    }
    return std::nullopt;
  };
  for (const auto& f : o.files)
    if (auto err = read(f, false)) return make_error(*err);
  for (const auto& f : o.secret_files)
    if (auto err = read(f, true)) return make_error(*err);

  std::vector<const Manifest*> candidates;
  for (const auto& m : sinks)
    if ((o.name.empty() || m.name == o.name) && (o.ns.empty() || m.ns.empty() || m.ns == o.ns))
      candidates.push_back(&m);
  if (candidates.empty()) {
    std::string files;
    for (const auto& f : o.files) files += (files.empty() ? "" : ", ") + f;
    return make_error(o.name.empty() ? "no AlertSink in " + files
                                     : "no AlertSink named " + o.name + " in " + files);
  }
  if (candidates.size() > 1) {
    std::string names;
    for (const auto* m : candidates) names += (names.empty() ? "" : ", ") + m->name;
    return make_error("several AlertSinks (" + names + "): name the one to test");
  }
  LoadedSink s;
  s.json = candidates[0]->json;
  s.ns = !o.ns.empty() ? o.ns : !candidates[0]->ns.empty() ? candidates[0]->ns : kClusterNamespace;
  // A Secret manifest without a namespace is taken to be applied to the sink's.
  s.get_secret = [secrets = std::move(secrets),
                  ns = s.ns](const std::string& name) -> Result<std::string> {
    for (const auto& m : secrets)
      if (m.name == name && (m.ns.empty() || m.ns == ns)) return m.json;
    return Error{"not in the --file or --secrets manifests", k8s::kStatusNotFound};
  };
  return s;
}

// --------------------------------------------------------------------------------------------
// The test alert, shaped like Falcosidekick's /test event.

std::string this_host() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) == 0 && buf[0]) return buf;
  return "vigilctl";
}

std::string user_name() {
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
  return std::to_string(geteuid());
}

alerts::Alert test_alert(rules::Priority priority, const std::string& sink_ns) {
  alerts::Alert a;
  a.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  a.rule = "Vigil test alert";
  a.priority = priority;
  a.source = "internal";
  a.hostname = this_host();
  a.message = "This is a test from vigilctl";
  a.output_fields = {
      {"proc.name", std::string("vigilctl")}, {"user.name", user_name()}, {"vigil.test", true}};
  a.tags = {"test"};
  // A tenant sink's receivers may route on the namespace: the test is about the sink's own.
  a.event_namespace = sink_ns;
  return a;
}

// --------------------------------------------------------------------------------------------

void print_dry_run(const std::string& what, const alerts::HttpRequest& r,
                   std::chrono::milliseconds timeout) {
  std::printf("would send a test alert to %s:\n", what.c_str());
  std::printf("%s %s\n", r.method.c_str(), alerts::redact_url(r.url).c_str());
  std::string names;
  // Header values may be credentials (headersSecretRef): names only.
  for (const auto& [name, value] : r.headers) names += (names.empty() ? "" : ", ") + name;
  std::printf("headers: %s\n", names.empty() ? "(none)" : names.c_str());
  std::printf("timeout: %lld ms\n\n%s\n", static_cast<long long>(timeout.count()), r.body.c_str());
}

int run_sink_test(const SinkOptions& o) {
  std::optional<ClusterSource> cluster;
  Result<LoadedSink> loaded = make_error("");
  if (o.files.empty()) {
    auto c = connect(o);
    if (!c.ok()) return fail(c.error());
    cluster = std::move(c).value();
    loaded = load_from_cluster(o, *cluster);
  } else {
    loaded = load_from_files(o);
  }
  if (!loaded.ok()) return fail(loaded.error());

  auto sink = v1::parse_alert_sink(loaded->json);
  if (!sink.ok()) return fail("the AlertSink does not parse: " + sink.error());
  const std::string& name = sink->metadata.name;
  const std::string& ns = loaded->ns;
  const std::string what =
      "AlertSink " + ns + "/" + name + " (" + v1::to_string(sink->spec.type) + ")";
  if (auto errors = v1::validate(sink.value()); !errors.empty())
    return fail(what + " is not valid: " + v1::join_errors(errors));

  auto creds = alerts::resolve_sink_credentials(ns, sink->spec, loaded->get_secret);
  if (!creds.problems.empty()) {
    std::string msg = "cannot build " + what + ":";
    for (const auto& p : creds.problems) msg += "\n  " + p;
    if (!o.files.empty()) msg += "\n(give the Secrets' manifests with --secrets FILE or in --file)";
    return fail(msg);
  }
  auto target =
      alerts::make_sink_target(ns, name, sink->metadata.generation, sink->spec, creds.credentials);
  if (!target.ok()) return fail("cannot build " + what + ": " + target.error());

  const alerts::Alert alert = test_alert(o.priority, ns);
  const auto started = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - started)
                                      .count());
  };

  if (target->local) {
    // stdout and file sinks write on the node an agent runs on; here they write on this machine.
    const bool text =
        (sink->spec.stdout_ && sink->spec.stdout_->format == v1::AlertFormat::kText) ||
        (sink->spec.file && sink->spec.file->format == v1::AlertFormat::kText);
    const std::string where = sink->spec.file
                                  ? std::string(v1::kFileSinkDirectory) + sink->spec.file->path
                                  : std::string("standard output");
    if (o.dry_run) {
      std::printf("would write a test alert for %s to %s on this machine:\n%s\n", what.c_str(),
                  where.c_str(),
                  text ? alert.output().c_str() : alerts::to_falco_json(alert).c_str());
      return 0;
    }
    std::fflush(stdout);
    auto written = target->local->write(std::span<const alerts::Alert>(&alert, 1));
    if (!written.ok())
      return fail("failed to write a test alert for " + what + " to " + where + ": " +
                  written.error());
    std::printf("wrote a test alert for %s to %s on this machine in %lld ms\n", what.c_str(),
                where.c_str(), elapsed_ms());
    return 0;
  }

  const alerts::HttpRequest request =
      target->encoder->encode(std::span<const alerts::Alert>(&alert, 1));
  const std::chrono::milliseconds timeout =
      o.timeout_seconds ? std::chrono::seconds(*o.timeout_seconds)
                        : std::chrono::duration_cast<std::chrono::milliseconds>(target->timeout);
  if (o.dry_run) {
    print_dry_run(what, request, timeout);
    return 0;
  }
  alerts::HttpTransport transport;
  const alerts::HttpResult result = transport.send(request, target->tls, timeout);
  if (!result.ok()) {
    // HttpResult::error never holds the URL's path, a header value or the body sent.
    return fail("failed to send a test alert to " + what + ": " + result.error + " (after " +
                std::to_string(elapsed_ms()) + " ms)");
  }
  std::printf("sent a test alert to %s: HTTP %d in %lld ms\n", what.c_str(), result.status,
              elapsed_ms());
  return 0;
}

// --------------------------------------------------------------------------------------------

std::string condition_status(const std::vector<v1::Condition>& conditions, std::string_view type) {
  const v1::Condition* c = v1::find_condition(conditions, type);
  return c ? v1::to_string(c->status) : "-";
}

int run_sink_list(const SinkOptions& o) {
  auto cluster = connect(o);
  if (!cluster.ok()) return fail(cluster.error());
  const std::string ns = o.all_namespaces ? "" : (o.ns.empty() ? cluster->default_namespace : o.ns);
  std::vector<v1::AlertSink> sinks;
  k8s::ListOptions lopts;
  lopts.limit = 500;
  do {
    auto page = cluster->client->list(alert_sinks_ref(), ns, lopts);
    if (!page.ok()) return fail("cannot list AlertSinks: " + page.error());
    auto parsed = v1::parse_alert_sink_list(*page);
    if (!parsed.ok()) return fail("cannot read the AlertSink list: " + parsed.error());
    for (auto& s : *parsed) sinks.push_back(std::move(s));
    lopts.continue_token.clear();
    const nlohmann::json doc = parse_bounded_json(*page);
    if (!doc.is_discarded() && doc.contains("metadata") && doc["metadata"].is_object() &&
        doc["metadata"].contains("continue") && doc["metadata"]["continue"].is_string())
      lopts.continue_token = doc["metadata"]["continue"].get<std::string>();
  } while (!lopts.continue_token.empty());

  if (sinks.empty()) {
    std::fprintf(stderr, "No AlertSinks in %s.\n",
                 ns.empty() ? "any namespace" : ("namespace " + ns).c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {"NAMESPACE", "NAME", "TYPE", "ACCEPTED", "READY", "DELIVERED", "FAILED", "DROPPED"});
  for (const auto& s : sinks) {
    rows.push_back({s.metadata.namespace_, s.metadata.name, v1::to_string(s.spec.type),
                    condition_status(s.status.conditions, v1::kConditionAccepted),
                    condition_status(s.status.conditions, v1::kConditionReady),
                    std::to_string(s.status.delivered), std::to_string(s.status.failed),
                    std::to_string(s.status.dropped)});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - r[i].size() + 3, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace

int run_sink(const std::vector<std::string>& args) {
  if (args.empty()) return usage_error("missing subcommand (test or list)");
  const std::string& sub = args[0];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::fputs(kSinkUsage, stdout);
    return 0;
  }
  if (sub != "test" && sub != "list") return usage_error("unknown subcommand '" + sub + "'");
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& a : rest) {
    if (a == "--help" || a == "-h") {
      std::fputs(kSinkUsage, stdout);
      return 0;
    }
  }
  SinkOptions o;
  if (int rc = parse_options(sub, rest, o); rc != 0) return rc;
  return sub == "test" ? run_sink_test(o) : run_sink_list(o);
}

}  // namespace vigil::cli
