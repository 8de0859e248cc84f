#include "common/k8s/watcher.h"

#include <random>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/k8s/log.h"

namespace vigil::k8s {

namespace {

using nlohmann::json;

// A stream that ends this soon without delivering anything counts as a failure, so a server that
// accepts watches and closes them at once is not hammered.
constexpr std::chrono::seconds kMinHealthyStream{1};
// A continue token can expire mid-list (410); the list then starts over, a few times at most.
constexpr int kListRestarts = 3;

std::string string_at(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

Watcher::Watcher(Client& client, WatcherOptions options, WatchHandler handler)
    : client_(client),
      options_(std::move(options)),
      handler_(std::move(handler)),
      backoff_(options_.backoff) {}

Watcher::~Watcher() { stop(); }

void Watcher::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void Watcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  cancel_.cancel();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool Watcher::has_synced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

bool Watcher::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return synced_ || stopping_; }) && synced_;
}

std::optional<CachedObject> Watcher::get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, CachedObject> Watcher::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_;
}

std::string Watcher::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

WatcherStats Watcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string Watcher::describe() const {
  std::string what = options_.resource.display_name();
  if (!options_.ns.empty()) what += " in namespace " + options_.ns;
  if (!options_.label_selector.empty()) what += " matching " + options_.label_selector;
  return what;
}

bool Watcher::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

void Watcher::run() {
  logger().info("Started watching {}", describe());
  bool need_list = true;
  bool first = true;
  bool running = true;
  while (running) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    if (need_list) {
      if (!list_and_replace(!first)) {
        running = sleep_for(backoff_.next());
        continue;
      }
      first = false;
      need_list = false;
    }
    switch (watch_once()) {
      case StreamOutcome::kResume:
        break;
      case StreamOutcome::kRelist:
        need_list = true;
        break;
      case StreamOutcome::kBackOff:
        running = sleep_for(backoff_.next());
        break;
      case StreamOutcome::kStopped:
        running = false;
        break;
    }
  }
  logger().info("Stopped watching {}", describe());
}

Result<std::string> Watcher::list_all(std::vector<ListedObject>& out) {
  for (int restart = 0;; ++restart) {
    out.clear();
    ListOptions lo;
    lo.label_selector = options_.label_selector;
    lo.field_selector = options_.field_selector;
    lo.limit = options_.page_size;
    std::string list_rv;
    bool expired = false;
    while (true) {
      auto page = client_.list(options_.resource, options_.ns, lo);
      if (!page) {
        if (page.error_code() == kStatusGone && !lo.continue_token.empty() &&
            restart < kListRestarts) {
          expired = true;  // the continue token expired: start over
          break;
        }
        return Error{page.error(), page.error_code()};
      }
      json doc = json::parse(*page, nullptr, /*allow_exceptions=*/false);
      if (!doc.is_object()) return make_error("the list response is not a JSON object");
      const json& meta = doc.contains("metadata") ? doc["metadata"] : json::object();
      list_rv = meta.is_object() ? string_at(meta, "resourceVersion") : "";
      // List items omit kind and apiVersion; fill them in so they look like watched objects.
      std::string kind = string_at(doc, "kind");
      if (kind.size() > 4 && kind.ends_with("List")) kind.resize(kind.size() - 4);
      const std::string api_version = string_at(doc, "apiVersion");
      auto items = doc.find("items");
      if (items != doc.end() && items->is_array()) {
        for (json& item : *items) {
          if (!item.is_object()) continue;
          if (!item.contains("kind") && !kind.empty()) item["kind"] = kind;
          if (!item.contains("apiVersion") && !api_version.empty())
            item["apiVersion"] = api_version;
          const auto m = item.find("metadata");
          if (m == item.end() || !m->is_object()) continue;
          const std::string name = string_at(*m, "name");
          if (name.empty()) continue;
          out.push_back(ListedObject{object_key(string_at(*m, "namespace"), name),
                                     string_at(*m, "resourceVersion"),
                                     std::make_shared<const std::string>(item.dump())});
        }
      }
      lo.continue_token = meta.is_object() ? string_at(meta, "continue") : "";
      if (lo.continue_token.empty()) break;
    }
    if (expired) {
      logger().info("Restarted the list of {}: its continue token expired", describe());
      continue;
    }
    if (list_rv.empty()) return make_error("the list response has no metadata.resourceVersion");
    return list_rv;
  }
}

