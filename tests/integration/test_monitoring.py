"""Issue 16, real monitoring in the loop, on deploy/local-cluster --dataplane:

- a real Prometheus (Debian's), running deploy/prometheus/prometheus.yml with this
  cluster's addresses, scrapes every node's /metrics with the read token as a bearer
  token: every target is `up` by Prometheus's own HTTP API, the cluster has exactly one
  leader by a PromQL query, and the shipped rules (failoverd-rules.yml) are loaded;
- a real Alertmanager, running deploy/prometheus/alertmanager.yml with this cluster's
  node and token, delivers a firing alert and then its resolution to /v1/alertmanager
  (the alert is pushed into Alertmanager with POST /api/v2/alerts): the feed's committed
  verdict goes DOWN, then UP again, as failoverctl status shows.

The hand-made webhook payloads stay in it_http_api; here every byte failoverd reads was
written by Prometheus or Alertmanager."""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODES, TOP, wait_for  # noqa: E402
from test_failover import Cluster  # noqa: E402

BASE = int(os.environ.get("FO_IT_BASE", "29900"))
PROMETHEUS = f"127.0.0.1:{BASE + 472}"  # inside the cluster's span, clear of its used ports
ALERTMANAGER = f"127.0.0.1:{BASE + 473}"
FEED_NODE = "us-west-2"  # Alertmanager sends to this node (a follower, mostly)
ALERT_REGION = "eu-west-1"


