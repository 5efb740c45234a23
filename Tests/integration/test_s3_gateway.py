"""The S3 gateway with boto3: bucket = repository, key = <ref>/<path>."""
import hashlib
import os
import shutil
import subprocess
import sys
import uuid

import boto3
import lakefs
import botocore
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ADMIN_KEY_ID, ADMIN_SECRET, TarnProcess
from s3backends import rss_kib


def s3_client(url, secret=ADMIN_SECRET):
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=ADMIN_KEY_ID, aws_secret_access_key=secret,
                        region_name="us-east-1")


@pytest.fixture
def s3(tarn_url):
    return s3_client(tarn_url)


@pytest.fixture
def bucket(repo):
    return repo.id


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_buckets_are_repositories(s3, bucket):
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=bucket)
    assert s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") in (None, "")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_bucket(Bucket="no-such-repo")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_put_get_head_range_metadata(s3, bucket):
    body = bytes(range(256)) * 40
    put = s3.put_object(Bucket=bucket, Key="main/data/x.bin", Body=body, ContentType="application/x-test",
                        Metadata={"Owner": "ann"})
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="main/data/x.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test" and got["Metadata"] == {"owner": "ann"}
    head = s3.head_object(Bucket=bucket, Key="main/data/x.bin")
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    part = s3.get_object(Bucket=bucket, Key="main/data/x.bin", Range="bytes=100-199")
    assert part["Body"].read() == body[100:200] and part["ContentRange"] == f"bytes 100-199/{len(body)}"
    assert s3.get_object(Bucket=bucket, Key="main/data/x.bin", Range="bytes=-10")["Body"].read() == body[-10:]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="main/data/x.bin", Range=f"bytes={len(body)}-")
    assert code(e) == "InvalidRange"
    over = s3.get_object(Bucket=bucket, Key="main/data/x.bin", ResponseContentType="text/csv")
    assert over["ContentType"] == "text/csv"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="main/data/none")
    assert code(e) == "NoSuchKey"


def test_conditional_requests(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="main/c.txt", Body=b"v1")["ETag"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="main/c.txt", Body=b"v2", IfNoneMatch="*")
    assert code(e) == "PreconditionFailed"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="main/c.txt", IfMatch='"0000"')
    assert code(e) == "PreconditionFailed"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="main/c.txt", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    # If-Match on a write: only over the version read (delta-rs-style safe commits).
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="main/c.txt", Body=b"v2", IfMatch='"0000"')
    assert code(e) == "PreconditionFailed"
    s3.put_object(Bucket=bucket, Key="main/c.txt", Body=b"v2", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="main/c.txt")["Body"].read() == b"v2"
    s3.put_object(Bucket=bucket, Key="main/new.txt", Body=b"n", IfNoneMatch="*")


def test_listing_paginates_over_2500_keys_and_shows_branches(s3, bucket, repo):
    keys = [f"main/many/{i:05d}" for i in range(2500)]
    main = repo.branch("main")
    # Staged through the API in bulk is slow; S3 puts are what this tests anyway.
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    seen = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="main/many/", PaginationConfig={"PageSize": 1000}):
        seen += [o["Key"] for o in page.get("Contents", [])]
    assert seen == keys
    v1 = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, Prefix="main/many/", PaginationConfig={"PageSize": 700}):
        v1 += [o["Key"] for o in page.get("Contents", [])]
    assert v1 == keys
    main.commit(message="many")
    repo.branch("dev").create(source_reference="main")
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dev/", "main/"]
    grouped = s3.list_objects_v2(Bucket=bucket, Prefix="dev/", Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["dev/many/"]


def test_reads_through_a_commit_see_it_forever(s3, bucket, repo):
    s3.put_object(Bucket=bucket, Key="main/model.bin", Body=b"first")
    first = repo.branch("main").commit(message="first").get_commit().id
    s3.put_object(Bucket=bucket, Key="main/model.bin", Body=b"second")
    repo.branch("main").commit(message="second")
    assert s3.get_object(Bucket=bucket, Key=f"{first}/model.bin")["Body"].read() == b"first"
    assert s3.get_object(Bucket=bucket, Key="main~1/model.bin")["Body"].read() == b"first"
    assert s3.get_object(Bucket=bucket, Key="main/model.bin")["Body"].read() == b"second"
    # A commit (or tag) cannot be written, nor a branch that does not exist.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key=f"{first}/model.bin", Body=b"x")
    assert code(e) == "MethodNotAllowed"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="nobranch/model.bin", Body=b"x")
    assert code(e) == "NoSuchBucket"


