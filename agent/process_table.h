#pragma once

// The agent's view of every process (thread group) on the node: what the rule engine's
// fields::ProcessInfo needs and the kernel does not send with each record (exe, args, exepath,
// cwd, env, start time, parent chain, names for uids).
//
// Entries are keyed by tgid and checked against the thread group leader's start time, so a reused
// pid gets a fresh entry. They are seeded from /proc at start, kept current by fork, exec,
// chdir/fchdir and exit records, and created lazily (from /proc/<pid>, else from the record header
// alone) for processes first seen without a fork record. Per-event identity that changes under a
// process (uid/gid, capabilities, comm, loginuid, tty, sid, vpgid, ppid after reparenting) is taken
// from each record's header.
//
// Entries are pointer-stable: ProcessInfo::parent points at the parent's entry, and string views
// point into the entry, so an event stays valid until the next record is applied. Parent links
// never form a cycle (a link that would is refused). Exits are deferred: an exiting process stays
// until finish_event(), after its procexit event was evaluated. The table is bounded: beyond
// `max_entries` the least recently seen entries are evicted (counted); gc() drops entries whose
// process is gone (missed exits).
//
// Everything here runs on the capture thread; nothing is thread-safe.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/container_id.h"
#include "agent/proc_reader.h"
#include "agent/user_names.h"
#include "bpf/event_abi.h"
#include "common/fields/syscall_event.h"

namespace vigil::agent {

// CLOCK_REALTIME - CLOCK_BOOTTIME now, in ns: add it to a bpf_ktime_get_boot_ns() value to get
// ns since the epoch.
int64_t read_boot_to_epoch_ns();

// The kernel's dev_t (MAJOR << 20 | MINOR) in the userspace encoding /proc and Falco report
// ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)).
uint32_t kernel_to_user_dev(uint32_t dev);

// The per-event identity a record's header carries (thread ids, credentials, capabilities, tty,
// login uid, session and process group), written into `info`. Shared by the table's entries and
// the decoder's stand-in for a process the table does not track.
void apply_header_identity(fields::ProcessInfo& info, const vg_event& hdr);

struct ProcessTableOptions {
  size_t max_entries = 65536;
  std::string proc_root = "/proc";
  UserNamesOptions names;  // host_root: where the node's /etc/passwd is
  bool read_env = false;   // read /proc/<pid>/environ for seeded and lazily created entries
};

struct ProcessTableStats {
  uint64_t seeded = 0;            // entries read from /proc by seed_from_proc()
  uint64_t from_fork = 0;         // created by fork records
  uint64_t from_proc = 0;         // created lazily from /proc/<pid>
  uint64_t from_header = 0;       // created lazily from a record header alone (/proc was gone)
  uint64_t exits = 0;             // removed after their procexit
  uint64_t gc_removed = 0;        // removed by gc(): /proc/<pid> gone or another start time
  uint64_t evicted = 0;           // removed to stay within max_entries
  uint64_t pid_reuse = 0;         // replaced because a record had another start time
  uint64_t start_mismatches = 0;  // records whose start time disagreed with the entry (checked
                                  // against /proc: pid reuse, or kept when /proc agrees)
  uint64_t cycles_refused = 0;    // parent links not made because they would close a cycle
  uint64_t full = 0;              // entries not created: table full of entries in use by the event
};

// One thread group. Read-only outside the table.
class Process {
 public:
  const fields::ProcessInfo& info() const { return info_; }
  uint32_t tgid() const { return tgid_; }
  uint64_t start_boot_ns() const { return start_boot_ns_; }
  uint64_t cgroup_id() const { return cgroup_id_; }
  ContainerRecord* container() const { return container_.get(); }
  const Process* parent() const { return parent_; }
  bool exiting() const { return exiting_; }

 private:
  friend class ProcessTable;

  void sync_views();  // points info_'s views at this entry's strings

  fields::ProcessInfo info_;
  uint32_t tgid_ = 0;
  bool in_use_ = false;
  bool exiting_ = false;
  bool start_exact_ = false;  // start_boot_ns_ from a record, not /proc's clock ticks
  uint8_t comm_len_ = 0;
  char comm_[16] = {};
  uint64_t start_boot_ns_ = 0;
  uint32_t pidns_ = 0;      // pid namespace inode from the last record, 0 = unknown
  uint64_t last_seen_ = 0;  // ProcessTable::tick_ when a record last touched it
  std::string exe_;
  std::string exepath_;
  std::string args_;
  std::string env_;
  std::string cwd_;

  // Container (from the cgroup) and names, resolved when the cgroup, uid, gid or loginuid change.
  uint64_t cgroup_id_ = UINT64_MAX;  // UINT64_MAX: not resolved yet
  std::shared_ptr<ContainerRecord> container_;
  bool names_valid_ = false;
  uint64_t names_cgroup_id_ = 0;
  uint32_t names_uid_ = 0;
  uint32_t names_gid_ = 0;
  int64_t names_loginuid_ = 0;
  std::shared_ptr<const NameEntry> user_;
  std::shared_ptr<const NameEntry> group_;
  std::shared_ptr<const NameEntry> login_;

