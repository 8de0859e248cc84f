#include "common/k8s/watch_stream.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace vigil::k8s {

namespace {

using nlohmann::json;

std::string string_at(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

bool LineDecoder::feed(std::string_view chunk, const LineHandler& on_line) {
  if (overflowed_) return false;
  while (!chunk.empty()) {
    const size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + chunk.size() > max_line_bytes_) {
        overflowed_ = true;
        partial_.clear();
        partial_.shrink_to_fit();
        return false;
      }
      partial_.append(chunk);
      return true;
    }
    std::string_view piece = chunk.substr(0, nl);
    chunk.remove_prefix(nl + 1);
    if (partial_.size() + piece.size() > max_line_bytes_) {
      overflowed_ = true;
      partial_.clear();
      partial_.shrink_to_fit();
      return false;
    }
    std::string_view line;
    if (partial_.empty()) {
      line = piece;  // the common case: no copy
    } else {
      partial_.append(piece);
      line = partial_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    const bool keep_going = blank || on_line(line);
    partial_.clear();
    if (!keep_going) return false;
  }
  return true;
}

std::string_view to_string(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

Result<WatchEvent> decode_watch_event(std::string_view line) {
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return make_error("watch event is not valid JSON");
  if (!doc.is_object()) return make_error("watch event is not a JSON object");
  const std::string type = string_at(doc, "type");
  WatchEvent ev;
  if (type == "ADDED") {
    ev.type = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    ev.type = WatchEventType::kModified;
  } else if (type == "DELETED") {
    ev.type = WatchEventType::kDeleted;
  } else if (type == "BOOKMARK") {
    ev.type = WatchEventType::kBookmark;
  } else if (type == "ERROR") {
    ev.type = WatchEventType::kError;
  } else {
    return make_error(fmt::format("watch event has unknown type \"{}\"", type.substr(0, 64)));
  }
  auto obj_it = doc.find("object");
  if (obj_it == doc.end() || !obj_it->is_object()) {
    return make_error(fmt::format("{} watch event has no object", type));
  }
  json& obj = *obj_it;
  if (ev.type == WatchEventType::kError) {
    if (auto c = obj.find("code"); c != obj.end() && c->is_number_integer())
      ev.code = c->get<int>();
    ev.reason = string_at(obj, "reason");
    ev.message = string_at(obj, "message");
    ev.object_json = obj.dump();
    return ev;
  }
  const auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) {
    return make_error(fmt::format("{} watch event's object has no metadata", type));
  }
  ev.resource_version = string_at(*meta, "resourceVersion");
  if (ev.resource_version.empty()) {
    return make_error(fmt::format("{} watch event's object has no metadata.resourceVersion", type));
  }
  if (ev.type == WatchEventType::kBookmark) return ev;  // carries nothing else of use
  ev.ns = string_at(*meta, "namespace");
  ev.name = string_at(*meta, "name");
  if (ev.name.empty()) {
    return make_error(fmt::format("{} watch event's object has no metadata.name", type));
  }
  ev.object_json = obj.dump();
  return ev;
}

bool is_expired(const WatchEvent& e) {
  return e.type == WatchEventType::kError &&
         (e.code == kStatusGone || e.reason == "Expired" || e.reason == "Gone");
}

}  // namespace vigil::k8s
