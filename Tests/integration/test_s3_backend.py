"""Repositories on s3:// namespaces: Tarn keeps the bytes in a real S3 server (SeaweedFS, and
moto as a second peer) through libcurl, checks namespaces at creation, retries what may be
retried, and fails cleanly when the backend goes away."""
import contextlib
import hashlib
import http.client
import http.server
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import botocore
import pytest
import requests
from boto3.s3.transfer import TransferConfig

from rawhttp import Responses, raw_request
from s3backends import PART, Moto, SeaweedFS, Server, api, keys_under, rss_kib, tarn_s3


@contextlib.contextmanager
def weed_of_its_own():
    """A SeaweedFS and a Tarn in front of it, for a test that stops the backend (the shared
    ones must stay up); both stopped by PID at the end."""
    weed = SeaweedFS()
    server = None
    try:
        server = Server(weed)
        yield weed, server
    finally:
        if server:
            server.stop()
        weed.stop()


def test_namespace_is_checked_and_marked_at_creation(weed, server):
    bucket = weed.make_bucket()
    repo = server.repo(f"s3://{bucket}/lake")
    marker = weed.client().get_object(Bucket=bucket, Key="lake/_tarn/repository")["Body"].read()
    assert marker == repo.id.encode()

    r = api(server.url, "POST", "/repositories", json={"name": "nobucket", "storage_namespace": "s3://no-such-bucket-x1/p"})
    assert r.status_code == 400 and "no-such-bucket-x1 does not exist" in r.json()["message"]
    for ns in (f"s3://{bucket}/lake", f"s3://{bucket}/lake/inner", f"s3://{bucket}"):
        r = api(server.url, "POST", "/repositories", json={"name": "overlap" + uuid.uuid4().hex[:6], "storage_namespace": ns})
        assert r.status_code == 400 and repo.id in r.json()["message"], (ns, r.text)
    # A namespace another Tarn (another database) already marked is refused too.
    other = Server(weed)
    try:
        r = api(other.url, "POST", "/repositories", json={"name": "thief", "storage_namespace": f"s3://{bucket}/lake"})
        assert r.status_code == 400 and f"repository {repo.id}" in r.json()["message"]
    finally:
        other.stop()


def test_s3_namespaces_need_a_configured_backend(tarn_url, s3_backend):
    if s3_backend:
        return  # this session's server has one; the default run checks the refusal
    r = api(tarn_url, "POST", "/repositories", json={"name": "nobackend", "storage_namespace": "s3://bucket/p"})
    assert r.status_code == 400 and "no S3 backend" in r.json()["message"]


def test_bytes_land_in_the_backend_and_come_back(weed, server, tmp_path):
    bucket = weed.make_bucket()
    repo = server.repo(f"s3://{bucket}/data")
    s3 = tarn_s3(server.url)
    small = os.urandom(100_000)
    s3.put_object(Bucket=repo.id, Key="main/small.bin", Body=small)
    # 12 MiB through the transfer manager: a gateway multipart upload, joined on the backend.
    big = os.urandom(12 * 1024 * 1024)
    path = tmp_path / "big.bin"
    path.write_bytes(big)
    s3.upload_file(str(path), repo.id, "main/big.bin",
                   Config=TransferConfig(multipart_threshold=PART, multipart_chunksize=PART))
    # 11 MiB over the REST API: a body of unknown length, spooled a part at a time.
    rest = os.urandom(11 * 1024 * 1024)
    repo.branch("main").object("rest.bin").upload(data=rest)
    commit = repo.branch("main").commit(message="three objects").get_commit().id

    assert s3.get_object(Bucket=repo.id, Key="main/small.bin")["Body"].read() == small
    assert s3.get_object(Bucket=repo.id, Key=f"{commit}/big.bin")["Body"].read() == big
    ranged = s3.get_object(Bucket=repo.id, Key="main/big.bin", Range=f"bytes={PART - 10}-{PART + 9}")["Body"].read()
    assert ranged == big[PART - 10:PART + 10]
    assert repo.ref(commit).object("rest.bin").reader(mode="rb").read() == rest
    stat = repo.branch("main").object("big.bin").stat()
    assert stat.physical_address.startswith(f"s3://{bucket}/data/data/")

    # The objects are in the backend under the namespace's prefix, with the same bytes.
    stored = [k for k in keys_under(weed, bucket, "data/data/")]
    sizes = sorted(weed.client().head_object(Bucket=bucket, Key=k)["ContentLength"] for k in stored)
    assert len(small) in sizes and len(big) in sizes and len(rest) in sizes
    address = stat.physical_address[len(f"s3://{bucket}/"):]
    assert hashlib.md5(weed.client().get_object(Bucket=bucket, Key=address)["Body"].read()).digest() == hashlib.md5(big).digest()


