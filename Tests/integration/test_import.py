"""Zero-copy import from a real S3 server (SeaweedFS): objects already in a bucket become
entries pointing at their own bytes, in one commit, through the lakeFS import API (as the
`lakefs` package drives it) and through `tarn import`."""
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import lakefs
import pytest

from conftest import ADMIN_KEY_ID, ADMIN_SECRET
from s3backends import api, keys_under, tarn_s3

SOURCE_OBJECTS = 2_500  # three listing pages of 1,000


@pytest.fixture(scope="module")
def source(weed):
    """A bucket with SOURCE_OBJECTS objects under raw/ (nested two levels) and one single.bin,
    written straight to SeaweedFS, as data that predates Tarn."""
    bucket = weed.make_bucket()
    c = weed.client()
    bodies = {f"raw/part={i % 7}/file-{i:05d}.csv": f"row,{i}\n".encode() * (1 + i % 5) for i in range(SOURCE_OBJECTS)}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: c.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), bodies.items()))
    c.put_object(Bucket=bucket, Key="single.bin", Body=b"one object")
    return bucket, bodies


def all_paths(branch, prefix=""):
    return {o.path: o for o in branch.objects(prefix=prefix)}


def test_import_brings_a_prefix_in_one_commit_without_copying(weed, server, source):
    bucket, bodies = source
    namespace_bucket = weed.make_bucket()
    repo = server.repo(f"s3://{namespace_bucket}/lake")
    main = repo.branch("main")
    main.object("imported/stale.txt").upload(data=b"replaced by the import")
    main.object("keep.txt").upload(data=b"outside the destination")
    main.commit(message="before the import")
    main.object("staged.txt").upload(data=b"uncommitted")
    head_before = main.get_commit().id
    stored_before = keys_under(weed, namespace_bucket, "lake/")

    status = main.import_data(commit_message="import raw", metadata={"source": "seaweedfs"}) \
        .prefix(f"s3://{bucket}/raw/", destination="imported/") \
        .run(poll_interval=timedelta(milliseconds=100))

    assert status.completed and status.error is None
    assert status.ingested_objects == SOURCE_OBJECTS
    commit = repo.commit(status.commit.id).get_commit()
    assert commit.parents == [head_before] and commit.message == "import raw" and commit.metadata == {"source": "seaweedfs"}
    assert status.metarange_id == commit.meta_range_id
    assert main.get_commit().id == commit.id

    committed = all_paths(repo.ref(commit.id))
    expected = {"imported/" + k[len("raw/"):] for k in bodies} | {"keep.txt"}
    assert set(committed) == expected  # stale.txt is gone; staged.txt is not in the commit
    # The branch's own uncommitted change is still staged, not swept into the import.
    assert [c.path for c in main.uncommitted()] == ["staged.txt"]

    # Entries point at the source objects; nothing was copied into the namespace.
    key = "raw/part=3/file-00010.csv"
    stat = repo.ref(commit.id).object("imported/" + key[len("raw/"):]).stat()
    assert stat.physical_address == f"s3://{bucket}/{key}"
    assert stat.checksum == weed.client().head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    assert stat.size_bytes == len(bodies[key])
    assert keys_under(weed, namespace_bucket, "lake/") == stored_before

    # Read back through the S3 gateway and the REST API, from the commit and the branch.
    s3 = tarn_s3(server.url)
    for k in list(bodies)[::500]:
        path = "imported/" + k[len("raw/"):]
        assert s3.get_object(Bucket=repo.id, Key=f"{commit.id}/{path}")["Body"].read() == bodies[k]
        assert main.object(path).reader(mode="rb").read() == bodies[k]
    ranged = s3.get_object(Bucket=repo.id, Key=f"main/imported/part=4/file-00004.csv", Range="bytes=2-5")["Body"].read()
    assert ranged == bodies["raw/part=4/file-00004.csv"][2:6]

    # Deleting an imported object from the branch never deletes the source object.
    main.object("imported/part=3/file-00010.csv").delete()
    main.commit(message="drop one")
    assert weed.client().get_object(Bucket=bucket, Key=key)["Body"].read() == bodies[key]


def test_import_of_one_object_and_a_repeated_import(weed, server, source):
    bucket, bodies = source
    repo = server.repo(f"s3://{weed.make_bucket()}/one")
    main = repo.branch("main")
    status = main.import_data(commit_message="one").object(f"s3://{bucket}/single.bin", destination="data/single.bin") \
        .run(poll_interval=timedelta(milliseconds=100))
    assert status.completed and status.ingested_objects == 1
    assert set(all_paths(main)) == {"data/single.bin"}
    assert main.object("data/single.bin").reader(mode="rb").read() == b"one object"
    # The same import again changes nothing but still reports a commit of its own.
    again = main.import_data(commit_message="again").object(f"s3://{bucket}/single.bin", destination="data/single.bin") \
        .run(poll_interval=timedelta(milliseconds=100))
    assert again.completed and again.commit.id != status.commit.id
    assert repo.commit(again.commit.id).get_commit().meta_range_id == repo.commit(status.commit.id).get_commit().meta_range_id


