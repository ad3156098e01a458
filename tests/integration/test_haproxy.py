"""Issue 16, client routing, end to end: a real HAProxy (Debian's) in front of the two
Postgres servers of deploy/local-cluster --dataplane, running the shipped
deploy/haproxy/failoverd.cfg unchanged (its values come from the environment).

HAProxy checks each server against one failoverd node's /v1/lb/postgres/primary (by site
name, %[srv_name]). A client connected through HAProxy writes rows in a loop, one
transaction each, reconnecting when the connection breaks; a manual failover main -> dr
runs; the client's writes reach dr through the same HAProxy address with no
configuration change. The acknowledged writes are counted, and every write dr
acknowledged is on dr.

Also: the /v1/lb checks by site and by host, their refusals (400/404), and issue 14's
proof that a minority node answers 503 (with the reason) within the majority window:
with the two other nodes gone, the node HAProxy asks stops naming any primary, and
HAProxy takes both servers out."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

import psycopg2

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, TOP, wait_for  # noqa: E402
from test_failover import Cluster  # noqa: E402

BASE = int(os.environ.get("FO_IT_BASE", "29300"))
HAPROXY_PRIMARY = BASE + 471  # inside the cluster's span, clear of its used ports
HAPROXY_REPLICA = BASE + 472
CHECK_NODE = "us-west-2"      # the failoverd node HAProxy asks (a follower, mostly)
WRITE_SECONDS = 90            # the writer stops by itself after this long


def ok(call):
    """call()'s answer when it is a 200, else None: for wait_for. A follower answers 503
    ("behind") for the moment between hearing a commit index and applying up to it, so a
    200 is waited for, never taken from a single request."""
    r = call()
    return r if r[0] == 200 else None


def get(addr, path, timeout=3):
    """(status, JSON body) of one GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(f"http://{addr}{path}", timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class Writer(threading.Thread):
    """An application connected through HAProxy: INSERTs row n = 0, 1, 2, ... (autocommit:
    a returned INSERT is acknowledged) and records which server acknowledged it
    (inet_server_port()). On any error it drops the connection and connects again to
    the same address: the only thing it knows is HAProxy's."""

    def __init__(self, port, password):
        super().__init__(name="haproxy-writer", daemon=True)
        self.port, self.password = port, password
        self.acked = {}  # n -> server port; under lock
        self.errors = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.crashed = None

    def run(self):
        try:
            self._run()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.crashed = e

    def _run(self):
        conn, n = None, 0
        deadline = time.monotonic() + WRITE_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="failoverd",
                                            password=self.password, dbname="app",
                                            connect_timeout=2,
                                            options="-c statement_timeout=2000")
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO items(note) VALUES (%s) RETURNING inet_server_port()",
                                (f"hx-{n}",))
                    server = cur.fetchone()[0]
                with self.lock:
                    self.acked[n] = server
                n += 1
            except psycopg2.Error:
                with self.lock:
                    self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                n += 1  # the attempt may or may not have committed: a new key
                self.stop.wait(0.05)  # pacing between reconnects, not a wait for a state
        if conn is not None:
            conn.close()

    def on(self, port):
        with self.lock:
            return sum(1 for p in self.acked.values() if p == port)


