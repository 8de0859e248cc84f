// The k8s_audit fields: ka.* as the Falco k8saudit plugin defines them
// (falcosecurity/plugins, plugins/k8saudit/pkg/k8saudit/{fields,extract}.go) and jevt.*/json.* as
// the Falco json plugin does (plugins/json/pkg/json/json.go), so Falco's k8s_audit_rules.yaml
// runs unchanged.
//
// Like the plugin, every ka.* field is a string: numbers read as written ("201", "1000"),
// booleans as "true"/"false", arrays and objects as compact JSON. The rules depend on it
// (`ka.response.code startswith 2`, `ka.req.pod.host_network intersects (true)`). Absent values
// yield nothing (<NA>). Most list fields take an index (`ka.req.pod.containers.image[0]`) that
// selects one container, rule, port or volume.
//
// Where the plugin is plainly buggy, Vigil does what the field's documentation says, and the
// extractor's comment names the difference:
//  - ka.sourceips reads sourceIPs (the plugin reads requestObject.rules[].sourceIPs: always <NA>,
//    falcosecurity/plugins#236);
//  - ka.req.pod.*.eff_run_as_user/_group read securityContext.runAsUser/runAsGroup of the pod and
//    the container (the plugin reads spec.runAsUser and containers[].runAsUser, which do not
//    exist, so it always says 0);
//  - ka.req.volume.hostpath[...] looks at every volume (the plugin, given a key argument, only
//    at the first);
//  - ka.req.pod.*.add_capabilities, .command and .args yield one value per capability or
//    argument (the plugin yields one JSON array text per container, so `intersects (SYS_ADMIN)`
//    never matches).
// ka.target.pod.name, ka.req.binding.subjects.*_names, the openshift/admission annotations and
// ka.cluster.name come from plugin versions whose source was not at hand: they follow the
// plugin's field descriptions (see each extractor).

#include <cstring>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/fields/audit_event.h"
#include "common/fields/registry.h"
#include "common/fields/value.h"

namespace vigil::fields {
namespace {

using Path = std::initializer_list<std::string_view>;

const AuditEvent& event(const void* e) { return *static_cast<const AuditEvent*>(e); }

int64_t index_filter(const FieldArg& arg) { return arg.present ? arg.index : -1; }

// The plugin's jsonValueAsString: strings unquoted, other scalars as written, arrays and objects
// as compact JSON (rendered into the arena).
std::string_view text_of(JsonRef v, ValueWriter& out) {
  if (v.is_array() || v.is_object()) return render_json(v, out.arena());
  return v.scalar_text();
}

void emit(JsonRef v, ValueWriter& out) {
  if (v) out.str(text_of(v, out));
}

JsonRef follow(JsonRef v, Path path) {
  for (std::string_view k : path) v = v.get(k);
  return v;
}

// The plugin's extractFromKeys for a list field: an array's elements, nothing for anything else.
void emit_elements(JsonRef v, ValueWriter& out) {
  if (!v.is_array()) return;
  for (JsonRef e : v) emit(e, out);
}

// The plugin's getValuesRecursive: follows `path` from `v`, expanding each array met on the way
// into all its elements (or only element `index` when index >= 0). Calls f(value) for each value
// reached, and f(JsonRef()) for an expanded element that lacks the rest of the path. Returns
// false when the path is missing before any expansion: the field is then <NA>. An empty path
// step stays on the current value.
template <typename F>
bool walk(JsonRef v, std::span<const std::string_view> path, int64_t index, F&& f) {
  for (size_t i = 0; i < path.size(); ++i) {
    if (v.is_array()) {
      if (index < 0) {
        for (JsonRef e : v) {
          if (!walk(e, path.subspan(i), index, f)) f(JsonRef());
        }
        return true;
      }
      v = v.at(static_cast<size_t>(index));
      if (!v) return false;
    }
    if (!path[i].empty()) v = v.get(path[i]);
    if (!v) return false;
  }
  f(v);
  return true;
}

template <typename F>
bool walk(JsonRef v, Path path, int64_t index, F&& f) {
  return walk(v, std::span<const std::string_view>(path.begin(), path.size()), index, f);
}

// walk + the plugin's arrayAsStringsSkipNil.
void emit_walk(JsonRef v, Path path, int64_t index, ValueWriter& out) {
  walk(v, path, index, [&](JsonRef x) { emit(x, out); });
}

// walk, then every element of each array reached (one value per capability, argument, ...).
void emit_walk_flat(JsonRef v, Path path, int64_t index, ValueWriter& out) {
  walk(v, path, index, [&](JsonRef x) {
    if (x.is_array()) {
      emit_elements(x, out);
    } else {
      emit(x, out);
    }
  });
}

// The repository part of an image, as the plugin cuts it: before the first ':', then before the
// first '@' ("registry:5000/app:1" gives "registry", as in Falco).
std::string_view image_repository(std::string_view image) {
  image = image.substr(0, image.find(':'));
  return image.substr(0, image.find('@'));
}

// ---------------------------------------------------------------------------------------------
// Envelope

void x_auditid(const void* e, const FieldArg&, ValueWriter& out) { emit(event(e).audit_id(), out); }
void x_stage(const void* e, const FieldArg&, ValueWriter& out) { emit(event(e).stage(), out); }
void x_verb(const void* e, const FieldArg&, ValueWriter& out) { emit(event(e).verb(), out); }
void x_uri(const void* e, const FieldArg&, ValueWriter& out) { emit(event(e).request_uri(), out); }
void x_useragent(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).user_agent(), out);
}
void x_user_name(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).user_name(), out);
}
void x_user_groups(const void* e, const FieldArg&, ValueWriter& out) {
  emit_elements(event(e).user().get("groups"), out);
}
void x_impuser_name(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).impersonated_user().get("username"), out);
}
void x_target_name(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).target_name(), out);
}
void x_target_namespace(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).target_namespace(), out);
}
void x_target_resource(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).target_resource(), out);
}
void x_target_subresource(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).target_subresource(), out);
}

