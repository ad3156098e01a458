"""Helpers for failoverd's integration tests: drive deploy/local-cluster, speak the
admin protocol (4-byte big-endian length + one msgpack map, proto/admin.h) and wait on
conditions with deadlines.

Every wait here polls a condition with a deadline: there is no event to subscribe to
from outside the processes, and a bare sleep would make a test slow or flaky."""

import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time

import msgpack

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODES = ["us-east-1", "us-west-2", "eu-west-1"]


def bin_dir():
    return os.environ.get("FO_BIN", os.path.join(TOP, "build", "bin"))


def wait_for(what, cond, timeout, interval=0.05):
    """Poll cond() until it returns a truthy value; return it, or raise naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = cond()
            if last:
                return last
        except (OSError, ValueError, KeyError, RuntimeError,
                subprocess.SubprocessError) as e:  # a node or server restarting, not there yet
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def frame(obj):
    payload = msgpack.packb(obj, use_bin_type=True)
    return struct.pack(">I", len(payload)) + payload


def read_frame(sock, limit=1 << 20):
    hdr = recv_exact(sock, 4)
    (n,) = struct.unpack(">I", hdr)
    if n > limit:
        raise ValueError(f"reply frame of {n} bytes")
    return msgpack.unpackb(recv_exact(sock, n), raw=False)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


# The cluster CA of the LocalCluster that is up with TLS (None: plain text). Tests run
# one cluster at a time; admin_call uses it unless told otherwise.
TLS_CA = None


def tls_context(ca, cert=None, key=None):
    """A client context that trusts only the cluster CA (no system roots). Node
    certificates name nodes, not addresses: the name is checked by whoever knows which
    node to expect (failoverctl checks that the server is a node)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def admin_call(addr, cmd, token=None, args=None, timeout=3.0, rid=1, ca=..., cert=None,
               key=None):
    """One admin request; returns the reply map (code, message, leader, body...).
    ca: the cluster CA to talk TLS with (default TLS_CA; None: plain text)."""
    req = {"v": 1, "t": "req", "id": rid, "cmd": cmd}
    if token is not None:
        req["token"] = token
    if args:
        req["args"] = args
    with connect(addr, timeout, ca, cert, key) as s:
        s.sendall(frame(req))
        return read_frame(s)


def connect(addr, timeout=3.0, ca=..., cert=None, key=None, sock=None):
    """A connection to a node's admin or health port ("host:port"), as a client of that
    port must talk: TLS trusting the cluster CA when the cluster runs it (ca: default
    TLS_CA; None: plain text). No client certificate unless given: operators and feeds
    authenticate with their token. sock: an unconnected socket to use (e.g. with a small
    receive buffer set before connecting)."""
    host, port = addr.rsplit(":", 1)
    if sock is None:
        raw = socket.create_connection((host, int(port)), timeout=timeout)
    else:
        raw = sock
        raw.settimeout(timeout)
        raw.connect((host, int(port)))
    raw.settimeout(timeout)
    ca = TLS_CA if ca is ... else ca
    if not ca:
        return raw
    try:
        return tls_context(ca, cert, key).wrap_socket(raw)
    except BaseException:
        raw.close()
        raise


