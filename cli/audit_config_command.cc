// vigilctl audit-config: renders the API server's side of Vigil's audit routing (the audit policy
// and the webhook kubeconfig, common/audit/audit_config.h) and prints the kube-apiserver flags and
// the kubeadm snippet that use them. Prints to standard output, or writes the files into a
// directory (the kubeconfig 0600 when it holds a key or a token).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/audit/audit_config.h"
#include "common/k8s/client_config.h"
#include "common/k8s/curl_client.h"
#include "common/k8s/object.h"
#include "common/k8s/resource.h"

namespace vigil::cli {
namespace {

constexpr const char* kAuditConfigUsage = R"(Usage:
  vigilctl audit-config --from-cluster [--kubeconfig FILE] [--secret NAME] [--namespace NS]
                        [--url URL] [policy and output options below]
  vigilctl audit-config --ca-file FILE [--service NAME] [--namespace NS] [--port N] [--url URL]
                        [--client-cert FILE --client-key FILE | --token-file FILE]
                        [--ignore-namespace NS]... [--batch-max-wait DURATION]
                        [--node-dir DIR] [--policy-only | --kubeconfig-only] [--out-dir DIR]

Renders the API server's side of Vigil's audit routing, for an admin to place on every
control-plane node:
  audit-policy.yaml         what kube-apiserver records, at which level: RequestResponse for
                            writes of pods, services, configmaps, workloads and RBAC and for
                            exec/attach; Metadata (never the data) for secrets and tokens;
                            nothing for reads, events, leases, endpoints and health probes
  audit-webhook.kubeconfig  where it sends them: https://SERVICE.NS.svc:PORT/k8s-audit (the
                            operator also accepts /k8s_audit) with the CA bundle that signed the
                            operator's serving certificate, and the API server's credential
followed by the kube-apiserver flags and the kubeadm ClusterConfiguration snippet (extraArgs and
extraVolumes) that mount and use them.

  --from-cluster        take the CA and the API server's client certificate from the Secret the
                        operator generated (vigil-audit-tls in --namespace), with the
                        current kubeconfig (or --kubeconfig FILE); needs read access to it
  --secret NAME         that Secret's name (default vigil-audit-tls)
  --service NAME        the operator's Service (default vigil-operator)
  -n, --namespace NS    its namespace (default vigil-system)
  --port N              its port (default 443)
  --url URL             the receiver's whole URL instead (https, path included), e.g. when the
                        control-plane nodes cannot resolve cluster DNS: the Service's ClusterIP
                        (the serving certificate must then name that IP)
  --ca-file FILE        the CA bundle (PEM) the API server verifies the receiver with; required
                        unless --policy-only
  --client-cert FILE, --client-key FILE
                        a client certificate (PEM) the API server presents to the receiver
  --token-file FILE     or a bearer token it sends
  --ignore-namespace NS do not audit this namespace at all (repeatable)
  --response-complete-only
                        omit the ResponseStarted stage too (one event per request)
  --batch-max-wait D    --audit-webhook-batch-max-wait (default 5s; the API server's is 30s)
  --node-dir DIR        where the files go on the control-plane nodes, for the flags and the
                        mounts (default /etc/kubernetes/vigil)
  --policy-only         only the policy (printed alone, so it can be redirected to a file)
  --kubeconfig-only     only the webhook kubeconfig (printed alone)
  --out-dir DIR         write audit-policy.yaml and audit-webhook.kubeconfig into DIR (created
                        if missing) and print only the flags and the kubeadm snippet

kubeadm clusters: copy the files to --node-dir on every control-plane node and add the snippet
to the ClusterConfiguration (kubeadm upgrade apply, or on a running node edit
/etc/kubernetes/manifests/kube-apiserver.yaml: the same flags, a hostPath volume and a
volumeMount); the kubelet restarts the API server.

Managed clusters (EKS, GKE, AKS) do not let you set a webhook audit backend on their API servers:
use their audit log export instead (EKS control-plane logging to CloudWatch, GKE Cloud Audit
Logs, AKS diagnostic settings "kube-audit") and forward those events to the operator's
/k8s-audit endpoint. Their audit policy is the provider's; --policy-only does not apply there.

Exit status: 0 rendered, 1 invalid input (unreadable file, CA or key not PEM, URL not https),
2 usage errors.
)";

constexpr const char* kPolicyFile = "audit-policy.yaml";
constexpr const char* kKubeconfigFile = "audit-webhook.kubeconfig";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "vigilctl audit-config: %s\n\n%s", message.c_str(), kAuditConfigUsage);
  return 2;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "vigilctl audit-config: %s\n", message.c_str());
  return 1;
}

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = "cannot read " + path;
    return std::nullopt;
  }
  return ss.str();
}

