#include "agent/process_table.h"

#include <time.h>

#include <algorithm>
#include <cstring>

namespace vigil::agent {

int64_t read_boot_to_epoch_ns() {
  // Sandwich the realtime read between two boottime reads and keep the tightest of a few tries.
  auto ns = [](const timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + static_cast<int64_t>(t.tv_nsec);
  };
  int64_t best_gap = INT64_MAX;
  int64_t offset = 0;
  for (int i = 0; i < 3; ++i) {
    timespec b1{}, r{}, b2{};
    clock_gettime(CLOCK_BOOTTIME, &b1);
    clock_gettime(CLOCK_REALTIME, &r);
    clock_gettime(CLOCK_BOOTTIME, &b2);
    const int64_t gap = ns(b2) - ns(b1);
    if (gap < best_gap) {
      best_gap = gap;
      offset = ns(r) - (ns(b1) + gap / 2);
    }
  }
  return offset;
}

uint32_t kernel_to_user_dev(uint32_t dev) {
  const uint32_t major = dev >> 20;
  const uint32_t minor = dev & 0xFFFFF;
  return (minor & 0xFF) | (major << 8) | ((minor & ~0xFFu) << 12);
}

namespace {

constexpr uint32_t kNoLoginUid32 = UINT32_MAX;

int64_t loginuid_of(uint32_t v) {
  return v == kNoLoginUid32 ? fields::kNoLoginUid : static_cast<int64_t>(v);
}

// Start times agree: exactly when both come from records, within two clock ticks when one is
// /proc's (rounded down to a tick) or a fork record's timestamp. 0 is unknown and agrees.
bool same_start(uint64_t a, bool a_exact, uint64_t b, bool b_exact, uint64_t tick_ns) {
  if (a == 0 || b == 0) {
    return true;
  }
  if (a_exact && b_exact) {
    return a == b;
  }
  const uint64_t diff = a > b ? a - b : b - a;
  return diff < 2 * tick_ns;
}

}  // namespace

// =============================================================================================
// Process
// =============================================================================================

void Process::sync_views() {
  info_.name = std::string_view(comm_, comm_len_);
  info_.exe = exe_;
  info_.exepath = exepath_;
  info_.args = args_;
  info_.env = env_;
  info_.cwd = cwd_;
  info_.container_id =
      container_ != nullptr ? std::string_view(container_->short_id()) : std::string_view();
  info_.user_name = user_ != nullptr ? std::string_view(user_->name) : std::string_view();
  info_.user_homedir = user_ != nullptr ? std::string_view(user_->homedir) : std::string_view();
  info_.user_shell = user_ != nullptr ? std::string_view(user_->shell) : std::string_view();
  info_.group_name = group_ != nullptr ? std::string_view(group_->name) : std::string_view();
  info_.loginname = login_ != nullptr ? std::string_view(login_->name) : std::string_view();
}

// =============================================================================================
// PidMap: open addressing with linear probing and backward-shift deletion
// =============================================================================================

Process* ProcessTable::PidMap::find(uint32_t key) const {
  if (size_ == 0 || key == 0) {
    return nullptr;
  }
  const size_t mask = slots_.size() - 1;
  for (size_t i = ideal(key);; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.key == key) {
      return s.value;
    }
    if (s.key == 0) {
      return nullptr;
    }
  }
}

void ProcessTable::PidMap::grow() {
  std::vector<Slot> old = std::move(slots_);
  const size_t n = old.empty() ? 1024 : old.size() * 2;
  slots_.assign(n, Slot{});
  shift_ = 32 - static_cast<unsigned>(__builtin_ctzll(n));
  size_ = 0;
  for (const Slot& s : old) {
    if (s.key != 0) {
      insert(s.key, s.value);
    }
  }
}

void ProcessTable::PidMap::insert(uint32_t key, Process* value) {
  if ((size_ + 1) * 2 > slots_.size()) {
    grow();
  }
  const size_t mask = slots_.size() - 1;
  for (size_t i = ideal(key);; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.key == key) {
      s.value = value;
      return;
    }
    if (s.key == 0) {
      s.key = key;
      s.value = value;
      ++size_;
      return;
    }
  }
}

