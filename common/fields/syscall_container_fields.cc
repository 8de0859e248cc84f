// container.*, k8s.pod.* and k8s.ns.* fields of the syscall source (libsinsp:
// sinsp_filtercheck_container.cpp and the k8s fields Falco derives from the container runtime's
// pod sandbox labels). Host processes have no ContainerInfo: container.id and container.name read
// "host", as in Falco, and everything else is unset.

#include "common/fields/syscall_fields.h"

namespace vigil::fields {
namespace {

using syscall_detail::event_of;

void extract_id(const void* e, const FieldArg&, ValueWriter& out) {
  const ContainerInfo* c = event_of(e).container;
  out.str(c != nullptr ? c->id : std::string_view("host"));
}

void extract_name(const void* e, const FieldArg&, ValueWriter& out) {
  const ContainerInfo* c = event_of(e).container;
  if (c == nullptr) {
    out.str("host");
  } else if (!c->name.empty()) {
    out.str(c->name);
  }
}

template <std::string_view ContainerInfo::*M>
void extract_text(const void* e, const FieldArg&, ValueWriter& out) {
  const ContainerInfo* c = event_of(e).container;
  if (c != nullptr && !(c->*M).empty()) {
    out.str(c->*M);
  }
}

template <uint8_t ContainerInfo::*M>
void extract_tri(const void* e, const FieldArg&, ValueWriter& out) {
  const ContainerInfo* c = event_of(e).container;
  if (c != nullptr && c->*M != kTriUnknown) {
    out.boolean(c->*M == kTriTrue);
  }
}

void extract_ip(const void* e, const FieldArg&, ValueWriter& out) {
  const ContainerInfo* c = event_of(e).container;
  if (c != nullptr && c->ip.family != 0) {
    out.ip(c->ip);
  }
}

void extract_start_ts(const void* e, const FieldArg&, ValueWriter& out) {
  const ContainerInfo* c = event_of(e).container;
  if (c != nullptr && c->start_ts != 0) {
    out.num(static_cast<int64_t>(c->start_ts));
  }
}

void extract_duration(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  const ContainerInfo* c = ev.container;
  if (c != nullptr && c->start_ts != 0 && ev.ts >= c->start_ts) {
    out.num(static_cast<int64_t>(ev.ts - c->start_ts));
  }
}

template <std::string_view K8sInfo::*M>
void extract_k8s_text(const void* e, const FieldArg&, ValueWriter& out) {
  const K8sInfo* k = event_of(e).k8s;
  if (k != nullptr && !(k->*M).empty()) {
    out.str(k->*M);
  }
}

void extract_pod_ip(const void* e, const FieldArg&, ValueWriter& out) {
  const K8sInfo* k = event_of(e).k8s;
  if (k != nullptr && k->pod_ip.family != 0) {
    out.ip(k->pod_ip);
  }
}

// k8s.pod.label[app] / k8s.pod.label.app
void extract_pod_label(const void* e, const FieldArg& arg, ValueWriter& out) {
  const K8sInfo* k = event_of(e).k8s;
  if (k == nullptr) {
    return;
  }
  for (const K8sLabel& label : k->labels) {
    if (label.key == arg.text) {
      out.str(label.value);
      return;
    }
  }
}

// k8s.pod.labels: "key:value, key2:value2", Falco's rendering.
void extract_pod_labels(const void* e, const FieldArg&, ValueWriter& out) {
  const K8sInfo* k = event_of(e).k8s;
  if (k == nullptr || k->labels.empty()) {
    return;
  }
  size_t n = 0;
  for (const K8sLabel& label : k->labels) {
    n += label.key.size() + 1 + label.value.size() + 2;
  }
  char* p = out.arena().allocate(n);
  size_t pos = 0;
  for (const K8sLabel& label : k->labels) {
    if (pos != 0) {
      p[pos++] = ',';
      p[pos++] = ' ';
    }
    label.key.copy(p + pos, label.key.size());
    pos += label.key.size();
    p[pos++] = ':';
    label.value.copy(p + pos, label.value.size());
    pos += label.value.size();
  }
  out.str(std::string_view(p, pos));
}

const FieldInfo kContainerFields[] = {
    {"container.id", FieldType::kString, kNone,
     "Short (12 character) container id; 'host' for processes outside containers.", extract_id},
    {"container.full_id", FieldType::kString, kNone, "Full container id.",
     extract_text<&ContainerInfo::full_id>},
    {"container.name", FieldType::kString, kNone,
     "Container name; 'host' for processes outside containers.", extract_name},
    {"container.type", FieldType::kString, kNone,
     "Container runtime, e.g. containerd, cri-o, docker.", extract_text<&ContainerInfo::type>},
    {"container.image", FieldType::kString, kNone,
     "Image reference as given in the pod spec, e.g. 'nginx:1.25'.",
     extract_text<&ContainerInfo::image>},
    {"container.image.id", FieldType::kString, kNone, "Image id.",
     extract_text<&ContainerInfo::image_id>},
    {"container.image.repository", FieldType::kString, kNone,
     "Image repository, e.g. 'docker.io/library/nginx'.",
     extract_text<&ContainerInfo::image_repository>},
    {"container.image.tag", FieldType::kString, kNone, "Image tag, e.g. '1.25'.",
     extract_text<&ContainerInfo::image_tag>},
    {"container.image.digest", FieldType::kString, kNone, "Image digest, 'sha256:...'.",
     extract_text<&ContainerInfo::image_digest>},
    {"container.ip", FieldType::kIpAddr, kNone, "Primary IP address of the container.", extract_ip},
    {"container.privileged", FieldType::kBool, kNone, "True for containers running privileged.",
     extract_tri<&ContainerInfo::privileged>},
    {"container.host_pid", FieldType::kBool, kNone,
     "True when the container shares the host's pid namespace.",
     extract_tri<&ContainerInfo::host_pid>},
    {"container.host_network", FieldType::kBool, kNone,
     "True when the container shares the host's network namespace.",
     extract_tri<&ContainerInfo::host_network>},
    {"container.host_ipc", FieldType::kBool, kNone,
     "True when the container shares the host's IPC namespace.",
     extract_tri<&ContainerInfo::host_ipc>},
    {"container.start_ts", FieldType::kNumber, kNone,
     "Container creation time, ns since the epoch.", extract_start_ts},
    {"container.duration", FieldType::kNumber, kNone,
     "Nanoseconds since the container was created.", extract_duration},
    {"k8s.pod.name", FieldType::kString, kNone, "Name of the pod.",
     extract_k8s_text<&K8sInfo::pod_name>},
    {"k8s.pod.uid", FieldType::kString, kNone, "UID of the pod.",
     extract_k8s_text<&K8sInfo::pod_uid>},
    {"k8s.pod.id", FieldType::kString, kNone, "UID of the pod (older name of k8s.pod.uid).",
     extract_k8s_text<&K8sInfo::pod_uid>},
    {"k8s.pod.sandbox_id", FieldType::kString, kNone, "Container id of the pod sandbox.",
     extract_k8s_text<&K8sInfo::sandbox_id>},
    {"k8s.pod.ip", FieldType::kIpAddr, kNone, "IP address of the pod.", extract_pod_ip},
    {"k8s.pod.label", FieldType::kString, kArgRequired | kArgAllowed | kDotArg,
     "Value of one pod label: k8s.pod.label[app.kubernetes.io/name] or k8s.pod.label.app.",
     extract_pod_label},
    {"k8s.pod.labels", FieldType::kString, kNone, "All pod labels as 'key:value, key2:value2'.",
     extract_pod_labels},
    {"k8s.ns.name", FieldType::kString, kNone, "Namespace of the pod.",
     extract_k8s_text<&K8sInfo::ns_name>},
};

}  // namespace

std::span<const FieldInfo> syscall_container_fields() { return kContainerFields; }

}  // namespace vigil::fields
