#!/usr/bin/env python3
"""Self-test of tests/fakes/fakesaas.py against reference/external-apis.md.

Starts the fake on an ephemeral loopback port and checks each API's happy path and
error envelopes, fault injection, the calls log, reset and the process life cycle.
Standard library only (unittest + urllib.request). Registered in CTest as
`fakes_selftest` (label integration). Waits are polls with deadlines, never bare sleeps.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fakesaas.py")
SEED = os.path.join(HERE, "seed-example.json")

TOKEN = "fake-token-0001"  # from the seed
CLI_TOKEN = "cli-token-9999"  # from --token
TEAM = "team_fakesaas"
ZONE = "023e105f4ecef8ad9ca31a8372d0c353"
ACCOUNT = "01a7362d577a6c3019a474fd6f485823"
API_RECORD = "372e67954025e0ba6aaa6d586b9e0b59"
ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"
HOOK = "/slack/services/T0001/B0001/fakesecret0001"
SP_KEY = "fake-statuspage-key-0001"
SP_PAGE = "pg1fakesaas1"
SP_COMP = "gcvfrw2r8w36"


def wait_for(fn, timeout=5.0, interval=0.02, what="condition"):
    """Poll fn() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode()) if body else None
        except ValueError:
            self.json = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class FakeProcess:
    def __init__(self, extra_args=(), seed=None):
        self.dir = tempfile.TemporaryDirectory(prefix="fakesaas-test-")
        self.port_file = os.path.join(self.dir.name, "port")
        self.state_file = os.path.join(self.dir.name, "state.json")
        self.log_path = os.path.join(self.dir.name, "stderr.log")
        args = [sys.executable, FAKE, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
                "--state-file", self.state_file, "--token", CLI_TOKEN]
        if seed is not None:
            seed_path = os.path.join(self.dir.name, "seed.json")
            with open(seed_path, "w") as f:
                json.dump(seed, f)
            args += ["--seed", seed_path]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args + list(extra_args), stdout=subprocess.DEVNULL, stderr=self.log)

        def port():
            if self.proc.poll() is not None:
                raise AssertionError("fakesaas exited early: %s" % open(self.log_path).read())
            try:
                with open(self.port_file) as f:
                    return int(f.read().strip() or 0)
            except (OSError, ValueError):
                return 0
        self.port = wait_for(port, timeout=10, what="the port file")
        self.base = "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        rc = self.proc.returncode
        self.dir.cleanup()
        return rc

    def req(self, method, path, body=None, headers=None, raw=None, timeout=5):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        r = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(r, timeout=timeout) as resp:
                return Reply(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.headers, e.read())


def seed_for_tests():
    with open(SEED) as f:
        seed = json.load(f)
    seed["vercel"]["durations"] = {"queued": 0.1, "building": 0.1, "alias": 0.1}
    return seed


FAKE_PROC = None


def setUpModule():
    global FAKE_PROC
    FAKE_PROC = FakeProcess(seed=seed_for_tests())


def tearDownModule():
    if FAKE_PROC is not None:
        FAKE_PROC.stop()


