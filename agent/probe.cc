#include "agent/probe.h"

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "agent/event_types.h"
#include "bpf/event_abi.h"
#include "vigil.skel.h"

namespace vigil::agent {
namespace {

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    if (auto registered = spdlog::get("probe")) return registered;
    return spdlog::default_logger()->clone("probe");
  }();
  return *instance;
}

// "Operation not permitted (EPERM)".
std::string errno_text(int err) {
  if (err < 0) err = -err;
  const char* name = strerrorname_np(err);
  return fmt::format("{} ({})", std::strerror(err), name ? name : std::to_string(err));
}

// libbpf's messages go to the "probe" logger; while start() loads the object they are also
// captured, so a failed load can quote the verifier log. libbpf_set_print() is process-wide.
std::mutex capture_mu;
std::string* capture = nullptr;  // guarded by capture_mu

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  char stack_buf[1024];
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(stack_buf, sizeof(stack_buf), format, copy);
  va_end(copy);
  if (n < 0) return 0;
  std::string text;
  if (static_cast<size_t>(n) < sizeof(stack_buf)) {
    text.assign(stack_buf, static_cast<size_t>(n));
  } else {
    text.resize(static_cast<size_t>(n) + 1);
    std::vsnprintf(text.data(), text.size(), format, args);
    text.resize(static_cast<size_t>(n));
  }
  {
    std::lock_guard<std::mutex> lock(capture_mu);
    if (capture != nullptr) capture->append(text);
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  // Verifier logs arrive as one huge warning; they are quoted (tail) in the start() error.
  if (level == LIBBPF_WARN && text.size() < 1024) {
    logger().warn("{}", text);
  } else {
    logger().debug("{}", text);
  }
  return 0;
}

class LibbpfCapture {
 public:
  LibbpfCapture() {
    std::lock_guard<std::mutex> lock(capture_mu);
    capture = &text_;
  }
  ~LibbpfCapture() {
    std::lock_guard<std::mutex> lock(capture_mu);
    capture = nullptr;
  }
  std::string take() {
    std::lock_guard<std::mutex> lock(capture_mu);
    return std::move(text_);
  }

 private:
  std::string text_;
};

// The name of the program libbpf reports as failing ("prog 'vg_exit_openat': BPF program load
// failed: ..."), or "".
std::string failed_program(const std::string& log) {
  static constexpr std::string_view kMarkers[] = {"': BPF program load failed", "': failed to load",
                                                  "': failed to relocate"};
  for (std::string_view marker : kMarkers) {
    const size_t at = log.find(marker);
    if (at == std::string::npos) continue;
    const size_t open = log.rfind("prog '", at);
    if (open == std::string::npos) continue;
    return log.substr(open + 6, at - open - 6);
  }
  return {};
}

// The last lines of the verifier log (between libbpf's BEGIN/END PROG LOAD LOG markers).
std::string verifier_tail(const std::string& log, size_t max_lines = 12) {
  size_t end = log.rfind("-- END PROG LOAD LOG --");
  if (end == std::string::npos) return {};
  size_t begin = log.rfind("-- BEGIN PROG LOAD LOG --", end);
  begin = begin == std::string::npos ? 0 : log.find('\n', begin) + 1;
  // Trim libbpf's "libbpf: prog 'x': " prefix of the END line.
  end = log.rfind('\n', end);
  if (end == std::string::npos || end < begin) return {};
  std::string_view body(log.data() + begin, end - begin);
  size_t cut = body.size();
  for (size_t lines = 0; cut > 0 && lines < max_lines; ++lines) {
    const size_t nl = body.rfind('\n', cut - 1);
    if (nl == std::string_view::npos) {
      cut = 0;
      break;
    }
    cut = nl;
  }
  std::string_view tail = body.substr(cut);
  while (!tail.empty() && tail.front() == '\n') tail.remove_prefix(1);
  return std::string(tail);
}

uint32_t ring_size(uint32_t requested) {
  const auto page = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  uint64_t size = page;
  while (size < requested && size < (1ull << 31)) size <<= 1;
  return static_cast<uint32_t>(size);
}

// The events directory of tracefs, mounting tracefs at /sys/kernel/tracing when neither it nor
// the debugfs path is mounted (libbpf attaches syscall tracepoints through it). "" when no
// tracefs can be found or mounted.
std::string tracefs_events() {
  for (const char* dir : {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"}) {
    if (access(dir, F_OK) == 0) return dir;
  }
  if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0) {
    logger().info("Mounted tracefs at /sys/kernel/tracing: the syscall tracepoints need it");
    return "/sys/kernel/tracing/events";
  }
  logger().warn("Failed to mount tracefs at /sys/kernel/tracing: {}", errno_text(errno));
  return {};
}

