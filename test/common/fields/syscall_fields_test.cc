// Field extraction for the syscall source, on synthetic events built here (no mocks): a `cat
// /etc/shadow` run from an interactive bash in a container, and variations of it.

#include <fcntl.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/fields/source.h"
#include "common/fields/syscall_event.h"

namespace vigil::fields {
namespace {

constexpr uint64_t kTs = 1700000000123456789ull;  // 2023-11-14T22:13:20.123456789Z
constexpr std::string_view kNA = "<NA>";

IpAddr addr(std::string_view text) {
  IpAddr a;
  EXPECT_TRUE(parse_ip(text, a, false)) << text;
  return a;
}

class SyscallFieldsTest : public ::testing::Test {
 protected:
  SyscallFieldsTest() {
    init_.pid = init_.tid = init_.vpid = 1;
    init_.name = "systemd";
    init_.exe = "/sbin/init";
    init_.exepath = "/usr/lib/systemd/systemd";
    init_.sid = 1;
    init_.vpgid = 1;

    shim_.pid = shim_.tid = shim_.vpid = 100;
    shim_.ppid = 1;
    shim_.name = "containerd-shim";
    shim_.exe = "/usr/bin/containerd-shim-runc-v2";
    shim_.exepath = "/usr/bin/containerd-shim-runc-v2";
    shim_.args = std::string_view("-namespace\0k8s.io", 17);
    shim_.sid = 100;
    shim_.vpgid = 100;
    shim_.start_ts = kTs - 3'000'000'000;
    shim_.parent = &init_;

    bash_.pid = bash_.tid = 200;
    bash_.vpid = 1;
    bash_.ppid = 100;
    bash_.name = "bash";
    bash_.exe = "bash";
    bash_.exepath = "/bin/bash";
    bash_.args = "-i";
    bash_.sid = 1;
    bash_.vpgid = 1;
    bash_.start_ts = kTs - 2'000'000'000;
    bash_.parent = &shim_;

    proc_.pid = 300;
    proc_.tid = 301;
    proc_.vpid = 7;
    proc_.vtid = 8;
    proc_.ppid = 200;
    proc_.sid = 1;
    proc_.vpgid = 7;
    proc_.name = "cat";
    proc_.exe = "cat";
    proc_.exepath = "/usr/bin/cat";
    proc_.args = std::string_view("/etc/shadow\0-n", 14);
    proc_.env = std::string_view("HOME=/root\0TERM=xterm\0EMPTY=", 28);
    proc_.cwd = "/root";
    proc_.tty = 34816;
    proc_.uid = 0;
    proc_.gid = 0;
    proc_.user_name = "root";
    proc_.user_homedir = "/root";
    proc_.user_shell = "/bin/bash";
    proc_.group_name = "root";
    proc_.loginuid = kNoLoginUid;
    proc_.cap_effective = (uint64_t{1} << 0) | (uint64_t{1} << 21);  // CHOWN, SYS_ADMIN
    proc_.cap_permitted = uint64_t{1} << 13;                         // NET_RAW
    proc_.start_ts = kTs - 1'000'000;
    proc_.pidns_init_start_ts = kTs - 10'000'000'000;
    proc_.exe_ino = 4242;
    proc_.exe_ino_ctime = kTs - 5'000'000'000;
    proc_.exe_ino_mtime = kTs - 6'000'000'000;
    proc_.exe_upper_layer = true;
    proc_.container_id = "0123456789ab";
    fd_refs_ = {{0, FdType::kIpv4}, {1, FdType::kIpv4}, {2, FdType::kFile}, {3, FdType::kFile}};
    proc_.fds = fd_refs_;
    proc_.parent = &bash_;

    fd_.num = 3;
    fd_.type = FdType::kFile;
    fd_.name = "/etc/shadow";
    fd_.nameraw = "../etc//shadow";
    fd_.dev = (8u << 20) | 1u;
    fd_.ino = 777;

    ev_.type = SyscallType::kOpenat;
    ev_.ts = kTs;
    ev_.num = 42;
    ev_.cpu = 3;
    ev_.res = 3;
    ev_.add_arg({"fd", "3", 3, true});
    ev_.add_arg({"name", "../etc//shadow", 0, false});
    ev_.add_arg({"flags", "O_RDONLY|O_CLOEXEC", O_CLOEXEC, true});
    ev_.add_arg({"mode", "0", 0, true});
    ev_.hostname = "node-1";
    ev_.proc = &proc_;
    ev_.fd = &fd_;
  }

  // Binds `name` (as a condition would write it) and extracts it from ev_.
  std::vector<Value> extract(std::string_view name,
                             std::optional<std::string_view> arg = std::nullopt) {
    auto bound = syscall_source().fields->bind(name, arg);
    EXPECT_TRUE(bound.ok()) << name << ": " << (bound.ok() ? "" : bound.error());
    if (!bound.ok()) {
      return {};
    }
    type_ = bound->info->type;
    ValuePool pool;
    ValueWriter out(pool, arena_);
    bound->info->extract(&ev_, bound->arg, out);
    return std::vector<Value>(pool.begin(), pool.end());
  }

  std::string render(const Value& v) const {
    switch (type_) {
      case FieldType::kString:
      case FieldType::kPath:
        return std::string(v.str);
      case FieldType::kNumber:
        return std::to_string(v.num);
      case FieldType::kBool:
        return v.num ? "true" : "false";
      case FieldType::kIpAddr:
      case FieldType::kIpNet:
        return format_ip(v.ip);
    }
    return "?";
  }

  // All values, rendered.
  std::vector<std::string> all(std::string_view name,
                               std::optional<std::string_view> arg = std::nullopt) {
    std::vector<std::string> out;
    for (const Value& v : extract(name, arg)) {
      out.push_back(render(v));
    }
    return out;
  }

  // The one value, rendered; "<NA>" when unset.
  std::string one(std::string_view name, std::optional<std::string_view> arg = std::nullopt) {
    std::vector<std::string> values = all(name, arg);
    EXPECT_LE(values.size(), 1u) << name;
    return values.empty() ? std::string(kNA) : values.front();
  }