def test_delete_and_bulk_delete(s3, bucket):
    for k in ["a", "b", "c", "d"]:
        s3.put_object(Bucket=bucket, Key=f"main/del/{k}", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="main/del/a")
    s3.delete_object(Bucket=bucket, Key="main/del/never-existed")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "main/del/b"}, {"Key": "main/del/c", "VersionId": "null"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["main/del/b", "main/del/c"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "main/del/d"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=bucket, Prefix="main/del/")["KeyCount"] == 0


def test_wrong_secret_and_unknown_key_are_refused(tarn_url, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3_client(tarn_url, secret="wrong").list_objects_v2(Bucket=bucket)
    assert code(e) == "SignatureDoesNotMatch"
    other = boto3.client("s3", endpoint_url=tarn_url, aws_access_key_id="AKIANOSUCHKEY", aws_secret_access_key="x",
                         region_name="us-east-1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        other.list_buckets()
    assert code(e) == "InvalidAccessKeyId"


def test_payload_hash_mismatch_stages_nothing(tarn_url, s3, bucket):
    url = f"{tarn_url}/{bucket}/main/tampered.txt"
    req = AWSRequest(method="PUT", url=url, data=b"what was sent",
                     headers={"x-amz-content-sha256": hashlib.sha256(b"something else").hexdigest()})
    SigV4Auth(Credentials(ADMIN_KEY_ID, ADMIN_SECRET), "s3", "us-east-1").add_auth(req)
    r = requests.put(url, data=b"what was sent", headers=dict(req.headers))
    assert r.status_code == 400 and b"XAmzContentSHA256Mismatch" in r.content
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket=bucket, Key="main/tampered.txt")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # Content-MD5 likewise.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="main/md5.txt", Body=b"abc", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
    assert code(e) == "BadDigest"


def test_unsupported_operations_answer_in_s3_xml(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket="s3-made-" + uuid.uuid4().hex[:6])
    assert code(e) == "NotImplemented"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object_tagging(Bucket=bucket, Key="main/x")
    assert code(e) == "NotImplemented"


def test_multipart_upload_with_the_transfer_manager(s3, bucket, tmp_path):
    from boto3.s3.transfer import TransferConfig
    data = os.urandom(5 << 20) * 3 + b"tail"
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20, max_concurrency=4)
    s3.upload_file(str(src), bucket, "main/big/big.bin", Config=config, ExtraArgs={"Metadata": {"kind": "mp"}})
    head = s3.head_object(Bucket=bucket, Key="main/big/big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-4") and head["Metadata"] == {"kind": "mp"}
    dst = tmp_path / "back.bin"
    s3.download_file(bucket, "main/big/big.bin", str(dst), Config=config)
    assert dst.read_bytes() == data
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_multipart_errors_list_parts_and_abort(s3, bucket):
    key = "main/mp/x.bin"
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=1, Body=b"a" * 100)["ETag"]
    last = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=2, Body=b"b" * 100)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 100), (2, 100)]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [up]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}]})
    assert code(e) == "EntityTooSmall"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}]})
    assert code(e) == "InvalidPartOrder"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    assert code(e) == "InvalidPart"
    # A single small part is a valid (last) part.
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 2, "ETag": last}]})
    assert done["ETag"].strip('"').endswith("-1")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"b" * 100
    other = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=other)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part(Bucket=bucket, Key=key, UploadId=other, PartNumber=1, Body=b"x")
    assert code(e) == "NoSuchUpload"


def test_multipart_part_listed_twice_counts_with_its_last_etag(s3, bucket):
    """A part sent twice: the client lists both answers; the later upload is the part."""
    key = "main/mp/twice.bin"
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    first = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=1, Body=b"B" * 8)["ETag"]
    second = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=1, Body=b"A" * 8)["ETag"]
    assert first != second
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": second}, {"PartNumber": 1, "ETag": first}]})
    assert code(e) == "InvalidPart"
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first}, {"PartNumber": 1, "ETag": second}]})
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"A" * 8


