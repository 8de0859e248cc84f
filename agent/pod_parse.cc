#include "agent/pod_parse.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "common/base/bounded_json.h"

namespace vigil::agent {

// =============================================================================================
// Image references
// =============================================================================================

ImageReference split_image_reference(std::string_view image) {
  ImageReference out;
  std::string_view rest = image;
  // The digest follows the first '@' ("name@sha256:..." and "name:tag@sha256:...").
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    out.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
  }
  // The tag follows a ':' in the last path component; a ':' before a '/' is the registry's port.
  const size_t colon = rest.rfind(':');
  const size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    out.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  out.repository = rest;
  return out;
}

// =============================================================================================
// Parsing
// =============================================================================================

namespace {

using nlohmann::json;

bool is_full_id(std::string_view s) {
  return s.size() == kContainerIdLen && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string_view type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "something else";
  }
}

// Reads the members a pod is made of, checking types. Absent and null members are "unset", as the
// API server omits empty optional fields and a client may write null for them.
class Reader {
 public:
  // The first type error, with its path.
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }

  // obj[key] when it is an object; null when absent (or on a type error, recorded).
  const json* object(const json* obj, const char* key, const std::string& path) {
    return typed(obj, key, path, json::value_t::object, "an object");
  }
  const json* array(const json* obj, const char* key, const std::string& path) {
    return typed(obj, key, path, json::value_t::array, "an array");
  }
  // obj[key] as text; "" when absent.
  std::string_view string(const json* obj, const char* key, const std::string& path) {
    const json* v = typed(obj, key, path, json::value_t::string, "a string");
    return v == nullptr ? std::string_view() : std::string_view(v->get_ref<const std::string&>());
  }
  // obj[key] as a tri-state boolean; kTriUnknown when absent.
  uint8_t boolean(const json* obj, const char* key, const std::string& path) {
    const json* v = typed(obj, key, path, json::value_t::boolean, "a boolean");
    if (v == nullptr) {
      return fields::kTriUnknown;
    }
    return v->get<bool>() ? fields::kTriTrue : fields::kTriFalse;
  }
  void fail(const std::string& path, std::string_view what) {
    if (error_.empty()) {
      error_ = path + ": " + std::string(what);
    }
  }

 private:
  const json* typed(const json* obj, const char* key, const std::string& path, json::value_t type,
                    std::string_view type_text) {
    if (obj == nullptr || failed()) {
      return nullptr;
    }
    const auto it = obj->find(key);
    if (it == obj->end() || it->is_null()) {
      return nullptr;
    }
    // Integers come as number_integer or number_unsigned; only strings, objects, arrays and
    // booleans are read here, so an exact match is enough.
    if (it->type() != type) {
      fail(path.empty() ? std::string(key) : path + "." + key,
           "expected " + std::string(type_text) + ", got " + std::string(type_name(*it)));
      return nullptr;
    }
    return &*it;
  }

  std::string error_;
};

// "2024-05-01T10:00:02Z" (metav1.Time), also with a fraction or a numeric offset; 0 when
// malformed.
uint64_t parse_rfc3339_ns(std::string_view s) {
  auto num = [&](size_t pos, size_t len, int& out) {
    if (pos + len > s.size()) {
      return false;
    }
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return false;
      }
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !num(0, 4, y) || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' ||
      !num(8, 2, d) || (s[10] != 'T' && s[10] != 't') || !num(11, 2, h) || s[13] != ':' ||
      !num(14, 2, mi) || s[16] != ':' || !num(17, 2, sec)) {
    return 0;
  }
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (s[pos] == '.') {
    int64_t scale = 100'000'000;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
      frac_ns += (s[pos] - '0') * scale;
      scale /= 10;
    }
  }
  int64_t offset_s = 0;
  const bool utc = pos + 1 == s.size() && (s[pos] == 'Z' || s[pos] == 'z');
  if (!utc) {
    int oh, om;
    if (pos + 6 != s.size() || (s[pos] != '+' && s[pos] != '-') || s[pos + 3] != ':' ||
        !num(pos + 1, 2, oh) || !num(pos + 4, 2, om)) {
      return 0;
    }
    offset_s = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                        std::chrono::day(d)};
  if (!ymd.ok() || y < 1970 || h > 23 || mi > 59 || sec > 60) {
    return 0;
  }
  const int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  if (secs < 0) {
    return 0;
  }
  return static_cast<uint64_t>(secs) * 1'000'000'000ull + static_cast<uint64_t>(frac_ns);
}

