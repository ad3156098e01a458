"""`failoverctl failover | switchover | drill --wait` (issue 15) on a real 3-node cluster,
not on a terminal (--wait given explicitly): each plan step is printed as it happens and
the exit code is the operation's outcome (0 only when it succeeded, 1 when it failed),
which this test checks against the operation's own report. Without a data plane the
plan's steps fail (nothing listens where the sites' databases would be): that is the
outcome followed. Also: --json prints the final operation; a refused request exits 4
without following; without --wait the command returns at the commit; and --force on a
terminal (a pty) asks for the target's name, refusing with exit 2 and sending nothing
when another name is typed; `history` shows times as ISO-8601 UTC (the cooldown too).
"""

import json
import os
import pty
import select
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import LocalCluster, wait_for  # noqa: E402

EXIT_OF_STATE = {"succeeded": 0, "failed": 1, "aborted": 1}


class Wait(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = LocalCluster(base_port=int(os.environ.get("FO_IT_BASE", "27700")))
        cls.addClassCleanup(cls.c.down)
        cls.c.up()
        wait_for("an initialised cluster with a leader",
                 lambda: (lambda s: s["initialized"] and s["leader"])(cls.c.status()), 20)

    def ctl_cmd(self, *args):
        return self.c.ctl_cmd(*args)

    def run_ctl(self, *args, timeout=120):
        return subprocess.run(self.ctl_cmd(*args), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**os.environ, "USER": "it-wait"})

    def report(self, op_id=None):
        r = self.run_ctl("--json", "report", *([op_id] if op_id else []))
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["operation"]

    def wait_idle(self):
        wait_for("no operation in flight", lambda: self.c.status()["operation"] is None, 60)

    def assert_followed(self, r, kind):
        """r followed one operation to its end: every step of its report was printed,
        the closing line names its outcome, the exit code is that outcome's."""
        lines = r.stdout.splitlines()
        # requested_by is the name the token authenticated (serve/tokens.h), not $USER
        first = next(line for line in lines if " running (requested by admin-token" in line)
        op_id = first.split()[0]
        self.assertEqual(first.split()[1], kind, r.stdout)
        op = self.report(op_id)
        self.assertNotEqual(op["state"], "running")
        self.assertEqual(r.returncode, EXIT_OF_STATE[op["state"]],
                         f"exit {r.returncode} for a {op['state']} operation\n{r.stdout}\n{r.stderr}")
        self.assertTrue(lines[-1].startswith(f"{op_id} {op['state']}"), lines[-1])
        for step in op["steps"]:
            if step["state"] != "pending":
                self.assertTrue(any(step["name"] in line and step["state"] in line
                                    for line in lines), f"step {step['name']} {step['state']} "
                                                        f"not shown:\n{r.stdout}")
        return op

    def test_1_drill_wait(self):
        self.wait_idle()
        r = self.run_ctl("drill", "--to", "dr", "--wait")
        op = self.assert_followed(r, "drill")
        self.assertEqual(op["kind"], "drill")

    def test_2_refused_does_not_wait(self):
        self.wait_idle()
        # Nothing is seen healthy without a data plane: the health gate refuses.
        r = self.run_ctl("failover", "--to", "dr", "--wait", timeout=30)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertNotIn("running (requested by", r.stdout)

    def test_3_no_wait_returns_at_commit(self):
        self.wait_idle()
        r = self.run_ctl("drill", "--to", "dr")  # not a terminal: --no-wait by default
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("committed", r.stdout)
        self.assertNotIn("running (requested by", r.stdout)

    def test_4_forced_failover_wait_json(self):
        self.wait_idle()
        primary = self.c.status()["primary"]
        target = "dr" if primary == "main" else "main"
        r = self.run_ctl("--json", "failover", "--to", target, "--force", "--wait",
                         "--reason", "it_wait")
        op = json.loads(r.stdout)  # the final operation, as `report` shows it
        self.assertEqual(op["kind"], "manual")
        self.assertEqual(op["to"], target)
        self.assertEqual(op["requested_by"], "admin-token")  # the token's name, not $USER
        self.assertEqual(op, self.report(op["id"]))
        self.assertEqual(r.returncode, EXIT_OF_STATE[op["state"]], r.stderr)
        # progress went to stderr, one line per step change
        self.assertIn(f"{op['id']} {op['state']}", r.stderr)

    def test_5_force_confirmation_on_a_terminal(self):
        self.wait_idle()
        before = self.report()["id"]
        primary = self.c.status()["primary"]
        target = "dr" if primary == "main" else "main"
        master, slave = pty.openpty()
        p = subprocess.Popen(self.ctl_cmd("failover", "--to", target, "--force"), stdin=slave,
                             stdout=slave, stderr=slave, env={**os.environ, "USER": "it-wait"},
                             close_fds=True)
        os.close(slave)
        out = b""

        def prompted():
            nonlocal out
            if select.select([master], [], [], 0.05)[0]:
                out += os.read(master, 4096)
            return b"to go on:" in out
        try:
            wait_for("the confirmation prompt", prompted, 20)
            self.assertIn(f"({target})".encode(), out)
            os.write(master, b"not-" + target.encode() + b"\n")
            p.wait(timeout=20)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # the rest of its output, until EOF
                try:
                    chunk = os.read(master, 4096) if select.select([master], [], [], 0.1)[0] else b""
                except OSError:
                    break
                if not chunk and p.poll() is not None:
                    break
                out += chunk
        finally:
            if p.poll() is None:
                p.kill()
            os.close(master)
        self.assertEqual(p.returncode, 2, out)
        self.assertIn(b"not confirmed: nothing was sent", out)
        self.assertEqual(self.report()["id"], before, "no operation was started")
        self.assertEqual(self.c.status()["primary"], primary)

    def test_6_history_shows_times(self):
        """history (issue 15): times as ISO-8601 UTC, the cooldown's end included, never
        raw epoch milliseconds; the counts of operations kept."""
        self.wait_idle()
        r = self.run_ctl("--json", "history")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertGreaterEqual(doc["operations_kept"], 3)  # the drills and the failover
        self.assertEqual(doc["operations_dropped"], 0)
        r = self.run_ctl("history")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
        # (a drill's id carries its start in ms: "drill-e0-1796468125556"; not a time shown)
        self.assertNotRegex(r.stdout, r"(?<![-\w])1\d{12}\b", "a raw epoch-ms time in:\n" + r.stdout)
        cooldowns = [e for e in doc["events"] if e["what"] == "cooldown"]
        for e in cooldowns:
            self.assertIsInstance(e["until_ms"], int)
            self.assertRegex(r.stdout, r"cooldown .*until \d{4}-\d{2}-\d{2}T")


if __name__ == "__main__":
    unittest.main(verbosity=2)
