#!/usr/bin/env python3
"""Plant-floor load for the pharma-mes deployment drill (scripts/drill.sh mes).

  mes_load.py load  --url URL --passwords FILE --out FILE [--readers N]
  mes_load.py smoke --url URL --passwords FILE

`load` plays the people on the floor through the balancer until SIGTERM: readers (QA browsing
batches, alarms, their own session) and an operator team executing batches step by step (a
supervisor creates each batch and cleans the reactor, an operator runs the steps, a second
operator verifies the charges with their signature). Every session is opened once and kept for
the whole drill: a 401 on a kept token is a lost session. A request that gets a 5xx or a
connection error is a failed request. Every acknowledged write (2xx) is remembered and, after
SIGTERM, looked for in the records (read back through the balancer): one not there is a lost
write. Writes a JSON summary to --out; the `served_by` header HAProxy adds says which colour
answered each request.

`smoke` is the pre-promotion traffic `guardctl deploy --smoke-cmd` runs against green alone:
read-only requests of its own session, never user writes.

Python's standard library only (Debian's python3).
"""

import argparse
import http.client
import json
import signal
import sys
import threading
import time
import urllib.parse

MASTER = "PARA-500@1"


class Stats:
    """Counts shared by every worker thread (behind one lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.by_status = {}
        self.failed = []  # (seconds since start, method, path, what)
        self.failed_count = 0
        self.sessions_lost = 0
        self.served_by = {}
        self.started = time.time()
        self.latencies = []

    def note(self, method, path, status, served_by, seconds, failure=None):
        with self.lock:
            self.requests += 1
            key = str(status) if status is not None else "connection_error"
            self.by_status[key] = self.by_status.get(key, 0) + 1
            if served_by:
                self.served_by[served_by] = self.served_by.get(served_by, 0) + 1
            self.latencies.append(seconds)
            if failure is not None:
                self.failed_count += 1
                if len(self.failed) < 20:
                    self.failed.append(
                        [round(time.time() - self.started, 3), method, path, failure])


class Session:
    """One person's kept-alive connection and bearer token."""

    def __init__(self, base, user, password, stats):
        parsed = urllib.parse.urlparse(base)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.user, self.password, self.stats = user, password, stats
        self.conn = None
        self.token = None

    def _send(self, method, path, body, token):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = json.dumps(body) if body is not None else None
        started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            text = response.read()
            served_by = response.getheader("X-Served-By", "")
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
        except (OSError, http.client.HTTPException) as e:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            self.stats.note(method, path, None, "", time.monotonic() - started,
                            failure=type(e).__name__ + ": " + str(e))
            return None, None, ""
        status = response.status
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = None
        failure = None
        if status >= 500:
            failure = "HTTP %d %s" % (status, text[:200].decode("utf-8", "replace"))
        self.stats.note(method, path, status, served_by, time.monotonic() - started, failure)
        return status, doc, served_by

    def sibling(self):
        """Another connection of the same person, sharing the session (one login)."""
        other = Session("http://%s:%d" % (self.host, self.port), self.user, self.password,
                        self.stats)
        other.token = self.token
        return other

    def login(self):
        status, doc, _ = self._send("POST", "/api/v1/login",
                                    {"user_id": self.user, "password": self.password}, None)
        if status != 200:
            raise RuntimeError("%s cannot log in: HTTP %s %s" % (self.user, status, doc))
        self.token = doc["data"]["token"]

    def call(self, method, path, body=None):
        """(status, document, served_by); a 401 on the kept token counts as a lost session
        (the person logs in again and repeats the request)."""
        status, doc, served_by = self._send(method, path, body, self.token)
        if status == 401:
            with self.stats.lock:
                self.stats.sessions_lost += 1
            self.login()
            status, doc, served_by = self._send(method, path, body, self.token)
        return status, doc, served_by


def reader(session, stop, pause):
    """A person at a terminal: the batch list, their session, the alarms, the equipment; now
    and then the plant's KPIs (a dashboard's poll, not a hot path)."""
    paths = ["/api/v1/batches?state=Running", "/api/v1/me", "/api/v1/alarms?status=active",
             "/api/v1/equipment"]
    i = 0
    while not stop.is_set():
        session.call("GET", "/api/v1/kpis" if i % 50 == 49 else paths[i % len(paths)])
        i += 1
        stop.wait(pause)


