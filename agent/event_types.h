#pragma once

// The kernel's record types (enum vg_type in bpf/event_abi.h) and how they map to the rule
// engine's event types (fields::SyscallType), in both directions.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/fields/syscall_event.h"

namespace vigil::agent {

// "openat", "procexit"; the sched fork record is "sched_fork". "" when out of range.
std::string_view vg_type_name(uint16_t vg_type);

// The rule engine's type for a record type; nullopt for records that only feed the process
// table (VG_T_FORK) and for out-of-range values.
std::optional<fields::SyscallType> to_syscall_type(uint16_t vg_type);

// The in-kernel interest table for the event types a rule set needs (indexed by
// fields::SyscallType id, as SourceRules::needed_event_types() returns): entry i is true when
// record type i must be emitted. Types the engine knows but the kernel does not capture are
// listed in `uncaptured` (by name) when given, so the agent can warn about them once.
std::vector<bool> interest_for(const std::vector<bool>& needed_syscall_types,
                               std::vector<std::string_view>* uncaptured = nullptr);

// Record types that the process and fd tables always need, whatever the rules say.
bool always_captured(uint16_t vg_type);

}  // namespace vigil::agent
