"""Small GETs and HEADs answered on the event loop that read them (ImmediateReadHandler):
the same answers as the router's path, in request order on a pipelined connection."""
import hashlib
import re
import socket
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


def test_reads_of_a_branch_see_a_delete_at_once(tarn_url, s3, repo):
    bucket = repo.id
    s3.put_object(Bucket=bucket, Key="main/gone.txt", Body=b"here")
    url = f"{tarn_url}/{bucket}/main/gone.txt"
    assert requests.get(url, headers=signed(url, "GET")).content == b"here"
    s3.delete_object(Bucket=bucket, Key="main/gone.txt")
    r = requests.get(url, headers=signed(url, "GET"))
    assert r.status_code == 404 and b"<Code>NoSuchKey</Code>" in r.content
