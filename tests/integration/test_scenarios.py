"""Issue 8's end-to-end scenarios that need no network namespaces, on
deploy/local-cluster --dataplane (real Postgres and Redis, the SaaS fakes):

- a paused cluster does nothing: region us-east-1 is lost while the cluster is paused;
  the leader reaches the point where the pause is the only rule that holds the failover
  back, and nothing is committed; `resume` lets the failover through at once;
- operator failover: `failoverctl failover --to dr` with both sites up runs the whole
  plan, fences main's Postgres (reachable, so the fence step is done, not skipped) and
  leaves exactly one Postgres taking writes.

(Region killed: it_failover; switchover: it_switchover; leader killed at every step:
it_crash_steps; bad input on every port: it_raft_cluster, it_http_api; partitions:
it_partition.)"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import wait_for  # noqa: E402
from test_failover import DOWN_AFTER_S, FAILOVER_AFTER_S, Cluster  # noqa: E402

SURVIVORS = ["us-west-2", "eu-west-1"]


class PausedDoesNothing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(base_port=int(os.environ.get("FO_IT_BASE", "24300")))
        cls.addClassCleanup(cls.c.down)  # also when starting it fails half way
        cls.c.up_dataplane()

    def leader_status(self):
        return self.c.status(self.c.leader(SURVIVORS) or SURVIVORS[0])

    def test_paused_then_resumed(self):
        self.c.wait_all_up()
        r = self.c.ctl("pause", "--reason", "maintenance window")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.c.run("kill-region", "us-east-1")

        # Wait until the pause is the only rule left: a quorum has held main DOWN for
        # failover_after_ms, dr is healthy and within the RPO gate. Unpaused, the leader
        # would have committed the failover by now.
        def only_the_pause():
            st = self.leader_status()
            d = st["decision"]
            return st if d["reason"] == "paused" and "; " not in d["text"] else None
        st = wait_for("the pause to be the only blocker", only_the_pause,
                      DOWN_AFTER_S + FAILOVER_AFTER_S + 20)
        self.assertTrue(st["decision"]["text"].startswith("paused by "), st["decision"])
        self.assertIn("maintenance window", st["decision"]["text"])
        self.assertEqual((st["primary"], st["epoch"], st["operation"], st["mode"]),
                         ("main", 0, None, "paused"))
        # dr untouched: still a standby
        dp = self.c.dp
        self.assertEqual(dp.psql(dp.pg_dr_port, "SELECT pg_is_in_recovery()"), "t")

        r = self.c.ctl("resume", addrs=",".join(self.c.admin_addr(n) for n in SURVIVORS))
        self.assertEqual(r.returncode, 0, r.stderr)
        # Everything else already held: the next evaluation decides.
        st = wait_for("the failover after resume", lambda: (lambda s: s if s["epoch"] == 1 else None)(
            self.leader_status()), 10)
        self.assertEqual(st["primary"], "dr")
        wait_for("the plan to finish", lambda: (lambda s: s if s["operation"] is None else None)(
            self.leader_status()), 90)
        report = json.loads(self.c.ctl("--json", "report",
                                       addrs=",".join(self.c.admin_addr(n) for n in SURVIVORS)).stdout)
        self.assertEqual((report["operation"]["kind"], report["operation"]["state"]),
                         ("auto", "succeeded"))
        self.assertEqual(dp.psql(dp.pg_dr_port, "SELECT pg_is_in_recovery()"), "f")


class OperatorFailover(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(base_port=int(os.environ.get("FO_IT_BASE2", "24800")))
        cls.addClassCleanup(cls.c.down)  # also when starting it fails half way
        cls.c.up_dataplane()

    def test_failover_to_dr_with_both_up(self):
        self.c.wait_all_up()
        r = self.c.ctl("failover", "--to", "dr", "--reason", "operator drill for real")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("committed", r.stdout)
        st = wait_for("the plan to finish", lambda: (lambda s: s if (
            s["epoch"] == 1 and s["operation"] is None) else None)(self.c.status()), 90)
        self.assertEqual(st["primary"], "dr")
        op = json.loads(self.c.ctl("--json", "report").stdout)["operation"]
        self.assertEqual((op["kind"], op["state"], op["from"], op["to"]),
                         ("manual", "succeeded", "main", "dr"), op)
        self.assertIn("operator drill for real", op["reason"])
        steps = {s["name"]: s for s in op["steps"]}
        self.assertEqual(steps["fence-old-postgres"]["state"], "done", steps["fence-old-postgres"])
        # exactly one Postgres takes writes
        dp = self.c.dp
        dp.psql(dp.pg_dr_port, "INSERT INTO items(note) VALUES ('after operator failover')",
                user="failoverd")
        r = dp.psql(dp.pg_main_port, "INSERT INTO items(note) VALUES ('to the old primary')",
                    user="failoverd", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("read-only", r.stderr)
        # a second failover to the same site is refused by policy: exit 4
        r = self.c.ctl("failover", "--to", "dr")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("already the primary", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
