// Pod metadata from the pod watch: pods as kube-apiserver serialises them (containerd, cri-o and
// docker ids; init and ephemeral containers; pods not running yet), restarts and deletions with
// their grace period (on an injected clock), the caps, hostile JSON, image references, a writer
// and a reader racing, and the metadata reaching events through the real EventDecoder.

#include "agent/pod_metadata.h"

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/event_decoder.h"
#include "common/fields/source.h"
#include "test/agent/record_builder.h"

namespace vigil::agent {
namespace {

using k8s::WatchEventType;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

const std::string kWebId = "3f1c2a9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a10";
const std::string kWebPrevId = "77aa2c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a11";
const std::string kInitId = "c0ffee9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a12";
const std::string kDebugId = "deb0ee9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a13";
const std::string kDigest =
    "sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31";

// A Deployment's pod on a containerd node as `kubectl get pod -o json` prints it (managedFields
// left out): the app container restarted once (lastState), an init container that completed, an
// ephemeral debug container, and a sidecar still being created (no containerID yet).
const char* kContainerdPod = R"json({
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "creationTimestamp": "2024-05-01T09:59:50Z",
    "generateName": "web-7d9c8b5f6-",
    "labels": {
      "app.kubernetes.io/name": "web",
      "pod-template-hash": "7d9c8b5f6",
      "tier": "frontend"
    },
    "name": "web-7d9c8b5f6-x2x9q",
    "namespace": "prod",
    "ownerReferences": [
      {
        "apiVersion": "apps/v1",
        "blockOwnerDeletion": true,
        "controller": true,
        "kind": "ReplicaSet",
        "name": "web-7d9c8b5f6",
        "uid": "0b6a3f5e-2d7c-4b1a-9e8f-6c5d4b3a2f10"
      }
    ],
    "resourceVersion": "48211",
    "uid": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
  },
  "spec": {
    "containers": [
      {
        "image": "registry.example.com:5000/shop/web:2.4.1",
        "imagePullPolicy": "IfNotPresent",
        "name": "web",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m"}},
        "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
          {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-7xk2p", "readOnly": true}
        ]
      },
      {
        "image": "envoyproxy/envoy:v1.29.1",
        "imagePullPolicy": "IfNotPresent",
        "name": "proxy",
        "resources": {},
        "securityContext": {"privileged": true}
      }
    ],
    "dnsPolicy": "ClusterFirst",
    "enableServiceLinks": true,
    "ephemeralContainers": [
      {
        "image": "busybox:1.36",
        "imagePullPolicy": "IfNotPresent",
        "name": "debugger-q7k2m",
        "resources": {},
        "stdin": true,
        "targetContainerName": "web",
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "tty": true
      }
    ],
    "initContainers": [
      {
        "command": ["sh", "-c", "until nslookup db; do sleep 1; done"],
        "image": "busybox",
        "imagePullPolicy": "Always",
        "name": "wait-for-db",
        "resources": {}
      }
    ],
    "nodeName": "node-1",
    "preemptionPolicy": "PreemptLowerPriority",
    "priority": 0,
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "serviceAccount": "default",
    "serviceAccountName": "default",
    "terminationGracePeriodSeconds": 30,
    "tolerations": [
      {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300}
    ],
    "volumes": [
      {"name": "kube-api-access-7xk2p", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}
    ]
  },
  "status": {
    "conditions": [
      {"lastProbeTime": null, "lastTransitionTime": "2024-05-01T09:59:58Z", "status": "True", "type": "Initialized"},
      {"lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:05:02Z", "message": "containers with unready status: [proxy]", "reason": "ContainersNotReady", "status": "False", "type": "Ready"},
      {"lastProbeTime": null, "lastTransitionTime": "2024-05-01T09:59:50Z", "status": "True", "type": "PodScheduled"}
    ],
    "containerStatuses": [
      {
        "containerID": "containerd://3f1c2a9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a10",
        "image": "registry.example.com:5000/shop/web:2.4.1",
        "imageID": "registry.example.com:5000/shop/web@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31",
        "lastState": {
          "terminated": {
            "containerID": "containerd://77aa2c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a11",
            "exitCode": 137,
            "finishedAt": "2024-05-01T10:05:00Z",
            "reason": "OOMKilled",
            "startedAt": "2024-05-01T10:00:02Z"
          }
        },
        "name": "web",
        "ready": true,
        "restartCount": 1,
        "started": true,
        "state": {"running": {"startedAt": "2024-05-01T10:05:01Z"}}
      },
      {
        "image": "envoyproxy/envoy:v1.29.1",
        "imageID": "",
        "lastState": {},
        "name": "proxy",
        "ready": false,
        "restartCount": 0,
        "started": false,
        "state": {"waiting": {"reason": "ContainerCreating"}}
      }
    ],
    "ephemeralContainerStatuses": [
      {
        "containerID": "containerd://deb0ee9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a13",
        "image": "docker.io/library/busybox:1.36",
        "imageID": "docker.io/library/busybox@sha256:5eef5ed34e1e1ff0a4ae850395cbf665c4de6b4b83a32a0bc7bcb998e24e7bbb",
        "lastState": {},
        "name": "debugger-q7k2m",
        "ready": false,
        "restartCount": 0,
        "state": {"running": {"startedAt": "2024-05-01T10:10:00Z"}}
      }
    ],
    "hostIP": "10.0.0.11",
    "hostIPs": [{"ip": "10.0.0.11"}],
    "initContainerStatuses": [
      {
        "containerID": "containerd://c0ffee9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a12",
        "image": "docker.io/library/busybox:latest",
        "imageID": "docker.io/library/busybox@sha256:5eef5ed34e1e1ff0a4ae850395cbf665c4de6b4b83a32a0bc7bcb998e24e7bbb",
        "lastState": {},
        "name": "wait-for-db",
        "ready": true,
        "restartCount": 0,
        "started": false,
        "state": {
          "terminated": {
            "containerID": "containerd://c0ffee9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a12",
            "exitCode": 0,
            "finishedAt": "2024-05-01T09:59:57Z",
            "reason": "Completed",
            "startedAt": "2024-05-01T09:59:52Z"
          }
        }
      }
    ],
    "phase": "Running",
    "podIP": "10.244.1.7",
    "podIPs": [{"ip": "10.244.1.7"}],
    "qosClass": "Burstable",
    "startTime": "2024-05-01T09:59:50Z"
  }
})json";

