// The JSON-lines event form that `vigilctl test` reads (docs/syscall-events.md).

#include <fcntl.h>

#include <string>

#include <gtest/gtest.h>

#include "common/fields/syscall_event.h"

namespace vigil::fields {
namespace {

class SyscallEventJsonTest : public ::testing::Test {
 protected:
  const SyscallEvent& decode(std::string_view json) {
    auto r = decode_syscall_event_json(json, store_);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error()) << "\n in: " << json;
    static const SyscallEvent kEmpty;
    return r.ok() ? **r : kEmpty;
  }
  std::string error(std::string_view json) {
    auto r = decode_syscall_event_json(json, store_);
    EXPECT_FALSE(r.ok()) << json;
    return r.ok() ? std::string() : r.error();
  }

  SyscallEventStore store_;
};

TEST_F(SyscallEventJsonTest, DecodesAFullEvent) {
  const SyscallEvent& ev = decode(R"({
    "evt": {"type": "openat", "ts": 1700000000123456789, "num": 7, "cpu": 2, "res": 3,
            "hostname": "node-1", "open_created": true,
            "args": {"fd": 3, "name": "/etc/shadow", "flags": "O_RDWR|O_CREAT", "mode": 420}},
    "proc": {"pid": 300, "tid": 301, "vpid": 7, "sid": 1, "vpgid": 7, "name": "cat",
             "exe": "cat", "exepath": "/usr/bin/cat", "args": ["/etc/shadow", "-n"],
             "env": {"HOME": "/root"}, "cwd": "/root", "tty": 34816, "loginuid": 4294967295,
             "start_ts": 1700000000000000000, "exe_upper_layer": true,
             "cap_effective": "CAP_SYS_ADMIN CAP_CHOWN", "cap_permitted": 8192,
             "container_id": "0123456789ab",
             "fds": [{"num": 0, "type": "ipv4"}, {"num": 3, "type": "file"}],
             "parent": {"pid": 200, "name": "bash", "exepath": "/bin/bash", "args": ["-i"],
                        "parent": {"pid": 100, "cmdline": "containerd-shim -namespace k8s.io"}}},
    "user": {"uid": 0, "name": "root", "homedir": "/root", "shell": "/bin/bash"},
    "group": {"gid": 0, "name": "root"},
    "fd": {"num": 3, "type": "file", "name": "/etc/shadow", "nameraw": "../etc/shadow",
           "ino": 12, "dev": 2049},
    "container": {"id": "0123456789ab", "name": "web", "image": "nginx:1.25",
                  "privileged": true, "start_ts": 1600000000000000000},
    "k8s": {"pod_name": "web-1", "pod_uid": "u-1", "ns_name": "prod", "pod_ip": "10.1.2.3",
            "labels": {"app": "web", "tier": "front"}}
  })");

  EXPECT_EQ(ev.type, SyscallType::kOpenat);
  EXPECT_EQ(ev.ts, 1700000000123456789ull);
  EXPECT_EQ(ev.num, 7u);
  EXPECT_EQ(ev.cpu, 2);
  EXPECT_EQ(ev.res, 3);
  EXPECT_EQ(ev.hostname, "node-1");
  EXPECT_EQ(ev.flags & kEvtOpenCreated, kEvtOpenCreated);

  ASSERT_EQ(ev.nargs, 4);
  EXPECT_EQ(ev.args[0].name, "fd");  // JSON order is kept: evt.arg[N] depends on it
  EXPECT_EQ(ev.args[0].str, "3");
  EXPECT_EQ(ev.args[0].num, 3);
  const SyscallArg* flags = ev.arg("flags");
  ASSERT_NE(flags, nullptr);
  EXPECT_EQ(flags->str, "O_RDWR|O_CREAT");
  EXPECT_TRUE(flags->has_num);
  EXPECT_EQ(flags->num, O_RDWR | O_CREAT);
  EXPECT_EQ(ev.arg("mode")->num, 420);
  EXPECT_FALSE(ev.arg("name")->has_num);