def http_json(url, body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def stamp(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Monitoring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for prog in ("prometheus", "prometheus-alertmanager"):
            if shutil.which(prog) is None:
                raise unittest.SkipTest(f"{prog} is not installed (deploy/install-deps)")
        cls.c = Cluster(base_port=BASE)
        cls.addClassCleanup(cls.c.down)  # also when starting it fails half way
        cls.c.up_dataplane()
        cls.http = {n: cls.c.env[f"NODE_{n.upper().replace('-', '_')}_HTTP"] for n in NODES}
        cls.work = tempfile.mkdtemp(prefix="fo-it-mon-")
        cls.addClassCleanup(shutil.rmtree, cls.work, True)
        cls.procs = []
        cls.addClassCleanup(cls.stop_all)
        cls.start_prometheus()
        cls.start_alertmanager()

    @classmethod
    def spawn(cls, name, argv):
        log = open(os.path.join(cls.work, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cls.work)
        cls.procs.append((p, log))
        return p

    @classmethod
    def stop_all(cls):
        for p, log in cls.procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()

    @classmethod
    def start_prometheus(cls):
        """The shipped prometheus.yml with this cluster's targets, token and rules; scrape
        and evaluate every second (a test cannot wait 15 s per round)."""
        with open(os.path.join(TOP, "deploy", "prometheus", "prometheus.yml")) as f:
            cfg = yaml.safe_load(f)
        cfg["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
        cfg["rule_files"] = [os.path.join(TOP, "deploy", "prometheus", "failoverd-rules.yml")]
        cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [ALERTMANAGER]
        job = cfg["scrape_configs"][0]
        job["authorization"]["credentials_file"] = os.path.join(cls.c.dir, "tokens", "read.token")
        job["static_configs"][0]["targets"] = [cls.http[n] for n in NODES]
        path = os.path.join(cls.work, "prometheus.yml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        r = subprocess.run(["promtool", "check", "config", path], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        cls.spawn("prometheus", ["prometheus", f"--config.file={path}",
                                 f"--storage.tsdb.path={os.path.join(cls.work, 'tsdb')}",
                                 f"--web.listen-address={PROMETHEUS}"])

    @classmethod
    def start_alertmanager(cls):
        """The shipped alertmanager.yml pointed at FEED_NODE with the alertmanager feed's
        token; groups flushed at once and every second, so a resolution follows quickly."""
        with open(os.path.join(TOP, "deploy", "prometheus", "alertmanager.yml")) as f:
            cfg = yaml.safe_load(f)
        cfg["route"].update(group_wait="0s", group_interval="1s")
        hook = cfg["receivers"][0]["webhook_configs"][0]
        hook["url"] = f"http://{cls.http[FEED_NODE]}/v1/alertmanager"
        hook["http_config"]["authorization"]["credentials_file"] = os.path.join(
            cls.c.dir, "tokens", "alertmanager.token")
        path = os.path.join(cls.work, "alertmanager.yml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        cls.spawn("alertmanager", ["prometheus-alertmanager", f"--config.file={path}",
                                   f"--storage.path={os.path.join(cls.work, 'am')}",
                                   f"--web.listen-address={ALERTMANAGER}",
                                   "--cluster.listen-address="])

    def query(self, promql):
        q = urllib.parse.urlencode({"query": promql})
        doc = http_json(f"http://{PROMETHEUS}/api/v1/query?{q}")
        self.assertEqual(doc["status"], "success", doc)
        return doc["data"]["result"]

    def verdict(self, observer, region):
        for v in self.c.status()["verdicts"]:
            if v["observer"] == observer and v["region"] == region:
                return v
        return None

    def test_1_prometheus_scrapes_every_node(self):
        want = {self.http[n] for n in NODES}

        def all_up():
            doc = http_json(f"http://{PROMETHEUS}/api/v1/targets?state=active")
            ts = {t["labels"]["instance"]: t for t in doc["data"]["activeTargets"]
                  if t["labels"].get("job") == "failoverd"}
            return ts if set(ts) == want and all(t["health"] == "up" for t in ts.values()) else None
        targets = wait_for("Prometheus to scrape every node", all_up, 30, interval=0.5)
        self.assertEqual({t["lastError"] for t in targets.values()}, {""})
        # what it scraped is failoverd's page: one leader, the same primary everywhere
        leaders = wait_for("one leader in Prometheus", lambda: (lambda r: r if r and float(
            r[0]["value"][1]) == 1 else None)(self.query('sum(failoverd_raft_leader{job="failoverd"})')),
            20, interval=0.5)
        self.assertEqual(len(leaders), 1)
        primary = self.query('failoverd_primary{job="failoverd", site="main"} == 1')
        self.assertEqual(len(primary), len(NODES), primary)
        # the shipped rules are loaded and evaluated
        doc = http_json(f"http://{PROMETHEUS}/api/v1/rules")
        names = {r["name"] for g in doc["data"]["groups"] for r in g["rules"]}
        self.assertIn("FailoverdNoLeader", names)
        self.assertIn("FailoverdReplicationLagOverRPO", names)
        self.assertTrue(all(r["health"] != "err" for g in doc["data"]["groups"] for r in g["rules"]),
                        doc)

    def test_2_alertmanager_fires_then_resolves(self):
        self.c.wait_all_up()
        wait_for("Alertmanager to answer", lambda: http_json(f"http://{ALERTMANAGER}/api/v2/status"),
                 20, interval=0.2)
        now = datetime.datetime.now(datetime.timezone.utc)
        alert = {"labels": {"alertname": "PostgresDown", "region": ALERT_REGION,
                            "component": "postgres", "severity": "critical"},
                 "annotations": {"summary": "eu-west-1 Postgres unreachable (it_monitoring)"},
                 "startsAt": stamp(now), "endsAt": stamp(now + datetime.timedelta(minutes=10)),
                 "generatorURL": f"http://{PROMETHEUS}/graph"}
        http_json(f"http://{ALERTMANAGER}/api/v2/alerts", [alert])
        v = wait_for("the alertmanager feed's verdict committed DOWN", lambda: (
            lambda v: v if v and v["status"] == "down" else None)(
                self.verdict("alertmanager", ALERT_REGION)), 20, interval=0.2)
        self.assertIn("unreachable", v["reason"])
        # the feed does not count toward the quorum: no failover
        self.assertEqual(self.c.status()["epoch"], 0)
        # resolve it: endsAt now; Alertmanager sends the resolved notification
        alert["endsAt"] = stamp(datetime.datetime.now(datetime.timezone.utc))
        http_json(f"http://{ALERTMANAGER}/api/v2/alerts", [alert])
        wait_for("the alertmanager feed's verdict committed UP", lambda: (
            lambda v: v if v and v["status"] == "up" else None)(
                self.verdict("alertmanager", ALERT_REGION)), 20, interval=0.2)
        # and failoverctl says the same
        r = self.c.ctl("--json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        vs = [v for v in json.loads(r.stdout)["verdicts"]
              if v["observer"] == "alertmanager" and v["region"] == ALERT_REGION]
        self.assertEqual([v["status"] for v in vs], ["up"], vs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
