"""Fake notification services (reference/external-apis.md §6.1-§6.3).

Slack incoming webhooks (plain-text answers), PagerDuty Events API v2 (202 / 400 with
the {status, message, errors} body, dedup per routing key), Atlassian Statuspage
incidents and components (`Authorization: OAuth <key>` or `?api_key=`).
"""

import json
import re
import time
import urllib.parse

from fake_common import (LOWER_ALNUM, Router, hex_id, json_response, rand_id, text_response)


def iso_ms(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + ".%03dZ" % int((t % 1) * 1000)


# ---- Slack (§6.2) ---------------------------------------------------------------------

SLACK_ERRORS = {"invalid_payload": 400, "user_not_found": 400, "invalid_blocks": 400,
                "action_prohibited": 403, "invalid_token": 403, "channel_not_found": 404,
                "no_service": 404, "no_team": 404, "channel_is_archived": 410,
                "rollup_error": 500}
SLACK_STATUS_TEXT = {400: "invalid_payload", 403: "action_prohibited", 404: "channel_not_found",
                     410: "channel_is_archived", 413: "invalid_payload", 429: "rate_limited",
                     500: "rollup_error"}
WEBHOOK_RX = re.compile(r"^/services/[^/]+/[^/]+/[^/]+$")


SLACK_CONTROL_RX = re.compile(r"<([^<>]*)>")


def slack_render(text):
    """How Slack shows text (its formatting rules): `<...>` is a control sequence (a
    mention `<@U..>`, a broadcast `<!channel>`/`<!here>`/`<!everyone>`, a channel `<#C..>`,
    a link `<url|label>`), and only `&lt;`, `&gt;`, `&amp;` stand for `<`, `>`, `&`. Returns
    (the text as shown, the control sequences found): unescaped user text shows up as
    controls, and its `<`/`>` vanish from what people read."""
    controls = []

    def one(m):
        inner = m.group(1)
        controls.append(inner)
        target, _, label = inner.partition("|")
        if target.startswith("!"):
            return "@" + (label or target[1:])
        if target.startswith("@") or target.startswith("#"):
            return label or target
        return label or target

    shown = SLACK_CONTROL_RX.sub(one, text)
    shown = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return shown, controls


class SlackFake:
    name = "slack"

    def __init__(self, app):
        self.app = app
        self.load({})

    def load(self, s):
        s = s or {}
        hooks = s.get("webhooks")
        self.webhooks = None  # None: any /services/T/B/X path is a live webhook
        if hooks is not None:
            items = hooks.items() if isinstance(hooks, dict) else ((h, "ok") for h in hooks)
            self.webhooks = {}
            for path, outcome in items:
                path = urllib.parse.urlsplit(path).path if "://" in path else path
                if outcome != "ok" and outcome not in SLACK_ERRORS:
                    raise ValueError("slack.webhooks[%s]: 'ok' or one of %s" % (path, ", ".join(SLACK_ERRORS)))
                self.webhooks[path] = outcome
        self.messages = list(s.get("messages") or [])

    def dump(self):
        return {"webhooks": self.webhooks, "messages": self.messages}

    def error(self, status, req=None, code=None, message=None, retry_after=None):
        text = code or SLACK_STATUS_TEXT.get(status, "internal_error" if status >= 500 else "invalid_payload")
        return text_response(status, text)

    def handle(self, req):
        path = req.path
        if not WEBHOOK_RX.match(path):
            return text_response(404, "no_service")
        if req.method != "POST":
            return text_response(405, "invalid_payload")
        if self.webhooks is not None:
            outcome = self.webhooks.get(path)
            if outcome is None:
                return text_response(404, "no_service")
            if outcome != "ok":
                return text_response(SLACK_ERRORS[outcome], outcome)
        ctype = (req.header("Content-Type") or "").split(";")[0].strip().lower()
        msg = req.json if req.json_error is None else None
        if msg is None and ctype == "application/x-www-form-urlencoded":
            # The legacy form: payload=<url-encoded JSON>.
            form = urllib.parse.parse_qs(req.body.decode("utf-8", "replace"))
            try:
                msg = json.loads(form.get("payload", [""])[0])
            except ValueError:
                msg = None
        if not isinstance(msg, dict):
            return text_response(400, "invalid_payload")
        text, blocks, att = msg.get("text"), msg.get("blocks"), msg.get("attachments")
        if text is not None and not isinstance(text, str):
            return text_response(400, "invalid_payload")
        if blocks is not None and (not isinstance(blocks, list)
                                   or not all(isinstance(b, dict) and isinstance(b.get("type"), str)
                                              for b in blocks)):
            return text_response(400, "invalid_blocks")
        if not text and not blocks and not att:
            return text_response(400, "invalid_payload")
        rendered, controls = slack_render(text or "")
        self.messages.append({"webhook": path, "text": text, "blocks": blocks, "attachments": att,
                              "rendered": rendered, "controls": controls, "time": iso_ms()})
        return text_response(200, "ok")


# ---- PagerDuty Events API v2 (§6.1) ---------------------------------------------------

PD_ACTIONS = ("trigger", "acknowledge", "resolve")
PD_SEVERITIES = ("critical", "error", "warning", "info")


def pd_body(status, message, errors):
    return {"status": status, "message": message, "errors": errors}


class PagerDutyFake:
    name = "pagerduty"

    def __init__(self, app):
        self.app = app
        self.load({})

    def load(self, s):
        s = s or {}
        keys = s.get("routing_keys")
        self.routing_keys = None if keys is None else list(keys)
        self.events = list(s.get("events") or [])
        self.alerts = list(s.get("alerts") or [])

    def dump(self):
        return {"routing_keys": self.routing_keys, "events": self.events, "alerts": self.alerts}

    def error(self, status, req=None, code=None, message=None, retry_after=None):
        if status == 429:
            body = pd_body(code or "throttle event", message or "Requests for this service are arriving "
                           "too quickly. Please retry later.", ["Too many requests"])
        elif status == 413:
            body = pd_body("invalid event", "Event object is invalid", ["Payload too large"])
        elif status >= 500:
            body = pd_body(code or "internal error", message or "Injected %d by fakesaas" % status,
                           ["Internal server error"])
        else:
            body = pd_body(code or "invalid event", message or "Event object is invalid",
                           ["Injected %d by fakesaas" % status])
        return json_response(status, body)

    def _validate(self, ev):
        errs = []
        rk = ev.get("routing_key")
        if rk is None or rk == "":
            errs.append("'routing_key' is missing or blank")
        elif not isinstance(rk, str) or len(rk) != 32:
            errs.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        elif self.routing_keys is not None and rk not in self.routing_keys:
            errs.append("Invalid routing key")
        action = ev.get("event_action")
        if action not in PD_ACTIONS:
            errs.append("'event_action' is invalid (must be one of trigger, acknowledge or resolve)")
        dk = ev.get("dedup_key")
        if dk is not None and (not isinstance(dk, str) or len(dk) > 255):
            errs.append("'dedup_key' must be a string of at most 255 characters")
        if action in ("acknowledge", "resolve") and not dk:
            errs.append("'dedup_key' is missing or blank")
        if action == "trigger":
            p = ev.get("payload")
            if not isinstance(p, dict):
                errs.append("'payload' is missing or blank")
            else:
                s = p.get("summary")
                if not isinstance(s, str) or not s:
                    errs.append("'payload.summary' is missing or blank")
                elif len(s) > 1024:
                    errs.append("'payload.summary' must be at most 1024 characters")
                if not isinstance(p.get("source"), str) or not p.get("source"):
                    errs.append("'payload.source' is missing or blank")
                if p.get("severity") not in PD_SEVERITIES:
                    errs.append("'payload.severity' is invalid (must be one of critical, error, "
                                "warning or info)")
                if "custom_details" in p and not isinstance(p["custom_details"], (dict, str)):
                    errs.append("'payload.custom_details' must be an object")
        return errs

    def handle(self, req):
        if req.path.rstrip("/") != "/v2/enqueue":
            return json_response(404, pd_body("Not Found", "Not Found", ["Unknown path"]))
        if req.method != "POST":
            return json_response(405, pd_body("Method Not Allowed", "Method Not Allowed",
                                              ["Use POST"]))
        if req.json_error is not None or not isinstance(req.json, dict):
            return json_response(400, pd_body("Unrecognized object", "Event object format is unrecognized",
                                              ["JSON parse error"]))
        ev = req.json
        errs = self._validate(ev)
        if errs:
            return json_response(400, pd_body("invalid event", "Event object is invalid", errs))
        rk, action = ev["routing_key"], ev["event_action"]
        dk = ev.get("dedup_key") or hex_id(32)
        now = iso_ms()
        open_alert = next((a for a in self.alerts if a["routing_key"] == rk and a["dedup_key"] == dk
                           and a["status"] != "resolved"), None)
        if action == "trigger":
            if open_alert is None:
                p = ev["payload"]
                self.alerts.append({"routing_key": rk, "dedup_key": dk, "status": "triggered",
                                    "summary": p["summary"], "source": p["source"],
                                    "severity": p["severity"], "created": now, "updated": now})
                outcome = "opened"
            else:
                open_alert["updated"] = now
                outcome = "deduplicated"
        elif open_alert is None:
            outcome = "dropped"  # ack/resolve with no open alert is a no-op
        else:
            open_alert["status"] = "acknowledged" if action == "acknowledge" else "resolved"
            open_alert["updated"] = now
            outcome = open_alert["status"]
        self.events.append({"time": now, "routing_key": rk, "event_action": action, "dedup_key": dk,
                            "payload": ev.get("payload"), "client": ev.get("client"),
                            "client_url": ev.get("client_url"), "outcome": outcome})
        return json_response(202, {"status": "success", "message": "Event processed", "dedup_key": dk})


# ---- Statuspage (§6.3) ----------------------------------------------------------------

SP_STATUSES = ("investigating", "identified", "monitoring", "resolved",
               "scheduled", "in_progress", "verifying", "completed")
SP_IMPACTS = ("none", "maintenance", "minor", "major", "critical")
SP_COMPONENT = ("operational", "under_maintenance", "degraded_performance", "partial_outage",
                "major_outage")
IMPACT_OF = {"major_outage": "critical", "partial_outage": "major", "degraded_performance": "minor",
             "under_maintenance": "maintenance", "operational": "none"}


class SpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class StatuspageFake:
    name = "statuspage"

    def __init__(self, app):
        self.app = app
        r = Router()
        pg = r"/pages/(?P<page>[^/]+)"
        r.add("GET", pg + "/incidents", self.list_incidents)
        r.add("POST", pg + "/incidents", self.create_incident)
        r.add("GET", pg + "/incidents/unresolved", self.list_unresolved)
        r.add("GET", pg + "/incidents/(?P<inc>[^/]+)", self.get_incident)
        r.add("PATCH", pg + "/incidents/(?P<inc>[^/]+)", self.update_incident)
        r.add("PUT", pg + "/incidents/(?P<inc>[^/]+)", self.update_incident)
        r.add("GET", pg + "/components", self.list_components)
        r.add("GET", pg + "/components/(?P<comp>[^/]+)", self.get_component)
        r.add("PATCH", pg + "/components/(?P<comp>[^/]+)", self.update_component)
        r.add("PUT", pg + "/components/(?P<comp>[^/]+)", self.update_component)
        self.router = r
        self.load({})

    def load(self, s):
        s = s or {}
        self.api_keys = list(s.get("api_keys") or [])
        pages = s.get("pages")
        self.open_pages = not pages  # no pages seeded: any page id exists on first use
        self.pages = {}
        for ps in pages or []:
            if not ps.get("id"):
                raise ValueError("statuspage.pages[]: id is required")
            page = self._new_page(ps["id"], ps.get("name"))
            for cs in ps.get("components") or []:
                c = self._new_component(page, cs.get("id") or rand_id(12, LOWER_ALNUM), cs.get("name"),
                                        cs.get("status", "operational"))
                page["components"][c["id"]] = c
            for inc in ps.get("incidents") or []:
                page["incidents"][inc["id"]] = dict(inc)
            self.pages[page["id"]] = page

    def dump(self):
        return {"api_keys_redacted": ["****" + k[-4:] for k in self.api_keys],
                "pages": [{"id": p["id"], "name": p["name"],
                           "components": list(p["components"].values()),
                           "incidents": list(p["incidents"].values())} for p in self.pages.values()]}

    @staticmethod
    def _new_page(pid, name=None):
        return {"id": pid, "name": name or pid, "components": {}, "incidents": {}}

    @staticmethod
    def _new_component(page, cid, name=None, status="operational"):
        t = iso_ms()
        return {"id": cid, "page_id": page["id"], "group_id": None, "name": name or cid,
                "description": None, "status": status, "position": len(page["components"]) + 1,
                "showcase": True, "only_show_if_degraded": False, "group": False,
                "automation_email": "component+%s@notifications.statuspage.io" % cid,
                "start_date": t[:10], "created_at": t, "updated_at": t}

    def error(self, status, req=None, code=None, message=None, retry_after=None):
        if status in (420, 429):
            return json_response(status, {"message": message or "Rate limit exceeded"})
        return json_response(status, {"message": message or "Injected %d by fakesaas" % status})

    def handle(self, req):
        path = req.path
        if path.startswith("/v1/"):
            path = path[3:]
        try:
            key = None
            auth = req.header("Authorization")
            if auth:
                parts = auth.split(None, 1)
                if len(parts) == 2 and parts[0].lower() == "oauth":
                    key = parts[1].strip()
            if key is None:
                key = req.q("api_key")
            accepted = self.api_keys or self.app.tokens
            if not key or (accepted and key not in accepted):
                raise SpError(401, "Could not authenticate")
            handler, info = self.router.match(req.method, path)
            if handler is None:
                if info == "method":
                    raise SpError(405, "Method not allowed")
                raise SpError(404, "Not found")
            return handler(req, **info)
        except SpError as e:
            return json_response(e.status, {"message": e.message})

    def _page(self, pid):
        page = self.pages.get(pid)
        if page is None:
            if not self.open_pages:
                raise SpError(404, "Page not found")
            page = self.pages[pid] = self._new_page(pid)
        return page

    @staticmethod
    def _wrapped(req, wrapper):
        if req.json_error is not None or not isinstance(req.json, dict):
            raise SpError(400, "The request body must be a JSON object")
        obj = req.json.get(wrapper)
        if not isinstance(obj, dict):
            raise SpError(400, "%s is missing" % wrapper)
        return obj

    def _component(self, page, cid, create):
        c = page["components"].get(cid)
        if c is None:
            if not (create and self.open_pages):
                raise SpError(422, "Component %s not found on this page" % cid)
            c = page["components"][cid] = self._new_component(page, cid)
        return c

    def _check_incident(self, page, inc, creating):
        if creating and (not isinstance(inc.get("name"), str) or not inc["name"].strip()):
            raise SpError(422, "Name can't be blank")
        if "name" in inc and not isinstance(inc["name"], str):
            raise SpError(422, "Name must be a string")
        if isinstance(inc.get("name"), str) and len(inc["name"]) > 255:
            raise SpError(422, "Name is too long (maximum is 255 characters)")
        if "status" in inc and inc["status"] not in SP_STATUSES:
            raise SpError(422, "Status is not included in the list")
        if inc.get("impact_override") is not None and inc["impact_override"] not in SP_IMPACTS:
            raise SpError(422, "Impact override is not included in the list")
        if "body" in inc and inc["body"] is not None and not isinstance(inc["body"], str):
            raise SpError(422, "Body must be a string")
        comps = inc.get("components")
        if comps is not None:
            if not isinstance(comps, dict) or any(v not in SP_COMPONENT for v in comps.values()):
                raise SpError(422, "Components must map component ids to a component status")
            for cid in comps:
                self._component(page, cid, create=True)
        ids = inc.get("component_ids")
        if ids is not None:
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise SpError(422, "Component ids must be a list of ids")
            for cid in ids:
                self._component(page, cid, create=True)

    def _apply(self, page, rec, inc, creating):
        now = iso_ms()
        old_status = rec.get("status")
        for f in ("name", "impact_override", "deliver_notifications", "metadata"):
            if f in inc:
                rec[f] = inc[f]
        if "status" in inc:
            rec["status"] = inc["status"]
        affected = []
        for cid, st in (inc.get("components") or {}).items():
            c = page["components"][cid]
            affected.append({"code": cid, "name": c["name"], "old_status": c["status"], "new_status": st})
            c["status"] = st
            c["updated_at"] = now
        ids = list(rec.get("component_ids") or [])
        for cid in list(inc.get("component_ids") or []) + list((inc.get("components") or {}).keys()):
            if cid not in ids:
                ids.append(cid)
        rec["component_ids"] = ids
        rec["components"] = [page["components"][cid] for cid in ids if cid in page["components"]]
        if rec.get("impact_override"):
            rec["impact"] = rec["impact_override"]
        else:
            order = list(SP_IMPACTS)
            rec["impact"] = max((IMPACT_OF[c["status"]] for c in rec["components"]),
                                key=order.index, default="none")
        if rec["status"] == "monitoring" and old_status != "monitoring":
            rec["monitoring_at"] = now
        if rec["status"] in ("resolved", "completed") and old_status not in ("resolved", "completed"):
            rec["resolved_at"] = now
        rec["updated_at"] = now
        if creating or "body" in inc or "status" in inc or affected:
            rec["incident_updates"].insert(0, {
                "id": rand_id(12, LOWER_ALNUM), "incident_id": rec["id"], "status": rec["status"],
                "body": inc.get("body") or "", "created_at": now, "updated_at": now, "display_at": now,
                "affected_components": affected or None,
                "deliver_notifications": inc.get("deliver_notifications", True),
                "custom_tweet": None, "tweet_id": None, "twitter_updated_at": None,
                "wants_twitter_update": False})

    def create_incident(self, req, page):
        pg = self._page(page)
        inc = self._wrapped(req, "incident")
        self._check_incident(pg, inc, creating=True)
        now = iso_ms()
        iid = rand_id(12, LOWER_ALNUM)
        rec = {"id": iid, "name": None, "status": "investigating", "impact": "none",
               "impact_override": None, "shortlink": "https://stspg.io/" + rand_id(7),
               "created_at": now, "updated_at": now, "started_at": now, "monitoring_at": None,
               "resolved_at": None, "page_id": pg["id"], "incident_updates": [], "components": [],
               "component_ids": [], "postmortem_body": None, "postmortem_published_at": None,
               "scheduled_for": None, "scheduled_until": None, "metadata": {},
               "deliver_notifications": True}
        self._apply(pg, rec, inc, creating=True)
        pg["incidents"][iid] = rec
        return json_response(201, rec)

    def _incident(self, pg, inc):
        rec = pg["incidents"].get(inc)
        if rec is None:
            raise SpError(404, "Incident not found")
        return rec

    def update_incident(self, req, page, inc):
        pg = self._page(page)
        rec = self._incident(pg, inc)
        body = self._wrapped(req, "incident")
        self._check_incident(pg, body, creating=False)
        self._apply(pg, rec, body, creating=False)
        return json_response(200, rec)

    def get_incident(self, req, page, inc):
        return json_response(200, self._incident(self._page(page), inc))

    @staticmethod
    def _paged(req, incs):
        """Statuspage's lists are paged: `page` (from 1) and `per_page` (at most 100, the
        default), newest first; a client that reads only the first page misses the rest."""
        try:
            page = int(req.q("page", "1"))
            per_page = int(req.q("per_page", "100"))
        except ValueError:
            raise SpError(400, "page and per_page must be integers")
        if page < 1 or not 1 <= per_page <= 100:
            raise SpError(400, "page must be at least 1 and per_page 1 to 100")
        # created_at has millisecond steps: the order of creation breaks ties.
        incs = [i for _, i in sorted(enumerate(incs), key=lambda p: (p[1]["created_at"], p[0]),
                                     reverse=True)]
        return json_response(200, incs[(page - 1) * per_page: page * per_page])

    def list_incidents(self, req, page):
        incs = list(self._page(page)["incidents"].values())
        q = (req.q("q") or "").lower()
        if q:
            incs = [i for i in incs if q in (i.get("name") or "").lower()
                    or any(q in (u.get("body") or "").lower() for u in i["incident_updates"])]
        return self._paged(req, incs)

    def list_unresolved(self, req, page):
        incs = [i for i in self._page(page)["incidents"].values()
                if i["status"] not in ("resolved", "completed")]
        return self._paged(req, incs)

    def list_components(self, req, page):
        return json_response(200, list(self._page(page)["components"].values()))

    def get_component(self, req, page, comp):
        pg = self._page(page)
        c = pg["components"].get(comp)
        if c is None:
            raise SpError(404, "Component not found")
        return json_response(200, c)

    def update_component(self, req, page, comp):
        pg = self._page(page)
        body = self._wrapped(req, "component")
        c = pg["components"].get(comp)
        if c is None:
            if not self.open_pages:
                raise SpError(404, "Component not found")
            c = pg["components"][comp] = self._new_component(pg, comp)
        if "status" in body and body["status"] not in SP_COMPONENT:
            raise SpError(422, "Status is not included in the list")
        for f in ("status", "name", "description"):
            if f in body:
                c[f] = body[f]
        c["updated_at"] = iso_ms()
        return json_response(200, c)