  ASSERT_NE(ev.proc, nullptr);
  const ProcessInfo& p = *ev.proc;
  EXPECT_EQ(p.pid, 300);
  EXPECT_EQ(p.tid, 301);
  EXPECT_EQ(p.vpid, 7);
  EXPECT_EQ(p.ppid, 200) << "defaults to the parent's pid";
  EXPECT_EQ(p.name, "cat");
  EXPECT_EQ(p.args, std::string_view("/etc/shadow\0-n", 14));
  EXPECT_EQ(p.env, "HOME=/root");
  EXPECT_EQ(p.tty, 34816u);
  EXPECT_EQ(p.loginuid, kNoLoginUid) << "(uid_t)-1 means no login uid";
  EXPECT_EQ(p.uid, 0u);
  EXPECT_EQ(p.user_name, "root");
  EXPECT_EQ(p.user_shell, "/bin/bash");
  EXPECT_EQ(p.group_name, "root");
  EXPECT_EQ(p.cap_effective, (uint64_t{1} << 21) | 1u);
  EXPECT_EQ(p.cap_permitted, 8192u);
  EXPECT_TRUE(p.exe_upper_layer);
  EXPECT_EQ(p.container_id, "0123456789ab");
  ASSERT_EQ(p.fds.size(), 2u);
  EXPECT_EQ(p.fds[1].num, 3);
  EXPECT_EQ(p.fds[1].type, FdType::kFile);

  ASSERT_NE(p.parent, nullptr);
  EXPECT_EQ(p.parent->name, "bash");
  EXPECT_EQ(p.parent->tid, 200) << "tid defaults to pid";
  ASSERT_NE(p.parent->parent, nullptr);
  const ProcessInfo& shim = *p.parent->parent;
  EXPECT_EQ(shim.name, "containerd-shim") << "taken from cmdline";
  EXPECT_EQ(shim.exe, "containerd-shim");
  EXPECT_EQ(shim.args, std::string_view("-namespace\0k8s.io", 17));
  EXPECT_EQ(shim.parent, nullptr);

  ASSERT_NE(ev.fd, nullptr);
  EXPECT_EQ(ev.fd->num, 3);
  EXPECT_EQ(ev.fd->type, FdType::kFile);
  EXPECT_EQ(ev.fd->nameraw, "../etc/shadow");
  EXPECT_EQ(ev.fd->ino, 12u);

  ASSERT_NE(ev.container, nullptr);
  EXPECT_EQ(ev.container->image_repository, "nginx") << "derived from image";
  EXPECT_EQ(ev.container->image_tag, "1.25");
  EXPECT_EQ(ev.container->privileged, kTriTrue);
  EXPECT_EQ(ev.container->host_pid, kTriUnknown);

  ASSERT_NE(ev.k8s, nullptr);
  EXPECT_EQ(ev.k8s->ns_name, "prod");
  ASSERT_EQ(ev.k8s->labels.size(), 2u);
  EXPECT_EQ(ev.k8s->labels[1].key, "tier");
  EXPECT_EQ(ev.k8s->pod_ip.family, 4);
}

TEST_F(SyscallEventJsonTest, MinimalEvent) {
  const SyscallEvent& ev = decode(R"({"evt":{"type":"execve"}})");
  EXPECT_EQ(ev.type, SyscallType::kExecve);
  EXPECT_EQ(ev.num, 1u) << "never 0: Falco's never_true macro is evt.num=0";
  EXPECT_EQ(ev.proc, nullptr);
  EXPECT_EQ(ev.fd, nullptr);
  EXPECT_EQ(ev.container, nullptr);
  EXPECT_EQ(ev.k8s, nullptr);
  EXPECT_EQ(ev.nargs, 0);
}

TEST_F(SyscallEventJsonTest, TopLevelUserCreatesTheProcess) {
  const SyscallEvent& ev = decode(R"({"evt":{"type":"setuid"},"user":{"uid":1000}})");
  ASSERT_NE(ev.proc, nullptr);
  EXPECT_EQ(ev.proc->uid, 1000u);
}

