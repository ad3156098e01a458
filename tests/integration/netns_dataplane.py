"""The data plane of tests/integration/dataplane.py, with each server inside its region's
network namespace (deploy/local-cluster up --netns --dataplane).

    dp = NetnsDataPlane(root, pg_main_port, pg_dr_port, redis_main_port, redis_dr_port,
                        hosts=[pg_main, pg_dr, redis_main, redis_dr],     # IPv4 addresses
                        netns=[ns_pg_main, ns_pg_dr, ns_redis_main, ns_redis_dr],
                        subnet="10.83.52.0/24")
    netns_dataplane.py --up|--down|--kill WHAT --dir D --ports P,P,P,P --hosts H,H,H,H
                       --netns NS,NS,NS,NS --subnet S

The same servers, users, grants and passwords as DataPlane (read its docstring); what
differs: every server listens on its region's address (and on 127.0.0.1 inside its
namespace), Postgres and Redis are started with `ip netns exec NS` (Postgres as
`ip netns exec NS runuser -u postgres --`), the standby is cloned from inside its own
namespace and streams from the primary's address, pg_hba.conf trusts the subnet (the
failoverd role still needs its password) and redis_cli() runs inside the server's
namespace, so a test can reach a server that a partition cut off from the root namespace.
psql() goes through the server's unix socket (beside its data directory), which works across network
namespaces. Stopping and kill -9 work by pid, as in DataPlane.

The namespaces must exist (local-cluster creates them); this module never creates or
removes network objects."""

import argparse
import os
import pwd
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dataplane import APP_DB, GRANTS_SQL, PG_BIN, ROLE, DataPlane, wait_for  # noqa: E402


