"""Fake Cloudflare API v4 (reference/external-apis.md §2).

DNS records (§2.2 list with filters, get, PATCH merges, PUT replaces, plus create and
delete), load-balancer pools (§2.4 get/list/PATCH/PUT/health; PATCH of `origins`
replaces the whole list), zone load balancers (§2.5), purge cache (§2.6), and
`GET /user/tokens/verify` for credential checks. Every answer carries the four-key
envelope; lists add `result_info`. A sliding-window limiter (default 1200 requests /
300 s per token, §2.1) answers 429 with `retry-after` and then blocks every call of that
token until the window has passed.
"""

import collections
import ipaddress
import math
import time

from fake_common import Router, hex_id, iso_time, json_response

# A zone's plan (GET /zones/{id} `plan`): its legacy_id and display name. Only Enterprise
# zones take a TTL below 60 ("between 60 and 86400, with the minimum reduced to 30 for
# Enterprise zones").
PLANS = {"free": "Free Website", "pro": "Pro Website", "business": "Business Website",
         "enterprise": "Enterprise Website"}
DNS_TYPES = ("A", "AAAA", "CNAME", "TXT", "MX", "NS", "SRV", "CAA", "PTR", "HTTPS", "SVCB")
PROXIABLE = ("A", "AAAA", "CNAME")
POOL_FIELDS = ("name", "description", "enabled", "minimum_origins", "monitor", "origins",
               "check_regions", "notification_email", "latitude", "longitude",
               "origin_steering", "load_shedding", "notification_filter")
LB_FIELDS = ("name", "description", "default_pools", "fallback_pool", "region_pools",
             "pop_pools", "country_pools", "steering_policy", "proxied", "ttl", "enabled",
             "session_affinity", "adaptive_routing", "location_strategy", "random_steering")
STEERING = ("off", "geo", "random", "dynamic_latency", "proximity",
            "least_outstanding_requests", "least_connections", "")


class CfError(Exception):
    def __init__(self, status, *errors):
        super().__init__(errors[0][1])
        self.status = status
        self.errors = [{"code": c, "message": m} for c, m in errors]