// Not in the plugin source at hand ("The target pod name"): the object's name when the request
// is about a pod or one of its subresources (exec, attach, log, binding, ...); for a pod created
// with generateName, the name the response gave it.
void x_target_pod_name(const void* e, const FieldArg&, ValueWriter& out) {
  const AuditEvent& ev = event(e);
  if (ev.target_resource().str() != "pods") return;
  if (!ev.target_name().str().empty()) {
    emit(ev.target_name(), out);
    return;
  }
  emit(follow(ev.response_object(), {"metadata", "name"}), out);
}

void x_response_code(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).response_code(), out);
}
void x_response_reason(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).response_status().get("reason"), out);
}
void x_resp_name(const void* e, const FieldArg&, ValueWriter& out) {
  emit(follow(event(e).response_object(), {"metadata", "name"}), out);
}

// The plugin reads requestObject.rules[].sourceIPs here (always <NA>); this is the documented
// field: the client's addresses.
void x_sourceips(const void* e, const FieldArg& arg, ValueWriter& out) {
  JsonRef ips = event(e).source_ips();
  int64_t index = index_filter(arg);
  if (index < 0) {
    emit_elements(ips, out);
  } else {
    emit(ips.at(static_cast<size_t>(index)), out);
  }
}

// Set by the receiver from its configuration: an audit event does not name its cluster.
void x_cluster_name(const void* e, const FieldArg&, ValueWriter& out) {
  std::string_view name = event(e).cluster_name();
  if (!name.empty()) out.str(name);
}

template <const char* Key>
void x_annotation(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).annotations().get(Key), out);
}
constexpr char kAuthDecision[] = "authorization.k8s.io/decision";
constexpr char kAuthReason[] = "authorization.k8s.io/reason";
// The annotations below are what OpenShift, ValidatingAdmissionPolicy and Pod Security
// admission write into audit events.
constexpr char kOpenshiftDecision[] = "authentication.openshift.io/decision";
constexpr char kOpenshiftUsername[] = "authentication.openshift.io/username";
constexpr char kPolicyFailure[] = "validation.policy.admission.k8s.io/validation_failure";
constexpr char kPodViolations[] = "pod-security.kubernetes.io/audit-violations";

// ---------------------------------------------------------------------------------------------
// ka.uri.param

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

bool escapes_valid(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))) return false;
  }
  return true;
}

// Go's url.QueryUnescape of an already validated string.
std::string_view query_unescape(std::string_view s, Arena& arena) {
  if (s.find_first_of("%+") == std::string_view::npos) return s;
  char* p = arena.allocate(s.size());
  size_t w = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      p[w++] = ' ';
    } else if (s[i] == '%') {
      p[w++] = static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      p[w++] = s[i];
    }
  }
  return std::string_view(p, w);
}

// As the plugin: url.Parse(requestURI), url.ParseQuery(RawQuery), the key's first value. A URI or
// query Go refuses (control characters, a bad %-escape, a ';' separator) gives <NA>.
void x_uri_param(const void* e, const FieldArg& arg, ValueWriter& out) {
  std::string_view uri = event(e).request_uri().str();
  for (char c : uri) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return;
  }
  uri = uri.substr(0, uri.find('#'));
  size_t q = uri.find('?');
  if (!escapes_valid(uri.substr(0, q)) || q == std::string_view::npos) return;
  std::string_view query = uri.substr(q + 1);
  if (query.find(';') != std::string_view::npos || !escapes_valid(query)) return;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view key = query_unescape(pair.substr(0, eq), out.arena());
    if (key != arg.text) continue;
    out.str(eq == std::string_view::npos ? std::string_view()
                                         : query_unescape(pair.substr(eq + 1), out.arena()));
    return;
  }
}

// ---------------------------------------------------------------------------------------------
// Request object: bindings, roles, configmaps, services

