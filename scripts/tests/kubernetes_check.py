"""Checks that the manifests in deploy/kubernetes/ fit together, which no schema can:
names and selectors that must agree, the peers list against the replicas, probes on the
metrics port, and the settings a Runnel StatefulSet depends on.

Usage: python kubernetes_check.py DIR   (run by scripts/tests/kubernetes.sh, with PyYAML)
"""

import pathlib
import re
import sys

import yaml


def fail(message):
    print(f"error: deploy/kubernetes: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def load(directory):
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    listed = sorted(kustomization.get("resources", []))
    present = sorted(p.name for p in directory.glob("*.yaml") if p.name != "kustomization.yaml")
    check(listed == present, f"kustomization.yaml lists {listed}, the directory holds {present}")
    objects = {}
    for name in listed:
        for doc in yaml.safe_load_all((directory / name).read_text()):
            if doc:
                objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return kustomization, objects


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def main():
    directory = pathlib.Path(sys.argv[1])
    kustomization, objects = load(directory)
    sts = objects.get(("StatefulSet", "runnel")) or fail("no StatefulSet runnel")
    spec = sts["spec"]
    pod = spec["template"]
    labels = pod["metadata"]["labels"]

    def selects_pods(selector, what):
        check(selector and all(labels.get(k) == v for k, v in selector.items()), f"{what} does not select the pods")

    selects_pods(spec["selector"]["matchLabels"], "the StatefulSet selector")
    check(spec["podManagementPolicy"] == "Parallel", "pods must start in parallel: none is ready alone")

    headless = objects.get(("Service", spec["serviceName"])) or fail(f"no Service {spec['serviceName']}")
    check(headless["spec"].get("clusterIP") == "None", "the peer Service must be headless")
    check(headless["spec"].get("publishNotReadyAddresses") is True,
          "the peer Service must publish unready pods, or a starting cluster never forms")
    selects_pods(headless["spec"]["selector"], "the peer Service")
    client = objects.get(("Service", "runnel")) or fail("no client Service runnel")
    selects_pods(client["spec"]["selector"], "the client Service")
    pdb = objects.get(("PodDisruptionBudget", "runnel")) or fail("no PodDisruptionBudget")
    selects_pods(pdb["spec"]["selector"]["matchLabels"], "the PodDisruptionBudget")
    check(pdb["spec"].get("maxUnavailable") == 1, "the PodDisruptionBudget must allow one pod down at most")

    (container,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    check(ports == {"client": 50051, "peer": 50151, "metrics": 9090, "aws": 4567}, f"container ports {ports}")
    for svc in (headless, client):
        for port in svc["spec"]["ports"]:
            check(port["targetPort"] in ports, f"Service {svc['metadata']['name']} targets unknown port {port}")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container[probe]["httpGet"]
        check(get["path"] == path and get["port"] == "metrics", f"{probe} must GET {path} on the metrics port")

    env = env_of(container)
    check(env.get("RUNNEL_ID_FROM_HOSTNAME") == "true", "node ids must come from the pod ordinals")
    check(env.get("RUNNEL_METRICS_LISTEN", "").endswith(":9090"), "metrics must listen on the metrics port")
    check(env.get("RUNNEL_PEER_LISTEN", "").endswith(":50151"), "peers must listen on the peer port")
    check(env.get("RUNNEL_AWS_LISTEN", "").endswith(":4567"), "the AWS protocol must listen on the aws port")
    client_ports = {p["name"] for p in client["spec"]["ports"]}
    check({"client", "aws"} <= client_ports, f"the client Service must offer the gRPC and AWS ports, has {client_ports}")
    check(env.get("RUNNEL_LISTEN", "").endswith(":50051"), "clients must be served on the client port")
    # Ordinal i is node i + 1, reached through the headless Service by its pod name.
    peers = dict(spec.split("=", 1) for spec in env["RUNNEL_PEERS"].split(","))
    expected = {
        str(i + 1): f"http://{sts['metadata']['name']}-{i}.{headless['metadata']['name']}"
        f".$(POD_NAMESPACE).svc.cluster.local:50151"
        for i in range(spec["replicas"])
    }
    check(peers == expected, f"RUNNEL_PEERS {peers} must name every replica: {expected}")
    for name in re.findall(r"\$\((\w+)\)", env["RUNNEL_PEERS"] + env["RUNNEL_ADVERTISE"]):
        # Kubernetes expands $(VAR) only from variables defined earlier in the list.
        names = [e["name"] for e in container["env"]]
        check(name in names and names.index(name) < names.index("RUNNEL_PEERS"), f"$({name}) is not defined before use")

    security = pod["spec"]["securityContext"]
    check(security.get("runAsNonRoot") is True and security.get("runAsUser") == 10001,
          "pods must run as the image's non-root user 10001")
    check(security.get("fsGroup") == 10001, "the data volume must be writable by group 10001")
    csc = container["securityContext"]
    check(csc.get("readOnlyRootFilesystem") is True, "the root filesystem must be read-only")
    check(csc.get("allowPrivilegeEscalation") is False, "no privilege escalation")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"], "every capability must be dropped")
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    check(mounts.get("/var/lib/runnel") == "data", "the data directory must be the claimed volume")
    claims = [c["metadata"]["name"] for c in spec["volumeClaimTemplates"]]
    check(claims == ["data"], f"volumeClaimTemplates {claims}")
    resources = container["resources"]
    check(resources.get("requests") and resources.get("limits", {}).get("memory"), "requests and a memory limit")
    check(pod["spec"]["terminationGracePeriodSeconds"] >= 30, "at least 30 s for a graceful handoff")

    images = {i["name"] for i in kustomization.get("images", [])}
    check(container["image"] in images, f"kustomization.yaml must set the image {container['image']}")


main()
