#include "test/fakes/fake_kube_client.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/k8s/time_format.h"

namespace vigil::testing {

namespace {

using k8s::ResourceRef;
using nlohmann::json;

std::string type_key(const ResourceRef& ref) { return ref.group + "/" + ref.resource; }

Error status_error(int code, std::string message) { return Error{std::move(message), code}; }

std::string string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// Everything outside metadata and status: a change here bumps metadata.generation.
json spec_part(const json& obj) {
  json copy = obj;
  copy.erase("metadata");
  copy.erase("status");
  return copy;
}

// One requirement of a label selector.
struct LabelRequirement {
  std::string key;
  enum { kEquals, kNotEquals, kExists, kNotExists } op;
  std::string value;
};

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  return std::string(s.substr(first, s.find_last_not_of(' ') - first + 1));
}

std::vector<LabelRequirement> parse_selector(std::string_view selector) {
  std::vector<LabelRequirement> out;
  while (!selector.empty()) {
    const auto comma = selector.find(',');
    const std::string term = trim(selector.substr(0, comma));
    selector = comma == std::string_view::npos ? std::string_view() : selector.substr(comma + 1);
    if (term.empty()) continue;
    if (const auto ne = term.find("!="); ne != std::string::npos) {
      out.push_back(
          {trim(term.substr(0, ne)), LabelRequirement::kNotEquals, trim(term.substr(ne + 2))});
    } else if (const auto eq = term.find('='); eq != std::string::npos) {
      const size_t vstart = term.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1;
      out.push_back(
          {trim(term.substr(0, eq)), LabelRequirement::kEquals, trim(term.substr(vstart))});
    } else if (term[0] == '!') {
      out.push_back({trim(term.substr(1)), LabelRequirement::kNotExists, ""});
    } else {
      out.push_back({term, LabelRequirement::kExists, ""});
    }
  }
  return out;
}

bool matches(const json& obj, const k8s::ListOptions& o) {
  const json& meta = obj["metadata"];
  const json labels = meta.contains("labels") ? meta["labels"] : json::object();
  for (const auto& r : parse_selector(o.label_selector)) {
    const auto it = labels.find(r.key);
    const bool has = it != labels.end() && it->is_string();
    const std::string v = has ? it->get<std::string>() : "";
    switch (r.op) {
      case LabelRequirement::kEquals:
        if (!has || v != r.value) return false;
        break;
      case LabelRequirement::kNotEquals:
        if (has && v == r.value) return false;
        break;
      case LabelRequirement::kExists:
        if (!has) return false;
        break;
      case LabelRequirement::kNotExists:
        if (has) return false;
        break;
    }
  }
  for (const auto& r : parse_selector(o.field_selector)) {
    std::string actual;
    if (r.key == "metadata.name") {
      actual = string_at(meta, "name");
    } else if (r.key == "metadata.namespace") {
      actual = string_at(meta, "namespace");
    } else {
      continue;  // other fields are not modelled
    }
    if ((r.op == LabelRequirement::kEquals) != (actual == r.value)) return false;
  }
  return true;
}

}  // namespace

struct FakeKubeClient::State {
  struct Change {
    int64_t rv;
    std::string type_key;
    std::string ns;
    std::string type;  // ADDED, MODIFIED, DELETED
    json object;
  };

  mutable std::mutex mu;
  std::condition_variable cv;
  int64_t rv = 100;                                            // guarded by mu
  int64_t uid_counter = 0;                                     // guarded by mu
  std::map<std::string, std::map<std::string, json>> objects;  // guarded by mu: type → key → object
  std::set<std::string> status_subresources;                   // guarded by mu
  std::vector<Change> history;                                 // guarded by mu
  int64_t compacted_rv = 0;                                    // guarded by mu
  uint64_t close_generation = 0;                               // guarded by mu
  int open_watches = 0;                                        // guarded by mu
  std::map<std::string, std::pair<int, int>> failures;  // guarded by mu: verb → (code, count)
  std::vector<std::string> calls;                       // guarded by mu

