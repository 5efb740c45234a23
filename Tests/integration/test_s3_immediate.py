"""Small GETs, HEADs and PUTs answered on the event loop that read them (RawReadHandler from
the connection's bytes, ImmediateRequestHandler after NIO's decoder): the same answers as the
router's path, refusals included, in request order on a pipelined connection."""
import base64
import hashlib
import re
import socket
import zlib
from concurrent.futures import ThreadPoolExecutor
import urllib.request
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

import boto3
import pytest
import requests
from conftest import ADMIN_KEY_ID, ADMIN_SECRET
from rawhttp import Responses, raw_request, signed


@pytest.fixture
def s3(tarn_url):
    return boto3.client("s3", endpoint_url=tarn_url, aws_access_key_id=ADMIN_KEY_ID, aws_secret_access_key=ADMIN_SECRET,
                        region_name="us-east-1")


def test_pipelined_reads_wait_for_the_writes_before_them(tarn_url, s3, repo):
    bucket = repo.id
    s3.put_object(Bucket=bucket, Key="main/p.txt", Body=b"old")
    new = b"new bytes " * 5000
    base = f"{tarn_url}/{bucket}/main"
    # One write, then reads of what it writes, all sent before any answer is read.
    batch = (raw_request(f"{base}/p.txt", "PUT", new) + raw_request(f"{base}/p.txt", "GET")
             + raw_request(f"{base}/missing.txt", "GET") + raw_request(f"{base}/p.txt", "HEAD")
             + raw_request(f"{base}/p.txt", "GET"))
    u = urlparse(tarn_url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
        sock.sendall(batch)
        r = Responses(sock)
        put = r.next()
        assert put[0] == 200 and put[1]["etag"] == '"%s"' % hashlib.md5(new).hexdigest()
        got = r.next()
        assert got[0] == 200 and got[2] == new
        missing = r.next()
        assert missing[0] == 404 and b"<Code>NoSuchKey</Code>" in missing[2]
        head = r.next(head_only=True)
        assert head[0] == 200 and head[1]["content-length"] == str(len(new))
        again = r.next()
        assert again[0] == 200 and again[2] == new


def metric(tarn_url, method, status):
    with urllib.request.urlopen(tarn_url + "/metrics") as r:
        text = r.read().decode()
    pattern = r'^hb_requests\{http_route="/\*\*",http_request_method="%s",http_response_status_code="%d"\} (\S+)$' % (method, status)
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else 0.0


def test_answers_match_the_routers_and_are_counted(tarn_url, s3, repo):
    bucket = repo.id
    body = b"x" * 4096
    s3.put_object(Bucket=bucket, Key="main/a.bin", Body=body, ContentType="application/x-test", Metadata={"owner": "ml"})
    url = f"{tarn_url}/{bucket}/main/a.bin"
    before = metric(tarn_url, "GET", 200)
    # Without a query the read is answered on the event loop; `?x-id=GetObject` (what some
    # SDKs add) takes the router's path. Both must say the same.
    fast = requests.get(url, headers=signed(url, "GET", headers={"X-Request-Id": "req-fast-1"}))
    routed_url = url + "?x-id=GetObject"
    routed = requests.get(routed_url, headers=signed(routed_url, "GET", headers={"X-Request-Id": "req-routed-1"}))
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content == body
    varying = {"date", "x-request-id", "x-amz-request-id"}
    assert {k.lower() for k in fast.headers} == {k.lower() for k in routed.headers}
    for k in fast.headers:
        if k.lower() not in varying:
            assert fast.headers[k] == routed.headers[k], k
    assert fast.headers["X-Request-Id"] == "req-fast-1"
    assert fast.headers["x-amz-request-id"]
    assert fast.headers["Server"] == "tarn"
    assert fast.headers["Content-Type"] == "application/x-test"
    assert fast.headers["x-amz-meta-owner"] == "ml"
    assert fast.headers["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    assert abs((parsedate_to_datetime(fast.headers["Date"]) - parsedate_to_datetime(routed.headers["Date"])).total_seconds()) < 60
    assert metric(tarn_url, "GET", 200) - before == 2

    head_before = metric(tarn_url, "HEAD", 200)
    head = requests.head(url, headers=signed(url, "HEAD"))
    assert head.status_code == 200 and head.headers["Content-Length"] == "4096" and head.content == b""
    assert metric(tarn_url, "HEAD", 200) - head_before == 1
    # A conditional GET that matches answers 304 with no body, on either path.
    etag = fast.headers["ETag"]
    cached = requests.get(url, headers=signed(url, "GET", headers={"If-None-Match": etag}))
    assert cached.status_code == 304 and cached.content == b""
    # Refusals still come from the gateway's own error path, in S3 XML.
    bad = signed(url, "GET")
    bad["Authorization"] = bad["Authorization"][:-4] + "0000"
    refused = requests.get(url, headers=bad)
    assert refused.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.content


def exchange(tarn_url, *batch, head_only=False):
    """Sends the requests on one new connection; returns the answer to the last."""
    u = urlparse(tarn_url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
        sock.sendall(b"".join(batch))
        r = Responses(sock)
        for _ in batch[:-1]:
            r.next()
        return r.next(head_only=head_only)


def test_the_three_read_paths_answer_alike(tarn_url, s3, repo):
    # A connection's first plain read is answered from its bytes (RawReadHandler); after a
    # request it leaves to NIO's decoder, reads go through ImmediateRequestHandler; a query
    # sends them to the router. Every read, refusals included, gets the same answer on all three.
    bucket = repo.id
    body = bytes(range(256)) * 16
    etag = s3.put_object(Bucket=bucket, Key="main/three.bin", Body=body, ContentType="application/x-test",
                         Metadata={"team": "vision"})["ETag"]
    base = f"{tarn_url}/{bucket}/main"
    health = f"GET /api/v1/healthcheck HTTP/1.1\r\nHost: {urlparse(tarn_url).netloc}\r\n\r\n".encode()
    varying = {"date", "x-request-id", "x-amz-request-id"}
    cases = [("GET", "three.bin", {}), ("HEAD", "three.bin", {}), ("GET", "three.bin", {"Range": "bytes=0-99"}),
             ("GET", "three.bin", {"Range": "bytes=-10"}), ("GET", "three.bin", {"If-None-Match": etag}),
             ("HEAD", "three.bin", {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}),
             ("GET", "three.bin", {"If-Match": '"other"'}), ("GET", "three.bin", {"Range": "bytes=5000-6000"}),
             ("GET", "missing.bin", {}), ("HEAD", "missing.bin", {}), ("GET", "three.bin", {"X-Request-Id": "mine"})]
    for method, key, headers in cases:
        head_only = method == "HEAD"
        raw = exchange(tarn_url, raw_request(f"{base}/{key}", method, headers=headers), head_only=head_only)
        immediate = exchange(tarn_url, health, raw_request(f"{base}/{key}", method, headers=headers), head_only=head_only)
        routed = exchange(tarn_url, raw_request(f"{base}/{key}?x-id=GetObject", method, headers=headers), head_only=head_only)
        for other in (immediate, routed):
            assert raw[0] == other[0], (method, key, headers)
            # Error documents name the request: its ID differs.
            assert re.sub(rb"<RequestId>[^<]*</RequestId>", b"", raw[2]) == re.sub(rb"<RequestId>[^<]*</RequestId>", b"", other[2]), \
                (method, key, headers)
            assert {k: v for k, v in raw[1].items() if k not in varying} == {k: v for k, v in other[1].items() if k not in varying}, \
                (method, key, headers)
        if headers.get("X-Request-Id"):
            assert raw[1]["x-request-id"] == "mine"
    # What was asked of each case, checked once (the paths agree, so against the raw one).
    assert exchange(tarn_url, raw_request(f"{base}/three.bin", "GET"))[2] == body
    assert exchange(tarn_url, raw_request(f"{base}/three.bin", "GET", headers={"Range": "bytes=-10"}))[2] == body[-10:]


def test_a_connection_mixes_raw_reads_with_everything_else_in_order(tarn_url, s3, repo):
    bucket = repo.id
    s3.put_object(Bucket=bucket, Key="main/m.txt", Body=b"first")
    base = f"{tarn_url}/{bucket}/main"
    batch = (raw_request(f"{base}/m.txt", "GET") + raw_request(f"{base}/m.txt", "HEAD")
             + raw_request(f"{base}/m.txt", "PUT", b"second") + raw_request(f"{base}/m.txt", "GET"))
    u = urlparse(tarn_url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
        # Byte by byte at first: a head that arrives in pieces is still read whole.
        for b in batch[:40]:
            sock.sendall(bytes([b]))
        sock.sendall(batch[40:])
        r = Responses(sock)
        assert r.next()[2] == b"first"
        assert r.next(head_only=True)[1]["content-length"] == "5"
        assert r.next()[0] == 200
        assert r.next()[2] == b"second"


def test_many_reads_sent_ahead_are_answered_in_order(tarn_url, s3, repo):
    # More than the raw stage reads ahead while an answer is being fetched (64 KiB): the
    # connection stops being read once that much waits, and every answer still comes, in order.
    bucket = repo.id
    for i in range(10):
        s3.put_object(Bucket=bucket, Key=f"main/ahead/{i}.txt", Body=f"object {i} ".encode() * (i + 1))
    base = f"{tarn_url}/{bucket}/main/ahead"
    order = [(n * 7) % 10 for n in range(400)]
    batch = b"".join(raw_request(f"{base}/{i}.txt", "GET") for i in order)
    assert len(batch) > 2 * 65536
    u = urlparse(tarn_url)
    with socket.create_connection((u.hostname, u.port), timeout=60) as sock:
        with ThreadPoolExecutor(1) as pool:
            # Sent from another thread while this one reads, so that neither side blocks the other.
            sending = pool.submit(sock.sendall, batch)
            r = Responses(sock)
            for i in order:
                status, _, body = r.next()
                assert status == 200 and body == f"object {i} ".encode() * (i + 1)
            sending.result()


def test_a_client_that_closes_its_side_after_asking_gets_every_answer(tarn_url, s3, repo):
    # Raw reads are flushed after the event loop's tick; the end of the client's input flushes them at once.
    bucket = repo.id
    s3.put_object(Bucket=bucket, Key="main/h.txt", Body=b"half closed")
    base = f"{tarn_url}/{bucket}/main"
    u = urlparse(tarn_url)
    for _ in range(20):
        with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
            sock.sendall(raw_request(f"{base}/h.txt", "GET") + raw_request(f"{base}/h.txt", "HEAD"))
            sock.shutdown(socket.SHUT_WR)
            r = Responses(sock)
            assert r.next()[2] == b"half closed"
            assert r.next(head_only=True)[1]["content-length"] == "11"
    # The same after a small upload, which waits for its flush (or its backend) before it answers.
    for i in range(5):
        with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
            sock.sendall(raw_request(f"{base}/h{i}.txt", "PUT", b"put then closed") + raw_request(f"{base}/h{i}.txt", "GET"))
            sock.shutdown(socket.SHUT_WR)
            r = Responses(sock)
            assert r.next()[0] == 200
            assert r.next()[2] == b"put then closed"


def test_reads_of_a_branch_see_a_delete_at_once(tarn_url, s3, repo):
    bucket = repo.id
    s3.put_object(Bucket=bucket, Key="main/gone.txt", Body=b"here")
    url = f"{tarn_url}/{bucket}/main/gone.txt"
    assert requests.get(url, headers=signed(url, "GET")).content == b"here"
    s3.delete_object(Bucket=bucket, Key="main/gone.txt")
    r = requests.get(url, headers=signed(url, "GET"))
    assert r.status_code == 404 and b"<Code>NoSuchKey</Code>" in r.content


def crc32_b64(body):
    return base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()


def test_small_puts_answer_like_the_routers(tarn_url, s3, repo):
    bucket = repo.id
    body = b"small object " * 300
    headers = {"Content-Type": "application/x-test", "x-amz-meta-owner": "ml", "x-amz-checksum-crc32": crc32_b64(body),
               "Cache-Control": "no-cache"}
    before = metric(tarn_url, "PUT", 200)
    # Without a query the PUT is answered on the event loop; `?x-id=PutObject` (what newer
    # SDKs add) takes the router's path. Both must say and store the same.
    fast_url = f"{tarn_url}/{bucket}/main/fast.bin"
    routed_url = f"{tarn_url}/{bucket}/main/routed.bin?x-id=PutObject"
    fast = requests.put(fast_url, data=body, headers=signed(fast_url, "PUT", body, {**headers, "X-Request-Id": "put-fast-1"}))
    routed = requests.put(routed_url, data=body, headers=signed(routed_url, "PUT", body, headers))
    assert fast.status_code == routed.status_code == 200
    varying = {"date", "x-request-id", "x-amz-request-id"}
    assert {k.lower() for k in fast.headers} == {k.lower() for k in routed.headers}
    for k in fast.headers:
        if k.lower() not in varying:
            assert fast.headers[k] == routed.headers[k], k
    assert fast.headers["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    assert fast.headers["x-amz-checksum-crc32"] == crc32_b64(body)
    assert fast.headers["X-Request-Id"] == "put-fast-1" and fast.headers["Server"] == "tarn"
    assert metric(tarn_url, "PUT", 200) - before == 2
    stored = {}
    for key in ("main/fast.bin", "main/routed.bin"):
        got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        stored[key] = {k: got[k] for k in ("ContentType", "Metadata", "ETag", "CacheControl", "ChecksumCRC32", "ContentLength")}
        assert got["Body"].read() == body
    assert stored["main/fast.bin"] == stored["main/routed.bin"]
    assert stored["main/fast.bin"]["Metadata"] == {"owner": "ml"}
    # Unsigned payloads (what boto3 sends over HTTPS) take the same path.
    r = requests.put(fast_url, data=b"unsigned", headers=signed(fast_url, "PUT", payload_hash="UNSIGNED-PAYLOAD"))
    assert r.status_code == 200, r.content
    assert s3.get_object(Bucket=bucket, Key="main/fast.bin")["Body"].read() == b"unsigned"


def test_small_puts_are_refused_like_the_routers_and_stage_nothing(tarn_url, s3, repo):
    bucket = repo.id
    s3.put_object(Bucket=bucket, Key="main/kept.txt", Body=b"kept")
    base = f"{tarn_url}/{bucket}/main"
    body = b"payload " * 100

    def put(key, headers=None, sign_body=body, url_base=base):
        url = f"{url_base}/{key}"
        return requests.put(url, data=body, headers=signed(url, "PUT", sign_body, headers))

    mismatch = put("sha.bin", sign_body=b"other bytes")
    assert mismatch.status_code == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in mismatch.content
    md5 = put("md5.bin", {"Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()})
    assert md5.status_code == 400 and b"<Code>BadDigest</Code>" in md5.content
    crc = put("crc.bin", {"x-amz-checksum-crc32": crc32_b64(b"other")})
    assert crc.status_code == 400 and b"<Code>BadDigest</Code>" in crc.content
    exists = put("kept.txt", {"If-None-Match": "*"})
    assert exists.status_code == 412 and b"<Code>PreconditionFailed</Code>" in exists.content
    no_branch = put("x.bin", url_base=f"{tarn_url}/{bucket}/nobranch")
    assert no_branch.status_code == 404 and b"<Code>NoSuchBucket</Code>" in no_branch.content
    url = f"{base}/bad-signature.bin"
    bad = signed(url, "PUT", body)
    bad["Authorization"] = bad["Authorization"][:-4] + "0000"
    refused = requests.put(url, data=body, headers=bad)
    assert refused.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.content
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="main/")
    assert [o["Key"] for o in listed["Contents"]] == ["main/kept.txt"]
    assert s3.get_object(Bucket=bucket, Key="main/kept.txt")["Body"].read() == b"kept"


def test_pipelined_puts_answer_in_order_around_a_refused_one(tarn_url, s3, repo):
    bucket = repo.id
    base = f"{tarn_url}/{bucket}/main"
    one, two = b"1" * 5000, b"2" * 7000
    bad = raw_request(f"{base}/bad.bin", "PUT", one, {"Content-MD5": base64.b64encode(hashlib.md5(b"x").digest()).decode()})
    batch = (raw_request(f"{base}/one.bin", "PUT", one) + bad + raw_request(f"{base}/two.bin", "PUT", two)
             + raw_request(f"{base}/one.bin", "GET") + raw_request(f"{base}/two.bin", "GET"))
    u = urlparse(tarn_url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
        sock.sendall(batch)
        r = Responses(sock)
        assert r.next()[0] == 200
        refused = r.next()
        assert refused[0] == 400 and b"<Code>BadDigest</Code>" in refused[2]
        assert r.next()[1]["etag"] == '"%s"' % hashlib.md5(two).hexdigest()
        assert r.next()[2] == one
        assert r.next()[2] == two
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="main/bad")


def test_a_put_that_expects_100_continue_gets_one_interim_answer(tarn_url, s3, repo):
    bucket = repo.id
    u = urlparse(tarn_url)
    good, wrong = b"g" * 3000, b"w" * 3000
    for key, body, signed_body, status in (("good.bin", good, good, 200), ("wrong.bin", wrong, good, 400)):
        url = f"{tarn_url}/{bucket}/main/{key}"
        request = raw_request(url, "PUT", signed_body, {"Expect": "100-continue"})
        head = request[:-len(signed_body)]
        with socket.create_connection((u.hostname, u.port), timeout=30) as sock:
            sock.sendall(head)
            r = Responses(sock)
            assert r.next(head_only=True)[0] == 100
            sock.sendall(body)
            # One interim answer only, also when the write goes on to the router's path.
            final = r.next()
            assert final[0] == status, final
    assert s3.get_object(Bucket=bucket, Key="main/good.bin")["Body"].read() == good
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="main/wrong")


def test_concurrent_small_puts_are_all_staged_intact(tarn_url, s3, repo):
    bucket = repo.id
    bodies = {f"main/c/{i}.bin": bytes([i % 251]) * (1 + i * 613 % 65536) for i in range(96)}
    # Just above what is answered on the event loop: the router's path, in the same run.
    bodies["main/c/big.bin"] = b"b" * 65537

    def put(item):
        key, body = item
        url = f"{tarn_url}/{bucket}/{key}"
        r = requests.put(url, data=body, headers=signed(url, "PUT", body))
        return r.status_code, r.headers.get("ETag")

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(put, bodies.items()))
    assert answers == [(200, '"%s"' % hashlib.md5(b).hexdigest()) for b in bodies.values()]
    keys = [o["Key"] for o in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="main/c/").search("Contents")]
    assert sorted(keys) == sorted(bodies)
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
