#pragma once

// Internal to common/fields: the `syscall` source's field families, one per file, and the
// small helpers their extractors share. syscall_source.cc puts the families into the registry.
//
// Extractors are plain functions over a `const SyscallEvent*` passed as `const void*`. They
// never allocate on the heap: values are views into the event, or are built in the per-event
// Arena (ValueWriter::arena()). A field with nothing to report appends nothing (<NA>).
//
// Multi-valued fields that are not kList (proc.aname with no argument, fd.ip, fd.net, fd.port)
// append one value per candidate; the engine treats them as "any value matches", which is how
// libsinsp compares them.

#include <span>
#include <string_view>

#include "common/fields/registry.h"
#include "common/fields/syscall_event.h"

namespace vigil::fields {

std::span<const FieldInfo> syscall_evt_fields();        // evt.*, syscall.type
std::span<const FieldInfo> syscall_proc_fields();       // proc.*, thread.*
std::span<const FieldInfo> syscall_user_fields();       // user.*, group.*
std::span<const FieldInfo> syscall_fd_fields();         // fd.*
std::span<const FieldInfo> syscall_container_fields();  // container.*, k8s.pod.*, k8s.ns.*

namespace syscall_detail {

inline const SyscallEvent& event_of(const void* e) { return *static_cast<const SyscallEvent*>(e); }

// Joins a NUL-separated list with `sep`; returns the input itself when there is nothing to
// replace (one element), so the common case copies nothing. A trailing NUL is dropped.
std::string_view join_nul_list(std::string_view list, char sep, Arena& arena);

// `head` followed by each NUL-separated argument preceded by a space: Falco's proc.cmdline
// (head = proc.name) and proc.exeline (head = proc.exe).
std::string_view join_cmdline(std::string_view head, std::string_view args, Arena& arena);
inline std::string_view cmdline_of(const ProcessInfo& p, Arena& arena) {
  return join_cmdline(p.name, p.args, arena);
}

// Concatenates up to four pieces into the arena.
std::string_view concat(Arena& arena, std::string_view a, std::string_view b,
                        std::string_view c = {}, std::string_view d = {});

// Decimal text of n in the arena.
std::string_view decimal(Arena& arena, int64_t n);

}  // namespace syscall_detail
}  // namespace vigil::fields
