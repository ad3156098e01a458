"""Issue 15, membership: a deploy/local-cluster of three grows to five voters and shrinks
back to three through `failoverctl members add/remove` (consensus/members.h), with a
failover committed by the five and one by the three afterwards. Along the way: a change
while another is in flight is refused (exit 4), so are removing the leader and a remove
that would leave no reachable majority; a removed node stops by itself (exit 2) and
refuses to start again on its data."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, TOP, LocalCluster, bin_dir, wait_for  # noqa: E402

BASE = int(os.environ.get("FO_IT_BASE", "15800"))
# Two more nodes, in regions the cluster has; ids and ports after local-cluster's three.
EXTRA = [("us-east-1b", 4, "us-east-1"), ("us-west-2b", 5, "us-west-2")]


class Members(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = LocalCluster(base_port=BASE)
        cls.c.up()
        cls.procs = {}

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        cls.c.down()

    # ---- helpers -----------------------------------------------------------------------

    def ctl(self, *args):
        return self.c.ctl(*args)

    def members(self):
        r = self.ctl("--json", "members")
        if r.returncode != 0:
            raise ValueError(f"members: exit {r.returncode}: {r.stderr}")
        return {m["name"] or f"id:{m['id']}": m for m in json.loads(r.stdout)["members"]}

    def voters(self):
        return sorted(n for n, m in self.members().items() if m["raft_role"] == "voter")

    def node_dir(self, name):
        return os.path.join(self.c.dir, "nodes", name)

    def peer_line(self, name, nid, region):
        return (f"  - {{name: {name}, id: {nid}, region: {region}, raft: 127.0.0.1:{BASE + nid}, "
                f"admin: 127.0.0.1:{BASE + 100 + nid}}}\n")

    def read(self, path):
        with open(path) as f:
            return f.read()

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)

    def log(self, name):
        return self.read(os.path.join(self.node_dir(name), "failoverd.log"))

    def write_configs(self):
        """Every node's config lists all five peers (the address book); the new nodes'
        configs are local-cluster's first one with their name, directory and ports."""
        lines = "".join(self.peer_line(*e) for e in EXTRA)
        for n in NODES:
            path = os.path.join(self.node_dir(n), "node.yaml")
            text = self.read(path)
            if "us-east-1b" not in text:
                self.write(path, text.replace("regions:", lines + "regions:", 1))
        template = self.read(os.path.join(self.node_dir(NODES[0]), "node.yaml"))
        for name, nid, _region in EXTRA:
            os.makedirs(os.path.join(self.node_dir(name), "data"), exist_ok=True)
            text = template.replace(f"  name: {NODES[0]}\n", f"  name: {name}\n")
            text = text.replace(self.node_dir(NODES[0]) + "/data", self.node_dir(name) + "/data")
            text = text.replace(f"listen: 127.0.0.1:{BASE + 101}", f"listen: 127.0.0.1:{BASE + 100 + nid}")
            text = re.sub(r"http: \{listen: 127\.0\.0\.1:\d+", f"http: {{listen: 127.0.0.1:{BASE + 450 + nid}", text)
            if self.c.ca():
                # a node of the cluster CA named as its config names it: peers accept a
                # Raft or admin connection only from the certificate of the expected node
                certs = self.c.certs()
                subprocess.run([os.path.join(TOP, "deploy", "make-certs"), "--dir", certs, name],
                               check=True, capture_output=True, text=True, timeout=60)
                seed = os.path.join(certs, NODES[0])
                self.assertIn(f"cert: {seed}.crt, key: {seed}.key", text)
                text = text.replace(f"cert: {seed}.crt, key: {seed}.key",
                                    f"cert: {os.path.join(certs, name)}.crt, "
                                    f"key: {os.path.join(certs, name)}.key")
            self.write(os.path.join(self.node_dir(name), "node.yaml"), text)

    def start_extra(self, name):
        d = self.node_dir(name)
        with open(os.path.join(d, "failoverd.log"), "a") as log:
            p = subprocess.Popen([os.path.join(bin_dir(), "failoverd"), "-c", os.path.join(d, "node.yaml")],
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        self.procs[name] = p
        return p

    def restart_seed(self, name):
        pid = self.c.pid(name)
        if pid:
            os.kill(pid, signal.SIGTERM)
            wait_for(f"{name} to stop", lambda: self.c.pid(name) is None, 20)
        self.c.run("start", name)
        wait_for(f"{name} to be back with a leader",
                 lambda: self.c.status(name)["leader"] is not None, 20)

    def assert_exit(self, r, code, text=None):
        self.assertEqual(r.returncode, code, f"exit {r.returncode}: {r.stdout} {r.stderr}")
        if text is not None:
            self.assertIn(text, r.stdout + r.stderr)

    def failover_to(self, site):
        before = self.c.status()["epoch"]
        self.assert_exit(self.ctl("failover", "--to", site, "--force", "--yes", "--no-wait",
                                  "--reason", "it_members"), 0)
        wait_for(f"{site} primary after a finished operation",
                 lambda: (lambda s: s["primary"] == site and s["operation"] is None
                          and s["epoch"] == before + 1)(self.c.status()), 60)

    def move_leadership_off(self, name):
        """members remove of the leader is refused (exit 4) and hands leadership over;
        right after another transfer (the placement's) it cannot yet, and says so: then
        once more after node.h's FO_NODE_TRANSFER_REUSE_MS."""
        for attempt in range(2):
            self.assert_exit(self.ctl("members", "remove", name), 4, "it is the leader")
            try:
                wait_for("another leader", lambda: self.c.status()["leader"] not in (None, name), 15)
                return
            except AssertionError:
                if attempt == 1:
                    raise

    # ---- the test ----------------------------------------------------------------------

    def test_grow_and_shrink(self):
        wait_for("an initialised cluster", lambda: self.c.status()["initialized"], 20)
        self.assertEqual(self.voters(), sorted(NODES))

        # 1. the address book: five peers in every config, seeds restarted one at a time
        self.write_configs()
        for n in NODES:
            self.restart_seed(n)
        m = wait_for("the new peers listed as not in the Raft configuration",
                     lambda: (lambda m: m if "us-east-1b" in m else None)(self.members()), 20)
        self.assertFalse(m["us-east-1b"]["in_raft_configuration"])
        self.assertIsNone(m["us-east-1b"]["raft_role"])
        table = self.ctl("members").stdout
        self.assertIn("warning: us-east-1b is in the config but not in the Raft configuration", table)

        # 2. grow to four: the new node waits, then joins through the leader
        self.start_extra("us-east-1b")
        wait_for("the new node waiting to be added",
                 lambda: "standing=waiting" in self.log("us-east-1b"), 20)
        r = self.ctl("members", "add", "us-east-1b", "--raft", f"127.0.0.1:{BASE + 4}")
        self.assert_exit(r, 0, "us-east-1b is a voter: 4 voters now")
        self.assertEqual(self.voters(), sorted(NODES + ["us-east-1b"]))
        self.assert_exit(self.ctl("members-add", "us-east-1b"), 0, "a voter already")
        # a --raft that is not the config's is refused
        self.assert_exit(self.ctl("members", "add", "us-west-2b", "--raft", "127.0.0.1:1"), 4,
                         "the configs disagree")

        # 3. grow to five, with a refusal while that change is in flight: the new node is
        # not running yet, so its add waits for it to catch up
        add = subprocess.Popen(self.c.ctl_cmd("members", "add", "us-west-2b"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for("us-west-2b a standby, catching up",
                 lambda: self.members()["us-west-2b"]["raft_role"] == "standby", 20)
        self.assert_exit(self.ctl("members", "remove", "us-east-1b"), 4,
                         "another Raft configuration change is not finished")
        self.start_extra("us-west-2b")
        out, err = add.communicate(timeout=90)
        self.assertEqual(add.returncode, 0, out + err)
        self.assertIn("us-west-2b is a voter: 5 voters now", out + err)
        wait_for("five reachable voters", lambda: (lambda m: all(
            v["raft_role"] == "voter" and v["reachable"] for v in m.values()) and len(m) == 5)(self.members()), 20)

        # 4. a failover committed by the five
        self.failover_to("dr")

        # 5. the leader cannot be removed: leadership moves instead
        self.move_leadership_off(self.c.status()["leader"])

        # 6. shrink: each removed node learns it lost its vote and stops for good
        for name in ("us-east-1b", "us-west-2b"):
            if self.c.status()["leader"] == name:
                self.move_leadership_off(name)
            self.assert_exit(self.ctl("members", "remove", name), 0, f"{name} was removed")
            p = self.procs[name]
            p.wait(timeout=30)
            self.assertEqual(p.returncode, 2, f"{name} stops with exit 2")
            self.assertIn("event=raft.removed", self.log(name))
            # and does not start again on that data
            again = self.start_extra(name)
            again.wait(timeout=20)
            self.assertEqual(again.returncode, 2)
            self.assertIn("was removed from the Raft configuration", self.log(name))
        self.assertEqual(self.voters(), sorted(NODES))
        self.assert_exit(self.ctl("members", "remove", "us-east-1b"), 0, "nothing to remove")

        # 7. a remove that would leave no reachable majority is refused
        leader = wait_for("a leader", lambda: self.c.status()["leader"], 20)
        followers = [n for n in NODES if n != leader]
        self.c.run("kill", followers[0])
        wait_for(f"the leader to stop hearing {followers[0]}",
                 lambda: self.members()[followers[0]]["reachable"] is False, 20)
        self.assert_exit(self.ctl("members", "remove", followers[1]), 4, "would not be a majority")
        self.c.run("start", followers[0])
        wait_for("three reachable voters", lambda: all(
            self.members()[n]["reachable"] for n in NODES), 20)

        # 8. a failover committed by the three
        self.failover_to("main")


if __name__ == "__main__":
    unittest.main(verbosity=2)