// An OpenShift-style pod on cri-o: the status image is an image id (the pod was created from a
// digest reference), hostNetwork is set.
const char* kCrioPod = R"json({
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "labels": {"app": "node-exporter"},
    "name": "node-exporter-4wq9z",
    "namespace": "monitoring",
    "uid": "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
  },
  "spec": {
    "containers": [
      {"image": "quay.io/prometheus/node-exporter@sha256:4cb2b9019f1757be8482419002cb7afe028fdba35d47958829e4cfeaf6246d80", "name": "node-exporter"}
    ],
    "hostNetwork": true,
    "hostPID": true,
    "nodeName": "node-1"
  },
  "status": {
    "containerStatuses": [
      {
        "containerID": "cri-o://5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b",
        "image": "sha256:ff1c0d6e7a3b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
        "imageID": "quay.io/prometheus/node-exporter@sha256:4cb2b9019f1757be8482419002cb7afe028fdba35d47958829e4cfeaf6246d80",
        "lastState": {},
        "name": "node-exporter",
        "ready": true,
        "restartCount": 0,
        "started": true,
        "state": {"running": {"startedAt": "2024-05-02T08:00:00Z"}}
      }
    ],
    "hostIP": "10.0.0.11",
    "phase": "Running",
    "podIP": "10.0.0.11"
  }
})json";

// Dockershim / cri-dockerd: docker:// ids, imageID as docker-pullable://repo@digest or, for an
// image with no repository digest (built locally), docker://sha256:<image id>.
const char* kDockerPod = R"json({
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "legacy-0", "namespace": "default", "uid": "aa11bb22-cc33-4d44-8e55-ff6677889900"},
  "spec": {
    "containers": [
      {"image": "nginx", "name": "nginx"},
      {"image": "local/tool:dev", "name": "tool"}
    ]
  },
  "status": {
    "containerStatuses": [
      {
        "containerID": "docker://1111111111111111111111111111111111111111111111111111111111111111",
        "image": "nginx:latest",
        "imageID": "docker-pullable://nginx@sha256:32e76d4f34f80e479964a0fbd4c5b4f6967b5322c8d004e9cf0cb81c93510766",
        "name": "nginx",
        "ready": true,
        "restartCount": 0,
        "state": {"running": {"startedAt": "2024-05-03T12:00:00Z"}}
      },
      {
        "containerID": "docker://2222222222222222222222222222222222222222222222222222222222222222",
        "image": "local/tool:dev",
        "imageID": "docker://sha256:9b2a6f0c1d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90",
        "name": "tool",
        "ready": true,
        "restartCount": 0,
        "state": {"running": {"startedAt": "2024-05-03T12:00:01Z"}}
      }
    ],
    "phase": "Running",
    "podIP": "fd00:10:244::7"
  }
})json";

// Just scheduled: containers are being created, no ids and no IP yet.
const char* kPendingPod = R"json({
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"labels": {"app": "batch"}, "name": "job-x7c2p", "namespace": "jobs", "uid": "5e5e5e5e-1111-4222-8333-944444444444"},
  "spec": {"containers": [{"image": "alpine:3.19", "name": "main"}], "nodeName": "node-1"},
  "status": {
    "conditions": [{"lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:00Z", "status": "True", "type": "PodScheduled"}],
    "containerStatuses": [
      {"image": "alpine:3.19", "imageID": "", "lastState": {}, "name": "main", "ready": false,
       "restartCount": 0, "started": false, "state": {"waiting": {"reason": "ContainerCreating"}}}
    ],
    "hostIP": "10.0.0.11",
    "phase": "Pending",
    "qosClass": "BestEffort",
    "startTime": "2024-05-01T10:00:00Z"
  }
})json";

uint64_t epoch_ns(int64_t secs) { return static_cast<uint64_t>(secs) * 1'000'000'000ull; }

const PodContainerInfo* find_container(const PodInfo& pod, const std::string& id) {
  for (const PodContainerInfo& c : pod.containers) {
    if (c.id == id) {
      return &c;
    }
  }
  return nullptr;
}

// A small pod with one container per id, named c0, c1...
std::string small_pod(const std::string& name, const std::string& uid,
                      const std::vector<std::string>& ids, const std::string& ns = "default") {
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", name}}}}},
              {"spec", {{"containers", json::array()}}},
              {"status", {{"containerStatuses", json::array()}, {"podIP", "10.244.0.9"}}}};
  if (!uid.empty()) {
    pod["metadata"]["uid"] = uid;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string cname = "c" + std::to_string(i);
    pod["spec"]["containers"].push_back({{"name", cname}, {"image", "img/" + name + ":v1"}});
    pod["status"]["containerStatuses"].push_back(
        {{"name", cname},
         {"image", "img/" + name + ":v1"},
         {"imageID", ""},
         {"containerID", "containerd://" + ids[i]},
         {"state", {{"running", {{"startedAt", "2024-05-01T10:00:00Z"}}}}}});
  }
  return pod.dump();
}

// The n-th made-up container id.
std::string id_of(size_t n) {
  char buf[65];
  std::snprintf(buf, sizeof(buf), "%064zx", n + 1);
  return buf;
}

// ----- image references ---------------------------------------------------------------------

TEST(PodMetadataImageTest, SplitsReferencesLikeFalco) {
  struct Case {
    std::string image, repository, tag, digest;
  };
  const Case cases[] = {
      {"registry:5000/ns/name:tag@sha256:abc", "registry:5000/ns/name", "tag", "sha256:abc"},
      {"registry:5000/ns/name", "registry:5000/ns/name", "", ""},
      {"registry:5000/name:1.0", "registry:5000/name", "1.0", ""},
      {"nginx", "nginx", "", ""},  // no implied "latest" (Falco's split leaves the tag empty)
      {"nginx:1.25", "nginx", "1.25", ""},
      {"library/nginx:1.25-alpine", "library/nginx", "1.25-alpine", ""},
      {"docker.io/library/nginx:latest", "docker.io/library/nginx", "latest", ""},
      {"docker.io/library/nginx@sha256:abc", "docker.io/library/nginx", "", "sha256:abc"},
      {"quay.io/a/b/c/d:v2@sha512:ff", "quay.io/a/b/c/d", "v2", "sha512:ff"},
      {"localhost:5000/x", "localhost:5000/x", "", ""},
      {"[::1]:5000/x:t", "[::1]:5000/x", "t", ""},
      {"", "", "", ""},
      {":", "", "", ""},
      {"@", "", "", ""},
      {"a:b:c", "a:b", "c", ""},
  };
  for (const Case& c : cases) {
    const ImageReference r = split_image_reference(c.image);
    EXPECT_EQ(r.repository, c.repository) << c.image;
    EXPECT_EQ(r.tag, c.tag) << c.image;
    EXPECT_EQ(r.digest, c.digest) << c.image;
  }
}

