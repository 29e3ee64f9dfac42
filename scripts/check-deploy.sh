#!/usr/bin/env bash
# Validates every release artifact and the estate they run on, with real tools (see
# k8s-manifests/README.md and terraform/README.md for what each check means):
#   1. yamllint and shellcheck clean; the Containerfiles match their generator
#   2. every kustomization renders with the machine's kubectl and with Debian's kubectl 1.20
#      (its old embedded kustomize), to the same objects
#   3. every rendered object validates strictly against the Kubernetes, Argo Rollouts and
#      Prometheus Operator schemas, plus the cross-checks (deploy/check/check-k8s.cjs)
#   4. every configuration a ConfigMap or the images carry is accepted by its binary
#      (--check-config); compose.yaml names only images and binaries the build makes
#   5. the Terraform tree parses, references resolve, policies hold (deploy/check/check-terraform.cjs;
#      no terraform binary installs here, so `terraform validate` is not run)
#   6. the images build (scripts/images.sh --prebuilt) and each product's dev pod template runs
#      as a container until every probe answers 200, then stops cleanly on SIGTERM
# Usage: scripts/check-deploy.sh [--static] [--manifests DIR] [--terraform DIR]
#   --static       steps 1-5 only (no images; what the broken-copy tests run)
#   --manifests    check another copy of k8s-manifests/ (tests feed it broken copies)
#   --terraform    check another copy of terraform/
# Exit 0 when everything holds; otherwise each problem is printed as "check-deploy: <step>: ..."
# and the exit code is 1. The last line is a JSON summary.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$PWD
manifests=$root/k8s-manifests
terraform=$root/terraform
static=0
while [ "$#" -gt 0 ]; do
  case $1 in
    --static) static=1 ;;
    --manifests | --terraform)
      dir=$(cd "${2:-/nonexistent}" 2>/dev/null && pwd) ||
        { echo "check-deploy: $1 needs an existing directory, got '${2:-}'" >&2 && exit 2; }
      if [ "$1" = --manifests ]; then manifests=$dir; else terraform=$dir; fi
      shift
      ;;
    *)
      echo "check-deploy: unknown argument '$1'" >&2
      exit 2
      ;;
  esac
  shift
