"""A real data plane on this machine for failoverd's tests (DESIGN §11): a PostgreSQL 15
primary with a streaming standby, and a Redis master with a replica, all on 127.0.0.1.

    dp = DataPlane(root, pg_main_port, pg_dr_port, redis_main_port, redis_dr_port)
    dp.start()          # a few seconds; raises (after stopping what it started) on failure
    try:
        dp.psql(dp.pg_main_port, "SELECT 1")
        dp.redis_cli(dp.redis_dr_port, "ROLE")
    finally:
        dp.stop()       # every server, always; safe to call twice

    /usr/bin/python3 tests/integration/dataplane.py --demo [--dir D]   # start by hand
    dataplane.py --up --dir D [--ports ...]   # start, write D/dataplane.env, leave running
    dataplane.py --down --dir D               # stop what --up started
    dataplane.py --kill main|dr|pg-dr|... --dir D  # kill -9 a site's servers, or one
                                              # (deploy/local-cluster kill-region uses it)

What it sets up, as an operator would:
  - the primary ("main") is initdb'd, gets deploy/postgres-grants.sql applied in the app
    database (the non-superuser role `failoverd`, whose password is in
    D/failoverd.password), an application table `items`, and only then is cloned with
    pg_basebackup -R into the standby ("dr"), so the grants replicate as they would in
    production. The role must log in with its password over TCP (scram-sha-256 in
    pg_hba.conf); every other local connection is trusted, for the test's own checks.
  - Redis: a master and a replica (--replicaof), both with the password in
    D/redis.password (requirepass and masterauth), no persistence.

Facts of Debian 12 that shape this: PostgreSQL 15 refuses to run as root, so initdb,
postgres, pg_ctl, pg_basebackup and psql run as the `postgres` user (runuser) on
directories it owns; its programs are in /usr/lib/postgresql/15/bin, not on PATH. Unix
sockets go into a directory beside each data directory (pg-main.sock), never
/var/run/postgresql (the system cluster's), nor the data directory (pg_rewind).

Every wait polls a condition with a deadline; servers are stopped in stop(), which start()
also calls when it fails, so the module never leaves a server running."""

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import wait_for  # noqa: E402  (one definition of the bounded wait)

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PG_BIN = "/usr/lib/postgresql/15/bin"
GRANTS_SQL = os.path.join(TOP, "deploy", "postgres-grants.sql")
APP_DB = "app"
ROLE = "failoverd"


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class DataPlane:
    def __init__(self, root, pg_main_port, pg_dr_port, redis_main_port, redis_dr_port):
        self.root = os.path.abspath(root)
        self.pg_main_port = pg_main_port
        self.pg_dr_port = pg_dr_port
        self.redis_main_port = redis_main_port
        self.redis_dr_port = redis_dr_port
        self.pg_dirs = {pg_main_port: os.path.join(self.root, "pg-main"),
                        pg_dr_port: os.path.join(self.root, "pg-dr")}
        self.redis_dirs = {redis_main_port: os.path.join(self.root, "redis-main"),
                           redis_dr_port: os.path.join(self.root, "redis-dr")}
        self.password_file = os.path.join(self.root, "failoverd.password")
        self.redis_password_file = os.path.join(self.root, "redis.password")
        self.password = None
        self.redis_password = None
        self._redis = {}  # port -> Popen
        self._started = False

    # ---- environment for the actions' tests -------------------------------------------

    def env(self):
        """KEY=VALUE pairs a test program needs to reach the data plane."""
        return {"PG_HOST": "127.0.0.1", "PG_PORT_MAIN": str(self.pg_main_port),
                "PG_PORT_DR": str(self.pg_dr_port), "PG_USER": ROLE, "PG_DBNAME": APP_DB,
                "PG_PASSWORD_FILE": self.password_file, "PG_SUPERUSER": "postgres",
                "REDIS_HOST": "127.0.0.1", "REDIS_PORT_MAIN": str(self.redis_main_port),
                "REDIS_PORT_DR": str(self.redis_dr_port),
                "REDIS_PASSWORD_FILE": self.redis_password_file}

    # ---- start / stop -------------------------------------------------------------------

    def start(self):
        if self._started:
            return self
        try:
            self._stop_leftovers()
            busy = [p for p in (*self.pg_dirs, *self.redis_dirs) if not port_free(p)]
            if busy:
                raise RuntimeError(f"ports already in use on 127.0.0.1: {busy}")
            self._prepare_root()
            self._start_postgres()
            self._start_redis()
            self._started = True
            return self
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stop every server this data plane may have started; never raises."""
        for port, proc in list(self._redis.items()):
            self._stop_redis(port, proc)
        self._redis.clear()
        # The standby first: stopping the primary first makes the standby log reconnects.
        for port in (self.pg_dr_port, self.pg_main_port):
            self._stop_postgres(self.pg_dirs[port])
        self._started = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def kill_site(self, what):
        """kill -9 servers as a region loss would: "main"/"dr" (a site's Postgres and
        Redis) or one of "pg-main", "pg-dr", "redis-main", "redis-dr"."""
        dirs = {"pg-main": (self.pg_dirs[self.pg_main_port], "postmaster.pid"),
                "pg-dr": (self.pg_dirs[self.pg_dr_port], "postmaster.pid"),
                "redis-main": (self.redis_dirs[self.redis_main_port], "redis.pid"),
                "redis-dr": (self.redis_dirs[self.redis_dr_port], "redis.pid")}
        names = [f"pg-{what}", f"redis-{what}"] if what in ("main", "dr") else [what]
        for d, name in (dirs[n] for n in names):
            pidfile = os.path.join(d, name)
            try:
                with open(pidfile) as f:
                    pid = int(f.readline())
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                continue  # no pid file or already gone: nothing to kill
            wait_for(f"pid {pid} to die", lambda p=pid: not _alive(p), timeout=10)

    # ---- helpers --------------------------------------------------------------------------

    def psql(self, port, sql, user="postgres", db=APP_DB, check=True, timeout=30):
        """Run sql through psql (as the postgres OS user, over the server's unix socket,
        which trusts every role); returns stdout (unaligned, tuples only). With
        check=False returns the CompletedProcess so a test can look at the error."""
        cmd = [os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", self.sock_dir(port), "-p", str(port), "-U", user, "-d", db, "-c", sql]
        r = self._as_postgres(cmd, check=False, timeout=timeout)
        if not check:
            return r
        if r.returncode != 0:
            raise RuntimeError(f"psql -p {port} -U {user}: {sql!r}: {r.stderr.strip()}")
        return r.stdout.strip()

    def redis_cli(self, port, *args, timeout=10):
        """One redis-cli command (authenticated); returns its stdout, stripped."""
        env = {**os.environ, "REDISCLI_AUTH": self.redis_password or ""}
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *map(str, args)],
                           capture_output=True, text=True, timeout=timeout, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"redis-cli -p {port} {args}: {r.stderr.strip()}")
        return r.stdout.strip()

    def redis_info(self, port, section="replication"):
        out = self.redis_cli(port, "INFO", section)
        return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)

    def log(self, name):
        """A server's log: name is pg-main, pg-dr, redis-main or redis-dr."""
        try:
            with open(os.path.join(self.root, name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # ---- Postgres -------------------------------------------------------------------------

    def _as_postgres(self, cmd, check=True, timeout=60, netns=None):
        # cwd: a directory postgres can enter (root's home is not). Its own process group:
        # when we are interrupted (timeout, Ctrl-C, SIGTERM) the whole command goes, not
        # only runuser (initdb or pg_basebackup would live on). A postmaster that pg_ctl
        # started is in a session of its own and stays for stop() to end. netns: run it
        # inside that network namespace (netns_dataplane.py).
        full = ["runuser", "-u", "postgres", "--", *cmd]
        if netns:
            full = ["ip", "netns", "exec", netns, *full]
        p = subprocess.Popen(full, cwd=self.root,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except BaseException:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
            raise
        r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
        return r

    def sock_dir(self, port):
        """Where the server on port puts its unix socket: beside its data directory, not in
        it (pg_rewind, which deploy/pg-rejoin runs, cannot copy a socket file)."""
        return self.pg_dirs[port] + ".sock"

    def _prepare_root(self):
        os.makedirs(self.root, exist_ok=True)
        for d in (*self.pg_dirs.values(), *self.redis_dirs.values()):
            shutil.rmtree(d, ignore_errors=True)
        pg = pwd.getpwnam("postgres")
        for port in self.pg_dirs:
            os.makedirs(self.sock_dir(port), exist_ok=True)
            os.chown(self.sock_dir(port), pg.pw_uid, pg.pw_gid)
        # postgres must reach its data directories (mkdtemp makes 0700 root-owned dirs).
        os.chown(self.root, pg.pw_uid, pg.pw_gid)
        os.chmod(self.root, 0o755)
        self.password = "fo-" + os.urandom(12).hex()
        self.redis_password = "fo-" + os.urandom(12).hex()
        for path, value in ((self.password_file, self.password),
                            (self.redis_password_file, self.redis_password)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(value + "\n")

    def _start_postgres(self):
        main, dr = self.pg_dirs[self.pg_main_port], self.pg_dirs[self.pg_dr_port]
        # -N: no fsync of the new cluster; tests do not survive power cuts anyway.
        self._as_postgres([os.path.join(PG_BIN, "initdb"), "-D", main, "-U", "postgres", "-A",
                           "trust", "-E", "UTF8", "--locale=C", "-N", "--no-instructions"])
        with open(os.path.join(main, "postgresql.conf"), "a") as f:
            f.write("\n# tests/integration/dataplane.py\n"
                    "listen_addresses = '127.0.0.1'\n"
                    f"port = {self.pg_main_port}\n"
                    f"unix_socket_directories = '{self.sock_dir(self.pg_main_port)}'\n"
                    "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                    # pg_rewind (deploy/pg-rejoin, failoverctl rejoin) needs both, and
                    # the old primary's WAL back to the checkpoint before the divergence.
                    "fsync = off\nfull_page_writes = on\nwal_log_hints = on\n"
                    "wal_keep_size = '128MB'\n"
                    "shared_buffers = 16MB\nmax_connections = 30\n"
                    "log_min_messages = warning\nlog_connections = off\n")
        # The failoverd role must prove its password (scram); everything else is trusted
        # so that the test can inspect both servers freely. First match wins.
        with open(os.path.join(main, "pg_hba.conf"), "w") as f:
            f.write(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"
                    "local all all trust\n"
                    "host all all 127.0.0.1/32 trust\n"
                    "local replication all trust\n"
                    "host replication all 127.0.0.1/32 trust\n")
        self._pg_ctl_start(main, "pg-main")
        self.psql(self.pg_main_port, f"CREATE DATABASE {APP_DB}", db="postgres")
        r = self._as_postgres([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                               "-h", self.sock_dir(self.pg_main_port), "-p",
                               str(self.pg_main_port), "-U", "postgres",
                               "-d", APP_DB, "-f", GRANTS_SQL], check=False)
        if r.returncode != 0:
            raise RuntimeError(f"{GRANTS_SQL}: {r.stderr.strip()}")
        # Test-only: the role may write the application table, so that a test can show a
        # promoted server takes writes and a fenced one refuses them.
        self.psql(self.pg_main_port,
                  f"ALTER ROLE {ROLE} PASSWORD '{self.password}';"
                  "CREATE TABLE items (id serial PRIMARY KEY, note text NOT NULL);"
                  f"GRANT SELECT, INSERT ON items TO {ROLE};"
                  f"GRANT USAGE ON SEQUENCE items_id_seq TO {ROLE};"
                  "INSERT INTO items (note) VALUES ('before the standby was cloned');")
        # -c fast: do not wait for a spread checkpoint; -X stream: WAL alongside the copy;
        # -R: standby.signal and primary_conninfo, so it starts streaming at once.
        self._as_postgres([os.path.join(PG_BIN, "pg_basebackup"), "-D", dr, "-h", "127.0.0.1",
                           "-p", str(self.pg_main_port), "-U", "postgres", "-R", "-X",
                           "stream", "-c", "fast", "-N"])
        with open(os.path.join(dr, "postgresql.conf"), "a") as f:
            f.write(f"port = {self.pg_dr_port}\n"
                    f"unix_socket_directories = '{self.sock_dir(self.pg_dr_port)}'\n")
        self._pg_ctl_start(dr, "pg-dr")
        wait_for("the standby to stream from the primary",
                 lambda: self.psql(self.pg_main_port,
                                   "SELECT count(*) FROM pg_stat_replication "
                                   "WHERE state = 'streaming'") == "1", timeout=30)

    def _pg_ctl_start(self, datadir, name):
        log = os.path.join(self.root, name + ".log")
        # pg_ctl appends; postgres (the user) must be able to write it.
        open(log, "a").close()
        pg = pwd.getpwnam("postgres")
        os.chown(log, pg.pw_uid, pg.pw_gid)
        r = self._as_postgres([os.path.join(PG_BIN, "pg_ctl"), "-D", datadir, "-l", log, "-w",
                               "-t", "30", "start"], check=False)
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start {datadir}: {r.stderr.strip()}\n{self.log(name)}")

    def _stop_postgres(self, datadir):
        pidfile = os.path.join(datadir, "postmaster.pid")
        if not os.path.exists(pidfile):
            return
        try:
            self._as_postgres([os.path.join(PG_BIN, "pg_ctl"), "-D", datadir, "-m", "fast",
                               "-w", "-t", "20", "stop"], check=False, timeout=30)
        except subprocess.SubprocessError:
            pass
        if os.path.exists(pidfile):  # pg_ctl gave up: take the postmaster down by its pid
            try:
                with open(pidfile) as f:
                    pid = int(f.readline())
                os.kill(pid, signal.SIGQUIT)
                wait_for("postgres to exit", lambda: not _alive(pid), timeout=10)
            except (OSError, ValueError, AssertionError):
                pass

    # ---- Redis ----------------------------------------------------------------------------

    def _start_redis(self):
        for port in (self.redis_main_port, self.redis_dr_port):
            d = self.redis_dirs[port]
            os.makedirs(d, exist_ok=True)
            conf = os.path.join(d, "redis.conf")
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"port {port}\nbind 127.0.0.1\ndir {d}\n"
                        "save \"\"\nappendonly no\ndaemonize no\n"
                        # Diskless sync waits 5 s for more replicas by default.
                        "repl-diskless-sync-delay 0\n"
                        f"pidfile {d}/redis.pid\n"
                        f"requirepass {self.redis_password}\nmasterauth {self.redis_password}\n")
                if port == self.redis_dr_port:
                    f.write(f"replicaof 127.0.0.1 {self.redis_main_port}\n")
            name = "redis-main" if port == self.redis_main_port else "redis-dr"
            with open(os.path.join(self.root, name + ".log"), "a") as logf:
                # Its own session: a data plane started with --up outlives this process
                # and its terminal.
                self._redis[port] = subprocess.Popen(["redis-server", conf], stdout=logf,
                                                     stderr=subprocess.STDOUT,
                                                     stdin=subprocess.DEVNULL,
                                                     start_new_session=True)
            wait_for(f"redis on {port}", lambda p=port: self._redis_up(p), timeout=10)
        wait_for("the redis replica's link to be up",
                 lambda: self.redis_info(self.redis_dr_port).get("master_link_status") == "up",
                 timeout=15)

    def _redis_up(self, port):
        proc = self._redis[port]
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server on {port} exited with {proc.returncode}")
        return self.redis_cli(port, "PING") == "PONG"

    def _stop_redis(self, port, proc):
        if proc.poll() is None:
            try:
                self.redis_cli(port, "SHUTDOWN", "NOSAVE", timeout=5)
            except (RuntimeError, OSError, subprocess.SubprocessError):
                pass  # the connection drops as it shuts down; the wait below decides
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def _stop_leftovers(self):
        """A previous run in the same root that died without stop(): end its servers so
        that start() can begin from nothing."""
        for d in self.pg_dirs.values():
            self._stop_postgres(d)
        for d in self.redis_dirs.values():
            try:
                with open(os.path.join(d, "redis.pid")) as f:
                    pid = int(f.read())
                with open(f"/proc/{pid}/comm") as f:
                    if not f.read().startswith("redis"):
                        continue
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError):
                continue  # no pid file, or not running
            try:
                wait_for("a leftover redis to exit", lambda p=pid: not _alive(p), timeout=10)
            except AssertionError:  # ignored SIGTERM: the next one's start must not fail
                os.kill(pid, signal.SIGKILL)
                wait_for("a leftover redis to die", lambda p=pid: not _alive(p), timeout=10)


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo", action="store_true", help="start, print the ports, wait for Enter")
    ap.add_argument("--up", action="store_true", help="start, write DIR/dataplane.env, exit")
    ap.add_argument("--down", action="store_true", help="stop what --up started in DIR")
    ap.add_argument("--kill", choices=["main", "dr", "pg-main", "pg-dr", "redis-main", "redis-dr"],
                    help="kill -9 a site's Postgres and Redis, or one of them")
    ap.add_argument("--dir", help="root directory (default: a new temporary one, removed after)")
    ap.add_argument("--ports", default="25532,25533,26479,26480",
                    help="pg main, pg dr, redis main, redis dr (default %(default)s)")
    args = ap.parse_args()
    if args.up or args.down or args.kill:
        if not args.dir:
            ap.error("--up, --down and --kill need --dir")
        dp = DataPlane(args.dir, *[int(p) for p in args.ports.split(",")])
        if args.up:
            dp.start()
            with open(os.path.join(dp.root, "dataplane.env"), "w") as f:
                for k, v in dp.env().items():
                    f.write(f"{k}={v}\n")
        elif args.down:
            dp._stop_leftovers()
        else:
            dp.kill_site(args.kill)
        return 0
    if not args.demo:
        ap.print_help()
        return 2
    root = args.dir or tempfile.mkdtemp(prefix="fo-dataplane-")
    ports = [int(p) for p in args.ports.split(",")]
    t0 = time.monotonic()
    dp = DataPlane(root, *ports)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    # SIGTERM (kill) and SIGINT (also when started in the background, where it is ignored
    # by default) end the demo through the finally below, which stops every server.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    try:
        dp.start()
        print(f"# data plane up in {time.monotonic() - t0:.1f}s under {root}")
        for k, v in dp.env().items():
            print(f"{k}={v}")
        print("# press Enter (or Ctrl-C) to stop everything", flush=True)
        try:
            sys.stdin.readline()
        except KeyboardInterrupt:
            pass
    finally:
        dp.stop()
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
