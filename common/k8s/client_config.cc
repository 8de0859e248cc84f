#include "common/k8s/client_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

namespace vigil::k8s {

namespace {

namespace fs = std::filesystem;

// Kubeconfig files are small; anything bigger is not one.
constexpr std::uintmax_t kMaxConfigFileBytes = 16u << 20;

Result<std::string> read_small_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return make_error(fmt::format("cannot read {} {}: {}", what, path, ec.message()));
  if (size > kMaxConfigFileBytes) {
    return make_error(
        fmt::format("{} {} is larger than {} bytes", what, path, kMaxConfigFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(fmt::format("cannot open {} {}", what, path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string resolve(std::string_view base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return (fs::path(base_dir) / path).string();
}

// One named entry (cluster, user or context) and the directory of the file it came from.
struct Entry {
  YAML::Node node;
  std::string base_dir;
};

struct Merged {
  std::map<std::string, Entry> clusters;
  std::map<std::string, Entry> users;
  std::map<std::string, Entry> contexts;
  std::string current_context;
  std::vector<std::string> files;
};

std::string scalar(const YAML::Node& node, const char* key) {
  const YAML::Node v = node[key];
  if (!v || !v.IsScalar()) return {};
  return v.as<std::string>();
}

bool boolean(const YAML::Node& node, const char* key) {
  const YAML::Node v = node[key];
  return v && v.IsScalar() && v.as<bool>();
}

Result<int> add_named(const YAML::Node& list, const char* section, const char* body_key,
                      const std::string& base_dir, std::map<std::string, Entry>& out) {
  if (!list) return 0;
  if (!list.IsSequence()) return make_error(fmt::format("{} must be a list", section));
  for (const auto& item : list) {
    if (!item.IsMap()) return make_error(fmt::format("{} entries must be maps", section));
    const std::string name = scalar(item, "name");
    if (name.empty()) return make_error(fmt::format("an entry in {} has no name", section));
    YAML::Node body = item[body_key];
    if (body && !body.IsMap()) {
      return make_error(fmt::format("{} {}: {} must be a map", section, name, body_key));
    }
    out.try_emplace(name, Entry{body ? body : YAML::Node(YAML::NodeType::Map), base_dir});
  }
  return 0;
}

Result<int> merge_document(std::string_view yaml, const std::string& base_dir, Merged& m) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root || root.IsNull()) return 0;  // an empty file contributes nothing
    if (!root.IsMap()) return make_error("the document is not a map");
    for (const auto& [section, body, map] :
         {std::tuple{"clusters", "cluster", &m.clusters}, std::tuple{"users", "user", &m.users},
          std::tuple{"contexts", "context", &m.contexts}}) {
      auto added = add_named(root[section], section, body, base_dir, *map);
      if (!added) return make_error(added.error());
    }
    if (m.current_context.empty()) m.current_context = scalar(root, "current-context");
    return 0;
  } catch (const YAML::Exception& e) {
    return make_error(fmt::format("invalid YAML at line {}, column {}: {}", e.mark.line + 1,
                                  e.mark.column + 1, e.msg));
  }
}

// `<key>-data` (base64 PEM) wins over `<key>` (a file path).
Result<std::string> pem_field(const Entry& e, const std::string& key, std::string_view owner) {
  const std::string data = scalar(e.node, (key + "-data").c_str());
  if (!data.empty()) {
    auto pem = base64_decode(data);
    if (!pem) return make_error(fmt::format("{}: {}-data is not valid base64", owner, key));
    if (pem->find("-----BEGIN") == std::string::npos) {
      return make_error(fmt::format("{}: {}-data does not contain PEM data", owner, key));
    }
    return std::move(*pem);
  }
  const std::string path = scalar(e.node, key.c_str());
  if (path.empty()) return std::string();
  auto content = read_small_file(resolve(e.base_dir, path), key);
  if (!content) return make_error(fmt::format("{}: {}", owner, content.error()));
  return std::move(*content);
}

Result<ClientConfig> resolve_config_unchecked(const Merged& m, const KubeconfigOptions& options) {
  const std::string context_name = options.context.empty() ? m.current_context : options.context;
  if (context_name.empty()) return make_error("no current-context is set and no context was given");
  const auto ctx_it = m.contexts.find(context_name);
  if (ctx_it == m.contexts.end())
    return make_error(fmt::format("context {} is not defined", context_name));
  const YAML::Node& ctx = ctx_it->second.node;

  ClientConfig config;
  config.source = fmt::format("kubeconfig {}, context {}", fmt::join(m.files, ":"), context_name);

  const std::string cluster_name = scalar(ctx, "cluster");
  const auto cl_it = m.clusters.find(cluster_name);
  if (cl_it == m.clusters.end()) {
    return make_error(fmt::format("context {} names cluster \"{}\", which is not defined",
                                  context_name, cluster_name));
  }
  const Entry& cluster = cl_it->second;
  const std::string cluster_owner = "cluster " + cluster_name;
  config.server = scalar(cluster.node, "server");
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  if (config.server.empty()) return make_error(fmt::format("{} has no server", cluster_owner));
  config.tls_server_name = scalar(cluster.node, "tls-server-name");
  config.proxy_url = scalar(cluster.node, "proxy-url");
  auto ca = pem_field(cluster, "certificate-authority", cluster_owner);
  if (!ca) return make_error(ca.error());
  config.ca_pem = std::move(*ca);

  const bool insecure = boolean(cluster.node, "insecure-skip-tls-verify");
  const bool plain_http = config.server.rfind("http://", 0) == 0;
  if (!plain_http && config.server.rfind("https://", 0) != 0) {
    return make_error(
        fmt::format("{}: server {} is not an https:// URL", cluster_owner, config.server));
  }
  if ((insecure || plain_http) && !options.allow_insecure_skip_tls_verify) {
    return make_error(fmt::format(
        "{} {}, which vigil refuses: TLS verification is always on (set certificate-authority or "
        "certificate-authority-data instead)",
        cluster_owner, plain_http ? "uses plain http://" : "sets insecure-skip-tls-verify"));
  }
  config.insecure_skip_tls_verify = insecure || plain_http;

  const std::string user_name = scalar(ctx, "user");
  if (!user_name.empty()) {
    const auto u_it = m.users.find(user_name);
    if (u_it == m.users.end()) {
      return make_error(fmt::format("context {} names user \"{}\", which is not defined",
                                    context_name, user_name));
    }
    const Entry& user = u_it->second;
    const std::string user_owner = "user " + user_name;
    for (const char* unsupported : {"exec", "auth-provider", "username", "as", "as-groups"}) {
      if (user.node[unsupported]) {
        return make_error(fmt::format(
            "{} uses \"{}\", which vigil does not support; use a token, tokenFile or client "
            "certificate",
            user_owner, unsupported));
      }
    }
    auto cert = pem_field(user, "client-certificate", user_owner);
    if (!cert) return make_error(cert.error());
    auto key = pem_field(user, "client-key", user_owner);
    if (!key) return make_error(key.error());
    if (cert->empty() != key->empty()) {
      return make_error(
          fmt::format("{} sets only one of client-certificate and client-key", user_owner));
    }
    config.client_cert_pem = std::move(*cert);
    config.client_key_pem = std::move(*key);
    config.token = scalar(user.node, "token");
    const std::string token_file = scalar(user.node, "tokenFile");
    if (!token_file.empty()) {
      config.token_file = resolve(user.base_dir, token_file);
      auto check = read_small_file(config.token_file, "tokenFile");
      if (!check) return make_error(fmt::format("{}: {}", user_owner, check.error()));
    }
  }

  const std::string ns = scalar(ctx, "namespace");
  if (!ns.empty()) config.default_namespace = ns;
  return config;
}

Result<ClientConfig> resolve_config(const Merged& m, const KubeconfigOptions& options) {
  try {
    return resolve_config_unchecked(m, options);
  } catch (const YAML::Exception& e) {  // e.g. a non-boolean insecure-skip-tls-verify
    return make_error(fmt::format("invalid value at line {}, column {}: {}", e.mark.line + 1,
                                  e.mark.column + 1, e.msg));
  }
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

Result<ClientConfig> parse_kubeconfig(std::string_view yaml, std::string_view base_dir,
                                      const KubeconfigOptions& options) {
  Merged m;
  m.files.emplace_back("<inline>");
  auto merged = merge_document(yaml, std::string(base_dir), m);
  if (!merged) return make_error("kubeconfig: " + merged.error());
  auto config = resolve_config(m, options);
  if (!config) return make_error("kubeconfig: " + config.error());
  return config;
}

Result<ClientConfig> load_kubeconfig(const std::vector<std::string>& paths,
                                     const KubeconfigOptions& options) {
  Merged m;
  for (const std::string& path : paths) {
    if (path.empty()) continue;
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    auto text = read_small_file(path, "kubeconfig");
    if (!text) return make_error(text.error());
    auto merged = merge_document(*text, fs::absolute(path, ec).parent_path().string(), m);
    if (!merged) return make_error(fmt::format("kubeconfig {}: {}", path, merged.error()));
    m.files.push_back(path);
  }
  if (m.files.empty()) {
    return make_error(fmt::format("kubeconfig {} does not exist", fmt::join(paths, ":")));
  }
  auto config = resolve_config(m, options);
  if (!config)
    return make_error(fmt::format("kubeconfig {}: {}", fmt::join(m.files, ":"), config.error()));
  return config;
}

Result<ClientConfig> in_cluster_config(std::string_view host, std::string_view port,
                                       std::string_view sa_dir) {
  if (host.empty() || port.empty()) {
    return make_error(
        "not running in a cluster: KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is empty");
  }
  ClientConfig config;
  const bool ipv6 = host.find(':') != std::string_view::npos;
  config.server =
      ipv6 ? fmt::format("https://[{}]:{}", host, port) : fmt::format("https://{}:{}", host, port);
  const std::string dir(sa_dir);
  config.token_file = dir + "/token";
  auto token = read_small_file(config.token_file, "service account token");
  if (!token) return make_error(token.error());
  auto ca = read_small_file(dir + "/ca.crt", "service account CA");
  if (!ca) return make_error(ca.error());
  config.ca_pem = std::move(*ca);
  if (auto ns = read_small_file(dir + "/namespace", "service account namespace")) {
    if (std::string n = trim(*ns); !n.empty()) config.default_namespace = std::move(n);
  }
  config.source = "in-cluster service account (" + dir + ")";
  return config;
}

Result<ClientConfig> load_client_config(const std::optional<std::string>& kubeconfig_path,
                                        const KubeconfigOptions& options) {
  if (kubeconfig_path && !kubeconfig_path->empty())
    return load_kubeconfig({*kubeconfig_path}, options);

  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::vector<std::string> paths;
    std::string_view rest(env);
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      paths.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    return load_kubeconfig(paths, options);
  }

  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host != nullptr && *host != '\0' && port != nullptr && *port != '\0') {
    return in_cluster_config(host, port);
  }

  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    const std::string path = std::string(home) + "/.kube/config";
    std::error_code ec;
    if (fs::exists(path, ec)) return load_kubeconfig({path}, options);
  }
  return make_error(
      "no Kubernetes configuration found: pass a kubeconfig, set KUBECONFIG, run in a pod with a "
      "service account, or create ~/.kube/config");
}

std::string base64_encode(std::string_view data) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                       (static_cast<unsigned char>(data[i + 1]) << 8) |
                       static_cast<unsigned char>(data[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i < data.size()) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += i + 1 < data.size() ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      padding = true;
      continue;
    } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    } else {
      return std::nullopt;
    }
    if (padding) return std::nullopt;  // data after '='
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (bits >= 6) return std::nullopt;  // a lone trailing character encodes no byte
  return out;
}

}  // namespace vigil::k8s