TEST_F(SyscallEventJsonTest, ResultAsErrnoName) {
  EXPECT_EQ(decode(R"({"evt":{"type":"openat","res":"ENOENT"}})").res, -ENOENT);
  EXPECT_EQ(decode(R"({"evt":{"type":"connect","res":"EINPROGRESS"}})").res, -EINPROGRESS);
  EXPECT_EQ(decode(R"({"evt":{"type":"openat","res":"SUCCESS"}})").res, 0);
  EXPECT_EQ(decode(R"({"evt":{"type":"openat","res":-13}})").res, -13);
  EXPECT_NE(error(R"({"evt":{"type":"openat","res":"EWHATEVER"}})").find("errno name"),
            std::string::npos);
}

TEST_F(SyscallEventJsonTest, NumericArgumentsAreFormatted) {
  const std::string json = R"({"evt":{"type":"openat","args":{"flags":)" +
                           std::to_string(O_WRONLY | O_CREAT | O_TRUNC) + "}}}";
  EXPECT_EQ(decode(json).arg("flags")->str, "O_TRUNC|O_CREAT|O_WRONLY");
  EXPECT_EQ(decode(R"({"evt":{"type":"ptrace","args":{"request":16}}})").arg("request")->str,
            "PTRACE_ATTACH");
  EXPECT_EQ(decode(R"({"evt":{"type":"socket","args":{"domain":17}}})").arg("domain")->str,
            "AF_PACKET");
  EXPECT_EQ(decode(R"({"evt":{"type":"socket","args":{"type":1}}})").arg("type")->str, "1");
  EXPECT_EQ(decode(R"({"evt":{"type":"execve","args":{"x":true}}})").arg("x")->str, "true");
  // Unparseable flag strings are kept as text, without a raw value.
  const SyscallEvent& ev = decode(R"({"evt":{"type":"openat","args":{"flags":"O_WEIRD"}}})");
  EXPECT_EQ(ev.arg("flags")->str, "O_WEIRD");
  EXPECT_FALSE(ev.arg("flags")->has_num);
}

TEST_F(SyscallEventJsonTest, SocketDefaults) {
  const SyscallEvent& ev = decode(R"({"evt":{"type":"connect","res":0},
      "fd":{"num":5,"cip":"10.0.0.5","cport":40000,"sip":"1.1.1.1","sport":53,
            "l4proto":"udp"}})");
  ASSERT_NE(ev.fd, nullptr);
  EXPECT_EQ(ev.fd->type, FdType::kIpv4);
  EXPECT_EQ(ev.fd->role, SocketRole::kClient);
  EXPECT_EQ(ev.fd->l4proto, L4Proto::kUdp);
  EXPECT_EQ(ev.fd->sport, 53);

  const SyscallEvent& listen =
      decode(R"({"evt":{"type":"listen"},"fd":{"num":4,"sip":"::","sport":80}})");
  EXPECT_EQ(listen.fd->type, FdType::kIpv6);
  EXPECT_EQ(listen.fd->role, SocketRole::kListening);

  const SyscallEvent& server = decode(
      R"({"evt":{"type":"accept4","res":6},"fd":{"role":"server","cip":"10.0.0.9","sip":"10.0.0.1"}})");
  EXPECT_EQ(server.fd->role, SocketRole::kServer);
  EXPECT_EQ(server.fd->num, 6) << "a created fd defaults to the return value";
}

TEST_F(SyscallEventJsonTest, FailedOpenDefaults) {
  const SyscallEvent& ev =
      decode(R"({"evt":{"type":"openat","res":"EACCES"},"fd":{"name":"/etc/shadow"}})");
  EXPECT_EQ(ev.fd->num, -1);
  EXPECT_EQ(ev.fd->type, FdType::kFile);
  EXPECT_EQ(ev.fd->nameraw, "/etc/shadow");
}

