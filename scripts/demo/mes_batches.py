#!/usr/bin/env python3
"""The demo plant's batch driver (scripts/run.sh): batches through the pharma-mes API, forever.

  mes_batches.py --url URL --passwords FILE [--pause S] [--deviation-every N] [--batches N]

A supervisor creates each batch and cleans the reactor, an operator runs the three steps
(weighings, parameters), a second operator verifies the charges with their signature, the
operator records the output, QA reviews the exceptions with a signature and a second QA person
releases the batch. Every --deviation-every-th batch has a deviation opened by the operator
while it runs and closed by QA (with a disposition) before the review; QA also acknowledges the
sensor alarms the simulator's excursions raise. Batch ids are D-<time>-<n>, so two runs never
collide. Each batch prints one line; SIGTERM stops after the entry in progress.

Python's standard library only; the sessions, stock and step plan are scripts/drill/mes_load.py's.
"""

import argparse
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "drill"))
import mes_load  # noqa: E402  (the drill's sessions and batch plan)


class DemoTeam(mes_load.BatchTeam):
    def __init__(self, sessions, passwords, stop, pause, deviation_every):
        super().__init__(sessions["sup1"], sessions["op1"], passwords["op2"], sessions["qa2"],
                         "DEMO-%d" % int(time.time()), stop, pause)
        self.qa1, self.passwords = sessions["qa1"], passwords
        self.deviation_every = deviation_every
        self.acked = None  # the demo does not check its writes afterwards: nothing kept

    def write(self, session, path, body, batch, kind, detail=None):
        status, doc, _ = session.call("POST", path, body)
        if status is not None and 200 <= status < 300:
            return True, doc
        return False, "HTTP %s %s" % (status, str(doc)[:300])

    def signature(self, user):
        # attest: a user's first signing accepts its legal meaning (21 CFR 11.100(c)).
        return {"user_id": user, "password": self.passwords[user], "attest": True}

    def acknowledge_alarms(self):
        status, doc, _ = self.qa1.call("GET", "/api/v1/alarms?status=active")
        if status != 200:
            return
        for alarm in (doc.get("data") or [])[:3]:
            self.qa1.call("POST", "/api/v1/alarms/%s/acknowledge" % alarm["id"],
                          {"comment": "excursion assessed (demo)",
                           "signature": self.signature("qa1")})

    def finish(self, batch, n):
        """Output, the deviation's closure, QA review and release."""
        b = "/api/v1/batches/" + batch
        ok, why = self.write(self.op, b + "/output", {"quantity": round(random.uniform(91, 99.5), 1)},
                             batch, "output")
        if not ok:
            return "output refused: %s" % why
        # QA closes the batch's deviations (the demo's spills and those an excursion in the
        # room opened on its own) before the review: a batch does not release with one open.
        status, doc, _ = self.qa1.call("GET", "/api/v1/deviations?status=open&batch=" + batch)
        for dev in (doc.get("data") or []) if status == 200 else []:
            self.write(self.qa1, "/api/v1/deviations/%s/close" % dev["id"],
                       {"disposition": "no impact on quality (demo)",
                        "capa": "operator retrained (demo)"}, batch, "closed")
        ok, why = self.write(self.qa1, b + "/review", {"signature": self.signature("qa1")},
                             batch, "reviewed")
        if not ok:
            return "review refused: %s" % why
        ok, why = self.write(self.qa, b + "/release",
                             {"decision": "release", "reason": "batch record reviewed (demo)",
                              "signature": self.signature("qa2")}, batch, "released")
        return None if ok else "release refused: %s" % why

    def one_demo_batch(self, n):
        batch = "B-%s-%04d" % (self.prefix, n)
        deviation = self.deviation_every and n % self.deviation_every == 0
        if deviation:
            # Opened by the operator once the batch runs (a spill noticed at the first step).
            threading.Timer(self.pause * 3, lambda: self.op.call(
                "POST", "/api/v1/batches/%s/deviations" % batch,
                {"cause": "spill", "description": "powder spilled at the charge (demo)"})).start()
        if not self.one_batch(batch):
            self.op.call("POST", "/api/v1/batches/%s/commands" % batch,
                         {"command": "Abort", "reason": "demo: a write failed"})
            self.sup.call("POST", "/api/v1/equipment/R-101/status",
                          {"status": "clean", "reason": "cleaned (demo)"})
            return batch, "abandoned"
        why = self.finish(batch, n)
        return batch, why or ("released with a deviation" if deviation else "released")

    def loop(self, batches):
        self.receive_stock(1)
        n = 0
        while not self.stop.is_set() and (batches == 0 or n < batches):
            n += 1
            batch, outcome = self.one_demo_batch(n)
            print("%s %s: %s" % (time.strftime("%H:%M:%S"), batch, outcome), flush=True)
            self.acknowledge_alarms()
            if n % 50 == 0:  # fresh stock before the lots run low
                self.receive_stock(n)
            self.stop.wait(self.pause * 4)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--passwords", required=True, help="JSON {user: password}")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between entries")
    parser.add_argument("--deviation-every", type=int, default=4)
    parser.add_argument("--batches", type=int, default=0, help="stop after N (0: never)")
    args = parser.parse_args()
    passwords = mes_load.passwords_of(args.passwords)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stats = mes_load.Stats()
    sessions = {}
    for user in ("sup1", "op1", "qa1", "qa2"):
        s = mes_load.Session(args.url, user, passwords[user], stats)
        s.login()
        sessions[user] = s
    DemoTeam(sessions, passwords, stop, args.pause, args.deviation_every).loop(args.batches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
