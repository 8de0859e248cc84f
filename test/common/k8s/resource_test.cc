#include "common/k8s/resource.h"

#include <gtest/gtest.h>

#include "common/k8s/client.h"
#include "common/k8s/time_format.h"

namespace vigil::k8s {
namespace {

TEST(K8sResourceTest, Paths) {
  EXPECT_EQ(resource_path(configmaps(), "ns", "a"), "/api/v1/namespaces/ns/configmaps/a");
  EXPECT_EQ(resource_path(configmaps(), "", ""), "/api/v1/configmaps");
  EXPECT_EQ(resource_path(configmaps(), "ns"), "/api/v1/namespaces/ns/configmaps");
  EXPECT_EQ(resource_path(leases(), "kube-system", "vigil"),
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/vigil");
  EXPECT_EQ(resource_path(nodes(), "ignored", "n1"), "/api/v1/nodes/n1");
  ResourceRef rules{"vigil.dev", "v1alpha1", "securityrules", true};
  EXPECT_EQ(resource_path(rules, "ns", "r", "status"),
            "/apis/vigil.dev/v1alpha1/namespaces/ns/securityrules/r/status");
  EXPECT_EQ(rules.display_name(), "securityrules.vigil.dev");
  EXPECT_EQ(rules.api_version(), "vigil.dev/v1alpha1");
  EXPECT_EQ(configmaps().api_version(), "v1");
}

TEST(K8sResourceTest, Queries) {
  EXPECT_EQ(query_escape("app=vigil,tier!=db"), "app%3Dvigil%2Ctier%21%3Ddb");
  EXPECT_EQ(query_escape("a-b_c.d~"), "a-b_c.d~");
  std::string path = "/api/v1/pods";
  append_query(path, "labelSelector", "a=b");
  append_query(path, "fieldSelector", "");
  append_query(path, "limit", "5");
  EXPECT_EQ(path, "/api/v1/pods?labelSelector=a%3Db&limit=5");
}

TEST(K8sResourceTest, Keys) {
  EXPECT_EQ(object_key("ns", "a"), "ns/a");
  EXPECT_EQ(object_key("", "node1"), "node1");
}

TEST(K8sResourceTest, PatchContentTypes) {
  EXPECT_EQ(patch_content_type(PatchType::kMerge), "application/merge-patch+json");
  EXPECT_EQ(patch_content_type(PatchType::kJson), "application/json-patch+json");
  EXPECT_EQ(patch_content_type(PatchType::kStrategicMerge),
            "application/strategic-merge-patch+json");
  EXPECT_EQ(patch_content_type(PatchType::kApply), "application/apply-patch+yaml");
}

TEST(K8sTimeFormatTest, MicroTimeHasSixFractionalDigits) {
  using namespace std::chrono;
  const system_clock::time_point t{seconds(1767225600) + microseconds(123)};  // 2026-01-01
  EXPECT_EQ(format_micro_time(t), "2026-01-01T00:00:00.000123Z");
  EXPECT_EQ(format_micro_time(system_clock::time_point{seconds(1767225600)}),
            "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_time(t), "2026-01-01T00:00:00Z");
}

}  // namespace
}  // namespace vigil::k8s