  // Records the call; returns an injected failure for it, if any.
  std::optional<Error> begin(const std::string& verb, const ResourceRef& ref, std::string_view ns,
                             std::string_view name) {
    calls.push_back(fmt::format("{} {} {}", verb, ref.resource, k8s::object_key(ns, name)));
    auto it = failures.find(verb);
    if (it == failures.end() || it->second.second <= 0) return std::nullopt;
    --it->second.second;
    return status_error(it->second.first,
                        fmt::format("injected failure: {} {}", verb, it->second.first));
  }

  std::string bump(json& obj) {
    ++rv;
    obj["metadata"]["resourceVersion"] = std::to_string(rv);
    return std::to_string(rv);
  }

  void record(const std::string& tk, const std::string& ns, const char* type, const json& obj) {
    history.push_back(Change{rv, tk, ns, type, obj});
    cv.notify_all();
  }

  static std::string describe(const ResourceRef& ref, std::string_view ns, std::string_view name) {
    return fmt::format("{} \"{}\"", ref.display_name(), k8s::object_key(ns, name));
  }

  Result<std::string> create(const ResourceRef& ref, std::string_view ns_in, json obj) {
    if (!obj.is_object()) return status_error(400, "the object is not a JSON object");
    json& meta = obj["metadata"];
    if (!meta.is_object()) meta = json::object();
    const std::string ns = ref.namespaced ? std::string(ns_in) : "";
    std::string name = string_at(meta, "name");
    if (name.empty() && !string_at(meta, "generateName").empty()) {
      name = string_at(meta, "generateName") + std::to_string(++uid_counter);
      meta["name"] = name;
    }
    if (name.empty()) return status_error(422, "metadata.name: Required value");
    if (ref.namespaced) meta["namespace"] = ns;
    const std::string tk = type_key(ref);
    const std::string key = k8s::object_key(ns, name);
    auto& objs = objects[tk];
    if (objs.count(key) != 0) {
      return status_error(409, describe(ref, ns, name) + " already exists");
    }
    meta["uid"] = fmt::format("00000000-0000-4000-8000-{:012}", ++uid_counter);
    meta["creationTimestamp"] = k8s::format_time(std::chrono::system_clock::now());
    meta["generation"] = 1;
    meta.erase("deletionTimestamp");
    if (status_subresources.count(tk) != 0) obj.erase("status");
    bump(obj);
    objs[key] = obj;
    record(tk, ns, "ADDED", obj);
    return obj.dump();
  }

  // Stores `next` over the existing object, enforcing the rules of a write.
  Result<std::string> replace(const ResourceRef& ref, const std::string& ns,
                              const std::string& name, json next, bool status_write) {
    const std::string tk = type_key(ref);
    auto& objs = objects[tk];
    const auto it = objs.find(k8s::object_key(ns, name));
    if (it == objs.end()) return status_error(404, describe(ref, ns, name) + " not found");
    const json& old = it->second;
    if (!next.is_object()) return status_error(400, "the object is not a JSON object");
    const std::string want_rv = string_at(next["metadata"], "resourceVersion");
    if (!want_rv.empty() && want_rv != string_at(old["metadata"], "resourceVersion")) {
      return status_error(409, "Operation cannot be fulfilled on " + describe(ref, ns, name) +
                                   ": the object has been modified; please apply your changes "
                                   "to the latest version and try again");
    }
    const bool subresource = status_subresources.count(tk) != 0;
    json stored;
    if (status_write) {
      stored = old;
      if (next.contains("status")) {
        stored["status"] = next["status"];
      } else {
        stored.erase("status");
      }
    } else {
      stored = next;
      json& meta = stored["metadata"];
      // Server-owned metadata comes from the stored object.
      for (const char* key :
           {"uid", "creationTimestamp", "generation", "deletionTimestamp", "namespace", "name"}) {
        if (old["metadata"].contains(key)) {
          meta[key] = old["metadata"][key];
        } else {
          meta.erase(key);
        }
      }
      if (subresource) {
        if (old.contains("status")) {
          stored["status"] = old["status"];
        } else {
          stored.erase("status");
        }
      }
      if (spec_part(stored) != spec_part(old)) {
        meta["generation"] = old["metadata"].value("generation", 0) + 1;
      }
      if (old["metadata"].contains("deletionTimestamp")) {
        const json finalizers = meta.value("finalizers", json::array());
        const json old_finalizers = old["metadata"].value("finalizers", json::array());
        for (const auto& f : finalizers) {
          if (std::find(old_finalizers.begin(), old_finalizers.end(), f) == old_finalizers.end()) {
            return status_error(422,
                                "metadata.finalizers: Forbidden: no new finalizers can be added "
                                "if the object is being deleted");
          }
        }
      }
    }
    bump(stored);
    const bool finalized = stored["metadata"].contains("deletionTimestamp") &&
                           stored["metadata"].value("finalizers", json::array()).empty();
    if (finalized) {
      objs.erase(it);
      record(tk, ns, "DELETED", stored);
    } else {
      it->second = stored;
      record(tk, ns, "MODIFIED", stored);
    }
    return stored.dump();
  }