class Base(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.f = FAKE_PROC
        r = self.f.req("POST", "/_fake/reset")
        self.assertEqual(r.status, 200, r.text)

    # Vercel helpers
    def v(self, method, path, body=None, token=TOKEN, team=TEAM, **kw):
        sep = "&" if "?" in path else "?"
        if team:
            path += sep + "teamId=" + team
        headers = {"Authorization": "Bearer " + token} if token else {}
        return self.f.req(method, "/vercel" + path, body, headers=headers, **kw)

    def cf(self, method, path, body=None, token=TOKEN, **kw):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return self.f.req(method, "/cloudflare/client/v4" + path, body, headers=headers, **kw)

    def sp(self, method, path, body=None, key=SP_KEY, **kw):
        headers = {"Authorization": "OAuth " + key} if key else {}
        return self.f.req(method, "/statuspage/v1" + path, body, headers=headers, **kw)

    def inject(self, **spec):
        r = self.f.req("POST", "/_fake/inject", spec)
        self.assertEqual(r.status, 200, r.text)
        return r.json["faults"][0]

    def state(self, service=None):
        return self.f.req("GET", "/_fake/state" + ("?service=" + service if service else "")).json

    def env_by_key(self, key, decrypt=True):
        r = self.v("GET", "/v10/projects/app/env" + ("?decrypt=true" if decrypt else ""))
        self.assertEqual(r.status, 200, r.text)
        return next(e for e in r.json["envs"] if e["key"] == key)

    def wait_deployment(self, dep_id, until, timeout=5):
        seen = []

        def poll():
            r = self.v("GET", "/v13/deployments/" + dep_id)
            self.assertEqual(r.status, 200, r.text)
            st = r.json["readyState"]
            if not seen or seen[-1] != st:
                seen.append(st)
            return r.json if until(r.json) else None
        return wait_for(poll, timeout=timeout, what="deployment %s" % dep_id), seen


# ---- Vercel (reference §1) ---------------------------------------------------------------

class VercelTest(Base):
    def test_auth_errors_use_the_error_envelope(self):
        r = self.v("GET", "/v10/projects/app/env", token=None)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json["error"]["code"], "forbidden")
        self.assertIn("message", r.json["error"])
        r = self.v("GET", "/v10/projects/app/env", token="wrong-token")
        self.assertEqual((r.status, r.json["error"]["code"]), (403, "forbidden"))
        r = self.v("GET", "/v10/projects/app/env", team=None)  # team-scoped token needs teamId
        self.assertEqual((r.status, r.json["error"]["code"]), (403, "forbidden"))
        r = self.v("GET", "/v10/projects/app/env", team="team_other")
        self.assertEqual(r.status, 403)
        r = self.f.req("GET", "/vercel/v10/projects/app/env?slug=fakesaas",
                       headers={"Authorization": "Bearer " + CLI_TOKEN})
        self.assertEqual(r.status, 200, r.text)

    def test_not_found_and_method_shapes(self):
        r = self.v("GET", "/v13/deployments/dpl_nope")
        self.assertEqual((r.status, r.json["error"]["code"]), (404, "not_found"))
        r = self.v("GET", "/v10/projects/nope/env")
        self.assertEqual((r.status, r.json["error"]["code"]), (404, "not_found"))
        r = self.v("GET", "/v99/nothing-here")
        self.assertEqual(r.status, 404)
        r = self.v("PUT", "/v10/projects/app/env", {})
        self.assertEqual((r.status, r.json["error"]["code"]), (405, "method_unknown"))

    def test_env_list_hides_encrypted_values_unless_decrypt(self):
        r = self.v("GET", "/v10/projects/app/env")
        self.assertEqual(r.status, 200)
        self.assertIn("pagination", r.json)
        db = next(e for e in r.json["envs"] if e["key"] == "DATABASE_URL")
        self.assertEqual(db["type"], "encrypted")
        self.assertFalse(db["decrypted"])
        self.assertNotEqual(db["value"], "postgresql://app@pg-main:5432/app")
        for f in ("id", "key", "type", "target", "gitBranch", "createdAt", "updatedAt"):
            self.assertIn(f, db)
        db = self.env_by_key("DATABASE_URL", decrypt=True)
        self.assertEqual(db["value"], "postgresql://app@pg-main:5432/app")
        # The TF provider's form: /v8 ... ?decrypt=true&limit=100, paginated with until.
        r = self.v("GET", "/v8/projects/prj_app/env?decrypt=true&limit=2")
        self.assertEqual((r.status, len(r.json["envs"])), (200, 2))
        nxt = r.json["pagination"]["next"]
        self.assertIsNotNone(nxt)
        r = self.v("GET", "/v8/projects/prj_app/env?decrypt=true&limit=2&until=%d" % nxt)
        self.assertEqual(len(r.json["envs"]), 1)
        self.assertIsNone(r.json["pagination"]["next"])

    def test_env_create_conflict_then_upsert(self):
        body = {"key": "DATABASE_URL", "value": "postgresql://app@pg-dr:5432/app",
                "type": "encrypted", "target": ["production"]}
        r = self.v("POST", "/v10/projects/app/env", body)
        self.assertEqual(r.status, 400, r.text)
        err = r.json["error"]
        self.assertEqual(err["code"], "ENV_CONFLICT")
        self.assertEqual(err["envVarKey"], "DATABASE_URL")
        self.assertEqual(err["target"], ["production"])
        self.assertIsNone(err["gitBranch"])
        before = self.env_by_key("DATABASE_URL")
        r = self.v("POST", "/v10/projects/app/env?upsert=true", body)
        self.assertEqual(r.status, 201, r.text)
        self.assertEqual(r.json["failed"], [])
        self.assertEqual(r.json["created"]["id"], before["id"])  # updated in place
        self.assertEqual(self.env_by_key("DATABASE_URL")["value"], "postgresql://app@pg-dr:5432/app")
        r = self.v("POST", "/v10/projects/app/env?upsert=true", body)  # idempotent
        self.assertEqual(r.status, 201)
        # Arrays: created is an array, conflicts land in failed[] with a 201.
        r = self.v("POST", "/v10/projects/app/env", [
            {"key": "NEW_ONE", "value": "1", "type": "plain", "target": ["production"]},
            {"key": "REDIS_HOST", "value": "redis-dr", "type": "plain", "target": ["production"]}])
        self.assertEqual(r.status, 201, r.text)
        self.assertIsInstance(r.json["created"], list)
        self.assertEqual([c["key"] for c in r.json["created"]], ["NEW_ONE"])
        self.assertEqual(r.json["failed"][0]["error"]["code"], "ENV_CONFLICT")
        self.assertEqual(r.json["failed"][0]["error"]["envVarKey"], "REDIS_HOST")
        # Same key and target on another git branch is not a conflict (key, target, gitBranch).
        r = self.v("POST", "/v10/projects/app/env", {"key": "REDIS_HOST", "value": "redis-feature",
                                                    "type": "plain", "target": ["preview"],
                                                    "gitBranch": "feature-x"})
        self.assertEqual(r.status, 201, r.text)
        # Same key for another target is not a conflict.
        r = self.v("POST", "/v10/projects/app/env",
                   {"key": "DATABASE_URL", "value": "x", "type": "plain", "target": ["development"]})
        self.assertEqual(r.status, 201, r.text)

    def test_env_validation(self):
        r = self.v("POST", "/v10/projects/app/env", {"key": "A", "value": "b", "target": ["production"]})
        self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_request"))
        r = self.v("POST", "/v10/projects/app/env",
                   {"key": "A", "value": "b", "type": "plain", "target": ["prod"]})
        self.assertEqual(r.status, 400)
        r = self.v("POST", "/v10/projects/app/env", raw=b"{not json")
        self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_request"))
        r = self.v("POST", "/v10/projects/app/env",
                   {"key": "A", "value": "b", "type": "plain", "target": ["production"], "gitBranch": "x"})
        self.assertEqual(r.status, 400)

    def test_env_edit_and_delete(self):
        db = self.env_by_key("DATABASE_URL")
        r = self.v("PATCH", "/v9/projects/app/env/" + db["id"], {"value": "postgresql://edited"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["id"], db["id"])
        self.assertNotEqual(r.json["value"], "postgresql://edited")  # returned encrypted
        self.assertEqual(self.env_by_key("DATABASE_URL")["value"], "postgresql://edited")
        r = self.v("PATCH", "/v10/projects/app/env/env_missing", {"value": "x"})
        self.assertEqual((r.status, r.json["error"]["code"]), (404, "not_found"))
        r = self.v("DELETE", "/v9/projects/app/env/" + db["id"])
        self.assertEqual((r.status, r.json["key"]), (200, "DATABASE_URL"))
        r = self.v("DELETE", "/v8/projects/app/env/" + db["id"])
        self.assertEqual(r.status, 404)

    def redeploy(self, op, force=True, source="dpl_seedprod"):
        body = {"name": "app", "deploymentId": source, "target": "production",
                "meta": {"action": "redeploy", "failoverd_op": op}}
        return self.v("POST", "/v13/deployments" + ("?forceNew=1" if force else ""), body)

    def test_redeploy_walks_states_and_assigns_alias(self):
        self.v("POST", "/v10/projects/app/env?upsert=true",
               {"key": "DATABASE_URL", "value": "postgresql://dr", "type": "encrypted",
                "target": ["production"]})
        r = self.redeploy("op-42")
        self.assertEqual(r.status, 200, r.text)
        d = r.json
        self.assertEqual((d["readyState"], d["target"], d["aliasAssigned"]), ("QUEUED", "production", False))
        self.assertNotEqual(d["id"], "dpl_seedprod")
        for f in ("id", "url", "inspectorUrl"):
            self.assertTrue(d[f])
        final, seen = self.wait_deployment(d["id"], lambda j: j["aliasAssigned"])
        order = ["QUEUED", "BUILDING", "READY"]
        self.assertEqual(seen, [s for s in order if s in seen], "states out of order: %s" % seen)
        self.assertEqual(seen[-1], "READY")
        self.assertIsNone(final["aliasError"])
        self.assertIn("app.example.com", final["alias"])
        self.assertEqual(final["readySubstate"], "PROMOTED")
        self.assertIsNotNone(final["ready"])
        self.assertEqual(final["meta"]["failoverd_op"], "op-42")
        # A redeploy inherits the environment of the deployment it copies (Vercel's SDK):
        # the value changed since does not reach it.
        st = self.state("vercel")["vercel"]
        dep = next(x for x in st["deployments"] if x["id"] == d["id"])
        self.assertIn({"key": "DATABASE_URL", "value": "postgresql://app@pg-main:5432/app"},
                      [{"key": e["key"], "value": e["value"]} for e in dep["env"]])
        # The app's health endpoint at the new deployment's host says so.
        r = self.f.req("GET", "/vercel/_app/%s/api/health" % d["url"])
        self.assertEqual((r.status, r.json["database_host"], r.json["redis_host"]),
                         (200, "pg-main", "redis-main"))
        proj = self.v("GET", "/v9/projects/app").json
        self.assertEqual(proj["targets"]["production"]["id"], d["id"])
        old = self.v("GET", "/v13/deployments/dpl_seedprod").json
        self.assertNotIn("app.example.com", old["alias"])
        r = self.v("GET", "/v2/deployments/%s/aliases" % d["id"])
        self.assertEqual([a["alias"] for a in r.json["aliases"]], ["app.example.com"])
        # Lookup by URL works too.
        self.assertEqual(self.v("GET", "/v13/deployments/" + final["url"]).json["id"], d["id"])

    def test_list_deployments_by_meta_state_and_pages(self):
        a = self.redeploy("op-A").json["id"]
        b = self.redeploy("op-B").json["id"]
        r = self.v("GET", "/v6/deployments?projectId=app&meta-failoverd_op=op-A")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([x["uid"] for x in r.json["deployments"]], [a])
        item = r.json["deployments"][0]
        for f in ("uid", "url", "state", "created", "meta", "target", "inspectorUrl"):
            self.assertIn(f, item)
        r = self.v("GET", "/v6/deployments?projectId=prj_app&target=production&limit=1")
        self.assertEqual([x["uid"] for x in r.json["deployments"]], [b])
        nxt = r.json["pagination"]["next"]
        r = self.v("GET", "/v6/deployments?projectId=prj_app&target=production&limit=1&until=%d" % nxt)
        self.assertEqual([x["uid"] for x in r.json["deployments"]], [a])
        self.wait_deployment(b, lambda j: j["aliasAssigned"])
        r = self.v("GET", "/v6/deployments?projectId=app&state=READY,ERROR")
        self.assertIn(b, [x["uid"] for x in r.json["deployments"]])

    def test_without_forceNew_a_similar_deployment_is_reused(self):
        r = self.redeploy("op-dedup", force=False)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["id"], "dpl_seedprod")
        r = self.redeploy("op-dedup", force=True)
        self.assertNotEqual(r.json["id"], "dpl_seedprod")

    def test_create_deployment_validation(self):
        r = self.v("POST", "/v13/deployments?forceNew=1", {"deploymentId": "dpl_seedprod"})
        self.assertEqual((r.status, r.json["error"]["code"]), (400, "bad_request"))
        r = self.v("POST", "/v13/deployments?forceNew=1", {"name": "app", "deploymentId": "dpl_gone"})
        self.assertEqual((r.status, r.json["error"]["code"]), (404, "not_found"))
        r = self.v("POST", "/v13/deployments?forceNew=1",
                   {"name": "app", "deploymentId": "dpl_seedprod", "meta": {"n": 1}})
        self.assertEqual(r.status, 400)

    def test_injected_deployment_error_and_alias_error(self):
        self.inject(service="vercel", deployment="ERROR", error_code="BUILD_UTILS_SPAWN_1",
                    error_message="npm run build exited with 1")
        d = self.redeploy("op-err").json
        final, seen = self.wait_deployment(d["id"], lambda j: j["readyState"] in ("ERROR", "READY"))
        self.assertEqual(final["readyState"], "ERROR")
        self.assertEqual(final["errorCode"], "BUILD_UTILS_SPAWN_1")
        self.assertEqual(final["errorMessage"], "npm run build exited with 1")
        self.assertFalse(final["aliasAssigned"])
        self.assertNotIn("ERROR", seen[:-1])
        self.assertEqual(self.f.req("GET", "/_fake/inject").json["faults"], [])  # consumed
        proj = self.v("GET", "/v9/projects/app").json
        self.assertEqual(proj["targets"]["production"]["id"], "dpl_seedprod")
        # An alias failure: READY, but not serving production.
        self.inject(service="vercel", alias_error={"code": "cert_missing", "message": "no cert"})
        d = self.redeploy("op-alias").json
        final, _ = self.wait_deployment(d["id"], lambda j: j["aliasError"] is not None)
        self.assertEqual(final["readyState"], "READY")
        self.assertFalse(final["aliasAssigned"])
        self.assertEqual(final["aliasError"]["code"], "cert_missing")
        # The next one is healthy again.
        d = self.redeploy("op-ok").json
        final, _ = self.wait_deployment(d["id"], lambda j: j["aliasAssigned"])
        self.assertEqual(final["readyState"], "READY")

    def test_injected_429_has_retry_after_and_rate_limited_body(self):
        self.inject(service="vercel", path=r"/deployments$", method="POST", status=429,
                    retry_after=2, count=2)
        for _ in range(2):
            r = self.redeploy("op-429")
            self.assertEqual(r.status, 429)
            self.assertEqual(r.headers["Retry-After"], "2")
            self.assertEqual(r.json["error"]["code"], "rate_limited")
            self.assertIn("reset", r.json["error"]["limit"])
        self.assertEqual(self.redeploy("op-429").status, 200)
        calls = self.f.req("GET", "/_fake/calls?service=vercel").json["calls"]
        self.assertEqual([c["status"] for c in calls], [429, 429, 200])
        self.assertTrue(calls[0]["fault"])

    def test_injected_5xx(self):
        self.inject(service="vercel", status=503)
        r = self.v("GET", "/v13/deployments/dpl_seedprod")
        self.assertEqual(r.status, 503)
        self.assertIn("code", r.json["error"])
        self.inject(service="vercel", status=500)
        r = self.v("GET", "/v13/deployments/dpl_seedprod")
        self.assertEqual((r.status, r.json["error"]["code"]), (500, "internal_server_error"))
        self.assertEqual(self.v("GET", "/v13/deployments/dpl_seedprod").status, 200)

    def test_promote_returns_202_and_finishes(self):
        d = self.redeploy("op-p").json
        self.wait_deployment(d["id"], lambda j: j["aliasAssigned"])
        r = self.v("POST", "/v10/projects/prj_app/promote/dpl_seedprod", {})
        self.assertEqual((r.status, r.body), (202, b""))
        lar = self.v("GET", "/v9/projects/app").json["lastAliasRequest"]
        self.assertEqual((lar["type"], lar["toDeploymentId"]), ("promote", "dpl_seedprod"))
        wait_for(lambda: self.v("GET", "/v9/projects/app").json["lastAliasRequest"]["jobStatus"]
                 == "succeeded", what="promote to finish")
        self.assertEqual(self.v("GET", "/v9/projects/app").json["targets"]["production"]["id"],
                         "dpl_seedprod")


