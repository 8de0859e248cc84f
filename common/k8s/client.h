#pragma once

// The Kubernetes API client the operator and the agent use: the seam between Vigil and
// kube-apiserver. CurlClient (curl_client.h) talks to a real server; test/fakes/fake_kube_client.h
// keeps objects in memory for unit tests.
//
// Objects cross this API as JSON text, so the headers stay free of a JSON library. Every call is
// thread-safe. Failures are Result errors; when the server answered with an error status,
// Result::error_code() is that HTTP status (404, 409, 410, 422, ...) and the message carries the
// server's Status message.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/k8s/resource.h"

namespace vigil::k8s {

// HTTP statuses callers branch on (Result::error_code()).
inline constexpr int kStatusNotFound = 404;
inline constexpr int kStatusConflict = 409;  // stale resourceVersion, or AlreadyExists on create
inline constexpr int kStatusGone = 410;      // resourceVersion or continue token too old
inline constexpr int kStatusUnprocessable = 422;

// A raw answer: any HTTP status is a value here.
struct Response {
  int status = 0;
  std::string body;
};

struct ListOptions {
  std::string label_selector;  // "app=vigil,tier!=db"
  std::string field_selector;  // "metadata.name=x"
  int64_t limit = 0;           // page size; 0 lets the server send everything
  std::string continue_token;  // from the previous page's metadata.continue
  // "" asks for a consistent (quorum) read; "0" accepts any, possibly stale, version.
  std::string resource_version;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // start after this version (from a list or the last event)
  int timeout_seconds = 300;     // the server ends the stream cleanly after this
  bool allow_bookmarks = true;
};

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kJson,            // application/json-patch+json (RFC 6902)
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in types only)
  kApply,           // application/apply-patch+yaml: server-side apply; needs field_manager
};

// Query parameters of writes.
struct WriteOptions {
  std::string field_manager;  // required for kApply
  bool force = false;         // server-side apply: take ownership on conflicts
  bool dry_run = false;
};

// Lets another thread end a blocking Client::watch() promptly. Once cancelled it stays cancelled.
class CancelToken {
 public:
  void cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // For Client implementations: `wake` is run by cancel() (at once if already cancelled) until
  // it is replaced; pass {} to clear it before the state it touches goes away.
  void set_waker(std::function<void()> wake);

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex waker_mu_;
  std::function<void()> waker_;  // guarded by waker_mu_
};

// How a watch stream ended without an error.
enum class StreamEnd {
  kClosed,     // the server ended it (timeoutSeconds, or it closed the connection cleanly)
  kCancelled,  // CancelToken::cancel()
  kStopped,    // the line handler returned false
};

// Receives each newline-delimited watch event (a JSON object, no trailing newline). Return false
// to end the stream.
using LineHandler = std::function<bool(std::string_view line)>;

class Client {
 public:
  virtual ~Client() = default;

  // Any request, e.g. ("GET", "/version"). Only transport failures are errors; the caller reads
  // Response::status.
  virtual Result<Response> request(std::string_view method, std::string_view path_and_query,
                                   std::string_view body = {},
                                   std::string_view content_type = {}) = 0;

  // Typed helpers: `ns` is ignored for cluster-scoped resources; "" lists or watches all
  // namespaces. Successful writes return the object as the server stored it.
  virtual Result<std::string> get(const ResourceRef& ref, std::string_view ns,
                                  std::string_view name) = 0;
  // One page: a List object whose metadata carries resourceVersion and, if more pages follow,
  // continue.
  virtual Result<std::string> list(const ResourceRef& ref, std::string_view ns,
                                   const ListOptions& options = {}) = 0;
  virtual Result<std::string> create(const ResourceRef& ref, std::string_view ns,
                                     std::string_view object_json,
                                     const WriteOptions& options = {}) = 0;
  // PUT. The object's metadata.resourceVersion makes it conditional: a stale one gives 409.
  virtual Result<std::string> update(const ResourceRef& ref, std::string_view ns,
                                     std::string_view name, std::string_view object_json,
                                     const WriteOptions& options = {}) = 0;
  // PUT to the /status subresource: only .status changes.
  virtual Result<std::string> update_status(const ResourceRef& ref, std::string_view ns,
                                            std::string_view name, std::string_view object_json,
                                            const WriteOptions& options = {}) = 0;
  virtual Result<std::string> patch(const ResourceRef& ref, std::string_view ns,
                                    std::string_view name, std::string_view patch,
                                    PatchType type = PatchType::kMerge,
                                    const WriteOptions& options = {}) = 0;
  // PATCH to the /status subresource: everything outside .status is ignored by the server.
  virtual Result<std::string> patch_status(const ResourceRef& ref, std::string_view ns,
                                           std::string_view name, std::string_view patch,
                                           PatchType type = PatchType::kMerge,
                                           const WriteOptions& options = {}) = 0;
  // DELETE; `delete_options_json` is an optional DeleteOptions body (preconditions, propagation).
  // Returns the server's answer: the deleted object, or a Status.
  virtual Result<std::string> remove(const ResourceRef& ref, std::string_view ns,
                                     std::string_view name,
                                     std::string_view delete_options_json = {}) = 0;

  // Opens a watch and blocks, passing each event line to `on_line` on the calling thread, until
  // the server ends the stream, `cancel` fires or `on_line` returns false. An error status
  // (e.g. 410 for a too-old resourceVersion) is an error with that code.
  virtual Result<StreamEnd> watch(const ResourceRef& ref, std::string_view ns,
                                  const WatchOptions& options, const LineHandler& on_line,
                                  CancelToken& cancel) = 0;
};

// The Content-Type header value of a patch type.
std::string_view patch_content_type(PatchType type);

}  // namespace vigil::k8s
