// The `syscall` event source, and the lookup of sources by name.

#include "common/fields/source.h"
#include "common/fields/syscall_event.h"
#include "common/fields/syscall_fields.h"

namespace vigil::fields {
namespace {

FieldRegistry make_syscall_registry() {
  FieldRegistry registry("syscall");
  registry.add(syscall_evt_fields());
  registry.add(syscall_proc_fields());
  registry.add(syscall_user_fields());
  registry.add(syscall_fd_fields());
  registry.add(syscall_container_fields());
  return registry;
}

uint16_t syscall_event_type(const void* event) {
  return static_cast<uint16_t>(static_cast<const SyscallEvent*>(event)->type);
}

}  // namespace

const EventSource& syscall_source() {
  // Built once, on first use, and read-only afterwards (thread-safe static initialisation).
  static const FieldRegistry registry = make_syscall_registry();
  static const EventSource source{
      .name = "syscall",
      .fields = &registry,
      .type_field = "evt.type",
      .type_count = kSyscallTypeCount,
      .type_id = &syscall_type_id,
      .type_name = [](uint16_t id) { return syscall_type_name(id); },
      .event_type = &syscall_event_type,
      .namespace_field = "k8s.ns.name",
  };
  return source;
}

const EventSource* find_source(std::string_view name) {
  if (name == "syscall") {
    return &syscall_source();
  }
  if (name == "k8s_audit") {
    return &audit_source();
  }
  return nullptr;
}

}  // namespace vigil::fields