void x_binding_subjects(const void* e, const FieldArg&, ValueWriter& out) {
  emit_elements(event(e).request_object().get("subjects"), out);
}
void x_binding_role(const void* e, const FieldArg&, ValueWriter& out) {
  emit(follow(event(e).request_object(), {"roleRef", "name"}), out);
}
// Deprecated in the plugin, which answers "true" for every event whatever the argument.
void x_binding_subject_has_name(const void*, const FieldArg&, ValueWriter& out) { out.str("true"); }

// The subjects of one kind: names, or "namespace:name" for service accounts.
template <const char* Kind, bool kWithNamespace>
void x_binding_subject_names(const void* e, const FieldArg&, ValueWriter& out) {
  for (JsonRef s : event(e).request_object().get("subjects")) {
    if (s.get("kind").str() != Kind) continue;
    JsonRef name = s.get("name");
    if (!name) continue;
    if constexpr (!kWithNamespace) {
      emit(name, out);
      continue;
    }
    std::string_view ns = s.get("namespace").str();
    std::string_view n = text_of(name, out);
    if (ns.empty()) continue;
    char* p = out.arena().allocate(ns.size() + 1 + n.size());
    std::memcpy(p, ns.data(), ns.size());
    p[ns.size()] = ':';
    std::memcpy(p + ns.size() + 1, n.data(), n.size());
    out.str(std::string_view(p, ns.size() + 1 + n.size()));
  }
}
constexpr char kUser[] = "User";
constexpr char kGroup[] = "Group";
constexpr char kServiceAccount[] = "ServiceAccount";

void x_configmap_name(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).target_name(), out);
}
void x_configmap_obj(const void* e, const FieldArg&, ValueWriter& out) {
  emit(event(e).request_object().get("data"), out);
}

void x_role_rules(const void* e, const FieldArg&, ValueWriter& out) {
  emit_elements(event(e).request_object().get("rules"), out);
}
// The plugin's extractRulesField: the strings of rules[].<Key>, flattened.
template <const char* Key>
void x_role_rules_field(const void* e, const FieldArg& arg, ValueWriter& out) {
  walk(event(e).request_object(), {"rules", Key}, index_filter(arg), [&](JsonRef v) {
    if (v.is_array()) emit_elements(v, out);
  });
}
constexpr char kApiGroups[] = "apiGroups";
constexpr char kNonResourceURLs[] = "nonResourceURLs";
constexpr char kVerbs[] = "verbs";
constexpr char kResources[] = "resources";

void x_service_type(const void* e, const FieldArg&, ValueWriter& out) {
  emit(follow(event(e).request_object(), {"spec", "type"}), out);
}
// Each port as compact JSON: {"name":"http","protocol":"TCP","port":80,"nodePort":30080}. (The
// latest plugin yields the whole array as one value; earlier ones, and its documentation, one
// value per port.)
void x_service_ports(const void* e, const FieldArg& arg, ValueWriter& out) {
  emit_walk(event(e).request_object(), {"spec", "ports", ""}, index_filter(arg), out);
}

// ---------------------------------------------------------------------------------------------
// Request object: pods

template <const char* Key>
void x_pod_spec(const void* e, const FieldArg&, ValueWriter& out) {
  emit(follow(event(e).request_object(), {"spec", Key}), out);
}
template <const char* Key>
void x_pod_security(const void* e, const FieldArg&, ValueWriter& out) {
  emit(follow(event(e).request_object(), {"spec", "securityContext", Key}), out);
}
void x_pod_supplemental_groups(const void* e, const FieldArg&, ValueWriter& out) {
  emit_elements(
      follow(event(e).request_object(), {"spec", "securityContext", "supplementalGroups"}), out);
}
constexpr char kHostIPC[] = "hostIPC";
constexpr char kHostNetwork[] = "hostNetwork";
constexpr char kHostPID[] = "hostPID";
constexpr char kRunAsUser[] = "runAsUser";
constexpr char kRunAsGroup[] = "runAsGroup";
constexpr char kFsGroup[] = "fsGroup";

// The three container lists of a pod spec.
constexpr char kContainers[] = "containers";
constexpr char kInitContainers[] = "initContainers";
constexpr char kEphemeralContainers[] = "ephemeralContainers";

template <const char* List, const char* Key>
void x_container_value(const void* e, const FieldArg& arg, ValueWriter& out) {
  emit_walk(event(e).request_object(), {"spec", List, Key}, index_filter(arg), out);
}
template <const char* List, const char* Key>
void x_container_values_flat(const void* e, const FieldArg& arg, ValueWriter& out) {
  emit_walk_flat(event(e).request_object(), {"spec", List, Key}, index_filter(arg), out);
}
constexpr char kName[] = "name";
constexpr char kCommand[] = "command";
constexpr char kArgs[] = "args";

template <const char* List, const char* Key>
void x_container_security(const void* e, const FieldArg& arg, ValueWriter& out) {
  emit_walk(event(e).request_object(), {"spec", List, "securityContext", Key}, index_filter(arg),
            out);
}
constexpr char kPrivileged[] = "privileged";
constexpr char kAllowPrivilegeEscalation[] = "allowPrivilegeEscalation";
constexpr char kReadOnlyRootFilesystem[] = "readOnlyRootFilesystem";
constexpr char kProcMount[] = "procMount";

