"""Lineage end to end: data committed on main, a training run pinned to it, the branch moving
on, the job reading the pinned URIs through boto3 and getting the old bytes, a model written
to a `models` repository and the run finished, then provenance of the model back to the exact
data commit, impact of a bad object reaching that run and its model, and the pins a garbage
collector must keep. OpenLineage events are exported and pushed to a receiver the test runs."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import jsonschema
import lakefs
import pytest
import requests
from botocore.config import Config
from lakefs.client import Client

from conftest import ADMIN_KEY_ID, ADMIN_SECRET, TarnProcess, cli_home


class Collector:
    """An OpenLineage collector (Marquez's POST /api/v1/lineage) on a free loopback port."""

    def __init__(self):
        self.events = []
        self.arrived = threading.Condition()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with collector.arrived:
                    collector.events.append(body)
                    collector.arrived.notify_all()
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/api/v1/lineage"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout=20):
        with self.arrived:
            assert self.arrived.wait_for(lambda: predicate(self.events), timeout=timeout), self.events
            return list(self.events)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def lake():
    directory = tempfile.mkdtemp(prefix="tarn-lineage-")
    collector = Collector()
    server = TarnProcess(directory, extra_args=["--openlineage-url", collector.url])
    s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=ADMIN_KEY_ID,
                      aws_secret_access_key=ADMIN_SECRET, config=Config(s3={"addressing_style": "path"}))
    client = Client(host=server.url, username=ADMIN_KEY_ID, password=ADMIN_SECRET)
    g = type("Lake", (), {})()
    g.url, g.s3, g.client, g.collector = server.url, s3, client, collector
    yield g
    server.stop()
    collector.stop()
    subprocess.run(["rm", "-rf", directory])


def api(g, method, path, **kw):
    return requests.request(method, g.url + "/api/v1" + path, auth=(ADMIN_KEY_ID, ADMIN_SECRET), **kw)


def make_repo(g, prefix):
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return lakefs.Repository(name, client=g.client).create(storage_namespace=f"local://{name}")


def read_csv_rows(s3, uri):
    """What a training script does with a pinned s3:// prefix: list it and read every CSV."""
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    rows = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            rows[o["Key"][len(prefix):]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode()
    return rows


SCHEMA = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "Schemas", "lineage.schema.json")))


def valid_run(run):
    """Every run the API answers is what Schemas/lineage.schema.json describes."""
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(run)
    return run


def start(g, name, inputs, **extra):
    body = {"name": name, "inputs": inputs, **extra}
    jsonschema.validate(body, {**SCHEMA["$defs"]["start"], "$defs": SCHEMA["$defs"]})
    r = api(g, "POST", "/lineage/runs", json=body)
    assert r.status_code == 201, r.text
    return valid_run(r.json())


