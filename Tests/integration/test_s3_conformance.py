"""A subset of the Ceph S3 conformance suite (s3-tests) against a Tarn it starts, keys under `main/`.

The whole `core` selection is measured with `../shared/conformance/s3tests.sh` (see
docs/s3-compatibility.md); this runs, in `make test`, the tests below, chosen so every operation
the gateway implements is exercised by the suite's own checks, and requires all of them to pass.

The suite is not vendored (nor on PyPI): it is taken from $S3TESTS_SRC, from ${TMPDIR}/s3tests,
or cloned from the local mirror that `fetch github:ceph/s3-tests` leaves. Its key-prefixing plugin
comes from `../shared/conformance` ($TARN_CONFORMANCE_DIR overrides). Without them the test says so
and is skipped; on the development machines both are present.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import ADMIN_KEY_ID, ADMIN_SECRET, TarnProcess

SUBSET = {
    "buckets": """test_bucket_notexist test_bucketv2_notexist test_bucket_head test_bucket_head_notexist
        test_buckets_create_then_list test_list_buckets_paginated test_list_buckets_invalid_auth test_list_buckets_bad_auth""",
    "listing": """test_bucket_list_empty test_bucket_listv2_many test_bucket_list_delimiter_basic
        test_bucket_listv2_delimiter_prefix test_bucket_list_encoding_basic test_bucket_listv2_encoding_basic
        test_bucket_list_prefix_delimiter_basic test_bucket_list_maxkeys_one test_bucket_listv2_maxkeys_zero
        test_bucket_list_maxkeys_invalid test_bucket_list_marker_not_in_list test_bucket_listv2_continuationtoken
        test_bucket_listv2_both_continuationtoken_startafter test_bucket_listv2_startafter_after_list
        test_bucket_listv2_fetchowner_notempty test_bucket_list_special_prefix""",
    "objects": """test_object_write_to_nonexist_bucket test_object_read_not_exist test_object_requestid_matches_header_on_error
        test_object_head_zero_bytes test_object_write_check_etag test_object_write_cache_control test_object_write_expires
        test_object_write_read_update_read_delete test_object_set_get_metadata_none_to_good test_object_metadata_replaced_on_put
        test_object_write_with_chunked_transfer_encoding test_object_content_encoding_aws_chunked test_object_put_authenticated
        test_object_checksum_sha256 test_get_object_attributes test_get_checksum_object_attributes
        test_atomic_read_1mb test_atomic_write_1mb""",
    "bulk delete": "test_multi_object_delete test_multi_objectv2_delete",
    "conditional requests": """test_get_object_ifmatch_failed test_get_object_ifnonematch_failed
        test_get_object_ifmodifiedsince_good test_get_object_ifunmodifiedsince_failed test_put_object_ifmatch_failed
        test_put_object_if_match test_copy_object_ifmatch_good test_copy_object_ifnonematch_failed""",
    "ranges": """test_ranged_request_response_code test_ranged_request_skip_leading_bytes_response_code
        test_ranged_request_return_trailing_bytes_response_code test_ranged_request_invalid_range
        test_ranged_request_empty_object""",
    "copy": """test_object_copy_zero_size test_object_copy_same_bucket test_object_copy_diff_bucket
        test_object_copy_replacing_metadata test_object_copy_retaining_metadata test_object_copy_key_not_found
        test_object_copy_to_itself_with_metadata""",
    "multipart": """test_multipart_upload test_multipart_upload_small test_multipart_copy_small test_multipart_copy_invalid_range
        test_multipart_upload_size_too_small test_abort_multipart_upload test_abort_multipart_upload_not_found
        test_list_multipart_upload test_multipart_upload_missing_part test_multipart_upload_incorrect_etag
        test_multipart_upload_complete_without_create test_multipart_put_object_if_match test_multipart_resend_first_finishes_last
        test_multipart_get_part test_non_multipart_get_part test_get_multipart_object_attributes
        test_get_paginated_multipart_object_attributes""",
    "multipart checksums": """test_multipart_checksum_sha256 test_multipart_reupload_checksum_and_etag
        test_multipart_use_cksum_helper_crc32 test_multipart_use_cksum_helper_crc64nvme
        test_get_multipart_checksum_object_attributes""",
    "acl (fixed answer)": "test_bucket_list_return_data",
}
TESTS = [name for group in SUBSET.values() for name in group.split()]

MIRROR = Path("/work/.mirror/ceph+s3-tests/repo")
TMP = Path(os.environ.get("TMPDIR", "/tmp"))


def _suite():
    """A checkout of s3-tests, or None."""
    given = os.environ.get("S3TESTS_SRC")
    candidates = [Path(given)] if given else [TMP / "s3tests"]
    for c in candidates:
        if (c / "s3tests" / "functional" / "test_s3.py").exists():
            return c
    if MIRROR.exists():
        target = candidates[0]
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(["git", "clone", "-q", str(MIRROR), str(target)], check=True)
        return target
    return None


def _plugin_dir():
    repo = Path(__file__).resolve().parents[2]
    for c in [os.environ.get("TARN_CONFORMANCE_DIR"), repo.parent / "shared" / "conformance", "/work/shared/conformance"]:
        if c and (Path(c) / "branch_prefix.py").exists():
            return Path(c)
    return None


def _venv(suite):
    """The suite's own virtualenv (its pinned requirements clash with ours), made once."""
    venv = Path(os.environ.get("S3TESTS_VENV", TMP / "s3tests-venv"))
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import pytest_timeout, munch, isodate, lxml, httplib2"]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(suite / "requirements.txt"), "pytest-timeout"], check=True)
    return python


