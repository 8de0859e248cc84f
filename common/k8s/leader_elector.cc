#include "common/k8s/leader_elector.h"

#include <unistd.h>

#include <random>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/k8s/log.h"
#include "common/k8s/time_format.h"

namespace vigil::k8s {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// client-go's JitterFactor: retries while acquiring wait retry_period * [1, 1.2).
constexpr double kJitterFactor = 1.2;

std::string string_at(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

int int_at(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return 0;
  return it->get<int>();
}

}  // namespace

std::string default_leader_identity() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
    std::snprintf(host, sizeof(host), "vigil");
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{}_{:016x}", host, r);
}

Result<std::unique_ptr<LeaderElector>> LeaderElector::create(Client& client,
                                                             LeaderElectionConfig config,
                                                             LeaderCallbacks callbacks) {
  if (config.lease_namespace.empty() || config.lease_name.empty()) {
    return make_error("leader election needs a lease namespace and name");
  }
  if (config.identity.empty()) return make_error("leader election needs an identity");
  if (config.retry_period.count() <= 0) return make_error("retry_period must be greater than zero");
  if (config.lease_duration <= config.renew_deadline) {
    return make_error("lease_duration must be greater than renew_deadline");
  }
  if (static_cast<double>(config.renew_deadline.count()) <=
      kJitterFactor * static_cast<double>(config.retry_period.count())) {
    return make_error("renew_deadline must be greater than 1.2 * retry_period");
  }
  if (config.lease_duration < std::chrono::seconds(1)) {
    return make_error("lease_duration must be at least 1s (the Lease stores whole seconds)");
  }
  return std::unique_ptr<LeaderElector>(
      new LeaderElector(client, std::move(config), std::move(callbacks)));
}

LeaderElector::LeaderElector(Client& client, LeaderElectionConfig config, LeaderCallbacks callbacks)
    : client_(client), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool LeaderElector::is_leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leading_ && Clock::now() - renewed_at_ < config_.renew_deadline;
}

std::string LeaderElector::leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return observed_.holder;
}

std::string LeaderElector::describe() const {
  return fmt::format("lease {}/{}", config_.lease_namespace, config_.lease_name);
}

bool LeaderElector::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

std::chrono::milliseconds LeaderElector::jittered(std::chrono::milliseconds d) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> extra(0.0, kJitterFactor - 1.0);
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(d.count()) * (1.0 + extra(rng))));
}

void LeaderElector::observe(const Record& record, std::string lease_json, Clock::time_point at) {
  std::string new_leader;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (record.holder != observed_.holder) new_leader = record.holder;
    observed_ = record;
    observed_lease_ = std::move(lease_json);
    observed_at_ = at;
  }
  if (!new_leader.empty()) {
    logger().info("Observed {} held by {}", describe(), new_leader);
    if (callbacks_.on_new_leader) callbacks_.on_new_leader(new_leader);
  }
}

bool LeaderElector::write_lease(const Record& record, bool create) {
  json lease;
  std::string rv;
  if (create) {
    lease = {{"apiVersion", "coordination.k8s.io/v1"},
             {"kind", "Lease"},
             {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
             {"spec", json::object()}};
    if (!config_.owner_references_json.empty()) {
      json owners = json::parse(config_.owner_references_json, nullptr, false);
      if (owners.is_array()) lease["metadata"]["ownerReferences"] = std::move(owners);
    }
  } else {
    std::string base;
    {
      std::lock_guard<std::mutex> lock(mu_);
      base = observed_lease_;
    }
    // Update the Lease as last read, so labels, annotations and spec fields this code does not
    // know survive; its resourceVersion makes the PUT conditional.
    lease = json::parse(base, nullptr, /*allow_exceptions=*/false);
    if (!lease.is_object() || !lease.contains("metadata")) return false;
    lease["metadata"].erase("managedFields");
  }
  json& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object();
  spec["holderIdentity"] = record.holder;
  spec["leaseDurationSeconds"] = record.lease_duration_seconds;
  spec["acquireTime"] = record.acquire_time;
  spec["renewTime"] = record.renew_time;
  spec["leaseTransitions"] = record.transitions;

  const auto sent_at = Clock::now();
  auto written =
      create ? client_.create(leases(), config_.lease_namespace, lease.dump())
             : client_.update(leases(), config_.lease_namespace, config_.lease_name, lease.dump());
  if (!written) {
    if (written.error_code() == kStatusConflict) {
      logger().debug("Lost the race to {} {}: {}", create ? "create" : "update", describe(),
                     written.error());
    } else {
      logger().warn("Failed to {} {}: {}", create ? "create" : "update", describe(),
                    written.error());
    }
    return false;
  }
  observe(record, std::move(*written), sent_at);
  return true;
}

bool LeaderElector::try_acquire_or_renew() {
  const auto now_wall = std::chrono::system_clock::now();
  const auto now = Clock::now();
  const std::string now_str = format_micro_time(now_wall);
  Record desired;
  desired.holder = config_.identity;
  desired.lease_duration_seconds = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count());
  desired.acquire_time = now_str;
  desired.renew_time = now_str;

  // 1. Fast path: still the holder by our own observation; renew with the cached Lease.
  {
    bool renew = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      renew = !observed_lease_.empty() && observed_.holder == config_.identity &&
              now < observed_at_ + config_.lease_duration;
      if (renew) {
        desired.acquire_time = observed_.acquire_time;
        desired.transitions = observed_.transitions;
      }
    }
    if (renew && write_lease(desired, /*create=*/false)) return true;
  }

  // 2. Read the Lease; create it when there is none.
  auto got = client_.get(leases(), config_.lease_namespace, config_.lease_name);
  if (!got) {
    if (got.error_code() != kStatusNotFound) {
      logger().warn("Failed to get {}: {}", describe(), got.error());
      return false;
    }
    desired.acquire_time = now_str;
    desired.transitions = 0;
    return write_lease(desired, /*create=*/true);
  }
  const json lease = json::parse(*got, nullptr, /*allow_exceptions=*/false);
  if (!lease.is_object()) {
    logger().warn("Failed to parse {}: not a JSON object", describe());
    return false;
  }
  const json spec =
      lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : json::object();
  Record old;
  old.holder = string_at(spec, "holderIdentity");
  old.lease_duration_seconds = int_at(spec, "leaseDurationSeconds");
  old.acquire_time = string_at(spec, "acquireTime");
  old.renew_time = string_at(spec, "renewTime");
  old.transitions = int_at(spec, "leaseTransitions");

  // 3. Note when the record last changed, by the local clock.
  Clock::time_point observed_at;
  {
    std::unique_lock<std::mutex> lock(mu_);
    const bool changed = observed_lease_.empty() || !(old == observed_);
    if (changed) {
      lock.unlock();
      observe(old, *got, now);
      lock.lock();
    } else {
      observed_lease_ = *got;  // same record, maybe a newer resourceVersion
    }
    observed_at = observed_at_;
  }

  // 4. Held by someone else and not expired: wait.
  if (!old.holder.empty() && old.holder != config_.identity &&
      now < observed_at + std::chrono::seconds(old.lease_duration_seconds)) {
    return false;
  }

  // 5. Take it over (or renew it, if it is ours).
  if (old.holder == config_.identity) {
    desired.acquire_time = old.acquire_time;
    desired.transitions = old.transitions;
  } else {
    desired.transitions = old.transitions + 1;
  }
  return write_lease(desired, /*create=*/false);
}

