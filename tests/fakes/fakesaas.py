#!/usr/bin/env python3
"""fakesaas — protocol-faithful fake SaaS APIs for failoverd's tests (DESIGN §11).

One loopback port serves, path-routed, fakes of Vercel, Cloudflare, Slack webhooks,
PagerDuty Events v2 and Statuspage, plus test controls under /_fake/. It only
serves: it never opens a connection anywhere. See tests/fakes/README.md.

  fakesaas.py --listen 127.0.0.1:0 --port-file P [--state-file F] [--seed FILE]
              [--token T]... [--max-body BYTES] [--deploy-step SECONDS] [--quiet]

Python 3 standard library only (Debian's python3).
"""

import argparse
import copy
import http.server
import ipaddress
import json
import math
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_cloudflare import CloudflareFake  # noqa: E402
from fake_common import (CallLog, FaultError, Faults, Request, Response, iso_time,  # noqa: E402
                         json_response, redact_secret)
from fake_notify import PagerDutyFake, SlackFake, StatuspageFake  # noqa: E402
from fake_vercel import VercelFake  # noqa: E402

SERVICES = (VercelFake, CloudflareFake, SlackFake, PagerDutyFake, StatuspageFake)
SERVICE_NAMES = tuple(c.name for c in SERVICES)

# Mount prefixes (recommended base URLs) and the real API paths served without one.
MOUNTS = [("/" + n, n) for n in SERVICE_NAMES]
BARE = [
    (re.compile(r"^/client/v4(/|$)"), "cloudflare"),
    (re.compile(r"^/services/"), "slack"),
    (re.compile(r"^/v2/enqueue/?$"), "pagerduty"),
    (re.compile(r"^/v1/pages(/|$)"), "statuspage"),
    (re.compile(r"^/v\d+/(projects|deployments|aliases)(/|$)"), "vercel"),
]
SECRET_HEADERS = ("authorization", "x-auth-key")
SECRET_QUERY = ("api_key",)


def route(path):
    """(service, api_path) for a request path, or (None, path)."""
    for prefix, name in MOUNTS:
        if path == prefix or path.startswith(prefix + "/"):
            return name, path[len(prefix):] or "/"
    for rx, name in BARE:
        if rx.search(path):
            return name, path
    return None, path


class BodyTooLarge(Exception):
    pass


class BadBody(Exception):
    pass