// ----- parsing ------------------------------------------------------------------------------

TEST(PodMetadataParseTest, ContainerdPodWithInitEphemeralAndRestartedContainers) {
  Result<PodInfo> pod = parse_pod(kContainerdPod);
  ASSERT_TRUE(pod.ok()) << pod.error();
  EXPECT_EQ(pod->name, "web-7d9c8b5f6-x2x9q");
  EXPECT_EQ(pod->ns, "prod");
  EXPECT_EQ(pod->uid, "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f");
  EXPECT_EQ(pod->key(), pod->uid);
  EXPECT_EQ(pod->ip, "10.244.1.7");
  EXPECT_EQ(fields::format_ip(pod->ip_addr), "10.244.1.7");
  EXPECT_EQ(pod->host_network, fields::kTriFalse);
  EXPECT_EQ(pod->host_pid, fields::kTriFalse);
  ASSERT_EQ(pod->labels.size(), 3u);
  EXPECT_EQ(pod->labels[0], (std::pair<std::string, std::string>{"app.kubernetes.io/name", "web"}));
  EXPECT_EQ(pod->labels[2], (std::pair<std::string, std::string>{"tier", "frontend"}));

  // web (running), web's previous container, the init container, the debugger; not the proxy,
  // which has no id yet.
  ASSERT_EQ(pod->containers.size(), 4u);
  const PodContainerInfo* web = find_container(*pod, kWebId);
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->type, "containerd");
  EXPECT_EQ(web->name, "web");
  EXPECT_EQ(web->image, "registry.example.com:5000/shop/web:2.4.1");
  EXPECT_EQ(web->image_repository, "registry.example.com:5000/shop/web");
  EXPECT_EQ(web->image_tag, "2.4.1");
  EXPECT_EQ(web->image_digest, kDigest);
  EXPECT_EQ(web->image_id, "");
  EXPECT_EQ(web->start_ts, epoch_ns(1714557901));  // 2024-05-01T10:05:01Z
  EXPECT_EQ(web->privileged, fields::kTriFalse);
  EXPECT_FALSE(web->previous);

  const PodContainerInfo* prev = find_container(*pod, kWebPrevId);
  ASSERT_NE(prev, nullptr);
  EXPECT_TRUE(prev->previous);
  EXPECT_EQ(prev->name, "web");
  EXPECT_EQ(prev->image_tag, "2.4.1");
  EXPECT_EQ(prev->start_ts, epoch_ns(1714557602));  // 10:00:02Z

  const PodContainerInfo* init = find_container(*pod, kInitId);
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->name, "wait-for-db");
  EXPECT_EQ(init->image, "docker.io/library/busybox:latest");  // the status's, not the spec's
  EXPECT_EQ(init->image_repository, "docker.io/library/busybox");
  EXPECT_EQ(init->image_tag, "latest");
  EXPECT_EQ(init->start_ts, epoch_ns(1714557592));  // terminated.startedAt 09:59:52Z
  EXPECT_EQ(init->privileged, fields::kTriFalse);

  const PodContainerInfo* dbg = find_container(*pod, kDebugId);
  ASSERT_NE(dbg, nullptr);
  EXPECT_EQ(dbg->name, "debugger-q7k2m");
  EXPECT_EQ(dbg->image_repository, "docker.io/library/busybox");
  EXPECT_EQ(dbg->image_tag, "1.36");
  EXPECT_EQ(dbg->image_digest,
            "sha256:5eef5ed34e1e1ff0a4ae850395cbf665c4de6b4b83a32a0bc7bcb998e24e7bbb");
}

TEST(PodMetadataParseTest, CrioPodWithAnImageIdAsStatusImage) {
  Result<PodInfo> pod = parse_pod(kCrioPod);
  ASSERT_TRUE(pod.ok()) << pod.error();
  ASSERT_EQ(pod->containers.size(), 1u);
  const PodContainerInfo& c = pod->containers[0];
  EXPECT_EQ(c.id, "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b");
  EXPECT_EQ(c.type, "cri-o");
  // The status names an image id: the spec's reference is used.
  EXPECT_EQ(c.image,
            "quay.io/prometheus/node-exporter@sha256:"
            "4cb2b9019f1757be8482419002cb7afe028fdba35d47958829e4cfeaf6246d80");
  EXPECT_EQ(c.image_repository, "quay.io/prometheus/node-exporter");
  EXPECT_EQ(c.image_tag, "");
  EXPECT_EQ(c.image_digest,
            "sha256:4cb2b9019f1757be8482419002cb7afe028fdba35d47958829e4cfeaf6246d80");
  EXPECT_EQ(pod->host_network, fields::kTriTrue);
  EXPECT_EQ(pod->host_pid, fields::kTriTrue);
  EXPECT_EQ(pod->host_ipc, fields::kTriFalse);
}

TEST(PodMetadataParseTest, DockerIdsAndImageIds) {
  Result<PodInfo> pod = parse_pod(kDockerPod);
  ASSERT_TRUE(pod.ok()) << pod.error();
  ASSERT_EQ(pod->containers.size(), 2u);
  const PodContainerInfo& nginx = pod->containers[0];
  EXPECT_EQ(nginx.id, std::string(64, '1'));
  EXPECT_EQ(nginx.type, "docker");
  EXPECT_EQ(nginx.image, "nginx:latest");
  EXPECT_EQ(nginx.image_repository, "nginx");
  EXPECT_EQ(nginx.image_tag, "latest");
  EXPECT_EQ(nginx.image_digest,
            "sha256:32e76d4f34f80e479964a0fbd4c5b4f6967b5322c8d004e9cf0cb81c93510766");
  EXPECT_EQ(nginx.image_id, "");
  const PodContainerInfo& tool = pod->containers[1];
  EXPECT_EQ(tool.type, "docker");
  EXPECT_EQ(tool.image_repository, "local/tool");
  EXPECT_EQ(tool.image_tag, "dev");
  EXPECT_EQ(tool.image_digest, "");  // an image id is not a repository digest
  EXPECT_EQ(tool.image_id, "9b2a6f0c1d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90");
  EXPECT_EQ(fields::format_ip(pod->ip_addr), "fd00:10:244::7");
  EXPECT_EQ(pod->host_network, fields::kTriFalse);
}

