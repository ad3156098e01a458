"""The HTTP API (coordinator/serve/http_api.h) on deploy/local-cluster --dataplane: three
failoverd nodes, each serving HTTP on 127.0.0.1 (HTTP_ADDR), a real Postgres/Redis data
plane and the SaaS fakes.

/metrics parses with the Prometheus client's own text-format parser and says what the
cluster says (epoch, primary, one leader, verdicts, probes, plan steps after a drill);
/v1/status is the admin `status` document; /v1/primary answers on every node without a
token and holds no secret; an Alertmanager webhook and a JSON health report become
committed verdicts of their feeds; every authenticated endpoint refuses a missing or
wrong token with a JSON 401 and never logs it; bad requests get JSON 4xx and the node
keeps serving; a client that stalls mid-request is cut after http.timeout_ms."""

import json
import os
import socket
import sys
import time
import unittest
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, LocalCluster, admin_call, wait_for  # noqa: E402

HTTP_TIMEOUT_S = 2.0  # deploy/local-cluster's http.timeout_ms

# The reference's example (external-apis.md §6.4), as Alertmanager sends it.
EXAMPLE = {
    "version": "4", "groupKey": "{}/{severity=\"critical\"}:{alertname=\"RegionDown\"}",
    "truncatedAlerts": 0, "status": "firing", "receiver": "failoverd",
    "groupLabels": {"alertname": "RegionDown"},
    "commonLabels": {"alertname": "RegionDown", "region": "eu"},
    "commonAnnotations": {"summary": "eu unreachable"},
    "externalURL": "http://alertmanager:9093",
    "alerts": [{"status": "firing", "labels": {"alertname": "RegionDown", "region": "eu"},
                "annotations": {"summary": "eu unreachable"},
                "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                "fingerprint": "1a30ba71cca2921f"}]}


def request(addr, path, method="GET", token=None, body=None, headers=None, timeout=5):
    """(status, headers, body bytes) of one request; HTTP errors are answers too."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(f"http://{addr}{path}", data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def metrics(text):
    """{family name: family} and {(sample name, sorted labels): value}."""
    families, samples = {}, {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return families, samples


class HttpApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = LocalCluster(base_port=int(os.environ.get("FO_IT_BASE", "14300")))
        try:
            cls.c.up("--dataplane", timeout=180)
        except BaseException:
            cls.c.down()
            raise
        cls.addrs = dict(zip(NODES, cls.c.env["HTTP_ADDR"].split(",")))
        cls.tokens = {k: cls.c.token(k) for k in ("admin", "read", "feed", "alertmanager")}

    @classmethod
    def tearDownClass(cls):
        cls.c.down()

    def get_metrics(self, node, token=None):
        st, hdrs, body = request(self.addrs[node], "/metrics", token=token or self.tokens["read"])
        self.assertEqual(st, 200, body)
        self.assertTrue(hdrs["Content-Type"].startswith("text/plain; version=0.0.4"), hdrs)
        text = body.decode()
        self.assertTrue(text.endswith("\n"))
        return metrics(text)

    def committed_verdict(self, observer, region):
        st = self.c.status()
        for v in st["verdicts"]:
            if v["observer"] == observer and v["region"] == region:
                return v
        return None

    def follower(self):
        leader = wait_for("a leader", self.c.leader, 20)
        return next(n for n in NODES if n != leader)

    def assert_json_error(self, status, body, want_status, want_code=None):
        self.assertEqual(status, want_status, body)
        doc = json.loads(body)
        self.assertEqual(set(doc), {"error"}, doc)
        self.assertEqual(set(doc["error"]), {"code", "message"}, doc)
        if want_code is not None:
            self.assertEqual(doc["error"]["code"], want_code, doc)
        return doc

    # ---- /v1/primary ------------------------------------------------------------------

    def test_1_primary_on_every_node(self):
        def primary(node):
            st, _, body = request(self.addrs[node], "/v1/primary")
            return (st, body) if st == 200 else None

        for node in NODES:
            st, body = wait_for(f"/v1/primary on {node}", lambda: primary(node), 20)
            doc = json.loads(body)
            self.assertEqual((doc["site"], doc["epoch"], doc["node"]), ("main", 0, node))
            self.assertIn(doc["leader"], NODES)
            self.assertFalse(doc["operation_in_flight"])
            comp = doc["components"]
            self.assertEqual(comp["postgres"], {"region": "us-east-1", "host": "127.0.0.1",
                                                "port": int(self.c.env["PG_PORT_MAIN"]),
                                                "dbname": "app"})
            self.assertEqual(comp["redis"], {"region": "us-east-1", "host": "127.0.0.1",
                                             "port": int(self.c.env["REDIS_PORT_MAIN"])})
            self.assertEqual(comp["dns_origin"], "203.0.113.10")
            self.assertNotIn(b"password", body)
            self.assertNotIn(b"token", body)
        # HEAD (load balancers): the same status, no body
        st, _, body = request(self.addrs["us-west-2"], "/v1/primary", method="HEAD")
        self.assertEqual((st, body), (200, b""))

    # ---- /metrics ---------------------------------------------------------------------

    def test_2_metrics(self):
        def one_leader():
            leaders = sum(self.get_metrics(n)[1][("failoverd_raft_leader", ())] for n in NODES)
            return leaders == 1
        wait_for("exactly one node reporting failoverd_raft_leader 1", one_leader, 20)

        def all_up(node):
            _, s = self.get_metrics(node)
            ups = [k for k, v in s.items() if k[0] == "failoverd_verdict" and v == 1
                   and dict(k[1])["observer"] in NODES and dict(k[1])["status"] == "up"]
            return s if len(ups) == 9 else None

        for node in NODES:
            fams, s = self.get_metrics(node)
            for name, fam in fams.items():
                self.assertNotEqual(fam.type, "unknown", name)
                self.assertTrue(fam.documentation, name)
            self.assertEqual(s[("failoverd_up", ())], 1)
            self.assertEqual(s[("failoverd_epoch", ())], 0)
            self.assertEqual(s[("failoverd_primary", (("site", "main"),))], 1)
            self.assertEqual(s[("failoverd_primary", (("site", "dr"),))], 0)
            self.assertEqual(s[("failoverd_mode_paused", ())], 0)
            info = fams["failoverd_info"].samples
            self.assertEqual(len(info), 1)
            self.assertEqual((info[0].labels["node"], info[0].labels["cluster"], info[0].value),
                             (node, "local", 1))
            self.assertGreater(s[("failoverd_raft_term", ())], 0)
            self.assertGreater(s[("failoverd_raft_commit_index", ())], 0)
            self.assertGreaterEqual(s[("failoverd_raft_commit_index", ())],
                                    s[("failoverd_raft_last_applied", ())])
            for name in ("failoverd_raft_leader", "failoverd_admin_requests_total",
                         "failoverd_executor_attempts_total", "failoverd_operation_in_flight"):
                self.assertIn((name, ()), s)
            self.assertEqual(fams["failoverd_operations"].type, "counter")
            self.assertEqual(fams["failoverd_step_duration_seconds"].type, "histogram")
            self.assertEqual(s[("failoverd_operations_total",
                                (("kind", "auto"), ("result", "succeeded")))], 0)
            self.assertIn(("failoverd_feed_reports_total", (("listener", "health"),)), s)
            self.assertIn(("failoverd_feed_reports_rejected_total", (("listener", "http"),)), s)
            s = wait_for(f"{node}'s metrics to show every region UP from every node",
                         lambda: all_up(node), 30)
            for check in ("postgres:main", "postgres:dr", "redis:main", "redis:dr"):
                self.assertEqual(s[("failoverd_probe_up", (("check", check),))], 1, check)
                self.assertGreater(s[("failoverd_probe_latency_seconds", (("check", check),))], 0)

    # ---- /v1/status -------------------------------------------------------------------

    def test_3_status_is_the_admin_document(self):
        for node in NODES:
            st, hdrs, body = request(self.addrs[node], "/v1/status", token=self.tokens["read"])
            self.assertEqual(st, 200, body)
            self.assertTrue(hdrs["Content-Type"].startswith("application/json"))
            doc = json.loads(body)
            rep = admin_call(self.c.admin_addr(node), "status", token=self.tokens["read"])
            self.assertEqual(rep["code"], "ok", rep)
            admin = json.loads(rep["body"])
            self.assertEqual(set(doc), set(admin))
            for k in ("cluster", "node", "primary", "epoch", "initialized"):
                self.assertEqual(doc[k], admin[k], k)
            self.assertEqual({c["name"] for c in doc["checks"]}, {c["name"] for c in admin["checks"]})
            self.assertIn("decision", doc)
        # the admin token reads too
        st, _, _ = request(self.addrs["us-east-1"], "/v1/status", token=self.tokens["admin"])
        self.assertEqual(st, 200)

    # ---- POST /v1/alertmanager ----------------------------------------------------------

    def test_4_alertmanager_webhook(self):
        node = self.follower()  # a follower forwards the verdict to the leader
        payload = json.loads(json.dumps(EXAMPLE))
        mapped = json.loads(json.dumps(EXAMPLE["alerts"][0]))
        mapped["labels"].update(region="eu-west-1", component="postgres")
        mapped["fingerprint"] = "2b41cb82ddb3a032"
        mars = json.loads(json.dumps(mapped))
        mars["labels"]["region"] = "mars"
        mars["fingerprint"] = "3c52dc93eec4b143"
        payload["alerts"] = [EXAMPLE["alerts"][0], mapped, mars]
        st, _, body = request(self.addrs[node], "/v1/alertmanager", "POST",
                              token=self.tokens["alertmanager"], body=payload)
        self.assertEqual(st, 200, body)
        doc = json.loads(body)
        self.assertEqual((doc["observer"], doc["accepted"]), ("alertmanager", 1), doc)
        ignored = {i["fingerprint"]: i for i in doc["ignored"]}
        self.assertEqual(set(ignored), {"1a30ba71cca2921f", "3c52dc93eec4b143"})
        self.assertIn("component", ignored["1a30ba71cca2921f"]["reason"])
        self.assertIn("mars", ignored["3c52dc93eec4b143"]["reason"])
        v = wait_for("the alertmanager verdict committed DOWN", lambda: (
            lambda v: v if v and v["status"] == "down" else None)(
                self.committed_verdict("alertmanager", "eu-west-1")), 10)
        self.assertIn("eu unreachable", v["reason"])
        wait_for("the verdict in /metrics", lambda: self.get_metrics("eu-west-1")[1].get(
            ("failoverd_verdict", (("observer", "alertmanager"), ("region", "eu-west-1"),
                                   ("status", "down")))) == 1, 10)
        # resolved: UP again; a repeat (repeat_interval) changes nothing
        mapped["status"] = "resolved"
        payload = dict(EXAMPLE, status="resolved", alerts=[mapped])
        for _ in range(2):
            st, _, body = request(self.addrs[node], "/v1/alertmanager", "POST",
                                  token=self.tokens["alertmanager"], body=payload)
            self.assertEqual((st, json.loads(body)["accepted"]), (200, 1), body)
        wait_for("the alertmanager verdict committed UP", lambda: (
            lambda v: v if v and v["status"] == "up" else None)(
                self.committed_verdict("alertmanager", "eu-west-1")), 10)
        # The alertmanager feed does not count toward the quorum: firing on the primary's
        # own region (us-east-1, Postgres: critical) is committed and shown, but the
        # leader's decision still sees main DOWN by none of the observers that count.
        firing = json.loads(json.dumps(mapped))
        firing["status"] = "firing"
        firing["labels"]["region"] = "us-east-1"
        st, _, body = request(self.addrs[node], "/v1/alertmanager", "POST",
                              token=self.tokens["alertmanager"],
                              body=dict(EXAMPLE, alerts=[firing]))
        self.assertEqual((st, json.loads(body)["accepted"]), (200, 1), body)
        wait_for("the alertmanager's us-east-1 verdict committed DOWN", lambda: (
            lambda v: v if v and v["status"] == "down" else None)(
                self.committed_verdict("alertmanager", "us-east-1")), 10)
        d = self.c.status()["decision"]
        self.assertEqual(d["reason"], "primary_not_down", d)
        self.assertIn("seen DOWN by 0 of 3 observers", d["text"])
        self.assertEqual(self.c.status()["epoch"], 0)
        firing["status"] = "resolved"
        st, _, body = request(self.addrs[node], "/v1/alertmanager", "POST",
                              token=self.tokens["alertmanager"],
                              body=dict(EXAMPLE, status="resolved", alerts=[firing]))
        self.assertEqual(st, 200, body)
        wait_for("the alertmanager's us-east-1 verdict committed UP", lambda: (
            lambda v: v if v and v["status"] == "up" else None)(
                self.committed_verdict("alertmanager", "us-east-1")), 10)

    # ---- POST /v1/health --------------------------------------------------------------

    def test_5_health_report(self):
        node = self.follower()
        report = {"observer": "monitoring", "region": "us-west-2", "component": "redis",
                  "status": "down", "detail": "synthetic \"check\" failed"}
        st, _, body = request(self.addrs[node], "/v1/health", "POST", token=self.tokens["feed"],
                              body=report)
        self.assertEqual((st, json.loads(body)), (200, {"result": "recorded"}))
        wait_for("the feed's verdict committed", lambda: (
            lambda v: v if v and v["status"] == "down" else None)(
                self.committed_verdict("monitoring", "us-west-2")), 10)
        st, _, body = request(self.addrs[node], "/v1/health", "POST", token=self.tokens["feed"],
                              body=dict(report, status="up", detail=None))
        self.assertEqual(st, 200, body)
        wait_for("the feed's verdict committed UP", lambda: (
            lambda v: v if v and v["status"] == "up" else None)(
                self.committed_verdict("monitoring", "us-west-2")), 10)
        bad = [dict(report, region="mars"), dict(report, status="sideways"),
               dict(report, colour="blue"), {k: v for k, v in report.items() if k != "component"},
               dict(report, component=""), dict(report, detail=7), [report],
               dict(report, **{"a" + "\u00e9" * 40: 1})]  # its name, quoted, cut mid-character
        for b in bad:
            st, _, body = request(self.addrs[node], "/v1/health", "POST",
                                  token=self.tokens["feed"], body=b)
            self.assert_json_error(st, body, 400)
        # one feed cannot speak for another, nor for a node
        for observer in ("alertmanager", "us-east-1"):
            st, _, body = request(self.addrs[node], "/v1/health", "POST",
                                  token=self.tokens["feed"], body=dict(report, observer=observer))
            self.assert_json_error(st, body, 401, "unauthorized")

    # ---- authentication ---------------------------------------------------------------

    def test_6_auth_failures(self):
        wrong = "wrong-token-5f2b9c1d7e"
        t = self.tokens
        cases = [
            ("GET", "/metrics", None), ("GET", "/metrics", wrong), ("GET", "/metrics", t["feed"]),
            ("GET", "/v1/status", None), ("GET", "/v1/status", wrong),
            ("GET", "/v1/status", t["alertmanager"]),
            ("POST", "/v1/alertmanager", None), ("POST", "/v1/alertmanager", wrong),
            ("POST", "/v1/alertmanager", t["read"]), ("POST", "/v1/alertmanager", t["admin"]),
            ("POST", "/v1/alertmanager", t["feed"]),
            ("POST", "/v1/health", None), ("POST", "/v1/health", wrong),
            ("POST", "/v1/health", t["read"]), ("POST", "/v1/health", t["admin"]),
        ]
        report = {"observer": "monitoring", "region": "us-west-2", "component": "redis",
                  "status": "up"}
        for node in NODES:
            for method, path, token in cases:
                body = None
                if method == "POST":
                    body = EXAMPLE if path == "/v1/alertmanager" else report
                st, hdrs, raw = request(self.addrs[node], path, method, token=token, body=body)
                self.assert_json_error(st, raw, 401, "unauthorized")
                self.assertTrue(hdrs["WWW-Authenticate"].startswith("Bearer"), (path, hdrs))
            # not a bearer scheme at all
            st, _, raw = request(self.addrs[node], "/metrics",
                                 headers={"Authorization": "Basic " + t["read"]})
            self.assert_json_error(st, raw, 401, "unauthorized")
        _, s = self.get_metrics("us-east-1")
        self.assertGreaterEqual(s[("failoverd_http_unauthorized_total", ())], len(cases) + 1)
        for node in NODES:
            log = self.c.log(node)
            self.assertIn("event=http.auth", log)
            for secret in (wrong, *t.values()):
                self.assertNotIn(secret, log, node)

    # ---- bad requests -----------------------------------------------------------------

    def test_7_bad_requests(self):
        addr = self.addrs["us-west-2"]
        for path, token in (("/v1/health", self.tokens["feed"]),
                            ("/v1/alertmanager", self.tokens["alertmanager"])):
            for body in (b"{", b"", b"\xff\xfe", b"[]", b'{"a": 1, "a": 2}'):
                st, _, raw = request(addr, path, "POST", token=token, body=body)
                self.assert_json_error(st, raw, 400)
        # over 64 KiB: announced by Content-Length
        st, _, raw = request(addr, "/v1/health", "POST", token=self.tokens["feed"],
                             body=b" " * (70 * 1024))
        self.assert_json_error(st, raw, 413, "too_large")
        # A webhook's cap is 4 MiB, and only with the feed's token (without it 64 KiB): a
        # larger one announced is refused before its body is sent (headers only here: the
        # answer comes at once, then the connection closes).
        host, port = addr.rsplit(":", 1)
        for token, size in ((self.tokens["alertmanager"], (4 << 20) + 1),
                            ("wrong-token", 64 * 1024 + 1)):
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.sendall(b"POST /v1/alertmanager HTTP/1.1\r\nHost: t\r\nContent-Type: "
                          b"application/json\r\nContent-Length: %d\r\nAuthorization: Bearer "
                          b"%s\r\n\r\n" % (size, token.encode()))
                reply = b""
                while not reply.rstrip().endswith(b"}"):
                    data = s.recv(4096)
                    if not data:
                        break
                    reply += data
            self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:200])
            self.assertIn(b"over %d bytes" % (size - 1), reply)
        # Alertmanager sends a whole group at once: 200 real alerts (~100 KiB) are read.
        group = dict(EXAMPLE, alerts=[dict(EXAMPLE["alerts"][0], fingerprint="%016x" % i,
                                           labels={"alertname": "RegionDown", "region": "eu",
                                                   "instance": "host-%04d:9100" % i})
                                      for i in range(200)])
        st, _, raw = request(addr, "/v1/alertmanager", "POST", token=self.tokens["alertmanager"],
                             body=group)
        self.assertEqual(st, 200, raw[:200])
        st, _, raw = request(addr, "/v1/alertmanager", "POST", token=self.tokens["alertmanager"],
                             body=dict(EXAMPLE, version="3"))
        self.assert_json_error(st, raw, 400)
        st, _, raw = request(addr, "/v1/alertmanager", "POST", token=self.tokens["alertmanager"],
                             body={"version": "4"})
        self.assert_json_error(st, raw, 400)
        # over 64 KiB without a Content-Length (chunked): read, dropped, then refused
        chunk = b"x" * 8192
        raw = (b"POST /v1/health HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
               b"Authorization: Bearer " + self.tokens["feed"].encode() + b"\r\n\r\n"
               + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 10 + b"0\r\n\r\n")
        host, port = addr.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(raw)
            reply = b""
            while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
                data = s.recv(4096)
                if not data:
                    break
                reply += data
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:200])
        self.assertIn(b'"too_large"', reply)
        # wrong method: 405 with Allow
        for method, path, allow in (("POST", "/metrics", "GET, HEAD"),
                                    ("DELETE", "/v1/primary", "GET, HEAD"),
                                    ("GET", "/v1/health", "POST"),
                                    ("PUT", "/v1/alertmanager", "POST")):
            st, hdrs, raw = request(addr, path, method, token=self.tokens["read"],
                                    body=b"{}" if method in ("POST", "PUT") else None)
            self.assert_json_error(st, raw, 405, "method_not_allowed")
            self.assertEqual(hdrs["Allow"], allow)
        for path in ("/", "/v1", "/v1/primary/x", "/metrics?x=1/../", "/v2/status"):
            st, _, raw = request(addr, path, token=self.tokens["read"])
            if path.startswith("/metrics?"):  # the query is not part of the path
                self.assertEqual(st, 200)
                continue
            self.assert_json_error(st, raw, 404, "not_found")
        # headers over the per-connection memory limit: refused by libmicrohttpd itself
        st, _, _ = request(addr, "/v1/primary", headers={"X-Big": "a" * 40000})
        self.assertTrue(400 <= st < 500, st)
        # and the node keeps serving
        st, _, _ = request(addr, "/v1/primary")
        self.assertEqual(st, 200)
        self.get_metrics("us-west-2")

    # ---- a stalled client -------------------------------------------------------------

    def test_8_slow_client_is_cut(self):
        addr = self.addrs["eu-west-1"]
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=10)
        try:
            s.sendall(b"GET /v1/primary HTTP/1.1\r\nHost: t\r\n")  # half a request
            t0 = time.monotonic()
            # others are served meanwhile, on the same node
            for _ in range(3):
                st, _, _ = request(addr, "/v1/primary", timeout=2)
                self.assertEqual(st, 200)
            st, _, _ = request(addr, "/metrics", token=self.tokens["read"], timeout=2)
            self.assertEqual(st, 200)
            data = s.recv(4096)  # blocks until the node closes (or answers) the connection
            waited = time.monotonic() - t0
        finally:
            s.close()
        self.assertNotIn(b"200 OK", data)
        self.assertGreaterEqual(waited, HTTP_TIMEOUT_S - 0.5)
        self.assertLess(waited, HTTP_TIMEOUT_S + 4)
        st, _, _ = request(addr, "/v1/primary")
        self.assertEqual(st, 200)

    # ---- after an operation -----------------------------------------------------------

    def test_9_metrics_after_a_drill(self):
        r = self.c.ctl("drill", "--to", "dr")
        self.assertEqual(r.returncode, 0, r.stderr)

        def drilled():
            _, s = self.get_metrics("us-east-1")
            key = ("failoverd_operations_total", (("kind", "drill"), ("result", "succeeded")))
            return s if s.get(key) == 1 else None
        s = wait_for("the drill in failoverd_operations_total", drilled, 60)
        actions = {dict(k[1])["action"] for k in s
                   if k[0] == "failoverd_step_duration_seconds_count"}
        self.assertIn("postgres.promote", actions)
        for a in actions:
            count = s[("failoverd_step_duration_seconds_count", (("action", a),))]
            inf = s[("failoverd_step_duration_seconds_bucket", (("action", a), ("le", "+Inf")))]
            self.assertEqual(count, inf, a)
            self.assertGreaterEqual(s[("failoverd_step_duration_seconds_sum", (("action", a),))], 0)
        self.assertGreater(s[("failoverd_failover_duration_seconds", (("kind", "drill"),))], 0)
        self.assertEqual(s[("failoverd_epoch", ())], 0)
        # the leader ran the plan's steps
        attempts = sum(self.get_metrics(n)[1][("failoverd_executor_attempts_total", ())]
                       for n in NODES)
        self.assertGreaterEqual(attempts, len(actions))


if __name__ == "__main__":
    unittest.main(verbosity=2)
