"""lakefs-spec (fsspec over the `lakefs` client) against a real Tarn server."""
import hashlib

import pytest
from lakefs_spec import LakeFSFileSystem

from conftest import ADMIN_KEY_ID, ADMIN_SECRET


@pytest.fixture
def fs(tarn_url):
    return LakeFSFileSystem(host=tarn_url, username=ADMIN_KEY_ID, password=ADMIN_SECRET)


def test_put_get_ls_info_rm(fs, repo, tmp_path):
    src = tmp_path / "in.bin"
    payload = bytes(range(256)) * 400
    src.write_bytes(payload)
    fs.put_file(str(src), f"{repo.id}/main/data/in.bin")
    fs.pipe(f"{repo.id}/main/data/sub/x.txt", b"x")

    info = fs.info(f"{repo.id}/main/data/in.bin")
    assert info["size"] == len(payload)
    assert info["checksum"] == hashlib.md5(payload).hexdigest()
    listing = fs.ls(f"{repo.id}/main/data/", detail=True)
    assert sorted((e["name"].rstrip("/"), e["type"]) for e in listing) == [
        (f"{repo.id}/main/data/in.bin", "file"), (f"{repo.id}/main/data/sub", "directory")]
    assert fs.exists(f"{repo.id}/main/data/sub")
    assert not fs.exists(f"{repo.id}/main/nothing-here")

    dst = tmp_path / "out.bin"
    fs.get_file(f"{repo.id}/main/data/in.bin", str(dst))
    assert dst.read_bytes() == payload
    with fs.open(f"{repo.id}/main/data/in.bin", "rb") as f:
        f.seek(1000)
        assert f.read(10) == payload[1000:1010]

    fs.rm(f"{repo.id}/main/data/", recursive=True)
    assert fs.ls(f"{repo.id}/main/", detail=False) == []


def test_transaction_commits_and_merges_into_main(fs, repo):
    with fs.transaction(repo.id, "main") as tx:
        fs.pipe(f"{repo.id}/{tx.branch.id}/t/a.csv", b"a,b\n1,2\n")
        fs.pipe(f"{repo.id}/{tx.branch.id}/t/b.csv", b"a,b\n3,4\n")
        tx.commit(message="add two tables", metadata={"source": "fsspec"})
        branch = tx.branch.id
    assert fs.cat(f"{repo.id}/main/t/a.csv") == b"a,b\n1,2\n"
    log = list(repo.branch("main").log(max_amount=3))
    assert any(c.message == "add two tables" and c.metadata == {"source": "fsspec"} for c in log)
    # The ephemeral branch is gone after a successful transaction.
    assert branch not in [b.id for b in repo.branches()]


def test_failed_transaction_leaves_main_untouched(fs, repo):
    head = repo.branch("main").head.id
    with pytest.raises(RuntimeError):
        with fs.transaction(repo.id, "main") as tx:
            fs.pipe(f"{repo.id}/{tx.branch.id}/never.txt", b"x")
            tx.commit(message="never merged")
            raise RuntimeError("job failed")
    assert repo.branch("main").head.id == head
    assert not fs.exists(f"{repo.id}/main/never.txt")


def test_reads_by_commit_and_relative_ref(fs, repo):
    fs.pipe(f"{repo.id}/main/v.txt", b"one")
    first = repo.branch("main").commit(message="v1").get_commit().id
    fs.pipe(f"{repo.id}/main/v.txt", b"two")
    repo.branch("main").commit(message="v2")
    assert fs.cat(f"{repo.id}/{first}/v.txt") == b"one"
    assert fs.cat(f"{repo.id}/main~1/v.txt") == b"one"
    assert fs.cat(f"{repo.id}/main/v.txt") == b"two"


def test_touch_needs_a_numeric_server_version(fs, repo):
    # lakefs-spec parses /config's version as numbers and refuses touch below 1.3.1.
    fs.touch(f"{repo.id}/main/empty")
    assert fs.info(f"{repo.id}/main/empty")["size"] == 0