TEST(PodMetadataParseTest, PendingPodHasNoContainersYet) {
  Result<PodInfo> pod = parse_pod(kPendingPod);
  ASSERT_TRUE(pod.ok()) << pod.error();
  EXPECT_EQ(pod->name, "job-x7c2p");
  EXPECT_TRUE(pod->containers.empty());
  EXPECT_EQ(pod->ip, "");
  EXPECT_EQ(pod->ip_addr.family, 0);
}

TEST(PodMetadataParseTest, IgnoresIdsCgroupsNeverShow) {
  json pod = json::parse(small_pod("p", "u", {id_of(1)}));
  pod["status"]["containerStatuses"].push_back(
      {{"name", "x"}, {"containerID", "containerd://abc"}});  // too short
  pod["status"]["containerStatuses"].push_back(
      {{"name", "y"}, {"containerID", "containerd://" + std::string(64, 'A')}});  // uppercase
  pod["status"]["containerStatuses"].push_back(
      {{"name", "z"}, {"containerID", std::string(64, 'a')}});  // no scheme
  pod["status"]["containerStatuses"].push_back(
      {{"name", "w"}, {"containerID", "kata://" + std::string(64, 'b')}});  // unknown runtime
  Result<PodInfo> parsed = parse_pod(pod.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->containers.size(), 2u);
  EXPECT_EQ(parsed->containers[1].id, std::string(64, 'b'));
  EXPECT_EQ(parsed->containers[1].type, "");  // the cgroup's type stays
}

TEST(PodMetadataParseTest, RejectsMalformedAndWrongTypedPods) {
  struct Case {
    std::string json;
    std::string error;  // a substring of the message
  };
  const std::string ok = small_pod("p", "u", {id_of(1)});
  auto with = [&](const std::string& pointer, const json& value) {
    json doc = json::parse(ok);
    doc[json::json_pointer(pointer)] = value;
    return doc.dump();
  };
  const Case cases[] = {
      {"", "not JSON"},
      {"{", "not JSON"},
      {"{\"metadata\":{\"name\":\"a\"}} trailing", "not JSON"},
      {"\"pod\"", "expected an object, got a string"},
      {"[]", "expected an object, got an array"},
      {"null", "expected an object, got null"},
      {"{}", "metadata.name and metadata.namespace are required"},
      {with("/metadata", 5), "metadata: expected an object, got a number"},
      {with("/metadata/name", json::array()), "metadata.name: expected a string"},
      {with("/metadata/name", ""), "required"},
      {with("/metadata/namespace", true), "metadata.namespace: expected a string, got a boolean"},
      {with("/metadata/labels", "app=web"), "metadata.labels: expected an object"},
      {with("/metadata/labels/app", 7), "metadata.labels.app: expected a string, got a number"},
      {with("/spec/hostPID", "yes"), "spec.hostPID: expected a boolean"},
      {with("/spec/containers", json::object()), "spec.containers: expected an array"},
      {with("/spec/containers/0", "c0"), "spec.containers[0]: expected an object"},
      {with("/spec/containers/0/securityContext/privileged", "true"),
       "spec.containers[0].securityContext.privileged: expected a boolean"},
      {with("/status", json::array()), "status: expected an object"},
      {with("/status/containerStatuses", json::object()),
       "status.containerStatuses: expected an array"},
      {with("/status/containerStatuses/0", 1), "status.containerStatuses[0]: expected an object"},
      {with("/status/containerStatuses/0/containerID", 12345),
       "status.containerStatuses[0].containerID: expected a string, got a number"},
      {with("/status/containerStatuses/0/state/running/startedAt", 0),
       "status.containerStatuses[0].state.running.startedAt: expected a string"},
      {with("/status/containerStatuses/0/lastState/terminated", "x"),
       "status.containerStatuses[0].lastState.terminated: expected an object"},
      {with("/status/podIP", 10), "status.podIP: expected a string"},
      {std::string(100'000, '['), "not JSON, or nested deeper"},
      {"{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\",\"labels\":{\"x\":\"\xff\xfe\"}}}",
       "not JSON"},  // invalid UTF-8
  };
  for (const Case& c : cases) {
    Result<PodInfo> pod = parse_pod(c.json);
    ASSERT_FALSE(pod.ok()) << c.json.substr(0, 200);
    EXPECT_NE(pod.error().find(c.error), std::string::npos)
        << pod.error() << " (wanted: " << c.error << ")";
  }
  // Nulls stand for absent optional fields; unknown fields are not checked.
  EXPECT_TRUE(parse_pod(with("/metadata/labels", nullptr)).ok());
  EXPECT_TRUE(parse_pod(with("/status/containerStatuses", nullptr)).ok());
  EXPECT_TRUE(parse_pod(with("/status/somethingNew", json::array({1, 2}))).ok());
  EXPECT_TRUE(parse_pod(with("/spec/priority", "high")).ok());
}

TEST(PodMetadataParseTest, Limits) {
  PodParseLimits limits;
  limits.max_bytes = 1000;
  limits.max_labels = 2;
  limits.max_containers = 3;
  json pod = json::parse(small_pod("p", "u", {id_of(1)}));
  pod["metadata"]["labels"] = {{"c", "3"}, {"a", "1"}, {"b", "2"}};
  Result<PodInfo> parsed = parse_pod(pod.dump(), limits);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->labels.size(), 2u);  // the first two in key order
  EXPECT_EQ(parsed->labels[1].first, "b");

  pod["metadata"]["annotations"] = {{"big", std::string(2000, 'x')}};
  parsed = parse_pod(pod.dump(), limits);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().find("over the limit of 1000"), std::string::npos) << parsed.error();

  limits.max_bytes = 1 << 20;
  parsed = parse_pod(small_pod("p", "u", {id_of(1), id_of(2), id_of(3), id_of(4)}), limits);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().find("more than 3 containers"), std::string::npos) << parsed.error();
}

