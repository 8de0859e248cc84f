// The process table: seeding from the real /proc, fork/exec/exit records, lazy creation, pid
// reuse, cycle safety, bounded growth under fork/exit storms, gc, and user/group names.

#include "agent/process_table.h"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "test/agent/record_builder.h"

namespace vigil::agent {
namespace {

using vigil::testing::RecordBuilder;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string read_link(const std::string& path) {
  char buf[PATH_MAX];
  const ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// A scratch directory standing in for /proc (empty: every process is "gone") and for the host
// root (with its own etc/passwd and etc/group).
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/vigil-pt-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Depth of the parent chain, stopping at a generous bound.
int chain_length(const fields::ProcessInfo* p) {
  int n = 0;
  for (; p != nullptr && n < 1000; p = p->parent) {
    ++n;
  }
  return n;
}

TEST(ProcessTableTest, SeedsFromRealProc) {
  ProcessTable table;
  const size_t n = table.seed_from_proc();
  EXPECT_GT(n, 1u);
  EXPECT_EQ(table.size(), n);

  const Process* self = table.find(static_cast<uint32_t>(getpid()));
  ASSERT_NE(self, nullptr);
  const fields::ProcessInfo& i = self->info();
  EXPECT_EQ(i.pid, getpid());
  EXPECT_EQ(i.ppid, getppid());
  EXPECT_EQ(i.exepath, read_link("/proc/self/exe"));
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_EQ(i.cwd, cwd);
  // argv[0] and the arguments, as in /proc/self/cmdline.
  std::string cmdline = read_all("/proc/self/cmdline");
  while (!cmdline.empty() && cmdline.back() == '\0') cmdline.pop_back();
  const size_t nul = cmdline.find('\0');
  EXPECT_EQ(i.exe, cmdline.substr(0, nul));
  EXPECT_EQ(i.args, nul == std::string::npos ? std::string() : cmdline.substr(nul + 1));
  std::string comm = read_all("/proc/self/comm");
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  EXPECT_EQ(i.name, comm);
  EXPECT_EQ(i.uid, geteuid());
  EXPECT_EQ(i.gid, getegid());
  EXPECT_GT(i.start_ts, 1'600'000'000'000'000'000ull);  // an epoch time, not a boot time
  EXPECT_GT(self->start_boot_ns(), 0u);
  // The parent is linked to its own entry.
  ASSERT_NE(i.parent, nullptr);
  EXPECT_EQ(i.parent->pid, getppid());
  EXPECT_EQ(self->parent(), table.find(static_cast<uint32_t>(getppid())));
  EXPECT_LE(chain_length(&i), fields::kMaxAncestorDepth + 1);
  const Process* init = table.find(1);
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->info().parent, nullptr);
  // The pid namespace's init started it (this host's /proc: pid 1 is the init).
  EXPECT_EQ(i.pidns_init_start_ts, init->info().start_ts);
}

TEST(ProcessTableTest, LazilyCreatesTheCallerFromProc) {
  ProcessTable table;
  RecordBuilder b(VG_T_OPENAT, static_cast<uint32_t>(getpid()));
  b.ppid(static_cast<uint32_t>(getppid())).start(0).comm("from-record");
  Process* p = table.process_for(b.hdr());
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->info().exepath, read_link("/proc/self/exe"));
  EXPECT_EQ(p->info().name, "from-record");  // per-event identity comes from the header
  ASSERT_NE(p->info().parent, nullptr);
  EXPECT_EQ(p->info().parent->pid, getppid());
  EXPECT_GE(table.stats().from_proc, 2u);  // the process and its parent (and maybe more)

  // A record whose start time disagrees while /proc still shows this process: the entry is kept
  // (the record is the odd one out), not replaced.
  RecordBuilder odd(VG_T_OPENAT, static_cast<uint32_t>(getpid()));
  odd.ppid(static_cast<uint32_t>(getppid())).start(12345);
  EXPECT_EQ(table.process_for(odd.hdr()), p);
  EXPECT_EQ(table.stats().start_mismatches, 1u);
  EXPECT_EQ(table.stats().pid_reuse, 0u);
  EXPECT_EQ(p->info().exepath, read_link("/proc/self/exe"));
}

class FakeProcTest : public ::testing::Test {
 protected:
  FakeProcTest() {
    write_file(dir_.path() + "/etc/passwd",
               "root:x:0:0:root:/root:/bin/bash\n"
               "# comment\n"
               "broken line\n"
               "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
               "alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh\n");
    write_file(dir_.path() + "/etc/group", "root:x:0:\nusers:x:100:alice\nalice:x:1000:\n");
    options_.proc_root = dir_.path() + "/proc";  // empty: nothing is in /proc
    options_.names.host_root = dir_.path();
  }

