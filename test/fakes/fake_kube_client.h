#pragma once

// An in-memory k8s::Client for unit tests of controllers, watchers and leader election. Not an
// API server: no HTTP, no validation, no admission. It keeps what controllers rely on:
//
// - one resourceVersion counter for all writes; metadata.uid, creationTimestamp, generation
//   (bumped when anything outside metadata and status changes);
// - optimistic concurrency: update/patch with a stale metadata.resourceVersion gives 409,
//   create of an existing name 409, missing objects 404;
// - status subresources (enable_status_subresource): main writes keep the stored status,
//   /status writes change only status;
// - finalizers: delete sets deletionTimestamp while finalizers remain; removing the last one
//   deletes the object;
// - list with label selectors (k=v, k!=v, k, !k), metadata.name/metadata.namespace field
//   selectors and limit/continue paging;
// - watch from a resourceVersion with the history since then, 410 Gone (an ERROR event) for a
//   version older than compact(), and synthetic ADDED events for resourceVersion "" or "0".
//
// Patches: merge and strategic-merge are applied as RFC 7386 merge patches, JSON patches as
// RFC 6902, and apply patches (JSON only) as merge patches that create missing objects.

#include <memory>
#include <string>
#include <vector>

#include "common/k8s/client.h"

namespace vigil::testing {

class FakeKubeClient final : public k8s::Client {
 public:
  FakeKubeClient();
  ~FakeKubeClient() override;

  void enable_status_subresource(const k8s::ResourceRef& ref);
  // The next `count` calls of `verb` (get, list, create, update, patch, delete, watch; status
  // writes count as update/patch) fail with HTTP status `code`.
  void fail_next(const std::string& verb, int code, int count = 1);
  // Forgets the watch history, as an etcd compaction does: watches from older resourceVersions
  // get 410 Gone.
  void compact();
  // Ends every open watch cleanly, as a server timeout or a dropped connection would.
  void close_watches();
  int open_watches() const;
  // "verb resource ns/name" for each call so far, e.g. "update leases kube-system/vigil".
  std::vector<std::string> calls() const;
  // The current resourceVersion (the last write's).
  std::string resource_version() const;

  Result<k8s::Response> request(std::string_view method, std::string_view path_and_query,
                                std::string_view body = {},
                                std::string_view content_type = {}) override;
  Result<std::string> get(const k8s::ResourceRef& ref, std::string_view ns,
                          std::string_view name) override;
  Result<std::string> list(const k8s::ResourceRef& ref, std::string_view ns,
                           const k8s::ListOptions& options = {}) override;
  Result<std::string> create(const k8s::ResourceRef& ref, std::string_view ns,
                             std::string_view object_json,
                             const k8s::WriteOptions& options = {}) override;
  Result<std::string> update(const k8s::ResourceRef& ref, std::string_view ns,
                             std::string_view name, std::string_view object_json,
                             const k8s::WriteOptions& options = {}) override;
  Result<std::string> update_status(const k8s::ResourceRef& ref, std::string_view ns,
                                    std::string_view name, std::string_view object_json,
                                    const k8s::WriteOptions& options = {}) override;
  Result<std::string> patch(const k8s::ResourceRef& ref, std::string_view ns, std::string_view name,
                            std::string_view patch, k8s::PatchType type = k8s::PatchType::kMerge,
                            const k8s::WriteOptions& options = {}) override;
  Result<std::string> patch_status(const k8s::ResourceRef& ref, std::string_view ns,
                                   std::string_view name, std::string_view patch,
                                   k8s::PatchType type = k8s::PatchType::kMerge,
                                   const k8s::WriteOptions& options = {}) override;
  Result<std::string> remove(const k8s::ResourceRef& ref, std::string_view ns,
                             std::string_view name,
                             std::string_view delete_options_json = {}) override;
  Result<k8s::StreamEnd> watch(const k8s::ResourceRef& ref, std::string_view ns,
                               const k8s::WatchOptions& options, const k8s::LineHandler& on_line,
                               k8s::CancelToken& cancel) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil::testing
