"""Reload without restart (issue 15) on a real 3-node cluster: SIGHUP re-reads the config.

- a policy value changed on one node and SIGHUP: that node's status shows the new value
  and digest, the others report the mismatch, automatic failover waits (the decision's
  reason, config_mismatch); the same edit on every node: they agree again;
- a changed node name (who the node is) is refused with a log line naming the key: the
  daemon keeps running with its old config;
- a file that does not load is refused the same way;
- the token files are re-read: a new admin token works after SIGHUP, the old one not;
- a SIGHUP while an operation runs is deferred, then applied by itself once it ended.
"""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, LocalCluster, admin_call, wait_for  # noqa: E402

NODE = "us-west-2"


class Reload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = LocalCluster(base_port=int(os.environ.get("FO_IT_BASE", "26700")))
        cls.addClassCleanup(cls.c.down)
        cls.c.up()
        wait_for("an initialised cluster with every digest reported",
                 lambda: (lambda s: s["initialized"] and s["leader"] and s["warnings"] == [])(
                     cls.c.status()), 20)

    def config_path(self, node):
        return os.path.join(self.c.dir, "nodes", node, "node.yaml")

    def edit(self, node, old, new):
        path = self.config_path(node)
        with open(path) as f:
            text = f.read()
        self.assertEqual(text.count(old), 1, f"{old!r} in {path}")
        with open(path, "w") as f:
            f.write(text.replace(old, new))

    def hup(self, node):
        pid = self.c.pid(node)
        self.assertIsNotNone(pid, f"{node} runs")
        os.kill(pid, signal.SIGHUP)

    def reload_lines(self, node):
        return [line for line in self.c.log(node).splitlines() if "config.reload" in line]

    def wait_reload_line(self, node, before, what):
        """The next config.reload line after `before` of them, matching what."""
        def new_line():
            lines = self.reload_lines(node)
            return lines[before] if len(lines) > before else None
        line = wait_for(f"{node}'s config.reload log line", new_line, 10)
        self.assertRegex(line, what)
        return line

    def test_1_policy_reload_and_digest_mismatch(self):
        st0 = self.c.status(NODE)
        self.assertEqual(st0["config"]["policy"]["quorum"], 2)
        before = len(self.reload_lines(NODE))
        # local-cluster runs without a data plane: decision.auto is false. Turn it on on
        # one node, with another quorum: the policy changes, so does the digest.
        self.edit(NODE, "decision: {auto: false}", "decision: {auto: false, quorum: 3}")
        self.hup(NODE)
        self.wait_reload_line(NODE, before, r"result=ok digest=")
        st = wait_for("the new quorum in status",
                      lambda: (lambda s: s if s["config"]["policy"]["quorum"] == 3 else None)(
                          self.c.status(NODE)), 10)
        self.assertNotEqual(st["config"]["digest"], st0["config"]["digest"])
        self.assertIsNotNone(self.c.pid(NODE))
        # The others see NODE's new digest through the FSM and warn.
        other = "us-east-1"
        mism = wait_for(f"{other} reports {NODE}'s other digest",
                        lambda: self.c.status(other)["config"]["mismatched"], 15)
        self.assertEqual([m["node"] for m in mism], [NODE])
        self.assertEqual(mism[0]["digest"], st["config"]["digest"])
        self.assertTrue(any("automatic failover waits" in w
                            for w in self.c.status(other)["warnings"]))
        # Every node on the same file: they agree again, no warnings.
        for n in NODES:
            if n != NODE:
                self.edit(n, "decision: {auto: false}", "decision: {auto: false, quorum: 3}")
                self.hup(n)
        for n in NODES:
            wait_for(f"{n} agrees", lambda n=n: self.c.status(n)["warnings"] == [], 15)

    def test_2_frozen_key_refused(self):
        st0 = self.c.status(NODE)
        before = len(self.reload_lines(NODE))
        self.edit(NODE, f"  name: {NODE}\n", "  name: us-east-1\n")
        try:
            self.hup(NODE)
            line = self.wait_reload_line(NODE, before, r"result=refused")
            self.assertIn("node.name: 'us-west-2' -> 'us-east-1'", line)
            self.assertIn("restart the node", line)
        finally:
            self.edit(NODE, "  name: us-east-1\n", f"  name: {NODE}\n")
        st = self.c.status(NODE)  # alive, answering, as itself, on its old config
        self.assertEqual(st["node"], NODE)
        self.assertEqual(st["config"]["digest"], st0["config"]["digest"])
        # A peer's raft address: refused too (Raft membership is not a file).
        before = len(self.reload_lines(NODE))
        raft = self.c.raft_addr("eu-west-1")
        host, port = raft.rsplit(":", 1)
        self.edit(NODE, f"raft: {raft}", f"raft: {host}:{int(port) + 50}")
        try:
            self.hup(NODE)
            self.wait_reload_line(NODE, before,
                                  r"result=refused part=config reason=\"peers\[2\]\.raft: ")
        finally:
            self.edit(NODE, f"raft: {host}:{int(port) + 50}", f"raft: {raft}")
        self.assertEqual(self.c.status(NODE)["config"]["digest"], st0["config"]["digest"])

    def test_3_broken_file_refused(self):
        st0 = self.c.status(NODE)
        before = len(self.reload_lines(NODE))
        path = self.config_path(NODE)
        with open(path) as f:
            good = f.read()
        try:
            with open(path, "w") as f:
                f.write(good + "no_such_key: 1\n")
            self.hup(NODE)
            line = self.wait_reload_line(NODE, before, r"result=refused part=config")
            self.assertIn("no_such_key", line)
        finally:
            with open(path, "w") as f:
                f.write(good)
        self.assertEqual(self.c.status(NODE)["config"]["digest"], st0["config"]["digest"])

    def test_4_tokens_reread(self):
        old = self.c.token()
        new = "reloaded-admin-token-7c1e"
        path = os.path.join(self.c.dir, "tokens", "admin.token")
        addr = self.c.admin_addr(NODE)
        before = len(self.reload_lines(NODE))
        with open(path, "w") as f:
            f.write(new)
        try:
            self.hup(NODE)
            self.wait_reload_line(NODE, before, r"result=ok")
            self.assertEqual(admin_call(addr, "status", token=new)["code"], "ok")
            self.assertEqual(admin_call(addr, "status", token=old)["code"], "unauthorized")
        finally:
            with open(path, "w") as f:
                f.write(old)
            before = len(self.reload_lines(NODE))
            self.hup(NODE)
            self.wait_reload_line(NODE, before, r"result=ok")
        self.assertEqual(admin_call(addr, "status", token=old)["code"], "ok")

    def test_5_reload_during_an_operation_waits_for_its_end(self):
        """The executor runs the operation in flight from the plan it started with: a
        reload meanwhile is deferred (logged), then applied by itself once the operation
        ended, with no second SIGHUP."""
        st0 = self.c.status(NODE)
        self.assertEqual(st0["config"]["policy"]["quorum"], 3)  # test_1's edit
        # Without a data plane the plan's steps fail against nothing: the operation lasts
        # a few seconds (its retries), long enough to reload in the middle of it.
        r = self.c.ctl("failover", "--to", "dr", "--force", "--reason", "it_reload deferred")
        self.assertEqual(r.returncode, 0, r.stderr)
        before = {}
        for n in NODES:
            # each node defers only once it applied op_begin itself
            wait_for(f"{n} to apply the operation", lambda n=n: self.c.status(n)["operation"], 10)
            before[n] = len(self.reload_lines(n))
            self.edit(n, "decision: {auto: false, quorum: 3}", "decision: {auto: false, quorum: 2}")
            self.hup(n)
        for n in NODES:
            line = self.wait_reload_line(n, before[n], r"result=deferred")
            self.assertIn("in flight: reloaded once it ends", line)
        for n in NODES:
            self.wait_reload_line(n, before[n] + 1, r"result=ok digest=")
            st = self.c.status(n)
            self.assertIsNone(st["operation"])
            self.assertEqual(st["config"]["policy"]["quorum"], 2)
        for n in NODES:
            wait_for(f"{n} agrees", lambda n=n: self.c.status(n)["warnings"] == [], 15)


if __name__ == "__main__":
    unittest.main(verbosity=2)