bool Watcher::list_and_replace(bool relist) {
  std::vector<ListedObject> listed;
  auto rv = list_all(listed);
  if (!rv) {
    logger().warn("Failed to list {}: {}", describe(), rv.error());
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
    return false;
  }
  // Work out what changed against the cache, then deliver it outside the lock.
  std::vector<std::pair<WatchEventType, std::shared_ptr<const std::string>>> changes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, CachedObject> next;
    for (ListedObject& obj : listed) {
      const auto old = cache_.find(obj.key);
      if (old == cache_.end()) {
        changes.emplace_back(WatchEventType::kAdded, obj.object);
      } else if (old->second.resource_version != obj.resource_version) {
        changes.emplace_back(WatchEventType::kModified, obj.object);
      }
      next[obj.key] = CachedObject{obj.object, obj.resource_version};
    }
    for (const auto& [key, old] : cache_) {
      if (next.find(key) == next.end()) changes.emplace_back(WatchEventType::kDeleted, old.object);
    }
    cache_ = std::move(next);
    resource_version_ = *rv;
    ++stats_.lists;
    if (relist) ++stats_.relists;
    stats_.events += changes.size();
  }
  for (const auto& [type, object] : changes) handler_(type, *object);
  if (relist) {
    logger().info("Relisted {} at resourceVersion {}: {} objects, {} changes", describe(), *rv,
                  listed.size(), changes.size());
  } else {
    logger().info("Listed {} at resourceVersion {}: {} objects", describe(), *rv, listed.size());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    synced_ = true;
  }
  cv_.notify_all();
  backoff_.reset();
  return true;
}

void Watcher::apply(const WatchEvent& ev) {
  auto object = std::make_shared<const std::string>(ev.object_json);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = object_key(ev.ns, ev.name);
    if (ev.type == WatchEventType::kDeleted) {
      cache_.erase(key);
    } else {
      cache_[key] = CachedObject{object, ev.resource_version};
    }
    resource_version_ = ev.resource_version;
    ++stats_.events;
  }
  handler_(ev.type, *object);
}

Watcher::StreamOutcome Watcher::watch_once() {
  WatchOptions wo;
  wo.label_selector = options_.label_selector;
  wo.field_selector = options_.field_selector;
  wo.resource_version = resource_version();
  wo.allow_bookmarks = true;
  {
    static thread_local std::mt19937 rng{std::random_device{}()};
    const auto min = std::max<int64_t>(1, options_.min_watch_timeout.count());
    wo.timeout_seconds =
        static_cast<int>(std::uniform_int_distribution<int64_t>(min, 2 * min)(rng));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.watches;
  }

  const auto started = std::chrono::steady_clock::now();
  bool delivered = false;
  bool expired = false;
  std::string stream_error;
  auto end = client_.watch(
      options_.resource, options_.ns, wo,
      [&](std::string_view line) {
        auto ev = decode_watch_event(line);
        if (!ev) {
          stream_error = ev.error();
          return false;
        }
        switch (ev->type) {
          case WatchEventType::kAdded:
          case WatchEventType::kModified:
          case WatchEventType::kDeleted:
            apply(*ev);
            delivered = true;
            return true;
          case WatchEventType::kBookmark: {
            std::lock_guard<std::mutex> lock(mu_);
            resource_version_ = ev->resource_version;
            delivered = true;
            return true;
          }
          case WatchEventType::kError:
            if (is_expired(*ev)) {
              expired = true;
            } else {
              stream_error = fmt::format("the server sent an error: {} {}: {}", ev->code,
                                         ev->reason, ev->message);
            }
            return false;
        }
        return false;
      },
      cancel_);

  if (cancel_.cancelled()) return StreamOutcome::kStopped;
  const auto count_error = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.errors;
  };
  if (!end) {
    if (end.error_code() == kStatusGone) {
      logger().info("Relisting {}: resourceVersion {} is too old (410 Gone)", describe(),
                    wo.resource_version);
      return StreamOutcome::kRelist;
    }
    count_error();
    logger().warn("Watch of {} failed: {}", describe(), end.error());
    return StreamOutcome::kBackOff;
  }
  if (expired) {
    logger().info("Relisting {}: resourceVersion {} expired", describe(), wo.resource_version);
    return StreamOutcome::kRelist;
  }
  if (!stream_error.empty()) {
    count_error();
    logger().warn("Watch of {} ended: {}", describe(), stream_error);
    return StreamOutcome::kBackOff;
  }
  if (!delivered && std::chrono::steady_clock::now() - started < kMinHealthyStream) {
    return StreamOutcome::kBackOff;
  }
  backoff_.reset();
  return StreamOutcome::kResume;
}

}  // namespace vigil::k8s
