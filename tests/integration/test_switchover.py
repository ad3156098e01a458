"""Issue 7, switchover, end to end on deploy/local-cluster --dataplane: the planned move
main -> dr under a steady write load loses no acknowledged write.

Two writer threads stand in for the application: one INSERTs rows into Postgres (as the
unprivileged failoverd role, each INSERT its own transaction, so psql's exit status 0 is
the acknowledgement), one SETs keys in Redis (an "OK" reply is the acknowledgement). Each
writes to the server it believes is primary and, when that refuses or hangs, tries the
other one — the way a client library with a list of hosts behaves. After the switchover
every acknowledged row and key must be on dr, exactly one Postgres must take writes, and
the writers must have gone on writing to dr.

Also: the dry run changes nothing; a switchover to the primary itself or to a site
nobody sees healthy is refused (code "refused", failoverctl's exit 4); the members
command."""

import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, admin_call, wait_for  # noqa: E402
from test_failover import Cluster  # noqa: E402

WRITE_LIMIT = 4000      # every writer stops by itself after this many attempts...
WRITE_SECONDS = 120     # ...or this long, whichever comes first


class Writer(threading.Thread):
    """Writes key n = 0, 1, 2, ... to whichever server takes it; remembers what was
    acknowledged and where."""

    def __init__(self, name, write, targets):
        super().__init__(name=name, daemon=True)
        self.write, self.targets = write, targets
        self.acked = {}  # n -> target that acknowledged it; under lock (read by the test)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors = 0
        self.crashed = None  # an exception that ended the thread, for the test to assert on

    def run(self):
        try:
            self._run()
        except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
            self.crashed = e

    def _run(self):
        deadline = time.monotonic() + WRITE_SECONDS
        current = 0
        for n in range(WRITE_LIMIT):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            target = self.targets[current]
            if self.write(target, n):
                with self.lock:
                    self.acked[n] = target
            else:
                self.errors += 1
                current = 1 - current  # refused or hung: try the other server next
                time.sleep(0.02)       # pacing between retries, not a wait for a condition

    def acked_on(self, target):
        with self.lock:
            return sum(1 for t in self.acked.values() if t == target)


