// EventDecoder micro-benchmarks: ns to turn one ring-buffer record into a fields::SyscallEvent
// (record validation, process and container lookup, arguments, fd), without rule evaluation.
// The agent's budget is 145 ns of user CPU per event including evaluation; decoding an openat
// should stay around 60 ns.
//
// Each benchmark also reports `allocs_per_event`: heap allocations per decode() in steady state
// (counted by replacing the global operator new in this binary), which should be 0.
//
//   ninja -C build event_decoder_bench && ./build/event_decoder_bench

#include <fcntl.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "agent/event_decoder.h"
#include "test/agent/record_builder.h"

// ---- allocation counting ---------------------------------------------------------------------

// GCC cannot see that the replaced operator new below returns malloc()'s memory.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<uint64_t> g_allocs{0};
}

void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace vigil::agent {
namespace {

using vigil::testing::RawRecord;
using vigil::testing::RecordBuilder;

// A decoder over a process table and cgroup resolver that never touch the filesystem
// (processes come from record headers), so only decoding is measured.
struct Fixture {
  Fixture() {
    ProcessTableOptions po;
    po.proc_root = "/nonexistent-proc";
    po.names.host_root = "/nonexistent-root";
    processes = std::make_unique<ProcessTable>(po);
    CgroupResolverOptions co;
    co.mount_point = "/nonexistent-cgroup";
    co.proc_root = "/nonexistent-proc";
    co.v1_fallback = false;
    cgroups = std::make_unique<CgroupResolver>(co);
    DecoderOptions d;
    d.hostname = "node-1";
    decoder = std::make_unique<EventDecoder>(*processes, *cgroups, d);
  }
  std::unique_ptr<ProcessTable> processes;
  std::unique_ptr<CgroupResolver> cgroups;
  std::unique_ptr<EventDecoder> decoder;
};

RecordBuilder openat_record(uint32_t tgid, std::string_view path) {
  RecordBuilder b(VG_T_OPENAT, tgid);
  b.res(3)
      .args({static_cast<uint64_t>(AT_FDCWD), 0x7ffd0000, O_RDONLY | O_CLOEXEC, 0})
      .comm("cat")
      .path(path)
      .fdinfo(3, VG_FD_FILE, (8u << 20) | 3, 1234567);
  return b;
}

void run(benchmark::State& state, Fixture& f, const std::vector<RawRecord>& records) {
  // Warm up: processes created, caches and arenas sized.
  for (int i = 0; i < 3; ++i) {
    for (const RawRecord& r : records) {
      f.decoder->decode(r.data(), r.size);
    }
  }
  const uint64_t allocs_before = g_allocs.load(std::memory_order_relaxed);
  size_t i = 0;
  for (auto _ : state) {
    const RawRecord& r = records[i];
    i = i + 1 == records.size() ? 0 : i + 1;
    benchmark::DoNotOptimize(f.decoder->decode(r.data(), r.size));
  }
  const uint64_t allocs = g_allocs.load(std::memory_order_relaxed) - allocs_before;
  state.counters["allocs_per_event"] =
      benchmark::Counter(static_cast<double>(allocs) / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}

void BM_DecodeOpenat(benchmark::State& state) {
  Fixture f;
  run(state, f, {openat_record(1000, "/etc/ld.so.cache").build()});
}
BENCHMARK(BM_DecodeOpenat);

// Relative path: resolution against the cwd and normalisation into the arena.
void BM_DecodeOpenatRelative(benchmark::State& state) {
  Fixture f;
  RawRecord chdir = RecordBuilder(VG_T_CHDIR, 1000).res(0).comm("cat").cwd("/home/alice").build();
  f.decoder->decode(chdir.data(), chdir.size);
  run(state, f, {openat_record(1000, "../bob/.ssh/./id_rsa").build()});
}
BENCHMARK(BM_DecodeOpenatRelative);

// Records from 1000 processes in turn: the process lookup misses the CPU caches more.
void BM_DecodeOpenatManyProcesses(benchmark::State& state) {
  Fixture f;
  std::vector<RawRecord> records;
  for (uint32_t pid = 2000; pid < 3000; ++pid) {
    records.push_back(openat_record(pid, "/usr/lib/x86_64-linux-gnu/libc.so.6").build());
  }
  run(state, f, records);
}
BENCHMARK(BM_DecodeOpenatManyProcesses);

// A successful execve: the process table takes the new image (argv, exepath, cwd).
void BM_DecodeExecve(benchmark::State& state) {
  Fixture f;
  RecordBuilder b(VG_T_EXECVE, 1000);
  b.res(0)
      .comm("bash")
      .argv({"/bin/bash", "-c", "for i in 1 2 3; do echo $i; done"})
      .exepath("/usr/bin/bash")
      .cwd("/home/alice")
      .flags(VG_F_EXE_WRITABLE);
  b.hdr().exe_ino = 123456;
  run(state, f, {b.build()});
}
BENCHMARK(BM_DecodeExecve);

void BM_DecodeConnect(benchmark::State& state) {
  Fixture f;
  RecordBuilder b(VG_T_CONNECT, 1000);
  b.res(0)
      .args({3})
      .comm("curl")
      .sockaddr4("10.0.0.1", 443)
      .tuple4("10.0.0.2", 40000, "10.0.0.1", 443);
  run(state, f, {b.build()});
}
BENCHMARK(BM_DecodeConnect);

}  // namespace
}  // namespace vigil::agent

BENCHMARK_MAIN();