void ProcessTable::PidMap::erase(uint32_t key) {
  if (size_ == 0 || key == 0) {
    return;
  }
  const size_t mask = slots_.size() - 1;
  size_t i = ideal(key);
  while (slots_[i].key != key) {
    if (slots_[i].key == 0) {
      return;
    }
    i = (i + 1) & mask;
  }
  // Shift later members of the probe run back so that no lookup stops early at the hole.
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (slots_[j].key == 0) {
      break;
    }
    const size_t k = ideal(slots_[j].key);
    const bool stays = (j > i) ? (k > i && k <= j) : (k > i || k <= j);
    if (!stays) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = Slot{};
  --size_;
}

// =============================================================================================
// ProcessTable
// =============================================================================================

ProcessTable::ProcessTable(ProcessTableOptions options)
    : options_(std::move(options)),
      reader_(options_.proc_root),
      names_([this] {
        UserNamesOptions n = options_.names;
        n.proc_root = options_.proc_root;
        return n;
      }()),
      boot_to_epoch_ns_(read_boot_to_epoch_ns()) {
  if (options_.max_entries == 0) {
    options_.max_entries = 1;
  }
}

ProcessTable::~ProcessTable() = default;

Process* ProcessTable::find(uint32_t tgid) const { return map_.find(tgid); }

Process* ProcessTable::allocate(uint32_t tgid) {
  if (live_ >= options_.max_entries) {
    evict_some();
    if (live_ >= options_.max_entries) {
      ++stats_.full;
      return nullptr;
    }
  }
  Process* p = nullptr;
  if (!free_.empty()) {
    p = free_.back();
    free_.pop_back();
  } else {
    p = &pool_.emplace_back();
  }
  // Reset everything but the strings' capacity.
  p->info_ = fields::ProcessInfo{};
  p->tgid_ = tgid;
  p->in_use_ = true;
  p->exiting_ = false;
  p->start_exact_ = false;
  p->comm_len_ = 0;
  std::memset(p->comm_, 0, sizeof(p->comm_));
  p->start_boot_ns_ = 0;
  p->pidns_ = 0;
  p->exe_.clear();
  p->exepath_.clear();
  p->args_.clear();
  p->env_.clear();
  p->cwd_.clear();
  p->cgroup_id_ = UINT64_MAX;
  p->container_.reset();
  p->names_valid_ = false;
  p->user_.reset();
  p->group_.reset();
  p->login_.reset();
  p->linked_ppid_ = -1;
  p->parent_ = p->first_child_ = p->next_sibling_ = p->prev_sibling_ = nullptr;
  p->info_.pid = tgid;
  p->info_.tid = tgid;
  touch(*p);
  map_.insert(tgid, p);
  ++live_;
  return p;
}

void ProcessTable::remove(Process& p) {
  if (!p.in_use_) {
    return;
  }
  unlink(p);
  // Orphans lose their link; they keep linked_ppid_, so they are not looked up again until the
  // kernel reports their new parent.
  for (Process* c = p.first_child_; c != nullptr;) {
    Process* next = c->next_sibling_;
    c->parent_ = nullptr;
    c->info_.parent = nullptr;
    c->next_sibling_ = c->prev_sibling_ = nullptr;
    c = next;
  }
  p.first_child_ = nullptr;
  if (map_.find(p.tgid_) == &p) {
    map_.erase(p.tgid_);
  }
  p.in_use_ = false;
  p.container_.reset();
  p.user_.reset();
  p.group_.reset();
  p.login_.reset();
  free_.push_back(&p);
  --live_;
}

void ProcessTable::evict_some() {
  // Evict the least recently seen sixteenth in one pass, so that a storm of new processes costs
  // O(1) amortised per insert. Entries touched by the current event are never evicted.
  std::vector<std::pair<uint64_t, Process*>> candidates;
  candidates.reserve(live_);
  for (Process& p : pool_) {
    if (p.in_use_ && p.last_seen_ < tick_ && !p.exiting_) {
      candidates.emplace_back(p.last_seen_, &p);
    }
  }
  if (candidates.empty()) {
    return;
  }
  const size_t n = std::min(candidates.size(), std::max<size_t>(1, live_ / 16));
  std::nth_element(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(n - 1),
                   candidates.end());
  for (size_t i = 0; i < n; ++i) {
    remove(*candidates[i].second);
    ++stats_.evicted;
  }
}

bool ProcessTable::start_matches(const Process& p, uint64_t start, bool exact) const {
  return same_start(p.start_boot_ns_, p.start_exact_, start, exact, reader_.ns_per_tick());
}

