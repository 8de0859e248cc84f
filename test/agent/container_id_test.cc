// Container identity from cgroup paths (every runtime's naming), cgroup2 mount detection, and
// the resolver against a real cgroup v2 leaf created for the test.

#include "agent/container_id.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace vigil::agent {
namespace {

const std::string kId = "3ad7b26ded6d8e7b2f1c4a5b6c7d8e9f00112233445566778899aabbccddeeff";
const std::string kShort = "3ad7b26ded6d";

struct Case {
  std::string path;
  ContainerRuntime runtime;
};

TEST(ParseContainerIdTest, RecognisesEveryRuntime) {
  const Case cases[] = {
      {"/docker/" + kId, ContainerRuntime::kDocker},
      {"/system.slice/docker-" + kId + ".scope", ContainerRuntime::kDocker},
      {"/system.slice/containerd.service/kubepods-burstable-pod1234.slice:cri-containerd:" + kId,
       ContainerRuntime::kContainerd},
      {"/kubepods.slice/kubepods-burstable.slice/"
       "kubepods-burstable-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice/cri-containerd-" +
           kId + ".scope",
       ContainerRuntime::kContainerd},
      {"/kubepods/besteffort/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789/" + kId,
       ContainerRuntime::kContainerd},
      {"/system.slice/nerdctl-" + kId + ".scope", ContainerRuntime::kContainerd},
      {"/kubepods.slice/kubepods-pod1.slice/crio-" + kId + ".scope", ContainerRuntime::kCrio},
      {"/kubepods/pod1/crio-" + kId, ContainerRuntime::kCrio},
      {"/machine.slice/libpod-" + kId + ".scope", ContainerRuntime::kPodman},
      {"/machine.slice/libpod-" + kId + ".scope/container", ContainerRuntime::kPodman},
      {"/libpod_parent/libpod-" + kId, ContainerRuntime::kPodman},
      {"/docker/" + kId + "/init.scope", ContainerRuntime::kDocker},  // systemd in a container
  };
  for (const Case& c : cases) {
    const ContainerIdentity id = parse_container_id(c.path);
    EXPECT_EQ(id.runtime, c.runtime) << c.path;
    EXPECT_EQ(id.full_id, kId) << c.path;
    EXPECT_EQ(id.short_id, kShort) << c.path;
  }
}

TEST(ParseContainerIdTest, HostAndMonitorsAreNotContainers) {
  const std::string host[] = {
      "/",
      "",
      "/user.slice/user-1000.slice/session-2.scope",
      "/system.slice/docker.service",
      "/system.slice/containerd.service",
      "/kubepods.slice/kubepods-pod1.slice/crio-conmon-" + kId + ".scope",
      "/machine.slice/libpod-conmon-" + kId + ".scope",
      "/docker/" + kId.substr(0, 63),                                              // too short
      "/docker/" + kId + "0",                                                      // too long
      "/docker/3AD7B26DED6D8E7B2F1C4A5B6C7D8E9F00112233445566778899AABBCCDDEEFF",  // uppercase
      "/default/" + kId,  // a bare id outside docker/kubepods
      "/system.slice/foo-" + kId + ".scope",
  };
  for (const std::string& p : host) {
    EXPECT_FALSE(parse_container_id(p).found()) << p;
  }
}

TEST(ParseContainerIdTest, PodUidFromKubepodsPaths) {
  EXPECT_EQ(parse_container_id("/kubepods/besteffort/pod0a1b-2c3d/" + kId).pod_uid, "0a1b-2c3d");
  EXPECT_EQ(parse_container_id("/kubepods.slice/kubepods-burstable.slice/"
                               "kubepods-burstable-pod0a1b_2c3d.slice/cri-containerd-" +
                               kId + ".scope")
                .pod_uid,
            "0a1b_2c3d");
  EXPECT_EQ(parse_container_id("/docker/" + kId).pod_uid, "");

  ContainerRecord rec(
      parse_container_id("/kubepods.slice/kubepods-burstable.slice/"
                         "kubepods-burstable-pod0a1b_2c3d.slice/cri-containerd-" +
                         kId + ".scope"));
  ASSERT_NE(rec.k8s(), nullptr);
  EXPECT_EQ(rec.k8s()->pod_uid, "0a1b-2c3d");  // systemd's '_' back to '-'
  EXPECT_EQ(rec.info().id, kShort);
  EXPECT_EQ(rec.info().full_id, kId);
  EXPECT_EQ(rec.info().type, "containerd");
}

TEST(ContainerRecordTest, AppliesMetadataByCopy) {
  ContainerRecord rec(parse_container_id("/docker/" + kId));
  EXPECT_EQ(rec.k8s(), nullptr);
  {
    std::string name = "web", image = "nginx:1.25", pod = "web-7d9c", ns = "prod";
    std::string key = "app", value = "web";
    fields::K8sLabel label{key, value};
    fields::ContainerInfo c;
    c.name = name;
    c.image = image;
    c.privileged = fields::kTriTrue;
    fields::K8sInfo k;
    k.pod_name = pod;
    k.ns_name = ns;
    k.labels = std::span<const fields::K8sLabel>(&label, 1);
    rec.apply_metadata(c, k);
    name.assign("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");  // the record must not point here
    image.clear();
    key.clear();
  }
  EXPECT_TRUE(rec.has_metadata());
  EXPECT_EQ(rec.info().name, "web");
  EXPECT_EQ(rec.info().image, "nginx:1.25");
  EXPECT_EQ(rec.info().id, kShort);
  EXPECT_EQ(rec.info().type, "docker");
  EXPECT_EQ(rec.info().privileged, fields::kTriTrue);
  ASSERT_NE(rec.k8s(), nullptr);
  EXPECT_EQ(rec.k8s()->pod_name, "web-7d9c");
  ASSERT_EQ(rec.k8s()->labels.size(), 1u);
  EXPECT_EQ(rec.k8s()->labels[0].key, "app");
  EXPECT_EQ(rec.k8s()->labels[0].value, "web");
}

TEST(CgroupMountTest, FindsCgroup2InMountinfo) {
  const std::string hybrid =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(CgroupResolver::find_cgroup2_mount(hybrid), "/sys/fs/cgroup/unified");
  const std::string v2 =
      "25 30 0:23 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
      "35 25 0:30 / /sys/fs/cgroup rw,nosuid,nodev shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";
  EXPECT_EQ(CgroupResolver::find_cgroup2_mount(v2), "/sys/fs/cgroup");
  EXPECT_EQ(
      CgroupResolver::find_cgroup2_mount("40 31 0:38 / /mnt/my\\040cgroup rw - cgroup2 none rw\n"),
      "/mnt/my cgroup");
  EXPECT_EQ(CgroupResolver::find_cgroup2_mount("31 23 0:28 / /sys/fs/cgroup rw - tmpfs t rw\n"),
            "");
  EXPECT_TRUE(CgroupResolver::has_cgroup1_mounts(hybrid));
  EXPECT_FALSE(CgroupResolver::has_cgroup1_mounts(v2));
}

// A cgroup tree stand-in: any directory tree maps inode -> path the same way.
TEST(CgroupResolverTest, ResolvesIdsFromAScannedTree) {
  char tmpl[] = "/tmp/vigil-cgroup-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  const std::string leaf = root + "/system.slice/docker-" + kId + ".scope";
  std::filesystem::create_directories(leaf);
  std::filesystem::create_directories(root + "/user.slice");
  struct stat st {};
  ASSERT_EQ(stat(leaf.c_str(), &st), 0);
  struct stat host {};
  ASSERT_EQ(stat((root + "/user.slice").c_str(), &host), 0);

  CgroupResolverOptions opts;
  opts.mount_point = root;
  opts.proc_root = root + "/no-proc";
  CgroupResolver resolver(opts);
  std::string path;
  ASSERT_TRUE(resolver.path_of(st.st_ino, 0, path));
  EXPECT_EQ(path, "/system.slice/docker-" + kId + ".scope");

  auto rec = resolver.container_for(st.st_ino, 0);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->info().id, kShort);
  EXPECT_EQ(rec->info().type, "docker");
  EXPECT_EQ(resolver.container_for(st.st_ino, 0), rec);  // cached, shared
  EXPECT_EQ(resolver.container_for(host.st_ino, 0), nullptr);
  EXPECT_EQ(resolver.stats().scans, 1u);