# ---- Cloudflare (reference §2) ------------------------------------------------------------

class CloudflareTest(Base):
    def assertEnvelopeError(self, r, status, code):
        self.assertEqual(r.status, status, r.text)
        self.assertEqual(set(r.json), {"success", "errors", "messages", "result"})
        self.assertIs(r.json["success"], False)
        self.assertIn(code, [e["code"] for e in r.json["errors"]])

    def test_auth(self):
        self.assertEnvelopeError(self.cf("GET", "/zones/%s/dns_records" % ZONE, token=None), 403, 10000)
        self.assertEnvelopeError(self.cf("GET", "/zones/%s/dns_records" % ZONE, token="bad"), 403, 10000)
        r = self.f.req("GET", "/cloudflare/client/v4/zones/%s/dns_records" % ZONE,
                       headers={"X-Auth-Email": "ops@example.com", "X-Auth-Key": TOKEN})
        self.assertEqual(r.status, 200)
        r = self.cf("GET", "/user/tokens/verify")
        self.assertEqual(r.json["result"]["status"], "active")

    def test_list_filters_and_result_info(self):
        r = self.cf("GET", "/zones/%s/dns_records?type=A&name=api.example.com" % ZONE)
        self.assertEqual(r.status, 200)
        self.assertIs(r.json["success"], True)
        self.assertEqual((r.json["errors"], r.json["messages"]), ([], []))
        self.assertEqual([x["id"] for x in r.json["result"]], [API_RECORD])
        self.assertEqual(r.json["result_info"]["total_count"], 1)
        for f in ("id", "name", "type", "content", "proxiable", "proxied", "ttl", "created_on", "modified_on"):
            self.assertIn(f, r.json["result"][0])
        r = self.cf("GET", "/zones/%s/dns_records?name.exact=API.example.com" % ZONE)
        self.assertEqual(len(r.json["result"]), 1)
        r = self.cf("GET", "/zones/%s/dns_records?name.endswith=example.com" % ZONE)
        self.assertEqual(r.json["result_info"]["count"], 2)
        r = self.cf("GET", "/zones/%s/dns_records?type=AAAA" % ZONE)
        self.assertEqual(r.json["result"], [])
        r = self.cf("GET", "/zones/%s/dns_records?per_page=1&page=2" % ZONE)
        self.assertEqual((r.json["result_info"]["total_pages"], len(r.json["result"])), (2, 1))
        # The bare real path (base URL http://host:port/client/v4) works as well.
        r = self.f.req("GET", "/client/v4/zones/%s/dns_records/%s" % (ZONE, API_RECORD),
                       headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(r.json["result"]["content"], "203.0.113.10")

    def test_patch_merges_put_replaces(self):
        path = "/zones/%s/dns_records/%s" % (ZONE, API_RECORD)
        r = self.cf("PATCH", path, {"content": "203.0.113.30"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.json["result"]["content"], r.json["result"]["proxied"]), ("203.0.113.30", True))
        self.assertEqual(self.cf("GET", path).json["result"]["content"], "203.0.113.30")
        self.assertEnvelopeError(self.cf("PUT", path, {"name": "api", "type": "A", "content": "203.0.113.9"}),
                                 400, 1004)  # PUT needs ttl
        r = self.cf("PUT", path, {"name": "api", "type": "A", "content": "203.0.113.9", "ttl": 60})
        self.assertEqual(r.status, 200, r.text)
        res = r.json["result"]
        self.assertEqual((res["name"], res["content"], res["ttl"], res["proxied"]),
                         ("api.example.com", "203.0.113.9", 60, False))
        self.assertEnvelopeError(self.cf("PATCH", path, {"ttl": 5}), 400, 9021)
        self.assertEnvelopeError(self.cf("PATCH", path, {"content": "not-an-ip"}), 400, 9005)
        self.assertEnvelopeError(self.cf("PATCH", path, raw=b"{"), 400, 6007)
        self.assertEnvelopeError(self.cf("PATCH", "/zones/%s/dns_records/%s" % (ZONE, "0" * 32),
                                         {"content": "203.0.113.9"}), 404, 81044)
        self.assertEnvelopeError(self.cf("GET", "/zones/%s/dns_records" % ("f" * 32)), 400, 7003)
        self.assertEnvelopeError(self.cf("GET", "/zones/%s/nothing" % ZONE), 400, 7000)

    def test_pools(self):
        path = "/accounts/%s/load_balancers/pools/pool-dr" % ACCOUNT
        r = self.cf("GET", path)
        self.assertEqual((r.status, r.json["result"]["enabled"]), (200, False))
        r = self.cf("PATCH", path, {"enabled": True})
        self.assertEqual((r.status, r.json["result"]["enabled"]), (200, True))
        self.assertEqual(len(r.json["result"]["origins"]), 1)
        r = self.cf("PATCH", path, {"origins": [{"name": "a", "address": "192.0.2.1"},
                                                {"name": "b", "address": "192.0.2.2", "enabled": False}]})
        self.assertEqual([o["name"] for o in r.json["result"]["origins"]], ["a", "b"])
        r = self.cf("PATCH", path, {"origins": [{"name": "c", "address": "192.0.2.3"}]})
        self.assertEqual([o["name"] for o in r.json["result"]["origins"]], ["c"])  # whole list replaced
        self.assertEnvelopeError(self.cf("PATCH", path, {"enabled": "yes"}), 400, 1002)
        self.assertEnvelopeError(self.cf("GET", "/accounts/%s/load_balancers/pools/nope" % ACCOUNT), 404, 1002)
        r = self.cf("GET", "/accounts/%s/load_balancers/pools" % ACCOUNT)
        self.assertEqual(r.json["result_info"]["count"], 2)
        r = self.cf("PATCH", "/zones/%s/load_balancers/699d98642c564d2e855e9661899b7252" % ZONE,
                    {"default_pools": ["pool-dr", "pool-main"], "fallback_pool": "pool-main"})
        self.assertEqual(r.json["result"]["default_pools"], ["pool-dr", "pool-main"])
        r = self.cf("POST", "/zones/%s/purge_cache" % ZONE, {"purge_everything": True})
        self.assertTrue(r.json["result"]["id"])
        st = self.state("cloudflare")["cloudflare"]
        pool = next(p for p in st["accounts"][0]["pools"] if p["id"] == "pool-dr")
        self.assertEqual(pool["enabled"], True)

    def test_rate_limit_blocks_with_retry_after(self):
        seed = seed_for_tests()["cloudflare"]
        seed["rate_limit"] = {"requests": 3, "window": 60}
        self.assertEqual(self.f.req("POST", "/_fake/seed", {"cloudflare": seed}).status, 200)
        try:
            for _ in range(3):
                r = self.cf("GET", "/zones/%s/dns_records" % ZONE)
                self.assertEqual(r.status, 200)
            self.assertIn('"default";r=0', r.headers["Ratelimit"])
            r = self.cf("GET", "/zones/%s/dns_records" % ZONE)
            self.assertEnvelopeError(r, 429, 971)
            self.assertGreaterEqual(int(r.headers["retry-after"]), 59)
            r = self.cf("GET", "/zones/%s/dns_records/%s" % (ZONE, API_RECORD))  # everything blocked
            self.assertEqual(r.status, 429)
        finally:
            self.f.req("POST", "/_fake/seed", {"cloudflare": seed_for_tests()["cloudflare"]})

    def test_injected_faults_use_the_envelope(self):
        self.inject(service="cloudflare", path="dns_records", status=429, retry_after=3)
        r = self.cf("GET", "/zones/%s/dns_records" % ZONE)
        self.assertEnvelopeError(r, 429, 971)
        self.assertEqual(r.headers["retry-after"], "3")
        self.inject(service="cloudflare", status=502)
        r = self.cf("GET", "/zones/%s/dns_records" % ZONE)
        self.assertEqual((r.status, r.json["success"]), (502, False))


# ---- Slack, PagerDuty, Statuspage (reference §6) ----------------------------------------------

    def test_zone_plan_sets_the_ttl_floor_and_names_are_complete(self):
        r = self.cf("GET", "/zones/%s" % ZONE)
        self.assertEqual((r.json["result"]["name"], r.json["result"]["plan"]["legacy_id"]),
                         ("example.com", "free"))
        path = "/zones/%s/dns_records/%s" % (ZONE, API_RECORD)
        self.assertEnvelopeError(self.cf("PATCH", path, {"ttl": 30}), 400, 9021)
        self.assertEqual(self.cf("PATCH", path, {"ttl": 60}).status, 200)
        # A filter's name is complete: "api" finds nothing.
        r = self.cf("GET", "/zones/%s/dns_records?type=A&name.exact=api" % ZONE)
        self.assertEqual(r.json["result"], [])
        st = self.state("cloudflare")["cloudflare"]
        st["zones"][0]["plan"] = "enterprise"
        self.assertEqual(self.f.req("POST", "/_fake/seed?baseline=0", {"cloudflare": st}).status, 200)
        self.assertEqual(self.cf("PATCH", path, {"ttl": 30}).status, 200)
        self.f.req("POST", "/_fake/reset")
        self.assertEqual(self.cf("GET", "/zones/%s" % ZONE).json["result"]["plan"]["legacy_id"], "free")


class NotifyTest(Base):
    def test_slack_renders_control_sequences(self):
        r = self.f.req("POST", HOOK, {"text": "a < b &amp; <!channel> <https://x.example|x>"})
        self.assertEqual(r.status, 200)
        m = self.state("slack")["slack"]["messages"][-1]
        self.assertEqual(m["rendered"], "a < b & @channel x")
        self.assertEqual(m["controls"], ["!channel", "https://x.example|x"])

    def test_statuspage_pages_and_name_limit(self):
        r = self.sp("POST", "/pages/%s/incidents" % SP_PAGE, {"incident": {"name": "x" * 256}})
        self.assertEqual(r.status, 422)
        for i in range(3):
            r = self.sp("POST", "/pages/%s/incidents" % SP_PAGE, {"incident": {"name": "inc %d" % i}})
            self.assertEqual(r.status, 201)
        r = self.sp("GET", "/pages/%s/incidents/unresolved?per_page=2" % SP_PAGE)
        self.assertEqual([i["name"] for i in r.json], ["inc 2", "inc 1"])
        r = self.sp("GET", "/pages/%s/incidents/unresolved?per_page=2&page=2" % SP_PAGE)
        self.assertEqual([i["name"] for i in r.json], ["inc 0"])
        r = self.sp("GET", "/pages/%s/incidents/unresolved?per_page=101" % SP_PAGE)
        self.assertEqual(r.status, 400)

    def test_slack_webhook(self):
        r = self.f.req("POST", HOOK, {"text": "Failover eu→us complete (epoch 7)"})
        self.assertEqual((r.status, r.text), (200, "ok"))
        r = self.f.req("POST", HOOK, {"blocks": "nope"})
        self.assertEqual((r.status, r.text), (400, "invalid_blocks"))
        r = self.f.req("POST", HOOK, raw=b"not json")
        self.assertEqual((r.status, r.text), (400, "invalid_payload"))
        r = self.f.req("POST", HOOK, {"username": "no text"})
        self.assertEqual((r.status, r.text), (400, "invalid_payload"))
        r = self.f.req("POST", "/slack/services/T0001/B0002/archived0002", {"text": "x"})
        self.assertEqual((r.status, r.text), (410, "channel_is_archived"))
        r = self.f.req("POST", "/services/T0001/B0009/unknown", {"text": "x"})  # bare path
        self.assertEqual((r.status, r.text), (404, "no_service"))
        self.inject(service="slack", status=429, retry_after=1)
        r = self.f.req("POST", HOOK, {"text": "x"})
        self.assertEqual((r.status, r.headers["Retry-After"]), (429, "1"))
        msgs = self.state("slack")["slack"]["messages"]
        self.assertEqual([m["text"] for m in msgs], ["Failover eu→us complete (epoch 7)"])

    def test_pagerduty_trigger_dedup_resolve(self):
        ev = {"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": "failover/op-42",
              "payload": {"summary": "Failover eu→us started", "source": "failoverd-eu-1",
                          "severity": "critical", "custom_details": {"epoch": 7}},
              "client": "failoverd"}
        r = self.f.req("POST", "/pagerduty/v2/enqueue", ev)
        self.assertEqual(r.status, 202)
        self.assertEqual(r.json, {"status": "success", "message": "Event processed",
                                  "dedup_key": "failover/op-42"})
        self.assertEqual(self.f.req("POST", "/v2/enqueue", ev).status, 202)  # bare path, deduplicated
        r = self.f.req("POST", "/pagerduty/v2/enqueue", {"routing_key": ROUTING_KEY,
                                                         "event_action": "resolve",
                                                         "dedup_key": "failover/op-42"})
        self.assertEqual(r.status, 202)
        st = self.state("pagerduty")["pagerduty"]
        self.assertEqual(len(st["alerts"]), 1)
        self.assertEqual(st["alerts"][0]["status"], "resolved")
        self.assertEqual([e["outcome"] for e in st["events"]], ["opened", "deduplicated", "resolved"])
        r = self.f.req("POST", "/pagerduty/v2/enqueue", ev)  # after resolve: a new alert
        self.assertEqual(r.status, 202)
        st = self.state("pagerduty")["pagerduty"]
        self.assertEqual([a["status"] for a in st["alerts"]], ["resolved", "triggered"])
        r = self.f.req("POST", "/pagerduty/v2/enqueue", dict(ev, dedup_key=None))
        self.assertEqual(r.status, 202)
        self.assertEqual(len(r.json["dedup_key"]), 32)

    def test_pagerduty_invalid_events(self):
        r = self.f.req("POST", "/pagerduty/v2/enqueue", {"routing_key": ROUTING_KEY, "event_action": "trigger",
                                                         "payload": {"source": "x", "severity": "bad"}})
        self.assertEqual(r.status, 400)
        self.assertEqual((r.json["status"], r.json["message"]), ("invalid event", "Event object is invalid"))
        self.assertEqual(len(r.json["errors"]), 2)
        r = self.f.req("POST", "/pagerduty/v2/enqueue", raw=b"{oops")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json, {"status": "Unrecognized object",
                                  "message": "Event object format is unrecognized",
                                  "errors": ["JSON parse error"]})
        r = self.f.req("POST", "/pagerduty/v2/enqueue", {"routing_key": "short", "event_action": "resolve",
                                                         "dedup_key": "k"})
        self.assertEqual(r.status, 400)
        r = self.f.req("POST", "/pagerduty/v2/enqueue", {"routing_key": ROUTING_KEY,
                                                         "event_action": "acknowledge"})
        self.assertEqual(r.status, 400)  # ack needs dedup_key

    def test_statuspage_incident_lifecycle(self):
        body = {"incident": {"name": "Database failover to us-east", "status": "investigating",
                             "impact_override": "major", "body": "We are moving traffic…",
                             "component_ids": [SP_COMP], "components": {SP_COMP: "partial_outage"},
                             "deliver_notifications": True}}
        r = self.sp("POST", "/pages/%s/incidents" % SP_PAGE, body)
        self.assertEqual(r.status, 201, r.text)
        inc = r.json
        for f in ("id", "name", "status", "impact", "shortlink", "incident_updates", "components",
                  "created_at", "resolved_at", "page_id"):
            self.assertIn(f, inc)
        self.assertEqual((inc["status"], inc["impact"], inc["page_id"]), ("investigating", "major", SP_PAGE))
        self.assertEqual(inc["components"][0]["status"], "partial_outage")
        r = self.f.req("PATCH", "/statuspage/v1/pages/%s/incidents/%s?api_key=%s" % (SP_PAGE, inc["id"], SP_KEY),
                       {"incident": {"status": "resolved", "body": "Done.", "components": {SP_COMP: "operational"}}})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json["status"], "resolved")
        self.assertIsNotNone(r.json["resolved_at"])
        self.assertEqual(r.json["incident_updates"][0]["body"], "Done.")
        self.assertEqual(len(r.json["incident_updates"]), 2)
        r = self.sp("PATCH", "/pages/%s/components/%s" % (SP_PAGE, SP_COMP), {"component": {"status": "major_outage"}})
        self.assertEqual((r.status, r.json["status"]), (200, "major_outage"))

    def test_statuspage_errors(self):
        r = self.sp("POST", "/pages/%s/incidents" % SP_PAGE, {"incident": {"name": "x"}}, key=None)
        self.assertEqual(r.status, 401)
        self.assertIn("message", r.json)
        r = self.f.req("POST", "/statuspage/v1/pages/%s/incidents" % SP_PAGE, {"incident": {"name": "x"}},
                       headers={"Authorization": "Bearer " + SP_KEY})
        self.assertEqual(r.status, 401)  # OAuth scheme, not Bearer
        r = self.sp("POST", "/pages/%s/incidents" % SP_PAGE, {"incident": {"status": "investigating"}})
        self.assertEqual(r.status, 422)
        r = self.sp("POST", "/pages/%s/incidents" % SP_PAGE, {"name": "no wrapper"})
        self.assertEqual(r.status, 400)
        r = self.sp("PATCH", "/pages/%s/incidents/nope" % SP_PAGE, {"incident": {"status": "resolved"}})
        self.assertEqual((r.status, set(r.json)), (404, {"message"}))
        r = self.sp("POST", "/pages/otherpage/incidents", {"incident": {"name": "x"}})
        self.assertEqual(r.status, 404)
        self.inject(service="statuspage", status=420)
        r = self.sp("POST", "/pages/%s/incidents" % SP_PAGE, {"incident": {"name": "x"}})
        self.assertEqual((r.status, r.headers["Retry-After"]), (420, "1"))