// A record disagrees with the entry's start time. That is pid reuse unless /proc still shows the
// entry's process under that pid (then the record's start time is the odd one out: keep the
// entry rather than throw away its state on every such record). Counted either way.
bool ProcessTable::still_running(const Process& p) {
  ++stats_.start_mismatches;
  uint64_t proc_start = 0;
  return reader_.read_start(p.tgid_, proc_start) && start_matches(p, proc_start, false);
}

void ProcessTable::set_start(Process& p, uint64_t start, bool exact) {
  if (start == 0 || (p.start_exact_ && !exact)) {
    return;
  }
  p.start_boot_ns_ = start;
  p.start_exact_ = exact;
  p.info_.start_ts = static_cast<uint64_t>(static_cast<int64_t>(start) + boot_to_epoch_ns_);
  if (p.info_.vpid == 1) {
    p.info_.pidns_init_start_ts = p.info_.start_ts;  // the init of its pid namespace
  }
}

// proc.pidns_init_start_ts: a namespace's init (vpid 1) started it; everyone else inherits it
// from the parent in the same namespace.
void ProcessTable::inherit_pidns_start(Process& child) {
  if (child.info_.vpid == 1) {
    child.info_.pidns_init_start_ts = child.info_.start_ts;
  } else if (child.parent_ != nullptr && (child.pidns_ == 0 || child.parent_->pidns_ == 0 ||
                                          child.pidns_ == child.parent_->pidns_)) {
    child.info_.pidns_init_start_ts = child.parent_->info_.pidns_init_start_ts;
  }
}

void ProcessTable::fill_from_snapshot(Process& p, const ProcSnapshot& s) {
  p.info_.ppid = s.ppid;
  p.info_.vpid = s.vpid;
  p.info_.vtid = s.vpid;
  p.info_.sid = s.sid;
  p.info_.vpgid = s.vpgid;
  p.info_.tty = s.tty;
  p.info_.uid = s.uid;
  p.info_.gid = s.gid;
  p.info_.loginuid = s.loginuid;
  p.info_.cap_effective = s.cap_effective;
  p.info_.cap_permitted = s.cap_permitted;
  p.info_.cap_inheritable = s.cap_inheritable;
  const size_t n = std::min(s.comm.size(), sizeof(p.comm_) - 1);
  std::memset(p.comm_, 0, sizeof(p.comm_));
  std::memcpy(p.comm_, s.comm.data(), n);
  p.comm_len_ = static_cast<uint8_t>(n);
  p.exe_ = s.exe;
  p.exepath_ = s.exepath;
  p.args_ = s.args;
  p.env_ = s.env;
  p.cwd_ = s.cwd;
  set_start(p, s.start_boot_ns, false);
  p.sync_views();
}

void apply_header_identity(fields::ProcessInfo& i, const vg_event& hdr) {
  i.tid = hdr.tid;
  i.vtid = hdr.vtid;
  i.vpid = hdr.vtgid;
  i.uid = hdr.uid;
  i.gid = hdr.gid;
  i.loginuid = loginuid_of(hdr.loginuid);
  i.tty = kernel_to_user_dev(hdr.tty);
  i.sid = hdr.sid;
  i.vpgid = hdr.vpgid;
  i.cap_effective = hdr.cap_effective;
  i.cap_permitted = hdr.cap_permitted;
  i.cap_inheritable = hdr.cap_inheritable;
}

void ProcessTable::fill_from_header(Process& p, const vg_event& hdr) {
  p.info_.vpid = hdr.vtgid;
  apply_header(p, hdr);  // identity; links the parent
  set_start(p, hdr.start_time, true);
}

void ProcessTable::apply_header(Process& p, const vg_event& hdr) {
  fields::ProcessInfo& i = p.info_;
  apply_header_identity(i, hdr);
  p.pidns_ = hdr.pidns_inum;
  // Two word compares instead of a library call: the name rarely changes.
  uint64_t have[2], seen[2];
  static_assert(sizeof(have) == sizeof(p.comm_) && sizeof(seen) == sizeof(hdr.comm));
  std::memcpy(have, p.comm_, sizeof(have));
  std::memcpy(seen, hdr.comm, sizeof(seen));
  if (have[0] != seen[0] || have[1] != seen[1]) {
    std::memcpy(p.comm_, hdr.comm, sizeof(p.comm_));
    p.comm_len_ = static_cast<uint8_t>(strnlen(p.comm_, sizeof(p.comm_)));
    i.name = std::string_view(p.comm_, p.comm_len_);
  }
  if (static_cast<int64_t>(hdr.ppid) != p.linked_ppid_) {
    relink(p, hdr.ppid, hdr.parent_start_time, 0);
  }
}