template <const char* List>
void x_container_add_capabilities(const void* e, const FieldArg& arg, ValueWriter& out) {
  emit_walk_flat(event(e).request_object(),
                 {"spec", List, "securityContext", "capabilities", "add"}, index_filter(arg), out);
}

// The plugin's readContainerImages: all images, or nothing when a container has none.
template <const char* List, bool kRepository>
void x_container_images(const void* e, const FieldArg& arg, ValueWriter& out) {
  JsonRef req = event(e).request_object();
  int64_t index = index_filter(arg);
  bool complete = true;
  if (!walk(req, {"spec", List, "image"}, index,
            [&](JsonRef v) { complete = complete && v.valid(); }) ||
      !complete) {
    return;
  }
  walk(req, {"spec", List, "image"}, index, [&](JsonRef v) {
    std::string_view image = text_of(v, out);
    out.str(kRepository ? image_repository(image) : image);
  });
}

// Deprecated: the first container's image.
template <bool kRepository>
void x_first_container_image(const void* e, const FieldArg&, ValueWriter& out) {
  JsonRef image = follow(event(e).request_object(), {"spec", "containers", "0", "image"});
  if (!image) return;
  std::string_view text = text_of(image, out);
  out.str(kRepository ? image_repository(text) : text);
}

// Deprecated: "true" when any container has privileged: true, else "false".
void x_any_container_privileged(const void* e, const FieldArg&, ValueWriter& out) {
  bool any = false;
  if (!walk(event(e).request_object(), {"spec", "containers", "securityContext", "privileged"}, -1,
            [&](JsonRef v) { any = any || v.kind() == JsonKind::kTrue; })) {
    return;
  }
  out.str(any ? "true" : "false");
}

// Each container's hostPort, or its containerPort when it has none (with hostNetwork they are
// the same). As in the plugin, a `ports` that is not an array makes the field <NA>.
template <const char* List>
void x_container_host_ports(const void* e, const FieldArg& arg, ValueWriter& out) {
  JsonRef req = event(e).request_object();
  int64_t index = index_filter(arg);
  bool arrays = true;
  if (!walk(req, {"spec", List, "ports"}, index,
            [&](JsonRef p) { arrays = arrays && (!p || p.is_array()); }) ||
      !arrays) {
    return;
  }
  walk(req, {"spec", List, "ports"}, index, [&](JsonRef ports) {
    for (JsonRef port : ports) {
      JsonRef host = port.get("hostPort");
      emit(host ? host : port.get("containerPort"), out);
    }
  });
}

// The uid (gid) a container starts with: its securityContext's, else the pod's, else 0. (The
// plugin looks for runAsUser directly under spec and under each container, where Kubernetes
// never puts it, and so always answers 0.)
template <const char* List, const char* Key>
void x_container_effective_id(const void* e, const FieldArg& arg, ValueWriter& out) {
  JsonRef req = event(e).request_object();
  JsonRef pod_value = follow(req, {"spec", "securityContext", Key});
  std::string_view fallback = pod_value ? text_of(pod_value, out) : std::string_view("0");
  walk(req, {"spec", List, ""}, index_filter(arg), [&](JsonRef container) {
    JsonRef own = follow(container, {"securityContext", Key});
    if (own) {
      emit(own, out);
    } else {
      out.str(fallback);
    }
  });
}

void x_volume_hostpaths(const void* e, const FieldArg& arg, ValueWriter& out) {
  emit_walk(event(e).request_object(), {"spec", "volumes", "hostPath", "path"}, index_filter(arg),
            out);
}
void x_volume_flexvolume_drivers(const void* e, const FieldArg& arg, ValueWriter& out) {
  emit_walk(event(e).request_object(), {"spec", "volumes", "flexVolume", "driver"},
            index_filter(arg), out);
}
// Every member name of each volume but "name": hostPath, configMap, projected, ...
void x_volume_types(const void* e, const FieldArg& arg, ValueWriter& out) {
  walk(event(e).request_object(), {"spec", "volumes", ""}, index_filter(arg), [&](JsonRef v) {
    for (JsonRef m : (v.is_object() ? v : JsonRef())) {
      if (m.key() != "name") out.str(m.key());
    }
  });
}
// Deprecated: "true" when a hostPath volume's path equals the argument, or starts with it when
// the argument ends with '*'; else "false". All volumes are checked (the plugin, given a key
// argument, checks only the first).
void x_volume_hostpath_used(const void* e, const FieldArg& arg, ValueWriter& out) {
  std::string_view want = arg.text;
  bool prefix = !want.empty() && want.back() == '*';
  if (prefix) want.remove_suffix(1);
  bool found = false;
  if (!walk(event(e).request_object(), {"spec", "volumes", "hostPath", "path"}, -1, [&](JsonRef v) {
        if (!v) return;
        std::string_view path = text_of(v, out);
        found = found || (prefix ? path.substr(0, want.size()) == want : path == arg.text);
      })) {
    return;
  }
  out.str(found ? "true" : "false");
}

