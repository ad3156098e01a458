"""Issue 14 on three real failoverd processes: operators by name (admin.tokens_file) with
roles, the audit trail naming the authenticated operator (never the client's $USER),
`propose` kept off the operator surface, a token file rotated without a restart, a client
that pipelines requests and never reads being cut off, and HTTPS on the HTTP port (a
plain-text client fails)."""

import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, LocalCluster, admin_call, bin_dir, connect, frame, wait_for  # noqa: E402

TOKENS = {"alice": ("admin", "alice-token-5b1f"), "bob": ("operate", "bob-token-77c2"),
          "grafana": ("read", "grafana-token-0d9e")}


def sha256(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class Operators(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = LocalCluster(base_port=int(os.environ.get("FO_IT_BASE", "31300")))
        cls.addClassCleanup(cls.c.down)
        d = cls.c.dir
        os.makedirs(os.path.join(d, "tokens"), mode=0o700)
        os.makedirs(os.path.join(d, "tls"), mode=0o700)
        # Named operators, hashes only in the file; each operator's own token file.
        cls.write_tokens({n: (role, sha256(tok)) for n, (role, tok) in TOKENS.items()})
        for name, (_, tok) in TOKENS.items():
            with open(cls.token_file(name), "w") as f:
                f.write(tok + "\n")
        # local-cluster's own failoverctl (it waits for a leader with it): alice.
        with open(os.path.join(d, "tokens", "ctl.token"), "w") as f:
            f.write(TOKENS["alice"][1] + "\n")
        # A certificate for the HTTP port: local-cluster turns HTTPS on when it is there.
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", os.path.join(d, "tls", "http.key"),
                        "-out", os.path.join(d, "tls", "http.crt")],
                       check=True, capture_output=True)
        cls.c.up()
        cls.leader = wait_for("a leader", lambda: cls.leader_name(), 20)

    @classmethod
    def write_tokens(cls, entries):
        path = os.path.join(cls.c.dir, "tokens", "operators")
        with open(path + ".new", "w") as f:
            f.write("# name role token\n")
            for name, (role, secret) in entries.items():
                f.write(f"{name} {role} {secret}\n")
        os.replace(path + ".new", path)  # as an editor saves: a new inode

    @classmethod
    def token_file(cls, name):
        return os.path.join(cls.c.dir, "tokens", name + ".token")

    @classmethod
    def status(cls, node, token=TOKENS["alice"][1]):
        rep = admin_call(cls.c.admin_addr(node), "status", token=token)
        if rep.get("code") != "ok":
            raise ValueError(rep)
        return json.loads(rep["body"])

    @classmethod
    def leader_name(cls):
        for n in NODES:
            try:
                if cls.status(n)["role"] == "leader":
                    return n
            except (OSError, ValueError):
                pass
        return None

    def ctl(self, who, *args, user="mallory@elsewhere"):
        """failoverctl as operator who, with a $USER that claims to be someone else."""
        cmd = [os.path.join(bin_dir(), "failoverctl"), "-s", self.c.env["FAILOVERCTL_ADDR"],
               "--token-file", self.token_file(who), *args]
        e = {k: v for k, v in os.environ.items() if not k.startswith("FAILOVERCTL_")}
        if self.c.ca():
            e["FAILOVERCTL_CA"] = self.c.ca()  # every operator trusts the cluster CA
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                              env={**e, "USER": user})

    def assertExit(self, r, code, stderr_has=None):
        self.assertEqual(r.returncode, code, f"stdout: {r.stdout!r}\nstderr: {r.stderr!r}")
        if stderr_has is not None:
            self.assertIn(stderr_has, r.stderr)

    # ---- roles -----------------------------------------------------------------------

    def test_1_read_token_cannot_fail_over(self):
        for args in (["failover", "--to", "dr"], ["pause"], ["drill"]):
            self.assertExit(self.ctl("grafana", *args), 5,
                            f"'{args[0]}' needs the operate role; 'grafana' has role read")
        self.assertExit(self.ctl("grafana", "status"), 0)
        # --force is the admin's: an operator may fail over, not force it.
        self.assertExit(self.ctl("bob", "failover", "--to", "dr", "--force", "--dry-run"), 5,
                        "'failover' with these options needs the admin role; 'bob' has role "
                        "read, operate")
        self.assertEqual(self.status(self.leader)["epoch"], 0)
        # logged by the node that refused (failoverctl's first: roles are checked before
        # a follower sends the client to the leader)
        logs = "".join(self.c.log(n) for n in NODES)
        self.assertIn('event=admin.forbidden cmd=failover by="grafana" needs=operate', logs)

    def test_2_audit_trail_names_the_operator(self):
        self.assertExit(self.ctl("bob", "pause", "--reason", "it_operators"), 0)
        try:
            st = wait_for("paused", lambda: (lambda s: s if s["mode"] == "paused" else None)(
                self.status(self.leader)), 10)
            self.assertEqual(st["mode_detail"]["by"], "bob")
        finally:
            self.assertExit(self.ctl("alice", "resume"), 0)
        hist = json.loads(self.ctl("grafana", "--json", "history").stdout)
        bys = [e["by"] for e in hist["events"] if e["by"] is not None]
        self.assertIn("bob", bys)
        self.assertIn("alice", bys)
        self.assertFalse([b for b in bys if "mallory" in b], "the client's claim is not recorded")
        # The claim is kept in the log beside the name, as what it is.
        self.assertIn('by="bob" claimed_by="mallory@elsewhere@',
                      "".join(self.c.log(n) for n in NODES))

    def test_3_propose_is_not_an_operators(self):
        args = {"t": "verdict", "observer": "monitoring", "region": "us-east-1",
                "status": "down", "at_ms": str(int(time.time() * 1000))}
        rep = admin_call(self.c.admin_addr(self.leader), "propose", token=TOKENS["alice"][1],
                         args=args)
        self.assertEqual(rep["code"], "forbidden", rep)
        self.assertIn("node to node only (role node)", rep["message"])
        # The nodes' own credential (admin.token_file) still forwards, and reads nothing.
        rep = admin_call(self.c.admin_addr(self.leader), "propose", token=self.c.token(),
                         args={**args, "observer": "nobody"})
        self.assertEqual(rep["code"], "bad_request", rep)
        self.assertIn("observer: 'nobody' is neither a peer nor a feed", rep["message"])
        rep = admin_call(self.c.admin_addr(self.leader), "status", token=self.c.token())
        self.assertEqual(rep["code"], "forbidden", rep)
        self.assertNotIn("nobody", json.dumps(self.status(self.leader)["verdicts"]))

    def test_4_rotation_without_restart(self):
        pids = [self.c.pid(n) for n in NODES]
        entries = {n: (role, sha256(tok)) for n, (role, tok) in TOKENS.items() if n != "grafana"}
        entries["carol"] = ("read", "carol-token-1a2b")  # a plain token works too
        self.write_tokens(entries)
        try:
            for n in NODES:
                wait_for(f"{n} to know carol", lambda n=n: self.status(n, "carol-token-1a2b"), 10)
                rep = admin_call(self.c.admin_addr(n), "status", token=TOKENS["grafana"][1])
                self.assertEqual(rep["code"], "unauthorized", rep)
            self.assertIn("event=tokens.reload", self.c.log(NODES[0]))
            # A broken file is refused and the list in force stays.
            with open(os.path.join(self.c.dir, "tokens", "operators"), "a") as f:
                f.write("dave superuser x\n")
            # (read again at the next request: each poll asks, as carol, who still works)
            wait_for("the broken file to be refused", lambda: self.status(
                NODES[0], "carol-token-1a2b") and "result=kept-previous" in self.c.log(NODES[0]),
                10)
        finally:
            self.write_tokens({n: (role, sha256(tok)) for n, (role, tok) in TOKENS.items()})
            wait_for("grafana back", lambda: self.status(NODES[0], TOKENS["grafana"][1]), 10)
        self.assertEqual(pids, [self.c.pid(n) for n in NODES], "no node restarted")

    def test_4b_refusals_are_rate_limited_in_the_log(self):
        node = NODES[1]
        addr = self.c.admin_addr(node)
        before = len(self.c.log(node))
        for i in range(30):
            rep = admin_call(addr, "status", token=f"guess-{i}")
            self.assertEqual(rep["code"], "unauthorized")  # every one is still answered
        lines = [line for line in self.c.log(node)[before:].splitlines()
                 if "event=admin.auth" in line]
        self.assertLessEqual(len(lines), 1, lines)
        # The next line once the interval is over carries how many were left out.
        def counted():
            admin_call(addr, "status", token="one-more-guess")
            return re.findall(r"event=admin.auth .*suppressed=(\d+)", self.c.log(node)[before:])
        found = wait_for("a refusal line with a count", lambda: [
            n for n in counted() if int(n) >= 29], 15, interval=0.5)
        self.assertTrue(found)

    # ---- the frame servers' bound ----------------------------------------------------

    def test_5_pipelining_client_that_never_reads_is_cut_off(self):
        node = NODES[0]
        req = frame({"v": 1, "t": "req", "id": 1, "cmd": "status",
                     "token": TOKENS["grafana"][1]})
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting
        s = connect(self.c.admin_addr(node), timeout=10, sock=s)  # TLS when the cluster is
        cut = None
        deadline = time.monotonic() + 60
        try:
            while cut is None and time.monotonic() < deadline:
                try:
                    s.sendall(req * 100)  # and never read a reply
                except OSError as e:  # reset or broken pipe: the node closed it
                    cut = e
        finally:
            s.close()
        self.assertIsNotNone(cut, "the node kept queueing replies for a client that never reads")
        wait_for("event=server.slow_client in the log",
                 lambda: "event=server.slow_client server=admin" in self.c.log(node), 10)
        self.status(node)  # and it serves everyone else as before

    # ---- HTTPS -----------------------------------------------------------------------

    def https_addr(self, node):
        host, port = self.c.env["NODE_" + node.upper().replace("-", "_") + "_HTTP"].rsplit(":", 1)
        return host, int(port)

    def test_6_https(self):
        host, port = self.https_addr(NODES[0])
        ctx = ssl.create_default_context(cafile=os.path.join(self.c.dir, "tls", "http.crt"))
        conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
        conn.request("GET", "/v1/status",
                     headers={"Authorization": "Bearer " + TOKENS["grafana"][1]})
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.read())["node"], NODES[0])
        conn.request("GET", "/v1/status", headers={"Authorization": "Bearer wrong"})
        r = conn.getresponse()
        self.assertEqual(r.status, 401)
        r.read()
        conn.close()
        # curl, verifying the certificate as a load balancer or scraper would
        out = subprocess.run(["curl", "-sS", "--cacert", os.path.join(self.c.dir, "tls", "http.crt"),
                              "-H", "Authorization: Bearer " + TOKENS["grafana"][1],
                              f"https://{host}:{port}/metrics"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("failoverd_up 1", out.stdout)
        # An unverified certificate is the client's refusal: curl without the CA fails.
        out = subprocess.run(["curl", "-sS", f"https://{host}:{port}/metrics"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 60, out.stderr)  # peer certificate cannot be verified

    def test_7_plain_http_against_https_fails(self):
        host, port = self.https_addr(NODES[0])
        conn = http.client.HTTPConnection(host, port, timeout=10)
        with self.assertRaises((http.client.HTTPException, OSError)):
            conn.request("GET", "/v1/status",
                         headers={"Authorization": "Bearer " + TOKENS["grafana"][1]})
            r = conn.getresponse()
            r.read()
        conn.close()
        out = subprocess.run(["curl", "-sS", f"http://{host}:{port}/v1/status"],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0, out.stdout)
        self.assertNotIn('"node"', out.stdout)
        self.status(NODES[0])  # the node is unharmed


if __name__ == "__main__":
    unittest.main(verbosity=2)