constexpr std::string_view kSyscallSection = "tracepoint/syscalls/";

// The record type a program emits, from its section: "tracepoint/syscalls/sys_exit_<name>"
// where <name> is vg_type_name() (umount2(2)'s tracepoint is sys_exit_umount), or the two sched
// tracepoints. -1 when unknown.
int type_of_program(std::string_view section) {
  if (section == "tp_btf/sched_process_fork") return VG_T_FORK;
  if (section == "tp_btf/sched_process_exit") return VG_T_PROCEXIT;
  constexpr std::string_view kExit = "tracepoint/syscalls/sys_exit_";
  if (!section.starts_with(kExit)) return -1;
  std::string_view name = section.substr(kExit.size());
  if (name == "umount") name = "umount2";
  for (uint16_t t = 0; t < VG_T_COUNT; ++t) {
    if (t != VG_T_FORK && vg_type_name(t) == name) return t;
  }
  return -1;
}

}  // namespace

struct Probe::Impl {
  struct SkelDeleter {
    void operator()(vigil_bpf* s) const { vigil_bpf__destroy(s); }
  };
  struct LinkDeleter {
    void operator()(bpf_link* l) const { bpf_link__destroy(l); }
  };
  struct RingDeleter {
    void operator()(ring_buffer* r) const { ring_buffer__free(r); }
  };

  // Torn down in this order by ~Impl: the ring buffer, the links (detach), then the object.
  std::unique_ptr<vigil_bpf, SkelDeleter> skel;
  std::mutex attach_mu;
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links;  // guarded by attach_mu
  std::vector<std::string> attached;                          // guarded by attach_mu
  std::array<bool, VG_T_COUNT> type_attached{};               // guarded by attach_mu
  std::unique_ptr<ring_buffer, RingDeleter> ring;
  std::array<bpf_program*, VG_T_COUNT> program_of_type{};  // nullptr: no program on this kernel
  int ncpus = 0;

  ~Impl() {
    ring.reset();
    // Detaching a tracepoint program waits for RCU grace periods, ~70 ms each on this kernel:
    // one at a time, 71 links took 5 s. Concurrent waiters share grace periods, so the links are
    // closed from many threads at once (measured: 8 threads 0.35 s, 64 threads 0.1 s). Links a
    // thread could not be started for are closed here afterwards.
    constexpr size_t kThreads = 64;
    std::vector<std::thread> closers;
    const size_t per = (links.size() + kThreads - 1) / kThreads;
    for (size_t begin = 0; begin < links.size(); begin += per) {
      const size_t end = std::min(links.size(), begin + per);
      try {
        closers.emplace_back([this, begin, end] {
          for (size_t i = begin; i < end; ++i) links[i].reset();
        });
      } catch (const std::system_error& e) {
        logger().warn("Closing BPF links one at a time: could not start a thread: {}", e.what());
        break;
      }
    }
    for (std::thread& t : closers) t.join();
    links.clear();
    skel.reset();
  }

  // Attaches the program of record type `type` unless it is attached (or there is none).
  // Called with attach_mu held.
  Result<bool> attach_locked(uint16_t type) {
    bpf_program* prog = program_of_type[type];
    if (prog == nullptr || type_attached[type]) return false;
    bpf_link* link = bpf_program__attach(prog);
    if (link == nullptr) {
      const int err = errno;
      return make_error(fmt::format("Attaching BPF program {} ({}) failed: {}",
                                    bpf_program__name(prog), bpf_program__section_name(prog),
                                    errno_text(err)));
    }
    links.emplace_back(link);
    attached.emplace_back(bpf_program__name(prog));
    type_attached[type] = true;
    return true;
  }

  // The callback of the poll() in progress (poll runs on one thread).
  RecordFn fn = nullptr;
  void* fn_ctx = nullptr;
  int consumed = 0;

  static int on_record(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    ++self->consumed;
    return self->fn(self->fn_ctx, data, size);
  }

  std::vector<uint64_t> stat_per_cpu(uint32_t stat) const {
    std::vector<uint64_t> values(static_cast<size_t>(ncpus), 0);
    if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.vg_stats), &stat, values.data()) != 0) {
      std::fill(values.begin(), values.end(), 0);
    }
    return values;
  }
};