done
started=$(date +%s)
failures=0
fail() {
  echo "check-deploy: $*"
  failures=$((failures + 1))
}
step() { echo "== $*" >&2; }
work=$(mktemp -d /tmp/gv-check-deploy.XXXXXX)
containers=()
volumes=()
cleanup() {
  for c in "${containers[@]}"; do podman rm -f "$c" >/dev/null 2>&1; done
  for v in "${volumes[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- tools ---------------------------------------------------------------------------------------
PATH="$(dirname "$(scripts/node.sh)"):$PATH"
export PATH
if [ ! -d deploy/check/node_modules ] || [ deploy/check/package-lock.json -nt deploy/check/node_modules ]; then
  (cd deploy/check && npm ci --no-audit --no-fund --loglevel=error >&2) || fail "tools: npm ci in deploy/check failed"
  touch deploy/check/node_modules
fi
# Debian's kubectl 1.20 beside the machine's: the overlays must render with both.
old_kubectl=""
if kubectl version --client 2>/dev/null | grep -q 'v1\.20\.'; then
  old_kubectl=$(command -v kubectl)
else
  old_kubectl=$root/.tools/kubectl-1.20/usr/bin/kubectl
  if [ ! -x "$old_kubectl" ]; then
    (mkdir -p .tools/kubectl-1.20 && cd .tools/kubectl-1.20 && apt-get download kubernetes-client >/dev/null 2>&1 &&
      dpkg -x kubernetes-client_*.deb . && rm -f kubernetes-client_*.deb) ||
      echo "check-deploy: note: Debian's kubectl 1.20 could not be fetched; rendering with one kubectl" >&2
  fi
  [ -x "$old_kubectl" ] || old_kubectl=""
fi

# --- 1. linters ----------------------------------------------------------------------------------
step "yamllint, shellcheck, Containerfiles"
yaml_files=$(find "$manifests" "$root/compose.yaml" "$root/.github" "$root/deploy" -name node_modules -prune -o \
  \( -name '*.yaml' -o -name '*.yml' \) -type f -print 2>/dev/null)
# shellcheck disable=SC2086
if ! out=$(yamllint -c .yamllint.yaml -f parsable $yaml_files 2>&1); then
  while IFS= read -r line; do fail "yamllint: $line"; done <<<"$out"
fi
if ! out=$(shellcheck -f gcc scripts/*.sh scripts/drill/*.sh deploy/containers/*.sh tests/deploy/*.sh 2>&1); then
  while IFS= read -r line; do fail "shellcheck: $line"; done <<<"$out"
fi
if ! out=$(python3 deploy/containers/generate-containerfiles.py --check 2>&1); then
  fail "containerfiles: $out"
fi

# --- 2. render -----------------------------------------------------------------------------------
step "kustomize renders"
renders=()
while IFS= read -r kdir; do
  rel=${kdir#"$manifests"/}
  case $rel in */base | */rollout) continue ;; esac # parts, rendered through the overlays
  out=$work/render-$(echo "$rel" | tr / _).yaml
  if ! kubectl kustomize "$kdir" >"$out" 2>"$out.err"; then
    fail "render: $rel: $(grep -v '^# Warning' "$out.err" | sed 's/.*err="//' | head -3 | tr '\n' ' ' | cut -c1-300)"
    continue
  fi
  renders+=("$out")
  if [ -n "$old_kubectl" ]; then
    if ! "$old_kubectl" kustomize "$kdir" >"$out.old" 2>"$out.old.err"; then
      fail "render: $rel: kubectl 1.20 (Debian's): $(head -3 "$out.old.err" | tr '\n' ' ')"
    elif ! diff_out=$(python3 deploy/check/same-objects.py "$out" "$out.old" 2>&1); then
      fail "render: $rel: kubectl 1.20 renders other objects: $diff_out"
    fi
  fi
done < <(find "$manifests" -name kustomization.yaml -printf '%h\n' | sort)
[ "${#renders[@]}" -gt 0 ] || fail "render: no overlay found under $manifests"

# --- 3. schemas and cross-checks -----------------------------------------------------------------
step "schemas and cross-checks"
if [ "${#renders[@]}" -gt 0 ] && ! out=$(cd deploy/check && node check-k8s.cjs "${renders[@]}" 2>&1); then
  while IFS= read -r line; do fail "k8s: ${line#"$work"/render-}"; done <<<"$out"
fi

# --- 4. configurations and compose ---------------------------------------------------------------
step "configurations"
bin_of() { # the binary of a component: the install tree, else a build tree
  for d in "build/install/$1/bin" build/release/*/app build/release/*/*/ build/ci/*/app; do
    [ -x "$d/$2" ] && echo "$d/$2" && return 0
  done
  return 1
}
check_config() { # <binary> <file> [subcommand]: the file, with the pod's flags when it has them
  local binary=$1 file=$2 sub=${3:-} flags=()
  [ -f "$file.args" ] && mapfile -t flags <"$file.args"
  # shellcheck disable=SC2086
  if ! out=$("$binary" $sub --config "$file" "${flags[@]}" --check-config 2>&1); then
    fail "config: ${file#"$root"/}: $out"
  fi
}
te_bin=$(bin_of trading-engine trading-engine) || true
mes_bin=$(bin_of pharma-mes pharma-mes) || true
if [ -z "$te_bin" ] || [ -z "$mes_bin" ]; then
  fail "config: no trading-engine/pharma-mes binary built (scripts/build.sh release trading-engine pharma-mes)"
else
  check_config "$te_bin" "$root/trading-engine/app/config/trading-engine.toml"
  check_config "$mes_bin" "$root/pharma-mes/app/config/pharma-mes.toml" serve
  # Every TOML a ConfigMap of a render carries, by the binary whose pod mounts it.
  for r in "${renders[@]}"; do
    python3 deploy/check/configmap-files.py "$r" "$work/cm" | while IFS=$'\t' read -r product file; do
      case $product in
        trading-engine) [ "$(basename "$file")" = venue.toml ] || echo "$te_bin	$file	" ;;
        pharma-mes) echo "$mes_bin	$file	serve" ;;
      esac
    done
  done >"$work/configs.tsv"
  while IFS=$'\t' read -r binary file sub; do check_config "$binary" "$file" "$sub"; done <"$work/configs.tsv"
fi
if ! out=$(python3 deploy/check/check-compose.py compose.yaml 2>&1); then
  while IFS= read -r line; do fail "compose: $line"; done <<<"$out"
fi

# --- 5. terraform --------------------------------------------------------------------------------
step "terraform"
if ! out=$(cd deploy/check && node check-terraform.cjs "$terraform" 2>&1); then
  while IFS= read -r line; do fail "terraform: ${line#"$terraform"/}"; done <<<"$out"
fi

# --- 6. images and containers --------------------------------------------------------------------
images_json="{}"
if [ "$static" -eq 0 ]; then
  step "images"
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/deploy/containers/containers.conf}
  if ! scripts/images.sh --prebuilt >"$work/images.txt" 2>"$work/images.err"; then
    fail "images: scripts/images.sh --prebuilt failed: $(tail -5 "$work/images.err" | tr '\n' ' ')"
  else
    cat "$work/images.txt" >&2
    images_json=$(awk '/^localhost\/.* MB$/ {sub(/^localhost\//, "", $1); sub(/:.*/, "", $1); printf "%s\"%s\":%s", (n++?",":""), $1, $2}' "$work/images.txt")
    images_json="{$images_json}"
    revision=$(git rev-parse --short=12 HEAD)
    # Nothing in the install trees points into the source or build tree at run time.
    for binary in build/install/*/bin/*; do
      help=$("$binary" --help 2>&1; [ "$(basename "$binary")" = pharma-mes ] && "$binary" serve --help 2>&1)
      if grep -q -F -e "$root" <<<"$help"; then
        fail "install: $binary --help names a path in the checkout: $(grep -F -m1 -e "$root" <<<"$help")"
      fi
    done
    for image in trading-engine pharma-mes tools; do
      ref=localhost/$image:$revision
      meta=$(podman image inspect -f '{{.Config.User}}|{{.Config.StopSignal}}|{{index .Config.Labels "org.opencontainers.image.revision"}}|{{.Size}}' "$ref" 2>&1) ||
        { fail "images: $ref is missing"; continue; }
      IFS='|' read -r user signal label size <<<"$meta"
      case $user in "" | root | 0 | 0:*) fail "images: $ref runs as root" ;; esac
      [ "$signal" = SIGTERM ] || fail "images: $ref stops with '$signal', not SIGTERM"
      [ "$label" = "$revision" ] || fail "images: $ref is labelled revision '$label', not $revision"
      [ "$size" -lt 150000000 ] || fail "images: $ref is $((size / 1000000)) MB, over 150 MB"
      podman run --rm --network none --entrypoint /bin/cat "$ref" \
        /usr/share/guarded-venue/sbom/debian-packages.spdx.json 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["packages"]) > 50' 2>/dev/null ||
        fail "images: $ref has no readable SBOM (/usr/share/guarded-venue/sbom/debian-packages.spdx.json)"
    done
    step "pod templates as containers"
    run_pod() { # <render> <workload> <image> <secret values...>
      local render=$1 workload=$2 image=$3
      shift 3
      local spec name cid port code stopped rc
      if ! spec=$(cd deploy/check && node pod-to-podman.cjs "$render" "$workload" "$work/pod-${workload//\//-}" "$image" "$@" 2>&1); then
        fail "run: $workload: $spec"
        return
      fi
      name=gv-check-$(echo "$workload" | tr '/A-Z' '-a-z')-$$
      mapfile -t args < <(python3 -c 'import json,sys; [print(a) for a in json.loads(sys.argv[1])["run"]]' "$spec")
      mapfile -t pod_volumes < <(python3 -c 'import json,sys; [print(a) for a in json.loads(sys.argv[1])["volumes"]]' "$spec")
      for v in "${pod_volumes[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1; done
      volumes+=("${pod_volumes[@]}")
      containers+=("$name") # removed at exit, also when the run fails after creating it
      if ! cid=$(podman run --name "$name" "${args[@]}" 2>&1); then
        fail "run: $workload: podman run failed: $cid"
        return
      fi
      while IFS=$'\t' read -r kind path cport; do
        port=$(podman port "$name" "$cport/tcp" | head -1 | sed 's/.*://')
        code=000
        for _ in $(seq 150); do
          code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port$path" || true)
          [ "$code" = 200 ] && break
          sleep 0.2
        done
        if [ "$code" != 200 ]; then
          fail "run: $workload: $kind $path on $cport answered $code, not 200: $(podman logs "$name" 2>&1 | tail -3 | tr '\n' ' ')"
        else
          echo "   $workload: $kind $path -> 200" >&2
        fi
      done < <(python3 -c 'import json,sys; [print(p["kind"], p["path"], p["port"], sep="\t") for p in json.loads(sys.argv[1])["probes"]]' "$spec")
      grace=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["grace"])' "$spec")
      stopped=$(date +%s%N)
      podman stop -t "$grace" "$name" >/dev/null 2>&1
      stopped=$((($(date +%s%N) - stopped) / 1000000))
      rc=$(podman inspect -f '{{.State.ExitCode}}' "$name" 2>/dev/null || echo unknown)
      if [ "$rc" != 0 ]; then
        fail "run: $workload: exit code $rc after SIGTERM (logs: $(podman logs "$name" 2>&1 | tail -2 | tr '\n' ' '))"
      elif [ "$stopped" -ge $((grace * 1000)) ]; then
        fail "run: $workload: took ${stopped} ms to stop, past terminationGracePeriodSeconds ($grace s)"
      else
        echo "   $workload: stopped cleanly on SIGTERM in $stopped ms" >&2
      fi
    }
    te_render=$work/render-trading-engine_overlays_dev.yaml
    mes_render=$work/render-pharma-mes_overlays_dev.yaml
    # The MES signing key as the Secret carries it: a 32-byte Ed25519 seed in hex.
    key_dir=$work/key
    mkdir -p "$key_dir"
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key_dir/mes-signing.key"
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key_dir/journal-signing.key"
    [ -f "$te_render" ] && run_pod "$te_render" Rollout/trading-engine "localhost/trading-engine:$revision" \
      "trading-engine-secrets/admin-token=check-deploy-admin" \
      "trading-engine-secrets/guardrail-reset-token=check-deploy-reset" \
      "trading-engine-journal-key/journal-signing.key=$(cat "$key_dir/journal-signing.key")"
    [ -f "$mes_render" ] && [ -f "$key_dir/mes-signing.key" ] &&
      run_pod "$mes_render" Rollout/pharma-mes "localhost/pharma-mes:$revision" \
        "pharma-mes-secrets/db-url=unused-in-dev" \
        "pharma-mes-secrets/guardrail-reset-token=check-deploy-reset" \
        "pharma-mes-signing-key/mes-signing.key=$(cat "$key_dir/mes-signing.key")"
  fi
fi

elapsed=$(($(date +%s) - started))
printf '{"check":"deploy","static":%s,"renders":%d,"failures":%d,"images_mb":%s,"seconds":%d}\n' \
  "$([ "$static" -eq 1 ] && echo true || echo false)" "${#renders[@]}" "$failures" "$images_json" "$elapsed"
[ "$failures" -eq 0 ]
