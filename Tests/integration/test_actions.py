"""CI gates end to end: action files in the repository, a real webhook receiver and an exec
hook script, against a started server. The recipe of docs/ci.md: branch from main, write
through S3, commit, merge; pre-merge hooks validate the source commit and block a bad merge."""
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import boto3
import botocore
import jsonschema
import lakefs
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
import yaml
from botocore.config import Config
from lakefs.client import Client
from lakefs.exceptions import ForbiddenException, LakeFSException

from conftest import ADMIN_KEY_ID, ADMIN_SECRET, TarnProcess, cli_home
from s3backends import free_port

WEBHOOK_SECRET = "token-" + uuid.uuid4().hex


class Receiver:
    """A webhook receiver on a free loopback port. `/ok` answers 200, `/reject` 400 with a
    reason, `/hold` answers only once `release` is set (a hook that outlives its timeout),
    `/validate` checks the event's source commit through Tarn's S3 gateway: a `_SUCCESS`
    marker and 1 to 1,000 rows in every CSV under `tables/`."""

    def __init__(self, s3):
        self.events = []
        self.release = threading.Event()
        self.s3 = s3
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                url = urlparse(self.path)
                receiver.events.append({"path": url.path, "query": parse_qs(url.query), "body": body,
                                        "headers": dict(self.headers)})
                status, text = receiver.answer(url.path, body)
                if url.path == "/hold":
                    receiver.release.wait(30)
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the hook gave up waiting (the timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path, event):
        if path == "/reject":
            return 400, "rejected by the receiver"
        if path == "/validate":
            return self.validate(event)
        return 200, "ok"

    def validate(self, event):
        repo, ref = event["repository_id"], event["source_ref"]
        keys = [o["Key"] for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=repo, Prefix=f"{ref}/tables/")
                for o in page.get("Contents", [])]
        if f"{ref}/tables/_SUCCESS" not in keys:
            return 412, "tables/_SUCCESS is missing: the job did not finish"
        for key in keys:
            if key.endswith(".csv"):
                rows = self.s3.get_object(Bucket=repo, Key=key)["Body"].read().decode().strip().count("\n")
                if not 1 <= rows <= 1000:
                    return 412, f"{key[len(ref) + 1:]} has {rows} rows, expected 1 to 1000"
        return 200, f"{len(keys)} objects checked"

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


SCHEMA_CHECK = """\
#!{python}
# An exec hook: the event arrives as JSON on stdin (and as TARN_EVENT_* variables); the
# Parquet files under tables/ at the source commit must keep the schema main has.
import json, os, sys, io
import boto3, pyarrow.parquet as pq
from botocore.config import Config

event = json.load(sys.stdin)
assert os.environ["TARN_EVENT_TYPE"] == event["event_type"]
s3 = boto3.client("s3", endpoint_url=os.environ["TARN_ACTIONS_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["TARN_ACTIONS_KEY_ID"], aws_secret_access_key=os.environ["TARN_ACTIONS_SECRET"],
                  config=Config(s3={{"addressing_style": "path"}}))
repo, ref = event["repository_id"], event["source_ref"]
def schema(ref):
    out = {{}}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=repo, Prefix=f"{{ref}}/tables/"):
        for o in page.get("Contents", []):
            if o["Key"].endswith(".parquet"):
                data = s3.get_object(Bucket=repo, Key=o["Key"])["Body"].read()
                out[o["Key"][len(ref) + 1:]] = str(pq.read_schema(io.BytesIO(data)))
    return out
print("checked", sorted(schema(ref)))
before, after = schema(event["branch_id"]), schema(ref)
for path, s in after.items():
    if path in before and before[path] != s:
        print(f"schema of {{path}} changed", file=sys.stderr)
        sys.exit(3)
"""

SLOW_SCRIPT = """\
#!/bin/sh
# Reads nothing and never finishes on its own: the hook's timeout must kill it and its child.
sleep 60 &
echo $! > "$0.child"
wait
"""