  Result<std::string> patch(const ResourceRef& ref, std::string_view ns_in,
                            std::string_view name_in, std::string_view patch_text,
                            k8s::PatchType type, bool status_write) {
    const std::string ns = ref.namespaced ? std::string(ns_in) : "";
    const std::string name(name_in);
    json p = json::parse(patch_text, nullptr, /*allow_exceptions=*/false);
    if (p.is_discarded()) return status_error(400, "the patch is not valid JSON");
    auto& objs = objects[type_key(ref)];
    const auto it = objs.find(k8s::object_key(ns, name));
    if (it == objs.end()) {
      if (type == k8s::PatchType::kApply && !status_write) {
        if (p.is_object()) p["metadata"]["name"] = name;
        return create(ref, ns, std::move(p));
      }
      return status_error(404, describe(ref, ns, name) + " not found");
    }
    json next = it->second;
    try {
      if (type == k8s::PatchType::kJson) {
        next = next.patch(p);
      } else {
        next.merge_patch(p);
      }
    } catch (const json::exception& e) {
      return status_error(422, std::string("the patch cannot be applied: ") + e.what());
    }
    // A resourceVersion in the patch is a precondition; otherwise the write is unconditional.
    const std::string want_rv =
        p.is_object() ? string_at(p.value("metadata", json::object()), "resourceVersion") : "";
    next["metadata"]["resourceVersion"] = want_rv;
    return replace(ref, ns, name, std::move(next), status_write);
  }
};

FakeKubeClient::FakeKubeClient() : state_(std::make_unique<State>()) {}
FakeKubeClient::~FakeKubeClient() { close_watches(); }

void FakeKubeClient::enable_status_subresource(const ResourceRef& ref) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->status_subresources.insert(type_key(ref));
}

void FakeKubeClient::fail_next(const std::string& verb, int code, int count) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->failures[verb] = {code, count};
}

void FakeKubeClient::compact() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->history.clear();
  state_->compacted_rv = state_->rv;
}

void FakeKubeClient::close_watches() {
  std::lock_guard<std::mutex> lock(state_->mu);
  ++state_->close_generation;
  state_->cv.notify_all();
}

int FakeKubeClient::open_watches() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->open_watches;
}

std::vector<std::string> FakeKubeClient::calls() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->calls;
}

std::string FakeKubeClient::resource_version() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return std::to_string(state_->rv);
}

Result<k8s::Response> FakeKubeClient::request(std::string_view method, std::string_view path,
                                              std::string_view, std::string_view) {
  return make_error(
      fmt::format("FakeKubeClient does not serve raw requests ({} {})", method, path));
}

Result<std::string> FakeKubeClient::get(const ResourceRef& ref, std::string_view ns_in,
                                        std::string_view name) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const std::string ns = ref.namespaced ? std::string(ns_in) : "";
  if (auto e = state_->begin("get", ref, ns, name)) return *e;
  auto& objs = state_->objects[type_key(ref)];
  const auto it = objs.find(k8s::object_key(ns, name));
  if (it == objs.end()) return status_error(404, State::describe(ref, ns, name) + " not found");
  return it->second.dump();
}

