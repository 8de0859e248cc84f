#include "agent/pod_metadata.h"

#include <algorithm>
#include <chrono>
#include <string>

#include <spdlog/spdlog.h>

namespace vigil::agent {

// =============================================================================================
// The cache
// =============================================================================================

// One pod version and the views lookup() hands out, which point into `pod`. Built in place and
// never moved or changed after.
struct PodMetadataCache::Snapshot {
  explicit Snapshot(PodInfo p) : pod(std::move(p)), key(pod.key()) {
    labels.reserve(pod.labels.size());
    for (const auto& [lk, lv] : pod.labels) {
      labels.push_back({lk, lv});
    }
    k8s.pod_name = pod.name;
    k8s.pod_uid = pod.uid;
    k8s.ns_name = pod.ns;
    k8s.pod_ip = pod.ip_addr;
    k8s.labels = labels;
    infos.reserve(pod.containers.size());
    for (const PodContainerInfo& c : pod.containers) {
      fields::ContainerInfo info;
      info.full_id = c.id;
      info.id = std::string_view(c.id).substr(0, kShortContainerIdLen);
      info.name = c.name;
      info.type = c.type;
      info.image = c.image;
      info.image_id = c.image_id;
      info.image_repository = c.image_repository;
      info.image_tag = c.image_tag;
      info.image_digest = c.image_digest;
      info.ip = pod.ip_addr;  // containers share the pod's network namespace
      info.start_ts = c.start_ts;
      info.privileged = c.privileged;
      info.host_pid = pod.host_pid;
      info.host_network = pod.host_network;
      info.host_ipc = pod.host_ipc;
      infos.push_back(info);
    }
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  bool lists(const std::string& id) const {
    return std::any_of(pod.containers.begin(), pod.containers.end(),
                       [&](const PodContainerInfo& c) { return c.id == id; });
  }

  const PodInfo pod;
  const std::string key;
  std::vector<fields::K8sLabel> labels;
  fields::K8sInfo k8s;
  std::vector<fields::ContainerInfo> infos;  // one per pod.containers
};

PodMetadataCache::PodMetadataCache(PodMetadataOptions options) : options_(std::move(options)) {
  key_.reserve(kContainerIdLen);
}

PodMetadataCache::~PodMetadataCache() = default;

PodMetadataCache::TimePoint PodMetadataCache::now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

void PodMetadataCache::on_pod_event(k8s::WatchEventType type, const std::string& pod_json) {
  if (type != k8s::WatchEventType::kAdded && type != k8s::WatchEventType::kModified &&
      type != k8s::WatchEventType::kDeleted) {
    return;
  }
  // Parsing and building the snapshot happen before the lock: lookups never wait for them.
  Result<PodInfo> pod = parse_pod(pod_json, options_.parse);
  if (!pod.ok()) {
    spdlog::debug("Skipped a pod {} event: {}", k8s::to_string(type), pod.error());
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.parse_errors;
    last_error_ = pod.error();
    return;
  }
  auto snap = std::make_shared<const Snapshot>(std::move(pod).value());
  const TimePoint t = now();
  // The pod's previous version, when this drops the last reference, is freed after the lock.
  std::shared_ptr<const Snapshot> replaced;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = pods_.find(snap->key); it != pods_.end()) {
      replaced = it->second;
    }
    ++stats_.events;
    if (type == k8s::WatchEventType::kDeleted) {
      delete_locked(snap, t);
    } else {
      upsert_locked(snap, t);
    }
    expire_locked(t);
  }
}

void PodMetadataCache::upsert_locked(const std::shared_ptr<const Snapshot>& snap, TimePoint t) {
  auto it = pods_.find(snap->key);
  if (it == pods_.end() && pods_.size() >= options_.max_pods) {
    ++stats_.dropped_pods;
    return;
  }
  if (it != pods_.end()) {
    // Ids the new version no longer lists (restarted containers) keep the old metadata for the
    // grace period.
    for (const PodContainerInfo& c : it->second->pod.containers) {
      if (!snap->lists(c.id)) {
        start_grace_locked(c.id, snap->key, t);
      }
    }
  }
  for (size_t i = 0; i < snap->pod.containers.size(); ++i) {
    put_locked(snap->pod.containers[i].id, snap, static_cast<uint32_t>(i));
  }
  pods_[snap->key] = snap;
}