@pytest.fixture(scope="module")
def gate():
    """A server with an exec allow-list and hook secrets in its environment, its S3 endpoint
    and a webhook receiver; stopped by PID at the end."""
    directory = tempfile.mkdtemp(prefix="tarn-actions-")
    scripts = os.path.join(directory, "scripts")
    os.makedirs(scripts)
    schema_check = os.path.join(scripts, "schema-check.py")
    slow = os.path.join(scripts, "slow.sh")
    with open(schema_check, "w") as f:
        f.write(SCHEMA_CHECK.format(python=sys.executable))
    with open(slow, "w") as f:
        f.write(SLOW_SCRIPT)
    for path in (schema_check, slow):
        os.chmod(path, 0o755)
    # The exec hook script reads the server's own S3 endpoint from a TARN_ACTIONS_* variable,
    # so the server gets a port chosen before it starts.
    url = f"http://127.0.0.1:{free_port()}"
    server = TarnProcess(os.path.join(directory, "data"), extra_args=["--hooks-exec-allow", f"{schema_check},{slow}"],
                         env={"TARN_ACTIONS_TOKEN": WEBHOOK_SECRET, "TARN_ACTIONS_KEY_ID": ADMIN_KEY_ID,
                              "TARN_ACTIONS_SECRET": ADMIN_SECRET, "TARN_ACTIONS_ENDPOINT": url},
                         listen=url[len("http://"):])
    assert server.url == url
    s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=ADMIN_KEY_ID,
                      aws_secret_access_key=ADMIN_SECRET, config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    receiver = Receiver(s3)
    g = type("Gate", (), {})()
    g.server, g.url, g.s3, g.receiver = server, server.url, s3, receiver
    g.schema_check, g.slow, g.directory = schema_check, slow, directory
    g.client = Client(host=server.url, username=ADMIN_KEY_ID, password=ADMIN_SECRET)
    yield g
    receiver.stop()
    server.stop()
    subprocess.run(["rm", "-rf", directory])


def api(g, method, path, **kw):
    return requests.request(method, g.url + "/api/v1" + path, auth=(ADMIN_KEY_ID, ADMIN_SECRET), **kw)


def new_repo(g, actions):
    """A repository whose main holds `actions` ({file name: YAML}) under _lakefs_actions/."""
    name = "ci-" + uuid.uuid4().hex[:10]
    repo = lakefs.Repository(name, client=g.client).create(storage_namespace=f"local://{name}")
    for file, text in actions.items():
        g.s3.put_object(Bucket=name, Key=f"main/_lakefs_actions/{file}", Body=textwrap.dedent(text).encode())
    if actions:
        repo.branch("main").commit(message="actions")
    return repo


def write_job_output(g, repo, branch, rows=10, success=True, schema=("id", "value")):
    """What a CI job writes through S3: a CSV, a Parquet file and the _SUCCESS marker."""
    g.s3.put_object(Bucket=repo.id, Key=f"{branch}/tables/events.csv", Body=("id,value\n" + "1,a\n" * rows).encode())
    table = pa.table({c: pa.array([1, 2, 3]) if i == 0 else pa.array(["x", "y", "z"]) for i, c in enumerate(schema)})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    g.s3.put_object(Bucket=repo.id, Key=f"{branch}/tables/events.parquet", Body=buf.getvalue())
    if success:
        g.s3.put_object(Bucket=repo.id, Key=f"{branch}/tables/_SUCCESS", Body=b"")


def runs(g, repo, **query):
    r = api(g, "GET", f"/repositories/{repo.id}/actions/runs", params=query)
    assert r.status_code == 200, r.text
    return r.json()["results"]


def hooks_of(g, repo, run_id):
    r = api(g, "GET", f"/repositories/{repo.id}/actions/runs/{run_id}/hooks")
    assert r.status_code == 200, r.text
    out = []
    for h in r.json()["results"]:
        o = api(g, "GET", f"/repositories/{repo.id}/actions/runs/{run_id}/hooks/{h['hook_run_id']}/output")
        assert o.status_code == 200
        out.append(dict(h, output=o.text))
    return out


