"""Issue 15, rolling upgrade, end to end (README "Upgrading"; proto/codec.h "Versions").

The previous release, failoverd 0.1.0, is built from its tag (cached under the CTest build
directory by commit, so a rerun reuses it) and a cluster of three nodes starts on it.
State is committed (pause, resume, a drill), then the nodes are upgraded to the current
build one at a time (deploy/local-cluster upgrade: SIGTERM, new binary, same data dir),
and each restarted node reads the log and snapshot the old release wrote. While the
cluster is mixed it fails over twice: once led by an old node, once by a new one (the
leader placement, raft.leader_off_primary, moves leadership out of the primary's regions:
to us-east-1 when dr is the primary, away from it when main is). `upgrade finish` is
refused while an old node remains, naming it; once all run the current build it raises
the cluster format to 4 and the cluster fails over again. After every change every node's
own view of the replicated state (status, answered by the node itself) must agree.

No data plane: a forced failover commits the same op_begin/step/op_end entries whatever
its steps do, and those entries are what the two releases must agree on."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, TOP, LocalCluster, admin_call, bin_dir, wait_for  # noqa: E402

BASE = int(os.environ.get("FO_IT_BASE", "12800"))
OLD_TAG = "v0.1.0"
# The tag's commit: a clone without tags still builds the same release.
OLD_COMMIT = "03f4408f62664a6886fdb12ee02918174ab735ae"
SNAPSHOT = 16  # Raft snapshots every 16 entries: restarted nodes load the old release's


def git(*args):
    return subprocess.run(["git", "-C", TOP, *args], capture_output=True, text=True)


def old_commit():
    """The previous release's commit: its tag, else the recorded id. Neither present is a
    failure (a CI clone has the full history), never a skip."""
    r = git("rev-parse", "--verify", "--quiet", OLD_TAG + "^{commit}")
    if r.returncode == 0:
        return r.stdout.strip()
    if git("cat-file", "-e", OLD_COMMIT + "^{commit}").returncode == 0:
        return OLD_COMMIT
    raise AssertionError(f"neither tag {OLD_TAG} nor commit {OLD_COMMIT} is in {TOP}: "
                         "fetch the full history (git fetch --tags --unshallow)")


def build_old():
    """bin/ of the previous release, built once per commit into the cache directory."""
    commit = old_commit()
    cache = os.environ.get("FO_UPGRADE_CACHE", os.path.join(TOP, "build", "upgrade-base"))
    done = os.path.join(cache, commit, "build", "bin")
    if os.path.isfile(os.path.join(done, "failoverd")) and \
            os.path.isfile(os.path.join(done, "failoverctl")):
        return done
    os.makedirs(cache, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f"{commit[:12]}.", dir=cache)
    src, bld = os.path.join(work, "src"), os.path.join(work, "build")
    os.makedirs(src)
    archive = subprocess.Popen(["git", "-C", TOP, "archive", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", src], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0:
        raise AssertionError(f"git archive {commit} failed")
    subprocess.run(["cmake", "-S", src, "-B", bld, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                   check=True, capture_output=True)
    r = subprocess.run(["nice", "cmake", "--build", bld, "-j2", "--target", "failoverd",
                        "failoverctl"], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"building {commit} failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    # Published by one rename: a half-built directory is never taken for the cache.
    final = os.path.join(cache, commit)
    try:
        os.rename(work, final)
    except OSError:  # another run published it first
        shutil.rmtree(work, ignore_errors=True)
    return done


def alive(pid):
    """The process runs (a zombie has closed its sockets: not alive)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def version_of(bindir):
    return subprocess.run([os.path.join(bindir, "failoverd"), "--version"], capture_output=True,
                          text=True, check=True).stdout.strip()


