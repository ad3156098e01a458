"""Shared pieces of the fake SaaS server: requests, responses, ids, the calls log and
fault injection. Python 3 standard library only (Debian's python3).

Every fake service module exposes a class with:
  name                      -- "vercel", "cloudflare", ...
  load(section)             -- replace its state from a seed section (dict)
  dump()                    -- its state as a JSON-able dict (loadable again by load())
  handle(req) -> Response   -- answer one request (called with the app lock held)
  error(status, req, code=None, message=None) -> Response
                            -- the service's own error envelope for an HTTP status
                               (used for injected faults and 413)
"""

import base64
import hashlib
import json
import re
import secrets
import string
import threading
import time

ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits


def now_ms():
    return int(time.time() * 1000)


def iso_time(t=None):
    """RFC 3339 UTC with microseconds, as Cloudflare writes it: 2014-01-01T05:20:00.12345Z."""
    if t is None:
        t = time.time()
    whole = int(t)
    micro = int(round((t - whole) * 1_000_000))
    if micro == 1_000_000:
        whole, micro = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%06dZ" % micro


def rand_id(n, alphabet=ALNUM):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def hex_id(n=32):
    return secrets.token_hex(n // 2)


def opaque(value, salt):
    """A stable, undecodable stand-in for an encrypted value."""
    digest = hashlib.sha256((salt + "\0" + value).encode()).digest()
    return base64.b64encode(digest).decode()


def redact_secret(value):
    """Keep the auth scheme (Bearer/OAuth) and the last 4 characters of a secret."""
    if value is None:
        return None
    parts = value.split(" ", 1)
    if len(parts) == 2 and parts[0] and parts[0].isalpha():
        scheme, secret = parts[0] + " ", parts[1]
    else:
        scheme, secret = "", value
    tail = secret[-4:] if len(secret) > 4 else ""
    return scheme + "****" + tail


class Request:
    """One parsed HTTP request, routed to a service."""

    def __init__(self, method, raw_path, api_path, query, headers, body, service):
        self.method = method
        self.raw_path = raw_path  # as received, without the query string
        self.path = api_path  # the real API's path (mount prefix stripped)
        self.query = query  # dict: name -> list of values
        self.headers = headers  # email.message.Message (case-insensitive get)
        self.body = body  # bytes
        self.service = service
        self.json = None
        self.json_error = None
        if body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                self.json_error = str(e)

    def q(self, name, default=None):
        """First value of a query parameter."""
        vals = self.query.get(name)
        return vals[0] if vals else default

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def bearer(self):
        """The bearer token, or None when the header is missing or not Bearer."""
        auth = self.header("Authorization")
        if not auth:
            return None
        parts = auth.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return None
        return parts[1].strip()


class Response:
    def __init__(self, status, body=None, content_type="application/json; charset=utf-8",
                 headers=None):
        self.status = status
        self.headers = list(headers or [])
        if body is None:
            self.body = b""
            self.content_type = None
        elif isinstance(body, bytes):
            self.body = body
            self.content_type = content_type
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
            self.content_type = content_type
        else:
            self.body = json.dumps(body).encode("utf-8")
            self.content_type = content_type
        self.close = False  # close the connection without answering (injected)
        self.fault = None  # id of the injected fault that produced it


def json_response(status, obj, headers=None):
    return Response(status, obj, headers=headers)


def text_response(status, text, headers=None):
    return Response(status, text, content_type="text/html", headers=headers)


class Router:
    """(method, regex) -> handler. match() tells "no route" from "wrong method"."""

    def __init__(self):
        self.routes = []

    def add(self, method, pattern, handler):
        self.routes.append((method, re.compile("^" + pattern + "$"), handler))

    def match(self, method, path):
        """Returns (handler, groups), (None, 'method') or (None, None)."""
        path_known = False
        for m, rx, h in self.routes:
            mt = rx.match(path)
            if not mt:
                continue
            path_known = True
            if m == method:
                return h, mt.groupdict()
        return None, ("method" if path_known else None)

    def allowed(self, path):
        return sorted({m for m, rx, _ in self.routes if rx.match(path)})


class CallLog:
    """Every request received, in order of arrival; bounded."""

    def __init__(self, limit=50000):
        self.limit = limit
        self.lock = threading.Lock()
        self.calls = []
        self.seq = 0

    def start(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.calls.append(entry)
            if len(self.calls) > self.limit:
                del self.calls[: len(self.calls) - self.limit]
        return entry

    def clear(self):
        with self.lock:
            self.calls = []

    def list(self, service=None, since=0, method=None, path_rx=None):
        with self.lock:
            out = []
            for c in self.calls:
                if c["seq"] <= since:
                    continue
                if service and c["service"] != service:
                    continue
                if method and c["method"] != method.upper():
                    continue
                if path_rx and not (path_rx.search(c["path"]) or path_rx.search(c["api_path"] or "")):
                    continue
                out.append(dict(c))
            return out


FAULT_KEYS = {"service", "method", "path", "count", "status", "retry_after", "delay", "body",
              "headers", "close", "deployment", "error_code", "error_message", "alias_error",
              "processed", "checks"}


class FaultError(ValueError):
    pass


class Faults:
    """Injected faults, matched in insertion order; the first match wins.

    A fault with `deployment`, `alias_error` or `checks` shapes the outcome of the next deployments
    created (it is consumed by the Vercel fake when a deployment is actually created,
    never by other requests). Every other fault is consumed by the first request it
    matches.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []
        self.next_id = 0

    def add(self, spec, services):
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object")
        unknown = set(spec) - FAULT_KEYS
        if unknown:
            raise FaultError("unknown fault keys: " + ", ".join(sorted(unknown)))
        f = dict(spec)
        svc = f.get("service")
        if svc not in (None, "*") and svc not in services:
            raise FaultError("unknown service %r (one of %s)" % (svc, ", ".join(services)))
        count = f.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count == 0 or count < -1:
            raise FaultError("count must be a positive integer, or -1 for unlimited")
        f["count"] = count
        try:
            f["_rx"] = re.compile(f.get("path") or "")
        except re.error as e:
            raise FaultError("bad path regex: %s" % e)
        status = f.get("status")
        if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
            raise FaultError("status must be an HTTP error status (400-599)")
        delay = f.get("delay", 0)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= 600:
            raise FaultError("delay must be 0..600 seconds")
        ra = f.get("retry_after")
        if ra is not None and (not isinstance(ra, (int, float)) or ra < 0):
            raise FaultError("retry_after must be a number of seconds")
        dep = f.get("deployment")
        if dep is not None and dep not in ("ERROR", "CANCELED", "READY"):
            raise FaultError("deployment must be ERROR, CANCELED or READY")
        ae = f.get("alias_error")
        if ae is not None and not isinstance(ae, (dict, bool)):
            raise FaultError("alias_error must be true or {code, message}")
        if f.get("method") is not None and not isinstance(f["method"], str):
            raise FaultError("method must be a string")
        if f.get("headers") is not None and not isinstance(f["headers"], dict):
            raise FaultError("headers must be an object")
        checks = f.get("checks")
        if checks is not None and checks not in ("succeeded", "failed", "canceled", "skipped"):
            raise FaultError("checks must be succeeded, failed, canceled or skipped")
        if f.get("processed") is not None and (not isinstance(f["processed"], bool) or not status):
            raise FaultError("processed is true or false, with a status")
        dep = dep or checks  # a deployment-outcome fault too
        if not (status or delay or f.get("close") or dep or ae):
            raise FaultError("a fault needs one of status, delay, close, deployment, alias_error, "
                             "checks")
        if (dep or ae) and (status or f.get("close")):
            raise FaultError("deployment/alias_error/checks faults cannot also set status or close")
        if (dep or ae) and svc not in (None, "vercel"):
            raise FaultError("deployment/alias_error/checks faults are for service vercel")
        if dep or ae:
            f["service"] = "vercel"
        with self.lock:
            self.next_id += 1
            f["id"] = "f%d" % self.next_id
            f["hits"] = 0
            self.items.append(f)
        return self.public(f)

    @staticmethod
    def public(f):
        return {k: v for k, v in f.items() if not k.startswith("_")}

    def list(self):
        with self.lock:
            return [self.public(f) for f in self.items]

    def clear(self):
        with self.lock:
            self.items = []

    @staticmethod
    def _matches(f, req):
        svc = f.get("service")
        if svc not in (None, "*") and svc != req.service:
            return False
        if f.get("method") and f["method"].upper() != req.method:
            return False
        rx = f["_rx"]
        return bool(rx.search(req.path) or rx.search(req.raw_path))

    def _consume(self, f):
        f["hits"] += 1
        if f["count"] > 0:
            f["count"] -= 1
            if f["count"] == 0:
                self.items.remove(f)

    def take(self, req):
        """The request-level fault for this request (consumed), or None."""
        with self.lock:
            for f in self.items:
                if f.get("deployment") or f.get("alias_error") or f.get("checks"):
                    continue
                if self._matches(f, req):
                    self._consume(f)
                    return dict(f)
        return None

    def take_deployment(self, req):
        """The deployment-outcome fault for a deployment being created (consumed)."""
        with self.lock:
            for f in self.items:
                if not (f.get("deployment") or f.get("alias_error") or f.get("checks")):
                    continue
                if self._matches(f, req):
                    self._consume(f)
                    return dict(f)
        return None