Probe::Probe(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Probe::~Probe() = default;

Result<std::unique_ptr<Probe>> Probe::start(const ProbeOptions& options) {
  if (geteuid() != 0) {
    return make_error(fmt::format(
        "vigil-agent needs root (CAP_BPF, CAP_PERFMON): it runs as uid {} and cannot load its "
        "BPF programs",
        geteuid()));
  }
  static std::once_flag print_once;
  std::call_once(print_once, [] { libbpf_set_print(libbpf_print); });

  auto impl = std::make_unique<Impl>();
  impl->ncpus = libbpf_num_possible_cpus();
  if (impl->ncpus <= 0) {
    return make_error("Failed to count the possible CPUs: " + errno_text(impl->ncpus));
  }
  impl->skel.reset(vigil_bpf__open());
  if (!impl->skel) {
    return make_error("Opening the BPF object failed: " + errno_text(errno));
  }
  vigil_bpf* skel = impl->skel.get();

  const uint32_t ring = ring_size(options.ring_bytes);
  skel->rodata->vg_self_tgid = options.ignore_self ? static_cast<uint32_t>(getpid()) : 0;
  skel->rodata->vg_only_tgid = options.only_tgid;
  // A power of two (the kernel tests crossings with a mask), at most half the ring.
  uint32_t wakeup = std::min(options.wakeup_bytes, ring / 2);
  while (wakeup & (wakeup - 1)) wakeup &= wakeup - 1;
  skel->rodata->vg_wakeup_bytes = wakeup;
  skel->rodata->vg_capture_env = options.capture_env ? 1 : 0;
  if (int err = bpf_map__set_max_entries(skel->maps.vg_ring, ring); err != 0) {
    return make_error(
        fmt::format("Sizing the ring buffer to {} bytes failed: {}", ring, errno_text(err)));
  }

  // Programs whose syscall has no tracepoint on this kernel (e.g. init_module without
  // CONFIG_MODULES) are not loaded.
  std::vector<std::string> skipped;
  const std::string events = tracefs_events();
  if (events.empty()) {
    return make_error(
        "Found no tracefs (/sys/kernel/tracing or /sys/kernel/debug/tracing) and could not "
        "mount it: the syscall tracepoints need it");
  }
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel->obj) {
    std::string_view section = bpf_program__section_name(prog);
    if (!section.starts_with(kSyscallSection)) continue;
    section.remove_prefix(kSyscallSection.size());
    const std::string path = events + "/syscalls/" + std::string(section);
    if (access(path.c_str(), F_OK) != 0) {
      bpf_program__set_autoload(prog, false);
      skipped.emplace_back(bpf_program__name(prog));
    }
  }
  if (!skipped.empty()) {
    logger().info("Skipped {} BPF programs whose tracepoint this kernel lacks: {}", skipped.size(),
                  fmt::join(skipped, ", "));
  }

  {
    LibbpfCapture capture;
    if (int err = vigil_bpf__load(skel); err != 0) {
      const std::string log = capture.take();
      const std::string program = failed_program(log);
      std::string message =
          program.empty()
              ? fmt::format("Loading the BPF object failed: {}", errno_text(err))
              : fmt::format("Loading BPF program {} failed: {}", program, errno_text(err));
      if (err == -EPERM || err == -EACCES) {
        if (program.empty() || log.find("-- BEGIN PROG LOAD LOG --") == std::string::npos) {
          message += " (missing CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN, or a locked-down kernel?)";
        }
      }
      if (std::string tail = verifier_tail(log); !tail.empty()) {
        message += "; verifier log tail:\n" + tail;
      }
      return make_error(std::move(message));
    }
  }

  // Programs are attached when their record type is first wanted (set_interest), and never
  // detached: a syscall tracepoint with a program attached costs every such syscall ~150 ns on
  // this kernel even when the program returns at once, one without costs (almost) nothing.
  // Until the agent says otherwise, only what the process table needs is on.
  bpf_object__for_each_program(prog, skel->obj) {
    if (!bpf_program__autoload(prog)) continue;
    const int type = type_of_program(bpf_program__section_name(prog));
    if (type < 0) {
      return make_error(fmt::format("BPF program {} ({}) has no record type",
                                    bpf_program__name(prog), bpf_program__section_name(prog)));
    }
    impl->program_of_type[static_cast<size_t>(type)] = prog;
  }
  for (uint16_t t = 0; t < VG_T_COUNT; ++t) {
    skel->bss->vg_interest[t] = always_captured(t) ? 1 : 0;
  }
  {
    std::lock_guard<std::mutex> lock(impl->attach_mu);
    for (uint16_t t = 0; t < VG_T_COUNT; ++t) {
      if (!always_captured(t)) continue;
      if (auto attached = impl->attach_locked(t); !attached.ok()) {
        return make_error(attached.error());
      }
    }
  }

  impl->ring.reset(
      ring_buffer__new(bpf_map__fd(skel->maps.vg_ring), &Impl::on_record, impl.get(), nullptr));
  if (!impl->ring) {
    return make_error("Creating the ring buffer consumer failed: " + errno_text(errno));
  }
  const auto loaded = std::count_if(impl->program_of_type.begin(), impl->program_of_type.end(),
                                    [](const bpf_program* p) { return p != nullptr; });
  logger().info(
      "Loaded {} BPF programs and attached the {} the process table needs (ring buffer {} KiB, "
      "wakeup at {} KiB)",
      loaded, impl->attached.size(), ring >> 10, skel->rodata->vg_wakeup_bytes >> 10);

  auto probe = std::unique_ptr<Probe>(new Probe(std::move(impl)));
  probe->skipped_ = std::move(skipped);
  return probe;
}

