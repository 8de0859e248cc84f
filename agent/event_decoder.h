#pragma once

// Turns one ring-buffer record into the rule engine's fields::SyscallEvent: the header and blobs
// (agent/record.h), the calling process from the ProcessTable, the container from the
// CgroupResolver, and the syscall's arguments named and formatted the way libsinsp presents the
// exit event (evt.arg.NAME / evt.arg[N] as Falco's rules read them).
//
// Per event it writes only into scratch it reuses (the event, one FdInfo, an Arena reset per
// record, a cache of formatted open flags): in steady state decoding allocates nothing.
//
// Argument conventions (docs/syscall-events.md): libsinsp's order for the exit event, without the
// `res` parameter; parameters the kernel does not capture (data buffers, queue statistics, values
// behind user pointers such as clone3's or openat2's structs) are left out, so for a few types
// evt.arg[N] is shifted against Falco while evt.arg.NAME always matches. Paths of PT_FSPATH and
// PT_FSRELPATH parameters are resolved against the cwd or the dirfd's path and normalised, as
// libsinsp resolves them; symlink targets and chdir paths stay as passed.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/container_id.h"
#include "agent/process_table.h"
#include "agent/record.h"
#include "common/fields/syscall_event.h"

namespace vigil::agent {

struct DecoderOptions {
  std::string hostname;                   // evt.hostname
  ContainerMetadata* metadata = nullptr;  // optional; not owned
  // A container without metadata is looked up again at most this often (event time).
  std::chrono::milliseconds metadata_retry{2000};
  // CLOCK_REALTIME - CLOCK_BOOTTIME is re-read when events are this far past the last reading.
  std::chrono::milliseconds clock_refresh{5000};
};

struct DecoderStats {
  uint64_t records = 0;     // records handed to decode()
  uint64_t events = 0;      // SyscallEvents produced
  uint64_t state_only = 0;  // records that only update state (VG_T_FORK)
  uint64_t malformed = 0;   // records rejected by Record::parse, by reason below
  std::array<uint64_t, kRecordErrorCount> malformed_by_reason{};
  uint64_t untracked = 0;  // events whose process has no table entry (tgid 0, table full)
};

class EventDecoder {
 public:
  EventDecoder(ProcessTable& processes, CgroupResolver& cgroups, DecoderOptions options = {});
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // The event for one record, or null for records that only update state (fork) and for
  // malformed ones (counted in stats()). The event may point into `data` and into the process
  // table: it is valid until the next decode() or finish_event() and while `data` is, so
  // evaluate it inside the ring buffer callback.
  const fields::SyscallEvent* decode(const void* data, size_t size);

  // Applies what must wait until the event was evaluated (removal of exited processes). decode()
  // does it first thing too, so calling this is only needed before gc() or shutdown.
  void finish_event() { processes_.finish_event(); }

  // CLOCK_REALTIME - CLOCK_BOOTTIME in use: evt.rawtime = record ts + this.
  int64_t boot_to_epoch_ns() const { return boot_to_epoch_ns_; }
  const DecoderStats& stats() const { return stats_; }

 private:
  void refresh_clock(uint64_t boot_ns);
  void update_state(Process& p);
  void decode_args();
  fields::FdInfo& use_fd(int64_t num);
  void fill_fd_from_blobs(fields::FdInfo& fd);
  void fill_open_fd(std::string_view raw_path, std::string_view resolved);
  void fill_socket(fields::FdInfo& fd, bool have_tuple, const vg_socktuple& t, int role_hint);

  // Argument helpers. Text is a view into the record, the process table, the arena or static
  // storage; numbers are left for fields::arg_text() to format when they are read.
  fields::SyscallArg& push_arg(std::string_view name);
  void arg_number(std::string_view name, int64_t value, fields::ArgFormat format);
  void arg_str(std::string_view name, std::string_view str);
  void arg_num(std::string_view name, int64_t value);
  void arg_unsigned(std::string_view name, uint64_t value);
  void arg_hex(std::string_view name, uint64_t value);
  void arg_oct(std::string_view name, uint64_t value);
  void arg_fd(std::string_view name, int64_t fd);
  void arg_named(std::string_view name, std::string_view text, int64_t value);
  std::string_view open_flags_text(uint32_t flags);
  std::string_view path_arg(std::string_view name, std::string_view raw, std::string_view base);
  std::string_view dirfd_base(int64_t dirfd, unsigned& dirfd_blob);
  void arg_id(std::string_view name, int64_t id, bool group);

  ProcessTable& processes_;
  CgroupResolver& cgroups_;
  DecoderOptions options_;
  DecoderStats stats_;
  Record record_;
  fields::SyscallEvent event_;
  fields::FdInfo fd_;
  bool fd_socket_dirty_ = true;       // fd_'s socket members were written: reset all of it
  fields::ProcessInfo scratch_proc_;  // for records whose process is not tracked
  fields::Arena arena_;
  fields::SyscallArg overflow_arg_;          // written when an event would exceed kMaxArgs
  std::array<int16_t, VG_T_COUNT> types_{};  // vg_type -> fields::SyscallType, -1: none
  uint64_t next_num_ = 1;
  int64_t boot_to_epoch_ns_ = 0;
  uint64_t clock_read_at_ = 0;  // record ts (boot ns) when the offset was last read
  Process* proc_ = nullptr;
  // Names behind PT_UID/PT_GID arguments, kept alive while the event is.
  std::array<std::shared_ptr<const NameEntry>, 3> id_names_;
  size_t id_names_used_ = 0;

  // Formatted open flags by value: a handful of combinations cover nearly every open, so each is
  // formatted (and allocated) once. Direct-mapped; a collision re-formats.
  struct FlagsSlot {
    uint32_t flags = 0;
    bool used = false;
    std::string text;
  };
  std::array<FlagsSlot, 256> flags_cache_{};
};

// `path` made absolute against `base` (a directory) unless it already is, then normalised:
// "//" and "." collapse, ".." drops the previous component (never above "/"), no trailing "/".
// An already normal absolute path is returned as is (no copy); otherwise the result is in
// `arena`. A relative path with an empty base is returned unchanged; an empty path gives "".
std::string_view resolve_path(std::string_view base, std::string_view path, fields::Arena& arena);

}  // namespace vigil::agent
