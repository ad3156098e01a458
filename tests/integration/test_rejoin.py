"""Issue 15, bring the old primary back, end to end: failover, `failoverctl rejoin main`,
`switchover --to main`, with writers running. deploy/local-cluster up --netns --dataplane
(real Postgres 15 and Redis 7 per region in network namespaces; main's rejoin_command is
deploy/pg-rejoin). Needs root and `ip netns`: without them this test FAILS (CI is root).

  1. `rejoin main` while main is the primary: refused, exit 4.
  2. Writers (tests/nemesis/writer.py) in us-east-1 and eu-west-1 write to all four
     servers. us-east-1 is partitioned: its guardian fences main, the majority fails over
     to dr (epoch 1). The partition heals; main stays fenced.
  3. Writers paused. With us-east-1's node (main's guardian) stopped and main's Postgres
     unfenced by hand, `rejoin main` is refused (exit 4: it still takes writes), and
     nothing was committed. Fence back, node back.
  4. Writers again. `rejoin main --wait` exits 0: main's Postgres is in recovery, streaming
     from dr's; main's Redis is a replica of dr's. `switchover --to main --wait` exits 0.
  5. Writers stop. On the final primary (main) every write acknowledged by dr, and every
     write acknowledged during the rejoin and the switchover (phase 2), is present. Writes
     main acknowledged in phase 1 may be missing only if acknowledged within the
     failover's own window (async replication at the cut: its RPO, which the rejoin's
     rewind then discards by design); none older.

About 2 to 3 minutes."""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, wait_for  # noqa: E402
from test_partition import Cluster, netns_problem  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WRITER = os.path.join(TOP, "tests", "nemesis", "writer.py")
CUT = "us-east-1"
SURVIVORS = ["us-west-2", "eu-west-1"]
WRITER_REGIONS = ["us-east-1", "eu-west-1"]
# A write main acknowledged this long before the cut, or later, may not have reached dr
# when the majority failed over (asynchronous replication): the failover's window.
WINDOW_S = 5.0


class Writers:
    """writer.py in each of WRITER_REGIONS' namespaces, into files named by phase."""

    def __init__(self, c, phase):
        self.c, self.phase, self.procs = c, phase, {}
        e = c.env
        self.targets = [f"pg:main:{e['PG_HOST_MAIN']}:{e['PG_PORT_MAIN']}",
                        f"pg:dr:{e['PG_HOST_DR']}:{e['PG_PORT_DR']}",
                        f"redis:main:{e['REDIS_HOST_MAIN']}:{e['REDIS_PORT_MAIN']}",
                        f"redis:dr:{e['REDIS_HOST_DR']}:{e['REDIS_PORT_DR']}"]

    def file(self, region):
        return os.path.join(self.c.dir, f"writes-{self.phase}-{region}.tsv")

    def start(self):
        ns = {n: self.c.env["NODE_" + n.upper().replace("-", "_") + "_NETNS"] for n in NODES}
        for region in WRITER_REGIONS:
            cmd = ["ip", "netns", "exec", ns[region], "/usr/bin/python3", WRITER, "--region",
                   f"{region}-{self.phase}", "--out", self.file(region), "--interval", "0.05",
                   "--pg-password-file", self.c.dp.password_file,
                   "--redis-password-file", self.c.dp.redis_password_file]
            for t in self.targets:
                cmd += ["--target", t]
            self.procs[region] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                                  stderr=open(self.file(region) + ".err", "w"))
        return self

    def stop(self):
        for p in self.procs.values():
            p.terminate()
        for region, p in self.procs.items():
            rc = p.wait(timeout=30)
            if rc != 0:
                with open(self.file(region) + ".err") as f:
                    raise AssertionError(f"writer in {region} exited {rc}: {f.read()[-2000:]}")

    def acked(self):
        """[(store, server, id, t_ack)] of every acknowledged write."""
        out = []
        for region in WRITER_REGIONS:
            with open(self.file(region)) as f:
                for line in f:
                    store, server, wid, _t_send, t_ack, result = line.rstrip("\n").split("\t")
                    if result == "ok":
                        out.append((store, server, wid, float(t_ack)))
        return out


