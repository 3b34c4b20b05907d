#!/usr/bin/env bash
# Checks deploy/kubernetes/ offline: every manifest against the Kubernetes JSON schemas
# (kubernetes-validate from PyPI, which ships them; strict, so a misspelt field fails) of
# an older and the newest Kubernetes it knows, and the manifests against each other
# (kubernetes_check.py). The validator lives in a virtualenv in the cache directory,
# installed on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."

VALIDATOR=kubernetes-validate==1.37.0
# The oldest Kubernetes still widely run, and the newest the validator knows.
VERSIONS=(1.28.0 1.37.0)
venv="${XDG_CACHE_HOME:-$HOME/.cache}/runnel-kubernetes-validate-1.37.0"

skip() {
    echo "SKIPPED: Kubernetes manifest validation: $*" >&2
    echo "         (needs python3 with venv and pip, and PyPI to install $VALIDATOR once)" >&2
    exit 0
}

if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    command -v python3 >/dev/null || skip "python3 is missing"
    rm -rf "$venv"
    python3 -m venv "$venv" >/dev/null 2>&1 || skip "python3 -m venv failed"
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$VALIDATOR" >"$venv.log" 2>&1; then
        tail -n 5 "$venv.log" >&2
        rm -rf "$venv"
        skip "pip could not install $VALIDATOR"
    fi
fi

manifests=(deploy/kubernetes/*.yaml)
resources=()
for file in "${manifests[@]}"; do
    [ "$(basename "$file")" = kustomization.yaml ] || resources+=("$file")
done

for version in "${VERSIONS[@]}"; do
    "$venv/bin/kubernetes-validate" --strict --quiet --kubernetes-version "$version" "${resources[@]}"
done

# The validator must catch what it is here for: a wrong type and an unknown field.
broken="$(mktemp -d)"
trap 'rm -rf "$broken"' EXIT
sed 's/^  replicas: 3$/  replicas: "three"/' deploy/kubernetes/statefulset.yaml >"$broken/wrong-type.yaml"
sed 's/^  serviceName: runnel-peer$/  serviceName: runnel-peer\n  serviceNmae: typo/' \
    deploy/kubernetes/statefulset.yaml >"$broken/unknown-field.yaml"
for file in "$broken"/*.yaml; do
    if cmp -s "$file" deploy/kubernetes/statefulset.yaml; then
        echo "error: $(basename "$file") was not made broken: update this test" >&2
        exit 1
    fi
    if "$venv/bin/kubernetes-validate" --strict --quiet "$file" >/dev/null 2>&1; then
        echo "error: kubernetes-validate accepted $(basename "$file")" >&2
        exit 1
    fi
done

"$venv/bin/python" scripts/tests/kubernetes_check.py deploy/kubernetes
echo "kubernetes manifests: ${#resources[@]} files valid against Kubernetes ${VERSIONS[*]}, consistent"