// Writes `content` to DIR/NAME with `mode` (also when the file exists), through a temporary file.
bool write_file(const std::filesystem::path& dir, const char* name, const std::string& content,
                mode_t mode, std::string& error) {
  const std::filesystem::path final_path = dir / name;
  const std::filesystem::path tmp = dir / ("." + std::string(name) + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    error = "cannot write " + tmp.string() + ": " + std::strerror(errno);
    return false;
  }
  bool ok = ::fchmod(fd, mode) == 0;
  size_t off = 0;
  while (ok && off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) ok = false;
  if (ok && std::rename(tmp.c_str(), final_path.c_str()) != 0) ok = false;
  if (!ok) {
    error = "cannot write " + final_path.string() + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
  }
  return ok;
}

bool valid_duration(const std::string& d) {
  // Go durations as kube-apiserver parses them, restricted to the usual: 500ms, 5s, 1m30s.
  if (d.empty()) return false;
  size_t i = 0;
  while (i < d.size()) {
    const size_t start = i;
    while (i < d.size() && d[i] >= '0' && d[i] <= '9') ++i;
    if (i == start) return false;
    const size_t u = i;
    while (i < d.size() && ((d[i] >= 'a' && d[i] <= 'z'))) ++i;
    const std::string unit = d.substr(u, i - u);
    if (unit != "ms" && unit != "s" && unit != "m" && unit != "h") return false;
  }
  return true;
}

std::string flags_and_snippet(const std::string& node_dir, const std::string& max_wait, bool policy,
                              bool kubeconfig) {
  const std::string policy_path = node_dir + "/" + kPolicyFile;
  const std::string kc_path = node_dir + "/" + kKubeconfigFile;
  std::string s;
  s += "# ---- kube-apiserver flags\n";
  if (policy) s += "--audit-policy-file=" + policy_path + "\n";
  if (kubeconfig) {
    s += "--audit-webhook-config-file=" + kc_path + "\n";
    s += "--audit-webhook-mode=batch\n";
    s += "--audit-webhook-batch-max-wait=" + max_wait + "\n";
  }
  s += "# ---- kubeadm ClusterConfiguration (v1beta4; v1beta3 takes extraArgs as a map)\n";
  s += "apiServer:\n";
  s += "  extraArgs:\n";
  if (policy) {
    s += "  - name: audit-policy-file\n";
    s += "    value: " + policy_path + "\n";
  }
  if (kubeconfig) {
    s += "  - name: audit-webhook-config-file\n";
    s += "    value: " + kc_path + "\n";
    s += "  - name: audit-webhook-mode\n";
    s += "    value: batch\n";
    s += "  - name: audit-webhook-batch-max-wait\n";
    s += "    value: " + max_wait + "\n";
  }
  s += "  extraVolumes:\n";
  s += "  - name: vigil-audit\n";
  s += "    hostPath: " + node_dir + "\n";
  s += "    mountPath: " + node_dir + "\n";
  s += "    readOnly: true\n";
  s += "    pathType: DirectoryOrCreate\n";
  return s;
}

}  // namespace