std::string prepare_hostpath(FieldArg& arg) {
  if (arg.text.empty()) return "needs a host path argument, e.g. ka.req.volume.hostpath[/etc*]";
  return "";
}

// ---------------------------------------------------------------------------------------------
// jevt.* / json.*

struct JsonPointer {
  std::vector<std::string> tokens;
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// A JSON pointer (RFC 6901) as the json plugin reads it: one leading '/' optional, "~1" is '/',
// "~0" is '~'; a numeric token indexes an array.
std::string prepare_pointer(FieldArg& arg) {
  if (arg.text.empty())
    return "needs a JSON pointer argument, e.g. jevt.value[/requestObject/spec]";
  std::string_view rest = arg.text;
  if (rest.front() == '/') rest.remove_prefix(1);
  auto pointer = std::make_shared<JsonPointer>();
  while (true) {
    size_t slash = rest.find('/');
    std::string token(rest.substr(0, slash));
    replace_all(token, "~1", "/");
    replace_all(token, "~0", "~");
    pointer->tokens.push_back(std::move(token));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  arg.prepared = std::move(pointer);
  return "";
}

// The value at the pointer: strings unquoted, anything else as compact JSON.
void x_json_value(const void* e, const FieldArg& arg, ValueWriter& out) {
  const auto* pointer = static_cast<const JsonPointer*>(arg.prepared.get());
  if (!pointer) return;
  JsonRef v = event(e).json();
  for (const std::string& token : pointer->tokens) v = v.get(token);
  emit(v, out);
}

// The whole event, indented as the json plugin's json.obj (Go's json.Indent, two spaces).
void x_json_obj(const void* e, const FieldArg&, ValueWriter& out) {
  out.str(render_json(event(e).json(), out.arena(), 2));
}

void x_rawtime(const void* e, const FieldArg&, ValueWriter& out) { out.num(event(e).time_ns()); }

struct CivilTime {
  int64_t year;
  unsigned month, day, hour, minute, second;
  int64_t nanos;
};

// ns since the epoch to UTC calendar time (H. Hinnant's civil_from_days).
CivilTime civil_time(int64_t ns) {
  int64_t secs = ns / 1000000000;
  int64_t nanos = ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  CivilTime t;
  t.day = doy - (153 * mp + 2) / 5 + 1;
  t.month = mp < 10 ? mp + 3 : mp - 9;
  t.year = static_cast<int64_t>(yoe) + era * 400 + (t.month <= 2);
  t.hour = static_cast<unsigned>(rem / 3600);
  t.minute = static_cast<unsigned>(rem % 3600 / 60);
  t.second = static_cast<unsigned>(rem % 60);
  t.nanos = nanos;
  return t;
}

char* put_digits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

// "14:26:53.946487000", as Falco's evt.time, but in UTC.
void x_time(const void* e, const FieldArg&, ValueWriter& out) {
  CivilTime t = civil_time(event(e).time_ns());
  char* p = out.arena().allocate(18);
  char* w = put_digits(p, t.hour, 2);
  *w++ = ':';
  w = put_digits(w, t.minute, 2);
  *w++ = ':';
  w = put_digits(w, t.second, 2);
  *w++ = '.';
  put_digits(w, t.nanos, 9);
  out.str(std::string_view(p, 18));
}

// "2026-09-15T14:26:53.946487000Z".
void x_time_iso8601(const void* e, const FieldArg&, ValueWriter& out) {
  CivilTime t = civil_time(event(e).time_ns());
  if (t.year < 0 || t.year > 9999) return;
  char* p = out.arena().allocate(30);
  char* w = put_digits(p, t.year, 4);
  *w++ = '-';
  w = put_digits(w, t.month, 2);
  *w++ = '-';
  w = put_digits(w, t.day, 2);
  *w++ = 'T';
  w = put_digits(w, t.hour, 2);
  *w++ = ':';
  w = put_digits(w, t.minute, 2);
  *w++ = ':';
  w = put_digits(w, t.second, 2);
  *w++ = '.';
  w = put_digits(w, t.nanos, 9);
  *w = 'Z';
  out.str(std::string_view(p, 30));
}

// ---------------------------------------------------------------------------------------------
// The table

constexpr uint32_t kIndexedList = kList | kArgAllowed | kArgIndex;
constexpr uint32_t kKeyRequired = kArgAllowed | kArgRequired;

// The fields about one of a pod's container lists (containers, initContainers,
// ephemeralContainers), each a list that takes an index.
// clang-format off
#define VIGIL_CONTAINER_FIELDS(PREFIX, LIST, WHAT)                                               \
  {PREFIX ".name", FieldType::kString, kIndexedList,                                             \
   "When the request object refers to a pod, the names of the " WHAT ".",                        \
   &x_container_value<LIST, kName>},                                                              \
  {PREFIX ".image", FieldType::kString, kIndexedList,                                            \
   "When the request object refers to a pod, the images of the " WHAT ".",                       \
   &x_container_images<LIST, false>},                                                             \
  {PREFIX ".image.repository", FieldType::kString, kIndexedList,                                 \
   "The same as " PREFIX ".image, but only the repository part (e.g. falcosecurity/falco).",     \
   &x_container_images<LIST, true>},                                                              \
  {PREFIX ".command", FieldType::kString, kIndexedList,                                          \
   "When the request object refers to a pod, the command of the " WHAT ", one value per word.",  \
   &x_container_values_flat<LIST, kCommand>},                                                     \
  {PREFIX ".args", FieldType::kString, kIndexedList,                                             \
   "When the request object refers to a pod, the args of the " WHAT ", one value per word.",     \
   &x_container_values_flat<LIST, kArgs>},                                                        \
  {PREFIX ".privileged", FieldType::kString, kIndexedList,                                       \
   "When the request object refers to a pod, the privileged flag of the " WHAT                   \
   " that set it (true/false).",                                                                  \
   &x_container_security<LIST, kPrivileged>},                                                     \
  {PREFIX ".allow_privilege_escalation", FieldType::kString, kIndexedList,                       \
   "When the request object refers to a pod, the allowPrivilegeEscalation flag of the " WHAT     \
   " that set it.",                                                                               \
   &x_container_security<LIST, kAllowPrivilegeEscalation>},                                       \
  {PREFIX ".read_only_fs", FieldType::kString, kIndexedList,                                     \
   "When the request object refers to a pod, the readOnlyRootFilesystem flag of the " WHAT       \
   " that set it.",                                                                               \
   &x_container_security<LIST, kReadOnlyRootFilesystem>},                                         \
  {PREFIX ".run_as_user", FieldType::kString, kIndexedList,                                      \
   "When the request object refers to a pod, the runAsUser uid of the " WHAT " that set it.",    \
   &x_container_security<LIST, kRunAsUser>},                                                      \
  {PREFIX ".eff_run_as_user", FieldType::kString, kIndexedList,                                  \
   "When the request object refers to a pod, the uid each of the " WHAT                          \
   " starts with: its own runAsUser, else the pod's, else 0.",                                    \
   &x_container_effective_id<LIST, kRunAsUser>},                                                  \
  {PREFIX ".run_as_group", FieldType::kString, kIndexedList,                                     \
   "When the request object refers to a pod, the runAsGroup gid of the " WHAT " that set it.",   \
   &x_container_security<LIST, kRunAsGroup>},                                                     \
  {PREFIX ".eff_run_as_group", FieldType::kString, kIndexedList,                                 \
   "When the request object refers to a pod, the gid each of the " WHAT                          \
   " starts with: its own runAsGroup, else the pod's, else 0.",                                   \
   &x_container_effective_id<LIST, kRunAsGroup>},                                                 \
  {PREFIX ".proc_mount", FieldType::kString, kIndexedList,                                       \
   "When the request object refers to a pod, the procMount type of the " WHAT " that set it.",   \
   &x_container_security<LIST, kProcMount>},                                                      \
  {PREFIX ".add_capabilities", FieldType::kString, kIndexedList,                                 \
   "When the request object refers to a pod, the capabilities added to the " WHAT ".",           \
   &x_container_add_capabilities<LIST>},                                                          \
  {PREFIX ".host_port", FieldType::kString, kIndexedList,                                        \
   "When the request object refers to a pod, the hostPort (else containerPort) values of the "   \
   WHAT ".",                                                                                      \
   &x_container_host_ports<LIST>}
// clang-format on

const FieldInfo kAuditFields[] = {
    {"ka.auditid", FieldType::kString, kNone, "The unique id of the audit event.", &x_auditid},
    {"ka.stage", FieldType::kString, kNone,
     "Stage of the request (RequestReceived, ResponseStarted, ResponseComplete, Panic).", &x_stage},
    {"ka.auth.decision", FieldType::kString, kNone, "The authorization decision (allow, forbid).",
     &x_annotation<kAuthDecision>},
    {"ka.auth.reason", FieldType::kString, kNone, "The authorization reason.",
     &x_annotation<kAuthReason>},
    {"ka.auth.openshift.decision", FieldType::kString, kNone,
     "The decision of OpenShift's authentication (OpenShift clusters only).",
     &x_annotation<kOpenshiftDecision>},
    {"ka.auth.openshift.username", FieldType::kString, kNone,
     "The user name OpenShift's authentication saw (OpenShift clusters only).",
     &x_annotation<kOpenshiftUsername>},
    {"ka.validations.admission.policy.failure", FieldType::kString, kNone,
     "The validation failure reported by a ValidatingAdmissionPolicy.",
     &x_annotation<kPolicyFailure>},
    {"ka.security.pod.violations", FieldType::kString, kNone,
     "The Pod Security admission violations of the request.", &x_annotation<kPodViolations>},
    {"ka.user.name", FieldType::kString, kNone, "The user name performing the request.",
     &x_user_name},
    {"ka.user.groups", FieldType::kString, kList, "The groups to which the user belongs.",
     &x_user_groups},
    {"ka.impuser.name", FieldType::kString, kNone, "The impersonated user name.", &x_impuser_name},
    {"ka.verb", FieldType::kString, kNone, "The action being performed (get, list, create, ...).",
     &x_verb},
    {"ka.uri", FieldType::kString, kNone, "The request URI as sent from client to server.", &x_uri},
    {"ka.uri.param", FieldType::kString, kKeyRequired,
     "The value of a query parameter of the URI: with uri=/foo?key=val, ka.uri.param[key] is val.",
     &x_uri_param},
    {"ka.target.name", FieldType::kString, kNone, "The target object name.", &x_target_name},
    {"ka.target.namespace", FieldType::kString, kNone, "The target object namespace.",
     &x_target_namespace},
    {"ka.target.resource", FieldType::kString, kNone,
     "The target object resource (pods, secrets, ...).", &x_target_resource},
    {"ka.target.subresource", FieldType::kString, kNone,
     "The target object subresource (exec, status, ...).", &x_target_subresource},
    {"ka.target.pod.name", FieldType::kString, kNone,
     "The target pod name, when the request is about a pod or one of its subresources.",
     &x_target_pod_name},
    {"ka.req.binding.subjects", FieldType::kString, kList,
     "When the request object refers to a (cluster) role binding, its subjects, each as JSON.",
     &x_binding_subjects},
    {"ka.req.binding.subjects.user_names", FieldType::kString, kList,
     "When the request object refers to a (cluster) role binding, the names of its User subjects.",
     &x_binding_subject_names<kUser, false>},
    {"ka.req.binding.subjects.serviceaccount_names", FieldType::kString, kList,
     "When the request object refers to a (cluster) role binding, the names of its ServiceAccount "
     "subjects.",
     &x_binding_subject_names<kServiceAccount, false>},
    {"ka.req.binding.subjects.serviceaccount_ns_names", FieldType::kString, kList,
     "When the request object refers to a (cluster) role binding, its ServiceAccount subjects as "
     "namespace:name.",
     &x_binding_subject_names<kServiceAccount, true>},
    {"ka.req.binding.subjects.group_names", FieldType::kString, kList,
     "When the request object refers to a (cluster) role binding, the names of its Group subjects.",
     &x_binding_subject_names<kGroup, false>},
    {"ka.req.binding.role", FieldType::kString, kNone,
     "When the request object refers to a (cluster) role binding, the role it binds.",
     &x_binding_role},
    {"ka.req.binding.subject.has_name", FieldType::kString, kKeyRequired,
     "Deprecated, always \"true\". Only provided for backwards compatibility.",
     &x_binding_subject_has_name},
    {"ka.req.configmap.name", FieldType::kString, kNone,
     "If the request object refers to a configmap, the configmap name.", &x_configmap_name},
    {"ka.req.configmap.obj", FieldType::kString, kNone,
     "If the request object refers to a configmap, its data as JSON.", &x_configmap_obj},
    VIGIL_CONTAINER_FIELDS("ka.req.pod.containers", kContainers, "containers"),
    {"ka.req.container.image", FieldType::kString, kNone,
     "Deprecated by ka.req.pod.containers.image: the image of the first container.",
     &x_first_container_image<false>},
    {"ka.req.container.image.repository", FieldType::kString, kNone,
     "Deprecated by ka.req.pod.containers.image.repository: the repository of the first container.",
     &x_first_container_image<true>},
    {"ka.req.pod.host_ipc", FieldType::kString, kNone,
     "When the request object refers to a pod, the value of its hostIPC flag.",
     &x_pod_spec<kHostIPC>},
    {"ka.req.pod.host_network", FieldType::kString, kNone,
     "When the request object refers to a pod, the value of its hostNetwork flag.",
     &x_pod_spec<kHostNetwork>},
    {"ka.req.container.host_network", FieldType::kString, kNone,
     "Deprecated alias for ka.req.pod.host_network.", &x_pod_spec<kHostNetwork>},
    {"ka.req.pod.host_pid", FieldType::kString, kNone,
     "When the request object refers to a pod, the value of its hostPID flag.",
     &x_pod_spec<kHostPID>},
    {"ka.req.container.privileged", FieldType::kString, kNone,
     "Deprecated by ka.req.pod.containers.privileged: true if any container has privileged=true.",
     &x_any_container_privileged},
    {"ka.req.pod.run_as_user", FieldType::kString, kNone,
     "When the request object refers to a pod, the runAsUser uid of the pod's security context.",
     &x_pod_security<kRunAsUser>},
    {"ka.req.pod.run_as_group", FieldType::kString, kNone,
     "When the request object refers to a pod, the runAsGroup gid of the pod's security context.",
     &x_pod_security<kRunAsGroup>},
    {"ka.req.pod.fs_group", FieldType::kString, kNone,
     "When the request object refers to a pod, the fsGroup gid of the pod's security context.",
     &x_pod_security<kFsGroup>},
    {"ka.req.pod.supplemental_groups", FieldType::kString, kList,
     "When the request object refers to a pod, the supplementalGroups gids of its security "
     "context.",
     &x_pod_supplemental_groups},
    {"ka.req.role.rules", FieldType::kString, kList,
     "When the request object refers to a role/cluster role, its rules, each as JSON.",
     &x_role_rules},
    {"ka.req.role.rules.apiGroups", FieldType::kString, kIndexedList,
     "When the request object refers to a role/cluster role, the api groups of its rules.",
     &x_role_rules_field<kApiGroups>},
    {"ka.req.role.rules.nonResourceURLs", FieldType::kString, kIndexedList,
     "When the request object refers to a role/cluster role, the non-resource URLs of its rules.",
     &x_role_rules_field<kNonResourceURLs>},
    {"ka.req.role.rules.verbs", FieldType::kString, kIndexedList,
     "When the request object refers to a role/cluster role, the verbs of its rules.",
     &x_role_rules_field<kVerbs>},
    {"ka.req.role.rules.resources", FieldType::kString, kIndexedList,
     "When the request object refers to a role/cluster role, the resources of its rules.",
     &x_role_rules_field<kResources>},
    {"ka.req.service.type", FieldType::kString, kNone,
     "When the request object refers to a service, the service type.", &x_service_type},
    {"ka.req.service.ports", FieldType::kString, kIndexedList,
     "When the request object refers to a service, its ports, each as JSON.", &x_service_ports},
    {"ka.req.pod.volumes.hostpath", FieldType::kString, kIndexedList,
     "When the request object refers to a pod, the paths of its hostPath volumes.",
     &x_volume_hostpaths},
    {"ka.req.volume.hostpath", FieldType::kString, kKeyRequired,
     "Deprecated by ka.req.pod.volumes.hostpath: true if a hostPath volume uses the given path (a "
     "prefix when it ends with *).",
     &x_volume_hostpath_used, &prepare_hostpath},
    {"ka.req.pod.volumes.flexvolume_driver", FieldType::kString, kIndexedList,
     "When the request object refers to a pod, the drivers of its flexVolume volumes.",
     &x_volume_flexvolume_drivers},
    {"ka.req.pod.volumes.volume_type", FieldType::kString, kIndexedList,
     "When the request object refers to a pod, the types of its volumes (hostPath, configMap, "
     "...).",
     &x_volume_types},
    {"ka.resp.name", FieldType::kString, kNone, "The response object name.", &x_resp_name},
    {"ka.response.code", FieldType::kString, kNone, "The response code (\"201\").",
     &x_response_code},
    {"ka.response.reason", FieldType::kString, kNone,
     "The response reason (usually present only for failures).", &x_response_reason},
    {"ka.useragent", FieldType::kString, kNone,
     "The user agent of the client that made the request.", &x_useragent},
    {"ka.sourceips", FieldType::kString, kIndexedList, "The IP addresses the request came from.",
     &x_sourceips},
    {"ka.cluster.name", FieldType::kString, kNone,
     "The name of the cluster, as configured for the audit receiver.", &x_cluster_name},
    VIGIL_CONTAINER_FIELDS("ka.req.pod.initContainers", kInitContainers, "init containers"),
    VIGIL_CONTAINER_FIELDS("ka.req.pod.ephemeralContainers", kEphemeralContainers,
                           "ephemeral containers"),

    {"jevt.time", FieldType::kString, kNone,
     "The event time (stageTimestamp) as HH:MM:SS.nnnnnnnnn, UTC.", &x_time},
    {"jevt.time.iso8601", FieldType::kString, kNone,
     "The event time (stageTimestamp) in ISO 8601, UTC.", &x_time_iso8601},
    {"jevt.rawtime", FieldType::kNumber, kNone,
     "The event time (stageTimestamp) in ns since the epoch.", &x_rawtime},
    {"jevt.value", FieldType::kString, kKeyRequired,
     "The value at a JSON pointer into the event (jevt.value[/requestObject/spec/type]): strings "
     "as "
     "they are, anything else as JSON.",
     &x_json_value, &prepare_pointer},
    {"jevt.obj", FieldType::kString, kNone, "The whole event as indented JSON.", &x_json_obj},
    {"json.value", FieldType::kString, kKeyRequired, "Alias of jevt.value (Falco's json plugin).",
     &x_json_value, &prepare_pointer},
    {"json.obj", FieldType::kString, kNone, "Alias of jevt.obj (Falco's json plugin).",
     &x_json_obj},
    {"json.rawtime", FieldType::kNumber, kNone, "Alias of jevt.rawtime (Falco's json plugin).",
     &x_rawtime},
};

#undef VIGIL_CONTAINER_FIELDS

}  // namespace

// Declared where it is used, in audit_source.cc.
std::span<const FieldInfo> audit_field_infos() { return kAuditFields; }

}  // namespace vigil::fields
