#pragma once

// A Pod as the agent needs it: parsed from the JSON the API server serialises (untrusted), with
// every container id it names and what the pod says about each container, and image references
// split as Falco splits them. PodMetadataCache (pod_metadata.h) keeps these per node.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/result.h"
#include "common/fields/syscall_event.h"
#include "common/fields/value.h"

namespace vigil::agent {

// Container ids as runtimes write them: 64 lowercase hex characters, shown as their first 12.
inline constexpr size_t kContainerIdLen = 64;
inline constexpr size_t kShortContainerIdLen = 12;

// ---------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------

// An image reference split as Falco splits it (libsinsp sinsp_utils::split_container_image with
// the registry kept in the repository), following the Docker reference grammar
// "[host[:port]/]path[:tag][@digest]":
//   "registry:5000/ns/name:tag@sha256:abc" -> "registry:5000/ns/name", "tag", "sha256:abc"
//   "registry:5000/ns/name"                -> "registry:5000/ns/name", "", ""
//   "nginx"                                -> "nginx", "", ""   (no implied "latest", no
//                                             implied docker.io/library/: Falco adds neither)
// Views point into `image`.
struct ImageReference {
  std::string_view repository;
  std::string_view tag;
  std::string_view digest;
};
ImageReference split_image_reference(std::string_view image);

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

// One container id of a pod, with what the pod says about that container.
struct PodContainerInfo {
  std::string id;    // 64 lowercase hex characters, the runtime's "<scheme>://" removed
  std::string type;  // container.type: "containerd", "cri-o", "docker"; "" for another scheme
  std::string name;  // container.name: the name in the pod spec
  // status image, or the spec image when the status has none or names an image id
  std::string image;
  std::string image_id;  // hex, from an imageID that is an image id ("sha256:<hex>")
  std::string image_repository;
  std::string image_tag;
  std::string image_digest;  // from imageID ("<repo>@sha256:..."), else from the image
  uint64_t start_ts = 0;     // ns since the epoch (state's startedAt), 0 = unknown
  uint8_t privileged = fields::kTriUnknown;  // spec securityContext.privileged
  bool previous = false;                     // from lastState.terminated: replaced by a restart
};

struct PodInfo {
  std::string uid;
  std::string name;
  std::string ns;
  std::string ip;  // status.podIP as written ("" when not assigned yet)
  fields::IpAddr ip_addr;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  uint8_t host_pid = fields::kTriUnknown;                   // spec.hostPID, hostNetwork, hostIPC
  uint8_t host_network = fields::kTriUnknown;
  uint8_t host_ipc = fields::kTriUnknown;
  // Containers that have an id (a container not created yet has none), in status order:
  // containerStatuses, initContainerStatuses, ephemeralContainerStatuses; each one's previous
  // id (lastState) after it.
  std::vector<PodContainerInfo> containers;

  // The cache's key: the uid, or "namespace/name" for a pod without one.
  std::string key() const;
};

struct PodParseLimits {
  size_t max_bytes = 4u << 20;   // the API server stores objects up to ~1.5 MiB
  size_t max_labels = 512;       // labels beyond are dropped (the first in key order are kept)
  size_t max_containers = 1024;  // ids per pod; beyond: an error
};

// Parses a Pod as the API server serialises it. Untrusted input: never throws; not JSON, nesting
// deeper than kMaxJsonDepth, over the limits, or a field this reads having the wrong type gives
// an Error naming it ("status.containerStatuses[0].containerID: expected a string"). Fields it
// does not read are not checked. A pod needs metadata.name and metadata.namespace.
Result<PodInfo> parse_pod(std::string_view json, const PodParseLimits& limits = {});

}  // namespace vigil::agent