Result<std::string> FakeKubeClient::list(const ResourceRef& ref, std::string_view ns_in,
                                         const k8s::ListOptions& options) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const std::string ns = ref.namespaced ? std::string(ns_in) : "";
  if (auto e = state_->begin("list", ref, ns, "")) return *e;
  json items = json::array();
  std::string next_continue;
  std::string last_key;
  for (const auto& [key, obj] : state_->objects[type_key(ref)]) {
    if (!options.continue_token.empty() && key <= options.continue_token) continue;
    if (!ns.empty() && string_at(obj["metadata"], "namespace") != ns) continue;
    if (!matches(obj, options)) continue;
    if (options.limit > 0 && static_cast<int64_t>(items.size()) == options.limit) {
      next_continue = last_key;
      break;
    }
    items.push_back(obj);
    last_key = key;
  }
  json meta = {{"resourceVersion", std::to_string(state_->rv)}};
  if (!next_continue.empty()) meta["continue"] = next_continue;
  return json{
      {"kind", "List"}, {"apiVersion", ref.api_version()}, {"metadata", meta}, {"items", items}}
      .dump();
}

Result<std::string> FakeKubeClient::create(const ResourceRef& ref, std::string_view ns,
                                           std::string_view object_json, const k8s::WriteOptions&) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (auto e = state_->begin("create", ref, ns, "")) return *e;
  json obj = json::parse(object_json, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return status_error(400, "the object is not valid JSON");
  return state_->create(ref, ns, std::move(obj));
}

Result<std::string> FakeKubeClient::update(const ResourceRef& ref, std::string_view ns,
                                           std::string_view name, std::string_view object_json,
                                           const k8s::WriteOptions&) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (auto e = state_->begin("update", ref, ns, name)) return *e;
  json obj = json::parse(object_json, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return status_error(400, "the object is not valid JSON");
  return state_->replace(ref, ref.namespaced ? std::string(ns) : "", std::string(name),
                         std::move(obj), false);
}

Result<std::string> FakeKubeClient::update_status(const ResourceRef& ref, std::string_view ns,
                                                  std::string_view name,
                                                  std::string_view object_json,
                                                  const k8s::WriteOptions&) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (auto e = state_->begin("update", ref, ns, name)) return *e;
  if (state_->status_subresources.count(type_key(ref)) == 0) {
    return status_error(404, ref.display_name() + " has no status subresource");
  }
  json obj = json::parse(object_json, nullptr, /*allow_exceptions=*/false);
  if (obj.is_discarded()) return status_error(400, "the object is not valid JSON");
  return state_->replace(ref, ref.namespaced ? std::string(ns) : "", std::string(name),
                         std::move(obj), true);
}

Result<std::string> FakeKubeClient::patch(const ResourceRef& ref, std::string_view ns,
                                          std::string_view name, std::string_view patch,
                                          k8s::PatchType type, const k8s::WriteOptions&) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (auto e = state_->begin("patch", ref, ns, name)) return *e;
  return state_->patch(ref, ns, name, patch, type, false);
}

Result<std::string> FakeKubeClient::patch_status(const ResourceRef& ref, std::string_view ns,
                                                 std::string_view name, std::string_view patch,
                                                 k8s::PatchType type, const k8s::WriteOptions&) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (auto e = state_->begin("patch", ref, ns, name)) return *e;
  if (state_->status_subresources.count(type_key(ref)) == 0) {
    return status_error(404, ref.display_name() + " has no status subresource");
  }
  return state_->patch(ref, ns, name, patch, type, true);
}

Result<std::string> FakeKubeClient::remove(const ResourceRef& ref, std::string_view ns_in,
                                           std::string_view name, std::string_view) {
  std::lock_guard<std::mutex> lock(state_->mu);
  const std::string ns = ref.namespaced ? std::string(ns_in) : "";
  if (auto e = state_->begin("delete", ref, ns, name)) return *e;
  const std::string tk = type_key(ref);
  auto& objs = state_->objects[tk];
  const auto it = objs.find(k8s::object_key(ns, name));
  if (it == objs.end()) return status_error(404, State::describe(ref, ns, name) + " not found");
  json obj = it->second;
  if (!obj["metadata"].value("finalizers", json::array()).empty()) {
    if (!obj["metadata"].contains("deletionTimestamp")) {
      obj["metadata"]["deletionTimestamp"] = k8s::format_time(std::chrono::system_clock::now());
      state_->bump(obj);
      it->second = obj;
      state_->record(tk, ns, "MODIFIED", obj);
    }
    return obj.dump();
  }
  objs.erase(it);
  state_->bump(obj);
  state_->record(tk, ns, "DELETED", obj);
  return obj.dump();
}

