#pragma once

// Container identity from the cgroup, as Falco derives it: the kernel reports the task's cgroup v2
// id (vg_event.cgroup_id, which on cgroup v2 is the inode number of the cgroup's directory); the
// CgroupResolver maps it to the cgroup path by scanning the unified hierarchy, and
// parse_container_id() recognises the runtimes' naming schemes in that path. Kubernetes and
// runtime metadata (name, image, pod) are not in the cgroup: an optional ContainerMetadata source
// supplies them.
//
// Everything here runs on the capture thread; nothing is thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/fields/syscall_event.h"

namespace vigil::agent {

enum class ContainerRuntime : uint8_t { kNone, kDocker, kContainerd, kCrio, kPodman };
// container.type values, as Falco spells them: "docker", "containerd", "cri-o", "podman"; "".
std::string_view container_runtime_name(ContainerRuntime r);

// What a cgroup path says about its container. Views point into the parsed path.
struct ContainerIdentity {
  ContainerRuntime runtime = ContainerRuntime::kNone;  // kNone: a host cgroup
  std::string_view full_id;                            // 64 lowercase hex characters
  std::string_view short_id;                           // its first 12
  // Kubernetes pod uid from a kubepods path ("pod<uid>" component), as written there: with '_'
  // instead of '-' in the systemd driver's form. Empty outside kubepods.
  std::string_view pod_uid;

  bool found() const { return runtime != ContainerRuntime::kNone; }
};

// Recognises (the deepest match wins, so a container's own sub-cgroups still count):
//   docker      /docker/<id>, .../docker-<id>.scope
//   containerd  .../cri-containerd-<id>.scope, .../kubepods.../pod<uid>/<id>,
//               ...:cri-containerd:<id>, .../nerdctl-<id>.scope
//   cri-o       .../crio-<id>.scope, .../crio-<id> (crio-conmon-<id> is the monitor, not a
//   container) podman      .../libpod-<id>.scope, /libpod_parent/libpod-<id> (libpod-conmon-<id> is
//   not)
// Anything else is the host.
ContainerIdentity parse_container_id(std::string_view cgroup_path);

// One container, shared by the processes in it (ProcessTable entries hold a shared_ptr). Owns the
// strings its ContainerInfo and K8sInfo views point to, so it is neither copied nor moved.
class ContainerRecord {
 public:
  ContainerRecord(const ContainerIdentity& id);
  ContainerRecord(const ContainerRecord&) = delete;
  ContainerRecord& operator=(const ContainerRecord&) = delete;

  const std::string& full_id() const { return full_id_; }
  const std::string& short_id() const { return short_id_; }
  ContainerRuntime runtime() const { return runtime_; }
  const fields::ContainerInfo& info() const { return info_; }
  // Null when the container is not known to be in a pod.
  const fields::K8sInfo* k8s() const { return in_pod_ ? &k8s_ : nullptr; }

  // Metadata from a ContainerMetadata lookup. Everything `c` and `k` point to is copied, so their
  // views only need to be valid during this call. id and full_id stay the cgroup's; type too
  // unless `c` has one.
  void apply_metadata(const fields::ContainerInfo& c, const fields::K8sInfo& k);
  bool has_metadata() const { return has_metadata_; }
  // When the last lookup was attempted (steady clock, ns); the decoder retries at most this often.
  int64_t last_lookup_ns = -(int64_t{1} << 62);

 private:
  std::string_view keep(std::string_view s);

