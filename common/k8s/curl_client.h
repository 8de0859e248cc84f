#pragma once

// The Client that talks HTTPS to kube-apiserver with libcurl (OpenSSL). libcurl stays inside
// curl_client.cc.
//
// Requests reuse a small pool of curl handles, each keeping its connection alive, so concurrent
// callers each get a connection and sequential calls reuse one. A watch gets a handle of its own
// for as long as its stream lasts. TLS verification is always on unless the kubeconfig's
// insecure-skip-tls-verify was explicitly allowed (KubeconfigOptions).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/k8s/client.h"
#include "common/k8s/client_config.h"

namespace vigil::k8s {

struct CurlClientOptions {
  std::chrono::milliseconds connect_timeout{10000};
  // A whole non-watch request. Give a leader elector's client one shorter than its renew deadline.
  std::chrono::milliseconds request_timeout{30000};
  // Larger response bodies fail with a clear error instead of growing memory without bound.
  size_t max_response_bytes = 64u << 20;
  size_t max_watch_line_bytes = 16u << 20;
  // A watch ends with an error when the server sends nothing for timeoutSeconds plus this.
  std::chrono::seconds watch_grace{30};
  size_t max_idle_connections = 8;
  std::string user_agent = "vigil/0.1";
};

class CurlClient final : public Client {
 public:
  // Checks the configuration (server URL, PEM data, token file) and prepares the client; it
  // does not contact the server.
  static Result<std::unique_ptr<CurlClient>> from_config(const ClientConfig& config,
                                                         const CurlClientOptions& options = {});
  ~CurlClient() override;
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  Result<Response> request(std::string_view method, std::string_view path_and_query,
                           std::string_view body = {}, std::string_view content_type = {}) override;
  Result<std::string> get(const ResourceRef& ref, std::string_view ns,
                          std::string_view name) override;
  Result<std::string> list(const ResourceRef& ref, std::string_view ns,
                           const ListOptions& options = {}) override;
  Result<std::string> create(const ResourceRef& ref, std::string_view ns,
                             std::string_view object_json,
                             const WriteOptions& options = {}) override;
  Result<std::string> update(const ResourceRef& ref, std::string_view ns, std::string_view name,
                             std::string_view object_json,
                             const WriteOptions& options = {}) override;
  Result<std::string> update_status(const ResourceRef& ref, std::string_view ns,
                                    std::string_view name, std::string_view object_json,
                                    const WriteOptions& options = {}) override;
  Result<std::string> patch(const ResourceRef& ref, std::string_view ns, std::string_view name,
                            std::string_view patch, PatchType type = PatchType::kMerge,
                            const WriteOptions& options = {}) override;
  Result<std::string> patch_status(const ResourceRef& ref, std::string_view ns,
                                   std::string_view name, std::string_view patch,
                                   PatchType type = PatchType::kMerge,
                                   const WriteOptions& options = {}) override;
  Result<std::string> remove(const ResourceRef& ref, std::string_view ns, std::string_view name,
                             std::string_view delete_options_json = {}) override;
  Result<StreamEnd> watch(const ResourceRef& ref, std::string_view ns, const WatchOptions& options,
                          const LineHandler& on_line, CancelToken& cancel) override;

  const ClientConfig& config() const;

 private:
  struct Impl;
  explicit CurlClient(std::unique_ptr<Impl> impl);
  Result<std::string> expect_success(std::string_view method, const std::string& path,
                                     std::string_view body, std::string_view content_type);

  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::k8s
