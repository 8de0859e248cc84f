# Generates the EventLists of this directory (audit.k8s.io/v1, as kube-apiserver v1.36 sends
# them to a webhook; see ../README.md for how they are shaped). Run: python3 generate.py
import json, os, uuid, hashlib, datetime

OUT = os.path.dirname(os.path.abspath(__file__))
os.makedirs(OUT, exist_ok=True)
KUBECTL = "kubectl/v1.36.0 (linux/amd64) kubernetes/5c3d2f1"
ADMIN = {"username": "kubernetes-admin", "groups": ["kubeadm:cluster-admins", "system:authenticated"]}
JANE = {"username": "jane@example.com", "groups": ["developers", "system:authenticated"]}
ANON = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
KCM = {"username": "system:kube-controller-manager", "groups": ["system:authenticated"]}
def sa(ns, name):
    return {"username": f"system:serviceaccount:{ns}:{name}",
            "uid": str(uuid.UUID(hashlib.md5(f"{ns}/{name}".encode()).hexdigest())),
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]}
def node(n):
    return {"username": f"system:node:{n}", "groups": ["system:nodes", "system:authenticated"]}
RS = sa("kube-system", "replicaset-controller")

counter = [0]
T0 = datetime.datetime(2026, 9, 16, 9, 0, 0, tzinfo=datetime.timezone.utc)
def ts(offset_ms):
    return (T0 + datetime.timedelta(milliseconds=offset_ms)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

def allow_reason(user):
    if user is ANON:
        return 'RBAC: allowed by ClusterRoleBinding "anonymous-view" of ClusterRole "view" to User "system:anonymous"'
    if user["username"] == "kubernetes-admin":
        return 'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"'
    if user["username"].startswith("system:node:"):
        return ""
    return 'RBAC: allowed by ClusterRoleBinding "system:controller:x" of ClusterRole "x" to ServiceAccount "x/kube-system"' if "serviceaccount" in user["username"] else 'RBAC: allowed by RoleBinding "dev" of ClusterRole "edit" to Group "developers"'

def ev(user, verb, uri, ref, code, level="Request", stage="ResponseComplete", req=None, resp=None,
       agent=KUBECTL, ips=("192.0.2.77",), audit_id=None, reason=None, status_extra=None):
    counter[0] += 1
    i = counter[0]
    e = {"level": level, "auditID": audit_id or str(uuid.UUID(hashlib.md5(f"ev{i}".encode()).hexdigest())),
         "stage": stage, "requestURI": uri, "verb": verb, "user": user, "sourceIPs": list(ips),
         "userAgent": agent}
    if ref is not None:
        e["objectRef"] = ref
    rs = {"metadata": {}, "code": code}
    if code >= 400:
        rs.update({"status": "Failure", "message": reason or "forbidden", "reason": "Forbidden", "details": {}})
    if status_extra:
        rs.update(status_extra)
    e["responseStatus"] = rs
    if req is not None and level in ("Request", "RequestResponse"):
        e["requestObject"] = req
    if resp is not None and level == "RequestResponse":
        e["responseObject"] = resp
    e["requestReceivedTimestamp"] = ts(i * 1000)
    e["stageTimestamp"] = ts(i * 1000 + 17)
    ann = {"authorization.k8s.io/decision": "allow" if code < 400 or code not in (401, 403) else "forbid",
           "authorization.k8s.io/reason": allow_reason(user) if code != 403 else ""}
    e["annotations"] = ann
    return e

def ref(resource, ns=None, name=None, sub=None, api="v1", group=None):
    r = {"resource": resource}
    if ns: r["namespace"] = ns
    if name: r["name"] = name
    if group: r["apiGroup"] = group
    r["apiVersion"] = api
    if sub: r["subresource"] = sub
    return r

# ---- pods
NONROOT = {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
def container(name, image, sc=None, ports=None, mounts=None, extra=None):
    c = {"name": name, "image": image, "resources": {}, "terminationMessagePath": "/dev/termination-log",
         "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}
    if ports: c["ports"] = ports
    if mounts: c["volumeMounts"] = mounts
    if sc is not None: c["securityContext"] = sc
    if extra: c.update(extra)
    return c

def pod_obj(name, ns, containers, pod_sc=None, init=None, volumes=None, generate=None, spec_extra=None, labels=None):
    md = {"namespace": ns, "creationTimestamp": None}
    if name: md["name"] = name
    if generate: md["generateName"] = generate
    if labels: md["labels"] = labels
    spec = {}
    if volumes: spec["volumes"] = volumes
    if init: spec["initContainers"] = init
    spec["containers"] = containers
    spec.update({"restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst"})
    if spec_extra: spec.update(spec_extra)
    spec["securityContext"] = pod_sc if pod_sc is not None else {}
    spec["schedulerName"] = "default-scheduler"
    spec["enableServiceLinks"] = True
    return {"kind": "Pod", "apiVersion": "v1", "metadata": md, "spec": spec, "status": {}}

def pod_create(user, ns, obj, code=201, final_name=None, agent=KUBECTL, reason=None):
    name = obj["metadata"].get("name")
    final = final_name or name
    uri = f"/api/v1/namespaces/{ns}/pods" + ("?fieldManager=kubectl-run" if agent == KUBECTL else "")
    resp = None
    if code < 300:
        resp = json.loads(json.dumps(obj))
        resp["metadata"]["name"] = final
        resp["metadata"]["uid"] = str(uuid.UUID(hashlib.md5(final.encode()).hexdigest()))
        resp["metadata"]["resourceVersion"] = "48213"
        resp["metadata"]["creationTimestamp"] = "2026-09-16T09:00:00Z"
        resp["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    else:
        resp = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": reason, "reason": "Forbidden", "code": code}
    return ev(user, "create", uri, ref("pods", ns, name), code, level="RequestResponse", req=obj, resp=resp,
              agent=agent, reason=reason)

CTRL_AGENT = "kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/system:serviceaccount:kube-system:replicaset-controller"
KUBELET_AGENT = "kubelet/v1.36.0 (linux/amd64) kubernetes/5c3d2f1"
def simple_pod(name, ns="shop", image="registry.example.com/shop/web:1.4.2", sc=None, pod_sc=NONROOT, **kw):
    return pod_obj(name, ns, [container("web", image, sc if sc is not None else {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}})], pod_sc=pod_sc, **kw)

files = {}

# ---- nodeport-service-created
def svc(name, ns, typ, ports):
    spec = {"ports": ports, "selector": {"app": name}, "type": typ, "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster"}
    if typ == "NodePort": spec["externalTrafficPolicy"] = "Cluster"
    return {"kind": "Service", "apiVersion": "v1", "metadata": {"name": name, "namespace": ns, "creationTimestamp": None,
            "labels": {"app": name}}, "spec": spec, "status": {"loadBalancer": {}}}
files["nodeport-service-created"] = [
    ev(JANE, "create", "/api/v1/namespaces/shop/services?fieldManager=kubectl-create&fieldValidation=Strict",
       ref("services", "shop", "payments-debug"), 201,
       req=svc("payments-debug", "shop", "NodePort", [{"name": "5432-5432", "protocol": "TCP", "port": 5432, "targetPort": 5432, "nodePort": 31337}])),
    ev(ADMIN, "patch", "/api/v1/namespaces/shop/services/web?fieldManager=kubectl-patch",
       ref("services", "shop", "web"), 200, req={"spec": {"type": "NodePort"}}),
]
files["nodeport-service-created.near_miss"] = [
    ev(JANE, "create", "/api/v1/namespaces/shop/services?fieldManager=kubectl-create&fieldValidation=Strict",
       ref("services", "shop", "payments-internal"), 201,
       req=svc("payments-internal", "shop", "ClusterIP", [{"name": "5432-5432", "protocol": "TCP", "port": 5432, "targetPort": 5432}])),
    ev({"username": "dev-bob", "groups": ["system:authenticated"]}, "create", "/api/v1/namespaces/shop/services?fieldManager=kubectl-create&fieldValidation=Strict",
       ref("services", "shop", "bob-debug"), 403, reason='services is forbidden: User "dev-bob" cannot create resource "services" in API group "" in the namespace "shop"',
       req=svc("bob-debug", "shop", "NodePort", [{"name": "80", "protocol": "TCP", "port": 80, "targetPort": 80, "nodePort": 30080}])),
    ev(sa("kube-system", "service-controller"), "update", "/api/v1/namespaces/ingress-nginx/services/ingress-nginx-controller/status",
       ref("services", "ingress-nginx", "ingress-nginx-controller", sub="status"), 200,
       agent="kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/system:serviceaccount:kube-system:service-controller",
       req=svc("ingress-nginx-controller", "ingress-nginx", "NodePort", [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80, "nodePort": 30080}])),
]

# ---- privileged-pod-created
files["privileged-pod-created"] = [
    pod_create(JANE, "shop", simple_pod("priv-shell", image="docker.io/library/alpine:3.20", sc={"privileged": True})),
    pod_create(RS, "shop", pod_obj(None, "shop", [container("tuner", "registry.example.com/ops/node-tuner:2.1", {"allowPrivilegeEscalation": False})],
        pod_sc=NONROOT, init=[container("sysctl", "docker.io/library/busybox:1.36", {"privileged": True})],
        generate="node-tuner-6c8f7d9b4-"), final_name="node-tuner-6c8f7d9b4-9wz7p", agent=CTRL_AGENT),
]
files["privileged-pod-created.near_miss"] = [
    pod_create(JANE, "shop", simple_pod("not-priv", sc={"privileged": False, "allowPrivilegeEscalation": False})),
    # kube-proxy's static pod, mirrored by the kubelet: privileged, host network, root.
    pod_create(node("cp-1"), "kube-system", pod_obj("kube-proxy-cp-1", "kube-system",
        [container("kube-proxy", "registry.example.com/mirror/kube-proxy:v1.36.0", {"privileged": True})],
        spec_extra={"hostNetwork": True, "nodeName": "cp-1"}, volumes=[{"name": "lib-modules", "hostPath": {"path": "/lib/modules", "type": ""}}]),
        agent=KUBELET_AGENT),
    # refused by Pod Security admission
    pod_create(JANE, "shop", simple_pod("priv-denied", image="docker.io/library/alpine:3.20", sc={"privileged": True}), code=403,
        reason='pods "priv-denied" is forbidden: violates PodSecurity "baseline:latest": privileged (container "web" must not set securityContext.privileged=true)'),
    # a CNI agent from the allowed images
    pod_create(sa("kube-system", "daemon-set-controller"), "kube-system", pod_obj(None, "kube-system",
        [container("calico-node", "docker.io/calico/node:v3.29.0", {"privileged": True, "runAsNonRoot": True, "runAsUser": 999})],
        generate="calico-node-"), final_name="calico-node-x7k2p",
        agent="kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/system:serviceaccount:kube-system:daemon-set-controller"),
]

# ---- pod-running-as-root
files["pod-running-as-root"] = [
    # explicit runAsUser 0 on the pod
    pod_create(JANE, "shop", simple_pod("root-debug", image="docker.io/library/ubuntu:24.04", pod_sc={"runAsUser": 0})),
    # no security context at all: the image's USER decides
    pod_create(JANE, "shop", pod_obj("nginx", "shop", [container("nginx", "docker.io/library/nginx:1.27")])),
    # explicit runAsUser 0 on a container, pod says non-root
    pod_create(JANE, "shop", pod_obj("mixed", "shop", [container("app", "registry.example.com/shop/web:1.4.2"),
        container("helper", "docker.io/library/busybox:1.36", {"runAsUser": 0})], pod_sc=NONROOT)),
    # the second container has neither a uid nor runAsNonRoot
    pod_create(JANE, "shop", pod_obj("sidecar", "shop", [container("app", "registry.example.com/shop/web:1.4.2", {"runAsNonRoot": True}),
        container("proxy", "docker.io/envoyproxy/envoy:v1.32.0")])),
    # runAsNonRoot on the pod, switched off by the container
    pod_create(JANE, "shop", pod_obj("override", "shop", [container("app", "registry.example.com/shop/web:1.4.2", {"runAsNonRoot": False})],
        pod_sc={"runAsNonRoot": True})),
]
files["pod-running-as-root.near_miss"] = [
    pod_create(JANE, "shop", pod_obj("nonroot-pod", "shop", [container("app", "registry.example.com/shop/web:1.4.2")], pod_sc={"runAsNonRoot": True})),
    pod_create(JANE, "shop", pod_obj("uid-pod", "shop", [container("app", "registry.example.com/shop/web:1.4.2")], pod_sc={"runAsUser": 1000})),
    pod_create(JANE, "shop", pod_obj("nonroot-containers", "shop", [container("app", "registry.example.com/shop/web:1.4.2", {"runAsNonRoot": True}),
        container("proxy", "docker.io/envoyproxy/envoy:v1.32.0", {"runAsUser": 101})],
        init=[container("init", "docker.io/library/busybox:1.36", {"runAsNonRoot": True, "runAsUser": 1000})])),
    pod_create(JANE, "shop", pod_obj("pod-root-overridden", "shop", [container("app", "registry.example.com/shop/web:1.4.2", {"runAsUser": 1000})],
        pod_sc={"runAsUser": 0, "runAsNonRoot": False})),
    pod_create(JANE, "shop", pod_obj("root-denied", "shop", [container("app", "docker.io/library/ubuntu:24.04")], pod_sc={"runAsUser": 0}), code=403,
        reason='pods "root-denied" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true, runAsUser=0'),
]

# ---- host-namespace-pod-created
files["host-namespace-pod-created"] = [
    pod_create(JANE, "shop", simple_pod("netdebug", image="docker.io/nicolaka/netshoot:v0.13", spec_extra={"hostNetwork": True})),
    pod_create(JANE, "shop", simple_pod("pid-peek", image="docker.io/library/alpine:3.20", spec_extra={"hostPID": True})),
    pod_create(JANE, "shop", simple_pod("ipc-share", image="docker.io/library/alpine:3.20", spec_extra={"hostIPC": True})),
]
files["host-namespace-pod-created.near_miss"] = [
    pod_create(JANE, "shop", simple_pod("explicit-false", spec_extra={"hostNetwork": False, "hostPID": False, "hostIPC": False})),
    # node-exporter: host network and PID, mounts /, /proc and /sys; its image is allowed
    pod_create(sa("kube-system", "daemon-set-controller"), "monitoring", pod_obj(None, "monitoring",
        [container("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2", {"readOnlyRootFilesystem": True})],
        pod_sc={"runAsNonRoot": True, "runAsUser": 65534},
        volumes=[{"name": "proc", "hostPath": {"path": "/proc", "type": ""}}, {"name": "sys", "hostPath": {"path": "/sys", "type": ""}},
                 {"name": "root", "hostPath": {"path": "/", "type": ""}}],
        spec_extra={"hostNetwork": True, "hostPID": True}, generate="node-exporter-"), final_name="node-exporter-4wq8d",
        agent="kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/system:serviceaccount:kube-system:daemon-set-controller"),
    pod_create(node("cp-1"), "kube-system", pod_obj("etcd-cp-1", "kube-system",
        [container("etcd", "registry.k8s.io/etcd:3.5.21-0")], pod_sc={"seccompProfile": {"type": "RuntimeDefault"}},
        volumes=[{"name": "etcd-data", "hostPath": {"path": "/var/lib/etcd", "type": "DirectoryOrCreate"}},
                 {"name": "etcd-certs", "hostPath": {"path": "/etc/kubernetes/pki/etcd", "type": "DirectoryOrCreate"}}],
        spec_extra={"hostNetwork": True, "nodeName": "cp-1", "priorityClassName": "system-node-critical"}), agent=KUBELET_AGENT),
]

# ---- sensitive-host-mount-pod-created
def mount_pod(name, paths, image="docker.io/library/alpine:3.20"):
    vols = [{"name": f"host{i}", "hostPath": {"path": p, "type": ""}} for i, p in enumerate(paths)]
    mounts = [{"name": f"host{i}", "mountPath": f"/host{i}"} for i in range(len(paths))]
    return pod_obj(name, "shop", [container("inspect", image, {"allowPrivilegeEscalation": False}, mounts=mounts)],
                   pod_sc=NONROOT, volumes=vols)
files["sensitive-host-mount-pod-created"] = [
    pod_create(JANE, "shop", mount_pod("node-inspector", ["/etc", "/var/run/docker.sock"])),
    pod_create(JANE, "shop", mount_pod("kubelet-pki", ["/var/lib/kubelet/pki"])),
    pod_create(JANE, "shop", mount_pod("rootfs", ["/"])),
    pod_create(JANE, "shop", mount_pod("cri", ["/run/containerd/containerd.sock"])),
]
files["sensitive-host-mount-pod-created.near_miss"] = [
    pod_create(JANE, "shop", mount_pod("log-reader", ["/var/log"], image="cr.fluentbit.io/fluent/fluent-bit:3.2")),
    pod_create(JANE, "shop", mount_pod("backup", ["/etc-backup", "/srv/data"])),
    pod_create(JANE, "shop", pod_obj("cfg", "shop", [container("app", "registry.example.com/shop/web:1.4.2")], pod_sc=NONROOT,
        volumes=[{"name": "cfg", "configMap": {"name": "web-config", "defaultMode": 420}}, {"name": "tmp", "emptyDir": {}}])),
]

# ---- exec-or-attach-into-pod
EXEC_URI = "/api/v1/namespaces/shop/pods/payments-7d9c6b8f5-kx2lq/exec?command=%2Fbin%2Fsh&command=-c&command=cat+%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&container=payments&stderr=true&stdout=true"
EXEC_REF = ref("pods", "shop", "payments-7d9c6b8f5-kx2lq", sub="exec")
files["exec-or-attach-into-pod"] = [
    ev(JANE, "get", EXEC_URI, EXEC_REF, 101, stage="ResponseStarted", audit_id="7c1e5a0e-2b0d-4f55-9a31-5d6a0c1f3e01"),
    ev(ADMIN, "create", "/api/v1/namespaces/shop/pods/web-0/attach?container=web&stdin=true&stdout=true&tty=true",
       ref("pods", "shop", "web-0", sub="attach"), 101, stage="ResponseStarted"),
]
files["exec-or-attach-into-pod.near_miss"] = [
    # the same exec's ResponseComplete
    ev(JANE, "get", EXEC_URI, EXEC_REF, 101, stage="ResponseComplete", audit_id="7c1e5a0e-2b0d-4f55-9a31-5d6a0c1f3e01"),
    # refused: a forbidden exec has no ResponseStarted stage
    ev({"username": "dev-bob", "groups": ["system:authenticated"]}, "get", EXEC_URI, EXEC_REF, 403,
       reason='pods "payments-7d9c6b8f5-kx2lq" is forbidden: User "dev-bob" cannot get resource "pods/exec" in API group "" in the namespace "shop"'),
    ev(JANE, "get", "/api/v1/namespaces/shop/pods/payments-7d9c6b8f5-kx2lq/portforward?ports=5432",
       ref("pods", "shop", "payments-7d9c6b8f5-kx2lq", sub="portforward"), 101, stage="ResponseStarted"),
    ev(JANE, "get", "/api/v1/namespaces/shop/pods/payments-7d9c6b8f5-kx2lq/log?container=payments&follow=true",
       ref("pods", "shop", "payments-7d9c6b8f5-kx2lq", sub="log"), 200, level="Metadata", stage="ResponseStarted"),
]

# ---- secret-read-by-unexpected-user
files["secret-read-by-unexpected-user"] = [
    ev(JANE, "get", "/api/v1/namespaces/shop/secrets/payments-db", ref("secrets", "shop", "payments-db"), 200, level="Metadata"),
    ev(ADMIN, "list", "/api/v1/namespaces/shop/secrets?limit=500", ref("secrets", "shop"), 200, level="Metadata"),
    ev(sa("shop", "web"), "watch", "/api/v1/secrets?allowWatchBookmarks=true&watch=true", ref("secrets"), 200, level="Metadata",
       stage="ResponseStarted", agent="Go-http-client/2.0", ips=("10.244.1.17",)),
]
files["secret-read-by-unexpected-user.near_miss"] = [
    ev(sa("kube-system", "namespace-controller"), "list", "/api/v1/namespaces/xmr-pool/secrets?limit=500", ref("secrets", "xmr-pool"), 200,
       level="Metadata", agent="kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/system:serviceaccount:kube-system:namespace-controller", ips=("10.0.0.10",)),
    ev(KCM, "get", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef", ref("secrets", "kube-system", "bootstrap-token-abcdef"), 200,
       level="Metadata", agent="kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/tokens-controller", ips=("10.0.0.10",)),
    ev(node("worker-1"), "get", "/api/v1/namespaces/shop/secrets/payments-db", ref("secrets", "shop", "payments-db"), 200,
       level="Metadata", agent=KUBELET_AGENT, ips=("10.0.0.21",)),
    ev(JANE, "get", "/api/v1/namespaces/kube-system/secrets/admin-token", ref("secrets", "kube-system", "admin-token"), 403,
       level="Metadata", reason='secrets "admin-token" is forbidden: User "jane@example.com" cannot get resource "secrets" in API group "" in the namespace "kube-system"'),
    ev(JANE, "get", "/api/v1/namespaces/shop/configmaps/web-config", ref("configmaps", "shop", "web-config"), 200),
    # the watch's ResponseComplete, when it ends: the ResponseStarted stage reported it
    ev(sa("shop", "web"), "watch", "/api/v1/secrets?allowWatchBookmarks=true&watch=true", ref("secrets"), 200, level="Metadata",
       agent="Go-http-client/2.0", ips=("10.244.1.17",)),
]

# ---- clusterrole-with-wildcard
def crole(name, rules):
    return {"kind": "ClusterRole", "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": name, "creationTimestamp": None}, "rules": rules}
def crole_ev(user, name, rules, code=201, verb="create"):
    uri = "/apis/rbac.authorization.k8s.io/v1/clusterroles?fieldManager=kubectl-client-side-apply&fieldValidation=Strict" if verb == "create" else f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}?fieldManager=kubectl-replace"
    obj = crole(name, rules)
    return ev(user, verb, uri, ref("clusterroles", None, name, group="rbac.authorization.k8s.io"), code,
              level="RequestResponse", req=obj, resp=obj if code < 300 else None,
              reason=None if code < 300 else f'clusterroles.rbac.authorization.k8s.io "{name}" is forbidden: user "{user["username"]}" is attempting to grant RBAC permissions not currently held')