class BatchTeam:
    """Runs batches one after the other through the balancer; remembers each acknowledged
    write as something the records must show afterwards."""

    def __init__(self, sup, op, op2_password, qa, prefix, stop, pause):
        self.sup, self.op, self.op2_password, self.qa = sup, op, op2_password, qa
        self.prefix, self.stop, self.pause = prefix, stop, pause
        self.acked = []  # (batch, kind, detail)
        self.completed = []  # (seconds since the epoch, batch, served_by) of each last step
        self.abandoned = []
        self.lots = {}

    def write(self, session, path, body, batch, kind, detail=None):
        status, doc, served_by = session.call("POST", path, body)
        if status is not None and 200 <= status < 300:
            self.acked.append((batch, kind, detail))
            return True, served_by
        return False, "HTTP %s %s" % (status, json.dumps(doc)[:300] if doc else "")

    def receive_stock(self, n):
        """Large released lots of both materials, so batches never run out."""
        for material, unit in (("API-PARA", "kg"), ("EXC-LAC", "kg")):
            lot = "L-DRILL-%s-%s-%d" % (self.prefix, material, n)
            ok, why = self.write(self.sup, "/api/v1/lots",
                                 {"id": lot, "material": material, "quantity": 100000, "unit": unit,
                                  "expires_at": "2035-01-01T00:00:00.000Z"}, lot, "lot")
            if not ok:
                raise RuntimeError("cannot receive lot %s: %s" % (lot, why))
            ok, why = self.write(self.qa, "/api/v1/lots/%s/status" % lot,
                                 {"status": "released", "reason": "CoA reviewed (drill)",
                                  "signature": {"user_id": self.qa.user,
                                                "password": self.qa.password,
                                                "attest": True}},
                                 lot, "lot_released")
            if not ok:
                raise RuntimeError("cannot release lot %s: %s" % (lot, why))
            self.lots[material] = lot

    def run(self):
        self.receive_stock(1)
        n = 0
        while not self.stop.is_set():
            n += 1
            batch = "B-%s-%04d" % (self.prefix, n)
            if not self.one_batch(batch):
                self.abandoned.append(batch)
                # The reactor may be bound to the abandoned batch: abort it, clean, go on.
                self.op.call("POST", "/api/v1/batches/%s/commands" % batch,
                             {"command": "Abort", "reason": "drill: a write failed"})
                self.sup.call("POST", "/api/v1/equipment/R-101/status",
                              {"status": "clean", "reason": "cleaned (drill)"})
            self.stop.wait(self.pause)

    def one_batch(self, batch):
        b = "/api/v1/batches/" + batch
        op, sup = self.op, self.sup
        plan = [
            (sup, "/api/v1/batches", {"id": batch, "master": MASTER, "size": 100}, "created", None),
            (op, b + "/commands", {"command": "Start"}, "started", None),
            (op, b + "/steps/1/start", {"equipment": "R-101"}, "step_started", 1),
            (op, b + "/steps/1/weighings",
             {"material": "API-PARA", "scale": "SC-1", "lot": self.lots["API-PARA"],
              "gross": 52.5, "tare": 2.5}, "weighing", 1),
            (op, b + "/steps/1/weighings",
             {"material": "EXC-LAC", "scale": "SC-1", "lot": self.lots["EXC-LAC"],
              "gross": 47.5, "tare": 2.5}, "weighing", 1),
            (op, b + "/steps/1/verify",
             # attest: each user's first signing accepts its legal meaning (11.100(c)).
             {"signature": {"user_id": "op2", "password": self.op2_password, "attest": True}},
             "verified", 1),
            (op, b + "/steps/1/complete", {}, "step_complete", 1),
            (sup, "/api/v1/equipment/R-101/status",
             {"status": "clean", "reason": "cleaned after " + batch}, "cleaned", None),
            (op, b + "/steps/2/start", {}, "step_started", 2),
            (op, b + "/steps/2/parameters", {"name": "impeller speed", "value": 150}, "parameter",
             2),
            (op, b + "/steps/2/parameters", {"name": "jacket temperature", "value": 45},
             "parameter", 2),
            (op, b + "/steps/2/parameters", {"name": "time", "value": 12}, "parameter", 2),
            (op, b + "/steps/2/complete", {}, "step_complete", 2),
            (op, b + "/steps/3/start", {}, "step_started", 3),
            (op, b + "/steps/3/parameters", {"name": "loss on drying", "value": 1.5}, "parameter",
             3),
            (op, b + "/steps/3/complete", {}, "step_complete", 3),
        ]
        for i, (session, path, body, kind, step) in enumerate(plan):
            if i > 0:
                self.stop.wait(self.pause)  # people take a moment between entries
            ok, served_by = self.write(session, path, body, batch, kind, step)
            if not ok:
                print("mes_load: %s: %s refused: %s" % (batch, path, served_by), file=sys.stderr)
                return False
            if i == len(plan) - 1:
                self.completed.append((time.time(), batch, served_by))
        return True

    def verify(self, reader_session):
        """Every acknowledged write, looked for in the batch records: the lost ones."""
        expected = {}
        for batch, kind, step in self.acked:
            if not batch.startswith("B-"):
                continue
            e = expected.setdefault(batch, {"created": False, "started": False, "steps": {}})
            if kind in ("created", "started"):
                e[kind] = True
            elif step is not None:
                s = e["steps"].setdefault(step, {"started": False, "weighings": 0,
                                                 "parameters": 0, "verified": False,
                                                 "complete": False})
                if kind == "step_started":
                    s["started"] = True
                elif kind == "weighing":
                    s["weighings"] += 1
                elif kind == "parameter":
                    s["parameters"] += 1
                elif kind == "verified":
                    s["verified"] = True
                elif kind == "step_complete":
                    s["complete"] = True
        lost = []
        for batch, e in sorted(expected.items()):
            status, doc, _ = reader_session.call("GET", "/api/v1/batches/" + batch)
            if status != 200:
                lost.append("%s: the batch record cannot be read (HTTP %s)" % (batch, status))
                continue
            record = doc["data"]
            if e["started"] and record.get("state") == "Idle":
                lost.append("%s: acknowledged Start, record says Idle" % batch)
            steps = {s["data"].get("n"): s for s in record.get("steps", [])}
            for n, s in e["steps"].items():
                got = steps.get(n)
                if got is None:
                    lost.append("%s: step %d is not in the record" % (batch, n))
                    continue
                data = got.get("data", {})
                if s["complete"] and got.get("state") != "complete":
                    lost.append("%s: step %d acknowledged complete, record says %s"
                                % (batch, n, got.get("state")))
                if len(data.get("weighings", [])) < s["weighings"]:
                    lost.append("%s: step %d has %d of %d acknowledged weighings"
                                % (batch, n, len(data.get("weighings", [])), s["weighings"]))
                if len(data.get("parameters", {})) < s["parameters"]:
                    lost.append("%s: step %d has %d of %d acknowledged parameters"
                                % (batch, n, len(data.get("parameters", {})), s["parameters"]))
                # The verification is a signature (a release with fault.batch_integrity loses
                # the step's verified_by on purpose; the signature stays).
                if s["verified"] and not any(g.get("meaning") == "verified"
                                             for g in got.get("signatures", [])):
                    lost.append("%s: step %d acknowledged verified, no verification signature"
                                % (batch, n))
        return lost, len(expected)