class HAProxyRouting(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("haproxy") is None:
            raise unittest.SkipTest("haproxy is not installed (deploy/install-deps)")
        cls.c = Cluster(base_port=BASE)
        cls.addClassCleanup(cls.c.down)  # also when starting it fails half way
        cls.c.up_dataplane()
        cls.http = {n: cls.c.env[f"NODE_{n.upper().replace('-', '_')}_HTTP"] for n in NODES}
        host, port = cls.http[CHECK_NODE].rsplit(":", 1)
        dp = cls.c.dp
        env = {**os.environ,
               "FO_HAPROXY_PRIMARY_BIND": f"127.0.0.1:{HAPROXY_PRIMARY}",
               "FO_HAPROXY_REPLICA_BIND": f"127.0.0.1:{HAPROXY_REPLICA}",
               "FO_PG_MAIN": f"127.0.0.1:{dp.pg_main_port}",
               "FO_PG_DR": f"127.0.0.1:{dp.pg_dr_port}",
               "FO_FAILOVERD_HOST": host, "FO_FAILOVERD_PORT": port}
        cfg = os.path.join(TOP, "deploy", "haproxy", "failoverd.cfg")
        r = subprocess.run(["haproxy", "-c", "-f", cfg], env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        cls.haproxy_log = open(os.path.join(cls.c.dir, "haproxy.log"), "w")
        # -db: foreground, no daemon; its log goes to stdout (the config's `log stdout`)
        cls.haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], env=env,
                                       stdout=cls.haproxy_log, stderr=subprocess.STDOUT)
        cls.addClassCleanup(cls.stop_haproxy)

    @classmethod
    def stop_haproxy(cls):
        cls.haproxy.terminate()
        try:
            cls.haproxy.wait(10)
        except subprocess.TimeoutExpired:
            cls.haproxy.kill()
            cls.haproxy.wait()
        cls.haproxy_log.close()

    def lb(self, node, what, query):
        return get(self.http[node], f"/v1/lb/postgres/{what}?{query}")

    def refused(self, node, what, query, code):
        """Wait for the check's 503 with code (a follower may say "behind" for a moment)."""
        return wait_for(f"{what}?{query} on {node}: 503 {code}", lambda: (
            lambda r: r if r[0] == 503 and r[1]["error"]["code"] == code else None)(
                self.lb(node, what, query)), 10)

    def test_1_checks(self):
        self.c.wait_all_up()
        dp = self.c.dp
        for node in NODES:
            wait_for(f"{node} to name main the primary",
                     lambda: self.lb(node, "primary", "site=main")[0] == 200, 20)
            self.refused(node, "primary", "site=dr", "not_primary")
        st, doc = wait_for("main's check by address", lambda: ok(
            lambda: self.lb(CHECK_NODE, "primary", f"host=127.0.0.1&port={dp.pg_main_port}")), 10)
        self.assertEqual((st, doc["site"], doc["role"]), (200, "main", "primary"), doc)
        self.assertIn("majority", doc)
        wait_for("dr to be seen a standby",
                 lambda: self.lb(CHECK_NODE, "replica", "site=dr")[0] == 200, 20)
        self.refused(CHECK_NODE, "replica", "site=main", "is_primary")
        # refusals: a check that names no server, or one nobody configured
        self.assertEqual(self.lb(CHECK_NODE, "primary", "")[0], 400)
        self.assertEqual(self.lb(CHECK_NODE, "primary", "site=mars")[1]["error"]["code"],
                         "unknown_site")
        self.assertEqual(self.lb(CHECK_NODE, "primary", "host=127.0.0.1&port=1")[0], 404)
        self.assertEqual(get(self.http[CHECK_NODE], "/v1/lb/mysql/primary?site=main")[0], 404)
        self.assertEqual(get(self.http[CHECK_NODE], "/v1/lb/postgres/leader?site=main")[0], 404)
        # /v1/primary carries the majority judgement
        st, doc = wait_for("/v1/primary", lambda: ok(
            lambda: get(self.http[CHECK_NODE], "/v1/primary")), 10)
        self.assertEqual((st, doc["site"]), (200, "main"), doc)
        self.assertLessEqual(doc["majority"]["contact_age_ms"], doc["majority"]["window_ms"])

    def test_2_writes_follow_the_failover(self):
        dp = self.c.dp
        self.c.wait_all_up()
        w = Writer(HAPROXY_PRIMARY, dp.password)
        w.start()
        try:
            wait_for("writes through HAProxy to land on main", lambda: w.on(dp.pg_main_port) >= 20,
                     30)
            r = self.c.ctl("failover", "--to", "dr", "--reason", "test_haproxy")
            self.assertEqual(r.returncode, 0, (r.stdout, r.stderr))
            done = wait_for("the failover to finish", lambda: (lambda s: s if (
                s["epoch"] == 1 and s["operation"] is None) else None)(self.c.status()), 60)
            wait_for("writes through the same HAProxy address to land on dr",
                     lambda: w.on(dp.pg_dr_port) >= 20, 30)
        finally:
            w.stop.set()
            w.join(30)
        self.assertFalse(w.is_alive(), "the writer did not stop")
        self.assertIsNone(w.crashed)
        self.assertEqual(done["primary"], "dr")
        rows = set(dp.psql(dp.pg_dr_port, "SELECT note FROM items WHERE note LIKE 'hx-%'").split())
        on_main = {f"hx-{n}" for n, p in w.acked.items() if p == dp.pg_main_port}
        on_dr = {f"hx-{n}" for n, p in w.acked.items() if p == dp.pg_dr_port}
        lost = on_main - rows
        print(f"\nhaproxy: {len(w.acked)} writes acknowledged ({len(on_main)} by main, "
              f"{len(on_dr)} by dr), {w.errors} failed attempts, {len(lost)} of main's not on dr",
              file=sys.stderr)
        self.assertEqual(on_dr - rows, set(), "writes dr acknowledged are missing on dr")
        # after the first write dr acknowledged, main acknowledged none: one writable primary
        first_dr = min(n for n, p in w.acked.items() if p == dp.pg_dr_port)
        self.assertEqual([n for n, p in w.acked.items() if p == dp.pg_main_port and n > first_dr],
                         [])
        wait_for("dr's primary check", lambda: ok(lambda: self.lb(CHECK_NODE, "primary", "site=dr")),
                 10)
        self.refused(CHECK_NODE, "primary", "site=main", "not_primary")

    def test_3_minority_node_answers_503(self):
        # Issue 14: with the two other nodes gone, CHECK_NODE cannot show majority contact;
        # /v1/primary and the lb checks say 503 with the reason, within the window.
        st, doc = wait_for("/v1/primary", lambda: ok(
            lambda: get(self.http[CHECK_NODE], "/v1/primary")), 10)
        window_s = doc["majority"]["window_ms"] / 1000.0
        for node in NODES:
            if node != CHECK_NODE:
                self.c.run("kill", node)
        t0 = time.monotonic()
        st, doc = wait_for("the minority node to refuse /v1/primary",
                           lambda: (lambda r: r if r[0] == 503 else None)(
                               get(self.http[CHECK_NODE], "/v1/primary")), 10)
        took = time.monotonic() - t0
        self.assertIn(doc["error"]["code"],
                      ("leader_silent", "no_leader", "no_quorum_contact", "leader_not_ready"), doc)
        print(f"\nminority: /v1/primary 503 ({doc['error']['code']}) {took:.2f}s after the kill, "
              f"window {window_s:.2f}s", file=sys.stderr)
        st, doc = self.lb(CHECK_NODE, "primary", "site=dr")
        self.assertEqual(st, 503, doc)
        # and HAProxy takes dr out: a new connection finds no server
        def refused():
            try:
                psycopg2.connect(host="127.0.0.1", port=HAPROXY_PRIMARY, user="failoverd",
                                 password=self.c.dp.password, dbname="app",
                                 connect_timeout=2).close()
                return False
            except psycopg2.OperationalError:
                return True
        wait_for("HAProxy to have no primary", refused, 10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