// What a pod spec says about one container.
struct SpecContainer {
  std::string_view image;
  uint8_t privileged = fields::kTriUnknown;
};

// spec.<list> by name.
void read_spec_containers(Reader& r, const json* spec, const char* list,
                          std::vector<std::pair<std::string_view, SpecContainer>>& out) {
  const std::string path = std::string("spec.") + list;
  const json* arr = r.array(spec, list, "spec");
  if (arr == nullptr) {
    return;
  }
  for (size_t i = 0; i < arr->size() && !r.failed(); ++i) {
    const std::string item = path + "[" + std::to_string(i) + "]";
    const json& c = (*arr)[i];
    if (!c.is_object()) {
      r.fail(item, "expected an object, got " + std::string(type_name(c)));
      return;
    }
    SpecContainer sc;
    const std::string_view name = r.string(&c, "name", item);
    sc.image = r.string(&c, "image", item);
    const json* sec = r.object(&c, "securityContext", item);
    sc.privileged = sec == nullptr ? fields::kTriFalse
                                   : r.boolean(sec, "privileged", item + ".securityContext");
    if (sc.privileged == fields::kTriUnknown) {
      sc.privileged = fields::kTriFalse;  // the default
    }
    out.emplace_back(name, sc);
  }
}

// "containerd://<id>" -> ("containerd", "<id>"); false without a scheme.
bool split_container_id(std::string_view text, std::string_view& scheme, std::string_view& id) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return false;
  }
  scheme = text.substr(0, sep);
  id = text.substr(sep + 3);
  return true;
}

std::string_view runtime_type(std::string_view scheme) {
  if (scheme == "containerd" || scheme == "cri-o" || scheme == "docker") {
    return scheme;
  }
  return {};
}

// The digest and image id an imageID names:
//   "docker.io/library/nginx@sha256:<hex>"            a repository digest (containerd, cri-o)
//   "docker-pullable://nginx@sha256:<hex>"             a repository digest (dockershim)
//   "sha256:<hex>"                                     an image id; Falco's CRI code also takes it
//                                                      as the digest
//   "docker://sha256:<hex>"                            an image id (dockershim, no repo digest)
void read_image_id(std::string_view image_id, std::string& digest, std::string& id) {
  std::string_view scheme;
  std::string_view rest = image_id;
  if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
    scheme = rest.substr(0, sep);
    rest = rest.substr(sep + 3);
  }
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    digest = rest.substr(at + 1);
  } else if (rest.starts_with("sha256:")) {
    id = rest.substr(7);
    if (scheme != "docker") {
      digest = rest;
    }
  }
}

// One container status (and its lastState's container) into `pod.containers`.
void read_status(Reader& r, const json& st, const std::string& path,
                 const std::vector<std::pair<std::string_view, SpecContainer>>& spec,
                 PodInfo& pod) {
  if (!st.is_object()) {
    r.fail(path, "expected an object, got " + std::string(type_name(st)));
    return;
  }
  const std::string_view name = r.string(&st, "name", path);
  const std::string_view status_image = r.string(&st, "image", path);
  const std::string_view image_id = r.string(&st, "imageID", path);
  const std::string_view container_id = r.string(&st, "containerID", path);
  const json* state = r.object(&st, "state", path);
  const json* last = r.object(&st, "lastState", path);
  const json* last_terminated = r.object(last, "terminated", path + ".lastState");
  const std::string_view last_id =
      r.string(last_terminated, "containerID", path + ".lastState.terminated");
  if (r.failed()) {
    return;
  }

  const SpecContainer* sc = nullptr;
  for (const auto& [n, c] : spec) {
    if (n == name) {
      sc = &c;
      break;
    }
  }

  // The status image is what the runtime resolved ("docker.io/library/nginx:1.25"); it names an
  // image id ("sha256:...") when the image was given by id or has lost its tag, then the spec's
  // reference says more.
  std::string_view image = status_image;
  if ((image.empty() || image.starts_with("sha256:")) && sc != nullptr && !sc->image.empty()) {
    image = sc->image;
  }

  auto add = [&](std::string_view id_text, const json* run_state, const std::string& state_path,
                 bool previous) {
    std::string_view scheme, id;
    if (id_text.empty() || !split_container_id(id_text, scheme, id) || !is_full_id(id)) {
      return;  // not created yet, or a runtime whose ids cgroups never show
    }
    PodContainerInfo c;
    c.id = id;
    c.type = runtime_type(scheme);
    c.name = name;
    c.image = image;
    const ImageReference ref = split_image_reference(c.image);
    c.image_repository = ref.repository;
    c.image_tag = ref.tag;
    if (!previous) {  // lastState has no imageID of its own
      read_image_id(image_id, c.image_digest, c.image_id);
    }
    if (c.image_digest.empty()) {
      c.image_digest = ref.digest;
    }
    c.privileged = sc != nullptr ? sc->privileged : fields::kTriUnknown;
    c.previous = previous;
    // startedAt of the state the container is in (running or terminated).
    for (const char* s : {"running", "terminated"}) {
      const json* st_obj = r.object(run_state, s, state_path);
      const std::string_view started = r.string(st_obj, "startedAt", state_path + "." + s);
      if (!started.empty()) {
        c.start_ts = parse_rfc3339_ns(started);
        break;
      }
    }
    pod.containers.push_back(std::move(c));
  };
  add(container_id, state, path + ".state", false);
  if (last_id != container_id) {
    add(last_id, last, path + ".lastState", true);
  }
}

}  // namespace

