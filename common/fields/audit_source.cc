#include <span>

#include "common/fields/audit_event.h"
#include "common/fields/source.h"

namespace vigil::fields {

// Defined in audit_fields.cc.
std::span<const FieldInfo> audit_field_infos();

namespace {

const FieldRegistry& audit_registry() {
  static const FieldRegistry registry = [] {
    FieldRegistry r("k8s_audit");
    r.add(audit_field_infos());
    return r;
  }();
  return registry;
}

}  // namespace

// Audit events have no type to index rules by: every k8s_audit rule sees every event.
const EventSource& audit_source() {
  static const EventSource source{
      .name = "k8s_audit",
      .fields = &audit_registry(),
      .type_field = {},
      .namespace_field = "ka.target.namespace",
  };
  return source;
}

}  // namespace vigil::fields