def test_import_requests_are_checked_and_failures_commit_nothing(weed, server, source):
    bucket, _ = source
    repo = server.repo(f"s3://{weed.make_bucket()}/bad")
    base = f"/repositories/{repo.id}/branches/main/import"
    commit = {"message": "x"}
    r = api(server.url, "POST", base, json={"paths": [{"type": "common_prefix", "path": "local://x/", "destination": ""}], "commit": commit})
    assert r.status_code == 400 and "s3://" in r.json()["message"]
    r = api(server.url, "POST", base, json={"paths": [{"type": "folder", "path": f"s3://{bucket}/raw/", "destination": ""}], "commit": commit})
    assert r.status_code == 400 and "common_prefix or object" in r.json()["message"]
    # Tarn's own objects (under this repository's namespace) are not imported.
    r = api(server.url, "POST", base, json={"paths": [{"type": "common_prefix", "path": repo.properties.storage_namespace + "/data/",
                                                       "destination": ""}], "commit": commit})
    assert r.status_code == 400 and "overlaps the storage namespace" in r.json()["message"]
    r = api(server.url, "POST", f"/repositories/{repo.id}/branches/nope/import",
            json={"paths": [{"type": "common_prefix", "path": f"s3://{bucket}/raw/", "destination": ""}], "commit": commit})
    assert r.status_code == 404
    assert api(server.url, "GET", base, params={"id": "no-such-import"}).status_code == 404

    head = repo.branch("main").get_commit().id
    manager = repo.branch("main").import_data(commit_message="missing").prefix("s3://no-such-bucket-zz/raw/", destination="x/")
    with pytest.raises(lakefs.exceptions.ImportManagerException) as e:
        manager.run(poll_interval=timedelta(milliseconds=100))
    assert "no-such-bucket-zz" in str(e.value) or "NoSuchBucket" in str(e.value)
    manager = repo.branch("main").import_data(commit_message="missing").object(f"s3://{bucket}/nothing-here", destination="x")
    with pytest.raises(lakefs.exceptions.ImportManagerException) as e:
        manager.run(poll_interval=timedelta(milliseconds=100))
    assert "no object at" in str(e.value)
    assert repo.branch("main").get_commit().id == head


def test_a_cancelled_import_commits_nothing(weed, server, source):
    bucket, _ = source
    repo = server.repo(f"s3://{weed.make_bucket()}/cancel")
    head = repo.branch("main").get_commit().id
    base = f"/repositories/{repo.id}/branches/main/import"
    r = api(server.url, "POST", base, json={"paths": [{"type": "common_prefix", "path": f"s3://{bucket}/raw/", "destination": "r/"}],
                                            "commit": {"message": "to be cancelled"}})
    assert r.status_code == 202
    import_id = r.json()["id"]
    cancel = api(server.url, "DELETE", base, params={"id": import_id})
    status = api(server.url, "GET", base, params={"id": import_id}).json()
    if cancel.status_code == 204:
        # Cancelled while listing: no commit, the branch where it was.
        deadline = time.monotonic() + 60
        while not status.get("error") and not status["completed"] and time.monotonic() < deadline:
            status = api(server.url, "GET", base, params={"id": import_id}).json()
        assert status["completed"] is False and status["error"]["message"] == "import canceled"
        assert repo.branch("main").get_commit().id == head
        assert list(repo.branch("main").objects()) == []
    else:
        # It had already finished: cancelling is a conflict, and the commit stands.
        assert cancel.status_code == 409 and status["completed"] is True
    assert api(server.url, "DELETE", base, params={"id": import_id}).status_code == 409


def test_config_offers_import_from_s3(server):
    storage = api(server.url, "GET", "/config").json()["storage_config"]
    assert storage["import_support"] is True and storage["import_validity_regex"] == "^s3://"


def test_tarn_import_cli(weed, server, source):
    bucket, bodies = source
    repo = server.repo(f"s3://{weed.make_bucket()}/cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARN_", "LAKECTL_"))}
    env.update(HOME=server.dir, TARN_SERVER_ENDPOINT_URL=server.url, TARN_CREDENTIALS_ACCESS_KEY_ID=ADMIN_KEY_ID,
               TARN_CREDENTIALS_SECRET_ACCESS_KEY=ADMIN_SECRET)
    binary = os.environ["TARN_BIN"]
    out = subprocess.run([binary, "import", "--from", f"s3://{bucket}/raw/part=2/", "--to",
                          f"lakefs://{repo.id}/main/p2/", "-m", "cli import", "--output", "json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    part2 = [k for k in bodies if k.startswith("raw/part=2/")]
    assert status["completed"] is True and status["ingested_objects"] == len(part2)
    assert status["commit"]["message"] == "cli import"
    assert set(all_paths(repo.branch("main"))) == {"p2/" + k[len("raw/part=2/"):] for k in part2}

    bad = subprocess.run([binary, "import", "--from", f"s3://no-such-bucket-cli/x/", "--to",
                          f"lakefs://{repo.id}/main/p/"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1 and "import failed" in bad.stderr
    usage = subprocess.run([binary, "import", "--from", "/tmp/x", "--to", f"lakefs://{repo.id}/main/"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert usage.returncode == 2
