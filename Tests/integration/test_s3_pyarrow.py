"""pyarrow's S3 filesystem writes and reads a partitioned Parquet dataset through the gateway."""
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from conftest import ADMIN_KEY_ID, ADMIN_SECRET


def test_partitioned_parquet_on_a_branch_then_through_a_commit(tarn_url, repo):
    url = urlsplit(tarn_url)
    fs = pafs.S3FileSystem(access_key=ADMIN_KEY_ID, secret_key=ADMIN_SECRET, endpoint_override=f"{url.hostname}:{url.port}",
                           scheme="http", region="us-east-1", allow_bucket_creation=False)
    table = pa.table({"day": ["2026-11-01"] * 3 + ["2026-11-02"] * 2, "value": [1, 2, 3, 4, 5]})
    pq.write_to_dataset(table, root_path=f"{repo.id}/main/events", partition_cols=["day"], filesystem=fs)
    commit = repo.branch("main").commit(message="events v1").get_commit().id

    # The branch moves on: one more partition.
    more = pa.table({"day": ["2026-11-03"], "value": [6]})
    pq.write_to_dataset(more, root_path=f"{repo.id}/main/events", partition_cols=["day"], filesystem=fs)

    def total(ref):
        data = ds.dataset(f"{repo.id}/{ref}/events", filesystem=fs, format="parquet", partitioning="hive").to_table()
        return sorted(data.column("value").to_pylist())

    assert total("main") == [1, 2, 3, 4, 5, 6]
    # Read through the commit ID: what the training job saw, forever.
    assert total(commit) == [1, 2, 3, 4, 5]
    infos = fs.get_file_info(pafs.FileSelector(f"{repo.id}/{commit}/events", recursive=False))
    assert sorted(i.base_name for i in infos) == ["day=2026-11-01", "day=2026-11-02"]