std::string PodInfo::key() const { return uid.empty() ? ns + "/" + name : uid; }

Result<PodInfo> parse_pod(std::string_view text, const PodParseLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return make_error("pod: " + std::to_string(text.size()) + " bytes, over the limit of " +
                      std::to_string(limits.max_bytes));
  }
  const json doc = parse_bounded_json(text);
  if (doc.is_discarded()) {
    return make_error("pod: not JSON, or nested deeper than " + std::to_string(kMaxJsonDepth));
  }
  if (!doc.is_object()) {
    return make_error("pod: expected an object, got " + std::string(type_name(doc)));
  }
  Reader r;
  PodInfo pod;
  const json* meta = r.object(&doc, "metadata", "");
  const json* spec = r.object(&doc, "spec", "");
  const json* status = r.object(&doc, "status", "");
  pod.name = r.string(meta, "name", "metadata");
  pod.ns = r.string(meta, "namespace", "metadata");
  pod.uid = r.string(meta, "uid", "metadata");
  if (!r.failed() && (pod.name.empty() || pod.ns.empty())) {
    return make_error("pod: metadata.name and metadata.namespace are required");
  }

  if (const json* labels = r.object(meta, "labels", "metadata")) {
    for (const auto& [key, value] : labels->items()) {
      if (!value.is_string()) {
        r.fail("metadata.labels." + key, "expected a string, got " + std::string(type_name(value)));
        break;
      }
      if (pod.labels.size() < limits.max_labels) {  // nlohmann keeps keys sorted
        pod.labels.emplace_back(key, value.get<std::string>());
      }
    }
  }

  pod.host_pid = r.boolean(spec, "hostPID", "spec");
  pod.host_network = r.boolean(spec, "hostNetwork", "spec");
  pod.host_ipc = r.boolean(spec, "hostIPC", "spec");
  if (spec != nullptr) {  // omitted means false
    for (uint8_t* b : {&pod.host_pid, &pod.host_network, &pod.host_ipc}) {
      if (*b == fields::kTriUnknown) {
        *b = fields::kTriFalse;
      }
    }
  }

  pod.ip = r.string(status, "podIP", "status");
  if (!pod.ip.empty() && !fields::parse_ip(pod.ip, pod.ip_addr, false)) {
    pod.ip_addr = fields::IpAddr{};
  }

  struct Kind {
    const char* spec_list;
    const char* status_list;
  };
  static constexpr Kind kKinds[] = {
      {"containers", "containerStatuses"},
      {"initContainers", "initContainerStatuses"},
      {"ephemeralContainers", "ephemeralContainerStatuses"},
  };
  std::vector<std::pair<std::string_view, SpecContainer>> spec_containers;
  for (const Kind& kind : kKinds) {
    spec_containers.clear();
    read_spec_containers(r, spec, kind.spec_list, spec_containers);
    const json* statuses = r.array(status, kind.status_list, "status");
    if (statuses == nullptr) {
      continue;
    }
    for (size_t i = 0; i < statuses->size() && !r.failed(); ++i) {
      read_status(r, (*statuses)[i],
                  std::string("status.") + kind.status_list + "[" + std::to_string(i) + "]",
                  spec_containers, pod);
      if (pod.containers.size() > limits.max_containers) {
        return make_error("pod: more than " + std::to_string(limits.max_containers) +
                          " containers");
      }
    }
  }
  if (r.failed()) {
    return make_error("pod " + pod.ns + "/" + pod.name + ": " + r.error());
  }
  return pod;
}

}  // namespace vigil::agent