void PodMetadataCache::delete_locked(const std::shared_ptr<const Snapshot>& snap, TimePoint t) {
  auto it = pods_.find(snap->key);
  if (it != pods_.end()) {
    for (const PodContainerInfo& c : it->second->pod.containers) {
      if (!snap->lists(c.id)) {
        start_grace_locked(c.id, snap->key, t);
      }
    }
    pods_.erase(it);
  }
  // The final state may name containers no earlier event did.
  for (size_t i = 0; i < snap->pod.containers.size(); ++i) {
    const std::string& id = snap->pod.containers[i].id;
    auto slot = containers_.find(id);
    if (slot != containers_.end() && slot->second.expires != kLive &&
        slot->second.snapshot->key == snap->key) {
      continue;  // already in its grace period
    }
    if (put_locked(id, snap, static_cast<uint32_t>(i))) {
      start_grace_locked(id, snap->key, t);
    }
  }
}

bool PodMetadataCache::put_locked(const std::string& id,
                                  const std::shared_ptr<const Snapshot>& snap, uint32_t index) {
  auto it = containers_.find(id);
  if (it == containers_.end()) {
    while (containers_.size() >= options_.max_containers) {
      if (!evict_one_locked()) {
        ++stats_.dropped_containers;
        return false;
      }
    }
    containers_.emplace(id, Slot{snap, index, kLive});
    return true;
  }
  // A live or expiring id listed again (a relist, a MODIFIED): the newest version wins. Its entry
  // in expiring_, if any, becomes stale.
  it->second = Slot{snap, index, kLive};
  return true;
}

void PodMetadataCache::start_grace_locked(const std::string& id, const std::string& key,
                                          TimePoint t) {
  auto it = containers_.find(id);
  if (it == containers_.end() || it->second.expires != kLive || it->second.snapshot->key != key) {
    return;  // gone, already expiring, or now listed by another pod
  }
  it->second.expires = t + options_.grace;
  expiring_.emplace_back(it->second.expires, id);
  // Stale entries accumulate when ids flap between live and expiring; keep the queue bounded by
  // rebuilding it from the live entries now and then.
  if (expiring_.size() > 2 * options_.max_containers + 64) {
    std::deque<std::pair<TimePoint, std::string>> kept;
    for (auto& e : expiring_) {
      auto s = containers_.find(e.second);
      if (s != containers_.end() && s->second.expires == e.first) {
        kept.push_back(std::move(e));
      }
    }
    expiring_.swap(kept);
  }
}

bool PodMetadataCache::evict_one_locked() {
  while (!expiring_.empty()) {
    auto [expires, id] = std::move(expiring_.front());
    expiring_.pop_front();
    auto it = containers_.find(id);
    if (it != containers_.end() && it->second.expires == expires) {
      containers_.erase(it);
      ++stats_.evicted;
      return true;
    }
  }
  return false;
}

void PodMetadataCache::expire_locked(TimePoint t) {
  while (!expiring_.empty() && expiring_.front().first <= t) {
    auto it = containers_.find(expiring_.front().second);
    if (it != containers_.end() && it->second.expires == expiring_.front().first) {
      containers_.erase(it);
      ++stats_.expired;
    }
    expiring_.pop_front();
  }
}

void PodMetadataCache::expire() {
  const TimePoint t = now();
  std::lock_guard<std::mutex> lock(mu_);
  expire_locked(t);
}

bool PodMetadataCache::lookup(std::string_view full_id, fields::ContainerInfo& c,
                              fields::K8sInfo& k) {
  // The previous answer's snapshot is released after the lock (it may be the last reference).
  std::shared_ptr<const Snapshot> previous = std::move(held_);
  held_.reset();
  key_.assign(full_id);  // capacity kept: no allocation
  const TimePoint t = now();
  uint32_t index = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = containers_.find(key_);
    // An id past its grace period that no event has expired yet is gone too.
    if (it == containers_.end() || it->second.expires <= t) {
      ++stats_.lookup_misses;
      return false;
    }
    ++stats_.lookup_hits;
    held_ = it->second.snapshot;
    index = it->second.index;
  }
  c = held_->infos[index];
  k = held_->k8s;
  return true;
}

PodMetadataStats PodMetadataCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  PodMetadataStats s = stats_;
  s.pods = pods_.size();
  s.containers = containers_.size();
  return s;
}

std::string PodMetadataCache::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

}  // namespace vigil::agent
