"""it_db_actions: runs build/bin/test_db_actions (tests/actions/test_db_actions.c) against a
real data plane (tests/integration/dataplane.py): a PostgreSQL 15 primary with a streaming
standby and a Redis master with a replica on 127.0.0.1, plus two ports for the failure
cases: DEAD_PORT (nothing listens) and HANG_PORT (a socket that completes TCP handshakes
and never says a word, like a blackholed or wedged server).

Ports are fixed and distinct from the other tests' (25432-25435, 26379-26380); the test
refuses to start when one is taken. Everything it starts is stopped in `finally`.
FO_KEEP=1 keeps the data directory and server logs of a failed run."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from dataplane import DataPlane, port_free  # noqa: E402

PG_MAIN, PG_DR, DEAD, HANG = 25432, 25433, 25434, 25435
REDIS_MAIN, REDIS_DR = 26379, 26380


def main():
    binary = os.path.join(os.environ.get("FO_BIN", os.path.join(TOP, "build", "bin")),
                          "test_db_actions")
    if not os.access(binary, os.X_OK):
        print(f"it_db_actions: {binary} not built", file=sys.stderr)
        return 1
    busy = [p for p in (PG_MAIN, PG_DR, DEAD, HANG, REDIS_MAIN, REDIS_DR) if not port_free(p)]
    if busy:
        print(f"it_db_actions: ports in use on 127.0.0.1: {busy}", file=sys.stderr)
        return 1
    root = tempfile.mkdtemp(prefix="fo-db-actions-")
    dp = DataPlane(root, PG_MAIN, PG_DR, REDIS_MAIN, REDIS_DR)
    # Listens but never accepts: the kernel completes the handshake (backlog), nobody reads.
    hang = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    rc = 1
    try:
        hang.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hang.bind(("127.0.0.1", HANG))
        hang.listen(16)
        t0 = time.monotonic()
        dp.start()
        t1 = time.monotonic()
        print(f"it_db_actions: data plane up in {t1 - t0:.1f}s under {root}", flush=True)
        env = {**os.environ, **dp.env(), "DEAD_PORT": str(DEAD), "HANG_PORT": str(HANG),
               # postgres.rejoin re-seeds dr with deploy/pg-rejoin (test_pg_rejoin)
               "PG_DATA_DR": dp.pg_dirs[PG_DR], "PG_LOG_DR": os.path.join(root, "pg-dr.log"),
               "PG_REJOIN": os.path.join(TOP, "deploy", "pg-rejoin")}
        r = subprocess.run([binary], env=env, timeout=240)
        rc = r.returncode
        print(f"it_db_actions: test_db_actions exit {rc} in {time.monotonic() - t1:.1f}s",
              flush=True)
        if rc != 0:
            for name in ("pg-main", "pg-dr", "redis-main", "redis-dr"):
                print(f"---- {name}.log (tail)\n" + "\n".join(dp.log(name).splitlines()[-15:]))
    finally:
        hang.close()
        dp.stop()
        if rc == 0 or os.environ.get("FO_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"it_db_actions: kept {root}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