files["clusterrole-with-wildcard"] = [
    crole_ev(ADMIN, "ops-superuser", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]),
    crole_ev(JANE, "secrets-all", [{"verbs": ["*"], "apiGroups": [""], "resources": ["secrets"]}]),
    crole_ev(ADMIN, "crd-reader", [{"verbs": ["get", "list"], "apiGroups": ["apiextensions.k8s.io"], "resources": ["*"]}], code=200, verb="update"),
]
files["clusterrole-with-wildcard.near_miss"] = [
    crole_ev(ADMIN, "pod-reader", [{"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]}]),
    crole_ev({"username": "system:apiserver", "uid": "b0c5e5a1-8b8e-4d35-9c44-0f0b3a7f6f11", "groups": ["system:authenticated"]}, "cluster-admin",
             [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, {"verbs": ["*"], "nonResourceURLs": ["*"]}]),
    crole_ev(JANE, "ops-superuser", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}], code=403),
]

# ---- binding-to-cluster-admin
def binding_ev(user, kind, name, ns, role, subjects, code=201):
    res = "clusterrolebindings" if kind == "ClusterRoleBinding" else "rolebindings"
    md = {"name": name, "creationTimestamp": None}
    if ns: md["namespace"] = ns
    obj = {"kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": md, "subjects": subjects,
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}}
    uri = f"/apis/rbac.authorization.k8s.io/v1/{'namespaces/' + ns + '/' if ns else ''}{res}?fieldManager=kubectl-create&fieldValidation=Strict"
    return ev(user, "create", uri, ref(res, ns, name, group="rbac.authorization.k8s.io"), code, level="RequestResponse",
              req=obj, resp=obj if code < 300 else None)
