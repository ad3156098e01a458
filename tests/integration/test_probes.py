"""it_probes: the prober (coordinator/detect/probe.h) against real servers on 127.0.0.1, through
probe_driver (tests/integration/probe_driver.c), which prints one JSON line per probe
result and per region verdict change.

Servers: a PostgreSQL 15 primary with a streaming standby and a Redis master with a
replica (tests/integration/dataplane.py), a tiny HTTP server whose status the test
switches, a TCP listener that accepts and never answers (a wedged server), and a port
where nothing listens. Ports are fixed and distinct from the other tests' (27432-27433
Postgres, 27379-27380 Redis, 27480-27482 for the rest); the test refuses to start when
one is taken. Every server is stopped in tearDownClass. FO_KEEP=1 keeps the directory
and logs of a failed run.

Checks (interval 200 ms, down_after 600 ms, up_after 400 ms, timeout 1 s):
  postgres:main  us-east-1  critical   the primary
  redis:main     us-east-1             the Redis master (not critical)
  postgres:dr    eu-west-1  critical   the standby
  redis:dr       us-west-2  critical   the Redis replica
  http:web       web        critical   the HTTP server
  postgres:hang  hang       critical   the listener that never answers (timeout 300 ms)
  redis:hang     hang                  the same, through hiredis
  redis:nowhere  nowhere    critical   the port where nothing listens
"""

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from dataplane import PG_BIN, DataPlane, port_free  # noqa: E402

PG_MAIN, PG_DR, REDIS_MAIN, REDIS_DR = 27432, 27433, 27379, 27380
HTTP_PORT, HANG_PORT, DEAD_PORT = 27480, 27481, 27482
# TIMEOUT is generous for the real servers (a first connect with scram-sha-256 under ASan
# on a loaded machine can take a few hundred ms); the hanging checks use HANG_TIMEOUT.
INTERVAL, DOWN_AFTER, UP_AFTER, TIMEOUT, HANG_TIMEOUT = 200, 600, 400, 1000, 300
RUN_SECONDS = 60  # the driver's bound; the test stops it much earlier
# The slack a loaded 2-core CI machine (and ASan) needs on top of the exact timings.
SLACK_S = 2.0