TEST(PodMetadataParseTest, Timestamps) {
  json pod = json::parse(small_pod("p", "u", {id_of(1)}));
  auto started = [&](const std::string& t) {
    pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"] = t;
    Result<PodInfo> parsed = parse_pod(pod.dump());
    EXPECT_TRUE(parsed.ok());
    return parsed.ok() ? parsed->containers[0].start_ts : 1;
  };
  EXPECT_EQ(started("1970-01-01T00:00:00Z"), 0u);
  EXPECT_EQ(started("2024-05-01T10:05:01Z"), epoch_ns(1714557901));
  EXPECT_EQ(started("2024-05-01T10:05:01.25Z"), epoch_ns(1714557901) + 250'000'000);
  EXPECT_EQ(started("2024-05-01T12:05:01+02:00"), epoch_ns(1714557901));
  EXPECT_EQ(started("2024-02-30T10:05:01Z"), 0u);  // no such day
  EXPECT_EQ(started("yesterday"), 0u);
  EXPECT_EQ(started("2024-05-01T10:05:01"), 0u);  // no zone
}

// ----- the cache ----------------------------------------------------------------------------

class PodMetadataCacheTest : public ::testing::Test {
 protected:
  PodMetadataCacheTest() { cache_ = std::make_unique<PodMetadataCache>(options()); }

  PodMetadataOptions options() {
    PodMetadataOptions o;
    o.clock = [this] { return now_; };
    return o;
  }
  void reset(const PodMetadataOptions& o) { cache_ = std::make_unique<PodMetadataCache>(o); }
  void advance(std::chrono::milliseconds d) { now_ += d; }

  bool found(const std::string& id) {
    fields::ContainerInfo c;
    fields::K8sInfo k;
    return cache_->lookup(id, c, k);
  }
  // "pod/container" for an id, "" when unknown.
  std::string owner(const std::string& id) {
    fields::ContainerInfo c;
    fields::K8sInfo k;
    if (!cache_->lookup(id, c, k)) {
      return "";
    }
    return std::string(k.pod_name) + "/" + std::string(c.name);
  }

  Clock::time_point now_ = Clock::time_point(std::chrono::hours(1000));
  std::unique_ptr<PodMetadataCache> cache_;
};

TEST_F(PodMetadataCacheTest, FillsContainerAndPod) {
  cache_->on_pod_event(WatchEventType::kAdded, kContainerdPod);
  fields::ContainerInfo c;
  fields::K8sInfo k;
  ASSERT_TRUE(cache_->lookup(kWebId, c, k));
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.full_id, kWebId);
  EXPECT_EQ(c.id, kWebId.substr(0, 12));
  EXPECT_EQ(c.type, "containerd");
  EXPECT_EQ(c.image, "registry.example.com:5000/shop/web:2.4.1");
  EXPECT_EQ(c.image_repository, "registry.example.com:5000/shop/web");
  EXPECT_EQ(c.image_tag, "2.4.1");
  EXPECT_EQ(c.image_digest, kDigest);
  EXPECT_EQ(fields::format_ip(c.ip), "10.244.1.7");
  EXPECT_EQ(c.start_ts, epoch_ns(1714557901));
  EXPECT_EQ(c.privileged, fields::kTriFalse);
  EXPECT_EQ(c.host_network, fields::kTriFalse);
  EXPECT_EQ(k.pod_name, "web-7d9c8b5f6-x2x9q");
  EXPECT_EQ(k.ns_name, "prod");
  EXPECT_EQ(k.pod_uid, "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f");
  EXPECT_EQ(fields::format_ip(k.pod_ip), "10.244.1.7");
  ASSERT_EQ(k.labels.size(), 3u);
  EXPECT_EQ(k.labels[1].key, "pod-template-hash");
  EXPECT_EQ(k.labels[1].value, "7d9c8b5f6");

  // The views survive a pod update: they point into the snapshot the cache holds for us.
  cache_->on_pod_event(WatchEventType::kDeleted, kContainerdPod);
  advance(std::chrono::hours(1));
  cache_->expire();
  EXPECT_EQ(cache_->stats().containers, 0u);
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(k.labels[2].value, "frontend");

  EXPECT_FALSE(cache_->lookup(kWebId, c, k));
  EXPECT_FALSE(found(std::string(64, '0')));
  EXPECT_FALSE(found(""));
  const PodMetadataStats s = cache_->stats();
  EXPECT_EQ(s.lookup_hits, 1u);
  EXPECT_EQ(s.lookup_misses, 3u);
}

TEST_F(PodMetadataCacheTest, EveryKindOfContainerResolves) {
  cache_->on_pod_event(WatchEventType::kAdded, kContainerdPod);
  cache_->on_pod_event(WatchEventType::kAdded, kCrioPod);
  cache_->on_pod_event(WatchEventType::kAdded, kDockerPod);
  cache_->on_pod_event(WatchEventType::kAdded, kPendingPod);
  EXPECT_EQ(owner(kWebId), "web-7d9c8b5f6-x2x9q/web");
  EXPECT_EQ(owner(kWebPrevId), "web-7d9c8b5f6-x2x9q/web");
  EXPECT_EQ(owner(kInitId), "web-7d9c8b5f6-x2x9q/wait-for-db");
  EXPECT_EQ(owner(kDebugId), "web-7d9c8b5f6-x2x9q/debugger-q7k2m");
  EXPECT_EQ(owner("5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b"),
            "node-exporter-4wq9z/node-exporter");
  EXPECT_EQ(owner(std::string(64, '2')), "legacy-0/tool");
  const PodMetadataStats s = cache_->stats();
  EXPECT_EQ(s.pods, 4u);
  EXPECT_EQ(s.containers, 4u + 1u + 2u);
  EXPECT_EQ(s.events, 4u);
  EXPECT_EQ(s.parse_errors, 0u);
}

TEST_F(PodMetadataCacheTest, PodStartsRunningLater) {
  cache_->on_pod_event(WatchEventType::kAdded, kPendingPod);
  const std::string id = id_of(42);
  EXPECT_FALSE(found(id));
  json pod = json::parse(kPendingPod);
  pod["status"]["phase"] = "Running";
  pod["status"]["podIP"] = "10.244.3.3";
  pod["status"]["containerStatuses"][0]["containerID"] = "containerd://" + id;
  pod["status"]["containerStatuses"][0]["state"] = {
      {"running", {{"startedAt", "2024-05-01T10:00:05Z"}}}};
  cache_->on_pod_event(WatchEventType::kModified, pod.dump());
  fields::ContainerInfo c;
  fields::K8sInfo k;
  ASSERT_TRUE(cache_->lookup(id, c, k));
  EXPECT_EQ(c.name, "main");
  EXPECT_EQ(c.image_repository, "alpine");
  EXPECT_EQ(c.image_tag, "3.19");
  EXPECT_EQ(fields::format_ip(k.pod_ip), "10.244.3.3");
  EXPECT_EQ(cache_->stats().pods, 1u);
}

