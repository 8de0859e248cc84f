#pragma once

// Decoding a watch response: the body is newline-delimited JSON events
// ({"type":"ADDED","object":{...}}), delivered in chunks that split lines anywhere.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/k8s/client.h"

namespace vigil::k8s {

// Splits a chunked byte stream into lines, holding at most one partial line (bounded by
// max_line_bytes), so memory stays constant per event.
class LineDecoder {
 public:
  static constexpr size_t kDefaultMaxLineBytes = 16u << 20;  // etcd stores objects up to 1.5 MiB

  explicit LineDecoder(size_t max_line_bytes = kDefaultMaxLineBytes)
      : max_line_bytes_(max_line_bytes) {}

  // Calls on_line for each complete, non-blank line (without "\n" or "\r\n"). Returns false when
  // on_line returned false or a line grew past the limit (then overflowed() is true); the
  // decoder must not be fed again after that.
  bool feed(std::string_view chunk, const LineHandler& on_line);

  // Bytes of an unterminated last line.
  size_t pending_bytes() const { return partial_.size(); }
  bool overflowed() const { return overflowed_; }

 private:
  size_t max_line_bytes_;
  std::string partial_;
  bool overflowed_ = false;
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

std::string_view to_string(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kError;
  std::string object_json;  // the object (for kError: the Status)
  std::string ns;           // metadata.namespace
  std::string name;         // metadata.name
  std::string resource_version;
  // kError only: the Status's code, reason and message.
  int code = 0;
  std::string reason;
  std::string message;
};

// Parses one event line. Malformed JSON, an unknown type or an object without metadata is an
// error that names the problem.
Result<WatchEvent> decode_watch_event(std::string_view line);

// True for an ERROR event meaning "the resourceVersion is too old": code 410, reason Expired or
// Gone. The watcher relists on it.
bool is_expired(const WatchEvent& error_event);

}  // namespace vigil::k8s
