"""Starts real `tarn serve --quickstart` processes for the integration tests and stops them by PID.

The binary comes from TARN_BIN (the Makefile passes the one `swift test` just built). A server
is asked for port 0 and prints the URL once it accepts connections, so tests wait on that
line, not on a timer.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import uuid

import lakefs
import pytest
from lakefs.client import Client


ADMIN_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
ADMIN_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class TarnProcess:
    """One `tarn serve --quickstart` on a free loopback port over `data_dir`."""

    def __init__(self, data_dir, extra_args=(), env=None, listen="127.0.0.1:0"):
        binary = os.environ.get("TARN_BIN")
        assert binary and os.access(binary, os.X_OK), f"TARN_BIN must name the tarn binary, got {binary!r}"
        env = dict(os.environ, TARN_ADMIN_ACCESS_KEY_ID=ADMIN_KEY_ID, TARN_ADMIN_SECRET_ACCESS_KEY=ADMIN_SECRET, **(env or {}))
        self.proc = subprocess.Popen(
            [binary, "serve", "--quickstart", "--listen", listen, "--data-dir", data_dir, *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        self.url = None
        for line in self.proc.stdout:
            if line.startswith("Tarn is listening on "):
                self.url = line.split()[-1]
                break
        if self.url is None:
            self.stop()
            raise AssertionError(f"server exited before listening (code {self.proc.poll()})")

    def stop(self, timeout=30):
        """SIGTERM, then the exit code; SIGKILL only if it does not stop within `timeout`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def cli_home(home, url):
    """A HOME whose ~/.tarn.yaml points the `tarn` CLI at `url` with the admin key."""
    with open(os.path.join(home, ".tarn.yaml"), "w") as f:
        f.write(f"credentials:\n  access_key_id: {ADMIN_KEY_ID}\n  secret_access_key: {ADMIN_SECRET}\nserver:\n  endpoint_url: {url}\n")
    return home


@pytest.fixture
def data_dir():
    path = tempfile.mkdtemp(prefix="tarn-it-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


# TARN_IT_BACKEND=seaweedfs runs the suites once more with every `repo` on an s3:// namespace
# in a SeaweedFS the session starts (the Makefile does both runs).
BACKEND = os.environ.get("TARN_IT_BACKEND", "local")


@pytest.fixture(scope="session")
def s3_backend():
    if BACKEND != "seaweedfs":
        yield None
        return
    from s3backends import SeaweedFS
    weed = SeaweedFS()
    try:
        weed.bucket = weed.make_bucket()
        yield weed
    finally:
        weed.stop()


@pytest.fixture(scope="session")
def tarn_url(s3_backend):
    path = tempfile.mkdtemp(prefix="tarn-it-")
    server = TarnProcess(path, extra_args=s3_backend.tarn_args() if s3_backend else ())
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def client(tarn_url):
    """The high-level `lakefs` client, as admin, on the session's server."""
    return Client(host=tarn_url, username=ADMIN_KEY_ID, password=ADMIN_SECRET)


def namespace_for(name, s3_backend):
    return f"s3://{s3_backend.bucket}/{name}" if s3_backend else f"local://{name}"


@pytest.fixture
def repo(client, s3_backend):
    """A fresh repository with its own namespace (local, or in the session's S3 backend)."""
    name = "it-" + uuid.uuid4().hex[:12]
    return lakefs.Repository(name, client=client).create(storage_namespace=namespace_for(name, s3_backend))


# A SeaweedFS per test module and a Tarn keeping its s3:// namespaces there, for the modules
# that test the S3 backing store itself (test_s3_backend.py, test_import.py).
@pytest.fixture(scope="module")
def weed():
    from s3backends import SeaweedFS
    w = SeaweedFS()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def server(weed):
    from s3backends import Server
    s = Server(weed)
    yield s
    s.stop()