def passwords_of(path):
    with open(path) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["load", "smoke"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--passwords", required=True, help="JSON {user: password}")
    parser.add_argument("--out", help="summary JSON (load)")
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=6, help="smoke: parallel sessions")
    parser.add_argument("--prefix", default="D")
    args = parser.parse_args()
    passwords = passwords_of(args.passwords)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stats = Stats()

    def session(user):
        s = Session(args.url, user, passwords[user], stats)
        s.login()
        return s

    if args.mode == "smoke":
        first = session("qa2")  # one login: the login limit is per user and address
        threads = [threading.Thread(target=reader, args=(first if i == 0 else first.sibling(),
                                                         stop, 0.01))
                   for i in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return 0

    qa = session("qa1")
    readers = [qa] + [qa.sibling() for _ in range(args.readers - 1)]
    team = BatchTeam(session("sup1"), session("op1"), passwords["op2"], session("qa2"),
                     args.prefix, stop, 0.05)
    threads = [threading.Thread(target=reader, args=(r, stop, 0.1)) for r in readers]
    threads.append(threading.Thread(target=team.run))
    for t in threads:
        t.start()
    while not stop.is_set():
        stop.wait(0.5)
    for t in threads:
        t.join()
    lost, batches = team.verify(readers[0])
    lat = sorted(stats.latencies)
    summary = {
        "requests": stats.requests,
        "failed_requests": stats.failed_count,
        "failures": stats.failed,
        "sessions_lost": stats.sessions_lost,
        "writes_acknowledged": len(team.acked),
        "lost_writes": len(lost),
        "lost": lost[:20],
        "batches": batches,
        "batches_completed": len(team.completed),
        "batches_abandoned": team.abandoned,
        "completions": [[round(t, 3), b, c] for t, b, c in team.completed],
        "by_status": stats.by_status,
        "served_by": stats.served_by,
        "p50_ms": round(lat[len(lat) // 2] * 1000, 2) if lat else None,
        "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2) if lat else None,
        "seconds": round(time.time() - stats.started, 1),
    }
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