class Switchover(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(base_port=int(os.environ.get("FO_IT_BASE", "23300")))
        cls.addClassCleanup(cls.c.down)  # also when starting it fails half way
        cls.c.up_dataplane()

    def call(self, cmd, **args):
        leader = wait_for("a leader", lambda: self.c.leader(), 30)
        return admin_call(self.c.admin_addr(leader), cmd, token=self.c.token(),
                          args={k: str(v) for k, v in args.items()}, timeout=10)

    # ---- the writers' two clients ---------------------------------------------------------

    def pg_write(self, port, n):
        try:
            r = self.c.dp.psql(port, f"INSERT INTO items(note) VALUES ('sw-{n}')",
                               user="failoverd", check=False, timeout=10)
        except subprocess.TimeoutExpired:
            return False  # no answer: not acknowledged
        return r.returncode == 0

    def redis_write(self, port, n):
        env = {**os.environ, "REDISCLI_AUTH": self.c.dp.redis_password}
        try:
            # A fenced master holds writes (CLIENT PAUSE WRITE): the client gives up after
            # 2 s, and an unanswered write is not acknowledged.
            r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "SET", f"sw:{n}",
                                str(n)], capture_output=True, text=True, timeout=2, env=env)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0 and r.stdout.strip() == "OK"

    # ---- tests ----------------------------------------------------------------------------

    def test_1_members(self):
        self.c.wait_all_up()
        rep = self.call("members")
        self.assertEqual(rep["code"], "ok", rep)
        doc = json.loads(rep["body"])
        self.assertEqual([m["name"] for m in doc["members"]], NODES)
        self.assertEqual(sum(m["leader"] for m in doc["members"]), 1)
        self.assertEqual(doc["leader"], doc["answered_by"])
        for m in doc["members"]:
            self.assertTrue(m["voter"] and m["in_raft_configuration"], m)
            self.assertIs(m["reachable"], True, m)
            self.assertIsInstance(m["applied"], int, m)
            self.assertLessEqual(m["applied"], doc["commit_index"] + 1, m)
        # a follower sends us to the leader, naming it
        follower = next(n for n in NODES if n != doc["leader"])
        rep = admin_call(self.c.admin_addr(follower), "members", token=self.c.token("read"))
        self.assertEqual(rep["code"], "not_leader", rep)

    def test_2_refusals_and_dry_run(self):
        self.c.wait_all_up()
        rep = self.call("switchover", to="main")
        self.assertEqual(rep["code"], "refused", rep)
        self.assertIn("already the primary", rep["message"])
        rep = self.call("switchover")
        self.assertEqual(rep["code"], "bad_request", rep)
        rep = self.call("switchover", to="dr", dry_run="true")
        self.assertEqual(rep["code"], "ok", rep)
        doc = json.loads(rep["body"])
        self.assertEqual((doc["kind"], doc["would_fail_over"], doc["from"], doc["to"], doc["epoch"]),
                         ("switchover", True, "main", "dr", 1), doc)
        self.assertIn("fence main", doc["text"])
        # read token: refused as forbidden
        leader = wait_for("a leader", lambda: self.c.leader(), 30)
        rep = admin_call(self.c.admin_addr(leader), "switchover", token=self.c.token("read"),
                         args={"to": "dr"})
        self.assertEqual(rep["code"], "forbidden", rep)
        st = self.c.status()
        self.assertEqual((st["primary"], st["epoch"], st["operation"]), ("main", 0, None))
        dp = self.c.dp
        self.assertEqual(dp.psql(dp.pg_dr_port, "SELECT pg_is_in_recovery()"), "t")

    def test_3_no_acknowledged_write_is_lost(self):
        dp = self.c.dp
        self.c.wait_all_up()
        pg = Writer("pg-writer", self.pg_write, [dp.pg_main_port, dp.pg_dr_port])
        rd = Writer("redis-writer", self.redis_write, [dp.redis_main_port, dp.redis_dr_port])
        pg.start()
        rd.start()
        try:
            wait_for("the load to run on main", lambda: pg.acked_on(dp.pg_main_port) >= 20 and
                     rd.acked_on(dp.redis_main_port) >= 20, 60)
            rep = self.call("switchover", to="dr", reason="planned maintenance of us-east-1",
                            by="test_switchover")
            self.assertEqual(rep["code"], "ok", rep)
            done = wait_for("the switchover to finish", lambda: (lambda s: s if (
                s["epoch"] == 1 and s["operation"] is None) else None)(self.c.status()), 120)
            # the writers keep going against dr
            before = (pg.acked_on(dp.pg_dr_port), rd.acked_on(dp.redis_dr_port))
            wait_for("writes to land on dr", lambda: pg.acked_on(dp.pg_dr_port) >= before[0] + 20 and
                     rd.acked_on(dp.redis_dr_port) >= before[1] + 20, 60)
        finally:
            pg.stop.set()
            rd.stop.set()
            pg.join(30)
            rd.join(30)
        self.assertFalse(pg.is_alive() or rd.is_alive(), "writers did not stop")
        self.assertIsNone(pg.crashed)
        self.assertIsNone(rd.crashed)
        self.assertEqual((done["primary"], done["epoch"]), ("dr", 1))
        report = json.loads(self.c.ctl("--json", "report").stdout)
        op = report["operation"]
        self.assertEqual((op["kind"], op["state"], op["from"], op["to"]),
                         ("switchover", "succeeded", "main", "dr"), op)
        self.assertEqual((report["data_loss"]["bytes"], report["data_loss"]["ms"]), (0, 0))
        self.assertTrue(report["data_loss"]["basis"].startswith("switchover"), report)
        steps = {s["name"]: s for s in op["steps"]}
        self.assertEqual(steps["fence-old-postgres"]["state"], "done", steps["fence-old-postgres"])
        self.assertEqual(steps["promote-postgres"]["state"], "done", steps["promote-postgres"])
        self.assertEqual(steps["promote-redis"]["state"], "done", steps["promote-redis"])
        # the promotes drained the old primary first (their results, in the leader's log)
        log = "".join(self.c.log(n) for n in NODES)
        self.assertRegex(log, r"action=postgres.promote result=done outcome=done detail=\"drained the fenced")
        self.assertRegex(log, r"action=redis.promote result=done outcome=done detail=\"drained the fenced")

        # Postgres: every acknowledged row is on dr
        rows = set(dp.psql(dp.pg_dr_port, "SELECT note FROM items WHERE note LIKE 'sw-%'").split())
        acked = {f"sw-{n}" for n in pg.acked}
        lost = sorted(acked - rows, key=lambda s: int(s[3:]))
        print(f"\npostgres: {len(acked)} acknowledged ({pg.acked_on(dp.pg_main_port)} on main, "
              f"{pg.acked_on(dp.pg_dr_port)} on dr), {pg.errors} refused, lost {len(lost)}",
              file=sys.stderr)
        self.assertEqual(lost, [], "acknowledged Postgres writes missing on dr")
        self.assertGreaterEqual(pg.acked_on(dp.pg_main_port), 20)
        self.assertGreaterEqual(pg.acked_on(dp.pg_dr_port), 20)
        # Redis: every acknowledged key is on dr
        keys = set(dp.redis_cli(dp.redis_dr_port, "--scan", "--pattern", "sw:*").split())
        acked = {f"sw:{n}" for n in rd.acked}
        lost = sorted(acked - keys, key=lambda s: int(s[3:]))
        print(f"redis: {len(acked)} acknowledged ({rd.acked_on(dp.redis_main_port)} on main, "
              f"{rd.acked_on(dp.redis_dr_port)} on dr), {rd.errors} refused, lost {len(lost)}",
              file=sys.stderr)
        self.assertEqual(lost, [], "acknowledged Redis writes missing on dr")
        # exactly one Postgres takes writes: main is fenced, dr is primary with the epoch
        r = dp.psql(dp.pg_main_port, "INSERT INTO items(note) VALUES ('after switchover')",
                    user="failoverd", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("read-only", r.stderr)
        self.assertEqual(dp.psql(dp.pg_dr_port, "SELECT epoch FROM failoverd.epoch"), "1")
        self.assertEqual(dp.redis_info(dp.redis_dr_port)["role"], "master")
        # main's Redis: refused by the epoch-1 refuse fence (min-replicas-to-write = 10^9 +
        # epoch), which never ends by itself, not by a CLIENT PAUSE that would
        self.assertEqual(dp.redis_cli(dp.redis_main_port, "CONFIG", "GET", "min-replicas-to-write").split()[-1],
                         "1000000001")
        try:  # redis-cli's exit code on an error reply differs between versions
            answer = dp.redis_cli(dp.redis_main_port, "SET", "after-switchover", "1")
        except RuntimeError as e:
            answer = str(e)
        self.assertIn("NOREPLICAS", answer)

    def test_4_switchover_to_a_lost_site_is_refused(self):
        # After test 3, dr is primary and main is fenced. Lose main's region: a switchover
        # back to it is refused (nobody sees it healthy; a switchover has no --force) and
        # nothing is committed.
        self.c.run("kill-region", "us-east-1")
        survivors = ["us-west-2", "eu-west-1"]
        leader = wait_for("a leader among the survivors", lambda: self.c.leader(survivors), 30)
        wait_for("main seen DOWN", lambda: any(
            v["status"] == "down" and v["region"] == "us-east-1"
            for v in self.c.status(leader)["verdicts"]), 30)
        rep = admin_call(self.c.admin_addr(leader), "switchover", token=self.c.token(),
                         args={"to": "main"}, timeout=10)
        self.assertEqual(rep["code"], "refused", rep)
        self.assertIn("never loses data", rep["message"])
        st = self.c.status(leader)
        self.assertEqual((st["primary"], st["epoch"], st["operation"]), ("dr", 1, None))


if __name__ == "__main__":
    unittest.main(verbosity=2)