def wait_for(what, cond, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class StatusHandler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"ok\n" if StatusHandler.status == 200 else b"broken\n"
        self.send_response(StatusHandler.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Silent:
    """Accepts TCP connections and never says a word (nor closes them)."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.conns = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                return

    def stop(self):
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in self.conns:
            c.close()


class Driver:
    """probe_driver as a child process; its JSON lines collected by a thread."""

    def __init__(self, binary, checks, logpath):
        args = [binary, "--seconds", str(RUN_SECONDS)]
        for c in checks:
            args += ["--check", ",".join(f"{k}={v}" for k, v in c.items())]
        self.log = open(logpath, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(json.loads(line))

    def events(self, type_=None, **match):
        with self.lock:
            evs = list(self.lines)
        return [e for e in evs if (type_ is None or e["type"] == type_)
                and all(e.get(k) == v for k, v in match.items())]

    def results(self, check):
        return self.events("result", check=check)

    def last_result(self, check, pred=lambda r: True):
        rs = [r for r in self.results(check) if pred(r)]
        return rs[-1] if rs else None

    def region(self, region):
        """The last verdict reported for region (None before any)."""
        evs = self.events("region", region=region)
        return evs[-1] if evs else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.thread.join(timeout=5)
        self.log.close()
        return rc


class Probes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.path.join(os.environ.get("FO_BIN", os.path.join(TOP, "build", "bin")),
                              "probe_driver")
        # Our CMake builds probe_driver with the daemon: missing means a broken build, a
        # failure (a SkipTest would make unittest exit 0 and CTest report a pass).
        if not os.access(binary, os.X_OK):
            raise AssertionError(f"{binary} is missing or not executable: build the tree first")
        busy = [p for p in (PG_MAIN, PG_DR, REDIS_MAIN, REDIS_DR, HTTP_PORT, HANG_PORT, DEAD_PORT)
                if not port_free(p)]
        if busy:
            raise RuntimeError(f"ports in use on 127.0.0.1: {busy}")
        cls.root = tempfile.mkdtemp(prefix="fo-probes-")
        cls.dp = DataPlane(cls.root, PG_MAIN, PG_DR, REDIS_MAIN, REDIS_DR)
        cls.httpd = cls.silent = cls.driver = None
        cls.failed = False
        try:
            t0 = time.monotonic()
            cls.dp.start()
            print(f"# data plane up in {time.monotonic() - t0:.1f}s", file=sys.stderr)
            cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", HTTP_PORT), StatusHandler)
            threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
            cls.silent = Silent(HANG_PORT)
            cls.wrong_password = "wrong-" + os.urandom(6).hex()
            cls.wrong_password_file = os.path.join(cls.root, "wrong.password")
            with open(cls.wrong_password_file, "w") as f:
                f.write(cls.wrong_password + "\n")
            common = {"interval": INTERVAL, "timeout": TIMEOUT, "down": DOWN_AFTER,
                      "up": UP_AFTER, "host": "127.0.0.1"}
            pg = {"kind": "postgres", "user": "failoverd", "dbname": "app",
                  "password_file": cls.dp.password_file}
            rd = {"kind": "redis", "password_file": cls.dp.redis_password_file}
            checks = [
                {"name": "postgres:main", "region": "us-east-1", "critical": 1, "port": PG_MAIN,
                 **pg},
                {"name": "redis:main", "region": "us-east-1", "critical": 0, "port": REDIS_MAIN,
                 **rd},
                {"name": "postgres:dr", "region": "eu-west-1", "critical": 1, "port": PG_DR, **pg},
                {"name": "redis:dr", "region": "us-west-2", "critical": 1, "port": REDIS_DR, **rd},
                {"name": "http:web", "kind": "http", "region": "web", "critical": 1,
                 "url": f"http://127.0.0.1:{HTTP_PORT}/health", "expect": 200},
                {"name": "postgres:hang", "region": "hang", "critical": 1, "port": HANG_PORT,
                 **pg, "timeout": HANG_TIMEOUT},
                {"name": "redis:hang", "kind": "redis", "region": "hang", "critical": 0,
                 "port": HANG_PORT, "timeout": HANG_TIMEOUT},
                {"name": "redis:nowhere", "kind": "redis", "region": "nowhere", "critical": 1,
                 "port": DEAD_PORT},
                {"name": "postgres:badauth", "region": "badauth", "critical": 1, "port": PG_DR,
                 **pg, "password_file": cls.wrong_password_file},
                {"name": "redis:badauth", "region": "badauth", "critical": 1, "port": REDIS_DR,
                 **rd, "password_file": cls.wrong_password_file},
                # Postgres TLS keywords reach libpq (issue 14); the data plane has no TLS.
                {"name": "postgres:tls", "region": "tls", "critical": 1, "port": PG_DR, **pg,
                 "sslmode": "require"},
                {"name": "postgres:notls", "region": "notls", "critical": 1, "port": PG_DR, **pg,
                 "sslmode": "disable"},
            ]
            cls.checks = [{**common, **c} for c in checks]
            cls.t_start = time.monotonic()
            cls.driver = Driver(binary, cls.checks, os.path.join(cls.root, "driver.log"))
        except BaseException:
            cls._teardown()
            raise

    @classmethod
    def _teardown(cls):
        rc = None
        if cls.driver is not None:
            rc = cls.driver.stop()
        if cls.silent is not None:
            cls.silent.stop()
        if cls.httpd is not None:
            cls.httpd.shutdown()
            cls.httpd.server_close()
        cls.dp.stop()
        if os.environ.get("FO_KEEP") and cls.failed:
            print(f"# kept {cls.root}", file=sys.stderr)
        else:
            shutil.rmtree(cls.root, ignore_errors=True)
        return rc

    @classmethod
    def tearDownClass(cls):
        rc = cls._teardown()
        if rc is not None and rc != 0:
            raise AssertionError(f"probe_driver exited with {rc} (handles left open?)")

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors):
            type(self).failed = True
            if self.driver is not None:
                try:
                    with open(os.path.join(self.root, "driver.log")) as f:
                        print("# driver log (tail):\n" + "".join(f.readlines()[-30:]),
                              file=sys.stderr)
                except OSError:
                    pass
        return r

    def driver_log(self):
        with open(os.path.join(self.root, "driver.log")) as f:
            return f.read()

    def wait_region(self, region, status, timeout):
        return wait_for(f"region {region} {status}",
                        lambda: (lambda v: v if v and v["status"] == status else None)(
                            self.driver.region(region)), timeout)

    # ---- scenarios, in order --------------------------------------------------------

    def test_1_all_up(self):
        # every healthy region UP within one interval (the phase) + up_after + slack
        limit = (INTERVAL + UP_AFTER) / 1000 + SLACK_S
        for region in ("us-east-1", "eu-west-1", "us-west-2", "web"):
            v = self.wait_region(region, "up", limit)
            self.assertIn("up", v["reason"])
        for region in ("us-east-1", "eu-west-1", "us-west-2", "web"):
            self.assertEqual(len(self.driver.events("region", region=region)), 1,
                             f"{region}: exactly one verdict change (UNKNOWN -> UP)")

    def test_2_postgres_roles_and_lag(self):
        # a committed write on the primary makes the standby replay something
        self.dp.psql(PG_MAIN, "INSERT INTO items (note) VALUES ('probe test')")
        main = wait_for("a primary result with a streaming standby", lambda: self.driver.last_result(
            "postgres:main", lambda r: r["ok"] and r["pg"]["standbys_streaming"] >= 1), 5)
        self.assertFalse(main["pg"]["in_recovery"])
        self.assertEqual(main["pg"]["standbys"], 1)
        self.assertTrue(main["pg"]["wal_lsn_known"])
        self.assertTrue(main["pg"]["standby_lag_known"])
        self.assertIn("primary", main["detail"])
        t_main = main["t"]
        dr = wait_for("a standby result after the write, caught up", lambda: self.driver.last_result(
            "postgres:dr", lambda r: r["ok"] and r["t"] > t_main and r["pg"]["lag_ms_known"]
            and r["pg"]["wal_lsn"] >= main["pg"]["wal_lsn"]), 5)
        pg = dr["pg"]
        self.assertTrue(pg["in_recovery"])
        self.assertTrue(pg["receiver_streaming"])
        self.assertTrue(pg["lag_bytes_known"])
        self.assertLess(pg["lag_bytes"], 16 * 1024 * 1024)
        self.assertLess(pg["lag_ms"], 10000)
        self.assertIn("standby", dr["detail"])
        # the role is information, not a failure: the standby's check is UP
        self.assertEqual(dr["status"], "up")

    def test_3_redis_roles(self):
        rep = wait_for("a redis replica result", lambda: self.driver.last_result(
            "redis:dr", lambda r: r["ok"]), 5)
        self.assertEqual(rep["redis"]["role"], "replica")
        self.assertTrue(rep["redis"]["link_up"])
        master = wait_for("a redis master result", lambda: self.driver.last_result(
            "redis:main", lambda r: r["ok"]), 5)
        self.assertEqual(master["redis"]["role"], "master")
        self.assertEqual(master["redis"]["replicas"], 1)
        # a write moves the master's offset, and the replica's follows it
        self.dp.redis_cli(REDIS_MAIN, "SET", "probe-test", "1")
        m = wait_for("the master's offset to move", lambda: self.driver.last_result(
            "redis:main", lambda r: r["ok"] and r["redis"]["offset"] > 0), 5)
        wait_for("the replica's offset to reach the master's", lambda: self.driver.last_result(
            "redis:dr", lambda r: r["ok"] and r["redis"]["offset"] >= m["redis"]["offset"]), 5)

    def test_4_unreachable_and_hanging(self):
        v = self.wait_region("nowhere", "down", (INTERVAL + DOWN_AFTER) / 1000 + SLACK_S)
        self.assertTrue(v["reason"].startswith("redis:nowhere: "), v)
        self.assertIn("refused", v["reason"].lower())
        # The hanging server never completes a connect and its check is never UP, so
        # every probe of it connects with twice the timeout (probe.h).
        v = self.wait_region("hang", "down",
                             (INTERVAL + DOWN_AFTER + 2 * HANG_TIMEOUT) / 1000 + SLACK_S)
        self.assertTrue(v["reason"].startswith("postgres:hang: timeout after"), v)
        wait_for("8 results of each hanging check", lambda: all(
            len(self.driver.results(c)) >= 8 for c in ("postgres:hang", "redis:hang")), 10)
        for check in ("postgres:hang", "redis:hang"):
            rs = self.driver.results(check)
            self.assertTrue(rs and all(not r["ok"] for r in rs), check)
            for r in rs:
                self.assertIn(f"timeout after {2 * HANG_TIMEOUT} ms (connecting)", r["detail"])
                self.assertGreaterEqual(r["latency_ms"], 2 * HANG_TIMEOUT - 5)
        # The loop was never blocked by the hanging probes: every healthy check kept its
        # pace (a result every interval), judged on the driver's own monotonic clock.
        t_end = max(r["t"] for r in self.driver.results("postgres:hang"))
        for check in ("redis:main", "redis:dr", "http:web"):
            ts = [r["t"] for r in self.driver.results(check) if r["t"] <= t_end]
            self.assertGreater(len(ts), 5, check)
            gaps = sorted(b - a for a, b in zip(ts, ts[1:]))
            # a loop blocked 300 ms per hanging probe (two of them every interval) could
            # not keep a 200 ms pace; a loaded machine may delay a tick now and then
            self.assertLess(gaps[len(gaps) // 2], INTERVAL + 100, f"{check}: gaps {gaps}")
            self.assertLess(gaps[-1], INTERVAL + 800, f"{check}: gaps {gaps}")

    def test_5_http_200_then_500(self):
        self.assertEqual(self.driver.region("web")["status"], "up")
        StatusHandler.status = 500
        t0 = time.monotonic()
        try:
            v = self.wait_region("web", "down", (INTERVAL + DOWN_AFTER) / 1000 + SLACK_S)
        finally:
            StatusHandler.status = 200
        self.assertIn("http:web: HTTP 500, expected 200", v["reason"])
        self.assertGreaterEqual(time.monotonic() - t0, DOWN_AFTER / 1000 - 0.05)
        bad = self.driver.last_result("http:web", lambda r: not r["ok"])
        self.assertEqual(bad["http_status"], 500)
        self.wait_region("web", "up", (INTERVAL + UP_AFTER) / 1000 + SLACK_S)

    def test_6_kill_primary_postgres(self):
        self.assertEqual(self.driver.region("us-east-1")["status"], "up")
        n_before = len(self.driver.results("postgres:main"))
        # as a crash: immediate shutdown (SIGQUIT to the postmaster ends every backend)
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PG_BIN, "pg_ctl"), "-D",
                        self.dp.pg_dirs[PG_MAIN], "-m", "immediate", "-w", "stop"],
                       cwd=self.root, check=True, capture_output=True, timeout=30)
        v = self.wait_region("us-east-1", "down",
                             (INTERVAL + DOWN_AFTER + TIMEOUT) / 1000 + SLACK_S)
        self.assertTrue(v["reason"].startswith("postgres:main: "), v)
        fails = [r for r in self.driver.results("postgres:main")[n_before:] if not r["ok"]]
        self.assertTrue(fails)
        # DOWN after down_after_ms of failures, not before
        self.assertGreaterEqual(v["t"] - fails[0]["t"], DOWN_AFTER - 50)
        down = [r for r in fails if r["status"] == "down"]
        self.assertTrue(down and down[0]["t"] - fails[0]["t"] >= DOWN_AFTER - 50)
        # the kept connection's close ran the check at once (probe.h), not at its tick
        self.assertIn("event=probe.dropped check=postgres:main", self.driver_log())
        # the Redis master in the same region is not critical and still fine
        self.assertTrue(self.driver.last_result("redis:main")["ok"])

    def test_7_wrong_passwords_fail_without_showing_them(self):
        pg = wait_for("a postgres:badauth result", lambda: self.driver.last_result(
            "postgres:badauth"), 5)
        self.assertFalse(pg["ok"])
        self.assertIn("password authentication failed", pg["detail"])
        rd = wait_for("a redis:badauth result", lambda: self.driver.last_result("redis:badauth"), 5)
        self.assertFalse(rd["ok"])
        self.assertTrue(rd["detail"].startswith("AUTH: "), rd)
        with open(os.path.join(self.root, "driver.log")) as f:
            log = f.read()
        everything = json.dumps(self.driver.events()) + log
        for secret in (self.wrong_password, self.dp.password, self.dp.redis_password):
            self.assertNotIn(secret, everything)

    def test_7b_postgres_sslmode_reaches_libpq(self):
        # sslmode=require against a server without TLS: refused by libpq, never sent in
        # clear; sslmode=disable against the same server: up.
        tls = wait_for("a postgres:tls result", lambda: self.driver.last_result(
            "postgres:tls"), 5)
        self.assertFalse(tls["ok"])
        self.assertIn("SSL", tls["detail"])
        wait_for("postgres:notls up", lambda: self.driver.last_result(
            "postgres:notls", lambda r: r["ok"]), 5)

    def test_8_redis_replica_dies(self):
        # the kept connection sees EOF (hiredis frees it), then connects are refused
        self.assertEqual(self.driver.region("us-west-2")["status"], "up")
        try:
            self.dp.redis_cli(REDIS_DR, "SHUTDOWN", "NOSAVE", timeout=5)
        except RuntimeError:
            pass  # the connection drops as the server exits
        v = self.wait_region("us-west-2", "down", (INTERVAL + DOWN_AFTER + TIMEOUT) / 1000 + SLACK_S)
        self.assertTrue(v["reason"].startswith("redis:dr: "), v)
        self.assertIn("event=probe.dropped check=redis:dr", self.driver_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