  ProcessTable make(size_t max_entries = 65536) {
    ProcessTableOptions o = options_;
    o.max_entries = max_entries;
    return ProcessTable(o);
  }

  // A parent-side fork record: `parent` (named `comm`) forked `child`.
  static vg_event fork_of(uint32_t parent, uint32_t child, uint32_t grandparent = 1,
                          std::string_view comm = "test") {
    RecordBuilder b(VG_T_FORK, parent);
    b.res(child).ppid(grandparent).comm(comm);
    return b.hdr();
  }

  TempDir dir_;
  ProcessTableOptions options_;
};

TEST_F(FakeProcTest, CreatesFromHeaderWhenProcIsGone) {
  ProcessTable table(options_);
  RecordBuilder b(VG_T_OPENAT, 500);
  b.comm("nginx").uid(33).ppid(1);
  b.hdr().cap_effective = 0x3;
  b.hdr().tty = (136u << 20) | 2;  // /dev/pts/2
  b.hdr().loginuid = 1000;
  Process* p = table.process_for(b.hdr());
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(table.stats().from_header, 1u);
  const fields::ProcessInfo& i = p->info();
  EXPECT_EQ(i.pid, 500);
  EXPECT_EQ(i.name, "nginx");
  EXPECT_EQ(i.uid, 33u);
  EXPECT_EQ(i.cap_effective, 0x3u);
  EXPECT_EQ(i.tty, 34818u);  // (136 << 8) | 2, the encoding Falco reports
  EXPECT_EQ(i.loginuid, 1000);
  EXPECT_EQ(i.ppid, 1);
  EXPECT_EQ(i.parent, nullptr);  // pid 1 is not in the (empty) /proc either
  EXPECT_EQ(i.exe, "");
  EXPECT_EQ(table.process_for(b.hdr()), p);  // found again
  EXPECT_EQ(table.size(), 1u);
}

TEST_F(FakeProcTest, ForkExecAndExitKeepTheTreeCurrent) {
  ProcessTable table(options_);
  // bash (100) runs; it forks 101, which execs sh; sh forks 102, which execs cat.
  RecordBuilder bash(VG_T_EXECVE, 100);
  bash.comm("bash").ppid(1);
  Process* p = table.process_for(bash.hdr());
  ASSERT_NE(p, nullptr);
  table.on_exec(*p, bash.hdr(), std::string_view("/bin/bash\0-i", 12), "/usr/bin/bash",
                "/home/alice", "");
  table.on_fork(fork_of(100, 101, 1, "bash"));
  Process* c = table.find(101);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(table.stats().from_fork, 1u);
  // The child inherits the parent's image and cwd until it execs.
  EXPECT_EQ(c->info().exe, "/bin/bash");
  EXPECT_EQ(c->info().args, "-i");
  EXPECT_EQ(c->info().exepath, "/usr/bin/bash");
  EXPECT_EQ(c->info().cwd, "/home/alice");
  EXPECT_EQ(c->info().name, "bash");
  EXPECT_EQ(c->info().ppid, 100);
  EXPECT_EQ(c->info().parent, &p->info());
  // The copy owns its strings.
  EXPECT_NE(c->info().exe.data(), p->info().exe.data());

  RecordBuilder sh(VG_T_EXECVE, 101);
  sh.comm("sh").ppid(100).flags(VG_F_EXE_UPPER | VG_F_EXE_WRITABLE);
  sh.hdr().exe_ino = 1234;
  sh.hdr().start_time = 0;  // unknown: still the same process
  c = table.process_for(sh.hdr());
  ASSERT_EQ(c, table.find(101));
  table.on_exec(*c, sh.hdr(), std::string_view("sh\0-c\0cat /etc/shadow", 21), "/usr/bin/dash", "",
                "");
  EXPECT_EQ(c->info().exe, "sh");
  EXPECT_EQ(c->info().args, std::string_view("-c\0cat /etc/shadow", 18));
  EXPECT_EQ(c->info().exepath, "/usr/bin/dash");
  EXPECT_EQ(c->info().cwd, "/home/alice");  // no CWD blob: unchanged
  EXPECT_EQ(c->info().name, "sh");
  EXPECT_TRUE(c->info().exe_upper_layer);
  EXPECT_TRUE(c->info().exe_writable);
  EXPECT_FALSE(c->info().exe_from_memfd);
  EXPECT_EQ(c->info().exe_ino, 1234u);

  // A child-side fork record (tgid == res) is understood as well.
  RecordBuilder child(VG_T_FORK, 102);
  child.res(102).ppid(101, sh.hdr().start_time).comm("sh");
  table.on_fork(child.hdr());
  Process* cat = table.find(102);
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->info().parent, &c->info());
  EXPECT_EQ(cat->start_boot_ns(), child.hdr().start_time);
  EXPECT_EQ(chain_length(&cat->info()), 3);
  EXPECT_EQ(cat->info().parent->parent->name, "bash");

