"""Issue 4 end to end: three failoverd processes on loopback elect a leader, replicate
the FSM, survive kill -9 and restarts, rejoin after a wiped data directory through the
leader's snapshot, enforce tokens, and keep serving through garbage on every port."""

import json
import os
import random
import signal
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, LocalCluster, admin_call, connect, frame, read_frame, wait_for  # noqa: E402

ELECTION_TIMEOUT_S = 1.0  # deploy/local-cluster's raft.election_timeout_ms


class RaftCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Snapshots every 16 entries, keeping 16 behind: restarts restore a snapshot, and
        # a wiped node can only come back through InstallSnapshot.
        cls.c = LocalCluster(base_port=int(os.environ.get("FO_IT_BASE", "17300")), snapshot=16)
        cls.c.up()

    @classmethod
    def tearDownClass(cls):
        cls.c.down()

    def propose_verdict(self, observer, region, status, reason=None):
        leader = wait_for("a leader", self.c.leader, 10)
        args = {"t": "verdict", "observer": observer, "region": region, "status": status,
                "at_ms": str(int(time.time() * 1000))}
        if reason:
            args["reason"] = reason
        rep = admin_call(self.c.admin_addr(leader), "propose", token=self.c.token(), args=args)
        self.assertEqual(rep["code"], "ok", rep)

    def verdicts(self, st):
        return sorted((v["observer"], v["region"], v["status"]) for v in st["verdicts"])

    def test_1_formed(self):
        st = wait_for("an initialised cluster with every digest",
                      lambda: (lambda s: s if s["initialized"] and s["leader"] else None)(self.c.status()), 20)
        self.assertEqual(st["cluster"], "local")
        self.assertEqual(st["primary"], "main")
        self.assertEqual(st["epoch"], 0)
        self.assertEqual(st["mode"], "auto")
        self.assertIsNone(st["operation"])
        self.assertEqual(sorted(n["name"] for n in st["nodes"]), sorted(NODES))
        self.assertEqual([n["role"] for n in st["nodes"]].count("leader"), 1)
        self.assertEqual(st["role"], "leader", "failoverctl follows the leader")
        # every node reports the same replicated-config digest: no warnings
        wait_for("no config mismatch", lambda: self.c.status()["warnings"] == [], 10)
        # every node agrees on the leader
        for n in NODES:
            wait_for(f"{n} to know the leader", lambda n=n: self.c.status(n)["leader"] == st["leader"], 5)
        r = self.c.ctl("status")  # the table
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("primary   main (epoch 0)", r.stdout)
        self.assertIn("leader    " + st["leader"], r.stdout)

    def test_2_tokens(self):
        read = os.path.join(self.c.dir, "tokens", "read.token")
        r = self.c.ctl("--json", "status", token_file=read)
        self.assertEqual(r.returncode, 0, r.stderr)
        leader = wait_for("a leader", self.c.leader, 10)
        rep = admin_call(self.c.admin_addr(leader), "propose", token=self.c.token("read"),
                         args={"t": "digest", "node": "x", "digest": "y", "at_ms": "1"})
        self.assertEqual(rep["code"], "forbidden", rep)
        wrong = os.path.join(self.c.dir, "wrong.token")
        with open(wrong, "w") as f:
            f.write("not-the-token\n")
        r = self.c.ctl("status", token_file=wrong)
        self.assertEqual(r.returncode, 5, (r.stdout, r.stderr))
        self.assertIn("unauthorized", r.stderr)
        rep = admin_call(self.c.admin_addr(leader), "status")
        self.assertEqual(rep["code"], "unauthorized")
        self.assertNotIn(self.c.token(), self.c.log(leader), "tokens never reach the log")
        rep = admin_call(self.c.admin_addr(leader), "no-such-command", token=self.c.token())
        self.assertEqual(rep["code"], "bad_request")
        self.assertIn("no-such-command", rep["message"])
        # a follower answers leader-only commands with the leader's address
        follower = next(n for n in NODES if n != leader)
        rep = admin_call(self.c.admin_addr(follower), "propose", token=self.c.token(),
                         args={"t": "verdict", "observer": "monitoring", "region": "us-east-1",
                               "status": "up", "at_ms": "1"})
        self.assertEqual(rep["code"], "not_leader", rep)
        self.assertEqual(rep["leader"], self.c.admin_addr(leader))
        rep = admin_call(self.c.admin_addr(leader), "propose", token=self.c.token(),
                         args={"t": "verdict", "observer": "monitoring", "region": "us-east-1",
                               "status": "sideways", "at_ms": "1"})
        self.assertEqual(rep["code"], "bad_request")
        self.assertIn("status", rep["message"])
        # Verdict rows exist only for configured observers and regions (issue 14).
        for observer, region, named in (("made-up", "us-east-1", "observer: 'made-up'"),
                                        ("monitoring", "atlantis", "region: 'atlantis'")):
            rep = admin_call(self.c.admin_addr(leader), "propose", token=self.c.token(),
                             args={"t": "verdict", "observer": observer, "region": region,
                                   "status": "down", "at_ms": "1"})
            self.assertEqual(rep["code"], "bad_request", rep)
            self.assertIn(named, rep["message"])
        self.assertNotIn("made-up", json.dumps(self.c.status(leader)["verdicts"]))

    def test_3_leader_killed_and_restarted(self):
        # Give the FSM some state to survive: 40 verdict changes (snapshots every 16).
        for i in range(40):
            self.propose_verdict("monitoring", NODES[i % 3], "down" if i % 2 else "up", f"r{i}")
        before = wait_for("a leader's status", lambda: self.c.status(self.c.leader()), 10)
        old = before["node"]
        t0 = time.monotonic()
        self.c.run("kill", old)
        others = [n for n in NODES if n != old]
        # Liveness, not speed: the survivors elect a leader (how fast is a benchmark's
        # question, tests/bench/leader-failover; on a loaded 2-core machine an election
        # can take several timeouts).
        new = wait_for("a new leader", lambda: self.c.leader(others), 15 * ELECTION_TIMEOUT_S)
        elapsed = time.monotonic() - t0
        print(f"\nleader {old} killed -> {new} leads after {elapsed:.2f} s", file=sys.stderr)
        st = self.c.status(new)
        self.assertEqual(self.verdicts(st), self.verdicts(before))
        self.assertEqual((st["epoch"], st["primary"]), (before["epoch"], before["primary"]))
        # The old leader comes back as a follower with the same state.
        self.c.run("start", old)
        back = wait_for(f"{old} to catch up", lambda: (lambda s: s if s["last_applied"] >= st["commit_index"] and s["leader"] else None)(self.c.status(old)), 15)
        self.assertEqual(back["role"], "follower")
        self.assertEqual(self.verdicts(back), self.verdicts(before))
        self.assertEqual((back["epoch"], back["primary"], back["history_count"]),
                         (before["epoch"], before["primary"], before["history_count"]))

    def test_3b_leader_moves_off_primary_region(self):
        # run/placement.h: a leader in us-east-1 (main's Postgres and Redis are there)
        # hands leadership to another region, so losing us-east-1 needs no election.
        # Which node wins an election is random: kill the leader until us-east-1 has won
        # one (its log says it handed over), at most 12 times (1/2 per round).
        def handed_over():
            return "event=raft.placement result=transfer" in self.c.log("us-east-1")
        for _ in range(12):
            if handed_over():
                break
            leader = wait_for("a leader", self.c.leader, 10)
            if leader == "us-east-1":
                wait_for("us-east-1 to hand leadership over", handed_over, 10)
                break
            self.c.run("kill", leader)
            others = [n for n in NODES if n != leader]
            wait_for("a new leader", lambda: self.c.leader(others), 10)
            self.c.run("start", leader)
            wait_for(f"{leader} back", lambda: self.c.status(leader)["leader"], 15)
        self.assertTrue(handed_over(), "us-east-1 never won an election in 12 rounds")
        # A transfer libraft gives up on (its target not caught up within an election
        # timeout, e.g. the node test 3 just restarted) is retried FO_PLACEMENT_RETRY_MS
        # (30 s) later: wait for that second try (one CI run saw the first one fail).
        new = wait_for("a leader outside us-east-1",
                       lambda: (lambda l: l if l not in (None, "us-east-1") else None)(self.c.leader()), 45)
        self.assertIn("event=raft.role role=leader", self.c.log(new))

    def test_4_wiped_node_rejoins_through_snapshot(self):
        leader = wait_for("a leader", self.c.leader, 10)
        victim = next(n for n in NODES if n != leader)
        self.c.run("kill", victim)
        raft_dir = self.c.raft_dir(victim)
        for f in os.listdir(raft_dir):
            os.unlink(os.path.join(raft_dir, f))
        # more entries while it is gone, so the leader compacts past index 1
        for i in range(40):
            self.propose_verdict("monitoring", "eu-west-1", "down" if i % 2 else "up")
        self.c.run("start", victim)  # never --init: it must not form a second cluster

        # The victim converges to the leader's state as it is at each look: the state
        # moves on meanwhile (the victim's own observer reports again once it is back),
        # and leadership may move (run/placement.h), so neither is fixed before the wait.
        def same_state():
            name, lst = self.c.leader_status()
            s = self.c.status(victim)
            if lst is None or not s["initialized"] or s["leader"] != name:
                return None
            return s if self.verdicts(s) == self.verdicts(lst) else None
        got = wait_for(f"{victim} to rejoin with the leader's state", same_state, 30)
        self.assertIsNotNone(got["leader"])
        self.assertEqual(got["cluster"], "local")
        self.assertTrue(any(f.startswith("snapshot-") for f in os.listdir(raft_dir)),
                        "the wiped node was restored from an installed snapshot")
        since_wipe = self.c.log(victim).split("event=daemon.start")[-1]
        self.assertNotIn("fsm.reject", since_wipe, "every entry after the snapshot applied")
        self.assertNotIn("cluster.bootstrap", since_wipe, "a plain start never bootstraps")

    def assert_still_serving(self):
        for n in NODES:
            self.assertIsNotNone(self.c.pid(n), f"{n} died")
        self.propose_verdict("monitoring", "us-west-2", random.choice(["up", "down"]))
        st = self.c.status()
        self.assertTrue(st["leader"])

    def test_5_garbage_on_admin_port(self):
        addr = self.c.admin_addr(NODES[0])
        rnd = random.Random(4)
        # random bytes: a bad_request naming the problem (or a close), never a crash;
        # both before TLS (what the handshake reads) and, as a client that passed it
        # sends them, inside it (what the framer reads)
        for i in range(20):
            inside = i % 3 == 0
            with connect(addr, timeout=3, **({} if inside else {"ca": None})) as s:
                s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 2048))))
                try:
                    # TLS has no half close: inside it, read until the node answers and
                    # closes, or closes a frame left unfinished at its request time limit
                    if not inside:
                        s.shutdown(socket.SHUT_WR)
                    while s.recv(65536):
                        pass
                except OSError:
                    pass
        # an oversize frame is refused before anything is allocated
        with connect(addr, timeout=3) as s:
            s.sendall(struct.pack(">I", 0x7FFFFFF0) + b"x" * 100)
            rep = read_frame(s)
            self.assertEqual(rep["code"], "bad_request")
            self.assertIn("frame", rep["message"])
        # valid msgpack, wrong shape: the error names the field
        with connect(addr, timeout=3) as s:
            s.sendall(frame({"v": 1, "t": "req", "id": "seven", "cmd": "status"}))
            rep = read_frame(s)
            self.assertEqual(rep["code"], "bad_request")
            self.assertIn("id", rep["message"])
        # a silent connection is closed after the request time limit
        with connect(addr, timeout=15) as s:
            s.sendall(b"\x00\x00")
            t0 = time.monotonic()
            self.assertEqual(s.recv(1), b"")
            self.assertLess(time.monotonic() - t0, 14)
        self.assert_still_serving()

    def test_6_garbage_on_raft_port(self):
        for n in NODES:
            host, port = self.c.raft_addr(n).rsplit(":", 1)
            rnd = random.Random(6)
            for _ in range(5):
                with socket.create_connection((host, int(port)), timeout=3) as s:
                    s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 4096))))
            # a well-formed handshake preamble claiming an absurd address length
            with socket.create_connection((host, int(port)), timeout=3) as s:
                s.sendall(struct.pack("<QQQ", 1, 99, 1 << 62))
        self.assert_still_serving()

    def test_7_pause_resume_history(self):
        r = self.c.ctl("pause", "--reason", "maintenance window")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("paused", r.stdout)
        for n in NODES:  # replicated: every node's own view says so
            st = wait_for(f"{n} paused", lambda n=n: (lambda s: s if s["mode"] == "paused" else None)(self.c.status(n)), 5)
            self.assertEqual(st["mode_detail"]["reason"], "maintenance window")
            # the token's name (the shared admin token here), not the client's USER@HOST
            self.assertEqual(st["mode_detail"]["by"], "admin-token")
        r = self.c.ctl("status")
        self.assertIn("mode      paused (by ", r.stdout)
        read = os.path.join(self.c.dir, "tokens", "read.token")
        r = self.c.ctl("resume", token_file=read)
        self.assertEqual(r.returncode, 5, (r.stdout, r.stderr))
        self.assertIn("forbidden", r.stderr)
        r = self.c.ctl("resume")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.c.status()["mode"], "auto")
        r = self.c.ctl("--json", "history", "--limit", "5")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual([e["what"] for e in doc["events"]][:2], ["resumed", "paused"])
        self.assertEqual(doc["operations"], [])
        r = self.c.ctl("history")
        self.assertIn("(no finished operation)", r.stdout)
        self.assertIn("maintenance window", r.stdout)
        r = self.c.ctl("report")
        self.assertEqual(r.returncode, 2, (r.stdout, r.stderr))
        self.assertIn("no operation has run yet", r.stderr)
        r = self.c.ctl("history", "--limit", "zero")
        self.assertEqual(r.returncode, 2)
        self.assertIn("limit", r.stderr)

    def test_8_systemd_notify(self):
        """Type=notify: READY=1 once serving, watchdog pings from the loop, STOPPING=1."""
        node = NODES[1]
        os.kill(self.c.pid(node), signal.SIGTERM)
        wait_for(f"{node} to exit", lambda: self.c.pid(node) is None, 10)
        path = os.path.join(self.c.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(10)
        try:
            self.c.run("start", node, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
            got = []
            while "WATCHDOG=1" not in got or "READY=1" not in got or got.count("WATCHDOG=1") < 3:
                got += sock.recv(4096).decode().split("\n")
            self.assertLess(got.index("READY=1"), len(got))
            self.assertTrue(any(g.startswith("STATUS=node " + node) for g in got))
            os.kill(self.c.pid(node), signal.SIGTERM)
            while "STOPPING=1" not in got:
                got += sock.recv(4096).decode().split("\n")
        finally:
            sock.close()
        wait_for(f"{node} to exit", lambda: self.c.pid(node) is None, 10)
        self.c.run("start", node)
        wait_for(f"{node} back", lambda: self.c.status(node)["leader"], 15)

    def test_9_clean_stop(self):
        node = NODES[2]
        pid = self.c.pid(node)
        os.kill(pid, signal.SIGTERM)
        wait_for(f"{node} to exit", lambda: self.c.pid(node) is None, 10)
        self.assertIn("event=daemon.stopped exit_code=0", self.c.log(node))
        self.c.run("start", node)
        wait_for(f"{node} back", lambda: self.c.status(node)["leader"], 15)


if __name__ == "__main__":
    unittest.main(verbosity=2)