def test_a_training_run_is_pinned_traced_and_its_impact_found(lake):
    g = lake
    images, models = make_repo(g, "images"), make_repo(g, "models")
    main = images.branch("main")
    g.s3.put_object(Bucket=images.id, Key="main/train/a.csv", Body=b"x,y\n1,cat\n")
    g.s3.put_object(Bucket=images.id, Key="main/train/b.csv", Body=b"x,y\n2,dog\n")
    data_commit = main.commit(message="training data").get_commit().id

    run = start(g, "train-resnet", [f"lakefs://{images.id}/main/train/"], params={"lr": "3e-4"},
                external_ids={"mlflow": "run-42"})
    assert run["status"] == "running" and run["params"] == {"lr": "3e-4"} and run["external_ids"] == {"mlflow": "run-42"}
    [pinned] = run["inputs"]
    assert pinned == {"uri": f"lakefs://{images.id}/main/train/", "repository": images.id, "ref": "main",
                      "commit_id": data_commit, "path": "train/",
                      "lakefs_uri": f"lakefs://{images.id}/{data_commit}/train/", "s3_uri": f"s3://{images.id}/{data_commit}/train/"}

    # main moves on: a.csv is rewritten (the "bad" version) after the run started.
    g.s3.put_object(Bucket=images.id, Key="main/train/a.csv", Body=b"x,y\n1,BAD\n")
    bad_commit = main.commit(message="relabel").get_commit().id
    # The job reads its pinned URIs and gets the bytes of the commit it was pinned to.
    assert read_csv_rows(g.s3, pinned["s3_uri"]) == {"a.csv": "x,y\n1,cat\n", "b.csv": "x,y\n2,dog\n"}

    # It writes a model and commits it with its run ID; then finishes.
    g.s3.put_object(Bucket=models.id, Key="main/resnet/model.bin", Body=b"weights")
    r = api(g, "POST", f"/repositories/{models.id}/branches/main/commits", json={"message": "resnet"},
            headers={"X-Tarn-Run-Id": run["id"]})
    assert r.status_code == 201, r.text
    model_commit = r.json()["id"]
    assert r.json()["metadata"]["tarn.run_id"] == run["id"]
    r = api(g, "POST", f"/lineage/runs/{run['id']}/finish",
            json={"status": "completed", "metrics": {"acc": 0.91}, "outputs": ["mlflow://models/resnet/1"]})
    assert r.status_code == 200, r.text
    done = valid_run(r.json())
    assert done["status"] == "completed" and done["metrics"] == {"acc": 0.91} and done["ended_at"] >= done["started_at"]
    assert [(o.get("commit_id"), o["uri"]) for o in done["outputs"]] == [
        (model_commit, f"lakefs://{models.id}/{model_commit}/"), (None, "mlflow://models/resnet/1")]
    assert api(g, "POST", f"/lineage/runs/{run['id']}/finish", json={"status": "failed"}).status_code == 409

    # An evaluation run reads the model.
    evaluation = start(g, "eval-resnet", [f"lakefs://{models.id}/main/resnet/"])

    # Provenance of the model object, from a branch name, goes back to the exact data commit.
    r = api(g, "GET", "/lineage/provenance", params={"uri": f"lakefs://{models.id}/main/resnet/model.bin"})
    assert r.status_code == 200, r.text
    prov = r.json()
    assert prov["dataset"]["commit_id"] == model_commit
    [producer] = prov["produced_by"]
    assert producer["run"]["id"] == run["id"]
    [source] = producer["inputs"]
    assert source["dataset"] == {"uri": f"lakefs://{images.id}/{data_commit}/train/", "repository": images.id,
                                 "commit_id": data_commit, "path": "train/"}

    # Impact of a.csv as the run saw it: the run, and downstream the evaluation of its model.
    r = api(g, "GET", "/lineage/impact", params={"uri": f"lakefs://{images.id}/{data_commit}/train/a.csv"})
    assert r.status_code == 200, r.text
    impact = r.json()
    assert impact["count"] == 2
    [hit] = impact["runs"]
    assert hit["run"]["id"] == run["id"] and hit["via"]["commit_id"] == data_commit
    assert [d["run"]["id"] for d in hit["downstream"]] == [evaluation["id"]]
    # The rewritten a.csv reached no run: same name, other bytes (found through the trees).
    r = api(g, "GET", "/lineage/impact", params={"uri": f"lakefs://{images.id}/{bad_commit}/train/a.csv"})
    assert r.json()["count"] == 0 and r.json()["runs"] == []
    # b.csv did not change: its version at the newer commit is the one the run read.
    r = api(g, "GET", "/lineage/impact", params={"uri": f"lakefs://{images.id}/main/train/b.csv", "depth": "1"})
    assert [x["run"]["id"] for x in r.json()["runs"]] == [run["id"]] and r.json()["runs"][0]["downstream"] == []

    # The pinned commits are what GC must keep; deleting the runs releases them.
    r = api(g, "GET", "/lineage/pins", params={"repository": images.id})
    assert r.json()["results"] == [{"repository": images.id, "commit_id": data_commit, "runs": [run["id"]]}]
    assert api(g, "DELETE", f"/lineage/runs/{run['id']}").status_code == 204
    assert api(g, "GET", f"/lineage/runs/{run['id']}").status_code == 404
    assert api(g, "GET", "/lineage/pins", params={"repository": images.id}).json()["results"] == []


def test_a_ref_that_does_not_exist_creates_no_run(lake):
    g = lake
    repo = make_repo(g, "data")
    before = api(g, "GET", "/lineage/runs", params={"name": "bad-input"}).json()["results"]
    r = api(g, "POST", "/lineage/runs", json={"name": "bad-input", "inputs": [f"lakefs://{repo.id}/main/", f"lakefs://{repo.id}/nope/x"]})
    assert r.status_code == 404, r.text
    assert api(g, "POST", "/lineage/runs", json={"name": "bad-input", "inputs": ["s3://bucket/x"]}).status_code == 400
    assert api(g, "POST", "/lineage/runs", json={"name": "bad-input", "inputs": ["lakefs://missing-repo/main/"]}).status_code == 404
    assert api(g, "GET", "/lineage/runs", params={"name": "bad-input"}).json()["results"] == before == []
    assert api(g, "POST", "/lineage/runs/none/finish", json={"status": "completed"}).status_code == 404
    assert api(g, "POST", f"/repositories/{repo.id}/branches/main/commits", json={"message": "m", "allow_empty": True},
               headers={"X-Tarn-Run-Id": "no-such-run"}).status_code == 404