def test_aws_cli_cp_and_sync(tarn_url, bucket, tmp_path):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ADMIN_KEY_ID, AWS_SECRET_ACCESS_KEY=ADMIN_SECRET, AWS_DEFAULT_REGION="us-east-1")
    # The venv's aws CLI (requirements.txt), else one on PATH.
    venv_aws = os.path.join(os.path.dirname(sys.executable), "aws")
    aws = venv_aws if os.access(venv_aws, os.X_OK) else shutil.which("aws")
    assert aws, "the aws CLI is not installed"

    def run(*args):
        return subprocess.run([aws, "--endpoint-url", tarn_url, "s3", *args], env=env, capture_output=True, text=True, check=True).stdout

    big = tmp_path / "fifty.bin"
    big.write_bytes(os.urandom(50 << 20))
    run("cp", str(big), f"s3://{bucket}/main/cli/fifty.bin")
    back = tmp_path / "back.bin"
    run("cp", f"s3://{bucket}/main/cli/fifty.bin", str(back))
    assert back.read_bytes() == big.read_bytes()

    local = tmp_path / "tree"
    for i in range(5):
        (local / f"d{i % 2}").mkdir(parents=True, exist_ok=True)
        (local / f"d{i % 2}" / f"f{i}.txt").write_text(f"file {i}")
    run("sync", str(local), f"s3://{bucket}/main/synced/")
    assert run("sync", str(local), f"s3://{bucket}/main/synced/").strip() == ""
    down = tmp_path / "down"
    run("sync", f"s3://{bucket}/main/synced/", str(down))
    assert sorted(p.relative_to(down).as_posix() for p in down.rglob("*.txt")) == \
        sorted(p.relative_to(local).as_posix() for p in local.rglob("*.txt"))
    assert run("sync", f"s3://{bucket}/main/synced/", str(down)).strip() == ""


def test_copy_object_across_branches_commits_and_repositories(s3, bucket, repo, client):
    s3.put_object(Bucket=bucket, Key="main/src.txt", Body=b"original", ContentType="text/plain", Metadata={"a": "1"})
    commit = repo.branch("main").commit(message="src").get_commit().id
    repo.tag("v1").create(commit)
    repo.branch("dev").create(source_reference="main")
    s3.put_object(Bucket=bucket, Key="main/src.txt", Body=b"changed")

    s3.copy_object(Bucket=bucket, Key="dev/copy.txt", CopySource={"Bucket": bucket, "Key": "main/src.txt"})
    assert s3.get_object(Bucket=bucket, Key="dev/copy.txt")["Body"].read() == b"changed"
    s3.copy_object(Bucket=bucket, Key="dev/from-commit.txt", CopySource=f"{bucket}/{commit}/src.txt")
    got = s3.get_object(Bucket=bucket, Key="dev/from-commit.txt")
    assert got["Body"].read() == b"original" and got["Metadata"] == {"a": "1"} and got["ContentType"] == "text/plain"
    s3.copy_object(Bucket=bucket, Key="dev/from-tag.txt", CopySource=f"{bucket}/v1/src.txt", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="text/csv")
    got = s3.get_object(Bucket=bucket, Key="dev/from-tag.txt")
    assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "text/csv"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="main/src.txt", CopySource=f"{bucket}/main/src.txt")
    assert code(e) == "InvalidRequest"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dev/x.txt", CopySource=f"{bucket}/main/src.txt", CopySourceIfMatch='"0000"')
    assert code(e) == "PreconditionFailed"
    # Into another repository: the bytes are copied into its own namespace.
    other = lakefs.Repository("cp-" + uuid.uuid4().hex[:8], client=client).create(storage_namespace="local://cp-" + uuid.uuid4().hex[:8])
    s3.copy_object(Bucket=other.id, Key="main/imported.txt", CopySource=f"{bucket}/v1/src.txt")
    assert s3.get_object(Bucket=other.id, Key="main/imported.txt")["Body"].read() == b"original"


def _signed_headers(url, method, headers):
    """Headers signed by botocore for a request whose payload hash header is already set."""
    req = AWSRequest(method=method, url=url, headers=headers)
    SigV4Auth(Credentials(ADMIN_KEY_ID, ADMIN_SECRET), "s3", "us-east-1").add_auth(req)
    return dict(req.headers)