def tls_server_context(certs, node):
    """A server context with node's certificate from deploy/make-certs' directory certs:
    a stand-in "node" that failoverctl (which checks that a server is a node of the
    cluster CA) talks to as to a real one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(os.path.join(certs, node + ".crt"), os.path.join(certs, node + ".key"))
    return ctx


class LocalCluster:
    """A deploy/local-cluster deployment in a temporary directory."""

    def __init__(self, base_port, snapshot=None, tls=True):
        """tls: mutual TLS between the nodes and on the admin and health ports, with
        deploy/make-certs' CA (local-cluster's default, and every test's: the secure
        path is the tested path, issue 14). False only for a test about plain text,
        which says why where it passes it."""
        self.dir = tempfile.mkdtemp(prefix="fo-it-")
        self.base = base_port
        self.snapshot = snapshot
        self.tls = tls
        self.env = None

    def run(self, *args, check=True, timeout=120, env=None):
        cmd = [os.path.join(TOP, "deploy", "local-cluster"), *args, "--dir", self.dir]
        return subprocess.run(cmd, check=check, timeout=timeout, capture_output=True, text=True,
                              env={**os.environ, "FO_BASE_PORT": str(self.base), "FO_BIN": bin_dir(),
                                   "FO_TLS": "on" if self.tls else "off", **(env or {})})

    def up(self, *extra, timeout=120):
        """local-cluster up; extra: more of its options (e.g. --dataplane, --netns)."""
        args = ["up", *extra] + (["--snapshot", str(self.snapshot)] if self.snapshot else [])
        try:
            self.run(*args, timeout=timeout)
        except subprocess.CalledProcessError as e:
            # local-cluster says why (e.g. "no leader", a port in use): without its stderr
            # and the nodes' last lines a failed start is a bare exit status
            tails = []
            for n in NODES:
                try:
                    with open(os.path.join(self.dir, "nodes", n, "failoverd.log"), errors="replace") as f:
                        tails.append(f"--- {n}:\n" + "".join(f.readlines()[-3:]))
                except OSError:
                    pass
            raise AssertionError(f"local-cluster {' '.join(args)}: exit {e.returncode}\n"
                                 f"{(e.stderr or '').strip()[-1500:]}\n" + "".join(tails)) from e
        return self.load_vars()

    def load_vars(self):
        """`local-cluster vars` into self.env, and this cluster's CA (if it runs TLS) as
        the default of admin_call and connect: the one place a test learns both, so a
        test that starts the cluster its own way still talks to it as it must."""
        out = self.run("vars").stdout
        self.env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        if self.tls and not self.env.get("FAILOVERCTL_CA"):
            # a test that believes it runs TLS must not pass on a plain-text cluster
            raise AssertionError("a TLS cluster was asked for, but `local-cluster vars` names no CA")
        global TLS_CA
        TLS_CA = self.env.get("FAILOVERCTL_CA")
        return self

    def ca(self):
        """The cluster CA's file (None: a plain-text cluster)."""
        return self.env.get("FAILOVERCTL_CA")

    def ctl_cmd(self, *args, addrs=None, token_file=None):
        """failoverctl's argv as an operator of this cluster runs it: its addresses, a
        token, and the cluster CA when it runs TLS."""
        cmd = [os.path.join(bin_dir(), "failoverctl"), "-s", addrs or self.env["FAILOVERCTL_ADDR"],
               "--token-file", token_file or self.env["FAILOVERCTL_TOKEN_FILE"]]
        if self.ca():
            cmd += ["--ca", self.ca()]
        return cmd + list(args)

    def certs(self):
        """The directory deploy/make-certs filled (TLS clusters only)."""
        return self.env["FO_CERTS"]

    def down(self, keep=False):
        global TLS_CA
        TLS_CA = None
        try:
            self.run("down", check=False)
        finally:
            if not keep and os.environ.get("FO_KEEP") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)

    def admin_addr(self, node):
        return self.env["NODE_" + node.upper().replace("-", "_") + "_ADMIN"]

    def raft_addr(self, node):
        return self.env["NODE_" + node.upper().replace("-", "_") + "_RAFT"]

    def token(self, kind="admin"):
        with open(os.path.join(self.dir, "tokens", kind + ".token")) as f:
            return f.read().strip()

    def log(self, node):
        with open(os.path.join(self.dir, "nodes", node, "failoverd.log")) as f:
            return f.read()

    def raft_dir(self, node):
        return os.path.join(self.dir, "nodes", node, "data", "raft")

    def pid(self, node):
        try:
            with open(os.path.join(self.dir, "nodes", node, "pid")) as f:
                pid = int(f.read())
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return None  # dead, not reaped yet
            return pid
        except (OSError, ValueError, IndexError):
            return None

    def ctl(self, *args, addrs=None, token_file=None):
        return subprocess.run(self.ctl_cmd(*args, addrs=addrs, token_file=token_file),
                              capture_output=True, text=True, timeout=60)

    def status(self, node=None):
        """The status document, from one node (its own view) or via failoverctl."""
        if node is not None:
            rep = admin_call(self.admin_addr(node), "status", token=self.token())
            if rep.get("code") != "ok":
                raise ValueError(f"status from {node}: {rep}")
            return json.loads(rep["body"])
        r = self.ctl("--json", "status")
        if r.returncode not in (0, 3):
            raise ValueError(f"failoverctl status exit {r.returncode}: {r.stderr}")
        return json.loads(r.stdout)

    def leader_status(self, nodes=NODES):
        """(name, its status) of a node among nodes that says it is the leader, else
        (None, None)."""
        for n in nodes:
            try:
                st = self.status(n)
            except (OSError, ValueError):
                continue
            if st["role"] == "leader":
                return n, st
        return None, None

    def leader(self, nodes=NODES):
        """The leader's name as reported by a node that is a ready leader, else None."""
        return self.leader_status(nodes)[0]
