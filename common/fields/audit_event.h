#pragma once

// One Kubernetes audit event (audit.k8s.io/v1 Event) and the decoder for what the API server's
// audit webhook POSTs: an EventList, a single Event, or JSON lines of either (the audit log file).
//
// Audit bodies are untrusted input. The decoder is a small JSON parser of its own: it never
// throws, caps nesting and size, reports errors with line, column and item index, and keeps the
// parsed document compact (strings are views into one copy of the body). Every event of one body
// shares that document, so decoding a 400-event batch costs one copy and one node array.
//
// The decoder is lenient where kube-apiserver is: the requestObject of a patch is the client's
// raw patch, copied verbatim into the event, and Go's encoding/json accepts invalid UTF-8, lone
// surrogates, duplicate keys and deep nesting there. Rejecting such an event would let a client
// hide its own request (or, with all-or-nothing decoding, the whole batch), so:
//  - invalid UTF-8 bytes and lone surrogates decode to U+FFFD, as in Go;
//  - with duplicate keys the last one wins, as in Go (the Falco plugin's fastjson takes the first);
//  - a container nested deeper than max_depth is dropped (it reads as null) and the event is
//    marked truncated(); only nesting past Go's own limit (10000) is a syntax error.
// The envelope the API server writes itself (auditID, stage, user, objectRef, ...) is checked
// strictly: a wrong type there is an error naming the item and the field.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace vigil::fields {

class Arena;

enum class JsonKind : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

// One value of a parsed document. Nodes are stored in document order: an array's or object's
// children follow it directly, and a child's next sibling follows the child's own subtree.
struct JsonNode {
  std::string_view key;   // the member name when the parent is an object
  std::string_view text;  // kString: the decoded string; kNumber: the number as written
  uint32_t span = 1;      // nodes in this value's subtree, itself included
  uint32_t count = 0;     // kArray, kObject: number of children
  JsonKind kind = JsonKind::kNull;
};

// A cheap, read-only handle to a value of an AuditEvent's document; invalid when the value is
// absent. Valid as long as an AuditEvent of that document lives.
class JsonRef {
 public:
  JsonRef() = default;
  explicit JsonRef(const JsonNode* node) : node_(node) {}

  bool valid() const { return node_ != nullptr; }
  explicit operator bool() const { return valid(); }
  JsonKind kind() const { return node_ ? node_->kind : JsonKind::kNull; }
  bool is_null() const { return node_ && node_->kind == JsonKind::kNull; }
  bool is_bool() const {
    return node_ && (node_->kind == JsonKind::kTrue || node_->kind == JsonKind::kFalse);
  }
  bool is_number() const { return node_ && node_->kind == JsonKind::kNumber; }
  bool is_string() const { return node_ && node_->kind == JsonKind::kString; }
  bool is_array() const { return node_ && node_->kind == JsonKind::kArray; }
  bool is_object() const { return node_ && node_->kind == JsonKind::kObject; }

  // The string's value (decoded); empty for any other kind.
  std::string_view str() const { return is_string() ? node_->text : std::string_view(); }
  // The member name of this value inside its object.
  std::string_view key() const { return node_ ? node_->key : std::string_view(); }
  // Number of elements or members; 0 for scalars.
  size_t size() const { return (is_array() || is_object()) ? node_->count : 0; }

  // A scalar as the Falco k8saudit plugin turns a value into a string: strings unquoted, numbers
  // as written, "true", "false", "null". Empty for arrays and objects (see render_json).
  std::string_view scalar_text() const;

  // An object's member (the last one of that name), or an array's element when `key` is a
  // decimal index, like fastjson's Get; invalid otherwise.
  JsonRef get(std::string_view key) const;
  // An array's or object's i-th child; invalid when out of range.
  JsonRef at(size_t i) const;

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = JsonRef;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = JsonRef;

    Iterator() = default;
    Iterator(const JsonNode* node, uint32_t left) : node_(node), left_(left) {}
    JsonRef operator*() const { return JsonRef(node_); }
    Iterator& operator++() {
      --left_;
      node_ = left_ ? node_ + node_->span : nullptr;
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iterator& o) const { return left_ == o.left_; }

   private:
    const JsonNode* node_ = nullptr;
    uint32_t left_ = 0;
  };
  // Iterates an array's elements or an object's members (key() gives the name); nothing for
  // scalars and invalid refs.
  Iterator begin() const { return size() ? Iterator(node_ + 1, node_->count) : Iterator(); }
  Iterator end() const { return Iterator(); }

  const JsonNode* node() const { return node_; }

 private:
  const JsonNode* node_ = nullptr;
};

// Compact JSON of `v` (members in document order), or with `indent` > 0 the layout of Go's
// json.Indent(prefix "", indent of that many spaces), which the Falco json plugin uses for
// json.obj. An invalid ref renders as "".
std::string render_json(JsonRef v, int indent = 0);
// The same, allocated in `arena` (for extractors: no heap allocation once the arena is warm).
std::string_view render_json(JsonRef v, Arena& arena, int indent = 0);