TEST_F(PodMetadataCacheTest, RestartedContainerKeepsItsOldIdForTheGracePeriod) {
  const std::string a = id_of(1), b = id_of(2), a2 = id_of(3);
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("p", "uid-p", {a, b}));
  EXPECT_EQ(owner(a), "p/c0");
  // c0 restarted: a new id, and this status (unlike the kubelet's) does not name the old one.
  advance(std::chrono::seconds(5));
  cache_->on_pod_event(WatchEventType::kModified, small_pod("p", "uid-p", {a2, b}));
  EXPECT_EQ(owner(a2), "p/c0");
  EXPECT_EQ(owner(a), "p/c0");  // old processes still resolve
  EXPECT_EQ(owner(b), "p/c1");
  EXPECT_EQ(cache_->stats().containers, 3u);

  advance(std::chrono::seconds(59));
  cache_->on_pod_event(WatchEventType::kModified, small_pod("p", "uid-p", {a2, b}));
  EXPECT_EQ(owner(a), "p/c0");
  advance(std::chrono::seconds(2));
  EXPECT_EQ(owner(a), "");  // past the grace period even before anything expired it
  cache_->expire();
  EXPECT_EQ(cache_->stats().containers, 2u);
  EXPECT_EQ(cache_->stats().expired, 1u);
  EXPECT_EQ(owner(a2), "p/c0");
  EXPECT_EQ(owner(b), "p/c1");
}

TEST_F(PodMetadataCacheTest, PreviousIdNamedByLastStateStaysWhileListed) {
  cache_->on_pod_event(WatchEventType::kAdded, kContainerdPod);
  advance(std::chrono::hours(2));
  cache_->on_pod_event(WatchEventType::kModified, kContainerdPod);
  cache_->expire();
  EXPECT_EQ(owner(kWebPrevId), "web-7d9c8b5f6-x2x9q/web");
}

TEST_F(PodMetadataCacheTest, UpdateReplacesEverythingKnownAboutThePod) {
  const std::string a = id_of(1);
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("p", "uid-p", {a}));
  json pod = json::parse(small_pod("p", "uid-p", {a}));
  pod["metadata"]["labels"] = {{"app", "p"}, {"version", "v2"}};
  cache_->on_pod_event(WatchEventType::kModified, pod.dump());
  fields::ContainerInfo c;
  fields::K8sInfo k;
  ASSERT_TRUE(cache_->lookup(a, c, k));
  ASSERT_EQ(k.labels.size(), 2u);
  EXPECT_EQ(k.labels[1].value, "v2");
  EXPECT_EQ(cache_->stats().pods, 1u);
  EXPECT_EQ(cache_->stats().containers, 1u);
}

TEST_F(PodMetadataCacheTest, DeletedPodResolvesForTheGracePeriod) {
  cache_->on_pod_event(WatchEventType::kAdded, kContainerdPod);
  advance(std::chrono::seconds(10));
  cache_->on_pod_event(WatchEventType::kDeleted, kContainerdPod);
  EXPECT_EQ(cache_->stats().pods, 0u);
  EXPECT_EQ(cache_->stats().containers, 4u);
  advance(std::chrono::seconds(59));
  cache_->expire();
  EXPECT_EQ(owner(kWebId), "web-7d9c8b5f6-x2x9q/web");
  EXPECT_EQ(owner(kInitId), "web-7d9c8b5f6-x2x9q/wait-for-db");
  advance(std::chrono::seconds(1));
  cache_->expire();
  EXPECT_EQ(owner(kWebId), "");
  EXPECT_EQ(owner(kDebugId), "");
  EXPECT_EQ(cache_->stats().containers, 0u);
  EXPECT_EQ(cache_->stats().expired, 4u);
}

TEST_F(PodMetadataCacheTest, DeletedPodNeverSeenBefore) {
  // A relist reports a pod that vanished meanwhile as DELETED with its last state.
  const std::string a = id_of(7);
  cache_->on_pod_event(WatchEventType::kDeleted, small_pod("gone", "uid-g", {a}));
  EXPECT_EQ(owner(a), "gone/c0");
  EXPECT_EQ(cache_->stats().pods, 0u);
  advance(std::chrono::seconds(61));
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("other", "uid-o", {id_of(8)}));
  EXPECT_EQ(owner(a), "");
  EXPECT_EQ(cache_->stats().containers, 1u);
}

TEST_F(PodMetadataCacheTest, RecreatedPodWithTheSameNameIsAnotherPod) {
  // A StatefulSet pod: same namespace/name, new uid, new containers. The old uid's DELETED may
  // come after the new ADDED; neither touches the other's ids.
  const std::string a = id_of(1), b = id_of(2);
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("db-0", "uid-1", {a}));
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("db-0", "uid-2", {b}));
  cache_->on_pod_event(WatchEventType::kDeleted, small_pod("db-0", "uid-1", {a}));
  advance(std::chrono::seconds(61));
  cache_->expire();
  EXPECT_EQ(owner(a), "");
  EXPECT_EQ(owner(b), "db-0/c0");
  EXPECT_EQ(cache_->stats().pods, 1u);
}

TEST_F(PodMetadataCacheTest, PodsWithoutUidAreKeyedByNamespaceAndName) {
  const std::string a = id_of(1), b = id_of(2), c = id_of(3);
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("p", "", {a}, "ns1"));
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("p", "", {b}, "ns2"));
  cache_->on_pod_event(WatchEventType::kModified, small_pod("p", "", {c}, "ns1"));
  EXPECT_EQ(cache_->stats().pods, 2u);
  advance(std::chrono::seconds(61));
  cache_->expire();
  EXPECT_EQ(owner(a), "");
  EXPECT_EQ(owner(b), "p/c0");
  EXPECT_EQ(owner(c), "p/c0");
}