  // Exit: removed after finish_event(); the orphan loses its link until it is reparented.
  table.schedule_exit(*c);
  EXPECT_EQ(table.find(101), c);
  table.finish_event();
  EXPECT_EQ(table.find(101), nullptr);
  EXPECT_EQ(table.stats().exits, 1u);
  EXPECT_EQ(cat->info().parent, nullptr);
  RecordBuilder reparented(VG_T_OPENAT, 102);
  reparented.ppid(100).start(child.hdr().start_time);
  EXPECT_EQ(table.process_for(reparented.hdr()), cat);
  EXPECT_EQ(cat->info().ppid, 100);
  EXPECT_EQ(cat->info().parent, &p->info());
}

TEST_F(FakeProcTest, PidNamespaceInitStart) {
  ProcessTable table(options_);
  // A container's init: vpid 1 in its own pid namespace.
  RecordBuilder init(VG_T_EXECVE, 4000);
  init.comm("tini").ppid(3999).start(7'000'000'000);
  init.hdr().vtgid = init.hdr().vtid = 1;
  init.hdr().pidns_inum = 4026532000u;
  Process* p = table.process_for(init.hdr());
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->info().vpid, 1);
  EXPECT_EQ(p->info().pidns_init_start_ts, p->info().start_ts);
  EXPECT_NE(p->info().start_ts, 0u);
  // Its child inherits the namespace's start and does not know its own vpid until it speaks.
  RecordBuilder f(VG_T_FORK, 4000);
  f.res(4001).comm("tini").ppid(3999).start(7'000'000'000);
  f.hdr().vtgid = f.hdr().vtid = 1;
  f.hdr().pidns_inum = 4026532000u;
  table.on_fork(f.hdr());
  Process* c = table.find(4001);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->info().vpid, -1);
  EXPECT_EQ(c->info().pidns_init_start_ts, p->info().start_ts);
  RecordBuilder child(VG_T_OPENAT, 4001);
  child.ppid(4000).start(0);
  child.hdr().vtgid = child.hdr().vtid = 2;
  child.hdr().pidns_inum = 4026532000u;
  EXPECT_EQ(table.process_for(child.hdr()), c);
  EXPECT_EQ(c->info().vpid, 2);
  EXPECT_EQ(c->info().pidns_init_start_ts, p->info().start_ts);
}