struct AuditDocument;  // the parsed body, shared by its events (defined in audit_event.cc)

class AuditEvent {
 public:
  // The whole Event object.
  JsonRef json() const { return root_; }

  // Envelope values, located once at decode time; invalid when absent.
  JsonRef audit_id() const { return audit_id_; }
  JsonRef stage() const { return stage_; }
  JsonRef level() const { return level_; }
  JsonRef verb() const { return verb_; }
  JsonRef request_uri() const { return request_uri_; }
  JsonRef user_agent() const { return user_agent_; }
  JsonRef user() const { return user_; }            // authentication/v1 UserInfo
  JsonRef user_name() const { return user_name_; }  // user.username
  JsonRef impersonated_user() const { return impersonated_user_; }
  JsonRef source_ips() const { return source_ips_; }
  JsonRef object_ref() const { return object_ref_; }
  JsonRef target_resource() const { return target_resource_; }  // objectRef.resource
  JsonRef target_subresource() const { return target_subresource_; }
  JsonRef target_name() const { return target_name_; }
  JsonRef target_namespace() const { return target_namespace_; }
  JsonRef response_status() const { return response_status_; }
  JsonRef response_code() const { return response_code_; }  // responseStatus.code
  JsonRef annotations() const { return annotations_; }
  JsonRef request_object() const { return request_object_; }
  JsonRef response_object() const { return response_object_; }

  // The namespace the event is about, for namespace-scoped rules and sinks: objectRef.namespace,
  // or for a Namespace object itself (resource "namespaces") its name; empty for cluster-scoped
  // objects and non-resource requests.
  std::string_view object_namespace() const { return object_namespace_; }

  // stageTimestamp in ns since the epoch (the event's time, as in the Falco plugin).
  int64_t time_ns() const { return time_ns_; }
  // requestReceivedTimestamp in ns since the epoch, when present.
  std::optional<int64_t> request_received_ns() const { return request_received_ns_; }

  // The cluster name the receiver was configured with (AuditDecodeOptions), or empty.
  std::string_view cluster_name() const;

  // True when part of the event nested deeper than AuditDecodeOptions::max_depth was dropped.
  bool truncated() const { return truncated_; }

 private:
  friend class AuditEventBuilder;

  std::shared_ptr<const AuditDocument> doc_;
  JsonRef root_;
  JsonRef audit_id_, stage_, level_, verb_, request_uri_, user_agent_;
  JsonRef user_, user_name_, impersonated_user_, source_ips_;
  JsonRef object_ref_, target_resource_, target_subresource_, target_name_, target_namespace_;
  JsonRef response_status_, response_code_, annotations_, request_object_, response_object_;
  std::string_view object_namespace_;
  int64_t time_ns_ = 0;
  std::optional<int64_t> request_received_ns_;
  bool truncated_ = false;
};

struct AuditDecodeOptions {
  // Larger bodies are refused before parsing. kube-apiserver's own truncating backend caps a
  // batch at 10 MiB; Falco's plugin accepts 12 MiB.
  size_t max_body_bytes = 16u << 20;
  // Containers nested deeper than this are dropped (see above). The EventList is at depth 1, its
  // items at depth 3, an item's requestObject at depth 4.
  int max_depth = 64;
  // Bounds the memory of one parsed body (each value costs one 40-byte node).
  size_t max_values = 2u << 20;
  // Reported by ka.cluster.name (the audit event itself does not name its cluster).
  std::string cluster_name;
};

// What a body decoded to when bad events are set aside rather than failing the whole body.
struct AuditBatch {
  std::vector<AuditEvent> events;
  // One message per event that could not be used, naming it: "items[3]: stageTimestamp: ...".
  std::vector<std::string> rejected;
};

// Decodes an EventList, a single Event, or JSON lines of either. Fails on anything malformed,
// naming the line, column or item: all or nothing, for `vigilctl test` and tests.
Result<std::vector<AuditEvent>> decode_audit_events(std::string_view body);
Result<std::vector<AuditEvent>> decode_audit_events(std::string_view body,
                                                    const AuditDecodeOptions& options);

// The same, but an event with a bad envelope is rejected alone, so one odd event cannot make the
// receiver drop a whole batch. Fails only when the body itself is unusable (too large, not
// JSON, not an audit EventList or Event).
Result<AuditBatch> decode_audit_batch(std::string_view body, const AuditDecodeOptions& options);

// Parses an RFC 3339 time ("2026-09-15T14:26:53.946487Z", any number of fractional digits, Z or
// a numeric offset) into ns since the epoch. Error for malformed or out-of-range times.
Result<int64_t> parse_audit_time(std::string_view text);

}  // namespace vigil::fields