def merge_gate(g):
    return {
        "validate.yaml": f"""
            name: Validate job output
            on:
              pre-merge:
                branches: [main]
            hooks:
              - id: files_and_rows
                type: webhook
                properties:
                  url: {g.receiver.url}/validate
                  timeout: 20s
                  query_params:
                    check: [files, rows]
                  headers:
                    Authorization: "Bearer {{{{ ENV.TARN_ACTIONS_TOKEN }}}}"
            """,
        "schema.yaml": f"""
            name: Parquet schema unchanged
            on:
              pre-merge:
                branches: [main]
            hooks:
              - id: schema
                type: exec
                properties:
                  command: {g.schema_check}
                  timeout: 30s
            """,
    }


def alive(pid):
    """Whether a process exists and is not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def branch_with_job(g, repo, **job):
    name = "job-" + uuid.uuid4().hex[:8]
    branch = repo.branch(name).create(source_reference="main")
    write_job_output(g, repo, name, **job)
    branch.commit(message="job output")
    return branch


def test_passing_merge_runs_both_hooks_with_the_commit_to_be_made(gate):
    g = gate
    repo = new_repo(g, merge_gate(g))
    branch = branch_with_job(g, repo)
    source_commit = branch.get_commit().id
    main_before = repo.branch("main").get_commit().id
    seen = len(g.receiver.events)

    merged = branch.merge_into(repo.branch("main"))

    main_after = repo.branch("main").get_commit().id
    assert main_after == merged != main_before
    event = [e for e in g.receiver.events[seen:] if e["path"] == "/validate"][-1]
    body = event["body"]
    assert body["event_type"] == "pre-merge" and body["repository_id"] == repo.id
    assert body["branch_id"] == "main" and body["source_ref"] == source_commit and body["merge_source"] == branch.id
    # The pre-merge hook saw the ID of the merge commit before the branch moved to it.
    assert body["commit_id"] == main_after
    assert body["action_name"] == "Validate job output" and body["hook_id"] == "files_and_rows"
    assert event["headers"]["Authorization"] == f"Bearer {WEBHOOK_SECRET}"
    assert event["query"] == {"check": ["files", "rows"]}

    [run] = runs(g, repo, branch="main", commit=main_after)
    assert run["event_type"] == "pre-merge" and run["status"] == "completed"
    hooks = hooks_of(g, repo, run["run_id"])
    assert {(h["action"], h["hook_id"], h["status"]) for h in hooks} == {
        ("Validate job output", "files_and_rows", "completed"), ("Parquet schema unchanged", "schema", "completed")}
    schema_hook = next(h for h in hooks if h["hook_id"] == "schema")
    assert "Exit status: 0" in schema_hook["output"] and "tables/events.parquet" in schema_hook["output"]
    # The secret never reaches the recorded output.
    assert WEBHOOK_SECRET not in "".join(h["output"] for h in hooks)


def test_bad_job_output_blocks_the_merge_and_keeps_main(gate):
    g = gate
    repo = new_repo(g, merge_gate(g))
    branch = branch_with_job(g, repo, success=False)
    main_before = repo.branch("main").get_commit().id

    r = api(g, "POST", f"/repositories/{repo.id}/refs/{branch.id}/merge/main", json={})

    assert r.status_code == 412, r.text
    message = r.json()["message"]
    assert "pre-merge hook aborted" in message and "Validate job output" in message and "files_and_rows" in message
    assert "tables/_SUCCESS is missing" in message
    assert repo.branch("main").get_commit().id == main_before
    # Nothing of the branch was lost: it can be fixed and merged.
    assert branch.get_commit().id and len(list(branch.objects(prefix="tables/"))) == 2

    [run] = [r for r in runs(g, repo, branch="main") if r["event_type"] == "pre-merge"]
    assert run["status"] == "failed" and run["run_id"] in message
    failed = [h for h in hooks_of(g, repo, run["run_id"]) if h["status"] == "failed"]
    assert [h["hook_id"] for h in failed] == ["files_and_rows"]
    assert "412" in failed[0]["output"] and "tables/_SUCCESS is missing" in failed[0]["output"]

    write_job_output(g, repo, branch.id)
    branch.commit(message="marker")
    assert branch.merge_into(repo.branch("main")) == repo.branch("main").get_commit().id != main_before


def test_row_counts_out_of_bounds_block_the_merge(gate):
    g = gate
    repo = new_repo(g, merge_gate(g))
    branch = branch_with_job(g, repo, rows=1500)
    r = api(g, "POST", f"/repositories/{repo.id}/refs/{branch.id}/merge/main", json={})
    assert r.status_code == 412 and "tables/events.csv has 1500 rows" in r.json()["message"], r.text


def test_exec_hook_blocks_a_schema_change_with_its_stderr(gate):
    g = gate
    repo = new_repo(g, merge_gate(g))
    first = branch_with_job(g, repo)
    first.merge_into(repo.branch("main"))
    second = branch_with_job(g, repo, schema=("id", "renamed"))
    main_before = repo.branch("main").get_commit().id

    r = api(g, "POST", f"/repositories/{repo.id}/refs/{second.id}/merge/main", json={})

    assert r.status_code == 412, r.text
    message = r.json()["message"]
    assert "Parquet schema unchanged" in message and "exited with status 3" in message
    assert "schema of tables/events.parquet changed" in message
    assert repo.branch("main").get_commit().id == main_before
    run = [x for x in runs(g, repo, branch="main") if x["status"] == "failed"][0]
    [hook] = [h for h in hooks_of(g, repo, run["run_id"]) if h["hook_id"] == "schema"]
    assert hook["status"] == "failed"
    assert "--- stderr ---\nschema of tables/events.parquet changed" in hook["output"]
    assert "checked ['tables/events.parquet']" in hook["output"]


def test_timed_out_hooks_fail_and_block(gate):
    g = gate
    repo = new_repo(g, {
        "slow.yaml": f"""
            name: Slow checks
            on:
              pre-commit:
                branches: [dev]
            hooks:
              - id: slow_webhook
                type: webhook
                properties:
                  url: {g.receiver.url}/hold
                  timeout: 1s
            """,
        "slow-exec.yaml": f"""
            name: Slow script
            on:
              pre-create-tag:
            hooks:
              - id: slow_exec
                type: exec
                properties:
                  command: {g.slow}
                  timeout: 500ms
            """,
    })
    branch = repo.branch("dev").create(source_reference="main")
    g.s3.put_object(Bucket=repo.id, Key="dev/file.txt", Body=b"x")
    head = branch.get_commit().id

    r = api(g, "POST", f"/repositories/{repo.id}/branches/dev/commits", json={"message": "blocked"})
    g.receiver.release.set()

    assert r.status_code == 412, r.text
    assert "slow_webhook" in r.json()["message"] and "timed out after 1s" in r.json()["message"]
    assert branch.get_commit().id == head
    # The staged object is still there, uncommitted.
    assert [c.path for c in branch.uncommitted()] == ["file.txt"]

    r = api(g, "POST", f"/repositories/{repo.id}/tags", json={"id": "v1", "ref": "main"})
    assert r.status_code == 412 and "timed out after 0.5s" in r.json()["message"], r.text
    assert api(g, "GET", f"/repositories/{repo.id}/tags/v1").status_code == 404
    # The script's process group was killed: its `sleep 60` is not left behind.
    with open(g.slow + ".child") as f:
        child = int(f.read())
    deadline = time.monotonic() + 5  # SIGKILL was sent; the kernel may take a moment to end it
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not alive(child)


def test_post_commit_failure_is_recorded_and_does_not_block(gate):
    g = gate
    repo = new_repo(g, {
        "notify.yaml": f"""
            name: Notify
            on:
              post-commit:
                branches: ["feature-*"]
            hooks:
              - id: notify
                type: webhook
                properties:
                  url: {g.receiver.url}/reject
              - id: after_failure
                type: webhook
                if: failure()
                properties:
                  url: {g.receiver.url}/ok
              - id: skipped_after_failure
                type: webhook
                properties:
                  url: {g.receiver.url}/ok
            """,
    })
    branch = repo.branch("feature-a").create(source_reference="main")
    g.s3.put_object(Bucket=repo.id, Key="feature-a/x.txt", Body=b"x")
    commit = branch.commit(message="works anyway")
    assert branch.get_commit().id == commit.get_commit().id

    [run] = runs(g, repo, branch="feature-a")
    assert run["event_type"] == "post-commit" and run["status"] == "failed" and run["commit_id"] == commit.get_commit().id
    hooks = hooks_of(g, repo, run["run_id"])
    assert [(h["hook_id"], h["status"]) for h in hooks] == [("notify", "failed"), ("after_failure", "completed")]
    assert "rejected by the receiver" in hooks[0]["output"]
    # lakeFS's own SDK reads the same runs (its pydantic models are strict about the shapes).
    sdk = g.client.sdk_client.actions_api
    [sdk_run] = sdk.list_repository_runs(repo.id, branch="feature-a").results
    assert (sdk_run.run_id, sdk_run.status, sdk_run.event_type) == (run["run_id"], "failed", "post-commit")
    assert sdk.get_run(repo.id, run["run_id"]).commit_id == commit.get_commit().id
    sdk_hooks = sdk.list_run_hooks(repo.id, run["run_id"]).results
    assert [h.hook_id for h in sdk_hooks] == ["notify", "after_failure"] and sdk_hooks[0].end_time >= sdk_hooks[0].start_time
    assert b"rejected by the receiver" in bytes(sdk.get_run_hook_output(repo.id, run["run_id"], sdk_hooks[0].hook_run_id))

    # Branch globs: a commit on another branch runs nothing.
    other = repo.branch("other").create(source_reference="main")
    g.s3.put_object(Bucket=repo.id, Key="other/y.txt", Body=b"y")
    other.commit(message="no hooks here")
    assert runs(g, repo, branch="other") == []


def test_exec_hook_off_the_allow_list_and_broken_files_fail_with_a_reason(gate):
    g = gate
    repo = new_repo(g, {
        "shell.yaml": """
            name: Not allowed
            on:
              pre-create-branch:
            hooks:
              - id: shell
                type: exec
                properties:
                  command: /bin/true
            """,
    })
    r = api(g, "POST", f"/repositories/{repo.id}/branches", json={"name": "b1", "source": "main"})
    assert r.status_code == 412 and "/bin/true is not on the server's exec allow-list" in r.json()["message"], r.text
    assert api(g, "GET", f"/repositories/{repo.id}/branches/b1").status_code == 404

    # A file that does not parse refuses the commit that would add it, line by line.
    repo2 = new_repo(g, {})
    g.s3.put_object(Bucket=repo2.id, Key="main/_lakefs_actions/broken.yaml",
                    Body=b"name: Broken\non:\n  pre-merge-typo:\nhooks:\n  - id: ok\n    type: webhook\n")
    r = api(g, "POST", f"/repositories/{repo2.id}/branches/main/commits", json={"message": "broken actions"})
    assert r.status_code == 412, r.text
    message = r.json()["message"]
    assert "_lakefs_actions/broken.yaml:3: event 'pre-merge-typo' is not supported" in message
    assert "_lakefs_actions/broken.yaml:5: hook 'ok': properties.url is required" in message
    [run] = runs(g, repo2, branch="main")
    [hook] = hooks_of(g, repo2, run["run_id"])
    assert hook["action"] == "_lakefs_actions/broken.yaml" and hook["status"] == "failed" and "does not parse" in hook["output"]


def test_branch_protection_refuses_direct_changes_over_rest_and_s3(gate):
    g = gate
    repo = new_repo(g, {})
    dev = repo.branch("dev").create(source_reference="main")
    g.s3.put_object(Bucket=repo.id, Key="dev/data.csv", Body=b"a\n")
    dev.commit(message="dev data")

    r = api(g, "GET", f"/repositories/{repo.id}/settings/branch_protection")
    etag = r.headers["ETag"]
    assert r.json() == []
    assert api(g, "PUT", f"/repositories/{repo.id}/settings/branch_protection", json=[{"pattern": "main"}],
               headers={"If-Match": etag}).status_code == 204
    # A second editor holding the old ETag cannot overwrite the rules.
    assert api(g, "PUT", f"/repositories/{repo.id}/settings/branch_protection", json=[],
               headers={"If-Match": etag}).status_code == 412

    with pytest.raises(botocore.exceptions.ClientError) as e:
        g.s3.put_object(Bucket=repo.id, Key="main/direct.csv", Body=b"x")
    assert e.value.response["Error"]["Code"] == "AccessDenied" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(botocore.exceptions.ClientError) as e:
        g.s3.delete_object(Bucket=repo.id, Key="main/_lakefs_actions/none.yaml")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert api(g, "POST", f"/repositories/{repo.id}/branches/main/objects", params={"path": "x"}, data=b"x").status_code == 403
    assert api(g, "POST", f"/repositories/{repo.id}/branches/main/commits",
               json={"message": "direct", "allow_empty": True}).status_code == 403
    assert api(g, "PUT", f"/repositories/{repo.id}/branches/main/hard_reset", params={"ref": "dev"}).status_code == 403
    assert api(g, "DELETE", f"/repositories/{repo.id}/branches/main/objects", params={"path": "data.csv"}).status_code == 403

    # Merges still land, and so do reverts.
    merged = dev.merge_into(repo.branch("main"))
    assert repo.branch("main").get_commit().id == merged
    r = api(g, "POST", f"/repositories/{repo.id}/branches/main/revert", json={"ref": merged, "parent_number": 1})
    assert r.status_code == 204, r.text

    # A protected branch other than the default cannot be deleted either.
    assert api(g, "PUT", f"/repositories/{repo.id}/settings/branch_protection",
               json=[{"pattern": "main"}, {"pattern": "release-*"}]).status_code == 204
    repo.branch("release-1").create(source_reference="main")
    r = api(g, "DELETE", f"/repositories/{repo.id}/branches/release-1")
    assert r.status_code == 403 and "protected" in r.json()["message"]
    with pytest.raises(ForbiddenException):
        repo.branch("release-1").delete()


def tarn_cli(g, *args, config_dir):
    env = dict(os.environ, HOME=config_dir)
    return subprocess.run([os.environ["TARN_BIN"], *args], capture_output=True, text=True, env=env, timeout=60)


def test_cli_validates_files_lists_runs_and_edits_protection(gate, tmp_path):
    g = gate
    home = str(tmp_path)
    cli_home(home, g.url)
    good = tmp_path / "good.yaml"
    good.write_text(textwrap.dedent(merge_gate(g)["validate.yaml"]))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\non:\n  pre-commit:\n    branches: main\nhooks:\n  - id: aa\n    type: lua\n  - id: aa\n    type: webhook\n")
    r = tarn_cli(g, "actions", "validate", str(good), config_dir=home)
    assert r.returncode == 0 and "ok: action 'Validate job output', 1 hook(s) on pre-merge" in r.stdout, r.stderr
    r = tarn_cli(g, "actions", "validate", str(bad), config_dir=home)
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert any(l.startswith(f"{bad}:1: name must start") for l in lines), lines
    assert any(l.startswith(f"{bad}:4: branches must be a list") for l in lines), lines
    assert any(l.startswith(f"{bad}:6: hook 'aa': type 'lua' is a lakeFS hook type Tarn does not run") for l in lines), lines
    assert any(l.startswith(f"{bad}:8: hook 2: duplicate id 'aa'") for l in lines), lines
    assert any(l.startswith(f"{bad}:8: hook 'aa': properties.url is required") for l in lines), lines

    repo = new_repo(g, merge_gate(g))
    branch = branch_with_job(g, repo, success=False)
    r = tarn_cli(g, "merge", f"lakefs://{repo.id}/{branch.id}", f"lakefs://{repo.id}/main", config_dir=home)
    assert r.returncode == 4 and "tables/_SUCCESS is missing" in r.stderr, (r.stdout, r.stderr)
    r = tarn_cli(g, "actions", "runs", "list", f"lakefs://{repo.id}", "--branch", "main", "--output", "json", config_dir=home)
    assert r.returncode == 0, r.stderr
    [run] = json.loads(r.stdout)
    assert run["status"] == "failed"
    r = tarn_cli(g, "actions", "runs", "describe", f"lakefs://{repo.id}", run["run_id"], config_dir=home)
    assert r.returncode == 0, r.stderr
    assert "hook 'files_and_rows': failed" in r.stdout and "tables/_SUCCESS is missing" in r.stdout

    r = tarn_cli(g, "branch-protect", "add", f"lakefs://{repo.id}", "main", config_dir=home)
    assert r.returncode == 0, r.stderr
    r = tarn_cli(g, "branch-protect", "add", f"lakefs://{repo.id}", "stable-*", config_dir=home)
    r = tarn_cli(g, "branch-protect", "list", f"lakefs://{repo.id}", "--output", "json", config_dir=home)
    assert json.loads(r.stdout) == [{"pattern": "main"}, {"pattern": "stable-*"}]
    assert api(g, "POST", f"/repositories/{repo.id}/branches/main/commits",
               json={"message": "x", "allow_empty": True}).status_code == 403
    r = tarn_cli(g, "branch-protect", "delete", f"lakefs://{repo.id}", "main", config_dir=home)
    assert r.returncode == 0, r.stderr
    assert api(g, "GET", f"/repositories/{repo.id}/settings/branch_protection").json() == [{"pattern": "stable-*"}]
    r = tarn_cli(g, "branch-protect", "delete", f"lakefs://{repo.id}", "main", config_dir=home)
    assert r.returncode == 5


class ActionYAMLLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: PyYAML's 1.1 rules read the key `on` as True."""


ActionYAMLLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
ActionYAMLLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))

SCHEMA_CASES = {
    "lakefs-example.yaml": (True, """
        name: Good files check
        description: a lakeFS action file, unchanged
        on:
          pre-merge:
            branches: [main]
          post-create-tag:
        hooks:
          - id: no_temp
            type: webhook
            if: success()
            properties:
              url: https://example.com/webhook?notify=true
              timeout: 1m30s
              query_params: {prefix: [a, b], single: c}
              headers: {Authorization: "Bearer {{ ENV.LAKEFSACTIONS_TOKEN }}"}
        """),
    "exec.yaml": (True, "name: gate\non:\n  pre-commit:\nhooks:\n  - id: check\n    type: exec\n    properties:\n      command: /usr/bin/check\n      args: [a]\n"),
    "no-hooks.yaml": (False, "name: gate\non:\n  pre-commit:\n"),
    "unknown-event.yaml": (False, "name: gate\non:\n  pre-push:\nhooks:\n  - {id: aa, type: webhook, properties: {url: 'http://x'}}\n"),
    "tag-branches.yaml": (False, "name: gate\non:\n  pre-create-tag:\n    branches: [main]\nhooks:\n  - {id: aa, type: webhook, properties: {url: 'http://x'}}\n"),
    "bad-id.yaml": (False, "name: gate\non:\n  pre-commit:\nhooks:\n  - {id: 9x, type: webhook, properties: {url: 'http://x'}}\n"),
    "lua.yaml": (False, "name: gate\non:\n  pre-commit:\nhooks:\n  - {id: aa, type: lua, properties: {script: 'x'}}\n"),
    "no-url.yaml": (False, "name: gate\non:\n  pre-commit:\nhooks:\n  - {id: aa, type: webhook, properties: {timeout: 1s}}\n"),
    "relative.yaml": (False, "name: gate\non:\n  pre-commit:\nhooks:\n  - {id: aa, type: exec, properties: {command: check.sh}}\n"),
    "bad-timeout.yaml": (False, "name: gate\non:\n  pre-commit:\nhooks:\n  - {id: aa, type: exec, properties: {command: /x, timeout: soon}}\n"),
}


@pytest.mark.parametrize("name", sorted(SCHEMA_CASES))
def test_the_json_schema_and_tarn_actions_validate_agree(name, tmp_path):
    valid, text = SCHEMA_CASES[name]
    schema = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "Schemas", "actions.schema.json")))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.load(textwrap.dedent(text), Loader=ActionYAMLLoader)))
    assert (errors == []) == valid, [e.message for e in errors]
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    r = subprocess.run([os.environ["TARN_BIN"], "actions", "validate", str(path)], capture_output=True, text=True)
    assert (r.returncode == 0) == valid, r.stderr
    if not valid:
        assert r.stderr.startswith(f"{path}:") and r.stderr.split(":")[1].isdigit()
