// user.* and group.* fields of the syscall source (libsinsp: sinsp_filtercheck_user.cpp,
// sinsp_filtercheck_group.cpp). Names are resolved by the producer against the passwd and group
// files the process sees (its container's), not the node's.

#include "common/fields/syscall_fields.h"

namespace vigil::fields {
namespace {

using syscall_detail::event_of;

template <std::string_view ProcessInfo::*M>
void extract_text(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = event_of(e).proc;
  if (p != nullptr && !(p->*M).empty()) {
    out.str(p->*M);
  }
}

void extract_uid(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = event_of(e).proc) {
    out.num(p->uid);
  }
}

void extract_gid(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = event_of(e).proc) {
    out.num(p->gid);
  }
}

// -1 when the process has no login uid (daemons, container processes), as in Falco.
void extract_loginuid(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = event_of(e).proc) {
    out.num(p->loginuid);
  }
}

const FieldInfo kUserFields[] = {
    {"user.uid", FieldType::kNumber, kNone, "Effective user id of the process.", extract_uid},
    {"user.name", FieldType::kString, kNone, "User name for user.uid, e.g. 'root'.",
     extract_text<&ProcessInfo::user_name>},
    {"user.homedir", FieldType::kPath, kNone, "Home directory of the user.",
     extract_text<&ProcessInfo::user_homedir>},
    {"user.shell", FieldType::kPath, kNone, "Login shell of the user.",
     extract_text<&ProcessInfo::user_shell>},
    {"user.loginuid", FieldType::kNumber, kNone,
     "Audit login uid: the user who logged in and started the session; -1 when none.",
     extract_loginuid},
    {"user.loginname", FieldType::kString, kNone, "User name for user.loginuid.",
     extract_text<&ProcessInfo::loginname>},
    {"group.gid", FieldType::kNumber, kNone, "Effective group id of the process.", extract_gid},
    {"group.name", FieldType::kString, kNone, "Group name for group.gid.",
     extract_text<&ProcessInfo::group_name>},
};

}  // namespace

std::span<const FieldInfo> syscall_user_fields() { return kUserFields; }

}  // namespace vigil::fields
