#pragma once

// Where the API server is and how to authenticate to it: from a kubeconfig file or from the
// service account a pod runs as. Parsed and validated once into a plain struct.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace vigil::k8s {

struct ClientConfig {
  std::string server;           // "https://127.0.0.1:6443"
  std::string tls_server_name;  // verify the serving certificate for this name instead
  std::string ca_pem;           // trusted CAs; empty: the system trust store
  std::string client_cert_pem;
  std::string client_key_pem;  // secret: never logged
  std::string token;           // secret: never logged
  std::string token_file;      // re-read as it rotates; takes precedence over `token`
  std::string proxy_url;
  std::string default_namespace = "default";
  // Only ever true when KubeconfigOptions::allow_insecure_skip_tls_verify allowed it.
  bool insecure_skip_tls_verify = false;
  // Where this came from, for messages: "kubeconfig /root/.kube/config, context kind-kind".
  std::string source;
};

struct KubeconfigOptions {
  std::string context;  // use this context instead of current-context
  // A kubeconfig with insecure-skip-tls-verify (or an http:// server) is refused unless this is
  // set, e.g. by an explicit command-line flag for a throwaway development cluster.
  bool allow_insecure_skip_tls_verify = false;
};

// Parses kubeconfig YAML. Relative file paths in it resolve against `base_dir`.
Result<ClientConfig> parse_kubeconfig(std::string_view yaml, std::string_view base_dir,
                                      const KubeconfigOptions& options = {});

// Loads and merges kubeconfig files as kubectl does with KUBECONFIG=a:b: the first file that
// names a cluster, user or context (or sets current-context) wins. Missing files are skipped,
// but at least one must exist.
Result<ClientConfig> load_kubeconfig(const std::vector<std::string>& paths,
                                     const KubeconfigOptions& options = {});

// A pod's service account: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT with the
// token, CA and namespace from `sa_dir`.
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";
Result<ClientConfig> in_cluster_config(std::string_view host, std::string_view port,
                                       std::string_view sa_dir = kServiceAccountDir);

// The configuration to use, in client-go's order: `kubeconfig_path` if given and not empty,
// then $KUBECONFIG, then the in-cluster service account, then ~/.kube/config.
Result<ClientConfig> load_client_config(const std::optional<std::string>& kubeconfig_path,
                                        const KubeconfigOptions& options = {});

// Decodes standard base64 (padding optional, whitespace ignored); nullopt on a bad character.
std::optional<std::string> base64_decode(std::string_view text);
// Standard base64 with padding (Secret data, kubeconfig *-data fields).
std::string base64_encode(std::string_view data);

}  // namespace vigil::k8s