void ProcessTable::unlink(Process& child) {
  Process* parent = child.parent_;
  if (parent == nullptr) {
    return;
  }
  if (child.prev_sibling_ != nullptr) {
    child.prev_sibling_->next_sibling_ = child.next_sibling_;
  } else {
    parent->first_child_ = child.next_sibling_;
  }
  if (child.next_sibling_ != nullptr) {
    child.next_sibling_->prev_sibling_ = child.prev_sibling_;
  }
  child.parent_ = nullptr;
  child.next_sibling_ = child.prev_sibling_ = nullptr;
  child.info_.parent = nullptr;
}

void ProcessTable::link(Process& child, Process& parent) {
  // Refuse a link that would make the child its own ancestor. The tree is acyclic by induction,
  // so walking the parent's ancestors always ends.
  for (const Process* a = &parent; a != nullptr; a = a->parent_) {
    if (a == &child) {
      ++stats_.cycles_refused;
      return;
    }
  }
  child.parent_ = &parent;
  child.info_.parent = &parent.info_;
  child.prev_sibling_ = nullptr;
  child.next_sibling_ = parent.first_child_;
  if (parent.first_child_ != nullptr) {
    parent.first_child_->prev_sibling_ = &child;
  }
  parent.first_child_ = &child;
  inherit_pidns_start(child);
}

void ProcessTable::relink(Process& p, int64_t ppid, uint64_t parent_start, int depth) {
  unlink(p);
  p.linked_ppid_ = ppid;
  p.info_.ppid = ppid;
  if (ppid <= 0 || ppid == static_cast<int64_t>(p.tgid_) || ppid > UINT32_MAX) {
    return;
  }
  Process* parent = ancestor(static_cast<uint32_t>(ppid), parent_start, depth + 1);
  if (parent != nullptr && parent != &p) {
    link(p, *parent);
  }
}

Process* ProcessTable::ancestor(uint32_t pid, uint64_t start, int depth) {
  Process* a = map_.find(pid);
  if (a != nullptr) {
    if (start_matches(*a, start, true) || still_running(*a)) {
      touch(*a);  // in use by this event: not evictable until the next one
      return a;
    }
    ++stats_.pid_reuse;
    remove(*a);
  }
  if (depth > fields::kMaxAncestorDepth) {
    return nullptr;
  }
  ProcSnapshot s;
  if (!reader_.read(pid, s, options_.read_env)) {
    return nullptr;
  }
  if (!same_start(start, true, s.start_boot_ns, false, reader_.ns_per_tick())) {
    return nullptr;  // the pid was reused since the record
  }
  a = allocate(pid);
  if (a == nullptr) {
    return nullptr;
  }
  ++stats_.from_proc;
  fill_from_snapshot(*a, s);
  set_start(*a, start, true);
  relink(*a, s.ppid, 0, depth);
  return a;
}

Process* ProcessTable::process_for(const vg_event& hdr) {
  if (hdr.tgid == 0) {
    return nullptr;
  }
  ++tick_;
  Process* p = map_.find(hdr.tgid);
  if (p != nullptr) {
    if (start_matches(*p, hdr.start_time, true) || still_running(*p)) {
      touch(*p);
      if (!p->start_exact_) {
        set_start(*p, hdr.start_time, true);
      }
      apply_header(*p, hdr);
      return p;
    }
    ++stats_.pid_reuse;
    remove(*p);
  }
  // First seen without a fork record: /proc if it is still the same process, else the header.
  const bool from_proc =
      reader_.read(hdr.tgid, snap_, options_.read_env) &&
      same_start(hdr.start_time, true, snap_.start_boot_ns, false, reader_.ns_per_tick());
  p = allocate(hdr.tgid);
  if (p == nullptr) {
    return nullptr;
  }
  if (from_proc) {
    ++stats_.from_proc;
    fill_from_snapshot(*p, snap_);
  } else {
    ++stats_.from_header;
  }
  p->sync_views();
  fill_from_header(*p, hdr);
  return p;
}

