"""failoverctl's contract with scripts (DESIGN §13) on a real 3-node cluster: every exit
code — 0 ok, 2 usage error, 3 no leader or no quorum reachable, 4 refused by policy,
5 authentication failed — per-verb --help, and that a wrong token is logged by the node
without the token's text. No data plane: nothing is seen healthy, which is what makes
the policy refuse a failover to dr.

The tables themselves are checked byte for byte by the unit test test_ctl_render."""

import json
import os
import socket
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (NODES, LocalCluster, admin_call, bin_dir, frame, read_frame,  # noqa: E402
                     tls_server_context, wait_for)

VERBS = ["status", "members", "history", "report", "pause", "resume", "failover",
         "switchover", "drill", "rejoin", "members-add", "members-remove", "upgrade-finish"]
# role admin (consensus/members.h; serve/upgrade_cmd.h)
MEMBERSHIP_VERBS = {"members-add", "members-remove", "upgrade-finish"}
ADMIN_VERBS = {"pause", "resume", "failover", "switchover", "drill", "rejoin"}
WRONG_TOKEN = "wrong-token-3f9a1c7e5b"


def closed_port():
    """A loopback port nobody listens on: bound, then closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = LocalCluster(base_port=int(os.environ.get("FO_IT_BASE", "22300")))
        cls.addClassCleanup(cls.c.down)  # also when starting it fails half way
        cls.c.up()
        wait_for("an initialised cluster with a leader",
                 lambda: (lambda s: s["initialized"] and s["leader"])(cls.c.status()), 20)

    def run_ctl(self, *args, addrs=None, token_file=None, env=None):
        """failoverctl with the cluster's addresses and admin token, unless overridden
        (token_file="" sends none). Nothing comes from the caller's environment but the
        cluster CA, as FAILOVERCTL_CA (an operator's usual way; argv stays the test's)."""
        cmd = [os.path.join(bin_dir(), "failoverctl")]
        if addrs != "":
            cmd += ["-s", addrs or self.c.env["FAILOVERCTL_ADDR"]]
        if token_file != "":
            cmd += ["--token-file", token_file or self.c.env["FAILOVERCTL_TOKEN_FILE"]]
        e = {k: v for k, v in os.environ.items() if not k.startswith("FAILOVERCTL_")}
        if self.c.ca():
            e["FAILOVERCTL_CA"] = self.c.ca()
        return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60,
                              env={**e, "USER": "it-cli", **(env or {})})

    def fake_node(self):
        """A listening socket for a stand-in "node", and a function that accepts one
        client on it as the cluster's nodes do: over TLS with a node's certificate when
        the cluster runs TLS (failoverctl refuses anything else before it sends a
        request), else plain."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        ctx = tls_server_context(self.c.certs(), NODES[0]) if self.c.ca() else None

        def accept(timeout):
            conn, _ = srv.accept()
            conn.settimeout(timeout)
            if ctx is None:
                return conn
            try:
                return ctx.wrap_socket(conn, server_side=True)
            except BaseException:
                conn.close()
                raise
        return srv, accept

    def assertExit(self, r, code, stderr_has=None):
        self.assertEqual(r.returncode, code, f"stdout: {r.stdout!r}\nstderr: {r.stderr!r}")
        if stderr_has is not None:
            self.assertIn(stderr_has, r.stderr)

    def read_token_file(self):
        return self.c.env["READ_TOKEN_FILE"]

    # ---- 0: ok, and --help ----------------------------------------------------------

    def test_0_help_for_every_verb(self):
        r = self.run_ctl("--help", addrs="", token_file="")
        self.assertExit(r, 0)
        listed = [line.split()[0] for line in r.stdout.split("commands", 1)[1].split("\n\n")[0]
                  .splitlines()[1:]]
        self.assertEqual(listed, VERBS, "failoverctl --help lists every verb, one line each")
        for verb in VERBS:
            # No address and no token are needed to read the help.
            r = self.run_ctl(verb, "--help", addrs="", token_file="")
            self.assertExit(r, 0)
            self.assertTrue(r.stdout.startswith("usage: failoverctl [GLOBAL OPTIONS] " + verb),
                            r.stdout)
            self.assertIn("exit codes:\n  0  ok\n", r.stdout)
            self.assertIn("token: one with the admin role" if verb in MEMBERSHIP_VERBS
                          else "token: one with the operate or admin role" if verb in ADMIN_VERBS
                          else "token: any operator's (role read, operate or admin)", r.stdout)
            self.assertEqual(self.run_ctl("help", verb, addrs="", token_file="").stdout,
                             r.stdout, "help VERB = VERB --help")
            self.assertExit(self.run_ctl(verb, "-h", addrs="", token_file=""), 0)
        self.assertIn("\n  --force ", self.run_ctl("failover", "--help").stdout)
        self.assertNotIn("\n  --force ", self.run_ctl("switchover", "--help").stdout)

    def test_1_status_ok(self):
        r = self.run_ctl("status")
        self.assertExit(r, 0)
        self.assertIn("primary   main (epoch 0)", r.stdout)
        r = self.run_ctl("--json", "status", token_file=self.read_token_file())
        self.assertExit(r, 0)
        self.assertEqual(json.loads(r.stdout)["role"], "leader", "failoverctl follows the leader")

    # ---- 2: usage --------------------------------------------------------------------

    def test_2_usage_errors(self):
        self.assertExit(self.run_ctl("frobnicate"), 2, "unknown command 'frobnicate'")
        self.assertExit(self.run_ctl("--frobnicate", "status"), 2,
                        "unknown option '--frobnicate'")
        self.assertExit(self.run_ctl("-q", "status"), 2, "unknown option '-q'")
        self.assertExit(self.run_ctl("status", "--frobnicate"), 2,
                        "status: unknown option '--frobnicate'")
        self.assertExit(self.run_ctl("failover", "--to", "dr", "--now"), 2,
                        "failover: unknown option '--now'")
        self.assertExit(self.run_ctl("switchover", "--to", "dr", "--force"), 2,
                        "switchover: unknown option '--force'")
        self.assertExit(self.run_ctl("failover"), 2, "--to SITE is required")
        self.assertExit(self.run_ctl("failover", "--dry-run"), 2, "--to SITE is required")
        self.assertExit(self.run_ctl("switchover", "--reason", "x"), 2, "--to SITE is required")
        self.assertExit(self.run_ctl("drill", "--to"), 2, "'--to' needs a value")
        self.assertExit(self.run_ctl("report", "op-1", "op-2"), 2, "unexpected argument 'op-2'")
        self.assertExit(self.run_ctl("status", "extra"), 2, "unexpected argument 'extra'")
        self.assertExit(self.run_ctl("--timeout", "0", "status"), 2, "--timeout")
        self.assertExit(self.run_ctl("help", "frobnicate"), 2, "unknown command 'frobnicate'")
        self.assertExit(self.run_ctl(), 2)
        self.assertExit(self.run_ctl("status", addrs=""), 2, "no node address")
        # Refused by the node as a bad request: still a usage error.
        self.assertExit(self.run_ctl("history", "--limit", "zero"), 2, "limit")

    # ---- 3: nobody reachable ---------------------------------------------------------

    def test_3_no_node_reachable(self):
        addr = f"127.0.0.1:{closed_port()}"
        for args in (["status"], ["members"], ["pause"], ["failover", "--to", "dr"]):
            self.assertExit(self.run_ctl(*args, addrs=addr), 3, "no node answered")

    # ---- 4: refused by policy --------------------------------------------------------

    def test_4_refused_by_policy(self):
        # Without a data plane nobody sees dr's standby healthy: the health gate says no.
        r = self.run_ctl("failover", "--to", "dr", "--reason", "it_cli")
        self.assertExit(r, 4, "refused: dr is seen healthy by 0 of 3 observers")
        self.assertIn("--force overrides", r.stderr)
        self.assertExit(self.run_ctl("failover", "--to", "main"), 4, "main is already the primary")
        self.assertExit(self.run_ctl("failover", "--to", "nowhere"), 4, "no site named 'nowhere'")
        # Paused: a manual failover is still refused by the gate, and says so; the dry run
        # prints the refusal in its body and exits 4 too, like the real request.
        self.assertExit(self.run_ctl("pause", "--reason", "it_cli refusal"), 0)
        try:
            self.assertExit(self.run_ctl("failover", "--to", "dr"), 4, "refused")
            r = self.run_ctl("--json", "failover", "--to", "dr", "--dry-run")
            self.assertExit(r, 4)
            doc = json.loads(r.stdout)
            self.assertFalse(doc["would_fail_over"], doc)
            self.assertIn("paused", doc["decision"]["text"])
        finally:
            self.assertExit(self.run_ctl("resume"), 0)
        st = self.c.status()
        self.assertEqual((st["primary"], st["epoch"], st["operation"]), ("main", 0, None))

    # ---- 5: authentication -----------------------------------------------------------

    def test_5_authentication(self):
        wrong = os.path.join(self.c.dir, "wrong.token")
        with open(wrong, "w") as f:
            f.write(WRONG_TOKEN + "\n")
        self.assertExit(self.run_ctl("status", token_file=wrong), 5, "unauthorized")
        self.assertExit(self.run_ctl("pause", token_file=wrong), 5, "unauthorized")
        self.assertExit(self.run_ctl("status", token_file=os.path.join(self.c.dir, "missing")),
                        5, "token file")
        self.assertExit(self.run_ctl("status", token_file=""), 5, "a token is required")
        read = self.read_token_file()
        for args in (["pause"], ["resume"], ["failover", "--to", "dr"],
                     ["switchover", "--to", "dr"], ["drill"]):
            self.assertExit(self.run_ctl(*args, token_file=read), 5, "forbidden")
        for args in (["status"], ["history"], ["members"]):
            self.assertExit(self.run_ctl(*args, token_file=read), 0)
        # The node that refused logged it, without the token (and never the real one).
        logged = wait_for("event=admin.auth result=wrong-token in a node's log", lambda: [
            n for n in NODES if "event=admin.auth" in self.c.log(n) and
            "result=wrong-token" in self.c.log(n)], 10)
        self.assertTrue(logged)
        for n in NODES:
            log = self.c.log(n)
            self.assertNotIn(WRONG_TOKEN, log, n)
            self.assertNotIn(self.c.token(), log, n)
            self.assertNotIn(self.c.token("read"), log, n)

    # ---- members and switchover ------------------------------------------------------

    def test_6_members(self):
        r = self.run_ctl("members", token_file=self.read_token_file())
        self.assertExit(r, 0)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "REGION", "RAFT", "ROLE", "REACHABLE",
                                            "APPLIED"])
        rows = {line.split()[0]: line.split() for line in lines[1:4]}
        self.assertEqual(sorted(rows), sorted(NODES))
        self.assertEqual([row[3] for row in rows.values()].count("leader"), 1)
        self.assertTrue(all(row[4] == "yes" for row in rows.values()), r.stdout)
        self.assertRegex(r.stdout, r"\nterm \d+, commit index \d+ \(answered by ")
        doc = json.loads(self.run_ctl("--json", "members").stdout)
        self.assertEqual(doc["leader"], self.c.status()["leader"])
        self.assertEqual(sorted(m["name"] for m in doc["members"]), sorted(NODES))

    def test_7_switchover(self):
        r = self.run_ctl("switchover", "--to", "dr", "--dry-run")
        self.assertExit(r, 4)
        self.assertTrue(r.stdout.startswith("switchover main -> dr (epoch 1): REFUSED"), r.stdout)
        self.assertIn("nothing was changed (--dry-run)", r.stdout)
        doc = json.loads(self.run_ctl("--json", "switchover", "--to", "dr", "--dry-run").stdout)
        self.assertEqual((doc["kind"], doc["dry_run"], doc["to"]), ("switchover", True, "dr"))
        # The primary is not seen UP (no data plane): a switchover needs it, so: refused.
        self.assertExit(self.run_ctl("switchover", "--to", "dr", "--reason", "it_cli"), 4,
                        "refused")
        self.assertExit(self.run_ctl("switchover", "--to", "main"), 4, "refused")
        self.assertEqual(self.c.status()["epoch"], 0)

    def test_7b_long_requester_is_cut_not_refused(self):
        # failoverctl sends USER@HOST as `by`, a claim: the audit trail records who the
        # token is (issue 14: here the shared admin token, "admin-token"), and the claim
        # goes to the log only, cut at a character boundary to 64 bytes; a long one (or
        # a long reason) is never committed as an entry every node would refuse to apply.
        r = self.run_ctl("pause", "--reason", "é" * 250, env={"USER": "é" * 100})
        self.assertExit(r, 0)
        try:
            st = self.c.status()
            self.assertEqual(st["mode"], "paused", st)
            self.assertEqual(st["mode_detail"]["by"], "admin-token")
            logged = [line for n in NODES for line in self.c.log(n).splitlines()
                      if "event=admin.mode mode=paused" in line]
            self.assertTrue(logged)
            claim = logged[-1].split('claimed_by="', 1)[1].rsplit('"', 1)[0]
            self.assertTrue(claim.startswith("é") and len(claim.encode()) <= 64, claim)
        finally:
            self.assertExit(self.run_ctl("resume"), 0)

    # ---- 1: a change that got no answer is not sent again ------------------------------

    def test_8_unanswered_change_is_not_retried(self):
        # A "node" that takes the request and never answers, listed before the real ones:
        # failoverctl must not send `pause` on to the next node (it might run twice), and
        # says the outcome is unknown (exit 1). A read-only status does try the next one.
        # Under TLS the "node" finishes the handshake first: one that never does was never
        # sent the request, and the next node is rightly asked.
        silent, accept = self.fake_node()
        held = []

        def serve():
            for _ in range(2):  # the pause, then the status
                try:
                    held.append(accept(5))  # and never answer
                except OSError:
                    return
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            addrs = f"127.0.0.1:{silent.getsockname()[1]}," + self.c.env["FAILOVERCTL_ADDR"]
            r = self.run_ctl("--timeout", "500", "pause", "--reason", "must not happen",
                             addrs=addrs)
            self.assertExit(r, 1, "may or may not have been carried out")
            self.assertEqual(self.c.status()["mode"], "auto")
            self.assertExit(self.run_ctl("--timeout", "500", "status", addrs=addrs), 0)
        finally:
            silent.close()
            t.join(10)
            for conn in held:
                conn.close()

    def test_8b_endless_redirects_are_not_success(self):
        # A "node" that always answers not_leader naming itself: after the last hop
        # failoverctl reports that (exit 3), never "ok" for a change that did not run.
        srv, accept = self.fake_node()
        addr = f"127.0.0.1:{srv.getsockname()[1]}"
        served = []

        def serve():
            for _ in range(8):  # bounded: failoverctl follows at most a few hops
                try:
                    conn = accept(2)
                except OSError:  # closed at the end, or a handshake that failed
                    if srv.fileno() < 0:
                        return
                    continue
                with conn:
                    try:
                        req = read_frame(conn)
                    except (OSError, ValueError, ConnectionError):
                        continue
                    served.append(req["cmd"])
                    conn.sendall(frame({"v": 1, "t": "reply", "id": req["id"],
                                        "code": "not_leader", "message": "ask the leader",
                                        "leader": addr}))
        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            r = self.run_ctl("--timeout", "2000", "pause", addrs=addr)
            self.assertExit(r, 3, "not_leader")
        finally:
            srv.close()
            t.join(5)
        self.assertGreaterEqual(len(served), 2)  # it did follow the redirect
        self.assertEqual(self.c.status()["mode"], "auto")

    # ---- 3 again: a majority lost (last: it kills nodes) ------------------------------

    def test_9_majority_lost(self):
        leader = wait_for("a leader", self.c.leader, 10)
        survivor = next(n for n in NODES if n != leader)
        for n in NODES:
            if n != survivor:
                self.c.run("kill", n)

        def leaderless():
            rep = admin_call(self.c.admin_addr(survivor), "status", token=self.c.token())
            return rep.get("code") == "ok" and json.loads(rep["body"])["leader"] is None
        wait_for(f"{survivor} to know it has no leader", leaderless, 20)
        # status still prints what the survivor knows, and exits 3.
        r = self.run_ctl("status")
        self.assertExit(r, 3)
        self.assertIn("leader    NONE (no quorum reachable)", r.stdout)
        for args in (["pause"], ["resume"], ["failover", "--to", "dr"],
                     ["switchover", "--to", "dr"], ["drill"]):
            self.assertExit(self.run_ctl(*args), 3)
        # members answers from the survivor: the others' reachability is unknown.
        doc = json.loads(self.run_ctl("--json", "members").stdout)
        self.assertIsNone(doc["leader"])
        self.assertEqual(sorted(m["reachable"] is None for m in doc["members"]).count(True), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