files["binding-to-cluster-admin"] = [
    binding_ev(ADMIN, "ClusterRoleBinding", "system-metrics-reader", None, "cluster-admin",
               [{"kind": "ServiceAccount", "name": "metrics-helper", "namespace": "monitoring"}]),
    binding_ev(JANE, "RoleBinding", "jane-admin", "shop", "cluster-admin",
               [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "jane@example.com"}]),
]
files["binding-to-cluster-admin.near_miss"] = [
    binding_ev(ADMIN, "ClusterRoleBinding", "metrics-view", None, "view",
               [{"kind": "ServiceAccount", "name": "metrics-helper", "namespace": "monitoring"}]),
    binding_ev({"username": "system:apiserver", "uid": "b0c5e5a1-8b8e-4d35-9c44-0f0b3a7f6f11", "groups": ["system:authenticated"]},
               "ClusterRoleBinding", "cluster-admin", None, "cluster-admin",
               [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:masters"}]),
    binding_ev(JANE, "RoleBinding", "jane-edit", "shop", "edit",
               [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "jane@example.com"}]),
]

# ---- anonymous-request-allowed
ANON_AGENT = "curl/8.5.0"
files["anonymous-request-allowed"] = [
    ev(ANON, "list", "/api/v1/namespaces/kube-system/configmaps", ref("configmaps", "kube-system"), 200, agent=ANON_AGENT, ips=("203.0.113.50",)),
    ev(ANON, "get", "/api/v1/namespaces", ref("namespaces"), 200, level="Metadata", agent=ANON_AGENT, ips=("203.0.113.50",)),
]
files["anonymous-request-allowed.near_miss"] = [
    ev(ANON, "get", "/livez", None, 200, level="Metadata", agent="kube-probe/1.36", ips=("10.0.0.10",)),
    ev(ANON, "get", "/readyz?verbose", None, 200, level="Metadata", agent="kube-probe/1.36", ips=("10.0.0.10",)),
    ev(ANON, "get", "/version?timeout=32s", None, 200, level="Metadata", agent=ANON_AGENT, ips=("203.0.113.50",)),
    ev(ANON, "get", "/.well-known/openid-configuration", None, 200, level="Metadata", agent=ANON_AGENT, ips=("203.0.113.50",)),
    ev(ANON, "list", "/api/v1/namespaces/kube-system/secrets", ref("secrets", "kube-system"), 403, level="Metadata", agent=ANON_AGENT,
       ips=("203.0.113.50",), reason='secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API group "" in the namespace "kube-system"'),
]

# ---- benign: a rollout and the control plane's own traffic
dep_tmpl = {"metadata": {"creationTimestamp": None, "labels": {"app": "web"}}, "spec": {
    "containers": [container("web", "registry.example.com/shop/web:1.5.0", {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
                             ports=[{"containerPort": 8080, "protocol": "TCP"}])],
    "securityContext": NONROOT}}
benign = [
    ev(ADMIN, "create", "/apis/apps/v1/namespaces/shop/deployments?fieldManager=kubectl-create&fieldValidation=Strict",
       ref("deployments", "shop", "web", api="v1", group="apps"), 201, level="Metadata"),
    ev(sa("kube-system", "deployment-controller"), "create", "/apis/apps/v1/namespaces/shop/replicasets",
       ref("replicasets", "shop", group="apps"), 201, level="Metadata",
       agent="kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/system:serviceaccount:kube-system:deployment-controller", ips=("10.0.0.10",)),
    pod_create(RS, "shop", pod_obj(None, "shop", dep_tmpl["spec"]["containers"], pod_sc=NONROOT, generate="web-5b7c9d8f6-",
        labels={"app": "web", "pod-template-hash": "5b7c9d8f6"},
        volumes=[{"name": "cfg", "configMap": {"name": "web-config", "defaultMode": 420}}]), final_name="web-5b7c9d8f6-q2x8z", agent=CTRL_AGENT),
    ev({"username": "system:kube-scheduler", "groups": ["system:authenticated"]}, "create", "/api/v1/namespaces/shop/pods/web-5b7c9d8f6-q2x8z/binding",
       ref("pods", "shop", "web-5b7c9d8f6-q2x8z", sub="binding"), 201,
       req={"kind": "Binding", "apiVersion": "v1", "metadata": {"name": "web-5b7c9d8f6-q2x8z", "namespace": "shop", "creationTimestamp": None},
            "target": {"kind": "Node", "name": "worker-1"}}, agent="kube-scheduler/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/scheduler", ips=("10.0.0.10",)),
    ev(node("worker-1"), "patch", "/api/v1/namespaces/shop/pods/web-5b7c9d8f6-q2x8z/status", ref("pods", "shop", "web-5b7c9d8f6-q2x8z", sub="status"), 200,
       level="Metadata", agent=KUBELET_AGENT, ips=("10.0.0.21",)),
    ev(node("worker-1"), "get", "/api/v1/namespaces/shop/secrets/web-tls", ref("secrets", "shop", "web-tls"), 200, level="Metadata",
       agent=KUBELET_AGENT, ips=("10.0.0.21",)),
    ev(sa("kube-system", "generic-garbage-collector"), "list", "/api/v1/secrets?limit=500&resourceVersion=0", ref("secrets"), 200, level="Metadata",
       agent="kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/system:serviceaccount:kube-system:generic-garbage-collector", ips=("10.0.0.10",)),
    ev(KCM, "get", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef", ref("secrets", "kube-system", "bootstrap-token-abcdef"), 200,
       level="Metadata", agent="kube-controller-manager/v1.36.0 (linux/amd64) kubernetes/5c3d2f1/tokens-controller", ips=("10.0.0.10",)),
    ev(ADMIN, "create", "/api/v1/namespaces/shop/services?fieldManager=kubectl-expose&fieldValidation=Strict", ref("services", "shop", "web"), 201,
       req=svc("web", "shop", "ClusterIP", [{"protocol": "TCP", "port": 80, "targetPort": 8080}])),
    ev(ADMIN, "create", "/api/v1/namespaces/shop/configmaps?fieldManager=kubectl-create&fieldValidation=Strict", ref("configmaps", "shop", "web-config"), 201,
       level="RequestResponse", req={"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "web-config", "namespace": "shop", "creationTimestamp": None},
                                     "data": {"LOG_LEVEL": "info"}}),
    ev(ADMIN, "get", "/api/v1/namespaces/shop/pods?limit=500", ref("pods", "shop"), 200),
    ev(node("worker-1"), "update", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1?timeout=10s",
       ref("leases", "kube-node-lease", "worker-1", group="coordination.k8s.io"), 200, level="Metadata", agent=KUBELET_AGENT, ips=("10.0.0.21",)),
    ev(ADMIN, "create", "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings?fieldManager=kubectl-create&fieldValidation=Strict",
       ref("rolebindings", "shop", "web-view", group="rbac.authorization.k8s.io"), 201, level="RequestResponse",
       req={"kind": "RoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": "web-view", "namespace": "shop", "creationTimestamp": None},
            "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": "shop"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}}),
    ev(ANON, "get", "/livez", None, 200, level="Metadata", agent="kube-probe/1.36", ips=("10.0.0.10",)),
    ev(ADMIN, "get", "/api/v1/namespaces/shop/pods/web-5b7c9d8f6-q2x8z/log?container=web", ref("pods", "shop", "web-5b7c9d8f6-q2x8z", sub="log"), 200,
       level="Metadata"),
]
files["benign"] = benign

for name, items in files.items():
    body = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {}, "items": items}
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        # Like Go's encoding/json: &, <, > inside strings as \u0026, \u003c, \u003e.
        text = json.dumps(body, indent=2)
        text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        f.write(text + "\n")
print(len(files), "files")
