#!/usr/bin/env bash
# Builds the OCI images with Podman (or Docker when IMAGE_TOOL=docker):
#   localhost/trading-engine, localhost/pharma-mes and localhost/tools, each tagged with the git
#   revision (short) and `latest`.
#   scripts/images.sh [--prebuilt] [trading-engine|pharma-mes|tools ...]   (default: all three)
# --prebuilt: build the release preset here (ccache makes it cheap when the tests already built
#   it), `cmake --install --strip` each component into build/install/<component> and build the
#   Containerfile's `prebuilt` target, which copies that tree instead of compiling in the image.
#   Without it the Containerfile's builder stage compiles from the source (the users' path).
# The base image comes from scripts/base-image.sh (a registry, else debootstrap). Podman runs
# with deploy/containers/containers.conf (runc, cgroupfs: what these machines need).
# Prints one line per image: name, size in MB.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/containers/containers.conf}
tool=${IMAGE_TOOL:-podman}
base=${BASE_IMAGE:-localhost/debian:bookworm-slim}
prebuilt=0
components=()
for arg in "$@"; do
  case $arg in
    --prebuilt) prebuilt=1 ;;
    trading-engine | pharma-mes | tools) components+=("$arg") ;;
    *)
      echo "images.sh: unknown argument '$arg' (components: trading-engine pharma-mes tools)" >&2
      exit 2
      ;;
  esac
done
[ "${#components[@]}" -gt 0 ] || components=(trading-engine pharma-mes tools)

containerfile_of() {
  case $1 in
    trading-engine) echo trading-engine/Containerfile ;;
    pharma-mes) echo pharma-mes/Containerfile ;;
    tools) echo guardrails/Containerfile ;;
  esac
}
targets_of() {
  case $1 in
    trading-engine) echo trading-engine ;;
    pharma-mes) echo pharma-mes ;;
    tools) echo guardctl guardrail-sim mes-sensor-sim fix_load ;;
  esac
}

BASE_IMAGE=$base scripts/base-image.sh
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
version=$(sed -n 's/^project(guarded_venue_mes VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

if [ "$prebuilt" -eq 1 ]; then
  targets=()
  for c in "${components[@]}"; do read -ra t <<<"$(targets_of "$c")" && targets+=("${t[@]}"); done
  build_log=$(mktemp)
  if ! scripts/build.sh release "${targets[@]}" >"$build_log" 2>&1; then
    tail -30 "$build_log" >&2
    echo "images.sh: the release build failed (above)" >&2
    exit 1
  fi
  rm -f "$build_log"
  for c in "${components[@]}"; do
    rm -rf "build/install/$c"
    cmake --install build/release --component "$c" --prefix "build/install/$c" --strip >/dev/null ||
      { echo "images.sh: cmake --install of $c failed" >&2 && exit 1; }
  done
fi

for c in "${components[@]}"; do
  image=localhost/$c
  target=()
  [ "$prebuilt" -eq 1 ] && target=(--target prebuilt)
  "$tool" build --quiet --network host \
    --build-arg BASE="$base" \
    "${target[@]}" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    -f "$(containerfile_of "$c")" -t "$image:$revision" -t "$image:latest" . >/dev/null
  size=$("$tool" image inspect -f '{{.Size}}' "$image:$revision")
  echo "$image:$revision $((size / 1000000)) MB"
done
