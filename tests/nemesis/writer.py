#!/usr/bin/python3
"""One region's application stand-in for tests/nemesis/nemesis: run inside the region's
network namespace (ip netns exec NS writer.py ...), it writes continuously to every
configured server — main's and dr's Postgres and Redis, at the addresses the deployment's
config names, as seen from inside that region — and records every attempt.

    writer.py --region R --out FILE --interval S --pg-password-file F --redis-password-file F
              --target pg:main:HOST:PORT --target pg:dr:HOST:PORT
              --target redis:main:HOST:PORT --target redis:dr:HOST:PORT

One thread per target. Each attempt has a unique id R.server.store.n and is one
acknowledged-or-not write:
    Postgres  INSERT INTO items(note) VALUES (id) in autocommit as the failoverd role: the
              INSERT returning is the acknowledgement (the commit is durable on that server).
    Redis     SET nemesis:<id> 1: a +OK reply is the acknowledgement.
Output: one line per attempt, tab separated:
    store server id t_send t_ack result
t_send/t_ack are time.monotonic() (CLOCK_MONOTONIC: shared by every network namespace of
the host, so the nemesis compares them across writers); t_ack is "-" for an attempt that
was not acknowledged, and result is "ok" or the error's class (not its text).
SIGTERM stops the threads after their current attempt; the file is complete when the
process exits 0.

Timeouts: a partition must not hang an attempt. Postgres: connect_timeout 1 s and
tcp_user_timeout 1500 ms (unacknowledged data drops the connection) plus statement_timeout
1 s; Redis: a 1 s socket timeout. A failed attempt closes its connection; the next one
reconnects."""

import argparse
import signal
import socket
import sys
import threading
import time

import psycopg2

STOP = threading.Event()
IO_TIMEOUT = 1.0


class PgTarget:
    def __init__(self, host, port, password):
        self.host, self.port, self.password = host, port, password
        self.conn = None

    def write(self, wid):
        if self.conn is None:
            self.conn = psycopg2.connect(host=self.host, port=self.port, dbname="app",
                                         user="failoverd", password=self.password,
                                         connect_timeout=1, tcp_user_timeout=1500,
                                         keepalives=1, keepalives_idle=1, keepalives_interval=1,
                                         keepalives_count=1,
                                         options="-c statement_timeout=1000")
            self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO items(note) VALUES (%s)", (wid,))

    def reset(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
        self.conn = None


class RedisError(Exception):
    """An error reply (-READONLY, -NOREPLICAS, ...): the server refused the write."""


class RedisTarget:
    """Just enough RESP for AUTH and SET (python3-redis is not a dependency)."""

    def __init__(self, host, port, password):
        self.host, self.port, self.password = host, port, password
        self.sock = None
        self.buf = b""

    def _cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        if line.startswith(b"-"):
            raise RedisError(line[1:].split(b" ", 1)[0].decode(errors="replace"))
        return line

    def write(self, wid):
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=IO_TIMEOUT)
            self.sock.settimeout(IO_TIMEOUT)
            self.buf = b""
            self._cmd("AUTH", self.password)
        if self._cmd("SET", "nemesis:" + wid, "1") != b"+OK":
            raise RedisError("unexpected")

    def reset(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None


def classify(e):
    """An error's class for the record (typed, never its text)."""
    if isinstance(e, RedisError):
        return "refused:" + str(e)
    if isinstance(e, psycopg2.Error):
        code = getattr(e, "pgcode", None)
        return "refused:" + code if code else "conn:" + type(e).__name__
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    return "conn:" + type(e).__name__


def run_target(region, store, server, target, interval, out, lock):
    n = 0
    while not STOP.is_set():
        wid = f"{region}.{server}.{store}.{n}"
        n += 1
        t_send = time.monotonic()
        try:
            target.write(wid)
            t_ack, result = time.monotonic(), "ok"
        except Exception as e:  # noqa: BLE001 - every failure is a recorded outcome
            t_ack, result = None, classify(e)
            target.reset()
        line = f"{store}\t{server}\t{wid}\t{t_send:.6f}\t" \
               f"{'-' if t_ack is None else f'{t_ack:.6f}'}\t{result}\n"
        with lock:
            out.write(line)
        # Pacing between attempts (a steady load), not a wait for a condition.
        STOP.wait(interval)
    target.reset()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--region", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--pg-password-file", required=True)
    ap.add_argument("--redis-password-file", required=True)
    ap.add_argument("--target", action="append", required=True, help="STORE:SERVER:HOST:PORT")
    a = ap.parse_args()
    with open(a.pg_password_file) as f:
        pgpw = f.read().strip()
    with open(a.redis_password_file) as f:
        rpw = f.read().strip()
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    signal.signal(signal.SIGINT, lambda *_: STOP.set())
    lock = threading.Lock()
    with open(a.out, "w") as out:
        threads = []
        for spec in a.target:
            store, server, host, port = spec.split(":")
            cls = PgTarget if store == "pg" else RedisTarget
            t = threading.Thread(target=run_target, daemon=True,
                                 args=(a.region, store, server, cls(host, int(port),
                                       pgpw if store == "pg" else rpw), a.interval, out, lock))
            t.start()
            threads.append(t)
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