TEST_F(FakeProcTest, PidReuseReplacesTheEntry) {
  ProcessTable table(options_);
  RecordBuilder first(VG_T_OPENAT, 300);
  first.comm("old").start(1'000'000'000);
  Process* a = table.process_for(first.hdr());
  table.on_exec(*a, first.hdr(), std::string_view("old\0", 4), "/bin/old", "/", "");
  RecordBuilder second(VG_T_OPENAT, 300);
  second.comm("new").start(9'000'000'000);
  Process* b = table.process_for(second.hdr());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(table.stats().pid_reuse, 1u);
  EXPECT_EQ(b->info().exe, "");  // nothing carried over from the old process
  EXPECT_EQ(b->info().name, "new");
  EXPECT_EQ(b->start_boot_ns(), 9'000'000'000u);
  EXPECT_EQ(table.size(), 1u);
}

TEST_F(FakeProcTest, ParentLinksNeverFormACycle) {
  ProcessTable table(options_);
  RecordBuilder a(VG_T_OPENAT, 10);
  a.ppid(12);
  RecordBuilder b(VG_T_OPENAT, 11);
  b.ppid(10);
  Process* pa = table.process_for(a.hdr());
  Process* pb = table.process_for(b.hdr());
  ASSERT_NE(pa, nullptr);
  ASSERT_NE(pb, nullptr);
  EXPECT_EQ(pb->info().parent, &pa->info());
  // Now 10 claims 11 as its parent, while 11 is 10's child: the link is refused.
  a.ppid(11);
  EXPECT_EQ(table.process_for(a.hdr()), pa);
  EXPECT_EQ(pa->info().ppid, 11);
  EXPECT_EQ(pa->info().parent, nullptr);
  EXPECT_EQ(chain_length(&pb->info()), 2);
  EXPECT_EQ(table.stats().cycles_refused, 1u);
  // Self-parenting is ignored.
  RecordBuilder self(VG_T_OPENAT, 12);
  self.ppid(12);
  Process* ps = table.process_for(self.hdr());
  EXPECT_EQ(ps->info().parent, nullptr);

  // A long chain stays walkable and acyclic.
  for (uint32_t pid = 1000; pid < 1100; ++pid) {
    table.on_fork(fork_of(pid, pid + 1, pid - 1));
  }
  const Process* leaf = table.find(1100);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(chain_length(&leaf->info()), 101);
}

TEST_F(FakeProcTest, ForkExitStormDoesNotGrow) {
  ProcessTable table(options_);
  RecordBuilder shell(VG_T_OPENAT, 100);
  ASSERT_NE(table.process_for(shell.hdr()), nullptr);
  const size_t base = table.size();
  for (uint32_t i = 0; i < 100000; ++i) {
    const uint32_t child = 1000 + (i % 30000);
    table.on_fork(fork_of(100, child));
    Process* c = table.find(child);
    ASSERT_NE(c, nullptr);
    RecordBuilder exit(VG_T_PROCEXIT, child);
    exit.ppid(100).start(c->start_boot_ns());
    Process* e = table.process_for(exit.hdr());
    ASSERT_EQ(e, c);
    table.schedule_exit(*e);
    table.finish_event();
  }
  EXPECT_EQ(table.size(), base);
  EXPECT_EQ(table.stats().exits, 100000u);
  EXPECT_EQ(table.stats().evicted, 0u);
}

TEST_F(FakeProcTest, MissedExitsAreBoundedByEvictionAndGc) {
  ProcessTable table = make(1000);
  RecordBuilder shell(VG_T_OPENAT, 100);
  ASSERT_NE(table.process_for(shell.hdr()), nullptr);
  for (uint32_t i = 0; i < 20000; ++i) {
    table.on_fork(fork_of(100, 1000 + i));  // no exit records (dropped)
  }
  EXPECT_LE(table.size(), 1000u);
  EXPECT_GT(table.stats().evicted, 0u);
  // The shell is recent and stays; its entry is still correct.
  EXPECT_NE(table.find(100), nullptr);

  // gc: nothing is in this /proc, so every entry not touched since the previous gc goes.
  table.gc();  // everything was touched since the start
  const size_t removed = table.gc();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_GT(removed, 0u);
}

TEST_F(FakeProcTest, GcKeepsLiveProcesses) {
  ProcessTableOptions o;  // the real /proc
  o.names.host_root = dir_.path();
  ProcessTable table(o);
  table.seed_from_proc();
  RecordBuilder gone(VG_T_OPENAT, 32767);  // pid_max - 1 here; not running
  gone.start(1);
  table.process_for(gone.hdr());
  table.gc();
  table.gc();
  EXPECT_NE(table.find(static_cast<uint32_t>(getpid())), nullptr);
  EXPECT_NE(table.find(1), nullptr);
  if (access("/proc/32767", F_OK) != 0) {
    EXPECT_EQ(table.find(32767), nullptr);
  }
}

TEST_F(FakeProcTest, ResolvesUserAndGroupNames) {
  ProcessTable table(options_);
  RecordBuilder b(VG_T_OPENAT, 200);
  b.uid(1000);
  b.hdr().gid = 100;
  b.hdr().loginuid = 0;
  Process* p = table.process_for(b.hdr());
  table.resolve_names(*p);
  EXPECT_EQ(p->info().user_name, "alice");
  EXPECT_EQ(p->info().user_homedir, "/home/alice");
  EXPECT_EQ(p->info().user_shell, "/bin/zsh");
  EXPECT_EQ(p->info().group_name, "users");
  EXPECT_EQ(p->info().loginname, "root");
  const uint64_t reads = table.user_names().stats().file_reads;
  EXPECT_EQ(reads, 2u);  // passwd and group, once

  // Steady state: no file reads, whatever the number of processes and events.
  for (uint32_t pid = 201; pid < 400; ++pid) {
    RecordBuilder o(VG_T_OPENAT, pid);
    o.uid(pid % 2 == 0 ? 0 : 65534);
    Process* q = table.process_for(o.hdr());
    table.resolve_names(*q);
    table.resolve_names(*q);
    EXPECT_EQ(q->info().user_name, pid % 2 == 0 ? "root" : "nobody");
  }
  EXPECT_EQ(table.user_names().stats().file_reads, reads);

  // setuid: the next record carries the new uid.
  b.uid(65534);
  p = table.process_for(b.hdr());
  table.resolve_names(*p);
  EXPECT_EQ(p->info().user_name, "nobody");
  EXPECT_EQ(p->info().user_homedir, "/nonexistent");
  // An unknown uid has no name (user.name is <NA>).
  b.uid(4242);
  p = table.process_for(b.hdr());
  table.resolve_names(*p);
  EXPECT_EQ(p->info().user_name, "");
  EXPECT_EQ(table.user_names().stats().file_reads, reads);
}

TEST_F(FakeProcTest, ContainerNamesComeFromTheContainerRoot) {
  // The container's /etc/passwd, seen through /proc/<pid>/root.
  write_file(options_.proc_root + "/700/root/etc/passwd", "app:x:1000:1000::/srv:/bin/sh\n");
  write_file(options_.proc_root + "/700/root/etc/group", "app:x:1000:\n");
  ProcessTable table(options_);
  RecordBuilder b(VG_T_OPENAT, 700);
  b.uid(1000);
  b.hdr().gid = 1000;
  Process* p = table.process_for(b.hdr());
  ASSERT_NE(p, nullptr);
  const std::string id(64, 'a');
  auto rec = std::make_shared<ContainerRecord>(parse_container_id("/docker/" + id));
  table.set_container(*p, 77, rec);
  table.resolve_names(*p);
  EXPECT_EQ(p->info().container_id, "aaaaaaaaaaaa");
  EXPECT_EQ(p->info().user_name, "app");
  EXPECT_EQ(p->info().user_homedir, "/srv");
  EXPECT_EQ(p->info().group_name, "app");
  // The same uid on the host is alice.
  RecordBuilder h(VG_T_OPENAT, 701);
  h.uid(1000);
  Process* q = table.process_for(h.hdr());
  table.resolve_names(*q);
  EXPECT_EQ(q->info().user_name, "alice");
}

TEST(UserNamesTest, ParsesPasswdAndGroup) {
  UserNames::Table users;
  UserNames::parse_passwd(
      "root:x:0:0:root:/root:/bin/bash\r\nbad:x:notanumber:0::/:/bin/sh\nshort:x:5\n"
      "dup:x:0:0::/dup:/bin/sh\n",
      users);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0]->name, "root");  // the first entry for an id wins
  EXPECT_EQ(users[0]->shell, "/bin/bash");
  UserNames::Table groups;
  UserNames::parse_group("wheel:x:10:alice,bob\nnogid:x:\n", groups);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[10]->name, "wheel");
}

