"""GET /metrics: Prometheus text with request and lake counters."""
import re
import urllib.request
import uuid

import boto3
import lakefs
from lakefs.client import Client

from conftest import ADMIN_KEY_ID, ADMIN_SECRET


def scrape(url):
    with urllib.request.urlopen(url + "/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def counter(values, name):
    return sum(v for k, v in values.items() if k == name or k.startswith(name + "{"))


def test_metrics_count_requests_uploads_commits_and_merges(tarn_url):
    before = scrape(tarn_url)
    client = Client(host=tarn_url, username=ADMIN_KEY_ID, password=ADMIN_SECRET)
    name = "metrics-" + uuid.uuid4().hex[:8]
    repo = lakefs.Repository(name, client=client).create(storage_namespace=f"local://{name}")
    dev = repo.branch("dev").create(source_reference="main")
    dev.object("a.bin").upload(data=b"x" * 1000)
    dev.object("b.bin").upload(data=b"y" * 24)
    # Small S3 PUTs, answered on the event loop, are counted as the REST uploads are.
    s3 = boto3.client("s3", endpoint_url=tarn_url, aws_access_key_id=ADMIN_KEY_ID, aws_secret_access_key=ADMIN_SECRET,
                      region_name="us-east-1")
    for i in range(3):
        s3.put_object(Bucket=name, Key=f"dev/s3-{i}.bin", Body=b"z" * 100)
    dev.commit(message="five objects")
    dev.merge_into(repo.branch("main"))
    after = scrape(tarn_url)

    assert counter(after, "tarn_objects_staged_total") - counter(before, "tarn_objects_staged_total") == 5
    assert counter(after, "tarn_bytes_staged_total") - counter(before, "tarn_bytes_staged_total") == 1324
    assert counter(after, "tarn_commits_total") - counter(before, "tarn_commits_total") == 1
    assert counter(after, "tarn_merges_total") - counter(before, "tarn_merges_total") == 1
    assert counter(after, "tarn_active_uploads") == 0
    # Requests are counted per route, method and status, and timed in a histogram.
    route = '{http_route="/api/v1/repositories/{repository}/branches/{branch}/objects",http_request_method="POST",http_response_status_code="201"}'
    assert after.get("hb_requests" + route, 0) - before.get("hb_requests" + route, 0) == 2
    assert any(re.match(r"http_server_request_duration_bucket\{.*le=", k) for k in after)
