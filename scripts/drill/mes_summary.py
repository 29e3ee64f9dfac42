#!/usr/bin/env python3
"""The pharma-mes drill's verdict: reads what the drill left in its work directory (the load
generator's summary, the three deployments' evidence, the sensor simulator's summary and the
figures drill.sh measured) and prints the drill's one-line JSON summary (DESIGN.md section 7).

  mes_summary.py WORK_DIR FIGURES_JSON

Exit 0 when every target is met: no failed request, no lost write or session, every rollback
within 5 s of the fault's onset, the evidence and the audit trail verified, the outcomes as
planned (promoted, rolled back before promotion, rolled back after it)."""

import datetime
import json
import os
import sys

PLANNED = ["promoted", "rolled-back-pre-promotion", "rolled-back-post-promotion"]


def entries(path):
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def seconds_of(entry):
    ts = entry["ts"].replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(ts).timestamp()


def main():
    work, figures_path = sys.argv[1], sys.argv[2]
    with open(figures_path) as f:
        figures = json.load(f)
    with open(os.path.join(work, "load.json")) as f:
        load = json.load(f)
    deploys = []
    for i in (1, 2, 3):
        d = os.path.join(work, "deploy-%d" % i)
        summary_path = os.path.join(d, "summary.json")
        summary = json.load(open(summary_path)) if os.path.exists(summary_path) else {}
        log = entries(os.path.join(d, "deployment.jsonl"))
        deploys.append((summary, log))

    outcomes = [s.get("outcome", "missing") for s, _ in deploys]
    rollback_seconds = []
    # (b) the latency fault: onset when green became ready (the smoke traffic starts) and met the
    # fault; over when the workflow decided to roll back (the traffic never left blue).
    _, log_b = deploys[1]
    ready = [seconds_of(e) for e in log_b if e["type"] == "deploy.ready" and e["data"]["ready"]]
    decided = [seconds_of(e) for e in log_b if e["type"] == "deploy.transition" and
               e["data"]["outcome"].startswith("rolled-back")]
    if ready and decided:
        rollback_seconds.append(round(decided[0] - ready[0], 2))
    # (c) the fault that shows only with users: onset when the first batch ended on the new
    # release (served by its colour after the switch), over when the traffic was back.
    _, log_c = deploys[2]
    new_colour = next((e["data"]["new_colour"] for e in log_c if e["type"] == "deploy.change"),
                      "blue")
    switches = [(seconds_of(e), e["data"]["to"]) for e in log_c
                if e["type"] == "deploy.switch" and e["data"]["ok"]]
    to_new = [t for t, to in switches if to == "green"]  # logical: the new release
    back = [t for t, to in switches if to == "blue" and to_new and t > to_new[0]]
    if to_new and back:
        onsets = [t for t, _, colour in load["completions"]
                  if colour == new_colour and to_new[0] <= t <= back[0]]
        if onsets:
            rollback_seconds.append(round(back[0] - onsets[0], 2))
        else:
            rollback_seconds.append(round(back[0] - to_new[0], 2))

    result = {
        "drill": "mes",
        "deploys": len(deploys),
        "promoted": outcomes.count("promoted"),
        "rolled_back": sum(1 for o in outcomes if o.startswith("rolled-back")),
        "outcomes": outcomes,
        "failed_requests": load["failed_requests"],
        "lost_writes": load["lost_writes"],
        "sessions_lost": load["sessions_lost"],
        "rollback_seconds": rollback_seconds,
        "evidence_verified": figures["evidence_verified"],
        "audit_verified": figures["audit_verified"],
        "requests": load["requests"],
        "writes_acknowledged": load["writes_acknowledged"],
        "batches_completed": load["batches_completed"],
        "readings_acknowledged": figures.get("readings_acknowledged"),
        "readings_lost": figures.get("readings_lost"),
        "change_events": figures.get("change_events"),
        "p99_ms": load["p99_ms"],
        "seconds": figures.get("seconds"),
    }
    ok = (outcomes == PLANNED and result["failed_requests"] == 0 and result["lost_writes"] == 0
          and result["sessions_lost"] == 0 and len(rollback_seconds) == 2
          and all(s <= 5 for s in rollback_seconds) and result["evidence_verified"]
          and result["audit_verified"] and figures.get("readings_lost", 0) == 0)
    result["ok"] = ok
    if load["failures"]:
        print("failed requests (first ones): " + json.dumps(load["failures"]), file=sys.stderr)
    if load["lost"]:
        print("lost writes (first ones): " + json.dumps(load["lost"]), file=sys.stderr)
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