void ProcessTable::on_fork(const vg_event& hdr) {
  if (hdr.res <= 0 || hdr.res > UINT32_MAX) {
    return;
  }
  const auto child_tgid = static_cast<uint32_t>(hdr.res);
  const bool child_side = hdr.tgid == child_tgid;
  ++tick_;
  Process* parent = nullptr;
  if (child_side) {
    parent = hdr.ppid != 0 ? ancestor(hdr.ppid, hdr.parent_start_time, 1) : nullptr;
  } else {
    parent = process_for(hdr);
  }
  const uint64_t child_start = child_side ? hdr.start_time : hdr.ts;

  if (Process* existing = map_.find(child_tgid); existing != nullptr) {
    // A pid belongs to one process at a time: an entry already there is a previous process
    // whose exit was missed, unless this very fork was applied already.
    if (child_side && existing->start_exact_ && existing->start_boot_ns_ == hdr.start_time) {
      return;
    }
    ++stats_.pid_reuse;
    remove(*existing);
  }
  Process* c = allocate(child_tgid);
  if (c == nullptr) {
    return;
  }
  ++stats_.from_fork;
  if (parent != nullptr) {
    // The child is a copy of its parent.
    const Process& f = *parent;
    c->info_ = f.info_;
    std::memcpy(c->comm_, f.comm_, sizeof(c->comm_));
    c->comm_len_ = f.comm_len_;
    c->exe_ = f.exe_;
    c->exepath_ = f.exepath_;
    c->args_ = f.args_;
    c->env_ = f.env_;
    c->cwd_ = f.cwd_;
    c->pidns_ = f.pidns_;
    c->cgroup_id_ = f.cgroup_id_;
    c->container_ = f.container_;
    c->names_valid_ = f.names_valid_;
    c->names_cgroup_id_ = f.names_cgroup_id_;
    c->names_uid_ = f.names_uid_;
    c->names_gid_ = f.names_gid_;
    c->names_loginuid_ = f.names_loginuid_;
    c->user_ = f.user_;
    c->group_ = f.group_;
    c->login_ = f.login_;
  }
  fields::ProcessInfo& i = c->info_;
  i.pid = i.tid = child_tgid;
  i.parent = nullptr;
  i.start_ts = 0;
  // In a child pid namespace the child's own pid is not known until its first record.
  const bool host_ns = parent == nullptr || parent->info_.vpid == parent->info_.pid;
  i.vpid = i.vtid = host_ns ? static_cast<int64_t>(child_tgid) : -1;
  c->start_boot_ns_ = 0;
  c->start_exact_ = false;
  set_start(*c, child_start, child_side);
  c->sync_views();
  if (child_side) {
    apply_header(*c, hdr);  // links the parent by hdr.ppid
  } else if (parent != nullptr) {
    c->linked_ppid_ = parent->tgid_;
    i.ppid = parent->tgid_;
    link(*c, *parent);
  }
}

void ProcessTable::on_exec(Process& p, const vg_event& hdr, std::string_view argv,
                           std::string_view exepath, std::string_view cwd, std::string_view env) {
  ProcReader::split_cmdline(argv, p.exe_, p.args_);
  if (!exepath.empty()) {
    p.exepath_.assign(exepath);
  } else if (!p.exe_.empty() && p.exe_.front() == '/') {
    p.exepath_ = p.exe_;
  } else {
    p.exepath_.clear();
  }
  if (!cwd.empty()) {
    p.cwd_.assign(cwd);
  }
  p.env_.assign(env);
  fields::ProcessInfo& i = p.info_;
  i.exe_ino = hdr.exe_ino;
  i.exe_ino_ctime = hdr.exe_ctime;
  i.exe_ino_mtime = hdr.exe_mtime;
  i.exe_from_memfd = (hdr.flags & VG_F_EXE_MEMFD) != 0;
  i.exe_upper_layer = (hdr.flags & VG_F_EXE_UPPER) != 0;
  i.exe_lower_layer = (hdr.flags & VG_F_EXE_LOWER) != 0;
  i.exe_writable = (hdr.flags & VG_F_EXE_WRITABLE) != 0;
  p.sync_views();
}

void ProcessTable::set_cwd(Process& p, std::string_view cwd) {
  p.cwd_.assign(cwd);
  p.info_.cwd = p.cwd_;
}

void ProcessTable::set_container(Process& p, uint64_t cgroup_id,
                                 std::shared_ptr<ContainerRecord> container) {
  p.cgroup_id_ = cgroup_id;
  p.container_ = std::move(container);
  p.info_.container_id =
      p.container_ != nullptr ? std::string_view(p.container_->short_id()) : std::string_view();
}

