// Throughput of the compiled rule engine.
//
//   BM_SyscallStableRules  Falco's stable rules (plus Vigil's library) over a realistic mix of
//                          syscall events: mostly openat, execve and connect from web servers,
//                          shells, package managers and system daemons, in and out of containers.
//   BM_AuditRules          Falco's k8s audit rules over decoded audit events (evaluation only).
//   BM_AuditDecodeAndRules The same, including decoding the EventList body.
//   BM_DefaultRulesOpenat  Vigil's default rules (what vigil-agent runs with no rule files) on
//                          one openat record decoded by the agent's EventDecoder: arg 0 a
//                          non-matching O_RDONLY open of libc by a host process, arg 1 an
//                          O_WRONLY|O_CREAT of /tmp/x. Evaluation only.
//   BM_DefaultRulesDecodeOpenat  Both records in turn through decode + evaluate + finish_event:
//                          the agent's user-space work per record, minus the ring buffer.
//
// Run: build/rule_engine_bench (the Makefile's `make bench`). Reads Falco's reference rules from
// ../shared/reference/falco beside the checkout, or $VIGIL_FALCO_RULES_DIR.

#include <fcntl.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "agent/event_decoder.h"
#include "common/fields/audit_event.h"
#include "common/fields/syscall_event.h"
#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"
#include "test/agent/record_builder.h"