def envelope(result, result_info=None, messages=None):
    body = {"success": True, "errors": [], "messages": messages or [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return body


def route_error(path):
    return CfError(400, (7003, "Could not route to %s, perhaps your object identifier is invalid?" % path),
                   (7000, "No route for that URI"))


class CloudflareFake:
    name = "cloudflare"

    def __init__(self, app):
        self.app = app
        r = Router()
        z = r"/zones/(?P<zone>[^/]+)"
        a = r"/accounts/(?P<account>[^/]+)"
        r.add("GET", z, self.get_zone)
        r.add("GET", z + "/dns_records", self.list_records)
        r.add("POST", z + "/dns_records", self.create_record)
        r.add("GET", z + "/dns_records/(?P<rid>[^/]+)", self.get_record)
        r.add("PATCH", z + "/dns_records/(?P<rid>[^/]+)", self.patch_record)
        r.add("PUT", z + "/dns_records/(?P<rid>[^/]+)", self.put_record)
        r.add("DELETE", z + "/dns_records/(?P<rid>[^/]+)", self.delete_record)
        r.add("GET", z + "/load_balancers", self.list_lbs)
        r.add("GET", z + "/load_balancers/(?P<lb>[^/]+)", self.get_lb)
        r.add("PATCH", z + "/load_balancers/(?P<lb>[^/]+)", self.patch_lb)
        r.add("PUT", z + "/load_balancers/(?P<lb>[^/]+)", self.put_lb)
        r.add("POST", z + "/purge_cache", self.purge_cache)
        r.add("GET", a + "/load_balancers/pools", self.list_pools)
        r.add("GET", a + "/load_balancers/pools/(?P<pool>[^/]+)", self.get_pool)
        r.add("PATCH", a + "/load_balancers/pools/(?P<pool>[^/]+)", self.patch_pool)
        r.add("PUT", a + "/load_balancers/pools/(?P<pool>[^/]+)", self.put_pool)
        r.add("GET", a + "/load_balancers/pools/(?P<pool>[^/]+)/health", self.pool_health)
        r.add("GET", "/user/tokens/verify", self.verify_token)
        self.router = r
        self.load({})

    # ---- state -------------------------------------------------------------------

    def load(self, s):
        s = s or {}
        self.tokens = list(s.get("tokens") or [])
        rl = s.get("rate_limit") or {}
        self.rl_requests = int(rl.get("requests", 1200))
        self.rl_window = float(rl.get("window", 300))
        self.windows = {}
        self.blocked = {}
        self.zones = {}
        self.accounts = {}
        self.purges = list(s.get("purges") or [])
        for zs in s.get("zones") or []:
            if not zs.get("id") or not zs.get("name"):
                raise ValueError("cloudflare.zones[]: id and name are required")
            plan = zs.get("plan", "free")
            plan = plan.get("legacy_id", "free") if isinstance(plan, dict) else plan
            if plan not in PLANS:
                raise ValueError("cloudflare.zones[].plan: one of %s" % ", ".join(PLANS))
            zone = {"id": zs["id"], "name": zs["name"].lower(), "plan": plan, "dns_records": {},
                    "load_balancers": {}}
            self.zones[zone["id"]] = zone
            for rs in zs.get("dns_records") or []:
                rec = self._new_record(zone, rs, check=False)
                zone["dns_records"][rec["id"]] = rec
            for ls in zs.get("load_balancers") or []:
                lb = dict(ls)
                lb.setdefault("id", hex_id())
                lb.setdefault("name", zone["name"])
                lb.setdefault("enabled", True)
                lb.setdefault("proxied", True)
                lb.setdefault("ttl", 30)
                lb.setdefault("steering_policy", "off")
                lb.setdefault("created_on", iso_time())
                lb.setdefault("modified_on", lb["created_on"])
                zone["load_balancers"][lb["id"]] = lb
        for acs in s.get("accounts") or []:
            if not acs.get("id"):
                raise ValueError("cloudflare.accounts[]: id is required")
            acc = {"id": acs["id"], "pools": {}}
            self.accounts[acc["id"]] = acc
            for ps in acs.get("pools") or []:
                pool = dict(ps)
                pool.setdefault("id", hex_id())
                pool.setdefault("name", pool["id"])
                pool.setdefault("enabled", True)
                pool.setdefault("minimum_origins", 1)
                pool.setdefault("origins", [])
                pool.setdefault("check_regions", None)
                pool.setdefault("description", "")
                pool.setdefault("monitor", None)
                pool.setdefault("created_on", iso_time())
                pool.setdefault("modified_on", pool["created_on"])
                acc["pools"][pool["id"]] = pool

    def dump(self):
        return {
            "tokens_redacted": ["****" + t[-4:] for t in self.tokens],
            "rate_limit": {"requests": self.rl_requests, "window": self.rl_window},
            "zones": [{"id": z["id"], "name": z["name"], "plan": z["plan"],
                       "dns_records": list(z["dns_records"].values()),
                       "load_balancers": list(z["load_balancers"].values())}
                      for z in self.zones.values()],
            "accounts": [{"id": a["id"], "pools": list(a["pools"].values())}
                         for a in self.accounts.values()],
            "purges": self.purges,
        }

    # ---- dispatch ----------------------------------------------------------------

    def error(self, status, req=None, code=None, message=None, retry_after=None):
        if status == 429:
            errs = [(code or 971, message or "Please wait and consider throttling your request speed")]
        else:
            errs = [(code or (10000 + status if status >= 500 else 1000 + status),
                     message or "Injected %d by fakesaas" % status)]
        return json_response(status, {"success": False,
                                      "errors": [{"code": c, "message": m} for c, m in errs],
                                      "messages": [], "result": None})

    def handle(self, req):
        path = req.path
        if path.startswith("/client/v4/") or path == "/client/v4":
            path = path[len("/client/v4"):]
        token = None
        try:
            token = self._auth(req)
            self._rate_limit(token)
            handler, info = self.router.match(req.method, path)
            if handler is None:
                if info == "method":
                    raise CfError(405, (7001, "Method %s not allowed for this route" % req.method))
                raise route_error(path)
            resp = handler(req, **info)
        except CfError as e:
            resp = json_response(e.status, {"success": False, "errors": e.errors,
                                            "messages": [], "result": None})
            if e.status == 429:
                resp.headers.append(("retry-after", str(self._retry_after(token))))
        if token is not None:
            resp.headers.extend(self._rl_headers(token))
        return resp

    def _auth(self, req):
        token = req.bearer()
        if token is None and req.header("X-Auth-Key") and req.header("X-Auth-Email"):
            token = req.header("X-Auth-Key")
        accepted = self.tokens or self.app.tokens
        if not token or (accepted and token not in accepted):
            raise CfError(403, (10000, "Authentication error"))
        return token

    def _rate_limit(self, token):
        now = time.monotonic()
        if self.blocked.get(token, 0) > now:
            raise CfError(429, (971, "Please wait and consider throttling your request speed"))
        win = self.windows.setdefault(token, collections.deque())
        while win and win[0] <= now - self.rl_window:
            win.popleft()
        if len(win) >= self.rl_requests:
            # Exceeding the limit blocks every call for the whole window (§2.1).
            self.blocked[token] = now + self.rl_window
            raise CfError(429, (971, "Please wait and consider throttling your request speed"))
        win.append(now)

    def _retry_after(self, token):
        left = self.blocked.get(token, 0) - time.monotonic()
        return max(1, math.ceil(left))

    def _rl_headers(self, token):
        now = time.monotonic()
        win = self.windows.get(token) or collections.deque()
        remaining = max(0, self.rl_requests - len(win))
        reset = math.ceil(win[0] + self.rl_window - now) if win else 0
        if self.blocked.get(token, 0) > now:
            remaining, reset = 0, self._retry_after(token)
        return [("Ratelimit", '"default";r=%d;t=%d' % (remaining, max(0, reset))),
                ("Ratelimit-Policy", '"default";q=%d;w=%d' % (self.rl_requests, self.rl_window))]

    def reset_limits(self):
        self.windows = {}
        self.blocked = {}

    # ---- helpers -----------------------------------------------------------------

    def _zone(self, zone_id, path):
        z = self.zones.get(zone_id)
        if z is None:
            raise route_error(path)
        return z

    @staticmethod
    def _body(req):
        if req.json_error is not None or not req.body:
            raise CfError(400, (6007, "Malformed JSON in request body"))
        if not isinstance(req.json, dict):
            raise CfError(400, (9207, "Request body is invalid."))
        return req.json

    @staticmethod
    def _fqdn(zone, name):
        name = name.strip().rstrip(".").lower()
        if name in ("@", ""):
            return zone["name"]
        if name == zone["name"] or name.endswith("." + zone["name"]):
            return name
        return name + "." + zone["name"]

    def _validate_record(self, zone, rec, self_id):
        if not isinstance(rec.get("name"), str) or not rec["name"]:
            raise CfError(400, (9000, "DNS name is invalid."))
        if rec.get("type") not in DNS_TYPES:
            raise CfError(400, (1004, "DNS Validation Error: type %r is not supported" % rec.get("type")))
        if not isinstance(rec.get("content"), str) or not rec["content"]:
            raise CfError(400, (1004, "DNS Validation Error: content is required"))
        ttl = rec.get("ttl")
        low = 30 if zone["plan"] == "enterprise" else 60
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not (ttl == 1 or low <= ttl <= 86400):
            raise CfError(400, (9021, "TTL must be between %d and 86400 seconds, or 1 for Automatic."
                                % low))
        if not isinstance(rec.get("proxied"), bool):
            raise CfError(400, (1004, "DNS Validation Error: proxied must be a boolean"))
        if rec["proxied"] and rec["type"] not in PROXIABLE:
            raise CfError(400, (9004, "This record type cannot be proxied."))
        if rec["type"] == "A":
            try:
                ipaddress.IPv4Address(rec["content"])
            except ValueError:
                raise CfError(400, (9005, "Content for A record must be a valid IPv4 address."))
        if rec["type"] == "AAAA":
            try:
                ipaddress.IPv6Address(rec["content"])
            except ValueError:
                raise CfError(400, (9006, "Content for AAAA record must be a valid IPv6 address."))
        for other in zone["dns_records"].values():
            if other["id"] == self_id or other["name"] != rec["name"]:
                continue
            if (rec["type"] == "CNAME" and other["type"] in PROXIABLE) or \
                    (rec["type"] in ("A", "AAAA") and other["type"] == "CNAME"):
                raise CfError(400, (81053, "An A, AAAA, or CNAME record with that host already exists."))

    def _new_record(self, zone, spec, check=True):
        t = iso_time()
        rec = {
            "id": spec.get("id") or hex_id(), "zone_id": zone["id"], "zone_name": zone["name"],
            "name": self._fqdn(zone, spec.get("name") or "") if isinstance(spec.get("name"), str) else spec.get("name"),
            "type": spec.get("type"), "content": spec.get("content"),
            "proxiable": spec.get("type") in PROXIABLE, "proxied": spec.get("proxied", False),
            "ttl": spec.get("ttl", 1), "locked": False, "comment": spec.get("comment"),
            "tags": list(spec.get("tags") or []),
            "meta": {"auto_added": False, "managed_by_apps": False, "managed_by_argo_tunnel": False},
            "created_on": spec.get("created_on", t), "modified_on": spec.get("modified_on", t),
        }
        if "priority" in spec:
            rec["priority"] = spec["priority"]
        if check:
            self._validate_record(zone, rec, rec["id"])
        return rec

    def _record(self, zone, rid):
        rec = zone["dns_records"].get(rid)
        if rec is None:
            raise CfError(404, (81044, "Record does not exist."))
        return rec

    # ---- DNS records (§2.2, §2.3) --------------------------------------------------

    def get_zone(self, req, zone):
        z = self._zone(zone, req.path)
        return json_response(200, envelope({
            "id": z["id"], "name": z["name"], "status": "active", "paused": False, "type": "full",
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
            "plan": {"id": hex_id(), "name": PLANS[z["plan"]], "legacy_id": z["plan"],
                     "is_subscribed": True, "can_subscribe": False, "price": 0,
                     "currency": "USD", "frequency": ""},
            "account": {"id": next(iter(self.accounts), hex_id()), "name": "fakesaas"},
            "created_on": iso_time(), "modified_on": iso_time()}))

    def list_records(self, req, zone):
        z = self._zone(zone, req.path)
        recs = list(z["dns_records"].values())
        tests = []
        if req.q("type"):
            tests.append(lambda r, v=req.q("type").upper(): r["type"] == v)
        for field in ("name", "content", "comment"):
            for op in ("", ".exact", ".contains", ".startswith", ".endswith"):
                val = req.q(field + op)
                if val is None:
                    continue
                # No completion: a filter's name is the record's whole name ("api" finds
                # nothing in zone example.com), as in the real API.
                val = val.lower()
                fn = {"": str.__eq__, ".exact": str.__eq__, ".contains": str.__contains__,
                      ".startswith": str.startswith, ".endswith": str.endswith}[op]
                tests.append(lambda r, f=field, fn=fn, v=val: fn((r.get(f) or "").lower(), v))
        if req.q("proxied") is not None:
            want = req.q("proxied").lower() == "true"
            tests.append(lambda r, w=want: r["proxied"] == w)
        if req.q("match", "all") == "any" and tests:
            recs = [r for r in recs if any(t(r) for t in tests)]
        else:
            recs = [r for r in recs if all(t(r) for t in tests)]
        order = req.q("order")
        if order in ("type", "name", "content", "ttl", "proxied"):
            recs.sort(key=lambda r: (r[order] is None, r[order]), reverse=req.q("direction") == "desc")
        try:
            page = int(req.q("page", "1"))
            per_page = int(req.q("per_page", "100"))
        except ValueError:
            raise CfError(400, (1004, "DNS Validation Error: page and per_page must be integers"))
        if page < 1 or not 1 <= per_page <= 5000000:
            raise CfError(400, (1004, "DNS Validation Error: page or per_page out of range"))
        chunk = recs[(page - 1) * per_page: page * per_page]
        info = {"page": page, "per_page": per_page, "count": len(chunk), "total_count": len(recs),
                "total_pages": max(1, math.ceil(len(recs) / per_page))}
        return json_response(200, envelope(chunk, info))

    def get_record(self, req, zone, rid):
        z = self._zone(zone, req.path)
        return json_response(200, envelope(self._record(z, rid)))

    def create_record(self, req, zone):
        z = self._zone(zone, req.path)
        body = self._body(req)
        rec = self._new_record(z, {k: v for k, v in body.items() if k not in ("id", "created_on", "modified_on")})
        z["dns_records"][rec["id"]] = rec
        return json_response(200, envelope(rec))

    def _apply(self, z, rec, body, replace):
        editable = ("name", "type", "content", "ttl", "proxied", "comment", "tags", "priority")
        if replace:
            for f in ("name", "type", "content", "ttl"):
                if f not in body:
                    raise CfError(400, (1004, "DNS Validation Error: %s is required" % f))
            new = {k: v for k, v in rec.items() if k not in editable}
            new.update({"proxied": False, "comment": None, "tags": []})
        else:
            new = dict(rec)
        for f in editable:
            if f in body:
                new[f] = body[f]
        if isinstance(new.get("name"), str):
            new["name"] = self._fqdn(z, new["name"])
        if isinstance(new.get("type"), str):
            new["type"] = new["type"].upper()
        new["proxiable"] = new.get("type") in PROXIABLE
        self._validate_record(z, new, rec["id"])
        new["modified_on"] = iso_time()
        rec.clear()
        rec.update(new)
        return json_response(200, envelope(rec))

    def patch_record(self, req, zone, rid):
        z = self._zone(zone, req.path)
        rec = self._record(z, rid)
        return self._apply(z, rec, self._body(req), replace=False)

    def put_record(self, req, zone, rid):
        z = self._zone(zone, req.path)
        rec = self._record(z, rid)
        return self._apply(z, rec, self._body(req), replace=True)

    def delete_record(self, req, zone, rid):
        z = self._zone(zone, req.path)
        self._record(z, rid)
        del z["dns_records"][rid]
        return json_response(200, envelope({"id": rid}))

    # ---- load balancers (§2.5) and pools (§2.4) ------------------------------------

    def _lb(self, z, lb):
        obj = z["load_balancers"].get(lb)
        if obj is None:
            raise CfError(404, (1002, "load balancer not found"))
        return obj

    def _check_lb(self, acc_pools, body):
        for f in ("default_pools",):
            if f in body and (not isinstance(body[f], list) or not all(isinstance(p, str) for p in body[f])):
                raise CfError(400, (1002, "%s must be a list of pool ids: validation failed" % f))
        if "fallback_pool" in body and not isinstance(body["fallback_pool"], str):
            raise CfError(400, (1002, "fallback_pool must be a pool id: validation failed"))
        if "steering_policy" in body and body["steering_policy"] not in STEERING:
            raise CfError(400, (1002, "steering_policy is invalid: validation failed"))
        for f in ("proxied", "enabled"):
            if f in body and not isinstance(body[f], bool):
                raise CfError(400, (1002, "%s must be a boolean: validation failed" % f))
        known = set(acc_pools)
        if known:
            for pid in list(body.get("default_pools") or []) + ([body["fallback_pool"]] if body.get("fallback_pool") else []):
                if pid not in known:
                    raise CfError(400, (1002, "pool %s does not exist: validation failed" % pid))

    def _all_pools(self):
        return {pid for a in self.accounts.values() for pid in a["pools"]}

    def list_lbs(self, req, zone):
        z = self._zone(zone, req.path)
        lbs = list(z["load_balancers"].values())
        return json_response(200, envelope(lbs, {"page": 1, "per_page": max(1, len(lbs)),
                                                 "count": len(lbs), "total_count": len(lbs),
                                                 "total_pages": 1}))

    def get_lb(self, req, zone, lb):
        z = self._zone(zone, req.path)
        return json_response(200, envelope(self._lb(z, lb)))

    def patch_lb(self, req, zone, lb):
        z = self._zone(zone, req.path)
        obj = self._lb(z, lb)
        body = self._body(req)
        self._check_lb(self._all_pools(), body)
        for f in LB_FIELDS:
            if f in body:
                obj[f] = body[f]
        obj["modified_on"] = iso_time()
        return json_response(200, envelope(obj))

    def put_lb(self, req, zone, lb):
        z = self._zone(zone, req.path)
        obj = self._lb(z, lb)
        body = self._body(req)
        for f in ("default_pools", "fallback_pool", "name"):
            if f not in body:
                raise CfError(400, (1002, "%s is required: validation failed" % f))
        self._check_lb(self._all_pools(), body)
        keep = {k: obj[k] for k in ("id", "created_on")}
        obj.clear()
        obj.update(keep)
        obj.update({"enabled": True, "proxied": False, "ttl": 30, "steering_policy": ""})
        obj.update({f: body[f] for f in LB_FIELDS if f in body})
        obj["modified_on"] = iso_time()
        return json_response(200, envelope(obj))

    def purge_cache(self, req, zone):
        z = self._zone(zone, req.path)
        body = self._body(req)
        forms = [k for k in ("purge_everything", "files", "tags", "hosts", "prefixes") if k in body]
        if len(forms) != 1:
            raise CfError(400, (1012, "Request must contain exactly one of \"purge_everything\", "
                                      "\"files\", \"tags\", \"hosts\" or \"prefixes\""))
        form = forms[0]
        if form == "purge_everything" and body[form] is not True:
            raise CfError(400, (1012, "purge_everything must be true"))
        if form != "purge_everything" and (not isinstance(body[form], list) or not body[form]
                                           or len(body[form]) > 100):
            raise CfError(400, (1012, "%s must be a list of 1 to 100 entries" % form))
        pid = hex_id()
        self.purges.append({"id": pid, "zone_id": z["id"], form: body[form], "time": iso_time()})
        return json_response(200, envelope({"id": pid}))

    def _account(self, account, path):
        acc = self.accounts.get(account)
        if acc is None:
            raise route_error(path)
        return acc

    @staticmethod
    def _pool(acc, pool):
        obj = acc["pools"].get(pool)
        if obj is None:
            raise CfError(404, (1002, "pool not found"))
        return obj

    @staticmethod
    def _check_pool(body):
        if "enabled" in body and not isinstance(body["enabled"], bool):
            raise CfError(400, (1002, "enabled must be a boolean: validation failed"))
        if "minimum_origins" in body and (not isinstance(body["minimum_origins"], int)
                                          or isinstance(body["minimum_origins"], bool)
                                          or body["minimum_origins"] < 0):
            raise CfError(400, (1002, "minimum_origins must be a non-negative integer: validation failed"))
        for f in ("name", "description", "monitor", "notification_email"):
            if f in body and body[f] is not None and not isinstance(body[f], str):
                raise CfError(400, (1002, "%s must be a string: validation failed" % f))
        if "origins" in body:
            origins = body["origins"]
            if not isinstance(origins, list) or not origins:
                raise CfError(400, (1002, "the origin list length must be in range [1, 0]: validation failed"))
            for o in origins:
                if not isinstance(o, dict) or not isinstance(o.get("name"), str) \
                        or not isinstance(o.get("address"), str) or not o["name"] or not o["address"]:
                    raise CfError(400, (1002, "each origin needs a name and an address: validation failed"))
                if "enabled" in o and not isinstance(o["enabled"], bool):
                    raise CfError(400, (1002, "origin enabled must be a boolean: validation failed"))
                w = o.get("weight", 1)
                if not isinstance(w, (int, float)) or isinstance(w, bool) or not 0 <= w <= 1:
                    raise CfError(400, (1002, "origin weight must be between 0 and 1: validation failed"))

    @staticmethod
    def _norm_origins(origins):
        out = []
        for o in origins:
            o = dict(o)
            o.setdefault("enabled", True)
            o.setdefault("weight", 1)
            out.append(o)
        return out

    def list_pools(self, req, account):
        acc = self._account(account, req.path)
        pools = list(acc["pools"].values())
        return json_response(200, envelope(pools, {"page": 1, "per_page": max(1, len(pools)),
                                                   "count": len(pools), "total_count": len(pools),
                                                   "total_pages": 1}))

    def get_pool(self, req, account, pool):
        acc = self._account(account, req.path)
        return json_response(200, envelope(self._pool(acc, pool)))

    def patch_pool(self, req, account, pool):
        acc = self._account(account, req.path)
        obj = self._pool(acc, pool)
        body = self._body(req)
        self._check_pool(body)
        for f in POOL_FIELDS:
            if f in body:
                # `origins` is one property: a PATCH replaces the whole list (§2.4).
                obj[f] = self._norm_origins(body[f]) if f == "origins" else body[f]
        obj["modified_on"] = iso_time()
        return json_response(200, envelope(obj))

    def put_pool(self, req, account, pool):
        acc = self._account(account, req.path)
        obj = self._pool(acc, pool)
        body = self._body(req)
        for f in ("name", "origins"):
            if f not in body:
                raise CfError(400, (1002, "%s is required: validation failed" % f))
        self._check_pool(body)
        keep = {k: obj[k] for k in ("id", "created_on")}
        obj.clear()
        obj.update(keep)
        obj.update({"enabled": True, "minimum_origins": 1, "description": "", "monitor": None,
                    "check_regions": None})
        obj.update({f: body[f] for f in POOL_FIELDS if f in body})
        obj["origins"] = self._norm_origins(obj["origins"])
        obj["modified_on"] = iso_time()
        return json_response(200, envelope(obj))

    def pool_health(self, req, account, pool):
        acc = self._account(account, req.path)
        obj = self._pool(acc, pool)
        origins = [{o["address"]: {"healthy": bool(obj["enabled"] and o.get("enabled", True)),
                                   "rtt": "12.1ms", "failure_reason": "No failures",
                                   "response_code": 200}} for o in obj["origins"]]
        healthy = obj["enabled"] and any(o.get("enabled", True) for o in obj["origins"])
        return json_response(200, envelope({"pool_id": obj["id"], "pop_health": {
            "Amsterdam, NL": {"healthy": bool(healthy), "origins": origins}}}))

    def verify_token(self, req):
        return json_response(200, envelope(
            {"id": hex_id(), "status": "active"},
            messages=[{"code": 10000, "message": "This API Token is valid and active", "type": None}]))