Result<k8s::StreamEnd> FakeKubeClient::watch(const ResourceRef& ref, std::string_view ns_in,
                                             const k8s::WatchOptions& options,
                                             const k8s::LineHandler& on_line,
                                             k8s::CancelToken& cancel) {
  State& s = *state_;
  const std::string ns = ref.namespaced ? std::string(ns_in) : "";
  const std::string tk = type_key(ref);
  k8s::ListOptions filter;
  filter.label_selector = options.label_selector;
  filter.field_selector = options.field_selector;
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::seconds(options.timeout_seconds > 0 ? options.timeout_seconds : 3600);

  std::unique_lock<std::mutex> lock(s.mu);
  if (auto e = s.begin("watch", ref, ns, "")) return *e;
  const uint64_t generation = s.close_generation;
  ++s.open_watches;
  lock.unlock();
  cancel.set_waker([&s] {
    std::lock_guard<std::mutex> l(s.mu);
    s.cv.notify_all();
  });
  lock.lock();

  auto finish = [&](Result<k8s::StreamEnd> r) {
    --s.open_watches;
    lock.unlock();
    cancel.set_waker({});
    return r;
  };
  // Delivers one line without holding the lock; false when the handler ended the stream.
  auto send = [&](const std::string& line) {
    lock.unlock();
    const bool more = on_line(line);
    lock.lock();
    return more;
  };

  int64_t cursor = 0;
  const std::string& from = options.resource_version;
  if (from.empty() || from == "0") {
    // Synthetic ADDED events for the current state, then changes after it.
    cursor = s.rv;
    std::vector<json> current;
    for (const auto& [key, obj] : s.objects[tk]) {
      if ((ns.empty() || string_at(obj["metadata"], "namespace") == ns) && matches(obj, filter)) {
        current.push_back(obj);
      }
    }
    for (const json& obj : current) {
      if (!send(json{{"type", "ADDED"}, {"object", obj}}.dump()))
        return finish(k8s::StreamEnd::kStopped);
    }
  } else {
    try {
      cursor = std::stoll(from);
    } catch (const std::exception&) {
      return finish(status_error(400, "invalid resourceVersion " + from));
    }
    if (cursor < s.compacted_rv) {
      const json status = {
          {"kind", "Status"},
          {"apiVersion", "v1"},
          {"status", "Failure"},
          {"reason", "Expired"},
          {"code", 410},
          {"message", fmt::format("too old resource version: {} ({})", cursor, s.compacted_rv)}};
      send(json{{"type", "ERROR"}, {"object", status}}.dump());
      return finish(k8s::StreamEnd::kClosed);
    }
  }

  while (true) {
    if (cancel.cancelled()) return finish(k8s::StreamEnd::kCancelled);
    if (s.close_generation != generation) return finish(k8s::StreamEnd::kClosed);
    bool sent_any = false;
    for (const State::Change& c : s.history) {
      if (c.rv <= cursor) continue;
      cursor = c.rv;
      if (c.type_key != tk || (!ns.empty() && c.ns != ns) || !matches(c.object, filter)) continue;
      const std::string line = json{{"type", c.type}, {"object", c.object}}.dump();
      sent_any = true;
      if (!send(line)) return finish(k8s::StreamEnd::kStopped);
      break;  // the history may have changed while unlocked: rescan from the cursor
    }
    if (sent_any) continue;
    if (std::chrono::steady_clock::now() >= deadline) return finish(k8s::StreamEnd::kClosed);
    s.cv.wait_until(lock, deadline);
  }
}

}  // namespace vigil::testing