# ---- controls ---------------------------------------------------------------------------------

class ControlTest(Base):
    def test_calls_log_records_in_order_with_redaction(self):
        self.v("GET", "/v10/projects/app/env")
        self.f.req("POST", HOOK, {"text": "hello"})
        self.sp("GET", "/pages/%s/incidents" % SP_PAGE)
        r = self.f.req("GET", "/_fake/calls")
        calls = r.json["calls"]
        self.assertEqual([c["service"] for c in calls], ["vercel", "slack", "statuspage"])
        self.assertEqual([c["seq"] for c in calls], sorted(c["seq"] for c in calls))
        v = calls[0]
        self.assertEqual((v["method"], v["path"], v["api_path"], v["status"]),
                         ("GET", "/vercel/v10/projects/app/env", "/v10/projects/app/env", 200))
        self.assertEqual(v["query"], {"teamId": TEAM})
        self.assertEqual(v["headers"]["authorization"], "Bearer ****0001")
        self.assertNotIn(TOKEN, json.dumps(calls))
        self.assertEqual(calls[1]["body"], {"text": "hello"})
        self.assertEqual(calls[2]["headers"]["authorization"], "OAuth ****0001")
        self.assertIsInstance(v["time"], float)
        only = self.f.req("GET", "/_fake/calls?service=slack").json["calls"]
        self.assertEqual([c["service"] for c in only], ["slack"])
        later = self.f.req("GET", "/_fake/calls?since=%d" % calls[1]["seq"]).json["calls"]
        self.assertEqual([c["service"] for c in later], ["statuspage"])

    def test_reset_restores_seed_and_clears_calls_and_faults(self):
        self.v("POST", "/v10/projects/app/env?upsert=true",
               {"key": "DATABASE_URL", "value": "changed", "type": "encrypted", "target": ["production"]})
        self.cf("PATCH", "/zones/%s/dns_records/%s" % (ZONE, API_RECORD), {"content": "198.51.100.1"})
        self.inject(service="vercel", status=500, count=5)
        r = self.f.req("POST", "/_fake/reset")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.f.req("GET", "/_fake/calls").json["calls"], [])
        self.assertEqual(self.f.req("GET", "/_fake/inject").json["faults"], [])
        self.assertEqual(self.env_by_key("DATABASE_URL")["value"], "postgresql://app@pg-main:5432/app")
        rec = self.cf("GET", "/zones/%s/dns_records/%s" % (ZONE, API_RECORD)).json["result"]
        self.assertEqual(rec["content"], "203.0.113.10")

    def test_state_shows_every_service(self):
        st = self.state()
        for name in ("vercel", "cloudflare", "slack", "pagerduty", "statuspage"):
            self.assertIn(name, st)
        self.assertEqual(st["vercel"]["projects"][0]["production"], "dpl_seedprod")
        self.assertNotIn(TOKEN, json.dumps(st))

    def test_seed_replaces_only_the_sections_given(self):
        r = self.f.req("POST", "/_fake/seed", {"slack": {"webhooks": ["/services/T9/B9/new"]}})
        self.assertEqual(r.status, 200, r.text)
        try:
            self.assertEqual(self.f.req("POST", "/slack/services/T9/B9/new", {"text": "x"}).status, 200)
            self.assertEqual(self.f.req("POST", HOOK, {"text": "x"}).status, 404)
            self.assertEqual(self.v("GET", "/v13/deployments/dpl_seedprod").status, 200)  # untouched
        finally:
            self.f.req("POST", "/_fake/seed", {"slack": seed_for_tests()["slack"]})
        r = self.f.req("POST", "/_fake/seed", {"nope": {}})
        self.assertEqual(r.status, 400)

    def test_state_round_trips_through_seed(self):
        d = self.v("POST", "/v13/deployments?forceNew=1",
                   {"name": "app", "deploymentId": "dpl_seedprod", "target": "production"}).json
        self.f.req("POST", "/pagerduty/v2/enqueue",
                   {"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": "k1",
                    "payload": {"summary": "s", "source": "x", "severity": "info"}})
        st = self.state()
        r = self.f.req("POST", "/_fake/seed", st)
        self.assertEqual(r.status, 200, r.text)
        try:
            self.wait_deployment(d["id"], lambda j: j["aliasAssigned"])  # still progresses
            self.assertEqual(self.state("pagerduty")["pagerduty"]["alerts"][0]["dedup_key"], "k1")
            self.assertEqual(self.env_by_key("DATABASE_URL")["value"], "postgresql://app@pg-main:5432/app")
        finally:
            self.f.req("POST", "/_fake/seed", seed_for_tests())

    def test_delay_makes_a_client_time_out(self):
        self.inject(service="vercel", delay=1.0)
        t0 = time.monotonic()
        with self.assertRaises((socket.timeout, urllib.error.URLError, TimeoutError)):
            self.v("GET", "/v13/deployments/dpl_seedprod", timeout=0.3)
        self.assertLess(time.monotonic() - t0, 0.9)
        r = self.v("GET", "/v13/deployments/dpl_seedprod")  # fault used up
        self.assertEqual(r.status, 200)
        calls = wait_for(lambda: [c for c in self.f.req("GET", "/_fake/calls?service=vercel").json["calls"]
                                  if c["fault"]], what="the delayed call in the log")
        self.assertEqual(len(calls), 1)

    def test_close_drops_the_connection(self):
        self.inject(service="pagerduty", close=True)
        with self.assertRaises((ConnectionError, http.client.HTTPException, urllib.error.URLError)):
            self.f.req("POST", "/pagerduty/v2/enqueue", {"routing_key": ROUTING_KEY})

    def test_inject_rejects_bad_specs(self):
        for spec in ({"service": "nope", "status": 500}, {"status": 200}, {"service": "vercel"},
                     {"path": "(", "status": 500}, {"status": 500, "count": 0}, {"bogus": 1, "status": 500},
                     {"service": "slack", "deployment": "ERROR"}):
            r = self.f.req("POST", "/_fake/inject", spec)
            self.assertEqual(r.status, 400, spec)
        r = self.f.req("POST", "/_fake/inject", {"faults": [{"service": "slack", "status": 500},
                                                            {"service": "pagerduty", "status": 503, "count": -1}]})
        self.assertEqual((r.status, len(r.json["faults"])), (200, 2))

    def test_body_limit_413(self):
        r = self.v("POST", "/v10/projects/app/env", raw=b"x" * ((1 << 20) + 1))
        self.assertEqual(r.status, 413)
        self.assertIn("code", r.json["error"])
        r = self.v("GET", "/v13/deployments/dpl_seedprod")
        self.assertEqual(r.status, 200)

    def test_unknown_paths(self):
        self.assertEqual(self.f.req("GET", "/nothing/here").status, 404)
        self.assertEqual(self.f.req("GET", "/_fake/nothing").status, 404)
        self.assertEqual(self.f.req("DELETE", "/_fake/state").status, 405)