TEST(ProcReaderTest, ParsesStatWithAwkwardComm) {
  ProcSnapshot s;
  ASSERT_TRUE(ProcReader::parse_stat(
      "4242 (my (weird) proc) S 1 4242 4200 34817 4242 4194560 1 2 3 4 5 6 7 8 20 0 1 0 "
      "123456 1000 10",
      10'000'000, s));
  EXPECT_EQ(s.comm, "my (weird) proc");
  EXPECT_EQ(s.ppid, 1);
  EXPECT_EQ(s.vpgid, 4242);
  EXPECT_EQ(s.sid, 4200);
  EXPECT_EQ(s.tty, 34817u);
  EXPECT_EQ(s.start_boot_ns, 123456ull * 10'000'000);
  EXPECT_FALSE(ProcReader::parse_stat("garbage", 10'000'000, s));

  ProcReader::parse_status(
      "Name:\tbash\nUid:\t1000\t0\t0\t0\nGid:\t100\t5\t5\t5\nNStgid:\t4242\t7\nNSsid:\t4200\t1\n"
      "NSpgid:\t4242\t7\nCapEff:\t000001ffffffffff\n",
      s);
  EXPECT_EQ(s.uid, 0u);  // effective
  EXPECT_EQ(s.gid, 5u);
  EXPECT_EQ(s.vpid, 7);
  EXPECT_EQ(s.sid, 1);
  EXPECT_EQ(s.vpgid, 7);
  EXPECT_EQ(s.cap_effective, 0x1ffffffffffull);

  std::string exe, args;
  ProcReader::split_cmdline(std::string_view("nginx\0-g\0daemon off;\0", 22), exe, args);
  EXPECT_EQ(exe, "nginx");
  EXPECT_EQ(args, std::string_view("-g\0daemon off;", 14));
}

TEST(ProcessTableHelpersTest, DevEncoding) {
  EXPECT_EQ(kernel_to_user_dev((136u << 20) | 0), 34816u);
  EXPECT_EQ(kernel_to_user_dev((8u << 20) | 3), 0x803u);
  EXPECT_EQ(kernel_to_user_dev((259u << 20) | 0x12345), (0x45u) | (259u << 8) | (0x12300u << 12));
}

}  // namespace
}  // namespace vigil::agent