class NetnsDataPlane(DataPlane):
    def __init__(self, root, pg_main_port, pg_dr_port, redis_main_port, redis_dr_port,
                 hosts, netns, subnet):
        super().__init__(root, pg_main_port, pg_dr_port, redis_main_port, redis_dr_port)
        ports = (pg_main_port, pg_dr_port, redis_main_port, redis_dr_port)
        self.host = dict(zip(ports, hosts))
        self.ns = dict(zip(ports, netns))
        self.subnet = subnet

    def env(self):
        e = super().env()
        e.update({"PG_HOST": self.host[self.pg_main_port],
                  "PG_HOST_MAIN": self.host[self.pg_main_port],
                  "PG_HOST_DR": self.host[self.pg_dr_port],
                  "REDIS_HOST": self.host[self.redis_main_port],
                  "REDIS_HOST_MAIN": self.host[self.redis_main_port],
                  "REDIS_HOST_DR": self.host[self.redis_dr_port],
                  "NETNS_PG_MAIN": self.ns[self.pg_main_port],
                  "NETNS_PG_DR": self.ns[self.pg_dr_port],
                  "NETNS_REDIS_MAIN": self.ns[self.redis_main_port],
                  "NETNS_REDIS_DR": self.ns[self.redis_dr_port]})
        return e

    # ---- commands inside a namespace -------------------------------------------------------

    def _pg_in(self, ns, cmd, check=True, timeout=60):
        """cmd as the postgres user inside network namespace ns (None: this one)."""
        return self._as_postgres(cmd, check=check, timeout=timeout, netns=ns)

    def psql_tcp(self, port, sql, user="postgres", db=APP_DB, check=True, timeout=30):
        """psql over TCP to the server's region address, from inside its namespace (as a
        client in that region would connect). Same returns as DataPlane.psql."""
        cmd = ["ip", "netns", "exec", self.ns[port], os.path.join(PG_BIN, "psql"), "-X", "-q",
               "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.host[port], "-p", str(port),
               "-U", user, "-d", db, "-c", sql]
        env = dict(os.environ)
        if user == ROLE and self.password:
            env["PGPASSWORD"] = self.password
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
        if not check:
            return r
        if r.returncode != 0:
            raise RuntimeError(f"psql -h {self.host[port]} -p {port}: {sql!r}: {r.stderr.strip()}")
        return r.stdout.strip()

    def redis_cli(self, port, *args, timeout=10):
        env = {**os.environ, "REDISCLI_AUTH": self.redis_password or ""}
        r = subprocess.run(["ip", "netns", "exec", self.ns[port], "redis-cli", "-h",
                            self.host[port], "-p", str(port), *map(str, args)],
                           capture_output=True, text=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"redis-cli -h {self.host[port]} -p {port} {args}: {r.stderr.strip()}")
        return r.stdout.strip()

    # ---- Postgres ----------------------------------------------------------------------------

    def _start_postgres(self):
        pm, pd = self.pg_main_port, self.pg_dr_port
        main, dr = self.pg_dirs[pm], self.pg_dirs[pd]
        self._as_postgres([os.path.join(PG_BIN, "initdb"), "-D", main, "-U", "postgres", "-A",
                           "trust", "-E", "UTF8", "--locale=C", "-N", "--no-instructions"])
        with open(os.path.join(main, "postgresql.conf"), "a") as f:
            f.write("\n# tests/integration/netns_dataplane.py\n"
                    f"listen_addresses = '{self.host[pm]},127.0.0.1'\n"
                    f"port = {pm}\n"
                    f"unix_socket_directories = '{self.sock_dir(pm)}'\n"
                    "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                    # pg_rewind (deploy/pg-rejoin, failoverctl rejoin) needs both, and
                    # the old primary's WAL back to the checkpoint before the divergence.
                    "fsync = off\nfull_page_writes = on\nwal_log_hints = on\n"
                    "wal_keep_size = '128MB'\n"
                    "shared_buffers = 16MB\nmax_connections = 30\n"
                    "log_min_messages = warning\nlog_connections = off\n")
        # As DataPlane's, plus the regions' subnet (other regions' probes and the standby;
        # with --wan they arrive from the relay's address, which is in the subnet too).
        with open(os.path.join(main, "pg_hba.conf"), "w") as f:
            f.write(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"
                    f"host all {ROLE} {self.subnet} scram-sha-256\n"
                    "local all all trust\n"
                    "host all all 127.0.0.1/32 trust\n"
                    f"host all all {self.subnet} trust\n"
                    "local replication all trust\n"
                    "host replication all 127.0.0.1/32 trust\n"
                    f"host replication all {self.subnet} trust\n")
        self._pg_ctl_start(main, "pg-main")
        self.psql(pm, f"CREATE DATABASE {APP_DB}", db="postgres")
        r = self._as_postgres([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                               "-h", self.sock_dir(pm), "-p", str(pm), "-U", "postgres",
                               "-d", APP_DB, "-f", GRANTS_SQL], check=False)
        if r.returncode != 0:
            raise RuntimeError(f"{GRANTS_SQL}: {r.stderr.strip()}")
        self.psql(pm,
                  f"ALTER ROLE {ROLE} PASSWORD '{self.password}';"
                  "CREATE TABLE items (id serial PRIMARY KEY, note text NOT NULL);"
                  f"GRANT SELECT, INSERT ON items TO {ROLE};"
                  f"GRANT USAGE ON SEQUENCE items_id_seq TO {ROLE};"
                  "INSERT INTO items (note) VALUES ('before the standby was cloned');")
        # Cloned from the standby's own region: primary_conninfo (-R) names the primary's
        # region address, the path replication takes from then on.
        self._pg_in(self.ns[pd], [os.path.join(PG_BIN, "pg_basebackup"), "-D", dr, "-h",
                                  self.host[pm], "-p", str(pm), "-U", "postgres", "-R", "-X",
                                  "stream", "-c", "fast", "-N"])
        with open(os.path.join(dr, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = '{self.host[pd]},127.0.0.1'\n"
                    f"port = {pd}\nunix_socket_directories = '{self.sock_dir(pd)}'\n")
        self._pg_ctl_start(dr, "pg-dr")
        wait_for("the standby to stream from the primary",
                 lambda: self.psql(pm, "SELECT count(*) FROM pg_stat_replication "
                                       "WHERE state = 'streaming'") == "1", timeout=30)

    def _pg_ctl_start(self, datadir, name):
        port = self.pg_main_port if name == "pg-main" else self.pg_dr_port
        log = os.path.join(self.root, name + ".log")
        open(log, "a").close()
        pg = pwd.getpwnam("postgres")
        os.chown(log, pg.pw_uid, pg.pw_gid)
        r = self._pg_in(self.ns[port], [os.path.join(PG_BIN, "pg_ctl"), "-D", datadir, "-l", log,
                                        "-w", "-t", "30", "start"], check=False)
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start {datadir}: {r.stderr.strip()}\n{self.log(name)}")

    # ---- Redis -------------------------------------------------------------------------------

    def _start_redis(self):
        rm, rd = self.redis_main_port, self.redis_dr_port
        for port in (rm, rd):
            d = self.redis_dirs[port]
            os.makedirs(d, exist_ok=True)
            conf = os.path.join(d, "redis.conf")
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"port {port}\nbind {self.host[port]} 127.0.0.1\ndir {d}\n"
                        "save \"\"\nappendonly no\ndaemonize no\n"
                        "repl-diskless-sync-delay 0\n"
                        f"pidfile {d}/redis.pid\n"
                        f"requirepass {self.redis_password}\nmasterauth {self.redis_password}\n")
                if port == rd:
                    f.write(f"replicaof {self.host[rm]} {rm}\n")
            name = "redis-main" if port == rm else "redis-dr"
            with open(os.path.join(self.root, name + ".log"), "a") as logf:
                # ip netns exec execs redis-server: the Popen's pid is the server's.
                self._redis[port] = subprocess.Popen(
                    ["ip", "netns", "exec", self.ns[port], "redis-server", conf], stdout=logf,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            wait_for(f"redis on {self.host[port]}:{port}", lambda p=port: self._redis_up(p),
                     timeout=10)
        wait_for("the redis replica's link to be up",
                 lambda: self.redis_info(rd).get("master_link_status") == "up", timeout=15)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--up", action="store_true", help="start, write DIR/dataplane.env, exit")
    g.add_argument("--down", action="store_true", help="stop what --up started in DIR")
    g.add_argument("--kill", choices=["main", "dr", "pg-main", "pg-dr", "redis-main", "redis-dr"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ports", required=True, help="pg main, pg dr, redis main, redis dr")
    ap.add_argument("--hosts", required=True, help="their addresses, in the same order")
    ap.add_argument("--netns", required=True, help="their network namespaces, in the same order")
    ap.add_argument("--subnet", required=True, help="the regions' subnet (pg_hba.conf)")
    a = ap.parse_args()
    dp = NetnsDataPlane(a.dir, *[int(p) for p in a.ports.split(",")],
                        hosts=a.hosts.split(","), netns=a.netns.split(","), subnet=a.subnet)
    if a.up:
        dp.start()
        with open(os.path.join(dp.root, "dataplane.env"), "w") as f:
            for k, v in dp.env().items():
                f.write(f"{k}={v}\n")
    elif a.down:
        dp._stop_leftovers()
    else:
        dp.kill_site(a.kill)
    return 0


if __name__ == "__main__":
    sys.exit(main())