def test_a_small_get_whose_backend_bytes_vanished_is_refused_in_order(weed, server):
    """A small GET's bytes come from one backend GET that the event loop sends. When it fails,
    the request goes the router's way, which reports the backend's answer; the requests
    pipelined behind it wait for it and are answered after it, in order."""
    bucket = weed.make_bucket()
    repo = server.repo(f"s3://{bucket}/vanish")
    s3 = tarn_s3(server.url)
    kept, lost = os.urandom(4096), os.urandom(3000)
    s3.put_object(Bucket=repo.id, Key="main/kept.bin", Body=kept)
    s3.put_object(Bucket=repo.id, Key="main/lost.bin", Body=lost)
    address = repo.branch("main").object("lost.bin").stat().physical_address[len(f"s3://{bucket}/"):]
    weed.client().delete_object(Bucket=bucket, Key=address)
    base = f"{server.url}/{repo.id}/main"
    batch = (raw_request(f"{base}/kept.bin", "GET") + raw_request(f"{base}/lost.bin", "GET")
             + raw_request(f"{base}/kept.bin", "GET", headers={"Range": "bytes=10-19"})
             + raw_request(f"{base}/lost.bin", "HEAD") + raw_request(f"{base}/kept.bin", "GET"))
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=30) as sock:
        sock.sendall(batch)
        r = Responses(sock)
        first = r.next()
        assert first[0] == 200 and first[2] == kept
        gone = r.next()
        assert gone[0] == 404 and b"<Code>NoSuchKey</Code>" in gone[2] and b"data is gone" in gone[2]
        ranged = r.next()
        assert ranged[0] == 206 and ranged[2] == kept[10:20]
        head = r.next(head_only=True)  # metadata only: the catalog still lists the entry
        assert head[0] == 200 and head[1]["content-length"] == str(len(lost))
        last = r.next()
        assert last[0] == 200 and last[2] == kept


def test_copy_within_a_namespace_shares_bytes_and_across_namespaces_copies(weed, server):
    bucket = weed.make_bucket()
    a = server.repo(f"s3://{bucket}/a")
    b = server.repo(f"local://copy-{uuid.uuid4().hex[:8]}")
    s3 = tarn_s3(server.url)
    body = os.urandom(300_000)
    s3.put_object(Bucket=a.id, Key="main/x", Body=body)
    before = len(keys_under(weed, bucket, "a/data/"))
    s3.copy_object(Bucket=a.id, Key="main/y", CopySource={"Bucket": a.id, "Key": "main/x"})
    assert len(keys_under(weed, bucket, "a/data/")) == before
    s3.copy_object(Bucket=b.id, Key="main/x", CopySource={"Bucket": a.id, "Key": "main/x"})
    s3.copy_object(Bucket=a.id, Key="main/z", CopySource={"Bucket": b.id, "Key": "main/x"})
    assert len(keys_under(weed, bucket, "a/data/")) == before + 1
    for bucket_name, key in [(a.id, "main/y"), (b.id, "main/x"), (a.id, "main/z")]:
        assert s3.get_object(Bucket=bucket_name, Key=key)["Body"].read() == body


