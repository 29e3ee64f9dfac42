#!/usr/bin/env bash
# scripts/check-deploy.sh must fail on bad deployment files, naming the problem: each case breaks
# one thing in a copy of k8s-manifests/ or terraform/, runs the static checks on the copy and
# expects exit 1 and a line containing the expected words. The unbroken copy must pass.
#   tests/deploy/check_deploy_test.sh        (prints one line per case; exit 1 when one fails)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
work=$(mktemp -d /tmp/gv-check-deploy-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
jobs=${JOBS:-2}

# One case: its own copy in $work/<n>; the result in $work/<n>/result.
fresh_copy() { # <dir>
  rm -rf "$1" && mkdir -p "$1"
  cp -r "$root/k8s-manifests" "$1/k8s"
  cp -r "$root/terraform" "$1/tf"
}
run_check() { # <dir>
  scripts/check-deploy.sh --static --manifests "$1/k8s" --terraform "$1/tf" >"$1/out" 2>/dev/null
}
run_case() { # <n> <name> <expected words> <sed expression> <file relative to the copy root>
  local dir=$work/$1 name=$2 words=$3 expression=$4 file=$5
  fresh_copy "$dir"
  local target="$dir/$file"
  if [ -z "$expression" ]; then
    if run_check "$dir"; then
      echo "ok   the unbroken files pass" >"$dir/result"
    else
      { echo "FAIL the unbroken files do not pass:" && grep '^check-deploy:' "$dir/out" | head -10; } >"$dir/result"
    fi
    return
  fi
  if ! grep -q . "$target" 2>/dev/null; then
    echo "FAIL $name: $file is not in the copy" >"$dir/result"
    return
  fi
  cp "$target" "$dir/before"
  sed -i "$expression" "$target"
  if cmp -s "$target" "$dir/before"; then
    echo "FAIL $name: the edit changed nothing in $file" >"$dir/result"
  elif run_check "$dir"; then
    echo "FAIL $name: check-deploy passed a broken copy" >"$dir/result"
  elif ! grep -F -q -- "$words" "$dir/out"; then
    { echo "FAIL $name: no line says \"$words\"; it said:" && grep '^check-deploy:' "$dir/out" | head -5; } >"$dir/result"
  else
    echo "ok   $name: $(grep -F -m1 -- "$words" "$dir/out" | cut -c1-200)" >"$dir/result"
  fi
}
cases=0
expect() { # <name> <expected words> <sed expression> <file>: runs in the background, $jobs at a time
  cases=$((cases + 1))
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  run_case "$cases" "$@" &
}

expect "unbroken" "" "" ""
expect "typo'd field" "unknown field spec.template.spec.containers[0].readinesProbe" \
  's/          readinessProbe:/          readinesProbe:/' k8s/trading-engine/base/rollout.yaml
expect "selector that matches nothing" 'selector {"app":"pharma-mess"} matches no pod template' \
  '0,/    app: pharma-mes/s//    app: pharma-mess/' k8s/pharma-mes/rollout/services.yaml
expect "probe on a wrong port" "readinessProbe port 8091 is not a container port" \
  '/readinessProbe:/,/port: http/s/port: http/port: 8091/' k8s/pharma-mes/base/deployment.yaml
expect "container port against the config" "port http is 8081 but http.port is 8080" \
  's/containerPort: 8080/containerPort: 8081/' k8s/trading-engine/base/rollout.yaml
expect "analysis off the guardrail contract" "is not /guardrail/v1/status" \
  's#/guardrail/v1/status#/guardrail/v1/state#' k8s/trading-engine/base/analysis-template.yaml
expect "scale-down shorter than the analysis" "must be longer than the post-promotion analysis" \
  's/scaleDownDelaySeconds: 360/scaleDownDelaySeconds: 60/' k8s/pharma-mes/rollout/rollout.yaml
expect "an image the build does not make" "is not one the build produces" \
  's/newName: localhost\/pharma-mes/newName: localhost\/pharma-mes-ui/' k8s/pharma-mes/overlays/dev/kustomization.yaml
expect "a mount inside a read-only mount" "is inside the read-only mount /etc/guarded-venue" \
  's#mountPath: /var/run/secrets/guarded-venue#mountPath: /etc/guarded-venue/keys#' k8s/pharma-mes/base/deployment.yaml
expect "a ConfigMap key the binary does not accept" "unknown key 'journal.snapshot_evry'" \
  's/^\[journal\]/[journal]\nsnapshot_evry = 5/' k8s/trading-engine/base/trading-engine.toml
expect "a container flag the binary does not accept" "unknown key 'journal.signing_kye'" \
  's/--journal.signing_key=/--journal.signing_kye=/' k8s/trading-engine/base/rollout.yaml
expect "a kustomization that does not render" "render: trading-engine/overlays/prod" \
  's/  - fix-target-group.yaml/  - fix-target-groups.yaml/' k8s/trading-engine/overlays/prod/kustomization.yaml
# (The Prometheus Operator's models check types and required fields, not unknown ones.)
expect "an alert's duration that is not one" "groups/3/rules/4/for must be string" \
  '0,/          for: "1m"/s//          for: 60/' k8s/cluster/monitoring/prometheusrule.yaml
expect "undeclared Terraform variable" "var.retention_dayz is not declared" \
  's/var.retention_days/var.retention_dayz/' tf/modules/evidence/main.tf
expect "module argument the module does not declare" 'declares no variable "multi_azz"' \
  's/  multi_az                 = var.db_multi_az/  multi_azz                = var.db_multi_az/' tf/stack/main.tf
expect "evidence bucket not in compliance mode" "Object Lock must default to COMPLIANCE mode" \
  's/mode = "COMPLIANCE"/mode = "GOVERNANCE"/' tf/modules/evidence/main.tf
expect "admin port open to the internet" "open to the internet (0.0.0.0/0)" \
  's#    cidr_blocks = \[var.cidr_block\]#    cidr_blocks = ["0.0.0.0/0"]#' tf/modules/network/main.tf
expect "prod database without Multi-AZ" "prod: db_multi_az must be true" \
  's/db_multi_az              = true/db_multi_az              = false/' tf/environments/prod/terraform.tfvars
expect "state without its lock" "the S3 backend needs a dynamodb_table lock" \
  '/dynamodb_table/d' tf/environments/prod/backend.hcl
expect "unpinned provider" "provider aws is not pinned" \
  's/version = "5.82.2"/version = "~> 5.0"/' tf/stack/versions.tf
# shellcheck disable=SC2016  # a sed command, not a shell expansion
expect "Terraform that does not parse" "does not parse" \
  '$a resource "aws_s3_bucket" "x" {' tf/modules/ecr/main.tf

wait
passed=0
failed=0
for n in $(seq "$cases"); do
  cat "$work/$n/result"
  if head -1 "$work/$n/result" | grep -q '^ok'; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "check_deploy_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
