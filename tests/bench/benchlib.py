"""Shared by the Python benchmarks in tests/bench (DESIGN §12): a deploy/local-cluster
--dataplane cluster, port checks, /proc readings and summary statistics.

Not a benchmark itself. Every wait has a deadline (harness.wait_for); whoever starts a
cluster tears it down in a finally."""

import datetime
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import (NODES, TOP, LocalCluster, admin_call, bin_dir, connect, frame,  # noqa: E402,F401
                     read_frame, wait_for)

__all__ = ["NODES", "TOP", "DataplaneCluster", "admin_call", "bin_dir", "connect", "frame", "read_frame",
           "wait_for", "ports_of", "check_ports_free", "summary", "pct", "log_events",
           "proc_rss_kb", "proc_cpu_ticks", "fmt_ms"]


def ports_of(base):
    """Every TCP port a local-cluster --dataplane at base listens on (deploy/local-cluster:
    raft +1..3, admin +101..103, Postgres/Redis +201..204, health +301..303, HTTP
    +451..453 where the cluster has the HTTP API)."""
    return ([base + 1 + i for i in range(3)] + [base + 101 + i for i in range(3)]
            + [base + 201 + i for i in range(4)] + [base + 301 + i for i in range(3)]
            + [base + 451 + i for i in range(3)])


def check_ports_free(base):
    """Exit 2 naming the first port of the range that something already listens on."""
    for p in ports_of(base):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                sys.exit(f"port {p} (base {base}) is in use: choose another --base-port")


class DataplaneCluster(LocalCluster):
    """deploy/local-cluster up --dataplane in a temporary directory."""

    def up_dataplane(self, timeout=180):
        try:
            self.run("up", "--dataplane", timeout=timeout)
        except subprocess.CalledProcessError as e:
            sys.stderr.write(f"local-cluster up --dataplane failed (exit {e.returncode}):\n"
                             f"{e.stdout}{e.stderr}")
            for n in NODES:  # the last lines of each node's log say why, usually
                try:
                    with open(os.path.join(self.dir, "nodes", n, "failoverd.log"), errors="replace") as f:
                        tail = f.readlines()[-5:]
                    sys.stderr.write(f"--- {n}:\n" + "".join(tail))
                except OSError:
                    pass
            raise
        # the env and the cluster CA (local-cluster's mutual TLS, the default) that
        # admin_call and connect use
        return self.load_vars()

    def health_addr(self, node):
        return self.env["NODE_" + node.upper().replace("-", "_") + "_HEALTH"]

    def feed_token(self):
        with open(self.env["FEED_TOKEN_FILE"]) as f:
            return f.read().strip()

    def wait_all_up(self, timeout=60):
        """Every node sees every region UP (9 verdicts) and nothing would fail over."""
        def all_up():
            _, st = self.leader_status()
            if st is None:
                return None
            ups = [v for v in st["verdicts"] if v["status"] == "up" and v["observer"] in NODES]
            return st if len(ups) == 9 and st["decision"]["reason"] == "primary_not_down" else None
        return wait_for("every observer to see every region UP", all_up, timeout, interval=0.2)


_TS = re.compile(r"^ts=(\S+) .*?event=(\S+)(.*)$")


def log_events(path, event):
    """[(wall-clock ms, rest of line)] of a node log's lines with event=<event>."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = _TS.match(line)
                if m and m.group(2) == event:
                    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
                    ms = t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000.0
                    out.append((round(ms), m.group(3)))
    except OSError:
        pass
    return out


def proc_rss_kb(pid):
    """(VmRSS, VmHWM) in kB from /proc/PID/status."""
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                vals[k] = int(v.split()[0])
    return vals


def proc_cpu_ticks(pid):
    """utime + stime of PID in clock ticks (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()  # after "pid (comm) "
    return int(fields[11]) + int(fields[12])


def pct(sorted_vals, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def summary(vals):
    """(min, median, max) or three NaNs."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return (float("nan"),) * 3
    return min(vals), statistics.median(vals), max(vals)


def fmt_ms(v, unit="ms"):
    if v != v:  # NaN
        return "n/a"
    if unit == "s":
        return f"{v / 1000.0:.2f} s"
    return f"{v:.0f} ms"


def machine_busy():
    """The 1-minute load average and nproc, for the record."""
    try:
        with open("/proc/loadavg") as f:
            load1 = float(f.read().split()[0])
    except OSError:
        load1 = float("nan")
    return load1, os.cpu_count() or 1


def dump_json(obj):
    return json.dumps(obj, sort_keys=True)


def now_ms():
    return time.time() * 1000.0