TEST_F(PodMetadataCacheTest, IdReappearingBeforeExpiryIsLiveAgain) {
  const std::string a = id_of(1);
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("p", "u", {a}));
  cache_->on_pod_event(WatchEventType::kModified, small_pod("p", "u", {}));
  advance(std::chrono::seconds(30));
  cache_->on_pod_event(WatchEventType::kModified, small_pod("p", "u", {a}));
  advance(std::chrono::seconds(60));
  cache_->expire();
  EXPECT_EQ(owner(a), "p/c0");
}

TEST_F(PodMetadataCacheTest, BookmarksAndErrorsAreIgnored) {
  cache_->on_pod_event(WatchEventType::kBookmark, "{\"metadata\":{\"resourceVersion\":\"5\"}}");
  cache_->on_pod_event(WatchEventType::kError, "{\"kind\":\"Status\",\"code\":410}");
  const PodMetadataStats s = cache_->stats();
  EXPECT_EQ(s.events, 0u);
  EXPECT_EQ(s.parse_errors, 0u);
}

TEST_F(PodMetadataCacheTest, HostileEventsAreCountedAndSkipped) {
  const std::string a = id_of(1);
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("p", "u", {a}));
  std::string deep = "{\"metadata\":{\"name\":\"x\",\"namespace\":\"y\",\"labels\":{\"a\":";
  deep += std::string(200'000, '[') + std::string(200'000, ']') + "}}}";
  std::string huge = small_pod("h", "uh", {id_of(2)});
  huge.insert(huge.size() - 1, ",\"pad\":\"" + std::string(5u << 20, 'x') + "\"");
  const std::string hostile[] = {
      "",
      "not json",
      "{\"metadata\":{\"name\":\"p\",\"namespace\":",
      std::string(1u << 16, '{'),
      deep,
      huge,
      "{\"metadata\":{\"name\":1e999999}}",
      "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u\"},"
      "\"status\":{\"containerStatuses\":\"containerd://" +
          a + "\"}}",
      std::string("{\"metadata\":{\"name\":\"p\0\",\"namespace\":\"d\"}}", 40),
  };
  for (const std::string& h : hostile) {
    for (WatchEventType t :
         {WatchEventType::kAdded, WatchEventType::kModified, WatchEventType::kDeleted}) {
      cache_->on_pod_event(t, h);
    }
  }
  const PodMetadataStats s = cache_->stats();
  EXPECT_EQ(s.parse_errors, 3u * std::size(hostile));
  EXPECT_EQ(s.events, 1u);
  EXPECT_FALSE(cache_->last_error().empty());
  // What was known before is untouched.
  EXPECT_EQ(owner(a), "p/c0");
  EXPECT_EQ(s.pods, 1u);
}

TEST_F(PodMetadataCacheTest, PodCap) {
  PodMetadataOptions o = options();
  o.max_pods = 2;
  reset(o);
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("a", "ua", {id_of(1)}));
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("b", "ub", {id_of(2)}));
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("c", "uc", {id_of(3)}));
  EXPECT_EQ(owner(id_of(3)), "");
  EXPECT_EQ(cache_->stats().dropped_pods, 1u);
  // Known pods still update; a deletion makes room.
  cache_->on_pod_event(WatchEventType::kModified, small_pod("b", "ub", {id_of(4)}));
  EXPECT_EQ(owner(id_of(4)), "b/c0");
  cache_->on_pod_event(WatchEventType::kDeleted, small_pod("a", "ua", {id_of(1)}));
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("c", "uc", {id_of(3)}));
  EXPECT_EQ(owner(id_of(3)), "c/c0");
  EXPECT_EQ(cache_->stats().pods, 2u);
}

TEST_F(PodMetadataCacheTest, ContainerCapEvictsIdsInGraceFirst) {
  PodMetadataOptions o = options();
  o.max_containers = 4;
  reset(o);
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("a", "ua", {id_of(1), id_of(2)}));
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("b", "ub", {id_of(3)}));
  cache_->on_pod_event(WatchEventType::kDeleted, small_pod("a", "ua", {id_of(1), id_of(2)}));
  // Full (2 ids in grace + 1 live); two more: the oldest id in grace makes room for the second.
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("c", "uc", {id_of(4), id_of(5)}));
  EXPECT_EQ(cache_->stats().containers, 4u);
  EXPECT_EQ(cache_->stats().evicted, 1u);
  EXPECT_EQ(owner(id_of(1)), "");
  EXPECT_EQ(owner(id_of(2)), "a/c1");
  EXPECT_EQ(owner(id_of(5)), "c/c1");
  // Only live ids left after one more eviction; then new ids are dropped, live ones stay.
  cache_->on_pod_event(WatchEventType::kAdded, small_pod("d", "ud", {id_of(6), id_of(7)}));
  EXPECT_EQ(owner(id_of(6)), "d/c0");
  EXPECT_EQ(owner(id_of(7)), "");
  EXPECT_EQ(owner(id_of(3)), "b/c0");
  const PodMetadataStats s = cache_->stats();
  EXPECT_EQ(s.containers, 4u);
  EXPECT_EQ(s.evicted, 2u);
  EXPECT_EQ(s.dropped_containers, 1u);
}

TEST_F(PodMetadataCacheTest, FlappingIdsKeepTheExpiryQueueBounded) {
  PodMetadataOptions o = options();
  o.max_containers = 8;
  reset(o);
  const std::string a = id_of(1);
  for (int i = 0; i < 2'000; ++i) {
    cache_->on_pod_event(WatchEventType::kModified, small_pod("p", "u", {a}));
    cache_->on_pod_event(WatchEventType::kModified, small_pod("p", "u", {}));
  }
  EXPECT_EQ(owner(a), "p/c0");
  EXPECT_EQ(cache_->stats().containers, 1u);
  advance(std::chrono::seconds(61));
  cache_->expire();
  EXPECT_EQ(owner(a), "");
}