  Arena arena_;
  FieldType type_ = FieldType::kString;
  ProcessInfo init_, shim_, bash_, proc_;
  std::vector<FdRef> fd_refs_;
  FdInfo fd_;
  ContainerInfo container_;
  K8sInfo k8s_;
  SyscallEvent ev_;
};

using Strings = std::vector<std::string>;

// ----- evt.* -----

TEST_F(SyscallFieldsTest, EvtBasics) {
  EXPECT_EQ(one("evt.type"), "openat");
  EXPECT_EQ(one("syscall.type"), "openat");
  EXPECT_EQ(one("evt.num"), "42");
  EXPECT_EQ(one("evt.cpu"), "3");
  EXPECT_EQ(one("evt.dir"), "<");
  EXPECT_EQ(one("evt.hostname"), "node-1");
  EXPECT_EQ(one("evt.source"), "syscall");
  EXPECT_EQ(one("evt.count"), "1");
  ev_.type = SyscallType::kProcexit;
  EXPECT_EQ(one("evt.type"), "procexit");
  EXPECT_EQ(one("syscall.type"), kNA);
  ev_.hostname = {};
  EXPECT_EQ(one("evt.hostname"), kNA);
}

TEST_F(SyscallFieldsTest, EvtTimes) {
  EXPECT_EQ(one("evt.rawtime"), std::to_string(kTs));
  EXPECT_EQ(one("evt.rawtime.s"), "1700000000");
  EXPECT_EQ(one("evt.rawtime.ns"), "123456789");
  EXPECT_EQ(one("evt.time"), "22:13:20.123456789");
  EXPECT_EQ(one("evt.time.s"), "22:13:20");
  EXPECT_EQ(one("evt.time.iso8601"), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(one("evt.datetime"), "2023-11-14 22:13:20.123456789");
  EXPECT_EQ(one("evt.datetime.s"), "2023-11-14 22:13:20");
}

TEST_F(SyscallFieldsTest, EvtResult) {
  EXPECT_EQ(one("evt.res"), "SUCCESS");
  EXPECT_EQ(one("evt.rawres"), "3");
  EXPECT_EQ(one("evt.failed"), "false");
  ev_.res = -ENOENT;
  EXPECT_EQ(one("evt.res"), "ENOENT");
  EXPECT_EQ(one("evt.rawres"), "-2");
  EXPECT_EQ(one("evt.failed"), "true");
  ev_.res = -EINPROGRESS;
  EXPECT_EQ(one("evt.res"), "EINPROGRESS");
  ev_.res = -9999;
  EXPECT_EQ(one("evt.res"), "-9999");
}

TEST_F(SyscallFieldsTest, EvtArguments) {
  EXPECT_EQ(one("evt.args"), "fd=3 name=../etc//shadow flags=O_RDONLY|O_CLOEXEC mode=0");
  EXPECT_EQ(one("evt.info"), one("evt.args"));
  EXPECT_EQ(one("evt.arg.flags"), "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(one("evt.arg", "flags"), "O_RDONLY|O_CLOEXEC");
  EXPECT_EQ(one("evt.arg", "1"), "../etc//shadow");
  EXPECT_EQ(one("evt.arg", "9"), kNA);
  EXPECT_EQ(one("evt.arg.nope"), kNA);
  EXPECT_EQ(one("evt.rawarg.flags"), std::to_string(O_CLOEXEC));
  EXPECT_EQ(one("evt.rawarg.fd"), "3");
  EXPECT_EQ(one("evt.rawarg.name"), kNA) << "not numeric";
  ev_.nargs = 2;
  ev_.add_arg({std::string_view(), std::string_view(), 0, false});  // unset views are safe
  EXPECT_EQ(one("evt.args"), "fd=3 name=../etc//shadow =");
  ev_.nargs = 0;
  EXPECT_EQ(one("evt.args"), "");
}

// Producers may leave numbers and fd names unformatted (ArgFormat); readers get the same text
// as if they had been formatted up front.
TEST_F(SyscallFieldsTest, EvtArgumentsFormattedOnDemand) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  struct Case {
    ArgFormat format;
    int64_t num;
    const char* text;
  } cases[] = {
      {ArgFormat::kDecimal, 0, "0"},
      {ArgFormat::kDecimal, 9, "9"},
      {ArgFormat::kDecimal, 10, "10"},
      {ArgFormat::kDecimal, -2, "-2"},
      {ArgFormat::kDecimal, kMin, "-9223372036854775808"},
      {ArgFormat::kUnsigned, 7, "7"},
      {ArgFormat::kUnsigned, 1234567, "1234567"},
      {ArgFormat::kUnsigned, -1, "18446744073709551615"},
      {ArgFormat::kHex, 5, "5"},
      {ArgFormat::kHex, 0x803, "803"},
      {ArgFormat::kHex, 0xabcdef, "abcdef"},
      {ArgFormat::kHex, -1, "ffffffffffffffff"},
      {ArgFormat::kOctal, 0, "0"},
      {ArgFormat::kOctal, 0644, "644"},
      {ArgFormat::kOctal, 010, "10"},  // the agent used to print 8 and 9 as "8" and "9"
      {ArgFormat::kOctal, 011, "11"},
      {ArgFormat::kOctal, 7, "7"},
  };
  for (const Case& c : cases) {
    SyscallArg a{"x", {}, c.num, true};
    a.format = c.format;
    ev_.nargs = 0;
    ev_.add_arg(a);
    EXPECT_EQ(one("evt.arg.x"), c.text) << static_cast<int>(c.format) << " " << c.num;
    EXPECT_EQ(one("evt.arg", "0"), c.text);
    EXPECT_EQ(one("evt.args"), std::string("x=") + c.text);
    EXPECT_EQ(one("evt.rawarg.x"), std::to_string(c.num));
  }
  SyscallArg fd{"fd", "/etc/passwd", 3, true};
  fd.format = ArgFormat::kFdPath;
  fd.fd_type = 'f';
  SyscallArg dirfd{"dirfd", "AT_FDCWD", -100, true};
  SyscallArg mode{"mode", {}, 0755, true};
  mode.format = ArgFormat::kOctal;
  ev_.nargs = 0;
  ev_.add_arg(fd);
  ev_.add_arg(dirfd);
  ev_.add_arg(mode);
  EXPECT_EQ(one("evt.arg.fd"), "<f>/etc/passwd");
  EXPECT_EQ(one("evt.rawarg.fd"), "3");
  EXPECT_EQ(one("evt.args"), "fd=<f>/etc/passwd dirfd=AT_FDCWD mode=755");
}

TEST_F(SyscallFieldsTest, EvtOpenModes) {
  struct Case {
    int flags;
    const char* read;
    const char* write;
  } cases[] = {
      {O_RDONLY, "true", "false"},
      {O_WRONLY, "false", "true"},
      {O_RDWR, "true", "true"},
      {O_RDONLY | O_CREAT, "true", "false"},  // O_CREAT alone is not a write
      {O_WRONLY | O_CREAT | O_TRUNC, "false", "true"},
  };
  for (const Case& c : cases) {
    ev_.args[2].num = c.flags;
    EXPECT_EQ(one("evt.is_open_read"), c.read) << c.flags;
    EXPECT_EQ(one("evt.is_open_write"), c.write) << c.flags;
  }
  ev_.type = SyscallType::kRead;
  EXPECT_EQ(one("evt.is_open_read"), "false") << "not an open";
  ev_.type = SyscallType::kOpenat2;
  ev_.args[2].has_num = false;
  EXPECT_EQ(one("evt.is_open_read"), "false") << "flags unknown";
}

TEST_F(SyscallFieldsTest, EvtOpenExecAndCreate) {
  ev_.args[2].num = O_WRONLY | O_CREAT;
  ev_.args[3].num = 0755;
  EXPECT_EQ(one("evt.is_open_exec"), "true");
  ev_.args[3].num = 0644;
  EXPECT_EQ(one("evt.is_open_exec"), "false");
  ev_.args[2].num = O_WRONLY;
  ev_.args[3].num = 0755;
  EXPECT_EQ(one("evt.is_open_exec"), "false") << "mode only counts when the file is created";
  ev_.type = SyscallType::kCreat;
  EXPECT_EQ(one("evt.is_open_exec"), "true");

  ev_.type = SyscallType::kOpenat;
  EXPECT_EQ(one("evt.is_open_create"), "false");
  ev_.flags |= kEvtOpenCreated;
  EXPECT_EQ(one("evt.is_open_create"), "true");
  ev_.flags = kEvtNone;
  ev_.args[2].num = O_RDWR | O_TMPFILE;
  EXPECT_EQ(one("evt.is_open_create"), "true");
  ev_.res = -EACCES;
  EXPECT_EQ(one("evt.is_open_create"), "false");
}

TEST_F(SyscallFieldsTest, EvtIo) {
  EXPECT_EQ(one("evt.is_io"), "false");
  EXPECT_EQ(one("evt.io_dir"), kNA);
  ev_.type = SyscallType::kRead;
  EXPECT_EQ(one("evt.is_io"), "true");
  EXPECT_EQ(one("evt.is_io_read"), "true");
  EXPECT_EQ(one("evt.is_io_write"), "false");
  EXPECT_EQ(one("evt.io_dir"), "read");
  ev_.type = SyscallType::kSendto;
  EXPECT_EQ(one("evt.is_io_write"), "true");
  EXPECT_EQ(one("evt.io_dir"), "write");
}

// ----- proc.* / thread.* -----

TEST_F(SyscallFieldsTest, ProcIdentity) {
  EXPECT_EQ(one("proc.pid"), "300");
  EXPECT_EQ(one("proc.ppid"), "200");
  EXPECT_EQ(one("proc.vpid"), "7");
  EXPECT_EQ(one("proc.pvpid"), "1");
  EXPECT_EQ(one("thread.tid"), "301");
  EXPECT_EQ(one("thread.vtid"), "8");
  EXPECT_EQ(one("thread.ismain"), "false");
  EXPECT_EQ(one("proc.name"), "cat");
  EXPECT_EQ(one("proc.exe"), "cat");
  EXPECT_EQ(one("proc.exepath"), "/usr/bin/cat");
  EXPECT_EQ(one("proc.cwd"), "/root");
  EXPECT_EQ(one("proc.tty"), "34816");
}

TEST_F(SyscallFieldsTest, ProcCommandLine) {
  EXPECT_EQ(one("proc.args"), "/etc/shadow -n");
  EXPECT_EQ(one("proc.cmdline"), "cat /etc/shadow -n");
  EXPECT_EQ(one("proc.exeline"), "cat /etc/shadow -n");
  EXPECT_EQ(one("proc.cmdnargs"), "2");
  EXPECT_EQ(one("proc.cmdlenargs"), "13");
  EXPECT_EQ(one("proc.pcmdline"), "bash -i");
  proc_.args = {};
  EXPECT_EQ(one("proc.cmdline"), "cat");
  EXPECT_EQ(one("proc.args"), "");
  EXPECT_EQ(one("proc.cmdnargs"), "0");
  proc_.args = std::string_view("one\0", 4);  // a trailing NUL is tolerated
  EXPECT_EQ(one("proc.cmdline"), "cat one");
  EXPECT_EQ(one("proc.cmdnargs"), "1");
}

TEST_F(SyscallFieldsTest, ProcEnvironment) {
  EXPECT_EQ(one("proc.env"), "HOME=/root TERM=xterm EMPTY=");
  EXPECT_EQ(one("proc.env", "TERM"), "xterm");
  EXPECT_EQ(one("proc.env", "HOME"), "/root");
  EXPECT_EQ(one("proc.env", "EMPTY"), "");
  EXPECT_EQ(one("proc.env", "HOM"), kNA);
  EXPECT_EQ(one("proc.env", "NOPE"), kNA);
  proc_.env = {};
  EXPECT_EQ(one("proc.env"), kNA);
}

TEST_F(SyscallFieldsTest, ProcParentAndAncestors) {
  EXPECT_EQ(one("proc.pname"), "bash");
  EXPECT_EQ(one("proc.pexe"), "bash");
  EXPECT_EQ(one("proc.pexepath"), "/bin/bash");
  EXPECT_EQ(one("proc.aname", "0"), "cat");
  EXPECT_EQ(one("proc.aname", "1"), "bash");
  EXPECT_EQ(one("proc.aname", "2"), "containerd-shim");
  EXPECT_EQ(one("proc.aname", "3"), "systemd");
  EXPECT_EQ(one("proc.aname", "4"), kNA);
  EXPECT_EQ(one("proc.aname", "1000000"), kNA);
  EXPECT_EQ(one("proc.aexepath", "2"), "/usr/bin/containerd-shim-runc-v2");
  EXPECT_EQ(one("proc.aexe", "3"), "/sbin/init");
  EXPECT_EQ(one("proc.acmdline", "2"), "containerd-shim -namespace k8s.io");
  EXPECT_EQ(one("proc.apid", "1"), "200");
  // Without an index: every ancestor, parent first, the process itself excluded.
  EXPECT_EQ(all("proc.aname"), (Strings{"bash", "containerd-shim", "systemd"}));
  EXPECT_EQ(all("proc.apid"), (Strings{"200", "100", "1"}));
  EXPECT_EQ(all("proc.aexepath"),
            (Strings{"/bin/bash", "/usr/bin/containerd-shim-runc-v2", "/usr/lib/systemd/systemd"}));
  EXPECT_EQ(all("proc.acmdline"),
            (Strings{"bash -i", "containerd-shim -namespace k8s.io", "systemd"}));
}

TEST_F(SyscallFieldsTest, ProcWithoutParent) {
  proc_.parent = nullptr;
  EXPECT_EQ(one("proc.pname"), kNA);
  EXPECT_EQ(one("proc.pcmdline"), kNA);
  EXPECT_EQ(one("proc.pvpid"), kNA);
  EXPECT_EQ(one("proc.ppid.duration"), kNA);
  EXPECT_TRUE(all("proc.aname").empty());
  EXPECT_EQ(one("proc.aname", "0"), "cat");
  EXPECT_EQ(one("proc.ppid"), "200") << "ppid is known even when the parent is not";
}

TEST_F(SyscallFieldsTest, AncestorWalksAreBounded) {
  ProcessInfo loop = proc_;
  loop.parent = &loop;  // a producer bug must not hang the engine
  ev_.proc = &loop;
  EXPECT_EQ(all("proc.aname").size(), static_cast<size_t>(kMaxAncestorDepth));
  EXPECT_EQ(one("proc.sname"), "cat");
  EXPECT_EQ(one("proc.loginshellid"), kNA);
  EXPECT_EQ(one("proc.aname", "33"), kNA);
}

TEST_F(SyscallFieldsTest, ProcSessionAndGroupLeaders) {
  // cat and bash share sid 1 (the container's pid namespace); the shim does not.
  EXPECT_EQ(one("proc.sid"), "1");
  EXPECT_EQ(one("proc.sname"), "bash");
  EXPECT_EQ(one("proc.sid.exe"), "bash");
  EXPECT_EQ(one("proc.sid.exepath"), "/bin/bash");
  EXPECT_EQ(one("proc.is_sid_leader"), "false");
  EXPECT_EQ(one("proc.vpgid"), "7");
  EXPECT_EQ(one("proc.vpgid.name"), "cat");
  EXPECT_EQ(one("proc.vpgid.exe"), "cat");
  EXPECT_EQ(one("proc.vpgid.exepath"), "/usr/bin/cat");
  EXPECT_EQ(one("proc.is_vpgid_leader"), "true");
  proc_.vpgid = 1;  // same group as bash: spawned by a script rather than typed
  EXPECT_EQ(one("proc.vpgid.name"), "bash");
  EXPECT_EQ(one("proc.is_vpgid_leader"), "false");
  proc_.sid = -1;
  EXPECT_EQ(one("proc.sname"), kNA);
  EXPECT_EQ(one("proc.sid"), kNA);
}

TEST_F(SyscallFieldsTest, ProcLoginShell) {
  EXPECT_EQ(one("proc.loginshellid"), "200");
  shim_.name = "zsh";  // the eldest shell wins
  EXPECT_EQ(one("proc.loginshellid"), "100");
}

TEST_F(SyscallFieldsTest, ProcTimes) {
  EXPECT_EQ(one("proc.duration"), "1000000");
  EXPECT_EQ(one("proc.ppid.duration"), "2000000000");
  EXPECT_EQ(one("proc.pid.ts"), std::to_string(kTs - 1'000'000));
  EXPECT_EQ(one("proc.ppid.ts"), std::to_string(kTs - 2'000'000'000));
  EXPECT_EQ(one("proc.pidns_init_start_ts"), std::to_string(kTs - 10'000'000'000));
  proc_.start_ts = 0;
  EXPECT_EQ(one("proc.duration"), kNA);
  EXPECT_EQ(one("proc.pid.ts"), kNA);
}

TEST_F(SyscallFieldsTest, ProcExecutable) {
  EXPECT_EQ(one("proc.is_exe_upper_layer"), "true");
  EXPECT_EQ(one("proc.is_exe_lower_layer"), "false");
  EXPECT_EQ(one("proc.is_exe_writable"), "false");
  EXPECT_EQ(one("proc.is_exe_from_memfd"), "false");
  EXPECT_EQ(one("proc.exe_ino"), "4242");
  EXPECT_EQ(one("proc.exe_ino.ctime"), std::to_string(kTs - 5'000'000'000));
  EXPECT_EQ(one("proc.exe_ino.mtime"), std::to_string(kTs - 6'000'000'000));
  // ctime 5 s before the event, start 1 ms before it.
  EXPECT_EQ(one("proc.exe_ino.ctime_duration_proc_start"), "4999000000");
  EXPECT_EQ(one("proc.exe_ino.ctime_duration_pidns_start"), "5000000000");
  proc_.exe_ino_ctime = 0;
  EXPECT_EQ(one("proc.exe_ino.ctime"), kNA);
  EXPECT_EQ(one("proc.exe_ino.ctime_duration_proc_start"), kNA);
}

TEST_F(SyscallFieldsTest, ThreadCapabilities) {
  EXPECT_EQ(one("thread.cap_effective"), "CAP_CHOWN CAP_SYS_ADMIN");
  EXPECT_EQ(one("thread.cap_permitted"), "CAP_NET_RAW");
  EXPECT_EQ(one("thread.cap_inheritable"), "");
}

TEST_F(SyscallFieldsTest, NoProcessMeansNoProcessFields) {
  ev_.proc = nullptr;
  for (const FieldInfo* f : syscall_source().fields->all()) {
    const std::string name = f->name;
    if (name.starts_with("proc.") || name.starts_with("thread.") || name.starts_with("user.") ||
        name.starts_with("group.") || name == "fd.types") {
      std::optional<std::string_view> arg;
      if (f->flags & kArgRequired) {
        arg = "x";
      }
      EXPECT_TRUE(extract(name, arg).empty()) << name;
    }
  }
}

// ----- user.* / group.* -----

TEST_F(SyscallFieldsTest, UserAndGroup) {
  EXPECT_EQ(one("user.uid"), "0");
  EXPECT_EQ(one("user.name"), "root");
  EXPECT_EQ(one("user.homedir"), "/root");
  EXPECT_EQ(one("user.shell"), "/bin/bash");
  EXPECT_EQ(one("user.loginuid"), "-1");
  EXPECT_EQ(one("user.loginname"), kNA);
  EXPECT_EQ(one("group.gid"), "0");
  EXPECT_EQ(one("group.name"), "root");
  proc_.uid = 1000;
  proc_.user_name = {};
  proc_.loginuid = 1000;
  proc_.loginname = "alice";
  EXPECT_EQ(one("user.uid"), "1000");
  EXPECT_EQ(one("user.name"), kNA);
  EXPECT_EQ(one("user.loginuid"), "1000");
  EXPECT_EQ(one("user.loginname"), "alice");
}

// ----- fd.* -----

TEST_F(SyscallFieldsTest, FdFile) {
  EXPECT_EQ(one("fd.num"), "3");
  EXPECT_EQ(one("fd.type"), "file");
  EXPECT_EQ(one("fd.typechar"), "f");
  EXPECT_EQ(one("fd.name"), "/etc/shadow");
  EXPECT_EQ(one("fd.directory"), "/etc");
  EXPECT_EQ(one("fd.filename"), "shadow");
  EXPECT_EQ(one("fd.nameraw"), "../etc//shadow");
  EXPECT_EQ(one("fd.dev"), std::to_string((8 << 20) | 1));
  EXPECT_EQ(one("fd.dev.major"), "8");
  EXPECT_EQ(one("fd.dev.minor"), "1");
  EXPECT_EQ(one("fd.ino"), "777");
  EXPECT_EQ(one("fd.l4proto"), "<NA>");
  EXPECT_EQ(one("fd.sockfamily"), kNA);
  EXPECT_EQ(one("fd.is_server"), "false");
  EXPECT_EQ(one("fd.cip"), kNA);
  EXPECT_TRUE(all("fd.ip").empty());
  fd_.name = "/vmlinuz";
  EXPECT_EQ(one("fd.directory"), "/");
  EXPECT_EQ(one("fd.filename"), "vmlinuz");
}

TEST_F(SyscallFieldsTest, FdDirectoryAndOthers) {
  fd_.type = FdType::kDirectory;
  fd_.name = "/var/log";
  EXPECT_EQ(one("fd.typechar"), "d");
  EXPECT_EQ(one("fd.directory"), "/var/log");
  EXPECT_EQ(one("fd.filename"), kNA);
  fd_.type = FdType::kMemfd;
  EXPECT_EQ(one("fd.type"), "memfd");
  EXPECT_EQ(one("fd.typechar"), "m");
  EXPECT_EQ(one("fd.directory"), kNA);
  fd_.type = FdType::kUnknown;
  EXPECT_EQ(one("fd.type"), kNA);
  EXPECT_EQ(one("fd.typechar"), "o");
}

TEST_F(SyscallFieldsTest, FdFailedOpen) {
  // How the agent reports `open("/etc/nope")` failing: num -1, the path, type file.
  ev_.res = -ENOENT;
  fd_.num = -1;
  fd_.name = "/etc/nope";
  EXPECT_EQ(one("fd.num"), "-1");
  EXPECT_EQ(one("fd.typechar"), "f");
  EXPECT_EQ(one("fd.name"), "/etc/nope");
}

TEST_F(SyscallFieldsTest, FdClientSocket) {
  ev_.type = SyscallType::kConnect;
  fd_ = FdInfo{};
  fd_.num = 5;
  fd_.type = FdType::kIpv4;
  fd_.role = SocketRole::kClient;
  fd_.l4proto = L4Proto::kTcp;
  fd_.cip = addr("10.0.0.5");
  fd_.cport = 40000;
  fd_.sip = addr("93.184.216.34");
  fd_.sport = 443;
  fd_.connected = true;
  fd_.sip_name = "example.com";
  EXPECT_EQ(one("fd.typechar"), "4");
  EXPECT_EQ(one("fd.name"), "10.0.0.5:40000->93.184.216.34:443");
  EXPECT_EQ(one("fd.cip"), "10.0.0.5");
  EXPECT_EQ(one("fd.sip"), "93.184.216.34");
  EXPECT_EQ(one("fd.lip"), "10.0.0.5");
  EXPECT_EQ(one("fd.rip"), "93.184.216.34");
  EXPECT_EQ(one("fd.cport"), "40000");
  EXPECT_EQ(one("fd.sport"), "443");
  EXPECT_EQ(one("fd.lport"), "40000");
  EXPECT_EQ(one("fd.rport"), "443");
  EXPECT_EQ(all("fd.ip"), (Strings{"10.0.0.5", "93.184.216.34"}));
  EXPECT_EQ(all("fd.port"), (Strings{"40000", "443"}));
  EXPECT_EQ(all("fd.net"), (Strings{"10.0.0.5", "93.184.216.34"}));
  EXPECT_EQ(one("fd.snet"), "93.184.216.34");
  EXPECT_EQ(one("fd.rnet"), "93.184.216.34");
  EXPECT_EQ(one("fd.l4proto"), "tcp");
  EXPECT_EQ(one("fd.sockfamily"), "ip");
  EXPECT_EQ(one("fd.is_server"), "false");
  EXPECT_EQ(one("fd.connected"), "true");
  EXPECT_EQ(one("fd.name_changed"), "false");
  EXPECT_EQ(one("fd.sip.name"), "example.com");
  EXPECT_EQ(one("fd.rip.name"), "example.com");
  EXPECT_EQ(one("fd.cip.name"), kNA);
  EXPECT_EQ(one("fd.directory"), kNA);
  fd_.name = "named-by-agent";
  EXPECT_EQ(one("fd.name"), "named-by-agent");
}

TEST_F(SyscallFieldsTest, FdServerSocket) {
  fd_ = FdInfo{};
  fd_.type = FdType::kIpv6;
  fd_.role = SocketRole::kServer;
  fd_.l4proto = L4Proto::kUdp;
  fd_.cip = addr("2001:db8::1");
  fd_.cport = 5353;
  fd_.sip = addr("fd00::2");
  fd_.sport = 53;
  EXPECT_EQ(one("fd.typechar"), "6");
  EXPECT_EQ(one("fd.name"), "[2001:db8::1]:5353->[fd00::2]:53");
  EXPECT_EQ(one("fd.lip"), "fd00::2");
  EXPECT_EQ(one("fd.rip"), "2001:db8::1");
  EXPECT_EQ(one("fd.lport"), "53");
  EXPECT_EQ(one("fd.rport"), "5353");
  EXPECT_EQ(one("fd.is_server"), "true");
  EXPECT_EQ(one("fd.l4proto"), "udp");
}

TEST_F(SyscallFieldsTest, FdListeningSocket) {
  fd_ = FdInfo{};
  fd_.type = FdType::kIpv4;
  fd_.role = SocketRole::kListening;
  fd_.l4proto = L4Proto::kTcp;
  fd_.sip = addr("0.0.0.0");
  fd_.sport = 8080;
  EXPECT_EQ(one("fd.name"), "0.0.0.0:8080");
  EXPECT_EQ(one("fd.sip"), "0.0.0.0");
  EXPECT_EQ(one("fd.sport"), "8080");
  EXPECT_EQ(one("fd.cip"), kNA);
  EXPECT_EQ(one("fd.lip"), kNA);
  EXPECT_EQ(one("fd.lport"), kNA);
  EXPECT_EQ(all("fd.ip"), (Strings{"0.0.0.0"}));
  EXPECT_EQ(all("fd.port"), (Strings{"8080"}));
  EXPECT_EQ(one("fd.is_server"), "true");
}

TEST_F(SyscallFieldsTest, FdUnknownTupleAndUnixSocket) {
  fd_ = FdInfo{};
  fd_.type = FdType::kIpv4;  // socket() just created it: no tuple yet
  EXPECT_EQ(one("fd.name"), kNA);
  EXPECT_EQ(one("fd.sip"), kNA);
  EXPECT_TRUE(all("fd.port").empty());
  fd_.type = FdType::kUnix;
  fd_.name = "/run/containerd/containerd.sock";
  EXPECT_EQ(one("fd.sockfamily"), "unix");
  EXPECT_EQ(one("fd.typechar"), "u");
  EXPECT_EQ(one("fd.name"), "/run/containerd/containerd.sock");
  EXPECT_EQ(one("fd.directory"), kNA);
}

TEST_F(SyscallFieldsTest, FdTypesOfTheProcess) {
  EXPECT_EQ(all("fd.types"), (Strings{"ipv4", "file"}));
  EXPECT_EQ(all("fd.types", "0"), (Strings{"ipv4"}));
  EXPECT_EQ(all("fd.types", "2"), (Strings{"file"}));
  EXPECT_TRUE(all("fd.types", "9").empty());
}

TEST_F(SyscallFieldsTest, FdContainerNames) {
  EXPECT_EQ(one("fd.containername"), "host:/etc/shadow");
  EXPECT_EQ(one("fd.containerdirectory"), "host:/etc");
  container_.id = "0123456789ab";
  ev_.container = &container_;
  EXPECT_EQ(one("fd.containername"), "0123456789ab:/etc/shadow");
}

TEST_F(SyscallFieldsTest, NoFdMeansNoFdFields) {
  ev_.fd = nullptr;
  for (const FieldInfo* f : syscall_source().fields->all()) {
    const std::string name = f->name;
    if (name.starts_with("fd.") && name != "fd.types") {
      EXPECT_TRUE(extract(name).empty()) << name;
    }
  }
}

// ----- container.* / k8s.* -----

TEST_F(SyscallFieldsTest, HostProcess) {
  EXPECT_EQ(one("container.id"), "host");
  EXPECT_EQ(one("container.name"), "host");
  EXPECT_EQ(one("container.image.repository"), kNA);
  EXPECT_EQ(one("container.privileged"), kNA);
  EXPECT_EQ(one("container.start_ts"), kNA);
  EXPECT_EQ(one("k8s.pod.name"), kNA);
  EXPECT_EQ(one("k8s.ns.name"), kNA);
  EXPECT_EQ(one("k8s.pod.label.app"), kNA);
  EXPECT_EQ(one("k8s.pod.labels"), kNA);
}

TEST_F(SyscallFieldsTest, ContainerAndPod) {
  container_.id = "0123456789ab";
  container_.full_id = "0123456789abcdef";
  container_.name = "web";
  container_.type = "containerd";
  container_.image = "docker.io/library/nginx:1.25";
  container_.image_id = "sha256:abc";
  container_.image_repository = "docker.io/library/nginx";
  container_.image_tag = "1.25";
  container_.image_digest = "sha256:def";
  container_.ip = addr("10.244.0.7");
  container_.start_ts = kTs - 60'000'000'000;
  container_.privileged = kTriTrue;
  container_.host_pid = kTriFalse;
  ev_.container = &container_;
  const K8sLabel labels[] = {{"app", "web"}, {"app.kubernetes.io/name", "nginx"}};
  k8s_.pod_name = "web-7d9c";
  k8s_.pod_uid = "11111111-2222";
  k8s_.sandbox_id = "fedcba987654";
  k8s_.ns_name = "prod";
  k8s_.pod_ip = addr("10.244.0.7");
  k8s_.labels = labels;
  ev_.k8s = &k8s_;

  EXPECT_EQ(one("container.id"), "0123456789ab");
  EXPECT_EQ(one("container.full_id"), "0123456789abcdef");
  EXPECT_EQ(one("container.name"), "web");
  EXPECT_EQ(one("container.type"), "containerd");
  EXPECT_EQ(one("container.image"), "docker.io/library/nginx:1.25");
  EXPECT_EQ(one("container.image.id"), "sha256:abc");
  EXPECT_EQ(one("container.image.repository"), "docker.io/library/nginx");
  EXPECT_EQ(one("container.image.tag"), "1.25");
  EXPECT_EQ(one("container.image.digest"), "sha256:def");
  EXPECT_EQ(one("container.ip"), "10.244.0.7");
  EXPECT_EQ(one("container.privileged"), "true");
  EXPECT_EQ(one("container.host_pid"), "false");
  EXPECT_EQ(one("container.host_network"), kNA);
  EXPECT_EQ(one("container.start_ts"), std::to_string(kTs - 60'000'000'000));
  EXPECT_EQ(one("container.duration"), "60000000000");
  EXPECT_EQ(one("k8s.pod.name"), "web-7d9c");
  EXPECT_EQ(one("k8s.pod.uid"), "11111111-2222");
  EXPECT_EQ(one("k8s.pod.id"), "11111111-2222");
  EXPECT_EQ(one("k8s.pod.sandbox_id"), "fedcba987654");
  EXPECT_EQ(one("k8s.pod.ip"), "10.244.0.7");
  EXPECT_EQ(one("k8s.ns.name"), "prod");
  EXPECT_EQ(one("k8s.pod.label.app"), "web");
  EXPECT_EQ(one("k8s.pod.label", "app.kubernetes.io/name"), "nginx");
  EXPECT_EQ(one("k8s.pod.label.app.kubernetes.io/name"), "nginx");
  EXPECT_EQ(one("k8s.pod.label.tier"), kNA);
  EXPECT_EQ(one("k8s.pod.labels"), "app:web, app.kubernetes.io/name:nginx");
}

// ----- the registry as a whole -----

// Every field reference in Falco's stable rules (rules/falco_rules.yaml), as written there.
TEST(SyscallFieldRegistryTest, BindsEveryFieldTheFalcoRulesUse) {
  struct Ref {
    const char* name;
    const char* arg;
  } refs[] = {
      {"container.id", nullptr},
      {"container.image.repository", nullptr},
      {"container.privileged", nullptr},
      {"container.start_ts", nullptr},
      {"evt.arg.domain", nullptr},
      {"evt.arg.flags", nullptr},
      {"evt.arg.linkpath", nullptr},
      {"evt.arg.newpath", nullptr},
      {"evt.arg.oldpath", nullptr},
      {"evt.arg.request", nullptr},
      {"evt.arg.target", nullptr},
      {"evt.args", nullptr},
      {"evt.hostname", nullptr},
      {"evt.is_open_read", nullptr},
      {"evt.is_open_write", nullptr},
      {"evt.num", nullptr},
      {"evt.rawres", nullptr},
      {"evt.res", nullptr},
      {"evt.type", nullptr},
      {"fd.connected", nullptr},
      {"fd.directory", nullptr},
      {"fd.filename", nullptr},
      {"fd.ip", nullptr},
      {"fd.l4proto", nullptr},
      {"fd.lport", nullptr},
      {"fd.name", nullptr},
      {"fd.name_changed", nullptr},
      {"fd.nameraw", nullptr},
      {"fd.net", nullptr},
      {"fd.num", nullptr},
      {"fd.rport", nullptr},
      {"fd.sip", nullptr},
      {"fd.sip.name", nullptr},
      {"fd.snet", nullptr},
      {"fd.sport", nullptr},
      {"fd.type", nullptr},
      {"fd.typechar", nullptr},
      {"fd.types", "0"},
      {"fd.types", "1"},
      {"fd.types", "2"},
      {"group.gid", nullptr},
      {"group.name", nullptr},
      {"k8s.ns.name", nullptr},
      {"proc.aexepath", "2"},
      {"proc.aname", nullptr},
      {"proc.aname", "1"},
      {"proc.aname", "2"},
      {"proc.aname", "7"},
      {"proc.args", nullptr},
      {"proc.cmdline", nullptr},
      {"proc.cwd", nullptr},
      {"proc.duration", nullptr},
      {"proc.exe", nullptr},
      {"proc.exe_ino.ctime", nullptr},
      {"proc.exe_ino.ctime_duration_proc_start", nullptr},
      {"proc.exe_ino.mtime", nullptr},
      {"proc.exepath", nullptr},
      {"proc.is_exe_from_memfd", nullptr},
      {"proc.is_exe_upper_layer", nullptr},
      {"proc.is_vpgid_leader", nullptr},
      {"proc.name", nullptr},
      {"proc.pcmdline", nullptr},
      {"proc.pexe", nullptr},
      {"proc.pexepath", nullptr},
      {"proc.pname", nullptr},
      {"proc.ppid.duration", nullptr},
      {"proc.sname", nullptr},
      {"proc.tty", nullptr},
      {"proc.vpgid.exe", nullptr},
      {"proc.vpgid.name", nullptr},
      {"thread.cap_effective", nullptr},
      {"user.loginname", nullptr},
      {"user.loginuid", nullptr},
      {"user.name", nullptr},
      {"user.uid", nullptr},
  };
  const FieldRegistry& reg = *syscall_source().fields;
  for (const Ref& r : refs) {
    auto b = r.arg ? reg.bind(r.name, std::string_view(r.arg)) : reg.bind(r.name, std::nullopt);
    EXPECT_TRUE(b.ok()) << r.name << ": " << (b.ok() ? "" : b.error());
  }
}

TEST(SyscallFieldRegistryTest, TypesMatchFalco) {
  const FieldRegistry& reg = *syscall_source().fields;
  struct Expect {
    const char* name;
    FieldType type;
  } expects[] = {
      {"evt.res", FieldType::kString},
      {"evt.rawres", FieldType::kNumber},
      {"fd.typechar", FieldType::kString},
      {"fd.num", FieldType::kNumber},
      {"proc.tty", FieldType::kNumber},
      {"user.uid", FieldType::kNumber},
      {"fd.net", FieldType::kIpNet},
      {"fd.snet", FieldType::kIpNet},
      {"fd.cnet", FieldType::kIpNet},
      {"fd.sip", FieldType::kIpAddr},
      {"fd.cip", FieldType::kIpAddr},
      {"evt.is_open_write", FieldType::kBool},
      {"container.privileged", FieldType::kBool},
  };
  for (const Expect& e : expects) {
    const FieldInfo* f = reg.find(e.name);
    ASSERT_NE(f, nullptr) << e.name;
    EXPECT_EQ(f->type, e.type) << e.name;
  }
  EXPECT_EQ(reg.find("proc.aname")->flags & kList, 0u) << "any-ancestor, not a list";
  EXPECT_NE(reg.find("fd.types")->flags & kList, 0u);
}

// ----- event types and formatting helpers -----

TEST(SyscallTypeTest, NamesAndIdsRoundTrip) {
  EXPECT_LE(kSyscallTypeCount, 100u);
  for (size_t id = 0; id < kSyscallTypeCount; ++id) {
    std::string_view name = syscall_type_name(static_cast<uint16_t>(id));
    ASSERT_FALSE(name.empty()) << id;
    EXPECT_EQ(syscall_type_id(name), static_cast<int>(id)) << name;
  }
  EXPECT_EQ(syscall_type_id("openat"), static_cast<int>(SyscallType::kOpenat));
  EXPECT_EQ(syscall_type_id("procexit"), static_cast<int>(SyscallType::kProcexit));
  EXPECT_EQ(syscall_type_id("switch"), -1);
  EXPECT_EQ(syscall_type_id(""), -1);
  EXPECT_EQ(syscall_type_id("openat "), -1);
  EXPECT_EQ(syscall_type_name(static_cast<uint16_t>(kSyscallTypeCount)), "");
  EXPECT_EQ(syscall_type_name(SyscallType::kPivotRoot), "pivot_root");
}

TEST(SyscallTypeTest, KnowsEverySyscallTheRulesName) {
  for (const char* name :
       {"connect",      "dup",         "dup2",      "dup3",    "execve",   "execveat",
        "finit_module", "init_module", "link",      "linkat",  "open",     "openat",
        "openat2",      "ptrace",      "sendmsg",   "sendto",  "socket",   "symlink",
        "symlinkat",    "accept",      "accept4",   "bpf",     "chmod",    "creat",
        "fchmod",       "fchmodat",    "listen",    "rename",  "renameat", "renameat2",
        "rmdir",        "setns",       "setuid",    "unlink",  "unlinkat", "unshare",
        "memfd_create", "clone",       "clone3",    "fork",    "vfork",    "close",
        "setgid",       "setresuid",   "setresgid", "bind",    "mkdir",    "mkdirat",
        "chown",        "fchown",      "fchownat",  "mount",   "umount",   "umount2",
        "kill",         "tkill",       "tgkill",    "prctl",   "capset",   "socketpair",
        "pipe",         "pipe2",       "recvfrom",  "recvmsg", "read",     "write",
        "procexit",     "userfaultfd", "mmap",      "mprotect"}) {
    EXPECT_GE(syscall_type_id(name), 0) << name;
  }
}

TEST(SyscallTypeTest, Flags) {
  EXPECT_NE(syscall_type_flags(SyscallType::kOpenat) & kTypeOpen, 0u);
  EXPECT_NE(syscall_type_flags(SyscallType::kOpenat) & kTypeCreatesFd, 0u);
  EXPECT_EQ(syscall_type_flags(SyscallType::kCreat) & kTypeOpen, 0u);
  EXPECT_NE(syscall_type_flags(SyscallType::kRecvmsg) & kTypeReadsFd, 0u);
  EXPECT_NE(syscall_type_flags(SyscallType::kProcexit) & kTypeNotSyscall, 0u);
}

TEST(SyscallFormatTest, Errnos) {
  EXPECT_EQ(errno_name(2), "ENOENT");
  EXPECT_EQ(errno_name(-13), "EACCES");
  EXPECT_EQ(errno_name(EINPROGRESS), "EINPROGRESS");
  EXPECT_EQ(errno_name(0), "");
  EXPECT_EQ(errno_name(100000), "");
  EXPECT_EQ(errno_from_name("EPERM"), EPERM);
  EXPECT_EQ(errno_from_name("SUCCESS"), 0);
}

TEST(SyscallFormatTest, OpenFlags) {
  EXPECT_EQ(format_open_flags(O_RDONLY), "O_RDONLY");
  EXPECT_EQ(format_open_flags(O_RDWR | O_CREAT), "O_CREAT|O_RDWR");
  EXPECT_EQ(format_open_flags(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC),
            "O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC");
  EXPECT_EQ(format_open_flags(O_RDWR | O_TMPFILE), "O_TMPFILE|O_RDWR");
  EXPECT_EQ(format_open_flags(O_WRONLY | O_SYNC), "O_SYNC|O_WRONLY");
  uint32_t parsed = 0;
  ASSERT_TRUE(parse_open_flags("O_RDWR|O_CREAT", parsed));
  EXPECT_EQ(parsed, static_cast<uint32_t>(O_RDWR | O_CREAT));
  ASSERT_TRUE(parse_open_flags(" O_WRONLY | O_TRUNC ", parsed));
  EXPECT_EQ(parsed, static_cast<uint32_t>(O_WRONLY | O_TRUNC));
  ASSERT_TRUE(parse_open_flags("O_RDONLY", parsed));
  EXPECT_EQ(parsed, 0u);
  for (uint32_t flags : {O_RDONLY, O_WRONLY | O_APPEND, O_RDWR | O_EXCL | O_NOFOLLOW | O_DIRECTORY,
                         O_RDWR | O_TMPFILE, O_WRONLY | O_SYNC | O_NONBLOCK}) {
    ASSERT_TRUE(parse_open_flags(format_open_flags(flags), parsed)) << flags;
    EXPECT_EQ(parsed, flags) << format_open_flags(flags);
  }
  EXPECT_FALSE(parse_open_flags("O_RDWR|O_BOGUS", parsed));
  EXPECT_FALSE(parse_open_flags("O_RDWR||O_CREAT", parsed));
}

TEST(SyscallFormatTest, Capabilities) {
  Arena arena;
  EXPECT_EQ(format_capabilities(0, arena), "");
  EXPECT_EQ(format_capabilities(1, arena), "CAP_CHOWN");
  EXPECT_EQ(format_capabilities((uint64_t{1} << 21) | (uint64_t{1} << 16), arena),
            "CAP_SYS_MODULE CAP_SYS_ADMIN");
  EXPECT_EQ(format_capabilities(uint64_t{1} << 40, arena), "CAP_CHECKPOINT_RESTORE");
  EXPECT_EQ(format_capabilities(uint64_t{1} << 63, arena), "") << "unknown bits are skipped";
  uint64_t caps = 0;
  ASSERT_TRUE(parse_capabilities("CAP_SYS_ADMIN cap_net_raw,sys_module", caps));
  EXPECT_EQ(caps, (uint64_t{1} << 21) | (uint64_t{1} << 13) | (uint64_t{1} << 16));
  ASSERT_TRUE(parse_capabilities("", caps));
  EXPECT_EQ(caps, 0u);
  EXPECT_FALSE(parse_capabilities("CAP_FLY", caps));
}

TEST(SyscallFormatTest, Names) {
  EXPECT_EQ(ptrace_request_name(16), "PTRACE_ATTACH");
  EXPECT_EQ(ptrace_request_name(0x4206), "PTRACE_SEIZE");
  EXPECT_EQ(ptrace_request_name(0), "PTRACE_TRACEME");
  EXPECT_EQ(ptrace_request_name(-5), "");
  EXPECT_EQ(socket_family_name(17), "AF_PACKET");
  EXPECT_EQ(socket_family_name(1), "AF_UNIX");
  EXPECT_EQ(socket_family_name(1000), "");
  EXPECT_EQ(fd_type_name(FdType::kIoUring), "io_uring");
  EXPECT_EQ(fd_type_char(FdType::kPidfd), 'P');
  FdType t{};
  EXPECT_TRUE(parse_fd_type("eventpoll", t));
  EXPECT_EQ(t, FdType::kEventpoll);
  EXPECT_FALSE(parse_fd_type("<NA>", t));
  EXPECT_EQ(l4proto_name(L4Proto::kIcmp), "icmp");
  EXPECT_EQ(l4proto_name(L4Proto::kUnknown), "<NA>");
}

}  // namespace
}  // namespace vigil::fields