def _chunk_signature(headers, previous, data):
    import hmac
    amz_date = headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()
    key = h(h(h(h(("AWS4" + ADMIN_SECRET).encode(), amz_date[:8]), "us-east-1"), "s3"), "aws4_request")
    to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, hashlib.sha256(b"").hexdigest(),
                         hashlib.sha256(data).hexdigest()])
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_aws_chunked_signed_payload(tarn_url, s3, bucket):
    chunks = [os.urandom(70000), os.urandom(1234), b""]
    url = f"{tarn_url}/{bucket}/main/chunked.bin"
    body_len = sum(len(c) for c in chunks)
    headers = _signed_headers(url, "PUT", {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                           "x-amz-decoded-content-length": str(body_len), "Content-Encoding": "aws-chunked"})
    previous = headers["Authorization"].split("Signature=")[1]

    def encode(tamper=False):
        nonlocal previous
        prev, out = previous, b""
        for c in chunks:
            sig = _chunk_signature(headers, prev, c)
            prev = sig
            data = (c[:-1] + b"X") if tamper and c else c
            out += f"{len(c):x};chunk-signature={sig}\r\n".encode() + data + b"\r\n"
        return out

    good = encode()
    r = requests.put(url, data=good, headers=dict(headers, **{"Content-Length": str(len(good))}))
    assert r.status_code == 200, r.text
    assert s3.get_object(Bucket=bucket, Key="main/chunked.bin")["Body"].read() == b"".join(chunks)
    # One changed byte in a chunk breaks its signature: nothing is staged.
    url2 = f"{tarn_url}/{bucket}/main/chunked-bad.bin"
    headers = _signed_headers(url2, "PUT", {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                            "x-amz-decoded-content-length": str(body_len), "Content-Encoding": "aws-chunked"})
    previous = headers["Authorization"].split("Signature=")[1]
    bad = encode(tamper=True)
    r = requests.put(url2, data=bad, headers=dict(headers, **{"Content-Length": str(len(bad))}))
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="main/chunked-bad.bin")


def test_aws_chunked_unsigned_with_crc32_trailer(tarn_url, s3, bucket):
    import base64
    import zlib
    data = os.urandom(100000)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    for name, trailer_value, expect in [("ok.bin", crc, 200), ("badcrc.bin", "AAAAAA==", 400)]:
        url = f"{tarn_url}/{bucket}/main/trailer-{name}"
        headers = _signed_headers(url, "PUT", {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                               "x-amz-trailer": "x-amz-checksum-crc32", "Content-Encoding": "aws-chunked",
                                               "x-amz-decoded-content-length": str(len(data))})
        body = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in [data[:65536], data[65536:]])
        body += f"0\r\nx-amz-checksum-crc32:{trailer_value}\r\n\r\n".encode()
        r = requests.put(url, data=body, headers=dict(headers, **{"Content-Length": str(len(body))}))
        assert r.status_code == expect, r.text
    assert s3.get_object(Bucket=bucket, Key="main/trailer-ok.bin")["Body"].read() == data
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="main/trailer-badcrc.bin")


def test_a_large_aws_chunked_upload_streams_in_bounded_memory(data_dir):
    # What new AWS SDKs send by default (a checksum trailer): 256 MiB in 64 KiB chunks, written
    # in pieces that never line up with the chunks. The decoder once gathered the whole body.
    import base64
    import socket
    import zlib
    server = TarnProcess(data_dir)
    try:
        s3 = s3_client(server.url)
        requests.post(server.url + "/api/v1/repositories", auth=(ADMIN_KEY_ID, ADMIN_SECRET),
                      json={"name": "chunked", "storage_namespace": "local://chunked"}).raise_for_status()
        chunk, count = os.urandom(65536), 4096
        crc = 0
        for _ in range(count):
            crc = zlib.crc32(chunk, crc)
        trailer = f"0\r\nx-amz-checksum-crc32:{base64.b64encode(crc.to_bytes(4, 'big')).decode()}\r\n\r\n".encode()
        piece = b"10000\r\n" + chunk + b"\r\n"
        url = f"{server.url}/chunked/main/big.bin"
        headers = _signed_headers(url, "PUT", {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                               "x-amz-trailer": "x-amz-checksum-crc32", "Content-Encoding": "aws-chunked",
                                               "x-amz-decoded-content-length": str(len(chunk) * count)})
        headers["Content-Length"] = str(len(piece) * count + len(trailer))
        host, port = server.url.split("//")[1].split(":")
        pid = server.proc.pid
        baseline = peak = rss_kib(pid)
        with socket.create_connection((host, int(port)), timeout=120) as sock:
            sock.sendall(f"PUT /chunked/main/big.bin HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
                         + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n")
            pending = b""
            for i in range(count):
                pending += piece
                while len(pending) >= 100003:
                    sock.sendall(pending[:100003])
                    pending = pending[100003:]
                if i % 256 == 0:
                    peak = max(peak, rss_kib(pid))
            sock.sendall(pending + trailer)
            status = sock.recv(4096).split(b"\r\n")[0]
        assert status == b"HTTP/1.1 200 OK", status
        assert (peak - baseline) / 1024 <= 64, f"RSS grew {(peak - baseline) / 1024:.1f} MB"
        digest = hashlib.md5()
        for _ in range(count):
            digest.update(chunk)
        assert s3.head_object(Bucket="chunked", Key="main/big.bin")["ETag"] == f'"{digest.hexdigest()}"'
    finally:
        assert server.stop() == 0


def test_presigned_get_and_put_sigv2_and_sigv4(tarn_url, s3, bucket):
    from botocore.config import Config
    s3.put_object(Bucket=bucket, Key="main/shared.txt", Body=b"share me")
    # boto3's default for presigning S3 is SigV2 query strings.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "main/shared.txt"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url or "X-Amz-Credential=" in url
    assert requests.get(url).content == b"share me"
    v4 = boto3.client("s3", endpoint_url=tarn_url, aws_access_key_id=ADMIN_KEY_ID, aws_secret_access_key=ADMIN_SECRET,
                      region_name="us-east-1", config=Config(signature_version="s3v4"))
    url4 = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "main/shared.txt"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url4
    assert requests.get(url4).content == b"share me"
    assert requests.get(url4.replace("main/shared.txt", "main/other.txt")).status_code == 403
    put_url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "main/uploaded.txt"}, ExpiresIn=300)
    assert requests.put(put_url, data=b"via presigned put").status_code == 200
    assert s3.get_object(Bucket=bucket, Key="main/uploaded.txt")["Body"].read() == b"via presigned put"
    put_v2 = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "main/uploaded2.txt"}, ExpiresIn=300)
    assert requests.put(put_v2, data=b"v2 put").status_code == 200
    # Expired links are refused.
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "main/shared.txt"}, ExpiresIn=-10)
    r = requests.get(expired)
    assert r.status_code == 403 and b"expired" in r.content