int run_audit_config(const std::vector<std::string>& args) {
  audit::AuditPolicyOptions popts;
  audit::WebhookOptions wopts;
  std::string ca_file, cert_file, key_file, token_file, out_dir;
  std::string node_dir = "/etc/kubernetes/vigil";
  std::string max_wait = "5s";
  bool policy_only = false, kubeconfig_only = false;
  bool service_given = false, from_cluster = false, ns_given = false;
  std::string secret_name = "vigil-audit-tls";
  std::optional<std::string> kubeconfig_file;

  for (OptionCursor cursor(args); cursor.next();) {
    const std::string a = cursor.name();
    auto value = [&](std::string& out) { return cursor.value(out) && !out.empty(); };
    std::string v;
    if (a == "-h" || a == "--help" || a == "help") {
      std::fputs(kAuditConfigUsage, stdout);
      return 0;
    } else if (a == "--service") {
      if (!value(wopts.service)) return usage_error("--service needs a name");
      if (!audit::is_dns_label(wopts.service))
        return usage_error("--service: '" + wopts.service + "' is not a DNS label");
      service_given = true;
    } else if (a == "-n" || a == "--namespace") {
      if (!value(wopts.ns)) return usage_error(a + " needs a namespace");
      if (!audit::is_dns_label(wopts.ns))
        return usage_error(a + ": '" + wopts.ns + "' is not a DNS label");
      ns_given = true;
    } else if (a == "--port") {
      if (!value(v)) return usage_error("--port needs a number");
      char* end = nullptr;
      const long p = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || p < 1 || p > 65535)
        return usage_error("--port: '" + v + "' is not a port from 1 to 65535");
      wopts.port = static_cast<int>(p);
      service_given = true;
    } else if (a == "--from-cluster") {
      from_cluster = true;
    } else if (a == "--secret") {
      if (!value(secret_name)) return usage_error("--secret needs a name");
    } else if (a == "--kubeconfig") {
      if (!value(v)) return usage_error("--kubeconfig needs a file");
      kubeconfig_file = v;
    } else if (a == "--url") {
      if (!value(wopts.url)) return usage_error("--url needs a URL");
    } else if (a == "--ca-file") {
      if (!value(ca_file)) return usage_error("--ca-file needs a file");
    } else if (a == "--client-cert") {
      if (!value(cert_file)) return usage_error("--client-cert needs a file");
    } else if (a == "--client-key") {
      if (!value(key_file)) return usage_error("--client-key needs a file");
    } else if (a == "--token-file") {
      if (!value(token_file)) return usage_error("--token-file needs a file");
    } else if (a == "--ignore-namespace") {
      if (!value(v)) return usage_error("--ignore-namespace needs a namespace");
      if (!audit::is_dns_label(v))
        return usage_error("--ignore-namespace: '" + v + "' is not a DNS label");
      popts.ignored_namespaces.push_back(v);
    } else if (a == "--response-complete-only") {
      popts.response_complete_only = true;
    } else if (a == "--batch-max-wait") {
      if (!value(max_wait) || !valid_duration(max_wait))
        return usage_error("--batch-max-wait needs a duration such as 5s or 500ms");
    } else if (a == "--node-dir") {
      if (!value(node_dir) || node_dir[0] != '/')
        return usage_error("--node-dir needs an absolute directory");
      while (node_dir.size() > 1 && node_dir.back() == '/') node_dir.pop_back();
    } else if (a == "--policy-only") {
      policy_only = true;
    } else if (a == "--kubeconfig-only") {
      kubeconfig_only = true;
    } else if (a == "--out-dir" || a == "-o") {
      if (!value(out_dir)) return usage_error(a + " needs a directory");
    } else {
      return usage_error("unknown argument '" + cursor.arg() + "'");
    }
  }
  if (policy_only && kubeconfig_only)
    return usage_error("--policy-only and --kubeconfig-only exclude each other");
  if (!wopts.url.empty() && (service_given || (ns_given && !from_cluster)))
    return usage_error("--url excludes --service, --namespace and --port");
  if (ns_given && !from_cluster) service_given = true;
  if (from_cluster &&
      (!ca_file.empty() || !cert_file.empty() || !key_file.empty() || !token_file.empty()))
    return usage_error(
        "--from-cluster takes the CA and credentials from the Secret: "
        "no --ca-file, --client-cert, --client-key or --token-file");
  if (from_cluster && policy_only) return usage_error("--from-cluster excludes --policy-only");
  if (!token_file.empty() && (!cert_file.empty() || !key_file.empty()))
    return usage_error("--token-file excludes --client-cert and --client-key");
  if (cert_file.empty() != key_file.empty())
    return usage_error("--client-cert and --client-key go together");
  const bool want_kubeconfig = !policy_only;
  const bool want_policy = !kubeconfig_only;
  if (want_kubeconfig && ca_file.empty() && !from_cluster)
    return usage_error(
        "--ca-file is required (the CA that signed the operator's serving certificate)");
  if (policy_only && (!ca_file.empty() || !cert_file.empty() || !token_file.empty() ||
                      !wopts.url.empty() || service_given))
    return usage_error("--policy-only takes no webhook options");
  if (kubeconfig_only && (!popts.ignored_namespaces.empty() || popts.response_complete_only))
    return usage_error("--kubeconfig-only takes no policy options");

  std::string policy, kubeconfig;
  if (want_policy) policy = audit::render_audit_policy(popts);
  if (want_kubeconfig && from_cluster) {
    auto cfg = k8s::load_client_config(kubeconfig_file);
    if (!cfg.ok()) return fail("cannot load the cluster configuration: " + cfg.error());
    k8s::CurlClientOptions copts;
    copts.user_agent = "vigilctl/0.1";
    copts.request_timeout = std::chrono::seconds(30);
    auto client = k8s::CurlClient::from_config(*cfg, copts);
    if (!client.ok()) return fail("cannot use " + cfg->source + ": " + client.error());
    auto secret = (*client)->get(k8s::secrets(), wopts.ns, secret_name);
    if (!secret.ok())
      return fail("cannot read Secret " + wopts.ns + "/" + secret_name + ": " + secret.error() +
                  (secret.error_code() == 404 ? " (is the operator running with its audit "
                                                "receiver? it creates the Secret)"
                                              : ""));
    auto data = k8s::secret_data(*secret);
    auto field = [&](const char* key) { return data[key]; };
    wopts.ca_pem = field("ca.crt");
    if (wopts.ca_pem.empty())
      return fail("Secret " + wopts.ns + "/" + secret_name +
                  " has no ca.crt: give the CA with --ca-file instead");
    wopts.client_cert_pem = field("client.crt");
    wopts.client_key_pem = field("client.key");
    if (wopts.client_cert_pem.empty() || wopts.client_key_pem.empty()) {
      wopts.client_cert_pem.clear();
      wopts.client_key_pem.clear();
      wopts.token = field("token");
    }
    auto kc = audit::render_webhook_kubeconfig(wopts);
    if (!kc.ok()) return fail(kc.error());
    kubeconfig = std::move(kc).value();
  } else if (want_kubeconfig) {
    std::string err;
    auto ca = read_file(ca_file, err);
    if (!ca) return fail(err);
    wopts.ca_pem = *ca;
    if (!cert_file.empty()) {
      auto cert = read_file(cert_file, err);
      if (!cert) return fail(err);
      auto key = read_file(key_file, err);
      if (!key) return fail(err);
      wopts.client_cert_pem = *cert;
      wopts.client_key_pem = *key;
    }
    if (!token_file.empty()) {
      auto token = read_file(token_file, err);
      if (!token) return fail(err);
      wopts.token = *token;
      if (wopts.token.find_first_not_of(" \t\r\n") == std::string::npos)
        return fail(token_file + " is empty");
    }
    auto kc = audit::render_webhook_kubeconfig(wopts);
    if (!kc.ok()) return fail(kc.error());
    kubeconfig = std::move(kc).value();
  }

  const std::string tail = flags_and_snippet(node_dir, max_wait, want_policy, want_kubeconfig);
  if (!out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) return fail("cannot create " + out_dir + ": " + ec.message());
    std::string err;
    if (want_policy && !write_file(out_dir, kPolicyFile, policy, 0644, err)) return fail(err);
    const mode_t kc_mode = audit::webhook_has_credentials(wopts) ? 0600 : 0644;
    if (want_kubeconfig && !write_file(out_dir, kKubeconfigFile, kubeconfig, kc_mode, err))
      return fail(err);
    std::string wrote = "# wrote";
    if (want_policy) wrote += " " + (std::filesystem::path(out_dir) / kPolicyFile).string();
    if (want_kubeconfig) wrote += " " + (std::filesystem::path(out_dir) / kKubeconfigFile).string();
    std::printf("%s\n# copy them to %s on every control-plane node\n%s", wrote.c_str(),
                node_dir.c_str(), tail.c_str());
    return 0;
  }
  if (policy_only) {
    std::fputs(policy.c_str(), stdout);
    return 0;
  }
  if (kubeconfig_only) {
    std::fputs(kubeconfig.c_str(), stdout);
    return 0;
  }
  std::printf("# ---- %s/%s\n%s---\n# ---- %s/%s\n%s---\n%s", node_dir.c_str(), kPolicyFile,
              policy.c_str(), node_dir.c_str(), kKubeconfigFile, kubeconfig.c_str(), tail.c_str());
  return 0;
}

}  // namespace vigil::cli
