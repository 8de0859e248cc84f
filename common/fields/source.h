#pragma once

// An event source: the name rules use in `source:`, its field registry and, where events have a
// type (syscall events do: `evt.type`), what the compiler needs to index rules by type.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/fields/registry.h"

namespace vigil::fields {

struct EventSource {
  std::string_view name;  // "syscall", "k8s_audit"
  const FieldRegistry* fields;

  // Event-type indexing. type_field is empty for sources whose events have no type; then every
  // rule is tested against every event. The type field must extract exactly one value,
  // type_name(event_type(e)): the engine indexes rules by type and answers checks of that field
  // against constants from a table per type id, without extracting it.
  std::string_view type_field;                      // "evt.type"
  size_t type_count = 0;                            // ids are 0..type_count-1
  int (*type_id)(std::string_view name) = nullptr;  // -1 when unknown
  std::string_view (*type_name)(uint16_t id) = nullptr;
  uint16_t (*event_type)(const void* event) = nullptr;

  // The field naming the Kubernetes namespace an event belongs to; a tenant's rule is limited
  // to events where it equals the rule's namespace. Empty: the source has no namespaces.
  std::string_view namespace_field;
};

// Defined in syscall_source.cc and audit_source.cc.
const EventSource& syscall_source();
const EventSource& audit_source();

// "syscall" or "k8s_audit"; nullptr for an unknown source.
const EventSource* find_source(std::string_view name);

}  // namespace vigil::fields
