#!/usr/bin/env python3
"""Runs every panel query of the dashboards against a real Prometheus and checks the metrics.

  check_panels.py --prometheus URL --metrics URL [--metrics URL ...] [--min-ratio 0.95]
                  [--dashboards DIR] [--rules FILE ...]

For each dashboard in DIR (default: this folder): the query variables are resolved the way
Grafana does (label values from Prometheus; a multi-value variable becomes its "All" regex .*),
the built-in ones substituted ($__rate_interval 1m, $__range 1h, $__interval 15s), and every
target's expression (and each annotation's) is run through /api/v1/query:
  - every query must parse (Prometheus answers "success"),
  - at least --min-ratio of them must return data (a number: NaN is no data); each empty one is
    named,
  - every metric a query names must be exported by one of the --metrics endpoints (the binaries'
    /metrics, the node exporter serving guardctl's textfile), or be a recording rule of the
    --rules files (whose own expressions are checked the same way).
The last line is a JSON summary; exit 0 when all three hold.

Python's standard library and PyYAML (Debian's python3-yaml).
"""

import argparse
import glob
import json
import os
import re
import sys
import urllib.parse
import urllib.request

import yaml  # Debian's python3-yaml

HERE = os.path.dirname(os.path.abspath(__file__))
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "inf", "nan", "le", "atan2"}


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode("utf-8", "replace")


def query(prometheus, expr):
    url = prometheus.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        doc = json.loads(get(url))
    except urllib.error.HTTPError as e:  # 400: a parse error, with Prometheus's JSON body
        doc = json.loads(e.read().decode("utf-8", "replace"))
    return doc


def has_data(data):
    """A result with at least one number (NaN, as from 0/0, is no data)."""
    result = data["result"]
    if data["resultType"] == "scalar":
        result = [{"value": result}]
    for r in result if isinstance(result, list) else []:
        value = r.get("value", [None, "NaN"])[1]
        if value not in ("NaN", "+Inf", "-Inf"):
            return True
    return False


def exported_names(urls):
    names = set()
    for url in urls:
        for line in get(url).splitlines():
            if line and not line.startswith("#"):
                names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def metric_names(expr):
    """The metric names an expression reads (a small tokenizer: strings, label matchers,
    grouping clauses and durations are removed; what is left that is not a function or a
    keyword is a metric)."""
    e = re.sub(r'"(\\.|[^"\\])*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        token = m.group(0)
        after = e[m.end():].lstrip()
        if after.startswith("(") or token.lower() in KEYWORDS:
            continue
        if re.fullmatch(r"\d+(\.\d+)?(e\d+)?", token):
            continue
        names.add(token)
    return names


def recording_rules(paths):
    """{record name: [its expressions]} from Prometheus rule files."""
    records = {}
    for path in paths:
        for group in (yaml.safe_load(open(path)) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule:
                    records.setdefault(rule["record"], []).append(rule["expr"])
    return records


def resolve_variables(prometheus, dashboard):
    values = {"__rate_interval": "1m", "__range": "1h", "__interval": "15s",
              "datasource": "prometheus"}
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        if v.get("multi") or v.get("includeAll"):
            values[v["name"]] = v.get("allValue") or ".*"
            continue
        q = substitute(v["query"]["query"] if isinstance(v["query"], dict) else v["query"], values)
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip())
        chosen = ""
        if m:
            url = (prometheus.rstrip("/") + "/api/v1/series?" +
                   urllib.parse.urlencode({"match[]": m.group(1)}))
            found = sorted({s.get(m.group(2), "") for s in json.loads(get(url))["data"]} - {""})
            chosen = found[0] if found else ""
        values[v["name"]] = chosen
    return values


def substitute(expr, values):
    def one(m):
        name = m.group(1) or m.group(2)
        return values.get(name, m.group(0))
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, expr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--metrics", action="append", required=True)
    parser.add_argument("--dashboards", default=HERE)
    parser.add_argument("--rules", action="append",
                        default=None, help="rule files (default: dashboards/rules/*.rules.yml)")
    parser.add_argument("--min-ratio", type=float, default=0.95)
    args = parser.parse_args()
    rules = args.rules or sorted(glob.glob(os.path.join(HERE, "rules", "*.rules.yml")))
    exported = exported_names(args.metrics)
    records = recording_rules(rules)

    queries, empty, parse_errors, unknown = 0, [], [], set()

    def check_names(expr, where, seen=()):
        for name in metric_names(expr):
            if name in records:
                if name not in seen:
                    for inner in records[name]:
                        check_names(inner, where + " via " + name, seen + (name,))
            elif name not in exported:
                unknown.add("%s (%s)" % (name, where))

    panels_total = 0
    for path in sorted(glob.glob(os.path.join(args.dashboards, "*-dashboard.json"))):
        dashboard = json.load(open(path))
        values = resolve_variables(args.prometheus, dashboard)
        items = []
        for panel in dashboard["panels"]:
            if panel.get("type") == "row":
                continue
            panels_total += 1
            for t in panel.get("targets", []):
                items.append(("%s / %s / %s" % (dashboard["uid"], panel["title"], t["refId"]),
                              t["expr"]))
        for a in dashboard.get("annotations", {}).get("list", []):
            if a.get("expr"):
                items.append(("%s / annotation %s" % (dashboard["uid"], a["name"]), a["expr"]))
        for where, raw in items:
            expr = substitute(raw, values)
            queries += 1
            check_names(raw, where)
            doc = query(args.prometheus, expr)
            if doc.get("status") != "success":
                parse_errors.append("%s: %s (%s)" % (where, doc.get("error"), expr))
            elif not has_data(doc["data"]):
                empty.append(where)
    with_data = queries - len(empty) - len(parse_errors)
    ratio = with_data / queries if queries else 0
    ok = not parse_errors and not unknown and ratio >= args.min_ratio
    for e in empty:
        print("empty: " + e)
    for e in parse_errors:
        print("does not parse: " + e)
    for u in sorted(unknown):
        print("not exported by any binary: " + u)
    print(json.dumps({"dashboards": len(glob.glob(os.path.join(args.dashboards, "*-dashboard.json"))),
                      "panels": panels_total, "queries": queries, "with_data": with_data,
                      "ratio": round(ratio, 3), "empty": empty, "parse_errors": len(parse_errors),
                      "unknown_metrics": sorted(unknown), "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