class FlakyProxy:
    """Forwards to an S3 server, answering `503 SlowDown` to the next `failures` requests
    first. A request announcing its body with `Expect: 100-continue` is refused before the
    body is sent, as S3 does."""

    def __init__(self, target):
        self.target = target.replace("http://", "")
        self.failures = 0
        self.refused = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def take_failure(self):
                with proxy.lock:
                    if proxy.failures > 0:
                        proxy.failures -= 1
                        proxy.refused += 1
                        return True
                return False

            def refuse(self):
                body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                self.send_response(503)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def handle_expect_100(self):
                if self.take_failure():
                    self.refuse()
                    return False
                self._passed = True
                return super().handle_expect_100()

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if not getattr(self, "_passed", False) and self.take_failure():
                    self.refuse()
                    return
                self._passed = False
                conn = http.client.HTTPConnection(proxy.target, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("expect", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for k, v in reply.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, n):
        with self.lock:
            self.failures = n
            self.refused = 0

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_503_and_slowdown_are_retried_then_reported(weed):
    proxy = FlakyProxy(weed.url)
    server = Server(weed, endpoint=proxy.url, env={"TARN_BLOCKSTORE_S3_MAX_RETRIES": "3"})
    try:
        bucket = weed.make_bucket()
        repo = server.repo(f"s3://{bucket}/flaky")
        s3 = tarn_s3(server.url)
        for size in (50_000, 3 * 1024 * 1024):  # a body sent from memory, one streamed
            body = os.urandom(size)
            proxy.fail_next(3)
            s3.put_object(Bucket=repo.id, Key=f"main/{size}", Body=body)
            assert proxy.refused == 3
            proxy.fail_next(2)
            assert s3.get_object(Bucket=repo.id, Key=f"main/{size}")["Body"].read() == body
            assert proxy.refused == 2
        # More failures than retries: the client gets a clear 503, and nothing is staged.
        proxy.fail_next(100)
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.put_object(Bucket=repo.id, Key="main/never", Body=b"x" * 1000)
        assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert "SlowDown" in e.value.response["Error"]["Message"]
        proxy.fail_next(0)
        with pytest.raises(botocore.exceptions.ClientError):
            s3.head_object(Bucket=repo.id, Key="main/never")
    finally:
        server.stop()
        proxy.stop()


def test_backend_stopped_mid_upload_stages_nothing_and_a_retry_succeeds(tmp_path):
    with weed_of_its_own() as (weed, server):
        bucket = weed.make_bucket()
        repo = server.repo(f"s3://{bucket}/outage")
        s3 = tarn_s3(server.url)
        url = s3.generate_presigned_url("put_object", Params={"Bucket": repo.id, "Key": "main/big.bin"}, ExpiresIn=600)
        size = 40 * 1024 * 1024
        chunk = os.urandom(1024 * 1024)

        class Body:
            """Streamed with a Content-Length (a generator would be sent chunked as well, which
            the HTTP stack refuses as ambiguous framing); stops SeaweedFS part way."""

            def __init__(self, stop_after):
                self.stop_after = stop_after

            def __len__(self):
                return size

            def __iter__(self):
                for i in range(size // len(chunk)):
                    if i == self.stop_after:
                        weed.pause_stop()
                    yield chunk

        def body(stop_after):
            return Body(stop_after)

        try:
            r = requests.put(url, data=body(stop_after=12), timeout=120)
            failed = r.status_code >= 500
        except requests.ConnectionError:
            failed = True
        assert failed
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.head_object(Bucket=repo.id, Key="main/big.bin")
        assert e.value.response["Error"]["Code"] in ("404", "NoSuchKey")

        weed.start()
        r = requests.put(url, data=body(stop_after=-1), timeout=120)
        assert r.status_code == 200, r.text
        got = s3.get_object(Bucket=repo.id, Key="main/big.bin")["Body"].read()
        assert got == chunk * (size // len(chunk))


@contextlib.contextmanager
def big_object_on_a_weed_of_its_own():
    """A 96 MiB object at `main/big.bin` in a repository on a SeaweedFS of the test's own."""
    with weed_of_its_own() as (weed, server):
        repo = server.repo(f"s3://{weed.make_bucket()}/cut")
        s3 = tarn_s3(server.url)
        body = os.urandom(1024 * 1024) * 96
        s3.put_object(Bucket=repo.id, Key="main/big.bin", Body=body)
        yield weed, server, s3, repo, body


def test_backend_killed_mid_download_cuts_the_response_and_a_retry_succeeds():
    """A large GET's body is received by Tarn itself (from 8 MiB): when the backend dies part
    way, the client's response ends short of its Content-Length, never hangs, and the same GET
    after a restart brings every byte."""
    with big_object_on_a_weed_of_its_own() as (weed, server, s3, repo, body):
        size = len(body)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": repo.id, "Key": "main/big.bin"}, ExpiresIn=600)

        received = 0
        with requests.get(url, stream=True, timeout=60) as r:
            assert r.status_code == 200
            assert int(r.headers["content-length"]) == size
            try:
                for part in r.raw.stream(1024 * 1024, decode_content=False):
                    received += len(part)
                    if received == 4 * 1024 * 1024:
                        weed.proc.kill()  # no graceful end for the transfers in flight
                        weed.proc.wait()
            except Exception as e:  # urllib3's ProtocolError around http.client's IncompleteRead
                assert "IncompleteRead" in repr(e) or "reset by peer" in repr(e), e
        assert 4 * 1024 * 1024 <= received < size

        weed.start()
        got = requests.get(url, timeout=60)
        assert got.status_code == 200
        assert hashlib.md5(got.content).digest() == hashlib.md5(body).digest()


def test_small_gets_after_the_backend_restarted_come_back_whole():
    """Small GETs go over connections Tarn's event loops keep to the backend. When the backend
    dies those connections die with it: a GET then gets a 503 within its retries, never a hang
    or bytes of another answer, and once the backend is back every GET brings its own object."""
    with weed_of_its_own() as (weed, server):
        bucket = weed.make_bucket()
        repo = server.repo(f"s3://{bucket}/kept")
        s3 = tarn_s3(server.url)
        bodies = {f"main/small/{i}": os.urandom(1000 + 37 * i) for i in range(24)}
        for key, body in bodies.items():
            s3.put_object(Bucket=repo.id, Key=key, Body=body)

        def read_all():
            with ThreadPoolExecutor(8) as pool:
                got = list(pool.map(lambda k: s3.get_object(Bucket=repo.id, Key=k)["Body"].read(), list(bodies) * 3))
            assert got == list(bodies.values()) * 3

        read_all()
        weed.proc.kill()
        weed.proc.wait()
        with pytest.raises(botocore.exceptions.ClientError) as failed:
            s3.get_object(Bucket=repo.id, Key="main/small/3")
        assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503

        weed.start()
        read_all()


def relays(server, outcome):
    """`tarn_backend_relays_total{outcome=...}` from the server's /metrics."""
    text = requests.get(server.url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("tarn_backend_relays_total{") and f'outcome="{outcome}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def read_response(sock, buf=b""):
    """One response off `sock`: status, lower-case headers, body and what came after it."""
    data = bytearray(buf)
    while b"\r\n\r\n" not in data:
        more = sock.recv(1 << 20)
        assert more, "connection closed before a head"
        data += more
    end = data.index(b"\r\n\r\n")
    lines = bytes(data[:end]).decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    del data[:end + 4]
    while len(data) < length:
        more = sock.recv(1 << 20)
        assert more, f"connection closed {length - len(data)} bytes before the body's end"
        data += more
    return int(lines[0].split()[1]), headers, bytes(data[:length]), bytes(data[length:])


def test_large_gets_are_relayed_whole_and_in_order_on_one_connection(weed, server):
    """A header-signed GET of 8 MiB or more from a plain-HTTP backend is relayed from the
    backend's socket to the client's (splice): whole objects and ranges arrive intact, and a
    request pipelined behind a relayed one is answered after it, never inside it."""
    bucket = weed.make_bucket()
    repo = server.repo(f"s3://{bucket}/relay")
    s3 = tarn_s3(server.url)
    big = os.urandom(1 << 20) * 11 + os.urandom(12345)
    small = os.urandom(3000)
    s3.put_object(Bucket=repo.id, Key="main/big.bin", Body=big)
    s3.put_object(Bucket=repo.id, Key="main/small.bin", Body=small)
    done = relays(server, "done")

    assert s3.get_object(Bucket=repo.id, Key="main/big.bin")["Body"].read() == big
    ranged = s3.get_object(Bucket=repo.id, Key="main/big.bin", Range="bytes=1000-9437183")
    assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert ranged["ContentRange"] == f"bytes 1000-9437183/{len(big)}"
    assert ranged["Body"].read() == big[1000:9437184]
    assert relays(server, "done") == done + 2

    # Three requests in one write: big, small, big; the answers in that order and intact.
    base = f"{server.url}/{repo.id}/main/"
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=60) as sock:
        sock.sendall(raw_request(base + "big.bin", "GET") + raw_request(base + "small.bin", "GET") + raw_request(base + "big.bin", "GET"))
        rest = b""
        for expected in (big, small, big):
            status, headers, body, rest = read_response(sock, rest)
            assert status == 200 and body == expected
        assert rest == b""
    assert relays(server, "done") == done + 4


def test_clients_leaving_mid_relay_give_their_relays_back(weed, server):
    """A client that closes its connection part way through a relayed GET ends the relay:
    more of them than may run at once (32) leave, and the next GET is still relayed whole."""
    bucket = weed.make_bucket()
    repo = server.repo(f"s3://{bucket}/leave")
    s3 = tarn_s3(server.url)
    big = os.urandom(1 << 20) * 48
    s3.put_object(Bucket=repo.id, Key="main/big.bin", Body=big)
    failed = relays(server, "failed")
    port = int(server.url.rsplit(":", 1)[1])
    request = raw_request(f"{server.url}/{repo.id}/main/big.bin", "GET")
    for _ in range(40):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(request)
            got = b""
            while len(got) < 1 << 20:
                more = sock.recv(1 << 16)
                assert more
                got += more
            assert got.startswith(b"HTTP/1.1 200")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset, not FIN
    done = relays(server, "done")
    assert s3.get_object(Bucket=repo.id, Key="main/big.bin")["Body"].read() == big
    assert relays(server, "done") == done + 1
    # Each relay ended when its client left (a relay still running would hold its claim).
    deadline = threading.Event()
    for _ in range(100):
        if relays(server, "failed") == failed + 40:
            break
        deadline.wait(0.1)
    assert relays(server, "failed") == failed + 40


def test_backend_killed_mid_relay_cuts_the_response_and_a_retry_succeeds():
    """When the backend dies part way through a relayed GET the client's response ends short
    of its Content-Length (the connection is closed), and after a restart the GET is whole."""
    with big_object_on_a_weed_of_its_own() as (weed, server, s3, repo, body):
        size = len(body)
        failed = relays(server, "failed")
        received = 0
        stream = s3.get_object(Bucket=repo.id, Key="main/big.bin")["Body"]
        with pytest.raises(Exception) as cut:
            while True:
                part = stream.read(1024 * 1024)
                if not part:
                    break
                received += len(part)
                if received == 4 * 1024 * 1024:
                    weed.proc.kill()
                    weed.proc.wait()
        assert "IncompleteRead" in repr(cut.value) or "reset by peer" in repr(cut.value) or "ResponseStreamingError" in repr(cut.value), cut.value
        assert 4 * 1024 * 1024 <= received < size
        assert relays(server, "failed") == failed + 1

        weed.start()
        got = s3.get_object(Bucket=repo.id, Key="main/big.bin")["Body"].read()
        assert hashlib.md5(got).digest() == hashlib.md5(body).digest()


def test_sigterm_lets_a_relayed_get_finish_whole():
    """A relayed GET moves its body on a thread beside the server's connections: SIGTERM while
    its client is part way through lets it run to its end, as any request in flight does, and
    only then does the server stop."""
    with big_object_on_a_weed_of_its_own() as (weed, server, s3, repo, body):
        port = int(server.url.rsplit(":", 1)[1])
        request = raw_request(f"{server.url}/{repo.id}/main/big.bin", "GET")
        # The same GET is relayed on this server (a relay is counted when it ends).
        done = relays(server, "done")
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(request)
            assert read_response(sock)[2] == body
        assert relays(server, "done") == done + 1

        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(request)
            first = sock.recv(1 << 16)
            assert first.startswith(b"HTTP/1.1 200")
            # 96 MiB cannot fit in the sockets' and the relay's buffers: the relay waits for
            # this client to read on, which it does only once the server, its connections
            # closed, says it waits for the relay (before, it exited and cut the body short).
            server.tarn.proc.send_signal(15)
            lines = []
            for line in server.tarn.proc.stdout:
                lines.append(line)
                if line.startswith("Tarn is waiting for") or line.startswith("Tarn stopped"):
                    break
            assert lines[-1] == "Tarn is waiting for 1 relayed GET to finish\n", lines
            status, _, got, rest = read_response(sock, first)
            assert status == 200 and rest == b""
            assert hashlib.md5(got).digest() == hashlib.md5(body).digest()
        assert server.tarn.proc.wait(timeout=60) == 0
        assert "Tarn stopped\n" in server.tarn.proc.stdout.read()


def test_a_slow_reader_keeps_server_memory_bounded(weed, server, tmp_path):
    bucket = weed.make_bucket()
    repo = server.repo(f"s3://{bucket}/slow")
    s3 = tarn_s3(server.url)
    path = tmp_path / "big"
    size = 256 * 1024 * 1024
    with open(path, "wb") as f:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            f.write(block)
    s3.upload_file(str(path), repo.id, "main/big", Config=TransferConfig(multipart_threshold=64 * 1024 * 1024,
                                                                          multipart_chunksize=64 * 1024 * 1024))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": repo.id, "Key": "main/big"}, ExpiresIn=600)
    pid = server.tarn.proc.pid
    baseline = rss_kib(pid)
    peak = baseline
    digest = hashlib.md5()
    with requests.get(url, stream=True, timeout=120) as r:
        assert r.status_code == 200
        for i, part in enumerate(r.iter_content(256 * 1024)):
            digest.update(part)
            if i % 16 == 0:
                peak = max(peak, rss_kib(pid))
                threading.Event().wait(0.02)  # a slow consumer: ~12 MB/s
    assert digest.hexdigest() == hashlib.md5(open(path, "rb").read()).hexdigest()
    assert (peak - baseline) / 1024 <= 64, f"RSS grew {(peak - baseline) / 1024:.1f} MB"


def test_moto_as_a_second_backend(tmp_path):
    moto = Moto()
    server = None
    try:
        server = Server(moto)
        bucket = moto.make_bucket()
        repo = server.repo(f"s3://{bucket}/m")
        s3 = tarn_s3(server.url)
        body = os.urandom(12 * 1024 * 1024)
        path = tmp_path / "f"
        path.write_bytes(body)
        s3.upload_file(str(path), repo.id, "main/f", Config=TransferConfig(multipart_threshold=PART, multipart_chunksize=PART))
        s3.put_object(Bucket=repo.id, Key="main/small", Body=b"hello")
        repo.branch("main").object("rest").upload(data=body[:7 * 1024 * 1024])
        assert s3.get_object(Bucket=repo.id, Key="main/f")["Body"].read() == body
        assert s3.get_object(Bucket=repo.id, Key="main/small")["Body"].read() == b"hello"
        assert repo.branch("main").object("rest").reader(mode="rb").read() == body[:7 * 1024 * 1024]
        assert len(keys_under(moto, bucket, "m/data/")) >= 3
    finally:
        if server:
            server.stop()
        moto.stop()
