#!/usr/bin/env python3
"""The venue drill's reckoning (scripts/drill/venue.sh): reads the three deployments' summaries
and evidence, the traders' result (fix_load --mode sessions) and the two state digests, prints
the deployments one per line and, as the LAST line, one JSON object; exit 0 when every target
is met (0 lost acknowledged orders, 0 duplicate fills, 0 sequence resets, the expected outcome
of each deployment, venue-side gap p50 <= 250 ms, equal digests, evidence verified)."""
import json
import statistics
import sys

work = sys.argv[1]


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def load_last_json_line(path):
    try:
        lines = [l for l in open(path).read().splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        return {}


figures = load(f"{work}/figures.json", {})
traders = load_last_json_line(f"{work}/load.json")
outcomes, gaps, refused_reason = [], [], ""
for n in (1, 2, 3):
    summary = load(f"{work}/deploy-{n}/summary.json", {})
    outcomes.append(summary.get("outcome", "missing"))
    gaps += summary.get("handover_gaps_ms", [])
    if n == 3:
        refused_reason = summary.get("reason", "")
    print(f"deployment {n}: {summary.get('outcome', 'missing')}: {summary.get('reason', '')[:300]}")

live = load(f"{work}/state-live.json", {}).get("data", {})
replayed = load(f"{work}/state-replayed.json", {}).get("data", {})
# The replay may end past the live sequence: markers the primary wrote after the live state was
# read (a digest every second, none of them changes the state); it may never end short of it.
digest_equal = bool(live.get("digest")) and live.get("digest") == replayed.get("digest") and \
    replayed.get("sequence", -1) >= live.get("sequence", 0)
cutovers = len(gaps)
rollbacks = sum(1 for o in outcomes if o == "rolled-back-post-promotion")
refused = sum(1 for o in outcomes if o == "rolled-back-pre-promotion")
gap_p50 = statistics.median(gaps) if gaps else None
result = {
    "drill": "venue",
    "deploys": len(outcomes),
    "outcomes": outcomes,
    "cutovers": cutovers,
    "rollbacks": rollbacks,
    "refused": refused,
    "refused_reason": refused_reason[:300],
    "lost_orders": traders.get("lost_orders"),
    "unacked": traders.get("unacked"),
    "duplicate_fills": traders.get("duplicate_fills"),
    "seq_resets": traders.get("seq_resets"),
    "orders_sent": traders.get("sent"),
    "fills": traders.get("fills"),
    "digest_equal": digest_equal,
    "no_accept_gap_ms": [round(g, 1) for g in gaps],
    "no_accept_gap_p50_ms": round(gap_p50, 1) if gap_p50 is not None else None,
    "client_gap_ms": traders.get("client_gap_ms"),
    "order_latency_ms": traders.get("latency_ms"),
    "evidence_verified": figures.get("evidence_verified", False),
    "seconds": figures.get("seconds"),
}
ok = (outcomes == ["promoted", "rolled-back-post-promotion", "rolled-back-pre-promotion"]
      and traders.get("lost_orders") == 0 and traders.get("unacked") == 0
      and traders.get("duplicate_fills") == 0 and traders.get("seq_resets") == 0
      and traders.get("unverified") == 0
      and digest_equal and result["evidence_verified"]
      and gap_p50 is not None and gap_p50 <= 250
      and "first differing sequence" in refused_reason)
result["ok"] = ok
print(json.dumps(result))
sys.exit(0 if ok else 1)
