"""Rust-based table tools through the gateway: delta-rs (`deltalake`) commits a Delta table on
a branch with S3 conditional writes (`If-None-Match: *` on each `_delta_log` entry, so two
writers cannot both make version N), and polars reads it and writes Parquet through the same
`object_store` S3 client. Both read back through a commit ID after the branch moved on."""
from urllib.parse import urlsplit

import polars as pl
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from conftest import ADMIN_KEY_ID, ADMIN_SECRET


def storage_options(tarn_url):
    url = urlsplit(tarn_url)
    return {
        "AWS_ENDPOINT_URL": f"http://{url.hostname}:{url.port}",
        "AWS_ACCESS_KEY_ID": ADMIN_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false",
        # delta-rs's safe commit on S3: create the next log entry only if it does not exist.
        "AWS_CONDITIONAL_PUT": "etag",
    }


def test_delta_table_commits_on_a_branch_and_reads_through_a_commit(tarn_url, repo):
    options = storage_options(tarn_url)
    table = f"s3://{repo.id}/main/tables/events"
    write_deltalake(table, pl.DataFrame({"id": [1, 2, 3], "day": ["a", "a", "b"]}).to_arrow(),
                    partition_by=["day"], storage_options=options)
    write_deltalake(table, pl.DataFrame({"id": [4], "day": ["b"]}).to_arrow(), mode="append", storage_options=options)
    dt = DeltaTable(table, storage_options=options)
    assert dt.version() == 1
    assert sorted(dt.to_pyarrow_table().column("id").to_pylist()) == [1, 2, 3, 4]
    commit = repo.branch("main").commit(message="events v1").get_commit().id

    # The branch moves on; the commit keeps version 1 of the table.
    write_deltalake(table, pl.DataFrame({"id": [5], "day": ["c"]}).to_arrow(), mode="append", storage_options=options)
    assert DeltaTable(table, storage_options=options).version() == 2
    pinned = DeltaTable(f"s3://{repo.id}/{commit}/tables/events", storage_options=options)
    assert pinned.version() == 1
    assert sorted(pinned.to_pyarrow_table().column("id").to_pylist()) == [1, 2, 3, 4]

    # polars reads the Delta table through the same S3 client, at the branch and at the commit.
    assert sorted(pl.read_delta(table, storage_options=options)["id"].to_list()) == [1, 2, 3, 4, 5]
    assert sorted(pl.read_delta(f"s3://{repo.id}/{commit}/tables/events", storage_options=options)["id"].to_list()) == [1, 2, 3, 4]


def test_delta_commit_races_lose_to_the_existing_log_entry(tarn_url, repo):
    """A writer that loads version 0 and commits after another writer made version 1 must not
    overwrite it: the gateway refuses the second `If-None-Match: *` PUT of `_delta_log/…1.json`
    and delta-rs, told so, retries on top of the winner (or fails): both rows survive."""
    options = storage_options(tarn_url)
    table = f"s3://{repo.id}/main/tables/race"
    write_deltalake(table, pl.DataFrame({"id": [0]}).to_arrow(), storage_options=options)
    stale = DeltaTable(table, storage_options=options)
    write_deltalake(table, pl.DataFrame({"id": [1]}).to_arrow(), mode="append", storage_options=options)
    try:
        write_deltalake(stale, pl.DataFrame({"id": [2]}).to_arrow(), mode="append", storage_options=options)
    except CommitFailedError:
        pass  # refused outright: acceptable, the winner's entry must still be there
    ids = sorted(DeltaTable(table, storage_options=options).to_pyarrow_table().column("id").to_pylist())
    assert ids in ([0, 1], [0, 1, 2])


def test_polars_writes_and_scans_parquet_on_a_branch(tarn_url, repo):
    options = storage_options(tarn_url)
    frame = pl.DataFrame({"k": list(range(1000)), "v": [i * 2 for i in range(1000)]})
    frame.write_parquet(f"s3://{repo.id}/main/frames/one.parquet", storage_options=options)
    back = pl.scan_parquet(f"s3://{repo.id}/main/frames/one.parquet", storage_options=options).filter(pl.col("k") >= 990).collect()
    assert back["v"].to_list() == [i * 2 for i in range(990, 1000)]
    # Writes go to branches only: a commit ID is read-only.
    commit = repo.branch("main").commit(message="frames").get_commit().id
    with pytest.raises(Exception):
        frame.write_parquet(f"s3://{repo.id}/{commit}/frames/two.parquet", storage_options=options)