def _config(path, host, port):
    users = "\n".join(
        f"[{section}]\ndisplay_name = {uid}\nuser_id = {uid}\nemail = {uid}@example.com\n"
        f"access_key = {ADMIN_KEY_ID}\nsecret_key = {ADMIN_SECRET}\n{extra}"
        for section, uid, extra in [("s3 main", "main", "api_name = default\n"), ("s3 alt", "alt", ""),
                                    ("s3 tenant", "tenant", "tenant = tenant\n"), ("iam", "iam", ""),
                                    ("iam root", "root", ""), ("iam alt root", "altroot", "")]
    )
    path.write_text(
        f"[DEFAULT]\nhost = {host}\nport = {port}\nis_secure = False\nssl_verify = False\n"
        "[fixtures]\nbucket prefix = s3t-{random}-\niam name prefix = s3-tests-\niam path prefix = /s3-tests/\n" + users
    )


def test_conformance_subset_passes(tmp_path):
    suite, plugins = _suite(), _plugin_dir()
    if suite is None or plugins is None:
        pytest.skip(f"s3-tests checkout ({suite}) or ../shared/conformance ({plugins}) not on this machine")
    python = _venv(suite)
    data = tempfile.mkdtemp(prefix="tarn-s3t-")
    server = TarnProcess(data, ["--s3-create-bucket"])
    try:
        host, port = server.url.split("//")[1].split(":")
        _config(tmp_path / "s3tests.conf", host, port)
        junit = tmp_path / "junit.xml"
        nodes = [f"s3tests/functional/test_s3.py::{name}" for name in TESTS]
        run = subprocess.run(
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "branch_prefix", "--timeout=120",
             "-o", "junit_family=xunit2", f"--junitxml={junit}", *nodes],
            cwd=suite, capture_output=True, text=True, timeout=900,
            env=dict(os.environ, S3TEST_CONF=str(tmp_path / "s3tests.conf"), PYTHONPATH=f"{plugins}:{suite}"),
        )
    finally:
        assert server.stop() == 0
        shutil.rmtree(data, ignore_errors=True)
    assert junit.exists(), run.stdout[-4000:] + run.stderr[-2000:]
    root = ET.parse(junit).getroot()
    cases = list(root.iter("testcase"))
    failed = [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert not failed, f"conformance tests failed: {failed}\n{run.stdout[-6000:]}"
    assert not skipped, f"conformance tests skipped: {skipped}"
    assert sorted(c.get("name") for c in cases) == sorted(TESTS), "the suite no longer has every test of the subset"
