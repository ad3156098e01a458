"""Issue 14, peer encryption, end to end: three failoverd processes with certificates from
deploy/make-certs form a cluster over mutual TLS; a fourth party with a certificate from
another CA, an expired certificate, no certificate, plain text, or a valid certificate
claiming another node's id can neither join the Raft port nor change the FSM, and each
refusal is logged once with its reason; the admin port answers a plain-text client with
a clear error, and a node's certificate (not the operator's token) carries node-to-node
verbs."""

import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import (NODES, TOP, LocalCluster, admin_call, bin_dir, frame,  # noqa: E402
                     read_frame, tls_context, wait_for)

MAKE_CERTS = os.path.join(TOP, "deploy", "make-certs")


def make_certs(d, *args):
    subprocess.run([MAKE_CERTS, "--dir", d, *args], check=True, capture_output=True, text=True)


def raft_handshake(node_id, address):
    """raft_uv_tcp's handshake (libraft 0.15): protocol 1, id, padded address."""
    a = address.encode() + b"\0"
    a += b"\0" * (-len(a) % 8)
    return struct.pack("<QQQ", 1, node_id, len(a)) + a


class TLSCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = LocalCluster(base_port=int(os.environ.get("FO_IT_BASE", "25300")), tls=True)
        cls.c.up("--dataplane")  # the data plane brings the health-feed port (test 11)
        cls.tmp = tempfile.mkdtemp(prefix="fo-it-tls-")
        certs = cls.c.certs()
        # another cluster's CA, with a certificate that names a real node
        cls.other = os.path.join(cls.tmp, "other")
        make_certs(cls.other, "us-east-1")
        # our CA, but expired: a copy of the CA so the cluster's own files stay intact
        cls.expired = os.path.join(cls.tmp, "expired")
        os.makedirs(cls.expired)
        for f in ("ca.crt", "ca.key"):
            shutil.copy(os.path.join(certs, f), cls.expired)
        make_certs(cls.expired, "--expired", "us-west-2")
        # our CA, valid, but a node that is not in the configuration
        make_certs(certs, "mallory")

    @classmethod
    def tearDownClass(cls):
        cls.c.down()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def leader(self):
        return wait_for("a leader", self.c.leader, 15)

    def terms(self):
        return {n: self.c.status(n)["term"] for n in NODES}

    def refusals(self, node, reason, port="raft"):
        return [line for line in self.c.log(node).splitlines()
                if "event=tls.refused" in line and f"port={port} " in line
                and f"reason={reason} " in line]

    def attempt(self, addr, cert=None, key=None, ca=None, payload=b""):
        """Connect as a would-be peer; returns 'refused' if the TLS session died before
        or after the handshake (TLS 1.3: a client learns of its rejection on read)."""
        host, port = addr.rsplit(":", 1)
        ctx = tls_context(ca or os.path.join(self.c.certs(), "ca.crt"), cert, key)
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.settimeout(5)
            try:
                s = ctx.wrap_socket(raw)
                s.sendall(payload)
                data = s.recv(1)
                return "open" if data else "refused"
            except (ssl.SSLError, ConnectionError, socket.timeout):
                return "refused"

    # ---- the cluster itself ----------------------------------------------------------

    def test_1_cluster_forms_over_tls(self):
        leader = self.leader()
        r = self.c.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(leader, r.stdout)
        for n in NODES:
            self.assertNotIn("event=tls.off", self.c.log(n))
            self.assertIn("tls: {ca:", open(os.path.join(self.c.dir, "nodes", n,
                                                          "node.yaml")).read())
        out = subprocess.run([os.path.join(bin_dir(), "failoverd"), "-c",
                              os.path.join(self.c.dir, "nodes", NODES[0], "node.yaml"),
                              "--check-config"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("tls: on", out.stdout)

    # ---- the Raft port ------------------------------------------------------------------

    def outsider(self, reason, cert=None, key=None, claim=2):
        """Attack every node's Raft port as `claim`; the FSM's term must not move and each
        node must log the refusal with `reason`, once."""
        leader = self.leader()
        before = self.terms()
        for n in NODES:
            addr = self.c.raft_addr(n)
            # a vote request from a far future term, if the handshake ever let it through
            payload = raft_handshake(claim, "127.0.0.1:1") + struct.pack("<QQ", 1, 1 << 40) * 8
            for _ in range(3):  # reconnects: still one log line per reason and host
                self.assertEqual(self.attempt(addr, cert, key, payload=payload), "refused")
            wait_for(f"{n} logs the {reason} refusal", lambda: self.refusals(n, reason), 10)
        for n in NODES:
            self.assertEqual(len(self.refusals(n, reason)), 1, self.refusals(n, reason))
        self.assertEqual(self.c.leader(), leader)
        after = self.terms()
        for n in NODES:
            self.assertLessEqual(after[n], before[n] + 1, (before, after))  # no forced term

    def test_2_other_ca_is_refused(self):
        self.outsider("unknown-ca", os.path.join(self.other, "us-east-1.crt"),
                      os.path.join(self.other, "us-east-1.key"))

    def test_3_expired_certificate_is_refused(self):
        self.outsider("expired", os.path.join(self.expired, "us-west-2.crt"),
                      os.path.join(self.expired, "us-west-2.key"))

    def test_4_no_certificate_is_refused(self):
        self.outsider("no-cert")

    def test_5_valid_certificate_claiming_another_node_is_refused(self):
        certs = self.c.certs()
        self.outsider("wrong-peer", os.path.join(certs, "mallory.crt"),
                      os.path.join(certs, "mallory.key"), claim=1)

    def test_6_plain_text_on_the_raft_port_is_refused(self):
        for n in NODES:
            host, port = self.c.raft_addr(n).rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.settimeout(5)
                s.sendall(raft_handshake(1, "127.0.0.1:1"))
                self.assertEqual(s.recv(100), b"")  # closed, nothing said in clear
            wait_for(f"{n} logs not-tls", lambda: self.refusals(n, "not-tls"), 10)

    def test_6b_silent_verified_peer_is_dropped(self):
        # a certificate of the CA, then nothing: the link inside TLS is limited in time too
        certs = self.c.certs()
        n = NODES[0]
        host, port = self.c.raft_addr(n).rsplit(":", 1)
        ctx = tls_context(os.path.join(certs, "ca.crt"), os.path.join(certs, "mallory.crt"),
                          os.path.join(certs, "mallory.key"))
        with socket.create_connection((host, int(port)), timeout=15) as raw:
            raw.settimeout(15)
            s = ctx.wrap_socket(raw)
            self.assertEqual(s.recv(1), b"")  # closed by the node, not by us
        wait_for("the timeout refusal", lambda: self.refusals(n, "timeout"), 10)
        self.assertEqual(len(self.refusals(n, "timeout")), 1)

    # ---- the admin port -----------------------------------------------------------------

    def test_7_plain_text_admin_client_gets_a_clear_error(self):
        leader = self.leader()
        rep = admin_call(self.c.admin_addr(leader), "status", token=self.c.token(), ca=None)
        self.assertEqual(rep["code"], "bad_request")
        self.assertIn("requires TLS", rep["message"])
        r = subprocess.run([os.path.join(bin_dir(), "failoverctl"), "-s",
                            self.c.env["FAILOVERCTL_ADDR"], "--token-file",
                            self.c.env["FAILOVERCTL_TOKEN_FILE"], "status"],
                           capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items()
                                if not k.startswith("FAILOVERCTL_")})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("requires TLS", r.stderr)

    def test_8_failoverctl_refuses_a_server_of_another_ca(self):
        r = self.c.ctl("--ca", os.path.join(self.other, "ca.crt"), "status")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("TLS refused: unknown-ca", r.stderr)

    def test_9_admin_client_certificates_are_verified(self):
        leader = self.leader()
        addr = self.c.admin_addr(leader)
        for cert_dir, name in ((self.other, "us-east-1"), (self.expired, "us-west-2")):
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                admin_call(addr, "status", token=self.c.token(),
                           cert=os.path.join(cert_dir, name + ".crt"),
                           key=os.path.join(cert_dir, name + ".key"))
        wait_for("the admin port logs the expired client", lambda: self.refusals(
            leader, "expired", port="admin"), 10)

    def test_10_node_certificate_carries_node_verbs_without_a_token(self):
        leader = self.leader()
        certs = self.c.certs()
        args = {"t": "verdict", "observer": "us-east-1", "region": "eu-west-1", "status": "up",
                "at_ms": str(int(time.time() * 1000))}
        node = dict(cert=os.path.join(certs, "us-east-1.crt"),
                    key=os.path.join(certs, "us-east-1.key"))
        rep = admin_call(self.c.admin_addr(leader), "propose", args=args, **node)
        self.assertEqual(rep["code"], "ok", rep)
        # ... and for nothing else
        # (known: the node's certificate; its role, node, does not include operate)
        rep = admin_call(self.c.admin_addr(leader), "pause", args={"reason": "x"}, **node)
        self.assertEqual(rep["code"], "forbidden", rep)
        self.assertIn("operate", rep.get("message", ""), rep)
        # an operator certificate is no node's
        op = dict(cert=os.path.join(certs, "operator.crt"),
                  key=os.path.join(certs, "operator.key"))
        rep = admin_call(self.c.admin_addr(leader), "propose", args=args, **op)
        self.assertEqual(rep["code"], "unauthorized", rep)
        # followers forwarded their config digests with their certificate alone (no token
        # on the wire): none was refused
        for n in NODES:
            refused = [l for l in self.c.log(n).splitlines() if "event=config.digest forward=" in l
                       and ("forward=unauthorized" in l or "forward=forbidden" in l)]
            self.assertEqual(refused, [])


    # ---- the health-feed port -----------------------------------------------------------

    def test_11_health_feed_port_is_tls(self):
        """A feed's token must not cross regions in clear: the health port runs the
        cluster's TLS too. Plain text gets one reply saying so; a feed that trusts the
        cluster CA (no client certificate: its token is its credential) is recorded."""
        host, port = self.c.env["NODE_US_WEST_2_HEALTH"].rsplit(":", 1)
        with open(self.c.env["FEED_TOKEN_FILE"]) as f:
            token = f.read().strip()
        msg = {"v": 1, "t": "health", "id": 1, "observer": "monitoring", "region": "eu-west-1",
               "component": "postgres", "status": "up", "at_ms": int(time.time() * 1000),
               "detail": "over TLS", "token": token}
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.sendall(frame(msg))
            rep = read_frame(raw)
        self.assertEqual(rep["code"], "bad_request", rep)
        self.assertIn("requires TLS", rep["message"])
        ctx = tls_context(os.path.join(self.c.certs(), "ca.crt"))
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            with ctx.wrap_socket(raw) as s:
                s.sendall(frame(msg))
                rep = read_frame(s)
        self.assertEqual(rep["code"], "ok", rep)

    def test_12_metrics_say_when_the_certificate_and_crl_run_out(self):
        """Both expiry gauges are on /metrics (HTTP API, read token) with plausible values:
        make-certs issues certificates and CRLs for 825 days."""
        host, port = self.c.env["NODE_US_EAST_1_HTTP"].rsplit(":", 1)
        # (local-cluster's HTTP API is plain HTTP, said explicitly: http.plain_text)
        req = urllib.request.Request(f"http://{host}:{port}/metrics",
                                     headers={"Authorization": "Bearer " + self.c.token("read")})
        with urllib.request.urlopen(req, timeout=5) as r:
            page = r.read().decode()
        now = time.time()
        for name in ("failoverd_tls_certificate_expiry_timestamp_seconds",
                     "failoverd_tls_crl_next_update_timestamp_seconds"):
            line = [l for l in page.splitlines() if l.startswith(name + " ")]
            self.assertEqual(len(line), 1, (name, page[:400]))
            days = (float(line[0].split()[1]) - now) / 86400
            self.assertTrue(800 < days < 830, (name, days))

    # ---- reload: a renewed certificate, a revoked node ----------------------------------
    # Named test_x*: unittest runs methods in name order, and these must come after every
    # numbered test (test_x2 cuts eu-west-1 off for good).

    def hup(self, node):
        os.kill(self.c.pid(node), signal.SIGHUP)

    def tls_reload_lines(self, node):
        return [l for l in self.c.log(node).splitlines()
                if "event=tls.reload" in l or ("event=config.reload" in l and "part=tls" in l)]

    def served_cert(self, node):
        """The DER certificate node's admin port presents now (a new connection)."""
        host, port = self.c.admin_addr(node).rsplit(":", 1)
        ctx = tls_context(os.path.join(self.c.certs(), "ca.crt"))
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            with ctx.wrap_socket(raw) as s:
                return s.getpeercert(binary_form=True)

    def test_x1_renewed_certificate_is_served_after_a_reload(self):
        certs = self.c.certs()
        old = self.served_cert("us-west-2")
        make_certs(certs, "--force", "us-west-2")  # same CA, new key, new serial
        with open(os.path.join(certs, "us-west-2.crt")) as f:
            new = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertNotEqual(old, new)
        self.assertEqual(self.served_cert("us-west-2"), old)  # files alone change nothing
        before = len(self.tls_reload_lines("us-west-2"))
        self.hup("us-west-2")
        line = wait_for("us-west-2's tls.reload line", lambda: (lambda ls: ls[before] if len(
            ls) > before else None)(self.tls_reload_lines("us-west-2")), 10)
        self.assertIn("result=ok", line)
        self.assertIn("cut=0", line)  # every peer still verifies
        self.assertEqual(self.served_cert("us-west-2"), new)
        # the cluster goes on, and us-west-2's new certificate is accepted by its peers
        wait_for("every node reachable from the leader", lambda: all(
            n["reachable"] is not False for n in self.c.status(self.leader())["nodes"]), 15)
        self.assertEqual(self.c.ctl("status").returncode, 0)

    def test_x2_revoked_node_is_cut_and_refused(self):
        certs = self.c.certs()
        leader = self.leader()
        make_certs(certs, "--revoke", "eu-west-1")  # rewrites certs/crl.pem, named by every node
        # The revoked node itself refuses the reload (its own certificate is revoked) and
        # keeps its running context: the refusal is its peers' to enforce.
        before = len(self.tls_reload_lines("eu-west-1"))
        self.hup("eu-west-1")
        line = wait_for("eu-west-1's refused reload", lambda: (lambda ls: ls[before] if len(
            ls) > before else None)(self.tls_reload_lines("eu-west-1")), 10)
        self.assertIn("result=refused", line)
        self.assertIn("revokes this node's certificate", line)
        for n in ("us-east-1", "us-west-2"):
            self.hup(n)
        # Its open Raft links are cut at the reload, not at the next reconnect (the leader
        # has links with every follower; two followers need none between them)...
        wait_for("eu-west-1's links cut at the reload", lambda: any(
            self.refusals(n, "revoked", port="reload") for n in ("us-east-1", "us-west-2")), 10)
        # ... and every reconnect is refused with the reason.
        wait_for("a refused reconnect", lambda: any(
            self.refusals(n, "revoked") for n in ("us-east-1", "us-west-2")), 15)
        leader = self.leader()
        if leader == "eu-west-1":  # it cannot stay leader without a majority's links
            leader = wait_for("a leader other than eu-west-1", lambda: (
                lambda l: l if l in ("us-east-1", "us-west-2") else None)(
                    self.c.leader(("us-east-1", "us-west-2"))), 20)
        views = []

        def unreachable():
            views.append(self.c.status(leader)["nodes"])
            return [n for n in views[-1] if n["name"] == "eu-west-1" and n["reachable"] is False]
        try:
            wait_for("the leader sees eu-west-1 unreachable", unreachable, 15)
        except AssertionError as e:
            raise AssertionError(f"{e}; leader {leader}, its last view {views[-1:]}") from e
        # the revoked certificate opens no admin session either
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            admin_call(self.c.admin_addr(leader), "status", token=self.c.token(),
                       cert=os.path.join(certs, "eu-west-1.crt"),
                       key=os.path.join(certs, "eu-west-1.key"))
        # The remaining majority still commits. Leadership may still move between the two
        # (an election, then the placement handing it out of main's region): a change is
        # refused meanwhile ("just elected", exit 3) or its outcome is unknown, so the
        # test retries through both survivors' addresses and checks the committed mode.
        both = ",".join(self.c.admin_addr(n) for n in ("us-east-1", "us-west-2"))
        for args, mode in ((("pause", "--reason", "after revoke"), "paused"), (("resume",), "auto")):
            def committed(args=args, mode=mode):
                self.c.ctl(*args, addrs=both)
                _, st = self.c.leader_status(("us-east-1", "us-west-2"))
                return st is not None and st["mode"] == mode
            wait_for(f"{mode} committed by the two survivors", committed, 20, interval=0.2)

if __name__ == "__main__":
    unittest.main(verbosity=2)