  // An id nothing knows about: one rescan (rate-limited), then the host.
  EXPECT_EQ(resolver.container_for(123456789, 0), nullptr);
  EXPECT_EQ(resolver.container_for(123456789, 0), nullptr);
  EXPECT_LE(resolver.stats().scans, 2u);
  EXPECT_GE(resolver.stats().unresolved, 2u);

  // gc forgets ids whose directory is gone and containers nobody holds.
  std::filesystem::remove_all(root + "/system.slice");
  rec.reset();
  resolver.gc();
  EXPECT_EQ(resolver.cached(), 1u);  // the host cgroup
  std::filesystem::remove_all(root);
}

TEST(CgroupResolverTest, FallsBackToProcCgroup) {
  char tmpl[] = "/tmp/vigil-proc-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string proc = tmpl;
  std::filesystem::create_directories(proc + "/4242");
  {
    FILE* f = fopen((proc + "/4242/cgroup").c_str(), "w");
    ASSERT_NE(f, nullptr);
    fprintf(f, "12:pids:/docker/%s\n0::/system.slice/crio-%s.scope\n", kId.c_str(), kId.c_str());
    fclose(f);
  }
  CgroupResolverOptions opts;
  opts.mount_point = proc + "/empty-mount";  // nothing to scan
  opts.proc_root = proc;
  CgroupResolver resolver(opts);
  auto rec = resolver.container_for(987654, 4242);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->info().type, "cri-o");
  EXPECT_EQ(resolver.stats().proc_fallbacks, 1u);
  std::filesystem::remove_all(proc);
}