class RollingUpgrade(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.old = build_old()
        cls.new = os.path.abspath(bin_dir())
        cls.c = LocalCluster(base_port=BASE, snapshot=SNAPSHOT)
        cls.addClassCleanup(cls.c.down)
        # Mutual TLS as shipped; without tls.crl, a key 0.1.0 does not know (it refuses
        # unknown keys: the config of a node must be one both releases read).
        cls.c.run("up", "--snapshot", str(SNAPSHOT), env={"FO_BIN": cls.old, "FO_TLS_CRL": "off"},
                  timeout=120)
        cls.c.load_vars()

    # ---- helpers --------------------------------------------------------------------------

    def ctl(self, *args):
        return self.c.ctl(*args)

    def assert_exit(self, r, code, text=None):
        self.assertEqual(r.returncode, code, f"exit {r.returncode}: {r.stdout} {r.stderr}")
        if text is not None:
            self.assertIn(text, r.stdout + r.stderr)

    def views(self):
        """Every node's own status (no failoverctl redirect): {node: status}."""
        return {n: self.c.status(n) for n in NODES}

    @staticmethod
    def fsm_view(st):
        """The parts of a node's status that come from its replicated state alone."""
        op = st["operation"]
        return json.dumps({
            "primary": st["primary"], "epoch": st["epoch"], "mode": st["mode"],
            "mode_by": st["mode_detail"]["by"], "mode_reason": st["mode_detail"]["reason"],
            "cooldown_until_ms": st["cooldown_until_ms"], "history_count": st["history_count"],
            "operation": op and [op["id"], op["state"], [s["state"] for s in op["steps"]]],
            "verdicts": sorted((v["observer"], v["region"], v["status"]) for v in st["verdicts"]),
        }, sort_keys=True)

    def converged(self, what, cond=lambda views: True, timeout=60):
        """Wait until every node applied the same entries, their replicated views agree
        and cond(views) holds; returns the views."""
        def check():
            v = self.views()
            applied = {st["last_applied"] for st in v.values()}
            fsm = {self.fsm_view(st) for st in v.values()}
            leaders = {st["leader"] for st in v.values()}
            if len(applied) == 1 and len(fsm) == 1 and len(leaders) == 1 and None not in leaders \
                    and cond(v):
                return v
            return None
        return wait_for(what, check, timeout, interval=0.2)

    def releases(self, views):
        """{node: its release}, "0.1.0" for a node whose status has no version (0.1.0's)."""
        return {n: st.get("version", "0.1.0") for n, st in views.items()}

    def upgrade(self, node):
        self.c.run("upgrade", node, "--bin", self.new)
        v = self.converged(f"{node} back on the current build, caught up",
                           lambda v: v[node].get("version") == self.release)
        st = v[node]
        self.assertEqual(st["format"]["cluster"], 3, "a mixed cluster stays at 0.1.0's format")
        self.assertIsNone(st["format"]["halted"])
        self.assertEqual(st["warnings"], [], st["warnings"])
        return v

    def failover(self, to):
        before = self.c.status()["epoch"]
        self.assert_exit(self.ctl("failover", "--to", to, "--force", "--yes", "--no-wait",
                                  "--reason", "it_upgrade"), 0)
        return self.converged(
            f"{to} primary, epoch {before + 1}, on every node",
            lambda v: all(st["primary"] == to and st["epoch"] == before + 1
                          and st["operation"] is None for st in v.values()))

    def leader_in(self, nodes, what):
        """Wait until every node names the same leader, one of nodes; returns it."""
        def check():
            leaders = {st["leader"] for st in self.views().values()}
            return next(iter(leaders)) if len(leaders) == 1 and leaders <= set(nodes) else None
        return wait_for(what, check, 90, interval=0.2)

    # ---- the test -------------------------------------------------------------------------

    def test_rolling_upgrade(self):
        self.release = version_of(self.new).split()[-1]
        self.assertEqual(version_of(self.old), "failoverd 0.1.0")
        self.assertNotEqual(self.release, "0.1.0", "the current build must say it is newer")

        # 1. All on 0.1.0: commit state through it.
        v = self.converged("an initialised cluster on 0.1.0", lambda v: all(
            st["initialized"] for st in v.values()))
        self.assertEqual(set(self.releases(v).values()), {"0.1.0"})
        self.assert_exit(self.ctl("pause", "--reason", "upgrade rehearsal"), 0)
        self.assert_exit(self.ctl("resume"), 0)
        self.assert_exit(self.ctl("drill", "--to", "dr", "--no-wait"), 0)
        v = self.converged("the drill finished everywhere", lambda v: all(
            st["history_count"] == 1 and st["operation"] is None for st in v.values()))
        self.assertEqual(v[NODES[0]]["mode"], "auto")
        # The old release has written snapshots: the restarted nodes read them.
        snaps = [f for f in os.listdir(self.c.raft_dir("us-east-1")) if f.startswith("snapshot-")]
        self.assertTrue(snaps, "0.1.0 wrote no snapshot: raise the entries or lower SNAPSHOT")

        # 2. The primary is main (us-east-1): the leader moves off it; upgrade us-east-1.
        old_leader = self.leader_in(("us-west-2", "eu-west-1"), "the leader off us-east-1")
        v = self.upgrade("us-east-1")
        self.assertEqual(self.releases(v), {"us-east-1": self.release, "us-west-2": "0.1.0",
                                            "eu-west-1": "0.1.0"})
        self.assertEqual(self.fsm_view(v["us-east-1"]), self.fsm_view(v["us-west-2"]))

        # 3. Mixed, led by an old node: fail over to dr.
        self.assertIn(self.c.status(old_leader)["leader"], ("us-west-2", "eu-west-1"))
        v = self.failover("dr")
        self.assertEqual(len({self.fsm_view(st) for st in v.values()}), 1)

        # 4. dr's regions are us-west-2 and eu-west-1: the leader moves to us-east-1, new.
        self.leader_in(("us-east-1",), "the leader on us-east-1 (the current build)")
        r = self.ctl("upgrade", "finish")
        self.assert_exit(r, 4, "not every node reads format v4")
        self.assertIn("us-west-2: does not know `version`: it runs failoverd 0.1.0 or older",
                      r.stdout + r.stderr)
        self.assertIn("eu-west-1", r.stdout + r.stderr)
        self.assertEqual(self.c.status("us-east-1")["format"]["cluster"], 3)
        node_token = self.c.token()
        self.assertEqual(admin_call(self.c.admin_addr("us-west-2"), "version",
                                    token=node_token)["code"], "bad_request")
        rep = admin_call(self.c.admin_addr("us-east-1"), "version", token=node_token)
        self.assertEqual(rep["code"], "ok", rep)
        self.assertEqual(json.loads(rep["body"])["reads_max"], 4)

        # 5. Mixed, led by the new node: fail back to main.
        v = self.failover("main")
        self.assertEqual(self.releases(v)["us-east-1"], self.release)

        # 6. The rest, followers first, the leader last.
        leader = self.leader_in(("us-west-2", "eu-west-1"), "the leader off us-east-1 again")
        follower = "eu-west-1" if leader == "us-west-2" else "us-west-2"
        self.upgrade(follower)
        v = self.upgrade(leader)
        self.assertEqual(set(self.releases(v).values()), {self.release})

        # 7. A server that does not answer blocks the raise too (it may be the old one).
        leader = self.leader_in(NODES, "a leader")
        down = next(n for n in NODES if n != leader)
        pid = self.c.pid(down)
        self.assertIsNotNone(pid)
        self.c.run("kill", down)
        # Gone for good before failoverctl asks: a dying node may still accept the request
        # and reset it (failoverctl then cannot know whether it ran: exit 1).
        wait_for(f"{down} to be gone", lambda: not alive(pid), 10)
        r = self.ctl("upgrade", "finish")
        self.assert_exit(r, 4, f"{down}: did not answer")
        self.assertEqual(self.c.status(leader)["format"]["cluster"], 3)
        self.c.run("start", down)
        self.converged(f"{down} back", lambda v: v[down].get("version") == self.release)

        # 8. Finish: the cluster format goes to 4 on every node; fail over again.
        r = self.ctl("upgrade", "finish")
        self.assert_exit(r, 0, "the cluster format is now v4")
        v = self.converged("format 4 on every node", lambda v: all(
            st["format"]["cluster"] == 4 for st in v.values()))
        self.assert_exit(self.ctl("upgrade", "finish"), 0, "already v4")
        v = self.failover("dr")
        hist = json.loads(self.ctl("--json", "history", "--limit", "10").stdout)
        ops = [(o["kind"], o["to"], o["epoch"]) for o in hist["operations"]]
        self.assertEqual(ops, [("manual", "dr", 3), ("manual", "main", 2), ("manual", "dr", 1),
                               ("drill", "dr", 0)], ops)
        events = [e["what"] for e in hist["events"]]
        self.assertIn("upgraded", events)
        for n in NODES:
            self.assertIsNone(v[n]["format"]["halted"])
            self.assertEqual(v[n]["epoch"], 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
