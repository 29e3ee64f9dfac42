#!/usr/bin/env python3
"""Generates the dashboards, the Prometheus rules and their promtool unit tests.

  python3 dashboards/generate.py          # writes the files below
  python3 dashboards/generate.py --check  # exit 1 if a committed file differs from what it writes

Writes:
  dashboards/executive-dashboard.json, finance-dashboard.json, pharma-dashboard.json
      Grafana dashboard JSON model (schemaVersion 39: Grafana 10.4/11), a ${datasource}
      Prometheus variable, units, thresholds at the SLOs (50 ms, 98 %)
  dashboards/rules/slo.rules.yml       recording rules (each SLO's error ratio over every burn-rate
                                       window) and alerts (multi-window burn rates: the guardrail's
                                       1m/5s@14.4 and 6m/30s@6, the SRE workbook's 1h/5m@14.4 and
                                       6h/30m@6; a minimum-traffic guard for batch integrity)
  dashboards/rules/operations.rules.yml  latched rollback, evidence/audit chain, stale scrape,
                                       kill switches, limits, compliance
  dashboards/rules/tests/*.test.yml    promtool unit tests: every alert firing and staying silent
  k8s-manifests/cluster/monitoring/prometheusrule.yaml  both rule files as one PrometheusRule

One table of SLOs drives the rules, the tests and the SLO panels, so they cannot disagree.
Python's standard library only.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------------------
# The SLOs. errors/total: PromQL over a window {w}; the error ratio is errors / total.
SLOS = [
    {
        "app": "trading-engine", "slo": "latency", "name": "TradingOrderAckLatency",
        "title": "Venue: order acknowledged within 50 ms (99 %)", "budget": 0.01,
        "errors": 'sum(rate(trading_order_ack_seconds_count[{w}]))'
                  ' - sum(rate(trading_order_ack_seconds_bucket{{le="0.05"}}[{w}]))',
        "total": 'sum(rate(trading_order_ack_seconds_count[{w}]))',
        "windows": ["guardrail", "sre"],
        # promtool input: name -> series of (per interval increments)
        "test_series": lambda good, bad: {
            'trading_order_ack_seconds_count': good + bad,
            'trading_order_ack_seconds_bucket{le="0.05"}': good},
    },
    {
        "app": "pharma-mes", "slo": "latency", "name": "MesApiLatency",
        "title": "MES: API answered within 50 ms (99 %)", "budget": 0.01,
        "errors": 'sum(rate(mes_http_request_duration_seconds_count[{w}]))'
                  ' - sum(rate(mes_http_request_duration_seconds_bucket{{le="0.05"}}[{w}]))',
        "total": 'sum(rate(mes_http_request_duration_seconds_count[{w}]))',
        "windows": ["guardrail", "sre"],
        "test_series": lambda good, bad: {
            'mes_http_request_duration_seconds_count': good + bad,
            'mes_http_request_duration_seconds_bucket{le="0.05"}': good},
    },
    {
        "app": "pharma-mes", "slo": "api_errors", "name": "MesApiErrors",
        "title": "MES: API requests without a server error (99 %)", "budget": 0.01,
        "errors": 'sum(rate(mes_http_requests_total{{code="5xx"}}[{w}]))',
        "total": 'sum(rate(mes_http_requests_total[{w}]))',
        "windows": ["guardrail", "sre"],
        "test_series": lambda good, bad: {
            'mes_http_requests_total{code="2xx"}': good,
            'mes_http_requests_total{code="5xx"}': bad},
    },
    {
        # Low volume (a batch takes hours on a real plant): the SRE windows only, and no alert
        # unless the long window holds min_events finished batches.
        "app": "pharma-mes", "slo": "batch_integrity", "name": "MesBatchIntegrity",
        "title": "MES: batch records intact (98 %)", "budget": 0.02,
        "errors": 'delta(mes:batches_not_intact:max[{w}])',
        "total": 'delta(mes:batches_terminal:max[{w}])',
        "windows": ["sre"], "min_events": 10,
        "test_series": lambda good, bad: {
            'mes_batches_terminal': good + bad, 'mes_batches_not_intact': bad},
    },
]

WINDOW_PAIRS = {
    # label: (long, short, factor, severity, guard window)
    "guardrail": [("GuardrailFast", "1m", "5s", 14.4, "page"),
                  ("GuardrailSlow", "6m", "30s", 6, "page")],
    "sre": [("Page", "1h", "5m", 14.4, "page"), ("Ticket", "6h", "30m", 6, "ticket")],
}


def windows_of(slo):
    out = []
    for kind in slo["windows"]:
        for _, long, short, _, _ in WINDOW_PAIRS[kind]:
            for w in (long, short):
                if w not in out:
                    out.append(w)
    return out


def sel(slo):
    return '{app="%s",slo="%s"}' % (slo["app"], slo["slo"])


def slo_rules():
    groups = []
    helpers = {
        "name": "slo-inputs",
        "rules": [
            # The MES batch counts are read from the database: every colour reports the same.
            {"record": "mes:batches_terminal:max", "expr": "max(mes_batches_terminal)"},
            {"record": "mes:batches_not_intact:max", "expr": "max(mes_batches_not_intact)"},
        ],
    }
    for slo in SLOS:
        helpers["rules"].append({"record": "slo:error_budget",
                                 "expr": "vector(%g)" % slo["budget"],
                                 "labels": {"app": slo["app"], "slo": slo["slo"]}})
    groups.append(helpers)
    ratios = {"name": "slo-error-ratios", "rules": []}
    for slo in SLOS:
        for w in windows_of(slo):
            ratios["rules"].append({
                "record": "slo:error_ratio:rate" + w,
                "expr": "(%s) / (%s)" % (slo["errors"].format(w=w), slo["total"].format(w=w)),
                "labels": {"app": slo["app"], "slo": slo["slo"]}})
    groups.append(ratios)
    alerts = {"name": "slo-burn-rate-alerts", "rules": []}
    for slo in SLOS:
        for kind in slo["windows"]:
            for label, long, short, factor, severity in WINDOW_PAIRS[kind]:
                threshold = "(%g * %g)" % (factor, slo["budget"])
                expr = ("slo:error_ratio:rate%s%s > %s\nand\nslo:error_ratio:rate%s%s > %s"
                        % (long, sel(slo), threshold, short, sel(slo), threshold))
                if "min_events" in slo:
                    expr += ("\nand on()\ndelta(mes:batches_terminal:max[%s]) >= %d"
                             % (long, slo["min_events"]))
                alerts["rules"].append({
                    "alert": "%sBurnRate%s" % (slo["name"], label),
                    "expr": expr,
                    "labels": {"severity": severity, "window": "%s/%s" % (long, short)},
                    "annotations": {
                        "summary": "%s: error budget burning %gx over %s and %s"
                                   % (slo["title"], factor, long, short),
                        "runbook": "dashboards/README.md#alerts"}})
    groups.append(alerts)
    return {"groups": groups}


# Alerts that are not burn rates: (name, expr, for, severity, summary, test)
# test: (series {name: (start, step)}, interval) firing, and the same for silent.
OPERATIONS = [
    ("GuardrailRollbackLatched", "max by (job) (guardrail_rollback_latched) == 1", "0m", "page",
     "A guardrail latched a rollback verdict: the controller must roll back, an operator "
     "resets it after the cause is understood",
     {"guardrail_rollback_latched{job=\"pharma-mes\",instance=\"a\"}": (1, 0)},
     {"guardrail_rollback_latched{job=\"pharma-mes\",instance=\"a\"}": (0, 0)}),
    ("GuardrailEvidenceAppendFailing", "sum by (job) (increase(guardrail_evidence_errors_total[5m])) > 0",
     "0m", "page", "The guardrail's evidence log cannot be written: decisions go unrecorded",
     {"guardrail_evidence_errors_total{job=\"trading-engine\",instance=\"a\"}": (0, 1)},
     {"guardrail_evidence_errors_total{job=\"trading-engine\",instance=\"a\"}": (3, 0)}),
    ("MesAuditChainBroken", "min(mes_audit_chain_verified) == 0", "0m", "page",
     "The MES audit chain or a signature does not verify: records may have been changed",
     {"mes_audit_chain_verified{job=\"pharma-mes\",instance=\"a\"}": (0, 0)},
     {"mes_audit_chain_verified{job=\"pharma-mes\",instance=\"a\"}": (1, 0)}),
    ("MesAuditVerificationStale",
     "time() - max(mes_audit_chain_last_verification_timestamp_seconds) > 2700", "5m", "ticket",
     "The MES audit chain has not been verified for 45 minutes (three verification periods)",
     {"mes_audit_chain_last_verification_timestamp_seconds{job=\"pharma-mes\",instance=\"a\"}": (0, 0)},
     {"mes_audit_chain_last_verification_timestamp_seconds{job=\"pharma-mes\",instance=\"a\"}": (0, 60)}),
    ("ScrapeTargetDown", "max by (job) (up) == 0", "1m", "page",
     "Prometheus cannot scrape any instance of a job: its figures are stale",
     {"up{job=\"trading-engine\",instance=\"a\"}": (0, 0)},
     {"up{job=\"trading-engine\",instance=\"a\"}": (1, 0)}),
    ("DeploymentRolledBack",
     "sum by (app) (increase(guardctl_deployments_total{outcome=~\"rolled_back.*\"}[15m])) > 0",
     "0m", "info", "A deployment was rolled back in the last 15 minutes (see its evidence bundle)",
     {"guardctl_deployments_total{app=\"pharma-mes\",outcome=\"rolled_back_post_promotion\"}": (0, 1)},
     {"guardctl_deployments_total{app=\"pharma-mes\",outcome=\"promoted\"}": (0, 1)}),
    ("TradingKillSwitchEngaged",
     "max(trading_venue_state{state=\"killed\"}) == 1 or max by (account) (trading_account_kill_switch) == 1",
     "0m", "ticket", "A kill switch is engaged: the account (or the venue) cannot trade",
     {"trading_account_kill_switch{account=\"BOB\"}": (1, 0)},
     {"trading_account_kill_switch{account=\"BOB\"}": (0, 0)}),
    ("TradingSymbolHalted", "max by (symbol) (trading_symbol_halted) == 1", "0m", "ticket",
     "A symbol is halted (manually or by its price band)",
     {"trading_symbol_halted{symbol=\"ACME\"}": (1, 0)},
     {"trading_symbol_halted{symbol=\"ACME\"}": (0, 0)}),
    ("TradingCreditLimitNear",
     "max by (account) (trading_account_open_order_exposure / trading_account_credit_limit) > 0.8",
     "1m", "ticket", "An account uses more than 80 % of its credit limit",
     {"trading_account_open_order_exposure{account=\"BOB\"}": (90, 0),
      "trading_account_credit_limit{account=\"BOB\"}": (100, 0)},
     {"trading_account_open_order_exposure{account=\"BOB\"}": (10, 0),
      "trading_account_credit_limit{account=\"BOB\"}": (100, 0)}),
    ("TradingPositionLimitBreached",
     "max by (account) (trading_account_largest_position_shares / trading_account_position_limit_shares) > 1",
     "0m", "ticket", "An account holds a position above its position limit",
     {"trading_account_largest_position_shares{account=\"BOB\"}": (600, 0),
      "trading_account_position_limit_shares{account=\"BOB\"}": (500, 0)},
     {"trading_account_largest_position_shares{account=\"BOB\"}": (100, 0),
      "trading_account_position_limit_shares{account=\"BOB\"}": (500, 0)}),
    ("MesDeviationsPastDue", "max(mes_deviations_past_due) > 0", "0m", "ticket",
     "Deviations are open past their due date (21 CFR 211.192: investigations on time)",
     {"mes_deviations_past_due{instance=\"a\"}": (2, 0)},
     {"mes_deviations_past_due{instance=\"a\"}": (0, 0)}),
    ("MesSensorDataGap", "max by (sensor) (mes_sensor_data_gap) == 1", "0m", "ticket",
     "A sensor is silent: its room is not monitored",
     {"mes_sensor_data_gap{sensor=\"A-T1\"}": (1, 0)},
     {"mes_sensor_data_gap{sensor=\"A-T1\"}": (0, 0)}),
]


def operations_rules():
    rules = []
    for name, expr, for_, severity, summary, _, _ in OPERATIONS:
        rules.append({"alert": name, "expr": expr, "for": for_, "labels": {"severity": severity},
                      "annotations": {"summary": summary,
                                      "runbook": "dashboards/README.md#alerts"}})
    return {"groups": [{"name": "operations", "rules": rules}]}


# ---------------------------------------------------------------------------------------------
# promtool tests

def series_text(start, step, n):
    return "%g+%gx%d" % (start, step, n)


def duration_seconds(d):
    return int(d[:-1]) * {"s": 1, "m": 60, "h": 3600}[d[-1]]


def burn_rate_tests(kind):
    """The tests of one window kind (guardrail: 1 s samples and evaluations; sre: 1 m)."""
    tests = []
    for slo in SLOS:
        if kind in slo["windows"]:
            interval = "1s" if kind == "guardrail" else "1m"
            step_s = duration_seconds(interval)
            for label, long, short, factor, severity in WINDOW_PAIRS[kind]:
                alert = "%sBurnRate%s" % (slo["name"], label)
                long_s = duration_seconds(long)
                n = long_s // step_s + 20  # samples: a long window and some
                eval_at = "%ds" % ((n - 5) * step_s)
                exp = [{"exp_labels": {"app": slo["app"], "slo": slo["slo"],
                                       "severity": severity, "window": "%s/%s" % (long, short)},
                        "exp_annotations": {
                            "summary": "%s: error budget burning %gx over %s and %s"
                                       % (slo["title"], factor, long, short),
                            "runbook": "dashboards/README.md#alerts"}}]
                # Per interval: 100 events. Firing: half of them bad all along.
                cases = [("fires while half the events fail", 50, 50, exp),
                         ("silent when nothing fails", 100, 0, [])]
                for title, good, bad, expected in cases:
                    series = slo["test_series"](good, bad)
                    tests.append({
                        "name": "%s %s" % (alert, title), "interval": interval,
                        "input_series": [{"series": k, "values": series_text(0, v, n)}
                                         for k, v in sorted(series.items())],
                        "alert_rule_test": [{"eval_time": eval_at, "alertname": alert,
                                             "exp_alerts": expected}]})
                # Silent once the failures stopped: the long window still burns, the short
                # one no longer does (the multi-window rule's point: it resets quickly).
                short_s = duration_seconds(short)
                stop_after = n - 5 - (short_s // step_s) - 3  # failures end before the short window
                values = {}
                for k, v in slo["test_series"](50, 50).items():
                    values[k] = v
                ok = slo["test_series"](100, 0)
                input_series = []
                for k in sorted(values):
                    input_series.append({"series": k, "values": "0+%gx%d %g+%gx%d" % (
                        values[k], stop_after, values[k] * (stop_after + 1), ok[k],
                        n - stop_after - 1)})
                tests.append({"name": "%s silent once the failures stopped" % alert,
                              "interval": interval, "input_series": input_series,
                              "alert_rule_test": [{"eval_time": eval_at, "alertname": alert,
                                                   "exp_alerts": []}]})
                if "min_events" in slo:
                    # Every batch fails, but too few batches for a verdict: the guard holds.
                    sparse = "0+%gx%d" % (1 / 60, n)  # one batch an hour
                    tests.append({
                        "name": "%s silent below the minimum traffic" % alert,
                        "interval": interval,
                        "input_series": [{"series": "mes_batches_terminal", "values": sparse},
                                         {"series": "mes_batches_not_intact", "values": sparse}],
                        "alert_rule_test": [{"eval_time": eval_at, "alertname": alert,
                                             "exp_alerts": []}]})
    return {"rule_files": ["../slo.rules.yml"],
            "evaluation_interval": "1s" if kind == "guardrail" else "1m", "tests": tests}


def operations_tests():
    tests = []
    for name, expr, for_, severity, summary, firing, silent in OPERATIONS:
        for title, series, fires in (("fires", firing, True), ("stays silent", silent, False)):
            n = 3600
            input_series = [{"series": k, "values": series_text(a, b, n)}
                            for k, (a, b) in sorted(series.items())]
            labels = {"severity": severity}
            # The labels the expression keeps (its by/on clause or the whole series).
            for k in series:
                metric_labels = dict(
                    p.split("=") for p in k[k.index("{") + 1:-1].replace('"', "").split(",")
                ) if "{" in k else {}
                for keep in ("job", "account", "symbol", "sensor", "app"):
                    if keep in metric_labels and ("by (%s)" % keep in expr):
                        labels[keep] = metric_labels[keep]
            if name == "TradingKillSwitchEngaged":
                labels["account"] = "BOB"
            expected = [{"exp_labels": labels,
                         "exp_annotations": {"summary": summary,
                                             "runbook": "dashboards/README.md#alerts"}}] if fires else []
            tests.append({"name": "%s %s" % (name, title), "interval": "1m",
                          "input_series": input_series,
                          "alert_rule_test": [{"eval_time": "58m", "alertname": name,
                                               "exp_alerts": expected}]})
    return {"rule_files": ["../operations.rules.yml"], "evaluation_interval": "1m",
            "tests": tests}


# ---------------------------------------------------------------------------------------------
# Grafana dashboards

DS = {"type": "prometheus", "uid": "${datasource}"}


class Dashboard:
    def __init__(self, uid, title, description, tags, variables=()):
        self.uid, self.title, self.description, self.tags = uid, title, description, tags
        self.variables = list(variables)
        self.panels = []
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.row_height = 0

    def row(self, title):
        self.newline()
        self.panels.append({"id": self.next_id, "type": "row", "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.next_id += 1
        self.y += 1

    def newline(self):
        if self.x > 0:
            self.y += self.row_height
        self.x, self.row_height = 0, 0

    def panel(self, kind, title, targets, w=6, h=6, unit=None, thresholds=None, description="",
              decimals=None, min_=None, max_=None, mappings=None, options=None, overrides=None,
              custom=None, transformations=None):
        if self.x + w > 24:
            self.newline()
        defaults = {}
        if unit:
            defaults["unit"] = unit
        if decimals is not None:
            defaults["decimals"] = decimals
        if min_ is not None:
            defaults["min"] = min_
        if max_ is not None:
            defaults["max"] = max_
        if mappings:
            defaults["mappings"] = mappings
        if custom:
            defaults["custom"] = custom
        defaults["thresholds"] = thresholds or {"mode": "absolute",
                                                "steps": [{"color": "green", "value": None}]}
        defaults.setdefault("color", {"mode": "thresholds" if kind in ("stat", "gauge", "bargauge")
                                      else "palette-classic"})
        p = {
            "id": self.next_id, "type": kind, "title": title, "description": description,
            "datasource": DS, "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
            "options": options or default_options(kind),
            "targets": [],
        }
        if transformations:
            p["transformations"] = transformations
        for i, t in enumerate(targets):
            expr, legend = (t, "") if isinstance(t, str) else t
            target = {"refId": chr(ord("A") + i), "datasource": DS, "expr": expr,
                      "legendFormat": legend or "__auto", "range": kind == "timeseries",
                      "instant": kind != "timeseries", "editorMode": "code"}
            if kind == "table":
                target["format"] = "table"
            p["targets"].append(target)
        self.panels.append(p)
        self.next_id += 1
        self.x += w
        self.row_height = max(self.row_height, h)

    def json(self):
        templating = [{
            "name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "current": {}, "hide": 0, "includeAll": False,
            "multi": False, "options": [], "refresh": 1, "regex": ""}]
        for name, label, query, multi in self.variables:
            templating.append({
                "name": name, "label": label, "type": "query", "datasource": DS,
                "definition": query, "query": {"query": query, "refId": "PrometheusVariableQuery"},
                "current": {}, "hide": 0, "includeAll": multi, "multi": multi,
                "allValue": ".*" if multi else None, "options": [], "refresh": 2, "regex": "",
                "sort": 1})
        return {
            "uid": self.uid, "title": self.title, "description": self.description,
            "tags": self.tags, "schemaVersion": 39, "version": 1, "editable": True,
            "graphTooltip": 1, "timezone": "browser", "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"}, "timepicker": {},
            "fiscalYearStartMonth": 0, "liveNow": False, "weekStart": "",
            "templating": {"list": templating},
            "annotations": {"list": [
                {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                 "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                 "name": "Annotations & Alerts", "type": "dashboard"},
                {"name": "Deployments", "datasource": DS, "enable": True, "iconColor": "purple",
                 "expr": "changes(guardctl_deployment_last_timestamp_seconds[2m]) > 0 "
                         "and on(app) guardctl_deployment_last_timestamp_seconds",
                 "step": "30s", "titleFormat": "deployment of {{app}}",
                 "textFormat": "a deployment of {{app}} finished (outcome on the executive "
                               "dashboard)"},
                {"name": "Rollbacks", "datasource": DS, "enable": True, "iconColor": "red",
                 "expr": "sum by (app) (increase(guardctl_deployments_total"
                         "{outcome=~\"rolled_back.*\"}[2m])) > 0",
                 "step": "30s", "titleFormat": "rollback of {{app}}", "textFormat": ""}]},
            "links": [{"title": t, "type": "link", "url": "/d/" + u, "targetBlank": False,
                       "icon": "dashboard", "tooltip": ""}
                      for t, u in (("Executive", "gv-executive"), ("Finance", "gv-finance"),
                                   ("Pharma", "gv-pharma")) if u != self.uid],
            "panels": self.panels,
        }


def default_options(kind):
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if kind == "stat":
        return {"reduceOptions": reduce, "colorMode": "background", "graphMode": "none",
                "justifyMode": "auto", "orientation": "auto", "textMode": "auto",
                "wideLayout": True, "showPercentChange": False}
    if kind == "gauge":
        return {"reduceOptions": reduce, "showThresholdLabels": False,
                "showThresholdMarkers": True, "orientation": "auto"}
    if kind == "bargauge":
        return {"reduceOptions": reduce, "displayMode": "gradient", "orientation": "horizontal",
                "showUnfilled": True, "valueMode": "color", "namePlacement": "auto",
                "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8, "maxVizHeight": 300}
    if kind == "timeseries":
        return {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True,
                           "calcs": []},
                "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "table":
        return {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
    if kind == "state-timeline":
        return {"mergeValues": True, "showValue": "auto", "alignValue": "left", "rowHeight": 0.9,
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "single", "sort": "none"}}
    return {}


def steps(*pairs):
    return {"mode": "absolute",
            "steps": [{"color": c, "value": v} for c, v in pairs]}


PCT_98 = steps(("red", None), ("green", 0.98))
LAT_50MS = steps(("green", None), ("red", 0.05))
ZERO_GOOD = steps(("green", None), ("red", 1))
OK_MAP = [{"type": "value", "options": {
    "1": {"text": "verified", "color": "green", "index": 0},
    "0": {"text": "BROKEN", "color": "red", "index": 1}}}]
STATE_MAP = [{"type": "value", "options": {
    "0": {"text": "trading", "color": "green", "index": 0},
    "1": {"text": "HALTED / KILLED", "color": "red", "index": 1}}}]
RANGE = "$__range"
RATE = "$__rate_interval"


def p99(histogram, selector=""):
    return ("histogram_quantile(0.99, sum by (le) (rate(%s_bucket%s[%s])))"
            % (histogram, selector, RATE))


def executive():
    d = Dashboard("gv-executive", "Guarded venue & MES: executive overview",
                  "Deployments and their outcomes, the SLOs of both products, what rollbacks "
                  "cost the business, and compliance status.", ["guarded-venue", "executive"])
    d.row("Deployments (guardctl deploy, blue/green)")
    d.panel("stat", "Deployment success rate",
            ['sum(guardctl_deployments_total{outcome="promoted"}) / sum(guardctl_deployments_total)'],
            unit="percentunit", decimals=0, thresholds=steps(("red", None), ("orange", 0.8), ("green", 0.9)),
            description="Promoted deployments out of all that finished (rolled back and aborted "
                        "ones count as not successful). From the node-exporter textfile guardctl "
                        "deploy --metrics-file writes.")
    d.panel("stat", "Mean time to detect a bad release",
            ['sum(guardctl_deployment_detect_seconds_sum) / sum(guardctl_deployment_detect_seconds_count)'],
            unit="s", decimals=1, thresholds=steps(("green", None), ("orange", 60), ("red", 300)),
            description="Rollbacks: from the new release's first user traffic (or, before "
                        "promotion, the start of its analysis) to the guardrail's rollback "
                        "decision.")
    d.panel("stat", "Mean time to recover (MTTR)",
            ['sum(guardctl_deployment_detect_seconds_sum) / sum(guardctl_deployment_detect_seconds_count)'
             ' + sum(guardctl_deployment_recover_seconds_sum) / sum(guardctl_deployment_recover_seconds_count)'],
            unit="s", decimals=1, thresholds=steps(("green", None), ("orange", 120), ("red", 600)),
            description="Breach to traffic back: mean time to detect plus the mean time from the "
                        "rollback decision to the users' traffic back on the previous release "
                        "(rollbacks after promotion: the only ones users saw).")
    d.panel("bargauge", "Deployments by outcome",
            [('sum by (outcome) (guardctl_deployments_total)', "{{outcome}}")], unit="short",
            decimals=0)
    d.panel("table", "Serving now: colour and version per product",
            [('max by (app, colour, version) (guardrail_build_info)', ""),
             ('max by (app, colour, version) (guardctl_deployment_serving_info)', "")],
            w=12, h=6, transformations=[{"id": "merge", "options": {}}],
            description="Each running colour's own build (guardrail_build_info) and the colour "
                        "the last deployment left holding the traffic.")
    d.panel("table", "Last deployment: outcome and risk class",
            [('max by (app, outcome) (guardctl_deployment_last_outcome)', ""),
             ('max by (app, risk_class) (guardctl_deployment_last_risk_class)', "")],
            w=12, h=6, transformations=[{"id": "merge", "options": {}}])
    d.row("SLO status")
    d.panel("stat", "Venue order-to-ack p99 (SLA 50 ms)",
            [p99("trading_order_ack_seconds")], unit="s", decimals=4, thresholds=LAT_50MS)
    d.panel("stat", "MES API p99 (SLO 50 ms)",
            [p99("mes_http_request_duration_seconds")], unit="s", decimals=4, thresholds=LAT_50MS)
    d.panel("stat", "MES API requests without a server error",
            ['1 - slo:error_ratio:rate5m{app="pharma-mes",slo="api_errors"}'],
            unit="percentunit", decimals=2, thresholds=steps(("red", None), ("green", 0.99)))
    d.panel("stat", "Batch integrity (SLO 98 %)", ["max(mes_batch_integrity_ratio)"],
            unit="percentunit", decimals=1, thresholds=PCT_98)
    d.panel("table", "Error budget burn rate (1 h) per SLO",
            [('slo:error_ratio:rate1h / on(app, slo) group_left slo:error_budget', "")],
            w=12, h=6, unit="short", decimals=2,
            thresholds=steps(("green", None), ("orange", 6), ("red", 14.4)),
            description="1 = spending the error budget exactly at the rate the SLO allows; "
                        "the alerts page at 14.4 (1 h and 5 m) and open a ticket at 6.")
    d.panel("table", "Guardrail verdict now",
            [('max by (job, instance, verdict) (guardrail_verdict) == 1', "")], w=12, h=6)
    d.row("Business impact (rollbacks are marked on the graphs)")
    d.panel("timeseries", "Venue orders rejected and acknowledged late",
            [('sum(rate(trading_order_rejects_total[%s]))' % RATE, "rejected /s"),
             ('sum(rate(trading_order_ack_seconds_count[%s])) - '
              'sum(rate(trading_order_ack_seconds_bucket{le="0.05"}[%s]))' % (RATE, RATE),
              "acknowledged after 50 ms /s")], w=8, unit="reqps")
    d.panel("timeseries", "MES requests failed or slow",
            [('sum(rate(mes_http_requests_total{code="5xx"}[%s]))' % RATE, "server errors /s"),
             ('sum(rate(mes_http_request_duration_seconds_count[%s])) - '
              'sum(rate(mes_http_request_duration_seconds_bucket{le="0.05"}[%s]))' % (RATE, RATE),
              "slower than 50 ms /s")], w=8, unit="reqps")
    d.panel("stat", "Batches affected (record not intact)", ["max(mes_batches_not_intact)"],
            w=4, unit="short", decimals=0, thresholds=ZERO_GOOD)
    d.panel("stat", "Orders rejected in the time range",
            ['sum(increase(trading_order_rejects_total[%s]))' % RANGE], w=4, unit="short",
            decimals=0)
    d.row("Compliance")
    d.panel("stat", "MES audit chain", ["min(mes_audit_chain_verified)"], w=4,
            mappings=OK_MAP, thresholds=steps(("red", None), ("green", 1)))
    d.panel("stat", "Since the last chain verification",
            ["time() - max(mes_audit_chain_last_verification_timestamp_seconds)"], w=4,
            unit="s", decimals=0, thresholds=steps(("green", None), ("orange", 1800), ("red", 2700)))
    d.panel("stat", "Deviations past due", ["max(mes_deviations_past_due)"], w=4,
            unit="short", decimals=0, thresholds=ZERO_GOOD)
    d.panel("stat", "Batches waiting for QA review", ['max(mes_batches_awaiting{step="review"})'],
            w=4, unit="short", decimals=0, thresholds=steps(("green", None), ("orange", 5)))
    d.panel("stat", "Accounts locked", ["max(mes_users_locked)"], w=4, unit="short", decimals=0,
            thresholds=ZERO_GOOD)
    d.panel("stat", "Venue kill switches engaged",
            ['sum(trading_account_kill_switch) + sum(trading_venue_state{state="killed"})'], w=4,
            unit="short", decimals=0, thresholds=ZERO_GOOD)
    return d


def finance():
    d = Dashboard("gv-finance", "Trading venue: finance and risk",
                  "Volume, notional, orders and rejects, order-to-ack latency against the 50 ms "
                  "SLA, market data, and per account position, P&L, limits and VaR.",
                  ["guarded-venue", "finance"],
                  [("symbol", "Symbol", "label_values(trading_traded_volume_shares_total, symbol)", True),
                   ("account", "Account", "label_values(trading_account_realised_pnl, account)", True)])
    sym = '{symbol=~"$symbol"}'
    acc = '{account=~"$account"}'
    d.row("Market")
    d.panel("timeseries", "Traded volume (shares/s)",
            [('sum by (symbol) (rate(trading_traded_volume_shares_total%s[%s]))' % (sym, RATE),
              "{{symbol}}")], w=8, unit="short")
    d.panel("bargauge", "Notional traded in the time range (instrument currency)",
            [('sum by (symbol) (increase(trading_traded_notional_total%s[%s]))' % (sym, RANGE),
              "{{symbol}}")], w=8, unit="short", decimals=2)
    d.panel("timeseries", "Market data updates/s",
            [('sum by (symbol) (rate(trading_market_data_updates_total%s[%s]))' % (sym, RATE),
              "{{symbol}}")], w=8, unit="short")
    d.panel("stat", "Last trade price", [('max by (symbol) (trading_last_price%s)' % sym, "{{symbol}}")],
            w=8, decimals=2)
    d.panel("timeseries", "Trades/s",
            [('sum by (symbol) (rate(trading_symbol_trades_total%s[%s]))' % (sym, RATE),
              "{{symbol}}")], w=8, unit="short")
    d.panel("state-timeline", "Halts and the venue kill switch",
            [('max by (symbol) (trading_symbol_halted%s)' % sym, "{{symbol}} halted"),
             ('max by (state) (trading_venue_state)', "venue {{state}}")], w=8,
            mappings=STATE_MAP, thresholds=steps(("green", None), ("red", 1)))
    d.row("Orders")
    d.panel("timeseries", "Orders by result",
            [('sum by (result) (rate(trading_orders_total[%s]))' % RATE, "{{result}}")], w=8,
            unit="reqps")
    d.panel("bargauge", "Rejects by reason in the time range",
            [('sum by (reason) (increase(trading_order_rejects_total[%s]))' % RANGE, "{{reason}}")],
            w=8, h=10, unit="short", decimals=0)
    d.panel("timeseries", "Order-to-ack latency (SLA 50 ms)",
            [('histogram_quantile(0.5, sum by (le) (rate(trading_order_ack_seconds_bucket[%s])))' % RATE, "p50"),
             ('histogram_quantile(0.99, sum by (le) (rate(trading_order_ack_seconds_bucket[%s])))' % RATE, "p99"),
             ('histogram_quantile(0.999, sum by (le) (rate(trading_order_ack_seconds_bucket[%s])))' % RATE, "p99.9")],
            w=8, unit="s", thresholds=LAT_50MS,
            custom={"thresholdsStyle": {"mode": "line+area"}, "drawStyle": "line", "lineWidth": 1,
                    "fillOpacity": 0, "spanNulls": False})
    d.panel("stat", "Acknowledged within 50 ms",
            ['sum(rate(trading_order_ack_seconds_bucket{le="0.05"}[%s])) / '
             'sum(rate(trading_order_ack_seconds_count[%s]))' % (RATE, RATE)],
            w=4, unit="percentunit", decimals=3, thresholds=steps(("red", None), ("green", 0.99)))
    d.panel("timeseries", "Order-to-ack histogram",
            [('sum by (le) (rate(trading_order_ack_seconds_bucket[%s]))' % RATE, "{{le}}")],
            w=4, unit="reqps")
    d.row("Accounts")
    d.panel("table", "Positions (shares)",
            [('sum by (account, symbol) (trading_account_position_shares%s)' % acc, "")],
            w=8, h=8, unit="short", decimals=0)
    d.panel("timeseries", "Realised P&L (average cost)",
            [('sum by (account) (trading_account_realised_pnl%s)' % acc, "{{account}}")], w=8,
            h=8, decimals=2)
    d.panel("timeseries", "Mark-to-market P&L (open positions)",
            [('sum by (account) (trading_account_unrealised_pnl%s)' % acc, "{{account}}")], w=8,
            h=8, decimals=2)
    d.panel("bargauge", "Credit limit used (open order exposure)",
            [('max by (account) (trading_account_open_order_exposure%s / trading_account_credit_limit%s)'
              % (acc, acc), "{{account}}")], w=8, unit="percentunit", min_=0, max_=1,
            thresholds=steps(("green", None), ("orange", 0.8), ("red", 1)))
    d.panel("bargauge", "Position limit used (largest position)",
            [('max by (account) (trading_account_largest_position_shares%s / trading_account_position_limit_shares%s)'
              % (acc, acc), "{{account}}")], w=8, unit="percentunit", min_=0, max_=1,
            thresholds=steps(("green", None), ("orange", 0.8), ("red", 1)))
    d.panel("bargauge", "One-day 99 % VaR (parametric)",
            [('max by (account) (trading_account_value_at_risk%s)' % acc, "{{account}}")], w=8,
            decimals=2,
            description="Variance-covariance VaR of each account's positions from one-second "
                        "trade-price log returns over the last ten minutes, scaled to a 6.5 h "
                        "trading day (trading-engine/fix/README.md, Risk figures).")
    d.panel("timeseries", "Gross market value of positions",
            [('sum by (account) (trading_account_gross_market_value%s)' % acc, "{{account}}")],
            w=12, decimals=2)
    d.panel("state-timeline", "Account kill switches",
            [('max by (account) (trading_account_kill_switch%s)' % acc, "{{account}}")], w=12,
            mappings=STATE_MAP, thresholds=steps(("green", None), ("red", 1)))
    return d


def pharma():
    d = Dashboard("gv-pharma", "pharma-mes: production and quality",
                  "Batches, batch integrity (98 % SLO), right-first-time, yield and cycle-time "
                  "efficiency, deviations, alarms, the audit chain, and the environmental "
                  "sensors against their limits.", ["guarded-venue", "pharma"],
                  [("room", "Room", "label_values(mes_sensor_value, room)", True),
                   ("sensor", "Sensor", 'label_values(mes_sensor_value{room=~"$room"}, sensor)',
                    False)])
    d.row("Production")
    d.panel("stat", "Batch integrity (SLO 98 %)", ["max(mes_batch_integrity_ratio)"], w=4,
            unit="percentunit", decimals=1, thresholds=PCT_98)
    d.panel("stat", "Right first time", ["max(mes_right_first_time_ratio)"], w=4,
            unit="percentunit", decimals=1,
            thresholds=steps(("red", None), ("orange", 0.8), ("green", 0.9)))
    d.panel("stat", "Yield", ["max(mes_yield_ratio)"], w=4, unit="percentunit", decimals=1,
            thresholds=steps(("red", None), ("orange", 0.9), ("green", 0.95)))
    d.panel("stat", "Cycle-time efficiency", ["max(mes_cycle_time_efficiency_ratio)"], w=4,
            unit="percentunit", decimals=1,
            thresholds=steps(("red", None), ("orange", 0.7), ("green", 0.85)),
            description="Standard run time / actual run time (held time excluded), Complete "
                        "batches: the plant's production efficiency.")
    d.panel("bargauge", "Batches by state", [('max by (state) (mes_batches)', "{{state}}")],
            w=8, h=8, unit="short", decimals=0)
    d.panel("timeseries", "Batches finished per hour",
            ['max(deriv(mes:batches_terminal:max[30m])) * 3600'], w=8, unit="short")
    d.panel("stat", "Batches waiting for QA",
            [('max by (step) (mes_batches_awaiting)', "{{step}}")], w=8,
            unit="short", decimals=0, thresholds=steps(("green", None), ("orange", 5)))
    d.row("Quality")
    d.panel("stat", "Open deviations", ["max(mes_deviations_open)"], w=4, unit="short",
            decimals=0, thresholds=steps(("green", None), ("orange", 1)))
    d.panel("stat", "Deviations past due", ["max(mes_deviations_past_due)"], w=4, unit="short",
            decimals=0, thresholds=ZERO_GOOD)
    d.panel("bargauge", "Active alarms by level", [('max by (level) (mes_alarms_active)', "{{level}}")],
            w=8, unit="short", decimals=0, thresholds=steps(("green", None), ("orange", 1), ("red", 5)))
    d.panel("stat", "Audit chain", ["min(mes_audit_chain_verified)"], w=4, mappings=OK_MAP,
            thresholds=steps(("red", None), ("green", 1)))
    d.panel("stat", "Since the last verification",
            ["time() - max(mes_audit_chain_last_verification_timestamp_seconds)"], w=4, unit="s",
            decimals=0, thresholds=steps(("green", None), ("orange", 1800), ("red", 2700)))
    d.row("Environmental monitoring")
    d.panel("timeseries", "Sensor readings/s",
            [('sum by (source) (rate(mes_sensor_readings_total[%s]))' % RATE, "{{source}}"),
             ('sum(rate(mes_sensor_readings_rejected_total[%s]))' % RATE, "rejected")], w=8,
            unit="short")
    d.panel("timeseries", "$sensor against its limits",
            [('max by (sensor) (mes_sensor_value{sensor="$sensor"})', "{{sensor}}"),
             ('max by (limit) (mes_sensor_limit{sensor="$sensor"})', "{{limit}}")], w=8,
            description="The latest reading and the alert and action limits of the sensor chosen "
                        "above.")
    d.panel("stat", "Silent sensors (data gaps)", ["sum(max by (sensor) (mes_sensor_data_gap))"],
            w=4, unit="short", decimals=0, thresholds=ZERO_GOOD)
    d.panel("stat", "MQTT subscribers", ["sum(mes_mqtt_clients_connected)"], w=4, unit="short",
            decimals=0, thresholds=steps(("red", None), ("green", 1)))
    d.panel("table", "Sensors now ($room)",
            [('max by (sensor, room, kind, unit) (mes_sensor_value{room=~"$room"})', ""),
             ('time() - max by (sensor) (mes_sensor_last_reading_timestamp_seconds)', "")], w=24,
            h=8, transformations=[{"id": "merge", "options": {}}])
    d.row("Service")
    d.panel("stat", "MES API p99 (SLO 50 ms)", [p99("mes_http_request_duration_seconds")], w=6,
            unit="s", decimals=4, thresholds=LAT_50MS)
    d.panel("timeseries", "API requests by status class",
            [('sum by (code) (rate(mes_http_requests_total[%s]))' % RATE, "{{code}}")], w=12,
            unit="reqps")
    d.panel("stat", "Logins refused (time range)",
            ['sum(increase(mes_logins_total{outcome!="ok"}[%s]))' % RANGE], w=6, unit="short",
            decimals=0)
    return d


# ---------------------------------------------------------------------------------------------

def yaml_scalar(value, indent):
    """One scalar. Strings are JSON-quoted (PromQL survives), except those with a line break or
    longer than fits a 120-column line: a literal block (|-) keeps the line breaks, a folded one
    (>-) wraps at single spaces (read back as the same string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    pad = "  " * (indent + 1)
    plain = all(0x20 <= ord(c) < 0x7f for c in text.replace("\n", "")) and text == text.strip()
    if plain and "\n" in text and all(line == line.strip() and line for line in text.split("\n")):
        return "|-\n" + "\n".join(pad + line for line in text.split("\n"))
    if plain and len(text) > 70 and "  " not in text:
        lines, line = [], ""
        for word in text.split(" "):
            if line and len(line) + 1 + len(word) > 90:
                lines.append(line)
                line = word
            else:
                line = word if not line else line + " " + word
        lines.append(line)
        return ">-\n" + "\n".join(pad + l for l in lines)
    return json.dumps(text)


def yaml_dump(value, indent=0):
    """A small YAML writer (lists, dicts, strings, numbers, booleans): enough for the rules and
    tests."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:\n%s" % (pad, k, yaml_dump(v, indent + 1)))
            else:
                lines.append("%s%s: %s" % (pad, k, yaml_scalar(v, indent)
                                           if not isinstance(v, (dict, list)) else
                                           ("{}" if isinstance(v, dict) else "[]")))
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return "[]"
        lines = []
        for v in value:
            if isinstance(v, (dict, list)) and v:
                inner = yaml_dump(v, indent + 1).lstrip()
                lines.append("%s- %s" % (pad, inner))
            else:
                lines.append("%s- %s" % (pad, yaml_scalar(v, indent + 1)))
        return "\n".join(lines)
    return yaml_scalar(value, indent)


def outputs():
    header = "# Generated by dashboards/generate.py: edit that, then run it.\n"
    files = {}
    for d in (executive(), finance(), pharma()):
        name = d.uid.replace("gv-", "") + "-dashboard.json"
        files[name] = json.dumps(d.json(), indent=2) + "\n"
    files["rules/slo.rules.yml"] = header + yaml_dump(slo_rules()) + "\n"
    files["rules/operations.rules.yml"] = header + yaml_dump(operations_rules()) + "\n"
    for kind in ("guardrail", "sre"):
        files["rules/tests/slo-%s-windows.test.yml" % kind] = (
            header + yaml_dump(burn_rate_tests(kind)) + "\n")
    files["rules/tests/operations.test.yml"] = header + yaml_dump(operations_tests()) + "\n"
    # The same rules for the Prometheus Operator of a cluster (k8s-manifests/cluster/monitoring).
    rule_object = {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": "guarded-venue-slo", "namespace": "monitoring",
                     "labels": {"app.kubernetes.io/part-of": "guarded-venue"}},
        "spec": {"groups": slo_rules()["groups"] + operations_rules()["groups"]}}
    files["../k8s-manifests/cluster/monitoring/prometheusrule.yaml"] = (
        "# dashboards/rules/*.rules.yml for the Prometheus Operator.\n" + header +
        yaml_dump(rule_object) + "\n")
    return files


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, text in outputs().items():
        path = os.path.join(HERE, name)
        if check:
            try:
                with open(path) as f:
                    if f.read() != text:
                        stale.append(name)
            except OSError:
                stale.append(name)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    if stale:
        print("dashboards/generate.py --check: out of date: %s (run dashboards/generate.py)"
              % ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
