#!/usr/bin/env bash
# The dashboards and rules checked for real (scripts/test.sh runs it; about three minutes):
#   1. dashboards/generate.py --check: the committed dashboards, rules and tests are what the
#      generator writes; each dashboard is Grafana's model with the ${datasource} variable
#   2. promtool check rules, promtool test rules: every alert fires and stays silent in its tests
#   3. the demo (scripts/run.sh in a scratch folder, deployments every few seconds) under its
#      Prometheus: once a deployment was promoted and one rolled back after promotion, every
#      panel's query runs through Prometheus's HTTP API (dashboards/check_panels.py): all parse,
#      >= 95 % return data (each empty one named), every metric is one a binary exports
# The last line is check_panels.py's JSON summary. Exit 0 when everything holds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

echo "== dashboards/generate.py --check"
python3 dashboards/generate.py --check
python3 - <<'EOF'
import glob, json
for path in sorted(glob.glob("dashboards/*-dashboard.json")):
    d = json.load(open(path))
    assert 39 <= d["schemaVersion"] <= 41, path
    names = [v["name"] for v in d["templating"]["list"]]
    assert names[0] == "datasource" and d["templating"]["list"][0]["query"] == "prometheus", path
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), path + ": duplicate panel ids"
    for p in d["panels"]:
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"] and all(t["expr"] for t in p["targets"]), p["title"]
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
    print("%s: %d panels, schemaVersion %d" % (path, len(ids), d["schemaVersion"]))
EOF

echo "== promtool"
promtool check rules dashboards/rules/*.rules.yml
(cd dashboards/rules/tests && promtool test rules ./*.test.yml)

echo "== the demo under Prometheus"
work=$(mktemp -d /tmp/gv-dashboards.XXXXXX)
DEMO_DATA=$work DEMO_FIRST_DEPLOY_S=10 DEMO_DEPLOY_EVERY_S=3 setsid scripts/run.sh \
  >"$work/run.out" 2>&1 &
demo=$!
stop_demo() {
  kill -TERM "$demo" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$demo" 2>/dev/null || true
}
trap 'stop_demo; rm -rf "$work"' EXIT
textfile=$work/metrics-textfile/guardctl_deploy.prom
ready=false
for _ in $(seq 1 480); do  # up to 4 minutes
  if ! kill -0 "$demo" 2>/dev/null; then
    tail -30 "$work/run.out" >&2
    echo "check-dashboards: the demo stopped" >&2
    exit 1
  fi
  if grep -q 'outcome="promoted"} [1-9]' "$textfile" 2>/dev/null &&
     grep -q 'outcome="rolled_back_post_promotion"} [1-9]' "$textfile" 2>/dev/null; then
    ready=true
    break
  fi
  sleep 0.5
done
if [ "$ready" != true ]; then
  tail -40 "$work/logs/deployments.log" >&2 || true
  echo "check-dashboards: no promotion and post-promotion rollback within 4 minutes" >&2
  exit 1
fi
grep -E '^deployment [0-9]' "$work/logs/deployments.log" || true
tail -3 "$work/logs/batches.log" || true
# The VaR needs 30 one-second price samples and the guardctl job scrapes every 5 s.
sleep 20
python3 dashboards/check_panels.py --prometheus http://127.0.0.1:9099 \
  --metrics http://127.0.0.1:8080/metrics --metrics http://127.0.0.1:8090/metrics \
  --metrics http://127.0.0.1:9109/metrics
echo "(work directory $work, removed; run scripts/run.sh to look at it yourself: $root/dashboards/README.md)"