def test_runs_filter_paginate_and_export_openlineage(lake):
    g = lake
    repo = make_repo(g, "etl")
    g.s3.put_object(Bucket=repo.id, Key="main/raw/x.csv", Body=b"1\n")
    commit = repo.branch("main").commit(message="raw").get_commit().id
    name = "etl-" + uuid.uuid4().hex[:6]
    ids = [start(g, name, [f"lakefs://{repo.id}/{commit[:12]}/raw/"])["id"] for _ in range(5)]
    api(g, "POST", f"/lineage/runs/{ids[0]}/finish", json={"status": "failed"})
    api(g, "POST", f"/lineage/runs/{ids[1]}/finish", json={"status": "completed", "outputs": [f"lakefs://{repo.id}/main/"]})

    listed = api(g, "GET", "/lineage/runs", params={"name": name, "amount": 2}).json()
    assert [r["id"] for r in listed["results"]] == ids[::-1][:2] and listed["pagination"]["has_more"]
    page2 = api(g, "GET", "/lineage/runs", params={"name": name, "amount": 10, "after": listed["pagination"]["next_offset"]}).json()
    assert [r["id"] for r in page2["results"]] == ids[::-1][2:]
    assert [r["id"] for r in api(g, "GET", "/lineage/runs", params={"name": name, "status": "failed"}).json()["results"]] == [ids[0]]
    assert len(api(g, "GET", "/lineage/runs", params={"repository": repo.id, "commit": commit}).json()["results"]) == 5
    assert api(g, "GET", "/lineage/runs", params={"status": "paused"}).status_code == 400

    r = api(g, "GET", "/lineage/openlineage")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in r.text.splitlines()]
    mine = [e for e in events if e["job"]["name"] == name]
    assert sorted(e["eventType"] for e in mine) == ["COMPLETE", "FAIL"] + ["START"] * 5
    start_event = next(e for e in mine if e["eventType"] == "START" and e["run"]["runId"] == ids[1])
    [dataset] = start_event["inputs"]
    assert dataset["namespace"] == f"lakefs://{repo.id}" and dataset["name"] == "raw/"
    assert dataset["facets"]["version"]["datasetVersion"] == commit
    complete = next(e for e in mine if e["eventType"] == "COMPLETE")
    assert complete["outputs"][0]["facets"]["version"]["datasetVersion"] == commit
    uuid.UUID(complete["run"]["runId"])  # OpenLineage run IDs are UUIDs
    later = api(g, "GET", "/lineage/openlineage", params={"since": "2999-01-01T00:00:00Z"})
    assert later.text == ""

    # The same events reached the collector, pushed in the background.
    pushed = g.collector.wait_for(lambda evs: sum(1 for e in evs if e["job"]["name"] == name) == 7)
    assert sorted(e["eventType"] for e in pushed if e["job"]["name"] == name) == ["COMPLETE", "FAIL"] + ["START"] * 5


def tarn_cli(g, home, *args):
    return subprocess.run([os.environ["TARN_BIN"], *args], capture_output=True, text=True, env=dict(os.environ, HOME=home), timeout=60)