TEST_F(SyscallEventJsonTest, ContainerImageParts) {
  const SyscallEvent& ev = decode(
      R"({"evt":{"type":"execve"},"container":{"full_id":"0123456789abcdef0123",
          "image":"registry.local:5000/team/app:2.0@sha256:beef"}})");
  EXPECT_EQ(ev.container->id, "0123456789ab");
  EXPECT_EQ(ev.container->image_repository, "registry.local:5000/team/app");
  EXPECT_EQ(ev.container->image_tag, "2.0");
  EXPECT_EQ(ev.container->image_digest, "sha256:beef");
  const SyscallEvent& untagged =
      decode(R"({"evt":{"type":"execve"},"container":{"id":"abc","image":"localhost:5000/app"}})");
  EXPECT_EQ(untagged.container->image_repository, "localhost:5000/app");
  EXPECT_EQ(untagged.container->image_tag, "");
}

TEST_F(SyscallEventJsonTest, StoreIsReusedAcrossEvents) {
  decode(R"({"evt":{"type":"openat"},"proc":{"pid":1,"name":"a","parent":{"pid":2}},
            "k8s":{"labels":{"a":"b"}}})");
  const SyscallEvent& ev = decode(R"({"evt":{"type":"read"},"proc":{"pid":3}})");
  EXPECT_EQ(ev.type, SyscallType::kRead);
  EXPECT_EQ(ev.num, 2u) << "events are numbered in order";
  ASSERT_NE(ev.proc, nullptr);
  EXPECT_EQ(ev.proc->pid, 3);
  EXPECT_EQ(ev.proc->name, "");
  EXPECT_EQ(ev.proc->parent, nullptr);
  EXPECT_EQ(ev.k8s, nullptr);
}

TEST_F(SyscallEventJsonTest, AncestorDepthIsBounded) {
  auto chain = [](int parents) {
    std::string json = R"({"evt":{"type":"execve"},"proc":{"pid":1)";
    for (int i = 0; i < parents; ++i) {
      json += R"(,"parent":{"pid":)" + std::to_string(i + 2);
    }
    json += std::string(static_cast<size_t>(parents), '}');
    return json + "}}";
  };
  const SyscallEvent& ev = decode(chain(kMaxAncestorDepth));
  int depth = 0;
  for (const ProcessInfo* p = ev.proc->parent; p != nullptr; p = p->parent) {
    ++depth;
  }
  EXPECT_EQ(depth, kMaxAncestorDepth);
  EXPECT_NE(error(chain(kMaxAncestorDepth + 1)).find("ancestor chain deeper than 32"),
            std::string::npos);
  EXPECT_NE(error(chain(500)).find("nested deeper"), std::string::npos);
}

TEST_F(SyscallEventJsonTest, HugeNestingIsRejectedWithoutRecursion) {
  std::string deep(100000, '[');
  EXPECT_NE(error(deep).find("nested deeper"), std::string::npos);
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) {
    deep_objects += R"({"a":)";
  }
  EXPECT_NE(error(deep_objects).find("nested deeper"), std::string::npos);
}

TEST_F(SyscallEventJsonTest, MalformedJson) {
  EXPECT_NE(error("").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error("{").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error(R"({"evt":{"type":"openat"}} trailing)").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error("{\"evt\":{\"type\":\"open\xff\"}}").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error(R"({"evt":{"type":"openat",}})").find("invalid JSON"), std::string::npos);
  EXPECT_EQ(error("[1,2]"), "expected a JSON object, got array");
  EXPECT_EQ(error("null"), "expected a JSON object, got null");
  // Brackets inside strings do not count as nesting.
  decode(
      R"({"evt":{"type":"openat","args":{"name":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}}})");
}

TEST_F(SyscallEventJsonTest, OversizeInput) {
  std::string big = R"({"evt":{"type":"openat","hostname":")" + std::string(2 << 20, 'x') + "\"}}";
  EXPECT_NE(error(big).find("more than the"), std::string::npos);
}