  // Tree links (intrusive; children are unlinked when their parent goes away).
  int64_t linked_ppid_ = -1;  // the ppid the parent link was last resolved for
  Process* parent_ = nullptr;
  Process* first_child_ = nullptr;
  Process* next_sibling_ = nullptr;
  Process* prev_sibling_ = nullptr;
};

class ProcessTable {
 public:
  explicit ProcessTable(ProcessTableOptions options = {});
  ~ProcessTable();
  ProcessTable(const ProcessTable&) = delete;
  ProcessTable& operator=(const ProcessTable&) = delete;

  // Reads every process in /proc (up to max_entries) and links parents. Returns the number of
  // entries created. Call once, before the first record.
  size_t seed_from_proc();

  // Used for ProcessInfo::start_ts of entries created from now on (the decoder refreshes it).
  void set_boot_to_epoch_ns(int64_t offset) { boot_to_epoch_ns_ = offset; }

  // The record's process: found, or created lazily, or replaced after pid reuse; with the
  // header's per-event identity applied and its parent linked. Null for tgid 0 and when the table
  // is full of entries the current event uses.
  Process* process_for(const vg_event& hdr);

  // VG_T_FORK: creates the child from its parent (exe, exepath, args, env, cwd, tty, loginuid,
  // credentials, container...). The header may describe the parent (res = child tgid) or the
  // child itself (tgid == res); both are understood.
  void on_fork(const vg_event& hdr);
  // Successful VG_T_EXECVE/VG_T_EXECVEAT: the new image. `argv` is "argv0\0argv1\0...".
  void on_exec(Process& p, const vg_event& hdr, std::string_view argv, std::string_view exepath,
               std::string_view cwd, std::string_view env);
  void set_cwd(Process& p, std::string_view cwd);
  // The process's container, from its cgroup id (null: the host).
  void set_container(Process& p, uint64_t cgroup_id, std::shared_ptr<ContainerRecord> container);
  // user.name/homedir/shell, user.loginname, group.name for the current uid, gid and loginuid,
  // from the process's root. Cheap when nothing changed since the last call.
  void resolve_names(Process& p) {
    const fields::ProcessInfo& i = p.info_;
    if (!p.names_valid_ || p.names_uid_ != i.uid || p.names_gid_ != i.gid ||
        p.names_loginuid_ != i.loginuid || p.names_cgroup_id_ != p.cgroup_id_) {
      resolve_names_now(p);
    }
  }

  // Names for another uid or gid under the process's root (setuid's argument): cached entries,
  // null when the id has none.
  std::shared_ptr<const NameEntry> user_entry(const Process& p, uint32_t uid);
  std::shared_ptr<const NameEntry> group_entry(const Process& p, uint32_t gid);

  // VG_T_PROCEXIT: the entry is removed by the next finish_event().
  void schedule_exit(Process& p);
  // Applies deferred removals. Call after the event was evaluated (decode() also calls it first).
  void finish_event() {
    if (!exiting_.empty()) remove_exited();
  }

  // Drops entries whose /proc/<pid> is gone or has another start time (exits the table missed).
  // Entries touched by a record since the previous gc() are alive and skipped. Returns the number
  // removed. Call between events, every few seconds.
  size_t gc();

  Process* find(uint32_t tgid) const;
  size_t size() const { return live_; }
  size_t max_entries() const { return options_.max_entries; }
  const ProcessTableStats& stats() const { return stats_; }
  const UserNames& user_names() const { return names_; }

 private:
  class PidMap {
   public:
    Process* find(uint32_t key) const;
    void insert(uint32_t key, Process* value);
    void erase(uint32_t key);
    size_t size() const { return size_; }

   private:
    struct Slot {
      uint32_t key = 0;  // 0 = empty (pid 0 is never stored)
      Process* value = nullptr;
    };
    size_t ideal(uint32_t key) const { return (key * 2654435769u) >> shift_; }
    void grow();
    std::vector<Slot> slots_;
    unsigned shift_ = 32;
    size_t size_ = 0;
  };

  Process* allocate(uint32_t tgid);
  void remove(Process& p);
  void evict_some();
  void touch(Process& p) { p.last_seen_ = tick_; }
  bool start_matches(const Process& p, uint64_t start_boot_ns, bool exact) const;
  bool still_running(const Process& p);
  void set_start(Process& p, uint64_t start_boot_ns, bool exact);
  void apply_header(Process& p, const vg_event& hdr);
  void remove_exited();
  void resolve_names_now(Process& p);
  void fill_from_snapshot(Process& p, const ProcSnapshot& s);
  void fill_from_header(Process& p, const vg_event& hdr);
  // The entry for an ancestor pid, from the table or /proc (never from a header).
  Process* ancestor(uint32_t pid, uint64_t start_boot_ns, int depth);
  void relink(Process& p, int64_t ppid, uint64_t parent_start, int depth);
  void link(Process& child, Process& parent);
  void inherit_pidns_start(Process& child);
  void unlink(Process& child);

  ProcessTableOptions options_;
  ProcReader reader_;
  UserNames names_;
  std::deque<Process> pool_;  // a deque never moves its elements
  std::vector<Process*> free_;
  PidMap map_;
  size_t live_ = 0;
  uint64_t tick_ = 1;
  uint64_t gc_mark_ = 0;
  int64_t boot_to_epoch_ns_ = 0;
  std::vector<Process*> exiting_;
  ProcSnapshot snap_;  // scratch for /proc reads
  ProcessTableStats stats_;
};

}  // namespace vigil::agent