TEST(CgroupResolverTest, ContainerFromV1Lines) {
  char tmpl[] = "/tmp/vigil-proc-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string proc = tmpl;
  std::filesystem::create_directories(proc + "/4242");
  {
    FILE* f = fopen((proc + "/4242/cgroup").c_str(), "w");
    ASSERT_NE(f, nullptr);
    fprintf(f, "12:pids:/docker/%s\n4:memory:/docker/%s\n0::/\n", kId.c_str(), kId.c_str());
    fclose(f);
  }
  CgroupResolverOptions opts;
  opts.mount_point = proc + "/empty-mount";
  opts.proc_root = proc;
  opts.v1_fallback = true;
  CgroupResolver resolver(opts);
  EXPECT_TRUE(resolver.v1_fallback());
  auto rec = resolver.container_from_proc(4242);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->info().type, "docker");
  EXPECT_EQ(rec->full_id(), kId);
  EXPECT_EQ(resolver.container_from_proc(4243), nullptr);  // no such process
  std::filesystem::remove_all(proc);
}

// The real cgroup v2 hierarchy: a leaf created under the unified mount resolves by its inode.
TEST(CgroupResolverTest, RealCgroupV2Leaf) {
  CgroupResolver resolver;
  if (resolver.mount_point().empty()) {
    GTEST_SKIP() << "no cgroup2 mount";
  }
  const std::string name = "vigil-test-" + std::to_string(getpid());
  const std::string plain = resolver.mount_point() + "/" + name;
  if (mkdir(plain.c_str(), 0755) != 0) {
    GTEST_SKIP() << "cannot create a cgroup under " << resolver.mount_point();
  }
  const std::string container = plain + "/docker-" + kId + ".scope";
  ASSERT_EQ(mkdir(container.c_str(), 0755), 0);
  struct stat st {};
  struct stat cst {};
  ASSERT_EQ(stat(plain.c_str(), &st), 0);
  ASSERT_EQ(stat(container.c_str(), &cst), 0);

  std::string path;
  EXPECT_TRUE(resolver.path_of(st.st_ino, 0, path));
  EXPECT_EQ(path, "/" + name);
  EXPECT_EQ(resolver.container_for(st.st_ino, 0), nullptr);
  auto rec = resolver.container_for(cst.st_ino, 0);
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->info().id, kShort);
  EXPECT_EQ(rec->info().type, "docker");

  // This test process's own cgroup, through the /proc fallback (an id not in any scan).
  std::string own;
  EXPECT_TRUE(resolver.path_of(UINT64_MAX - 1, getpid(), own));
  EXPECT_FALSE(own.empty());

  EXPECT_EQ(rmdir(container.c_str()), 0);
  EXPECT_EQ(rmdir(plain.c_str()), 0);
}

}  // namespace
}  // namespace vigil::agent