class App:
    def __init__(self, cli_tokens, max_body, state_file, deploy_step, quiet):
        self.cli_tokens = list(cli_tokens)
        self.seed_tokens = []
        self.max_body = max_body
        self.state_file = state_file
        self.quiet = quiet
        self.default_durations = None
        if deploy_step is not None:
            self.default_durations = {"queued": deploy_step, "building": deploy_step}
        self.lock = threading.RLock()
        self.calls = CallLog()
        self.faults = Faults()
        self.services = {c.name: c(self) for c in SERVICES}
        self.services["vercel"].load(self._with_defaults("vercel", {}))
        self.baseline = {}
        self.last_written = None
        self.started = time.time()
        self.port = None

    @property
    def tokens(self):
        return set(self.cli_tokens) | set(self.seed_tokens)

    # ---- seed / reset / state ----------------------------------------------------

    def apply_seed(self, seed, baseline=True):
        """Replace the state of every section present in `seed`; others are left alone."""
        if not isinstance(seed, dict):
            raise ValueError("a seed is a JSON object")
        # A whole GET /_fake/state document is a valid seed: drop its read-only extras.
        seed = {k: v for k, v in seed.items() if k not in ("tokens_redacted", "faults", "time")}
        unknown = set(seed) - set(SERVICE_NAMES) - {"tokens"}
        if unknown:
            raise ValueError("unknown seed sections: %s (known: tokens, %s)"
                             % (", ".join(sorted(unknown)), ", ".join(SERVICE_NAMES)))
        with self.lock:
            fresh = {}
            for name, section in seed.items():
                if name == "tokens":
                    if not isinstance(section, list) or not all(isinstance(t, str) for t in section):
                        raise ValueError("tokens: a list of strings")
                    continue
                if section is not None and not isinstance(section, dict):
                    raise ValueError("%s: a JSON object" % name)
                svc = type(self.services[name])(self)
                svc.load(self._with_defaults(name, section or {}))
                fresh[name] = svc
            self.services.update(fresh)
            if "tokens" in seed:
                self.seed_tokens = list(seed["tokens"])
            if baseline:
                self.baseline.update(copy.deepcopy(seed))
            self.save_state()

    def _with_defaults(self, name, section):
        if name == "vercel" and self.default_durations:
            section = dict(section)
            section["durations"] = dict(self.default_durations, **(section.get("durations") or {}))
        return section

    def reset(self):
        with self.lock:
            self.faults.clear()
            self.calls.clear()
            self.seed_tokens = list(self.baseline.get("tokens") or [])
            for name in SERVICE_NAMES:
                svc = type(self.services[name])(self)
                svc.load(self._with_defaults(name, self.baseline.get(name) or {}))
                self.services[name] = svc
            self.save_state()

    def state(self, only=None):
        with self.lock:
            out = {name: svc.dump() for name, svc in self.services.items() if not only or name == only}
            if not only:
                out["tokens_redacted"] = sorted("****" + t[-4:] for t in self.tokens)
                out["faults"] = self.faults.list()
                out["time"] = iso_time()
            return out

    def save_state(self):
        if not self.state_file:
            return
        with self.lock:
            st = self.state()
            st.pop("time", None)
            text = json.dumps(st, indent=1, sort_keys=True)
            if text == self.last_written:
                return
            tmp = self.state_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(text + "\n")
            os.replace(tmp, self.state_file)
            self.last_written = text

    def log(self, line):
        if not self.quiet:
            sys.stderr.write("fakesaas: %s\n" % line)
            sys.stderr.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakesaas/1"

    def version_string(self):
        return self.server_version

    app = None  # set on the subclass made by serve()

    def log_message(self, fmt, *args):  # our own one line per request instead
        pass

    def log_error(self, fmt, *args):
        self.app.log("error peer=%s %s" % (self.client_address[0], (fmt % args).replace("\n", " ")))

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # ---- body --------------------------------------------------------------------

    def handle_expect_100(self):
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        if n > self.app.max_body:
            self._handle(early_too_large=True)
            return False
        return super().handle_expect_100()

    def _read_body(self):
        limit = self.app.max_body
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BadBody("bad chunk size")
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                if len(out) + size > limit:
                    raise BodyTooLarge()
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
        except ValueError:
            raise BadBody("bad Content-Length")
        if n < 0:
            raise BadBody("bad Content-Length")
        if n > limit:
            # Drain a moderately large body so the client reads our 413 instead of a reset.
            left = n if n <= 64 * limit else 0
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
            raise BodyTooLarge()
        return self.rfile.read(n) if n else b""

    # ---- one request -------------------------------------------------------------

    def _handle(self, early_too_large=False):
        app = self.app
        t0 = time.time()
        split = urllib.parse.urlsplit(self.path)
        raw_path = split.path or "/"
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        if raw_path == "/_fake" or raw_path.startswith("/_fake/"):
            return self._control(raw_path, query, t0, early_too_large)
        service, api_path = route(raw_path)
        entry = app.calls.start({
            "time": t0, "at": iso_time(t0), "service": service or "unknown", "method": self.command, "path": raw_path,
            "api_path": api_path, "query": self._redact_query(query),
            "headers": self._redact_headers(), "body": None, "status": None,
            "duration_ms": None, "fault": None,
        })
        try:
            body = b"" if early_too_large else self._read_body()
            too_large = early_too_large
        except BodyTooLarge:
            body, too_large = b"", True
        except BadBody as e:
            self.close_connection = True
            resp = json_response(400, {"error": {"code": "bad_request", "message": str(e)}})
            return self._finish(entry, resp, t0)
        req = Request(self.command, raw_path, api_path, query, self.headers, body, service)
        entry["body"] = req.json if req.json_error is None else body.decode("utf-8", "replace")[:4096]
        if not body:
            entry["body"] = None
        svc = app.services.get(service) if service else None
        if too_large:
            self.close_connection = True
            resp = (svc.error(413, req, message="Request body exceeds %d bytes" % app.max_body) if svc
                    else json_response(413, {"error": "request body too large"}))
            resp.headers.append(("Connection", "close"))
            return self._finish(entry, resp, t0)
        if svc is None:
            resp = json_response(404, {"error": {"code": "not_found",
                                                 "message": "fakesaas: no fake serves %s" % raw_path}})
            return self._finish(entry, resp, t0)
        fault = app.faults.take(req)
        if fault:
            entry["fault"] = fault["id"]
            if fault.get("delay"):
                time.sleep(fault["delay"])
            if fault.get("close"):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                resp = Response(0)
                resp.close = True
                return self._finish(entry, resp, t0)
        if fault and fault.get("status"):
            if fault.get("processed"):
                # The request took effect and then the answer was lost to an error (a
                # gateway's 5xx after the backend acted): what makes a retry a duplicate.
                with app.lock:
                    svc.handle(req)
            status = fault["status"]
            ra = fault.get("retry_after")
            if ra is None and status in (420, 429):
                ra = 1
            resp = svc.error(status, req, retry_after=ra)
            if fault.get("body") is not None:
                b = fault["body"]
                resp = Response(status, b if isinstance(b, str) else b,
                                content_type="text/plain" if isinstance(b, str) else
                                "application/json; charset=utf-8")
            if ra is not None:
                name = "retry-after" if service == "cloudflare" else "Retry-After"
                resp.headers.append((name, str(int(math.ceil(ra)))))
        else:
            try:
                with app.lock:
                    resp = svc.handle(req)
            except Exception:  # a bug in the fake: answer 500 and say so
                app.log("internal error: " + traceback.format_exc().replace("\n", " | "))
                resp = svc.error(500, req, message="fakesaas internal error (see its stderr)")
        if fault:
            for k, v in (fault.get("headers") or {}).items():
                resp.headers.append((k, str(v)))
        try:
            return self._finish(entry, resp, t0)
        finally:
            app.save_state()

    def _finish(self, entry, resp, t0, log_service=None):
        if not resp.close:
            self._send(resp)
        entry["status"] = resp.status
        entry["duration_ms"] = round((time.time() - t0) * 1000, 2)
        self.app.log("seq=%s service=%s method=%s path=%s status=%s ms=%.1f%s" % (
            entry.get("seq", "-"), log_service or entry["service"], self.command, entry["path"],
            resp.status if not resp.close else "closed", entry["duration_ms"],
            " fault=%s" % entry["fault"] if entry.get("fault") else ""))

    def _send(self, resp):
        try:
            self.send_response(resp.status)
            if resp.content_type:
                self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            for k, v in resp.headers:
                self.send_header(k, v)
            self.end_headers()
            if resp.body:
                self.wfile.write(resp.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _redact_headers(self):
        out = {}
        for k, v in self.headers.items():
            lk = k.lower()
            out[lk] = redact_secret(v) if lk in SECRET_HEADERS else v
        return out

    @staticmethod
    def _redact_query(query):
        return {k: ([redact_secret(x) for x in v] if k in SECRET_QUERY else v) if len(v) != 1
                else (redact_secret(v[0]) if k in SECRET_QUERY else v[0]) for k, v in query.items()}

    # ---- /_fake controls ---------------------------------------------------------

    def _control(self, path, query, t0, early_too_large):
        app = self.app
        entry = {"service": "_fake", "path": path, "fault": None}
        try:
            body = b"" if early_too_large else self._read_body()
            if early_too_large:
                raise BodyTooLarge()
        except BodyTooLarge:
            self.close_connection = True
            return self._finish(entry, json_response(413, {"error": "request body too large"}), t0)
        except BadBody as e:
            self.close_connection = True
            return self._finish(entry, json_response(400, {"error": str(e)}), t0)
        data = None
        if body:
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                return self._finish(entry, json_response(400, {"error": "bad JSON: %s" % e}), t0)
        q = {k: v[-1] for k, v in query.items()}
        m = self.command
        try:
            if path == "/_fake/health" and m == "GET":
                resp = json_response(200, {"ok": True, "port": app.port, "services": list(SERVICE_NAMES),
                                           "uptime_s": round(time.time() - app.started, 3)})
            elif path == "/_fake/calls" and m == "GET":
                try:
                    since = int(q.get("since", "0"))
                    rx = re.compile(q["path"]) if q.get("path") else None
                except (ValueError, re.error) as e:
                    raise ValueError("bad since/path: %s" % e)
                calls = app.calls.list(q.get("service"), since, q.get("method"), rx)
                resp = json_response(200, {"calls": calls, "count": len(calls), "last_seq": app.calls.seq})
            elif path == "/_fake/calls" and m == "DELETE":
                app.calls.clear()
                resp = json_response(200, {"ok": True})
            elif path == "/_fake/inject" and m == "POST":
                specs = data.get("faults") if isinstance(data, dict) and "faults" in data else data
                specs = specs if isinstance(specs, list) else [specs]
                added = [app.faults.add(s, SERVICE_NAMES) for s in specs]
                resp = json_response(200, {"ok": True, "faults": added})
            elif path == "/_fake/inject" and m == "GET":
                resp = json_response(200, {"faults": app.faults.list()})
            elif path == "/_fake/inject" and m == "DELETE":
                app.faults.clear()
                resp = json_response(200, {"ok": True})
            elif path == "/_fake/reset" and m == "POST":
                app.reset()
                resp = json_response(200, {"ok": True})
            elif path == "/_fake/state" and m == "GET":
                only = q.get("service")
                if only and only not in SERVICE_NAMES:
                    raise ValueError("unknown service %r" % only)
                resp = json_response(200, app.state(only))
            elif path == "/_fake/seed" and m == "POST":
                # baseline=0: for this test only; the next reset restores the baseline.
                app.apply_seed(data, baseline=q.get("baseline", "1") != "0")
                resp = json_response(200, {"ok": True, "sections": sorted((data or {}).keys())})
            elif path in ("/_fake/health", "/_fake/calls", "/_fake/inject", "/_fake/reset",
                          "/_fake/state", "/_fake/seed"):
                resp = json_response(405, {"error": "method %s not allowed on %s" % (m, path)})
            else:
                resp = json_response(404, {"error": "unknown control endpoint %s" % path})
        except (ValueError, FaultError, KeyError, TypeError) as e:
            resp = json_response(400, {"error": str(e)})
        return self._finish(entry, resp, t0)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def parse_listen(spec):
    m = re.match(r"^\[(.+)\]:(\d+)$", spec) or re.match(r"^([^:]+):(\d+)$", spec)
    if not m:
        raise ValueError("--listen wants HOST:PORT (e.g. 127.0.0.1:0)")
    host, port = m.group(1), int(m.group(2))
    if host == "localhost":
        host = "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError("--listen host must be a loopback IP address, got %r" % host)
    if not ip.is_loopback:
        raise ValueError("--listen must be a loopback address (127.0.0.0/8 or ::1), got %s" % host)
    if not 0 <= port <= 65535:
        raise ValueError("--listen port out of range")
    return host, port, ip.version


def write_atomic(path, text):
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fakesaas.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0", help="loopback HOST:PORT (default 127.0.0.1:0)")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--state-file", help="keep the current state (as GET /_fake/state) in this JSON file")
    ap.add_argument("--seed", help="JSON file with the initial state (see README)")
    ap.add_argument("--token", action="append", default=[],
                    help="accepted bearer token / API key (repeatable, or comma-separated)")
    ap.add_argument("--max-body", type=int, default=1 << 20, help="request body limit in bytes (413 above)")
    ap.add_argument("--deploy-step", type=float, default=None,
                    help="seconds a Vercel deployment spends QUEUED and BUILDING (default 0.3)")
    ap.add_argument("--quiet", action="store_true", help="no per-request log lines on stderr")
    args = ap.parse_args(argv)
    try:
        host, port, version = parse_listen(args.listen)
    except ValueError as e:
        ap.error(str(e))
    tokens = [t for spec in args.token for t in spec.split(",") if t]
    app = App(tokens, args.max_body, args.state_file, args.deploy_step, args.quiet)
    if args.seed:
        try:
            with open(args.seed) as f:
                app.apply_seed(json.load(f))
        except (OSError, ValueError) as e:
            sys.stderr.write("fakesaas: --seed %s: %s\n" % (args.seed, e))
            return 2
    else:
        app.apply_seed({})

    handler = type("BoundHandler", (Handler,), {"app": app})
    Server.address_family = socket.AF_INET6 if version == 6 else socket.AF_INET
    try:
        server = Server((host, port), handler)
    except OSError as e:
        sys.stderr.write("fakesaas: cannot listen on %s: %s\n" % (args.listen, e))
        return 1
    app.port = server.server_address[1]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    if args.port_file:
        write_atomic(args.port_file, "%d\n" % app.port)
    app.save_state()
    app.log("listening on %s:%d (services: %s; controls under /_fake/)"
            % (host, app.port, ", ".join(SERVICE_NAMES)))
    while not stop.wait(0.5):
        pass
    app.log("stopping")
    server.shutdown()
    server.server_close()
    app.save_state()
    return 0


if __name__ == "__main__":
    sys.exit(main())