namespace {

using namespace vigil;
using fields::SyscallType;

std::string reference_dir() {
  if (const char* d = std::getenv("VIGIL_FALCO_RULES_DIR")) return d;
  return std::string(VIGIL_SOURCE_DIR) + "/../shared/reference/falco";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<const rules::RuleSet> load_rules(const std::string& file, size_t* rule_count) {
  rules::RuleDefs defs;
  Diagnostics diags;
  rules::RuleLoader loader(defs, diags);
  loader.load_builtin_library();
  if (!loader.load_file(file)) {
    std::fprintf(stderr, "%s", diags.to_string().c_str());
    std::exit(1);
  }
  rules::CompileOptions opts;
  opts.warn_unused = false;
  auto out = rules::compile_rules(defs, opts);
  if (out.diagnostics.has_errors()) {
    std::fprintf(stderr, "%s", out.diagnostics.to_string().c_str());
    std::exit(1);
  }
  *rule_count = out.rule_set->rule_count();
  return out.rule_set;
}

// A synthetic but realistic node: a few long-lived processes, each with a parent chain, some in
// containers of pods; events reference them the way the agent's process table would.
struct Workload {
  std::deque<std::string> strings;
  std::deque<fields::ProcessInfo> procs;
  std::deque<fields::FdInfo> fds;
  std::deque<fields::ContainerInfo> containers;
  std::deque<fields::K8sInfo> pods;
  std::vector<fields::SyscallEvent> events;

  std::string_view s(std::string v) {
    strings.push_back(std::move(v));
    return strings.back();
  }

  const fields::ProcessInfo* proc(const char* name, const char* exepath, const char* args,
                                  const fields::ProcessInfo* parent, uint32_t uid, uint32_t tty,
                                  const char* container_id) {
    fields::ProcessInfo p;
    static int64_t next_pid = 1000;
    p.pid = p.tid = p.vpid = p.vtid = ++next_pid;
    p.ppid = parent ? parent->pid : 1;
    p.sid = p.vpgid = p.pid;
    p.name = s(name);
    p.exe = s(exepath);
    p.exepath = s(exepath);
    p.args = s(args);
    p.cwd = s("/");
    p.tty = tty;
    p.uid = uid;
    p.gid = uid;
    p.loginuid = uid == 0 ? fields::kNoLoginUid : uid;
    p.user_name = s(uid == 0 ? "root" : "app");
    p.group_name = p.user_name;
    p.start_ts = 1700000000000000000ull;
    p.container_id = s(container_id);
    p.parent = parent;
    procs.push_back(p);
    return &procs.back();
  }

  const fields::FdInfo* file(const std::string& path, int64_t num) {
    fields::FdInfo f;
    f.num = num;
    f.type = fields::FdType::kFile;
    f.name = s(path);
    f.nameraw = f.name;
    fds.push_back(f);
    return &fds.back();
  }

  const fields::FdInfo* socket(const char* ip, uint16_t port) {
    fields::FdInfo f;
    f.num = 7;
    f.type = fields::FdType::kIpv4;
    f.role = fields::SocketRole::kClient;
    f.l4proto = fields::L4Proto::kTcp;
    fields::parse_ip("10.244.1.17", f.cip, false);
    fields::parse_ip(ip, f.sip, false);
    f.cport = 41234;
    f.sport = port;
    f.connected = true;
    fds.push_back(f);
    return &fds.back();
  }

  void add(SyscallType type, const fields::ProcessInfo* p, const fields::FdInfo* fd,
           const fields::ContainerInfo* c, const fields::K8sInfo* k, int64_t res,
           const char* flags = nullptr) {
    fields::SyscallEvent e;
    e.type = type;
    e.ts = 1764214316000000000ull + events.size();
    e.num = events.size() + 1;
    e.res = res;
    e.proc = p;
    e.fd = fd;
    e.container = c;
    e.k8s = k;
    e.hostname = s("node-1");
    if (flags) {  // as the agent fills it: Falco's text and the raw O_* bits
      uint32_t raw = 0;
      bool ok = fields::parse_open_flags(flags, raw);
      e.add_arg(fields::SyscallArg{s("flags"), s(flags), static_cast<int64_t>(raw), ok});
    }
    if (type == SyscallType::kExecve)
      e.add_arg(fields::SyscallArg{s("filename"), p->exepath, 0, false});
    events.push_back(e);
  }

  Workload() {
    fields::ContainerInfo web;
    web.id = s("3ad7b26ded6d");
    web.name = s("nginx");
    web.image = s("docker.io/library/nginx:1.25");
    web.image_repository = s("docker.io/library/nginx");
    web.image_tag = s("1.25");
    web.privileged = fields::kTriFalse;
    containers.push_back(web);
    const fields::ContainerInfo* webc = &containers.back();
    fields::K8sInfo webpod;
    webpod.pod_name = s("web-7d9c5b8f4-x2k4n");
    webpod.ns_name = s("shop");
    pods.push_back(webpod);
    const fields::K8sInfo* webk = &pods.back();

    fields::ContainerInfo api;
    api.id = s("9f1c0e2ab314");
    api.name = s("api");
    api.image = s("ghcr.io/acme/api:2.4.1");
    api.image_repository = s("ghcr.io/acme/api");
    api.image_tag = s("2.4.1");
    api.privileged = fields::kTriFalse;
    containers.push_back(api);
    const fields::ContainerInfo* apic = &containers.back();
    fields::K8sInfo apipod;
    apipod.pod_name = s("api-5f6d8c9b7-q8w2e");
    apipod.ns_name = s("shop");
    pods.push_back(apipod);
    const fields::K8sInfo* apik = &pods.back();

    auto* systemd = proc("systemd", "/usr/lib/systemd/systemd", "--system", nullptr, 0, 0, "");
    auto* containerd = proc("containerd", "/usr/bin/containerd", "", systemd, 0, 0, "");
    auto* shim = proc("containerd-shim", "/usr/bin/containerd-shim-runc-v2", "-namespace k8s.io",
                      containerd, 0, 0, "");
    auto* nginx = proc("nginx", "/usr/sbin/nginx", "-g daemon off;", shim, 101, 0, "3ad7b26ded6d");
    auto* python = proc("python3", "/usr/bin/python3.11", "app.py", shim, 1000, 0, "9f1c0e2ab314");
    auto* sh = proc("sh", "/bin/sh", "-c ls /app", python, 1000, 0, "9f1c0e2ab314");
    auto* kubelet = proc("kubelet", "/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml",
                         systemd, 0, 0, "");
    auto* sshd = proc("sshd", "/usr/sbin/sshd", "-D", systemd, 0, 0, "");
    auto* bash = proc("bash", "/bin/bash", "", sshd, 1000, 34816, "");
    auto* apt = proc("apt-get", "/usr/bin/apt-get", "update", bash, 0, 34816, "");

    const char* libs[] = {"/usr/lib/x86_64-linux-gnu/libc.so.6",
                          "/usr/lib/x86_64-linux-gnu/libssl.so.3", "/etc/ld.so.cache",
                          "/usr/share/zoneinfo/UTC"};
    // ~60% openat
    for (int i = 0; i < 20; ++i) {
      add(SyscallType::kOpenat, nginx,
          file("/var/www/html/index-" + std::to_string(i) + ".html", 12), webc, webk, 12,
          "O_RDONLY|O_CLOEXEC");
      add(SyscallType::kOpenat, nginx, file("/var/log/nginx/access.log", 5), webc, webk, 5,
          "O_WRONLY|O_CREAT|O_APPEND");
      add(SyscallType::kOpenat, python, file(libs[i % 4], 3), apic, apik, 3, "O_RDONLY|O_CLOEXEC");
      add(SyscallType::kOpenat, python, file("/app/data/cache-" + std::to_string(i), 9), apic, apik,
          9, "O_RDWR|O_CREAT");
      add(SyscallType::kOpenat, kubelet, file("/proc/" + std::to_string(4000 + i) + "/stat", 14),
          nullptr, nullptr, 14, "O_RDONLY|O_CLOEXEC");
      add(SyscallType::kOpenat, kubelet, file("/sys/fs/cgroup/kubepods.slice/cpu.stat", 15),
          nullptr, nullptr, 15, "O_RDONLY|O_CLOEXEC");
      add(SyscallType::kOpenat, sshd, file("/etc/passwd", 4), nullptr, nullptr, 4,
          "O_RDONLY|O_CLOEXEC");
      add(SyscallType::kOpenat, apt,
          file("/var/lib/apt/lists/partial/deb.debian.org_" + std::to_string(i), 6), nullptr,
          nullptr, 6, "O_WRONLY|O_CREAT|O_TRUNC");
      add(SyscallType::kOpenat, python, file("/app/missing-" + std::to_string(i), -1), apic, apik,
          -2, "O_RDONLY");
    }
    // ~15% execve
    for (int i = 0; i < 4; ++i) {
      add(SyscallType::kExecve, sh, nullptr, apic, apik, 0);
      add(SyscallType::kExecve, bash, nullptr, nullptr, nullptr, 0);
      add(SyscallType::kExecve, apt, nullptr, nullptr, nullptr, 0);
      add(SyscallType::kExecve, proc("ls", "/usr/bin/ls", "-la /app", sh, 1000, 0, "9f1c0e2ab314"),
          nullptr, apic, apik, 0);
      add(SyscallType::kExecve,
          proc("iptables", "/usr/sbin/iptables", "-w -t nat -L", kubelet, 0, 0, ""), nullptr,
          nullptr, nullptr, 0);
    }
    // ~15% connect
    for (int i = 0; i < 10; ++i) {
      add(SyscallType::kConnect, python, socket("10.96.0.10", 53), apic, apik, 0);
      add(SyscallType::kConnect, python, socket("10.96.12.4", 5432), apic, apik, 0);
      add(SyscallType::kConnect, kubelet, socket("10.0.0.1", 6443), nullptr, nullptr, 0);
    }
    // ~1%: what the rules exist for. A shell with a terminal exec'd into a container, and a
    // process in it reading /etc/shadow.
    auto* exec_shell = proc("bash", "/bin/bash", "", shim, 0, 34817, "9f1c0e2ab314");
    add(SyscallType::kExecve, exec_shell, nullptr, apic, apik, 0);
    add(SyscallType::kOpenat,
        proc("cat", "/bin/cat", "/etc/shadow", exec_shell, 0, 34817, "9f1c0e2ab314"),
        file("/etc/shadow", 3), apic, apik, 3, "O_RDONLY");
    // the rest: fd bookkeeping the agent also sees
    for (int i = 0; i < 10; ++i) {
      add(SyscallType::kClose, nginx, file("/var/www/html/index.html", 12), webc, webk, 0);
      add(SyscallType::kDup2, python, file("/dev/null", 1), apic, apik, 1);
      add(SyscallType::kSocket, python, nullptr, apic, apik, 7);
    }
  }
};

// Figures every benchmark reports: time per event and, where known, what the mix triggered.
void report(benchmark::State& state, size_t evaluated, size_t rules, size_t mix, size_t matches) {
  state.SetItemsProcessed(static_cast<int64_t>(evaluated));
  state.counters["ns_per_event"] = benchmark::Counter(
      static_cast<double>(evaluated), benchmark::Counter::kIsRate | benchmark::Counter::kInvert,
      benchmark::Counter::kIs1000);
  if (rules == 0) return;
  state.counters["rules"] = static_cast<double>(rules);
  state.counters["events_in_mix"] = static_cast<double>(mix);
  state.counters["alerts_per_event"] =
      evaluated ? static_cast<double>(matches) / static_cast<double>(evaluated) : 0;
}

void BM_SyscallStableRules(benchmark::State& state) {
  size_t rules_loaded = 0;
  auto rs = load_rules(reference_dir() + "/falco_rules.yaml", &rules_loaded);
  const auto* src = rs->source("syscall");
  Workload w;
  rules::EvalContext ctx;
  static bool reported = false;
  if (!reported) {  // what the mix triggers, once, so a reader can tell the rules really ran
    reported = true;
    for (const auto& e : w.events)
      for (uint32_t i : src->evaluate(&e, ctx))
        std::fprintf(stderr, "mix fires: %s\n", src->rules()[i].name.c_str());
  }
  size_t matches = 0, evaluated = 0;
  for (auto _ : state) {
    for (const auto& e : w.events) {
      matches += src->evaluate(&e, ctx).size();
    }
    evaluated += w.events.size();
  }
  report(state, evaluated, rules_loaded, w.events.size(), matches);
}
BENCHMARK(BM_SyscallStableRules)->Unit(benchmark::kMillisecond);

struct AuditCorpus {
  std::string body;
  std::vector<fields::AuditEvent> events;
  AuditCorpus() {
    std::string dir = std::string(VIGIL_SOURCE_DIR) + "/test/data/audit/";
    // Realistic traffic is mostly benign; one attack batch for every four benign ones.
    std::string benign = read_file(dir + "benign.json");
    std::string attack = read_file(dir + "attack.json");
    for (const std::string* b : {&benign, &benign, &benign, &benign, &attack}) {
      auto decoded = fields::decode_audit_events(*b);
      if (!decoded.ok()) {
        std::fprintf(stderr, "audit corpus: %s\n", decoded.error().c_str());
        std::exit(1);
      }
      for (auto& e : decoded.value()) events.push_back(std::move(e));
    }
    body = benign;
  }
};

void BM_AuditRules(benchmark::State& state) {
  size_t rules_loaded = 0;
  auto rs = load_rules(reference_dir() + "/k8s_audit_rules.yaml", &rules_loaded);
  const auto* src = rs->source("k8s_audit");
  AuditCorpus corpus;
  rules::EvalContext ctx;
  size_t evaluated = 0, matches = 0;
  for (auto _ : state) {
    for (const auto& e : corpus.events) matches += src->evaluate(&e, ctx).size();
    evaluated += corpus.events.size();
  }
  report(state, evaluated, rules_loaded, corpus.events.size(), matches);
}
BENCHMARK(BM_AuditRules)->Unit(benchmark::kMillisecond);

void BM_AuditDecodeAndRules(benchmark::State& state) {
  size_t rules_loaded = 0;
  auto rs = load_rules(reference_dir() + "/k8s_audit_rules.yaml", &rules_loaded);
  const auto* src = rs->source("k8s_audit");
  AuditCorpus corpus;
  rules::EvalContext ctx;
  size_t evaluated = 0;
  for (auto _ : state) {
    auto decoded = fields::decode_audit_events(corpus.body);
    for (const auto& e : decoded.value()) src->evaluate(&e, ctx);
    evaluated += decoded.value().size();
  }
  report(state, evaluated, 0, 0, 0);
}
BENCHMARK(BM_AuditDecodeAndRules)->Unit(benchmark::kMillisecond);

// ---- Vigil's default rules on records decoded by the agent ----------------------------------

std::shared_ptr<const rules::RuleSet> load_default_rules() {
  rules::RuleDefs defs;
  Diagnostics diags;
  rules::RuleLoader loader(defs, diags);
  loader.load_builtin_library();
  loader.load_default_rules();
  rules::CompileOptions opts;
  opts.warn_unused = false;
  auto out = rules::compile_rules(defs, opts);
  if (diags.has_errors() || out.diagnostics.has_errors()) {
    std::fprintf(stderr, "%s%s", diags.to_string().c_str(), out.diagnostics.to_string().c_str());
    std::exit(1);
  }
  return out.rule_set;
}

// The agent's decoder over a process table and cgroup resolver that never touch the filesystem:
// processes come from record headers (host processes, no container).
struct DecoderFixture {
  DecoderFixture() {
    agent::ProcessTableOptions po;
    po.proc_root = "/nonexistent-proc";
    po.names.host_root = "/nonexistent-root";
    processes = std::make_unique<agent::ProcessTable>(po);
    agent::CgroupResolverOptions co;
    co.mount_point = "/nonexistent-cgroup";
    co.proc_root = "/nonexistent-proc";
    co.v1_fallback = false;
    cgroups = std::make_unique<agent::CgroupResolver>(co);
    agent::DecoderOptions d;
    d.hostname = "node-1";
    decoder = std::make_unique<agent::EventDecoder>(*processes, *cgroups, d);
  }
  std::unique_ptr<agent::ProcessTable> processes;
  std::unique_ptr<agent::CgroupResolver> cgroups;
  std::unique_ptr<agent::EventDecoder> decoder;
};

// 0: bash reads libc (O_RDONLY|O_CLOEXEC, no rule matches); 1: bash creates /tmp/x
// (O_WRONLY|O_CREAT|O_TRUNC, mode 0644, no rule matches either).
testing::RawRecord default_rules_openat(int which) {
  testing::RecordBuilder b(VG_T_OPENAT, 4242);
  if (which == 0) {
    b.res(3)
        .args({static_cast<uint64_t>(AT_FDCWD), 0x7ffd0000, O_RDONLY | O_CLOEXEC, 0})
        .comm("bash")
        .path("/usr/lib/x86_64-linux-gnu/libc.so.6")
        .fdinfo(3, VG_FD_FILE, (259u << 20) | 2, 1837265);
  } else {
    b.res(4)
        .args({static_cast<uint64_t>(AT_FDCWD), 0x7ffd0000, O_WRONLY | O_CREAT | O_TRUNC, 0644})
        .comm("bash")
        .path("/tmp/x")
        .fdinfo(4, VG_FD_FILE, (0u << 20) | 35, 97);
  }
  return b.build();
}

void BM_DefaultRulesOpenat(benchmark::State& state) {
  auto rs = load_default_rules();
  const auto* src = rs->source("syscall");
  DecoderFixture f;
  const testing::RawRecord r = default_rules_openat(static_cast<int>(state.range(0)));
  const fields::SyscallEvent* ev = nullptr;
  for (int i = 0; i < 3; ++i) ev = f.decoder->decode(r.data(), r.size);
  if (ev == nullptr) {
    state.SkipWithError("record did not decode");
    return;
  }
  rules::EvalContext ctx;
  size_t matches = 0, evaluated = 0;
  for (auto _ : state) {
    matches += src->evaluate(ev, ctx).size();
    ++evaluated;
  }
  report(state, evaluated, src->rules().size(), 1, matches);
}
BENCHMARK(BM_DefaultRulesOpenat)->Arg(0)->Arg(1);

void BM_DefaultRulesDecodeOpenat(benchmark::State& state) {
  auto rs = load_default_rules();
  const auto* src = rs->source("syscall");
  DecoderFixture f;
  const testing::RawRecord records[2] = {default_rules_openat(0), default_rules_openat(1)};
  rules::EvalContext ctx;
  for (int i = 0; i < 3; ++i) {
    for (const auto& r : records) {
      if (const auto* ev = f.decoder->decode(r.data(), r.size)) src->evaluate(ev, ctx);
    }
  }
  size_t matches = 0, evaluated = 0;
  unsigned i = 0;
  for (auto _ : state) {
    const testing::RawRecord& r = records[i++ & 1];
    if (const auto* ev = f.decoder->decode(r.data(), r.size)) {
      matches += src->evaluate(ev, ctx).size();
    }
    f.decoder->finish_event();
    ++evaluated;
  }
  report(state, evaluated, src->rules().size(), 2, matches);
}
BENCHMARK(BM_DefaultRulesDecodeOpenat);

// The same two records laid out one after the other in an 8 MiB buffer, read in order like the
// agent reads its ring buffer: each record is new memory, as in the agent, rather than the same
// few cache lines every time.
void BM_DefaultRulesDecodeOpenatStream(benchmark::State& state) {
  auto rs = load_default_rules();
  const auto* src = rs->source("syscall");
  DecoderFixture f;
  const testing::RawRecord records[2] = {default_rules_openat(0), default_rules_openat(1)};
  constexpr size_t kBytes = 8u << 20;
  std::vector<uint64_t> ring(kBytes / 8);
  std::vector<std::pair<size_t, size_t>> at;  // word offset, size
  for (size_t off = 0, i = 0;; ++i) {
    const testing::RawRecord& r = records[i & 1];
    const size_t words = (r.size + 7) / 8 + 1;  // plus an 8-byte ring header
    if (off + words > ring.size()) break;
    std::copy(r.words.begin(), r.words.begin() + static_cast<long>((r.size + 7) / 8),
              ring.begin() + static_cast<long>(off + 1));
    at.emplace_back(off + 1, r.size);
    off += words;
  }
  rules::EvalContext ctx;
  size_t matches = 0, evaluated = 0, i = 0;
  for (auto _ : state) {
    const auto [off, size] = at[i];
    i = i + 1 == at.size() ? 0 : i + 1;
    if (const auto* ev = f.decoder->decode(ring.data() + off, size)) {
      matches += src->evaluate(ev, ctx).size();
    }
    f.decoder->finish_event();
    ++evaluated;
  }
  report(state, evaluated, src->rules().size(), 2, matches);
}
BENCHMARK(BM_DefaultRulesDecodeOpenatStream);

void BM_DefaultRulesOpenatPolluted(benchmark::State& state) {
  auto rs = load_default_rules();
  const auto* src = rs->source("syscall");
  DecoderFixture f;
  const testing::RawRecord r = default_rules_openat(0);
  const fields::SyscallEvent* ev = nullptr;
  for (int i = 0; i < 3; ++i) ev = f.decoder->decode(r.data(), r.size);
  rules::EvalContext ctx;
  std::vector<uint64_t> junk(static_cast<size_t>(state.range(0)) / 8, 1);
  uint64_t sum = 0;
  size_t matches = 0, evaluated = 0;
  for (auto _ : state) {
    for (size_t k = 0; k < junk.size(); k += 8) sum += junk[k];
    if (state.range(1)) matches += src->evaluate(ev, ctx).size();
    ++evaluated;
  }
  benchmark::DoNotOptimize(sum);
  report(state, evaluated, src->rules().size(), 1, matches);
}
BENCHMARK(BM_DefaultRulesOpenatPolluted)
    ->Args({0, 1})
    ->Args({64 << 10, 0})
    ->Args({64 << 10, 1})
    ->Args({512 << 10, 0})
    ->Args({512 << 10, 1});

}  // namespace

BENCHMARK_MAIN();