class LifecycleTest(unittest.TestCase):
    def test_state_file_stderr_log_and_sigterm(self):
        fp = FakeProcess(extra_args=["--deploy-step", "0.05"], seed={"slack": {}})
        try:
            r = fp.req("POST", "/slack/services/T1/B1/x", {"text": "hi"})
            self.assertEqual(r.status, 200)

            def saved():
                try:
                    with open(fp.state_file) as f:
                        return json.load(f)["slack"]["messages"]
                except (OSError, ValueError, KeyError):
                    return None
            self.assertEqual(wait_for(saved, what="the state file")[0]["text"], "hi")
            self.assertEqual(fp.req("GET", "/_fake/health").json["port"], fp.port)
            fp.proc.send_signal(signal.SIGTERM)
            self.assertEqual(fp.proc.wait(timeout=10), 0)
            with open(fp.log_path) as f:
                log = f.read()
            self.assertIn("service=slack method=POST path=/slack/services/T1/B1/x status=200", log)
        finally:
            fp.stop()

    def test_refuses_non_loopback(self):
        for listen in ("0.0.0.0:0", "192.0.2.1:0", "example.com:0"):
            p = subprocess.run([sys.executable, FAKE, "--listen", listen], capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 2, listen)
            self.assertIn(b"loopback", p.stderr)


if __name__ == "__main__":
    unittest.main()
