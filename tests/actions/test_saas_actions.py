#!/usr/bin/env python3
"""Integration test of the SaaS action kinds (CTest: it_saas_actions, label integration).

Starts tests/fakes/fakesaas.py on an ephemeral loopback port (--port-file) with the
example seed (deployments made fast), writes the token files into a temporary
directory, runs build/bin/test_saas_actions (cmocka) with FAKES_URL and
FO_SAAS_SECRETS, asserts it exits 0, then stops the fake. FO_BIN names the directory
of the test binary (CTest sets it); FO_KEEP=1 keeps the directory and the fake's log.
Waits are polls with deadlines, never bare sleeps. Standard library only.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKE = os.path.join(ROOT, "tests", "fakes", "fakesaas.py")
SEED = os.path.join(ROOT, "tests", "fakes", "seed-example.json")

TOKEN = "fake-token-0001"  # the seed's token (Vercel, Cloudflare)
SP_KEY = "fake-statuspage-key-0001"
PD_KEY = "e93facc04764012d7bfb002500d5d1a6"


def wait_for(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


def read_port(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def main():
    bin_dir = os.environ.get("FO_BIN") or os.path.join(ROOT, "build", "bin")
    test_bin = os.path.join(bin_dir, "test_saas_actions")
    if not os.access(test_bin, os.X_OK):
        print("test_saas_actions.py: %s not built" % test_bin, file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="fo-saas-")
    keep = os.environ.get("FO_KEEP") == "1"
    fake = None
    ok = False
    try:
        with open(SEED) as f:
            seed = json.load(f)
        # Deployments become READY and aliased in 0.25 s instead of 0.8 s.
        seed["vercel"]["durations"] = {"queued": 0.08, "building": 0.1, "alias": 0.07}
        seed_path = os.path.join(work, "seed.json")
        with open(seed_path, "w") as f:
            json.dump(seed, f)

        port_file = os.path.join(work, "fake.port")
        log = open(os.path.join(work, "fake.log"), "w")
        fake = subprocess.Popen(
            [sys.executable, FAKE, "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--seed", seed_path],
            stdout=log, stderr=subprocess.STDOUT)
        port = wait_for(lambda: fake.poll() is None and read_port(port_file), 10,
                        "the fake's port file")
        base = "http://127.0.0.1:%d" % port

        secrets = os.path.join(work, "secrets")
        os.mkdir(secrets, 0o700)
        files = {
            "vercel.token": TOKEN,
            "cf.token": TOKEN,
            "bad.token": "wrong-token-Zq9x",
            "slack.url": base + "/slack/services/T0001/B0001/fakesecret0001",
            "slack-bad.url": base + "/slack/services/T0001/B0001/wrongsecret0001",
            "slack-archived.url": base + "/slack/services/T0001/B0002/archived0002",
            "pd.key": PD_KEY,
            "pd-bad.key": "0123456789abcdef0123456789abcdef",
            "sp.key": SP_KEY,
            "db.secret": "postgresql://app:S3cr3t-Pw-dr@pg-dr.internal:5432/app",
        }
        for name, value in files.items():
            path = os.path.join(secrets, name)
            with open(path, "w") as f:
                f.write(value + "\n")
            os.chmod(path, 0o600)

        env = dict(os.environ, FAKES_URL=base, FO_SAAS_SECRETS=secrets)
        t0 = time.monotonic()
        rc = subprocess.call([test_bin], env=env)
        print("test_saas_actions: exit %d in %.1f s" % (rc, time.monotonic() - t0))
        ok = rc == 0
    finally:
        if fake is not None and fake.poll() is None:
            fake.send_signal(signal.SIGTERM)
            try:
                fake.wait(timeout=10)
            except subprocess.TimeoutExpired:
                fake.kill()
                fake.wait()
        if not ok:
            try:
                with open(os.path.join(work, "fake.log")) as f:
                    tail = f.readlines()[-40:]
                print("---- fake log (last lines) ----\n" + "".join(tail), file=sys.stderr)
            except OSError:
                pass
        if keep and not ok:
            print("kept %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
