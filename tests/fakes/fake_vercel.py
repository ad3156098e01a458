"""Fake Vercel REST API (reference/external-apis.md §1).

Projects and their env vars (§1.2-§1.5), deployments created from an existing one with
a clock QUEUED -> [INITIALIZING ->] BUILDING -> READY -> alias assigned (§1.6, §1.7),
listing deployments with `meta-<key>=<value>` filters (GET /v6/deployments, as the
Vercel CLI sends it), promote / rollback (§1.8), deployment aliases.

Vercel's rules the fake keeps (its OpenAPI SDK): a redeploy of an existing deployment
(`deploymentId`) inherits the original's settings and environment variables, so env
changed since do not reach it (a project's `redeploy_env: "current"` models the other
reading); a deployment whose checks fail (`checksConclusion: "failed"`, injected with
the `checks` fault) is READY but never aliased; `GET /v10/projects/{p}/env` documents no
`limit`: it answers every variable at once, unless the seed sets `env_page_size` (then
`pagination.next` is a cursor for `until`; `env_cursor_stuck` makes it never advance).
`GET /_app/<host>/<path>` (no token) is the deployed app's health endpoint: it reports
the `database_host` (of DATABASE_URL) and `redis_host` (REDIS_HOST) the deployment at
that host runs with.

Path versions are not pinned (`/v<N>/...` is accepted for any N): the reference notes
that official clients mix v8/v9/v10/v13 and that old versions keep working.

Deployment progress is computed from timestamps whenever the state is read, so the fake
needs no background thread: a deployment created at t is QUEUED until t+queued,
BUILDING until t+queued+initializing+building, then READY (or ERROR/CANCELED when a
fault asked for it), and its aliases are assigned `alias` seconds after READY.
"""

import hashlib
import json
import re

from fake_common import (LOWER_ALNUM, Response, Router, iso_time, json_response, now_ms, opaque,
                         rand_id)

ENV_TYPES_CREATE = ("system", "encrypted", "plain", "sensitive")
ENV_TYPES_ALL = ENV_TYPES_CREATE + ("secret",)
ENV_TARGETS = ("production", "preview", "development")
HIDDEN_TYPES = ("sensitive", "secret")  # write-only after saving (§1.2)

DEFAULT_DURATIONS = {"queued": 0.3, "initializing": 0.0, "building": 0.3, "alias": 0.2}

ERROR_CODES = {400: "bad_request", 401: "unauthorized", 402: "payment_required",
               403: "forbidden", 404: "not_found", 405: "method_unknown", 409: "conflict",
               410: "gone", 413: "payload_too_large", 422: "unprocessable_entity",
               426: "upgrade_required", 429: "rate_limited", 500: "internal_server_error",
               502: "bad_gateway", 503: "service_unavailable", 504: "gateway_timeout"}