void LeaderElector::release() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    Record released;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (observed_.holder != config_.identity) return;  // someone else holds it now
      released.transitions = observed_.transitions;
    }
    const std::string now = format_micro_time(std::chrono::system_clock::now());
    released.holder = "";
    released.lease_duration_seconds = 1;
    released.acquire_time = now;
    released.renew_time = now;
    if (write_lease(released, /*create=*/false)) {
      logger().info("Released {}", describe());
      return;
    }
    // A stale resourceVersion: read the Lease again and retry if it is still ours.
    auto got = client_.get(leases(), config_.lease_namespace, config_.lease_name);
    if (!got) break;
    const json lease = json::parse(*got, nullptr, /*allow_exceptions=*/false);
    if (!lease.is_object() || !lease.contains("spec")) break;
    Record current;
    current.holder = string_at(lease["spec"], "holderIdentity");
    current.lease_duration_seconds = int_at(lease["spec"], "leaseDurationSeconds");
    current.acquire_time = string_at(lease["spec"], "acquireTime");
    current.renew_time = string_at(lease["spec"], "renewTime");
    current.transitions = int_at(lease["spec"], "leaseTransitions");
    observe(current, *got, Clock::now());
  }
  logger().warn("Failed to release {}; it expires after its lease duration", describe());
}

void LeaderElector::run() {
  logger().info("Started leader election for {} as {}", describe(), config_.identity);
  while (true) {
    // Acquire.
    bool acquired = false;
    while (!acquired) {
      const auto attempt_at = Clock::now();
      acquired = try_acquire_or_renew();
      if (acquired) {
        std::lock_guard<std::mutex> lock(mu_);
        renewed_at_ = attempt_at;
        leading_ = true;
        break;
      }
      if (!sleep_for(jittered(config_.retry_period))) break;
    }
    if (!acquired) break;  // stopping
    logger().info("Acquired {} as {}", describe(), config_.identity);
    if (callbacks_.on_started_leading) callbacks_.on_started_leading();

    // Renew every retry_period; step down after renew_deadline without success.
    bool stopping = false;
    while (true) {
      if (!sleep_for(config_.retry_period)) {
        stopping = true;
        break;
      }
      const auto attempt_at = Clock::now();
      if (try_acquire_or_renew()) {
        std::lock_guard<std::mutex> lock(mu_);
        renewed_at_ = attempt_at;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (Clock::now() - renewed_at_ >= config_.renew_deadline ||
          observed_.holder != config_.identity) {
        break;  // lost it
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      leading_ = false;
    }
    if (stopping) {
      logger().info("Stopped leading {}", describe());
    } else {
      logger().warn("Lost {}: could not renew it within {} ms", describe(),
                    config_.renew_deadline.count());
    }
    if (callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
    if (stopping) {
      if (config_.release_on_stop) release();
      break;
    }
  }
  logger().info("Stopped leader election for {}", describe());
}

}  // namespace vigil::k8s