  std::string full_id_;
  std::string short_id_;
  std::string pod_uid_;
  ContainerRuntime runtime_;
  fields::ContainerInfo info_;
  fields::K8sInfo k8s_;
  bool in_pod_ = false;
  bool has_metadata_ = false;
  std::deque<std::string> strings_;  // metadata strings; a deque keeps them in place
  std::vector<fields::K8sLabel> labels_;
};

// The seam for Kubernetes and runtime metadata (a pod watch, a CRI client): the decoder looks a
// container up by full id when it is first seen, and again (rate-limited) while lookup returns
// false. Called on the capture thread: it must not block (answer from a cache the watch keeps).
class ContainerMetadata {
 public:
  virtual ~ContainerMetadata() = default;
  // Fills name, image... of `c` and the pod of `k`. The views must stay valid until the next
  // lookup() call on this object (the caller copies them right after the call). Returns false
  // when nothing is known about the container (yet).
  virtual bool lookup(std::string_view full_id, fields::ContainerInfo& c, fields::K8sInfo& k) = 0;
};

struct CgroupResolverOptions {
  // Where cgroup2 is mounted; empty: the first cgroup2 mount in /proc/self/mountinfo
  // (/sys/fs/cgroup on pure v2 hosts, /sys/fs/cgroup/unified on hybrid ones).
  std::string mount_point;
  std::string proc_root = "/proc";
  // A cgroup id not found is looked for by a new scan of the hierarchy at most this often;
  // in between, the `0::` line of /proc/<pid>/cgroup answers.
  std::chrono::milliseconds rescan_interval{1000};
  size_t max_cgroups = 1u << 16;  // cached ids (and scanned directories), beyond which the
                                  // cache is cleared
  // Hybrid hosts (cgroup v1 controllers next to cgroup2): a runtime may place containers in the
  // v1 hierarchies only, leaving them in a host cgroup of the unified one. Then processes the
  // unified cgroup calls host are looked up in all of /proc/<pid>/cgroup when they exec.
  // Unset: on when /proc/self/mountinfo has cgroup v1 mounts.
  std::optional<bool> v1_fallback;
};

struct CgroupResolverStats {
  uint64_t scans = 0;           // full walks of the hierarchy
  uint64_t lookups = 0;         // container_for() calls that missed the id cache
  uint64_t proc_fallbacks = 0;  // ids resolved from /proc/<pid>/cgroup
  uint64_t v1_lookups = 0;      // container_from_proc() reads (hybrid hosts, at exec)
  uint64_t unresolved = 0;      // ids with no path at all (reported as the host)
};

class CgroupResolver {
 public:
  explicit CgroupResolver(CgroupResolverOptions options = {});

  // The cgroup2 mount point in use, "" when there is none (then only /proc answers).
  const std::string& mount_point() const { return mount_; }

  // The container of a cgroup id, or null for the host (and for ids nothing is known about).
  // `pid` is a process in that cgroup, for the /proc fallback (0: none). Cached per id.
  std::shared_ptr<ContainerRecord> container_for(uint64_t cgroup_id, int64_t pid);

  // The cgroup's path relative to the mount ("/system.slice/docker-<id>.scope"); false when
  // unknown. Scans (rate-limited) and falls back to /proc/<pid>/cgroup.
  bool path_of(uint64_t cgroup_id, int64_t pid, std::string& out);

  // Hybrid hosts: the container named by any line of /proc/<pid>/cgroup (v1 hierarchies
  // included), or null. Reads the file on every call: use it once per exec, not per event.
  std::shared_ptr<ContainerRecord> container_from_proc(int64_t pid);
  bool v1_fallback() const { return v1_fallback_; }

  // Walks the hierarchy now; returns the number of cgroups found.
  size_t rescan();

  // Forgets cached ids whose directory is gone (by a fresh scan) and containers no process
  // refers to. Call from the capture thread between events, every few seconds.
  void gc();

  // The first cgroup2 mount point in a mountinfo text, "" when none.
  static std::string find_cgroup2_mount(std::string_view mountinfo);
  // True when a mountinfo text has cgroup v1 mounts.
  static bool has_cgroup1_mounts(std::string_view mountinfo);

  const CgroupResolverStats& stats() const { return stats_; }
  size_t cached() const { return by_id_.size(); }

 private:
  bool scan_lookup(uint64_t cgroup_id, std::string& out);
  bool proc_lookup(int64_t pid, std::string& out);
  std::shared_ptr<ContainerRecord> record_for(const ContainerIdentity& id);

  CgroupResolverOptions options_;
  std::string mount_;
  bool v1_fallback_ = false;
  std::unordered_map<uint64_t, std::string> paths_;  // last scan: inode -> path
  std::chrono::steady_clock::time_point last_scan_{};
  bool scanned_ = false;
  std::unordered_map<uint64_t, std::shared_ptr<ContainerRecord>> by_id_;  // null = host
  std::unordered_map<std::string, std::shared_ptr<ContainerRecord>> by_container_;
  CgroupResolverStats stats_;
};

}  // namespace vigil::agent