class VercelError(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class VercelFake:
    name = "vercel"

    def __init__(self, app):
        self.app = app
        r = Router()
        v = r"/v\d+"
        p = r"/projects/(?P<project>[^/]+)"
        r.add("GET", v + p + "/env", self.list_envs)
        r.add("POST", v + p + "/env", self.create_envs)
        r.add("DELETE", v + p + "/env", self.delete_envs_batch)
        r.add("GET", v + p + "/env/(?P<env>[^/]+)", self.get_env)
        r.add("PATCH", v + p + "/env/(?P<env>[^/]+)", self.edit_env)
        r.add("DELETE", v + p + "/env/(?P<env>[^/]+)", self.delete_env)
        r.add("GET", v + p, self.get_project)
        r.add("POST", v + p + "/promote/(?P<dep>[^/]+)", self.promote)
        r.add("POST", v + p + "/rollback/(?P<dep>[^/]+)", self.rollback)
        r.add("GET", v + "/deployments", self.list_deployments)
        r.add("POST", v + "/deployments", self.create_deployment)
        r.add("GET", v + "/deployments/(?P<dep>[^/]+)", self.get_deployment)
        r.add("GET", v + "/deployments/(?P<dep>[^/]+)/aliases", self.list_dep_aliases)
        r.add("POST", v + "/deployments/(?P<dep>[^/]+)/aliases", self.assign_alias)
        r.add("GET", v + "/aliases/(?P<alias>[^/]+)", self.get_alias)
        self.router = r
        self.load({})

    # ---- state -------------------------------------------------------------------

    def load(self, s):
        s = s or {}
        self.tokens = list(s.get("tokens") or [])
        self.team_id = s.get("team_id")
        self.team_slug = s.get("team_slug")
        self.durations = dict(DEFAULT_DURATIONS)
        for k, val in (s.get("durations") or {}).items():
            if k not in DEFAULT_DURATIONS or not isinstance(val, (int, float)) or val < 0:
                raise ValueError("vercel.durations.%s: a number of seconds >= 0 (keys: %s)"
                                 % (k, ", ".join(DEFAULT_DURATIONS)))
            self.durations[k] = float(val)
        self.projects = {}
        self.deployments = {}
        self.aliases = {}
        self.last_ms = 0
        self.env_page_size = s.get("env_page_size")
        self.env_cursor_stuck = bool(s.get("env_cursor_stuck"))
        for p in s.get("projects") or []:
            self._seed_project(p)
        for d in s.get("deployments") or []:
            self._seed_deployment(d)
        for a in s.get("aliases") or []:
            self.aliases[a["alias"]] = dict(a)
        for p in s.get("projects") or []:
            prod = p.get("production_deployment")
            if prod:
                self._seed_production(self.projects[p["id"]], prod if isinstance(prod, dict) else {})

    def dump(self):
        self._advance()
        now = now_ms()
        return {
            "team_id": self.team_id, "team_slug": self.team_slug,
            "tokens_redacted": ["****" + t[-4:] for t in self.tokens],
            "durations": self.durations, "env_page_size": self.env_page_size,
            "env_cursor_stuck": self.env_cursor_stuck,
            "projects": [{k: v for k, v in p.items() if k != "_promote"}
                         for p in self.projects.values()],
            "deployments": [dict(d, readyState=self._state(d, now)) for d in self.deployments.values()],
            "aliases": list(self.aliases.values()),
        }

    def _unique_ms(self):
        t = max(now_ms(), self.last_ms + 1)
        self.last_ms = t
        return t

    def _seed_project(self, p):
        if not p.get("id") or not p.get("name"):
            raise ValueError("vercel.projects[]: id and name are required")
        t = self._unique_ms()
        proj = {
            "id": p["id"], "name": p["name"], "accountId": p.get("accountId", self.team_id or "user_fake"),
            "domains": list(p.get("domains") or [p["name"] + ".vercel.app"]),
            "envs": [], "production": p.get("production"),
            "redeploy_env": p.get("redeploy_env", "inherit"),
            "lastAliasRequest": p.get("lastAliasRequest"),
            "createdAt": p.get("createdAt", t), "updatedAt": p.get("updatedAt", t),
        }
        for e in p.get("envs") or []:
            env = {
                "id": e.get("id") or "env_" + rand_id(16), "key": e["key"], "value": e.get("value", ""),
                "type": e.get("type", "encrypted"), "target": list(e.get("target") or ["production"]),
                "gitBranch": e.get("gitBranch"), "comment": e.get("comment"),
                "customEnvironmentIds": list(e.get("customEnvironmentIds") or []),
                "createdAt": e.get("createdAt") or self._unique_ms(),
            }
            env["updatedAt"] = e.get("updatedAt", env["createdAt"])
            proj["envs"].append(env)
        self.projects[proj["id"]] = proj

    def _seed_deployment(self, d):
        """A deployment from a seed: either a dumped record or a minimal static one."""
        proj = self.projects.get(d.get("projectId"))
        if proj is None:
            raise ValueError("vercel.deployments[]: projectId must name a seeded project")
        t = d.get("createdAt") or self._unique_ms()
        self.last_ms = max(self.last_ms, t)
        state = d.get("readyState", "READY")
        rec = {
            "id": d.get("id") or "dpl_" + rand_id(24), "name": d.get("name", proj["name"]),
            "url": d.get("url") or "%s-%s.vercel.app" % (proj["name"], rand_id(9, LOWER_ALNUM)),
            "projectId": proj["id"], "target": d.get("target", "production"),
            "meta": dict(d.get("meta") or {}), "source": d.get("source", "git"),
            "createdAt": t, "initAt": d.get("initAt", t), "buildingAt": d.get("buildingAt", t),
            "readyAt": d.get("readyAt", t), "aliasAt": d.get("aliasAt", t),
            "canceledAt": d.get("canceledAt", t),
            "outcome": d.get("outcome", state if state in ("READY", "ERROR", "CANCELED") else "READY"),
            "errorCode": d.get("errorCode"), "errorMessage": d.get("errorMessage"),
            "aliasErrorSpec": d.get("aliasErrorSpec"), "aliasApplied": d.get("aliasApplied", False),
            "alias": list(d.get("alias") or []), "aliasAssigned": d.get("aliasAssigned", False),
            "aliasAssignedAt": d.get("aliasAssignedAt"), "aliasError": d.get("aliasError"),
            "readySubstate": d.get("readySubstate"), "checks": d.get("checks"),
            "src": d.get("src") or "seed:" + (d.get("id") or rand_id(8)),
            "env": d.get("env") if d.get("env") is not None else self._env_snapshot(proj, d.get("target", "production")),
        }
        self.deployments[rec["id"]] = rec
        return rec

    def _seed_production(self, proj, d):
        d = dict(d)
        d.setdefault("projectId", proj["id"])
        d.setdefault("target", "production")
        d.setdefault("source", "git")
        rec = self._seed_deployment(d)
        rec["aliasApplied"] = True
        self._point_production(proj, rec, rec["createdAt"])

    # ---- clock -------------------------------------------------------------------

    @staticmethod
    def _state(d, now):
        if d["outcome"] == "CANCELED":
            return "CANCELED" if now >= d["canceledAt"] else "QUEUED"
        if now >= d["readyAt"]:
            return d["outcome"]
        if now >= d["buildingAt"]:
            return "BUILDING"
        if now >= d["initAt"]:
            return "INITIALIZING"
        return "QUEUED"

    def _advance(self):
        """Apply alias assignments and promotions whose time has come."""
        now = now_ms()
        for d in self.deployments.values():
            if d["aliasApplied"] or d["outcome"] != "READY" or now < d["aliasAt"]:
                continue
            if d.get("checks") in ("failed", "canceled"):
                continue  # failed checks: READY, never promoted
            d["aliasApplied"] = True
            if d["aliasErrorSpec"]:
                d["aliasError"] = d["aliasErrorSpec"]
                continue
            proj = self.projects.get(d["projectId"])
            if d["target"] == "production" and proj is not None:
                self._point_production(proj, d, d["aliasAt"])
            else:
                d["aliasAssigned"] = True
                d["aliasAssignedAt"] = d["aliasAt"]
        for proj in self.projects.values():
            pr = proj.get("_promote")
            if pr and now >= pr["at"]:
                proj["_promote"] = None
                d = self.deployments.get(pr["to"])
                if d is not None:
                    self._point_production(proj, d, pr["at"])
                    proj["lastAliasRequest"]["jobStatus"] = "succeeded"
                else:
                    proj["lastAliasRequest"]["jobStatus"] = "failed"

    def _point_production(self, proj, d, at):
        old = self.deployments.get(proj.get("production"))
        if old is not None and old is not d:
            old["alias"] = [a for a in old["alias"] if a not in proj["domains"]]
        for dom in proj["domains"]:
            prev = self.aliases.get(dom)
            self.aliases[dom] = {
                "uid": prev["uid"] if prev else "alias_" + rand_id(20), "alias": dom,
                "deploymentId": d["id"], "projectId": proj["id"],
                "createdAt": prev["createdAt"] if prev else at, "updatedAt": at,
            }
            if dom not in d["alias"]:
                d["alias"].append(dom)
        d["aliasAssigned"] = True
        d["aliasAssignedAt"] = d.get("aliasAssignedAt") or at
        d["readySubstate"] = "PROMOTED"
        proj["production"] = d["id"]
        proj["updatedAt"] = at

    # ---- dispatch ----------------------------------------------------------------

    def error(self, status, req=None, code=None, message=None, retry_after=None):
        code = code or ERROR_CODES.get(status, "internal_server_error" if status >= 500 else "bad_request")
        err = {"code": code, "message": message or "Injected %d by fakesaas" % status}
        if status == 429:
            reset = now_ms() + int((retry_after if retry_after is not None else 1) * 1000)
            err["limit"] = {"remaining": 0, "reset": reset // 1000, "resetMs": reset, "total": 100}
        return json_response(status, {"error": err})

    def handle(self, req):
        if req.path.startswith("/_app/") and req.method == "GET":
            return self.app_health(req)
        try:
            self._auth(req)
            handler, info = self.router.match(req.method, req.path)
            if handler is None:
                if info == "method":
                    allowed = ", ".join(self.router.allowed(req.path))
                    raise VercelError(405, "method_unknown", "This endpoint only responds to " + allowed)
                raise VercelError(404, "not_found", "The requested API endpoint was not found.")
            self._advance()
            return handler(req, **info)
        except VercelError as e:
            body = {"error": dict({"code": e.code, "message": e.message}, **e.extra)}
            return json_response(e.status, body)

    def _auth(self, req):
        token = req.bearer()
        if not token:
            raise VercelError(403, "forbidden", "The request is missing an authentication token",
                              missingToken=True)
        accepted = self.tokens or self.app.tokens
        if accepted and token not in accepted:
            raise VercelError(403, "forbidden", "Not authorized", invalidToken=True)
        if self.team_id:
            team, slug = req.q("teamId"), req.q("slug")
            if team != self.team_id and not (slug and slug == self.team_slug):
                raise VercelError(403, "forbidden", "Not authorized")

    # ---- helpers -----------------------------------------------------------------

    def _project(self, id_or_name):
        p = self.projects.get(id_or_name)
        if p is None:
            for cand in self.projects.values():
                if cand["name"] == id_or_name:
                    return cand
            raise VercelError(404, "not_found", "Project not found")
        return p

    def _find_deployment(self, id_or_url):
        d = self.deployments.get(id_or_url)
        if d is not None:
            return d
        host = id_or_url
        for prefix in ("https://", "http://"):
            if host.startswith(prefix):
                host = host[len(prefix):]
        host = host.rstrip("/")
        for cand in self.deployments.values():
            if cand["url"] == host:
                return cand
        a = self.aliases.get(host)
        if a is not None and a["deploymentId"] in self.deployments:
            return self.deployments[a["deploymentId"]]
        raise VercelError(404, "not_found", "The deployment could not be found.")

    def _json_body(self, req):
        if req.json_error is not None or not req.body:
            raise VercelError(400, "bad_request", "Invalid request: the body must be JSON.")
        return req.json

    @staticmethod
    def _env_view(e, decrypt):
        v = {"id": e["id"], "key": e["key"], "type": e["type"], "target": list(e["target"]),
             "gitBranch": e["gitBranch"], "configurationId": None,
             "customEnvironmentIds": list(e.get("customEnvironmentIds") or []),
             "createdAt": e["createdAt"], "updatedAt": e["updatedAt"],
             "createdBy": "user_fake", "updatedBy": "user_fake", "decrypted": False}
        if e.get("comment") is not None:
            v["comment"] = e["comment"]
        if e["type"] in HIDDEN_TYPES:
            pass  # never readable again
        elif e["type"] == "encrypted" and not decrypt:
            v["value"] = opaque(e["value"], e["id"])
        else:
            v["value"] = e["value"]
            v["decrypted"] = e["type"] == "encrypted"
        return v

    @staticmethod
    def _overlaps(e, key, target, branch):
        return e["key"] == key and e["gitBranch"] == branch and bool(set(e["target"]) & set(target))

    @staticmethod
    def _env_snapshot(proj, target):
        want = "production" if target == "production" else "preview"
        return [{"key": e["key"], "value": e["value"], "type": e["type"],
                 "target": list(e["target"]), "gitBranch": e["gitBranch"]}
                for e in proj["envs"] if want in e["target"]]

    @staticmethod
    def _check_env_fields(item, partial):
        """Validate one env object of a create (partial=False) or edit (partial=True) body."""
        if not isinstance(item, dict):
            raise VercelError(400, "bad_request", "Invalid request: each item must be an object.")
        if not partial:
            for f in ("key", "value", "type"):
                if f not in item:
                    raise VercelError(400, "bad_request",
                                      "Invalid request: missing required property `%s`." % f)
            if "target" not in item and "customEnvironmentIds" not in item:
                raise VercelError(400, "bad_request",
                                  "Invalid request: missing required property `target`.")
        for f in ("key", "value", "comment"):
            if f in item and item[f] is not None and not isinstance(item[f], str):
                raise VercelError(400, "bad_request", "Invalid request: `%s` should be string." % f)
        if "key" in item and not item["key"]:
            raise VercelError(400, "bad_request", "Invalid request: `key` must not be empty.")
        types = ENV_TYPES_ALL if partial else ENV_TYPES_CREATE
        if "type" in item and item["type"] not in types:
            raise VercelError(400, "bad_request", "Invalid request: `type` should be equal to one of "
                              "the allowed values \"%s\"." % '", "'.join(types))
        if "target" in item:
            t = item["target"]
            if not isinstance(t, list) or not t or any(x not in ENV_TARGETS for x in t):
                raise VercelError(400, "bad_request", "Invalid request: `target` should be an array "
                                  "of \"production\", \"preview\", \"development\".")
        if "customEnvironmentIds" in item and not isinstance(item["customEnvironmentIds"], list):
            raise VercelError(400, "bad_request", "Invalid request: `customEnvironmentIds` should be array.")
        branch = item.get("gitBranch")
        if branch is not None:
            if not isinstance(branch, str):
                raise VercelError(400, "bad_request", "Invalid request: `gitBranch` should be string.")
            if "target" in item and item["target"] != ["preview"]:
                raise VercelError(400, "bad_request", "Invalid request: `gitBranch` requires the "
                                  "target to be only \"preview\".")

    @staticmethod
    def _conflict_error(key, target, branch):
        return {"code": "ENV_CONFLICT",
                "message": "A variable with the name `%s` already exists for the target %s%s."
                           % (key, ", ".join(target), " on branch " + branch if branch else ""),
                "key": key, "envVarKey": key, "target": list(target), "gitBranch": branch}

    # ---- env vars (§1.2-§1.5) ----------------------------------------------------

    def list_envs(self, req, project):
        proj = self._project(project)
        decrypt = req.q("decrypt") == "true"
        envs = sorted(proj["envs"], key=lambda e: e["createdAt"], reverse=True)
        branch = req.q("gitBranch")
        if branch is not None:
            envs = [e for e in envs if e["gitBranch"] in (None, branch)]
        # v10 documents no `limit`: the page size is the server's (all, unless seeded).
        # Older versions (the Terraform provider's v8) take limit/until.
        version = re.match(r"/v(\d+)/", req.path)
        if version is not None and int(version.group(1)) >= 10:
            req.query.pop("limit", None)
            if self.env_page_size:
                req.query["limit"] = [str(self.env_page_size)]
        page, pagination = self._paginate(req, envs, "createdAt")
        if self.env_cursor_stuck and pagination["next"] is not None:
            pagination["next"] = envs[0]["createdAt"] + 1  # always the first page's cursor
        return json_response(200, {"envs": [self._env_view(e, decrypt) for e in page],
                                   "pagination": pagination})

    def app_health(self, req):
        """The app's health endpoint at a deployment's host (its url, or an alias)."""
        host = req.path[len("/_app/"):].split("/", 1)[0]
        self._advance()
        try:
            d = self._find_deployment(host)
        except VercelError:
            return json_response(404, {"error": "DEPLOYMENT_NOT_FOUND"})
        env = {e["key"]: e["value"] for e in d.get("env") or []}
        db = env.get("DATABASE_URL") or ""
        rest = db.split("://", 1)[1] if "://" in db else ""
        hostport = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
        db_host = hostport[1:].split("]", 1)[0] if hostport.startswith("[") else hostport.split(":", 1)[0]
        return json_response(200, {"status": "ok", "deployment_id": d["id"],
                                   "database_host": db_host or None,
                                   "redis_host": env.get("REDIS_HOST")})

    def _paginate(self, req, items, field):
        """items newest first; `until`/`since` (ms, exclusive) and `limit`."""
        try:
            until = int(req.q("until")) if req.q("until") else None
            since = int(req.q("since")) if req.q("since") else None
            limit = int(req.q("limit")) if req.q("limit") else None
        except ValueError:
            raise VercelError(400, "bad_request", "Invalid request: limit, until and since must be numbers.")
        if limit is not None and not 1 <= limit <= 100:
            raise VercelError(400, "bad_request", "Invalid request: `limit` should be <= 100.")
        if until is not None:
            items = [i for i in items if i[field] < until]
        if since is not None:
            items = [i for i in items if i[field] > since]
        page = items[:limit] if limit else items
        more = limit is not None and len(items) > limit
        pagination = {"count": len(page),
                      "next": page[-1][field] if more and page else None,
                      "prev": page[0][field] if page else None}
        return page, pagination

    def get_env(self, req, project, env):
        proj = self._project(project)
        for e in proj["envs"]:
            if e["id"] == env:
                return json_response(200, self._env_view(e, True))
        raise VercelError(404, "not_found", "Environment Variable not found")

    def create_envs(self, req, project):
        proj = self._project(project)
        body = self._json_body(req)
        upsert = req.q("upsert") == "true"
        single = isinstance(body, dict)
        items = [body] if single else body
        if not isinstance(items, list) or not items:
            raise VercelError(400, "bad_request", "Invalid request: the body must be an object or a "
                              "non-empty array of objects.")
        for item in items:
            self._check_env_fields(item, partial=False)
        created, failed = [], []
        for item in items:
            target = item.get("target") or []
            branch = item.get("gitBranch")
            matches = [e for e in proj["envs"] if self._overlaps(e, item["key"], target, branch)]
            t = self._unique_ms()
            if matches and upsert:
                for e in matches:
                    e["value"] = item["value"]
                    e["type"] = item["type"]
                    if "comment" in item:
                        e["comment"] = item["comment"]
                    e["updatedAt"] = t
                created.append(self._env_view(matches[0], False))
            elif matches:
                failed.append({"error": dict(self._conflict_error(item["key"], target, branch),
                                             link="https://vercel.com/docs/environment-variables")})
            else:
                e = {"id": "env_" + rand_id(16), "key": item["key"], "value": item["value"],
                     "type": item["type"], "target": list(target), "gitBranch": branch,
                     "comment": item.get("comment"),
                     "customEnvironmentIds": list(item.get("customEnvironmentIds") or []),
                     "createdAt": t, "updatedAt": t}
                proj["envs"].append(e)
                created.append(self._env_view(e, False))
            proj["updatedAt"] = t
        if not created:
            err = failed[0]["error"]
            err.pop("link", None)
            return json_response(400, {"error": err})
        return json_response(201, {"created": created[0] if single else created, "failed": failed})

    def edit_env(self, req, project, env):
        proj = self._project(project)
        body = self._json_body(req)
        self._check_env_fields(body, partial=True)
        e = next((x for x in proj["envs"] if x["id"] == env), None)
        if e is None:
            raise VercelError(404, "not_found", "Environment Variable not found")
        key = body.get("key", e["key"])
        target = body.get("target", e["target"])
        branch = body["gitBranch"] if "gitBranch" in body else e["gitBranch"]
        if branch is not None and target != ["preview"]:
            raise VercelError(400, "bad_request", "Invalid request: `gitBranch` requires the target "
                              "to be only \"preview\".")
        for other in proj["envs"]:
            if other is not e and self._overlaps(other, key, target, branch):
                return json_response(400, {"error": self._conflict_error(key, target, branch)})
        for f in ("key", "value", "type", "target", "gitBranch", "comment", "customEnvironmentIds"):
            if f in body:
                e[f] = list(body[f]) if isinstance(body[f], list) else body[f]
        e["updatedAt"] = self._unique_ms()
        return json_response(200, self._env_view(e, False))

    def delete_env(self, req, project, env):
        proj = self._project(project)
        e = next((x for x in proj["envs"] if x["id"] == env), None)
        if e is None:
            raise VercelError(404, "not_found", "Environment Variable not found")
        proj["envs"].remove(e)
        return json_response(200, self._env_view(e, False))

    def delete_envs_batch(self, req, project):
        proj = self._project(project)
        body = self._json_body(req)
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise VercelError(400, "bad_request", "Invalid request: `ids` should be an array of strings.")
        deleted = [e["id"] for e in proj["envs"] if e["id"] in ids]
        proj["envs"] = [e for e in proj["envs"] if e["id"] not in ids]
        return json_response(200, {"deleted": deleted, "ids": ids})

    # ---- deployments (§1.6, §1.7) --------------------------------------------------

    def _dep_view(self, d, now=None):
        now = now or now_ms()
        state = self._state(d, now)
        proj = self.projects.get(d["projectId"])
        team = self.team_slug or "fake-team"
        v = {
            "id": d["id"], "url": d["url"], "name": d["name"], "projectId": d["projectId"],
            "target": d["target"], "readyState": state, "status": state,
            "readySubstate": None, "createdAt": d["createdAt"],
            "buildingAt": d["buildingAt"] if now >= d["buildingAt"] and state != "CANCELED" else None,
            "ready": d["readyAt"] if state == "READY" else None,
            "alias": list(d["alias"]), "aliasAssigned": d["aliasAssigned"],
            "aliasAssignedAt": d["aliasAssignedAt"], "aliasError": d["aliasError"],
            "meta": dict(d["meta"]), "source": d["source"], "type": "LAMBDAS", "version": 2,
            "public": False, "regions": ["iad1"],
            "creator": {"uid": "user_fake", "username": "fakesaas"},
            "inspectorUrl": "https://vercel.com/%s/%s/%s" % (team, proj["name"] if proj else d["name"],
                                                            d["id"][4:]),
            "ownerId": self.team_id or "user_fake",
        }
        if state == "READY":
            v["readySubstate"] = "PROMOTED" if d.get("readySubstate") == "PROMOTED" else "STAGED"
            if d["target"] != "production":
                v["readySubstate"] = None
        if d.get("checks"):
            v["checksState"] = "completed" if state == "READY" else "registered"
            v["checksConclusion"] = d["checks"] if state == "READY" else None
        if state == "ERROR":
            v["errorCode"] = d["errorCode"]
            v["errorMessage"] = d["errorMessage"]
        if state == "CANCELED":
            v["canceledAt"] = d["canceledAt"]
        return v

    def _list_item(self, d, now):
        v = self._dep_view(d, now)
        return {"uid": v["id"], "name": v["name"], "url": v["url"], "created": v["createdAt"],
                "createdAt": v["createdAt"], "buildingAt": v["buildingAt"], "ready": v["ready"],
                "state": v["readyState"], "readyState": v["readyState"],
                "readySubstate": v["readySubstate"], "type": "LAMBDAS", "creator": v["creator"],
                "meta": v["meta"], "target": v["target"], "aliasError": v["aliasError"],
                "aliasAssigned": v["aliasAssigned"], "inspectorUrl": v["inspectorUrl"],
                "projectId": v["projectId"], "source": v["source"],
                "checksState": v.get("checksState"), "checksConclusion": v.get("checksConclusion")}

    def get_deployment(self, req, dep):
        return json_response(200, self._dep_view(self._find_deployment(dep)))

    def list_deployments(self, req):
        now = now_ms()
        items = sorted(self.deployments.values(), key=lambda d: d["createdAt"], reverse=True)
        pid = req.q("projectId")
        if pid:
            proj = self._project(pid)
            items = [d for d in items if d["projectId"] == proj["id"]]
        pids = req.query.get("projectIds")
        if pids:
            ids = {self._project(x)["id"] for v in pids for x in v.split(",") if x}
            items = [d for d in items if d["projectId"] in ids]
        if req.q("app"):
            items = [d for d in items if d["name"] == req.q("app")]
        target = req.q("target")
        if target:
            items = [d for d in items if (d["target"] or "preview") == target]
        states = req.q("state")
        if states:
            want = {s.strip().upper() for s in states.split(",") if s.strip()}
            items = [d for d in items if self._state(d, now) in want]
        for name, vals in req.query.items():
            if name.startswith("meta-") and len(name) > 5:
                key = name[5:]
                items = [d for d in items if d["meta"].get(key) == vals[-1]]
        try:
            frm = int(req.q("from")) if req.q("from") else None
            to = int(req.q("to")) if req.q("to") else None
        except ValueError:
            raise VercelError(400, "bad_request", "Invalid request: from/to must be numbers.")
        if frm is not None:
            items = [d for d in items if d["createdAt"] > frm]
        if to is not None:
            items = [d for d in items if d["createdAt"] < to]
        if not req.q("limit"):
            req.query["limit"] = ["20"]
        page, pagination = self._paginate(req, items, "createdAt")
        return json_response(200, {"deployments": [self._list_item(d, now) for d in page],
                                   "pagination": pagination})

    def create_deployment(self, req):
        body = self._json_body(req)
        if not isinstance(body, dict):
            raise VercelError(400, "bad_request", "Invalid request: the body must be an object.")
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise VercelError(400, "bad_request", "Invalid request: missing required property `name`.")
        target = body.get("target")
        if target is not None and (not isinstance(target, str) or not target):
            raise VercelError(400, "bad_request", "Invalid request: `target` should be string.")
        meta = body.get("meta") or {}
        if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in meta.items()):
            raise VercelError(400, "bad_request", "Invalid request: `meta` should be an object of strings.")
        if any(len(k) > 100 or len(v) > 65536 for k, v in meta.items()):
            raise VercelError(400, "bad_request", "Invalid request: `meta` key or value too long.")
        source = None
        if body.get("deploymentId") is not None:
            if not isinstance(body["deploymentId"], str):
                raise VercelError(400, "bad_request", "Invalid request: `deploymentId` should be string.")
            try:
                source = self._find_deployment(body["deploymentId"])
            except VercelError:
                raise VercelError(404, "not_found", "Deployment not found: %s" % body["deploymentId"])
        if body.get("project") is not None:
            proj = self._project(body["project"])
        elif source is not None:
            proj = self.projects[source["projectId"]]
        else:
            proj = self._project(name)
        if source is not None:
            src = source["src"]
        elif body.get("gitSource") is not None:
            src = "git:" + json.dumps(body["gitSource"], sort_keys=True)
        elif body.get("files") is not None:
            src = "files:" + hashlib.sha256(json.dumps(body["files"], sort_keys=True).encode()).hexdigest()
        else:
            raise VercelError(400, "bad_request", "Invalid request: one of `deploymentId`, "
                              "`gitSource` or `files` is required.")
        now = now_ms()
        if req.q("forceNew") not in ("1", "true"):
            # Deduplication against a similar earlier deployment (§1.6): same project,
            # target and source; forceNew=1 bypasses it.
            for d in sorted(self.deployments.values(), key=lambda x: x["createdAt"], reverse=True):
                if (d["projectId"] == proj["id"] and d["target"] == target and d["src"] == src
                        and self._state(d, now) not in ("ERROR", "CANCELED")):
                    return json_response(200, self._dep_view(d, now))
        fault = self.app.faults.take_deployment(req)
        t = self._unique_ms()
        ms = {k: int(v * 1000) for k, v in self.durations.items()}
        rec = {
            "id": "dpl_" + rand_id(24), "name": name,
            "url": "%s-%s-%s.vercel.app" % (name, rand_id(9, LOWER_ALNUM), self.team_slug or "fake"),
            "projectId": proj["id"], "target": target, "meta": dict(meta),
            "source": "redeploy" if source is not None else ("git" if "gitSource" in body else "api"),
            "createdAt": t, "initAt": t + ms["queued"],
            "buildingAt": t + ms["queued"] + ms["initializing"],
            "readyAt": t + ms["queued"] + ms["initializing"] + ms["building"],
            "canceledAt": t + ms["queued"], "outcome": "READY", "errorCode": None,
            "errorMessage": None, "aliasErrorSpec": None, "aliasApplied": False, "alias": [],
            "aliasAssigned": False, "aliasAssignedAt": None, "aliasError": None,
            "readySubstate": None, "src": src, "checks": None,
            # A redeploy inherits the original's environment (the SDK), unless the project
            # says otherwise; a new source builds with the current one.
            "env": ([dict(e) for e in source["env"]]
                    if source is not None and proj.get("redeploy_env", "inherit") == "inherit"
                    else self._env_snapshot(proj, target)),
            "fault": fault["id"] if fault else None,
        }
        rec["aliasAt"] = rec["readyAt"] + ms["alias"]
        if fault:
            if fault.get("deployment") in ("ERROR", "CANCELED"):
                rec["outcome"] = fault["deployment"]
            if rec["outcome"] == "ERROR":
                rec["errorCode"] = fault.get("error_code") or "BUILD_FAILED"
                rec["errorMessage"] = fault.get("error_message") or "The build failed (injected by fakesaas)."
            if fault.get("checks"):
                rec["checks"] = fault["checks"]
            ae = fault.get("alias_error")
            if ae:
                ae = ae if isinstance(ae, dict) else {}
                rec["aliasErrorSpec"] = {"code": ae.get("code", "alias_failed"),
                                         "message": ae.get("message", "Alias assignment failed (injected by fakesaas).")}
        self.deployments[rec["id"]] = rec
        return json_response(200, self._dep_view(rec, t))

    # ---- projects, promote (§1.8), aliases ---------------------------------------

    def get_project(self, req, project):
        proj = self._project(project)
        now = now_ms()
        prod = self.deployments.get(proj.get("production"))
        latest = sorted((d for d in self.deployments.values() if d["projectId"] == proj["id"]),
                        key=lambda d: d["createdAt"], reverse=True)[:5]
        return json_response(200, {
            "id": proj["id"], "name": proj["name"], "accountId": proj["accountId"],
            "createdAt": proj["createdAt"], "updatedAt": proj["updatedAt"], "framework": "nextjs",
            "env": [self._env_view(e, False) for e in proj["envs"]],
            "targets": {"production": self._dep_view(prod, now) if prod else None},
            "latestDeployments": [self._dep_view(d, now) for d in latest],
            "lastAliasRequest": proj.get("lastAliasRequest"),
            "alias": [{"domain": dom, "target": "PRODUCTION"} for dom in proj["domains"]],
        })

    def _alias_request(self, req, project, dep, kind):
        proj = self._project(project)
        d = self.deployments.get(dep)
        if d is None or d["projectId"] != proj["id"]:
            raise VercelError(404, "not_found", "Deployment not found")
        if kind == "promote" and d["target"] != "production":
            raise VercelError(400, "bad_request", "Only production deployments can be promoted directly; "
                              "create a new production deployment instead.")
        if self._state(d, now_ms()) != "READY":
            raise VercelError(400, "bad_request", "The deployment is not READY.")
        if proj.get("_promote"):
            raise VercelError(409, "conflict", "Another alias request is in progress for this project.")
        t = now_ms()
        proj["lastAliasRequest"] = {"jobStatus": "pending", "requestedAt": t, "toDeploymentId": d["id"],
                                    "fromDeploymentId": proj.get("production"), "type": kind}
        proj["_promote"] = {"to": d["id"], "at": t + int(self.durations["alias"] * 1000)}
        return Response(202 if kind == "promote" else 201)

    def promote(self, req, project, dep):
        return self._alias_request(req, project, dep, "promote")

    def rollback(self, req, project, dep):
        return self._alias_request(req, project, dep, "rollback")

    def _alias_view(self, a):
        return {"uid": a["uid"], "alias": a["alias"], "deploymentId": a["deploymentId"],
                "projectId": a["projectId"], "created": iso_time(a["createdAt"] / 1000),
                "createdAt": a["createdAt"], "updatedAt": a["updatedAt"], "redirect": None}

    def list_dep_aliases(self, req, dep):
        d = self._find_deployment(dep)
        return json_response(200, {"aliases": [self._alias_view(a) for a in self.aliases.values()
                                               if a["deploymentId"] == d["id"]]})

    def assign_alias(self, req, dep):
        d = self._find_deployment(dep)
        body = self._json_body(req)
        host = body.get("alias") if isinstance(body, dict) else None
        if not isinstance(host, str) or not host or "/" in host:
            raise VercelError(400, "bad_request", "Invalid request: `alias` should be a hostname.")
        if self._state(d, now_ms()) != "READY":
            raise VercelError(400, "bad_request", "The deployment is not READY.")
        t = now_ms()
        prev = self.aliases.get(host)
        old = prev["deploymentId"] if prev else None
        if old and old in self.deployments and old != d["id"]:
            self.deployments[old]["alias"] = [a for a in self.deployments[old]["alias"] if a != host]
        a = {"uid": prev["uid"] if prev else "alias_" + rand_id(20), "alias": host,
             "deploymentId": d["id"], "projectId": d["projectId"],
             "createdAt": prev["createdAt"] if prev else t, "updatedAt": t}
        self.aliases[host] = a
        if host not in d["alias"]:
            d["alias"].append(host)
        return json_response(200, {"uid": a["uid"], "alias": host, "created": iso_time(t / 1000),
                                   "oldDeploymentId": old})

    def get_alias(self, req, alias):
        for a in self.aliases.values():
            if a["alias"] == alias or a["uid"] == alias:
                return json_response(200, self._alias_view(a))
        raise VercelError(404, "not_found", "The alias could not be found.")