class Rejoin(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = netns_problem()
        if why:
            raise AssertionError(f"test_rejoin {why}: it runs as root in CI and must not be skipped")
        cls.t_start = time.monotonic()
        cls.c = Cluster(base_port=int(os.environ.get("FO_IT_BASE", "19800")))
        cls.writers = []
        try:
            cls.c.up_netns()
        except BaseException:
            cls.c.down(keep=True)
            raise

    @classmethod
    def tearDownClass(cls):
        for w in cls.writers:
            try:
                w.stop()
            except Exception:  # noqa: BLE001 - the cluster must go down whatever happened
                pass
        cls.c.down()
        print(f"\ntest_rejoin: {time.monotonic() - cls.t_start:.0f} s in all", file=sys.stderr)

    # ---- helpers ----------------------------------------------------------------------

    def ctl(self, *args):
        return self.c.ctl(*args)

    def ctl_change(self, *args):
        """A change, sent again while no leader can take it (exit 3: a new leader catching
        up, as after the node's restart): what an operator told "retry" does. Such an
        answer comes before anything is committed."""
        last = []

        def sent():
            r = self.c.ctl(*args)
            last[:] = [r]
            return r if r.returncode != 3 else None
        try:
            return wait_for(f"a leader to take {args}", sent, 60, interval=0.5)
        except AssertionError:
            return last[0]

    def leader_status(self, nodes=NODES):
        return self.c.leader_status(nodes)[1]

    def wait_state(self, what, cond, timeout, nodes=NODES):
        def check():
            s = self.leader_status(nodes)
            return s if s is not None and cond(s) else None
        return wait_for(what, check, timeout, interval=0.2)

    def wait_all_up(self):
        def all_up():
            st = self.c.status()
            ups = [v for v in st["verdicts"] if v["status"] == "up" and v["observer"] in NODES]
            return st if len(ups) == 9 and st["operation"] is None else None
        return wait_for("every observer to see every region UP", all_up, 60, interval=0.2)

    def pg_main(self, sql):
        return self.c.dp.psql(self.c.dp.pg_main_port, sql)

    # ---- the scenario -------------------------------------------------------------------

    def test_rejoin_and_switch_back(self):
        c, dp = self.c, self.c.dp
        st = self.wait_all_up()
        self.assertEqual((st["primary"], st["epoch"]), ("main", 0))

        # 1. The primary itself cannot rejoin.
        r = self.ctl("rejoin", "main", "--no-wait")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("main is the primary", r.stderr + r.stdout)
        r = self.ctl("rejoin", "nowhere", "--no-wait")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)

        # 2. Writers, then the cut, the failover and the heal.
        w1 = Writers(c, "1").start()
        self.writers.append(w1)
        wait_for("the writers' first acknowledged writes",
                 lambda: os.path.exists(w1.file("eu-west-1")) and
                 os.path.getsize(w1.file("eu-west-1")) > 0, 20)
        t_cut = time.monotonic()
        c.run("partition", CUT)
        self.wait_state("the majority to fail over to dr and finish its plan",
                        lambda s: s["epoch"] == 1 and s["primary"] == "dr" and s["operation"] is None,
                        90, nodes=SURVIVORS)
        c.run("heal")
        wait_for(f"{CUT} to rejoin and keep main fenced", lambda: (lambda s: s if (
            s["leader"] is not None and s["epoch"] == 1 and s["lease"]["fenced"] and
            s["lease"]["cause"] == "not_primary") else None)(c.status(CUT)), 60, interval=0.2)
        self.assertEqual(dp.psql_tcp(dp.pg_main_port, "SHOW default_transaction_read_only"), "on")

        # 3. Refused while main still takes writes: its guardian stopped, unfenced by hand.
        w1.stop()
        self.writers.remove(w1)
        c.run("kill", CUT)
        self.pg_main("ALTER SYSTEM RESET default_transaction_read_only")
        self.pg_main("SELECT pg_reload_conf()")
        wait_for("main's Postgres writable again",
                 lambda: dp.psql_tcp(dp.pg_main_port, "SHOW default_transaction_read_only") == "off",
                 10)
        # The node may have been the leader: the others elect one.
        self.wait_state("a leader among the others", lambda s: s["primary"] == "dr", 30,
                        nodes=SURVIVORS)
        before = json.loads(self.ctl("--json", "history").stdout)
        r = self.ctl_change("rejoin", "main", "--no-wait")
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
        self.assertIn("still takes writes", r.stdout + r.stderr)
        after = json.loads(self.ctl("--json", "history").stdout)
        self.assertEqual(len(after["operations"]), len(before["operations"]), "a refused rejoin ran")
        self.assertIsNone(self.leader_status(SURVIVORS)["operation"])
        self.pg_main("ALTER SYSTEM SET default_transaction_read_only = on")
        self.pg_main("SELECT pg_reload_conf()")
        c.run("start", CUT)
        wait_for(f"{CUT} back, fencing main", lambda: (lambda s: s if (
            s["leader"] is not None and s["lease"]["fenced"] and
            s["lease"]["cause"] == "not_primary") else None)(c.status(CUT)), 60, interval=0.2)

        # 4. Rejoin and switch back, with writers running.
        w2 = Writers(c, "2").start()
        self.writers.append(w2)
        r = self.ctl_change("rejoin", "main", "--wait", "--reason", "it_rejoin")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        report = json.loads(self.ctl("--json", "report").stdout)["operation"]
        self.assertEqual((report["kind"], report["state"], report["from"], report["to"],
                          report["epoch"]), ("rejoin", "succeeded", "dr", "main", 1),
                         json.dumps(report))
        said = [line for n in NODES for line in c.log(n).splitlines()
                if "event=executor.step" in line and "action=postgres.rejoin" in line and
                "result=done" in line]
        self.assertEqual(len(said), 1, said)
        # main diverged (what it took in the failover's window): rewound, not copied anew
        self.assertIn('rejoin_command said \\"pg-rejoin: re-seeded by pg_rewind', said[0])
        print(f"\nit_rejoin: {said[0]}", file=sys.stderr)
        self.assertEqual(self.pg_main("SELECT pg_is_in_recovery()"), "t")
        wait_for("main's Postgres streaming from dr", lambda: self.pg_main(
            "SELECT status FROM pg_stat_wal_receiver") == "streaming", 30)
        self.assertEqual(self.pg_main("SELECT sender_port FROM pg_stat_wal_receiver"),
                         str(dp.pg_dr_port))
        info = dp.redis_info(dp.redis_main_port)
        self.assertEqual((info.get("role"), info.get("master_host"), info.get("master_port"),
                          info.get("master_link_status")),
                         ("slave", c.env["REDIS_HOST_DR"], str(dp.redis_dr_port), "up"), info)
        st = self.leader_status()
        self.assertEqual((st["primary"], st["epoch"]), ("dr", 1))

        # main is a caught-up replica now: the switchover's gates pass on their own merits.
        def ready():
            r = self.ctl("--json", "switchover", "--to", "main", "--dry-run")
            return r.returncode == 0 and json.loads(r.stdout)["would_fail_over"]
        wait_for("switchover --to main to pass its gates", ready, 60, interval=0.5)
        r = self.ctl_change("switchover", "--to", "main", "--wait", "--reason", "it_rejoin: back")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = self.wait_state("main primary again", lambda s: s["primary"] == "main" and
                             s["operation"] is None, 30)
        self.assertEqual(st["epoch"], 2)
        self.assertEqual(self.pg_main("SELECT pg_is_in_recovery()"), "f")
        wait_for("main's Postgres writable (its guardian lifted the hold)",
                 lambda: dp.psql_tcp(dp.pg_main_port, "SHOW default_transaction_read_only") == "off",
                 30)
        n = int(self.pg_main("SELECT count(*) FROM items"))
        wait_for("the writers to write to main again", lambda: int(self.pg_main(
            "SELECT count(*) FROM items")) >= n + 10, 30)
        w2.stop()
        self.writers.remove(w2)

        # 5. Every acknowledged write is on main, but the failover's own window.
        notes = set(dp.psql(dp.pg_main_port, "SELECT note FROM items").split("\n"))
        keys = set(dp.redis_cli(dp.redis_main_port, "--scan", "--pattern", "nemesis:*").split("\n"))
        present = {"pg": lambda wid: wid in notes, "redis": lambda wid: "nemesis:" + wid in keys}
        lost, window_lost, counted = [], [], 0
        for phase, writes in (("1", w1.acked()), ("2", w2.acked())):
            for store, server, wid, t_ack in writes:
                counted += 1
                if present[store](wid):
                    continue
                if phase == "1" and server == "main" and t_ack >= t_cut - WINDOW_S:
                    window_lost.append((store, wid))
                else:
                    lost.append((phase, store, server, wid))
        print(f"\nit_rejoin: {counted} acknowledged writes checked; {len(window_lost)} acknowledged "
              f"by main in the failover's window (async replication) are gone", file=sys.stderr)
        self.assertGreater(len(w2.acked()), 0)
        self.assertEqual(lost, [], f"{len(lost)} acknowledged writes lost")


if __name__ == "__main__":
    unittest.main(verbosity=2)