def test_bucket_create_and_delete_when_enabled_and_versions_listing(data_dir):
    server = TarnProcess(data_dir, extra_args=["--s3-create-bucket"])
    try:
        s3 = s3_client(server.url)
        name = "made-" + uuid.uuid4().hex[:8]
        s3.create_bucket(Bucket=name)
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.create_bucket(Bucket=name)
        assert code(e) == "BucketAlreadyOwnedByYou"
        for k in ["a", "b/c"]:
            s3.put_object(Bucket=name, Key=f"main/{k}", Body=b"x")
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.delete_bucket(Bucket=name)
        assert code(e) == "BucketNotEmpty"
        # What bucket-cleaning fixtures do: list versions, delete each with VersionId=null.
        versions = s3.list_object_versions(Bucket=name, Prefix="main/")["Versions"]
        assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions] == [("main/a", "null", True), ("main/b/c", "null", True)]
        for v in versions:
            s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
        s3.delete_bucket(Bucket=name)
        assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        assert server.stop() == 0


def test_upload_part_copy_with_ranges(s3, bucket):
    src = os.urandom(6 << 20)
    s3.put_object(Bucket=bucket, Key="main/src.bin", Body=src)
    up = s3.create_multipart_upload(Bucket=bucket, Key="main/assembled.bin")["UploadId"]
    first = s3.upload_part_copy(Bucket=bucket, Key="main/assembled.bin", UploadId=up, PartNumber=1,
                                CopySource=f"{bucket}/main/src.bin", CopySourceRange=f"bytes=0-{(5 << 20) - 1}")
    second = s3.upload_part_copy(Bucket=bucket, Key="main/assembled.bin", UploadId=up, PartNumber=2,
                                 CopySource=f"{bucket}/main/src.bin", CopySourceRange="bytes=100-199")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="main/assembled.bin", UploadId=up, PartNumber=3,
                            CopySource=f"{bucket}/main/src.bin", CopySourceRange=f"bytes=0-{len(src)}")
    assert code(e) == "InvalidRange"
    s3.complete_multipart_upload(Bucket=bucket, Key="main/assembled.bin", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="main/assembled.bin")["Body"].read() == src[:5 << 20] + src[100:200]


def test_checksums_are_kept_and_object_attributes(s3, bucket):
    import base64
    body = b"A" * 1024
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    put = s3.put_object(Bucket=bucket, Key="main/sum.bin", Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256=sha)
    assert put["ChecksumSHA256"] == sha
    assert "ChecksumSHA256" not in s3.head_object(Bucket=bucket, Key="main/sum.bin")
    assert s3.head_object(Bucket=bucket, Key="main/sum.bin", ChecksumMode="ENABLED")["ChecksumSHA256"] == sha
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="main/sum.bin", Body=body, ChecksumAlgorithm="SHA256", ChecksumSHA256="bad")
    assert code(e) == "BadDigest"
    attrs = s3.get_object_attributes(Bucket=bucket, Key="main/sum.bin",
                                     ObjectAttributes=["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
    assert attrs["ObjectSize"] == 1024 and attrs["ETag"] == put["ETag"].strip('"') and attrs["StorageClass"] == "STANDARD"
    assert attrs["Checksum"]["ChecksumSHA256"] == sha and "ObjectParts" not in attrs