// The watcher thread churns pods (restarts, deletions, re-adds) while the capture thread looks
// ids up and reads every view it gets. Whatever it finds must be self-consistent: the id's own
// pod and container. Run under TSan/ASan builds too; it is race-free by construction (the lock
// covers the maps, snapshots are immutable and kept alive by the reader).
TEST(PodMetadataConcurrencyTest, WatcherUpdatesWhileCaptureLooksUp) {
  PodMetadataOptions o;
  o.grace = std::chrono::milliseconds(1);
  o.max_containers = 64;
  PodMetadataCache cache(o);
  constexpr size_t kPods = 16;
  constexpr size_t kIdsPerPod = 8;  // generations of one container
  std::atomic<bool> stop{false};

  std::thread watcher([&] {
    size_t round = 0;
    while (!stop.load()) {
      for (size_t p = 0; p < kPods && !stop.load(); ++p) {
        const std::string name = "pod-" + std::to_string(p);
        const std::string id = id_of(p * kIdsPerPod + round % kIdsPerPod);
        const auto type = round % 5 == 4   ? WatchEventType::kDeleted
                          : round % 5 == 0 ? WatchEventType::kAdded
                                           : WatchEventType::kModified;
        cache.on_pod_event(type, small_pod(name, "uid-" + name, {id}));
      }
      ++round;
    }
  });

  size_t hits = 0;
  const auto deadline = Clock::now() + std::chrono::milliseconds(500);
  for (size_t i = 0; Clock::now() < deadline; ++i) {
    const size_t n = i % (kPods * kIdsPerPod);
    fields::ContainerInfo c;
    fields::K8sInfo k;
    if (!cache.lookup(id_of(n), c, k)) {
      continue;
    }
    ++hits;
    const std::string pod = "pod-" + std::to_string(n / kIdsPerPod);
    ASSERT_EQ(k.pod_name, pod);
    ASSERT_EQ(k.pod_uid, "uid-" + pod);
    ASSERT_EQ(c.full_id, id_of(n));
    ASSERT_EQ(c.name, "c0");
    ASSERT_EQ(c.image, "img/" + pod + ":v1");
    ASSERT_EQ(k.labels.size(), 1u);
    ASSERT_EQ(k.labels[0].value, pod);
  }
  stop.store(true);
  watcher.join();
  EXPECT_GT(hits, 0u);
  const PodMetadataStats s = cache.stats();
  EXPECT_EQ(s.parse_errors, 0u);
  EXPECT_LE(s.containers, 64u);
}

// ----- through the decoder ------------------------------------------------------------------

std::string field_text(const fields::SyscallEvent* ev, std::string_view name,
                       std::optional<std::string_view> arg = std::nullopt) {
  auto bound = fields::syscall_source().fields->bind(name, arg);
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
  if (bound->info->type == fields::FieldType::kIpAddr) {
    return fields::format_ip(pool[0].ip);
  }
  return std::string(pool[0].str);
}

TEST(PodMetadataDecoderTest, EventsOfAPodContainerCarryItsMetadata) {
  char tmpl[] = "/tmp/vigil-podmeta-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  // A kubepods cgroup of the web container, as the systemd driver names it.
  const std::string cg = dir +
                         "/cg/kubepods.slice/kubepods-burstable.slice/"
                         "kubepods-burstable-pod8c1d2e3f_4a5b_4c6d_8e7f_9a0b1c2d3e4f.slice/"
                         "cri-containerd-" +
                         kWebId + ".scope";
  std::filesystem::create_directories(cg);
  std::filesystem::create_directories(dir + "/etc");
  std::ofstream(dir + "/etc/passwd") << "root:x:0:0:root:/root:/bin/bash\n";
  struct stat st {};
  ASSERT_EQ(stat(cg.c_str(), &st), 0);

  ProcessTableOptions po;
  po.proc_root = dir + "/proc";
  po.names.host_root = dir;
  ProcessTable processes(po);
  CgroupResolverOptions co;
  co.mount_point = dir + "/cg";
  co.proc_root = dir + "/proc";
  co.v1_fallback = false;
  CgroupResolver cgroups(co);
  PodMetadataCache cache;
  DecoderOptions dopts;
  dopts.hostname = "node-1";
  dopts.metadata = &cache;
  EventDecoder decoder(processes, cgroups, dopts);

  auto open_event = [&](uint64_t ts) {
    testing::RecordBuilder b(VG_T_OPENAT, 3000);
    b.cgroup(st.st_ino).ppid(1).res(3).path("/etc/shadow");
    b.hdr().ts = ts;
    testing::RawRecord r = b.build();
    return std::make_pair(r, decoder.decode(r.data(), r.size));
  };

  // Before the pod is known: the cgroup's identity only.
  {
    auto [rec, ev] = open_event(1'000'000'000);
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(field_text(ev, "container.id"), kWebId.substr(0, 12));
    EXPECT_EQ(field_text(ev, "container.name"), "<NA>");
    EXPECT_EQ(field_text(ev, "k8s.pod.uid"), "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f");
  }
  cache.on_pod_event(WatchEventType::kAdded, kContainerdPod);
  {
    // Looked up again after the decoder's retry interval.
    auto [rec, ev] = open_event(4'000'000'000);
    ASSERT_NE(ev, nullptr);
    EXPECT_EQ(field_text(ev, "container.name"), "web");
    EXPECT_EQ(field_text(ev, "container.type"), "containerd");
    EXPECT_EQ(field_text(ev, "container.image"), "registry.example.com:5000/shop/web:2.4.1");
    EXPECT_EQ(field_text(ev, "container.image.repository"), "registry.example.com:5000/shop/web");
    EXPECT_EQ(field_text(ev, "container.image.tag"), "2.4.1");
    EXPECT_EQ(field_text(ev, "container.image.digest"), kDigest);
    EXPECT_EQ(field_text(ev, "k8s.pod.name"), "web-7d9c8b5f6-x2x9q");
    EXPECT_EQ(field_text(ev, "k8s.ns.name"), "prod");
    EXPECT_EQ(field_text(ev, "k8s.pod.uid"), "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f");
    EXPECT_EQ(field_text(ev, "k8s.pod.label", "tier"), "frontend");
    EXPECT_EQ(field_text(ev, "k8s.pod.labels"),
              "app.kubernetes.io/name:web, pod-template-hash:7d9c8b5f6, tier:frontend");
    EXPECT_EQ(field_text(ev, "k8s.pod.ip"), "10.244.1.7");
  }
  // The record copied everything: the pod going away changes nothing for its processes.
  cache.on_pod_event(WatchEventType::kDeleted, kContainerdPod);
  cache.on_pod_event(WatchEventType::kAdded, kCrioPod);
  {
    auto [rec, ev] = open_event(9'000'000'000);
    EXPECT_EQ(field_text(ev, "k8s.pod.name"), "web-7d9c8b5f6-x2x9q");
  }
  EXPECT_EQ(cache.stats().lookup_hits, 1u);
  EXPECT_EQ(cache.stats().lookup_misses, 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::agent
