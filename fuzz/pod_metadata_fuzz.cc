// libFuzzer target for the agent's pod metadata cache: the input is a pod object as the watch
// delivers it (untrusted JSON). Each input goes through parse_pod() and through a fresh cache
// (ADDED, look every id up, DELETED, past the grace period: nothing left), checking the
// invariants; a long-lived cache with small caps takes every input as ADDED, MODIFIED or DELETED
// and must stay within its caps.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/pod_metadata_fuzz.cc \
//     agent/pod_metadata.cc <vigil_common objects> -o pod_metadata_fuzz
//   ./pod_metadata_fuzz -max_len=65536 fuzz/corpus/pod_metadata

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/pod_metadata.h"

namespace {

using vigil::agent::ImageReference;
using vigil::agent::PodInfo;
using vigil::agent::PodMetadataCache;
using vigil::agent::PodMetadataOptions;
using vigil::k8s::WatchEventType;
using Clock = std::chrono::steady_clock;

Clock::time_point g_now = Clock::time_point(std::chrono::hours(1));

PodMetadataOptions options(size_t max_pods, size_t max_containers) {
  PodMetadataOptions o;
  o.max_pods = max_pods;
  o.max_containers = max_containers;
  o.clock = [] { return g_now; };
  return o;
}

bool within(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check_image(std::string_view image) {
  const ImageReference r = vigil::agent::split_image_reference(image);
  if (!within(r.repository, image) || !within(r.tag, image) || !within(r.digest, image)) {
    __builtin_trap();
  }
  if (r.repository.size() + r.tag.size() + r.digest.size() > image.size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static PodMetadataCache* shared = new PodMetadataCache(options(8, 16));
  const std::string json(reinterpret_cast<const char*>(data), size);
  check_image(json);

  vigil::Result<PodInfo> pod = vigil::agent::parse_pod(json);
  PodMetadataCache fresh(options(4, 1u << 12));
  fresh.on_pod_event(WatchEventType::kAdded, json);
  if (!pod.ok()) {
    if (fresh.stats().parse_errors != 1 || fresh.stats().containers != 0) __builtin_trap();
  } else {
    if (pod->name.empty() || pod->ns.empty()) __builtin_trap();
    for (const auto& c : pod->containers) {
      check_image(c.image);
      if (c.id.size() != 64) __builtin_trap();
      vigil::fields::ContainerInfo info;
      vigil::fields::K8sInfo k;
      if (!fresh.lookup(c.id, info, k)) __builtin_trap();
      if (info.full_id != c.id || k.pod_name != pod->name || k.ns_name != pod->ns) {
        __builtin_trap();
      }
      if (k.labels.size() != pod->labels.size()) __builtin_trap();
    }
    fresh.on_pod_event(WatchEventType::kDeleted, json);
    if (fresh.stats().pods != 0) __builtin_trap();
  }
  g_now += std::chrono::minutes(2);
  fresh.expire();
  if (fresh.stats().containers != 0) __builtin_trap();

  const WatchEventType types[] = {WatchEventType::kAdded, WatchEventType::kModified,
                                  WatchEventType::kDeleted};
  shared->on_pod_event(types[size % 3], json);
  vigil::fields::ContainerInfo info;
  vigil::fields::K8sInfo k;
  if (pod.ok() && !pod->containers.empty()) {
    (void)shared->lookup(pod->containers[0].id, info, k);
  }
  const vigil::agent::PodMetadataStats s = shared->stats();
  if (s.pods > 8 || s.containers > 16) __builtin_trap();
  return 0;
}