TEST_F(SyscallEventJsonTest, ClearErrors) {
  EXPECT_EQ(error(R"({})"), R"(evt: missing (every event needs at least {"evt":{"type":...}}))");
  EXPECT_EQ(error(R"({"evt":{}})"), "evt.type: missing");
  EXPECT_EQ(error(R"({"evt":{"type":"opn"}})"), "evt.type: unknown syscall 'opn'");
  EXPECT_EQ(error(R"({"evt":{"type":5}})"), "evt.type: expected a syscall name, got integer");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"prco":{}})"),
            "prco: unknown key (expected evt, proc, user, group, fd, container, k8s)");
  EXPECT_EQ(error(R"({"evt":{"type":"openat","tss":1}})"), "evt.tss: unknown key");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"proc":{"parent":{"tty":"x"}}})"),
            "proc.parent.tty: expected an integer, got string");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"proc":{"tty":-1}})"),
            "proc.tty: integer -1 out of range");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"proc":{"pid":1.5}})"),
            "proc.pid: expected an integer, got number");
  EXPECT_EQ(error(R"({"evt":{"type":"openat","ts":-1}})"),
            "evt.ts: expected a non-negative integer, got -1");
  EXPECT_EQ(error(R"({"evt":{"type":"openat","cpu":70000}})"),
            "evt.cpu: integer 70000 out of range");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"proc":{"args":["a",1]}})"),
            "proc.args[1]: expected a string, got integer");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"proc":{"cap_effective":"CAP_FLY"}})"),
            "proc.cap_effective: unknown capability in 'CAP_FLY'");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"proc":{"exe_writable":"yes"}})"),
            "proc.exe_writable: expected a boolean, got string");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"proc":{"parent":{"fds":[]}}})"),
            "proc.parent.fds: only the event's process (proc) can list fds");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"fd":{"sip":"10.0.0.300"}})"),
            "fd.sip: invalid IP address '10.0.0.300'");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"fd":{"type":"socket"}})"),
            "fd.type: unknown fd type 'socket' (file, directory, ipv4, ipv6, unix, pipe, memfd, "
            "...)");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"fd":{"role":"peer"}})"),
            "fd.role: unknown value 'peer' (expected client, server, listening or none)");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"fd":{"sport":65536}})"),
            "fd.sport: integer 65536 out of range");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"container":{"name":"x"}})"),
            "container.id: missing (omit \"container\" for host processes)");
  EXPECT_EQ(error(R"({"evt":{"type":"openat"},"k8s":{"labels":{"a":1}}})"),
            "k8s.labels.a: expected a string, got integer");
  EXPECT_EQ(error(R"({"evt":{"type":"openat","args":{"a":null}}})"),
            "evt.args.a: expected a string, integer or boolean, got null");
  EXPECT_EQ(error(R"({"evt":{"type":"openat","args":[1]}})"),
            "evt.args: expected an object of argument names to values, got array");
  EXPECT_EQ(error(R"({"evt":{"type":"openat","num":18446744073709551616}})"),
            "evt.num: expected a non-negative integer, got number");
}

TEST_F(SyscallEventJsonTest, TooManyArguments) {
  std::string json = R"({"evt":{"type":"openat","args":{)";
  for (size_t i = 0; i <= SyscallEvent::kMaxArgs; ++i) {
    json += (i ? "," : "") + std::string("\"a") + std::to_string(i) + "\":" + std::to_string(i);
  }
  json += "}}}";
  EXPECT_EQ(error(json), "evt.args.a12: too many arguments (at most 12)");
}

TEST_F(SyscallEventJsonTest, FailedDecodeLeavesAnEmptyStore) {
  error(R"({"evt":{"type":"openat"},"proc":{"pid":1,"tty":"x"}})");
  EXPECT_EQ(store_.event().proc, nullptr);
  const SyscallEvent& ev = decode(R"({"evt":{"type":"openat"},"proc":{"pid":2}})");
  EXPECT_EQ(ev.proc->pid, 2);
}

}  // namespace
}  // namespace vigil::fields