def test_cli_start_env_finish_and_lineage_trees(lake, tmp_path):
    g = lake
    home = str(tmp_path)
    cli_home(home, g.url)
    data, models = make_repo(g, "cli-data"), make_repo(g, "cli-models")
    g.s3.put_object(Bucket=data.id, Key="main/train/a.csv", Body=b"1\n")
    commit = data.branch("main").commit(message="d").get_commit().id

    r = tarn_cli(g, home, "run", "start", "--name", "train-cli", "--input", f"lakefs://{data.id}/main/train/", "--param", "lr=0.1", "--env")
    assert r.returncode == 0, r.stderr
    exports = dict(line[len("export "):].split("=", 1) for line in r.stdout.splitlines())
    assert exports["TARN_INPUT_0"] == f"'s3://{data.id}/{commit}/train/'"
    run_id = exports["TARN_RUN_ID"]
    # A script sources those lines and reads the pinned URI.
    script = f"eval \"$({os.environ['TARN_BIN']} run start --name train-cli --input lakefs://{data.id}/main/train/ --env)\"; echo $TARN_INPUT_0"
    assert subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=dict(os.environ, HOME=home)).stdout.strip() == \
        f"s3://{data.id}/{commit}/train/"

    g.s3.put_object(Bucket=models.id, Key="main/m/model.bin", Body=b"w")
    r = tarn_cli(g, home, "commit", f"lakefs://{models.id}/main", "-m", "model", "--run", run_id)
    assert r.returncode == 0, r.stderr
    r = tarn_cli(g, home, "run", "finish", run_id, "--status", "completed", "--produced", "file:///tmp/report.html", "--metric", "acc=0.5")
    assert r.returncode == 0 and "Metric: acc = 0.5" in r.stdout and "Output: file:///tmp/report.html" in r.stdout, r.stdout + r.stderr
    r = tarn_cli(g, home, "run", "show", run_id, "--output", "json")
    assert json.loads(r.stdout)["status"] == "completed"
    r = tarn_cli(g, home, "run", "list", "--name", "train-cli", "--output", "json")
    assert run_id in [x["id"] for x in json.loads(r.stdout)]

    r = tarn_cli(g, home, "lineage", "provenance", f"lakefs://{models.id}/main/m/model.bin")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"lakefs://{models.id}/") and f"← run train-cli {run_id}" in lines[1]
    assert lines[2].strip() == f"lakefs://{data.id}/{commit}/train/"
    r = tarn_cli(g, home, "lineage", "impact", f"lakefs://{data.id}/{commit}/train/a.csv", "--format", "dot")
    assert r.returncode == 0 and r.stdout.startswith("digraph lineage {"), r.stderr
    assert f'"lakefs://{data.id}/{commit}/train/" -> "run:{run_id}";' in r.stdout
    r = tarn_cli(g, home, "lineage", "pins", f"lakefs://{data.id}", "--output", "json")
    assert commit in [p["commit_id"] for p in json.loads(r.stdout)]
    r = tarn_cli(g, home, "run", "finish", run_id)
    assert r.returncode == 3  # already finished: 409


def test_the_training_script_of_docs_lineage_md_reads_the_pinned_commit(lake, tmp_path):
    """docs/lineage.md's train.py, run as the page says: eval `tarn run start --env`, then the
    script; main is relabelled in between and the model still comes from the pinned commit."""
    g = lake
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "lineage.md")).read()
    script = doc.split("```python\n# train.py\n", 1)[1].split("```", 1)[0]
    (tmp_path / "train.py").write_text(script)
    home = str(tmp_path)
    cli_home(home, g.url)
    images = make_repo(g, "images")
    models = lakefs.Repository("models", client=g.client)
    if "models" not in [r.id for r in lakefs.repositories(client=g.client)]:
        models.create(storage_namespace="local://models-docs")
    g.s3.put_object(Bucket=images.id, Key="main/train/a.csv", Body=b"id,label\n1,cat\n2,cat\n3,dog\n")
    data_commit = images.branch("main").commit(message="week 48").get_commit().id
    env = dict(os.environ, HOME=home, TARN=g.url, AWS_ACCESS_KEY_ID=ADMIN_KEY_ID, AWS_SECRET_ACCESS_KEY=ADMIN_SECRET,
               AWS_DEFAULT_REGION="us-east-1")
    start_and_relabel = (f'eval "$({os.environ["TARN_BIN"]} run start --name train-resnet --input lakefs://{images.id}/main/train/ --env)"; '
                         f'{sys.executable} -c "import boto3,os; boto3.client(\'s3\', endpoint_url=os.environ[\'TARN\']).put_object('
                         f'Bucket=\'{images.id}\', Key=\'main/train/a.csv\', Body=b\'id,label\\n1,dog\\n2,dog\\n3,dog\\n\')"; '
                         f'{sys.executable} {tmp_path / "train.py"} && echo run=$TARN_RUN_ID')
    r = subprocess.run(["sh", "-c", start_and_relabel], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "accuracy=0.67" in r.stdout
    # The staged relabel did not reach the pinned read: the model is the majority of the old labels.
    assert g.s3.get_object(Bucket="models", Key="main/resnet/model.bin")["Body"].read() == b"cat"
    run_id = r.stdout.split("run=")[1].strip()
    assert api(g, "GET", f"/lineage/runs/{run_id}").json()["inputs"][0]["commit_id"] == data_commit