void Probe::set_interest(std::span<const bool> by_vg_type) {
  auto* bss = impl_->skel->bss;
  std::lock_guard<std::mutex> lock(impl_->attach_mu);
  for (uint16_t t = 0; t < VG_T_COUNT; ++t) {
    const bool on = always_captured(t) || (t < by_vg_type.size() && by_vg_type[t]);
    if (on) {
      if (auto attached = impl_->attach_locked(t); !attached.ok()) {
        logger().warn("{}: {} records stay off", attached.error(), vg_type_name(t));
        continue;
      }
    }
    // The .bss is mmapped: the next syscall on any CPU sees the byte.
    __atomic_store_n(&bss->vg_interest[t], static_cast<__u8>(on ? 1 : 0), __ATOMIC_RELAXED);
  }
}

void Probe::set_interest(const std::vector<bool>& by_vg_type) {
  bool flags[VG_T_COUNT] = {};
  for (size_t t = 0; t < VG_T_COUNT && t < by_vg_type.size(); ++t) flags[t] = by_vg_type[t];
  set_interest(std::span<const bool>(flags, VG_T_COUNT));
}

int Probe::poll(int timeout_ms, RecordFn fn, void* ctx) {
  impl_->fn = fn;
  impl_->fn_ctx = ctx;
  impl_->consumed = 0;
  int err = ring_buffer__poll(impl_->ring.get(), timeout_ms);
  if (err == -EINTR) err = 0;
  if (err < 0) return err;
  // Records are submitted without a wakeup (see vg_rec_submit), and epoll only reports the
  // ring after one: read it directly, so a timeout always picks up what is waiting.
  err = ring_buffer__consume(impl_->ring.get());
  return err < 0 ? err : impl_->consumed;
}

int Probe::consume(RecordFn fn, void* ctx) {
  impl_->fn = fn;
  impl_->fn_ctx = ctx;
  impl_->consumed = 0;
  const int err = ring_buffer__consume(impl_->ring.get());
  return err < 0 ? err : impl_->consumed;
}

std::vector<uint64_t> Probe::events_per_cpu() const { return impl_->stat_per_cpu(VG_S_EVENTS); }

std::vector<uint64_t> Probe::drops_per_cpu() const {
  std::vector<uint64_t> drops = impl_->stat_per_cpu(VG_S_DROPS);
  const std::vector<uint64_t> scratch = impl_->stat_per_cpu(VG_S_DROPS_SCRATCH);
  for (size_t i = 0; i < drops.size(); ++i) drops[i] += scratch[i];
  return drops;
}

std::vector<std::string> Probe::attached() const {
  std::lock_guard<std::mutex> lock(impl_->attach_mu);
  return impl_->attached;
}

std::vector<ProgramStats> Probe::program_stats() const {
  std::vector<ProgramStats> out;
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, impl_->skel->obj) {
    if (!bpf_program__autoload(prog)) continue;
    ProgramStats stats;
    stats.name = bpf_program__name(prog);
    bpf_prog_info info = {};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) {
      stats.run_count = info.run_cnt;
      stats.run_time_ns = info.run_time_ns;
    }
    out.push_back(std::move(stats));
  }
  return out;
}

}  // namespace vigil::agent