void ProcessTable::resolve_names_now(Process& p) {
  const fields::ProcessInfo& i = p.info_;
  const std::string_view root =
      p.container_ != nullptr ? std::string_view(p.container_->full_id()) : std::string_view();
  if (!p.names_valid_ || p.names_uid_ != i.uid || p.names_cgroup_id_ != p.cgroup_id_) {
    p.user_ = names_.user(root, p.tgid_, i.uid);
  }
  if (!p.names_valid_ || p.names_gid_ != i.gid || p.names_cgroup_id_ != p.cgroup_id_) {
    p.group_ = names_.group(root, p.tgid_, i.gid);
  }
  if (!p.names_valid_ || p.names_loginuid_ != i.loginuid || p.names_cgroup_id_ != p.cgroup_id_) {
    p.login_ =
        i.loginuid >= 0 ? names_.user(root, p.tgid_, static_cast<uint32_t>(i.loginuid)) : nullptr;
  }
  p.names_valid_ = true;
  p.names_uid_ = i.uid;
  p.names_gid_ = i.gid;
  p.names_loginuid_ = i.loginuid;
  p.names_cgroup_id_ = p.cgroup_id_;
  p.sync_views();
}

std::shared_ptr<const NameEntry> ProcessTable::user_entry(const Process& p, uint32_t uid) {
  const std::string_view root =
      p.container_ != nullptr ? std::string_view(p.container_->full_id()) : std::string_view();
  return names_.user(root, p.tgid_, uid);
}

std::shared_ptr<const NameEntry> ProcessTable::group_entry(const Process& p, uint32_t gid) {
  const std::string_view root =
      p.container_ != nullptr ? std::string_view(p.container_->full_id()) : std::string_view();
  return names_.group(root, p.tgid_, gid);
}

void ProcessTable::schedule_exit(Process& p) {
  if (!p.exiting_) {
    p.exiting_ = true;
    exiting_.push_back(&p);
  }
}

void ProcessTable::remove_exited() {
  for (Process* p : exiting_) {
    if (p->in_use_ && p->exiting_) {
      remove(*p);
      ++stats_.exits;
    }
  }
  exiting_.clear();
}

size_t ProcessTable::seed_from_proc() {
  size_t n = 0;
  std::vector<std::pair<Process*, int64_t>> parents;
  for (int64_t pid : reader_.list_pids()) {
    if (live_ >= options_.max_entries || pid > UINT32_MAX) {
      break;
    }
    if (map_.find(static_cast<uint32_t>(pid)) != nullptr ||
        !reader_.read(pid, snap_, options_.read_env)) {
      continue;
    }
    Process* p = allocate(static_cast<uint32_t>(pid));
    if (p == nullptr) {
      break;
    }
    fill_from_snapshot(*p, snap_);
    parents.emplace_back(p, snap_.ppid);
    ++n;
  }
  for (auto& [p, ppid] : parents) {
    if (p->in_use_ && ppid > 0) {
      Process* parent = map_.find(static_cast<uint32_t>(ppid));
      p->linked_ppid_ = ppid;
      if (parent != nullptr && parent != p) {
        link(*p, *parent);
      }
    }
  }
  // Links were made in pid order, so a parent may have got its namespace's start after its
  // children: take it from the nearest ancestor that is a namespace init instead.
  for (auto& [p, ppid] : parents) {
    int depth = 0;
    for (const Process* a = p; a != nullptr && depth <= fields::kMaxAncestorDepth;
         a = a->parent_, ++depth) {
      if (a->info_.vpid == 1) {
        p->info_.pidns_init_start_ts = a->info_.start_ts;
        break;
      }
    }
  }
  stats_.seeded += n;
  return n;
}

size_t ProcessTable::gc() {
  finish_event();
  size_t removed = 0;
  for (Process& p : pool_) {
    if (!p.in_use_ || p.last_seen_ > gc_mark_) {
      continue;
    }
    uint64_t start = 0;
    if (!reader_.read_start(p.tgid_, start) || !start_matches(p, start, false)) {
      remove(p);
      ++removed;
    }
  }
  stats_.gc_removed += removed;
  gc_mark_ = tick_;
  ++tick_;
  return removed;
}

}  // namespace vigil::agent
