"""Schemas/openapi.yaml against the server: every operation, driven through a realistic
workflow, answers with a documented status and a body that validates; then schemathesis
fuzzes every operation (bounded) and must find no server error."""
import os
import re
import subprocess
import sys
import uuid

import jsonschema_rs
import pytest
import requests
import yaml

from conftest import ADMIN_KEY_ID, ADMIN_SECRET, TarnProcess

SPEC_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "Schemas", "openapi.yaml")
SPEC = yaml.safe_load(open(SPEC_PATH))
METHODS = ("get", "post", "put", "delete", "head")


def operations():
    for template, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
                yield template, method, re.compile(pattern), item[method]


OPERATIONS = list(operations())


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].split("/")
        node = SPEC
        for part in name[1:]:
            node = node[part]
    return node


class CheckedSession(requests.Session):
    """A session that checks every response against the spec and records the operation."""

    def __init__(self, base):
        super().__init__()
        self.base = base
        self.seen = set()

    def request(self, method, path, **kwargs):
        response = super().request(method, self.base + "/api/v1" + path, **kwargs)
        route = path.split("?")[0]
        matches = [(t, m, op) for t, m, rx, op in OPERATIONS if m == method.lower() and rx.match(route)]
        # The most specific template: the one with the fewest parameters.
        assert matches, f"{method} {route} is not in the spec"
        template, m, op = min(matches, key=lambda x: x[0].count("{"))
        self.seen.add((template, m))
        documented = op["responses"]
        status = str(response.status_code)
        assert status in documented, f"{method} {template}: {status} not documented ({response.text[:200]})"
        content = resolve(documented[status]).get("content", {})
        if "application/json" in content:
            assert response.headers["Content-Type"].startswith("application/json")
            schema = dict(content["application/json"]["schema"], components=SPEC["components"])
            errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(response.json())]
            assert not errors, f"{method} {template} {status}: {errors} in {response.text[:300]}"
        return response


@pytest.fixture
def api(tarn_url):
    s = CheckedSession(tarn_url)
    s.auth = (ADMIN_KEY_ID, ADMIN_SECRET)
    return s


def test_every_operation_answers_as_documented(api):
    repo = "oas-" + uuid.uuid4().hex[:8]
    r = f"/repositories/{repo}"
    api.get("/healthcheck")
    api.get("/setup_lakefs")
    api.post("/setup_lakefs", json={})
    api.get("/auth/capabilities")
    token = api.post("/auth/login", json={"access_key_id": ADMIN_KEY_ID, "secret_access_key": ADMIN_SECRET}).json()["token"]
    api.post("/auth/login", json={"access_key_id": ADMIN_KEY_ID, "secret_access_key": "wrong"})
    api.get("/config"), api.get("/config/version"), api.get("/config/storage")
    assert api.get("/user", auth=None, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    user = "u-" + uuid.uuid4().hex[:6]
    api.post("/auth/users", json={"id": user})
    api.get("/auth/users"), api.get(f"/auth/users/{user}")
    key = api.post(f"/auth/users/{user}/credentials").json()["access_key_id"]
    api.get(f"/auth/users/{user}/credentials"), api.get(f"/auth/users/{user}/credentials/{key}")
    api.delete(f"/auth/users/{user}/credentials/{key}")
    api.delete(f"/auth/users/{user}")
    assert api.delete("/auth/users/admin").status_code == 403

    api.post("/repositories", json={"name": repo, "storage_namespace": f"local://{repo}"})
    api.get("/repositories"), api.get(r), api.get(f"{r}/metadata")
    api.post(f"{r}/branches/main/objects?path=a/1.txt", data=b"one", headers={"Content-Type": "text/plain"})
    api.post(f"{r}/branches/main/objects?path=a/2.txt", files={"content": ("2.txt", b"two", "text/plain")})
    api.get(f"{r}/branches/main/diff")
    first = api.post(f"{r}/branches/main/commits", json={"message": "two files", "metadata": {"k": "v"}}).json()["id"]
    assert api.post(f"{r}/branches", json={"name": "dev", "source": "main"}).status_code == 201
    api.get(f"{r}/branches"), api.get(f"{r}/branches/dev")
    api.post(f"{r}/branches/dev/objects/copy?dest_path=a/3.txt", json={"src_path": "a/1.txt"})
    api.delete(f"{r}/branches/dev/objects?path=a/2.txt")
    api.post(f"{r}/branches/dev/objects/delete", json={"paths": ["a/nothing"]})
    api.post(f"{r}/branches/dev/commits", json={"message": "copy and delete"})
    api.get(f"{r}/refs/main/objects?path=a/1.txt", headers={"Range": "bytes=0-1"})
    api.get(f"{r}/refs/main/objects?path=a/1.txt", headers={"Range": "bytes=10-20"})
    api.head(f"{r}/refs/main/objects?path=a/1.txt")
    api.get(f"{r}/refs/main/objects/stat?path=a/1.txt"), api.get(f"{r}/refs/main/objects/stat?path=nope")
    api.get(f"{r}/refs/main/objects/ls?delimiter=/"), api.get(f"{r}/refs/main/objects/ls?prefix=a/")
    api.get(f"{r}/refs/dev/commits"), api.get(f"{r}/refs/main/commits?objects=a/1.txt"), api.get(f"{r}/commits/main~1")
    api.get(f"{r}/refs/main/diff/dev"), api.get(f"{r}/refs/main/diff/dev?type=two_dot&delimiter=/")
    api.get(f"{r}/refs/dev/merge/main")
    api.post(f"{r}/refs/dev/merge/main", json={"message": "merge dev"})
    api.post(f"{r}/branches/dev/objects?path=x", data=b"x")
    api.post(f"{r}/branches/main/objects?path=x", data=b"y")
    api.post(f"{r}/branches/dev/commits", json={"message": "x on dev"})
    api.post(f"{r}/branches/main/commits", json={"message": "x on main"})
    assert api.post(f"{r}/refs/dev/merge/main", json={}).status_code == 409
    api.post(f"{r}/tags", json={"id": "v1", "ref": first})
    api.get(f"{r}/tags"), api.get(f"{r}/tags/v1")
    api.post(f"{r}/branches/main/revert", json={"ref": "main"})
    api.post(f"{r}/branches/main/cherry-pick", json={"ref": "dev"})
    # This server has no S3 backend: an import is refused before it starts (test_import.py
    # runs real ones against SeaweedFS).
    imp = {"paths": [{"type": "common_prefix", "path": "s3://bucket/prefix/", "destination": "d/"}], "commit": {"message": "m"}}
    assert api.post(f"{r}/branches/main/import", json=imp).status_code == 400
    assert api.get(f"{r}/branches/main/import?id=none").status_code == 404
    assert api.delete(f"{r}/branches/main/import?id=none").status_code == 404
    # An action whose post-commit webhook cannot be reached: the commit lands, the run is recorded.
    action = b"name: notify\non:\n  post-commit:\nhooks:\n  - id: ping\n    type: webhook\n    properties:\n      url: http://127.0.0.1:9/\n"
    api.post(f"{r}/branches/main/objects?path=_lakefs_actions/notify.yaml", data=action)
    api.post(f"{r}/branches/main/commits", json={"message": "add an action"})
    [run] = api.get(f"{r}/actions/runs?branch=main").json()["results"]
    assert run["status"] == "failed"
    api.get(f"{r}/actions/runs/{run['run_id']}"), api.get(f"{r}/actions/runs/none")
    [hook] = api.get(f"{r}/actions/runs/{run['run_id']}/hooks").json()["results"]
    assert "Error" in api.get(f"{r}/actions/runs/{run['run_id']}/hooks/{hook['hook_run_id']}/output").text
    api.get(f"{r}/actions/runs/{run['run_id']}/hooks/none/output")
    run = api.post("/lineage/runs", json={"name": "oas", "inputs": [f"lakefs://{repo}/main/a/"], "params": {"p": "1"}}).json()
    assert api.post("/lineage/runs", json={"name": "oas", "inputs": [f"lakefs://{repo}/nope/"]}).status_code == 404
    api.get("/lineage/runs?name=oas"), api.get(f"/lineage/runs/{run['id']}"), api.get("/lineage/runs/none")
    api.post(f"/lineage/runs/{run['id']}/finish", json={"status": "completed", "outputs": [f"lakefs://{repo}/main/", "s3://x/y"]})
    assert api.post(f"/lineage/runs/{run['id']}/finish", json={"status": "failed"}).status_code == 409
    api.get(f"/lineage/pins?repository={repo}"), api.get("/lineage/openlineage")
    api.get(f"/lineage/provenance?uri=lakefs://{repo}/main/a/1.txt"), api.get(f"/lineage/impact?uri=lakefs://{repo}/main/a/1.txt")
    api.delete(f"/lineage/runs/{run['id']}")
    api.post(f"{r}/branches/main/objects?path=staged", data=b"s")
    api.put(f"{r}/branches/main", json={"type": "reset"})
    etag = api.get(f"{r}/settings/branch_protection").headers["ETag"]
    assert api.put(f"{r}/settings/branch_protection", json=[{"pattern": "ma*"}], headers={"If-Match": etag}).status_code == 204
    assert api.put(f"{r}/settings/branch_protection", json=[], headers={"If-Match": etag}).status_code == 412
    assert api.post(f"{r}/branches/main/objects?path=p", data=b"p").status_code == 403
    api.put(f"{r}/settings/branch_protection", json=[])
    api.put(f"{r}/branches/main/hard_reset?ref=v1")
    api.delete(f"{r}/tags/v1")
    api.delete(f"{r}/branches/dev")
    api.delete(r)

    documented = {(t, m) for t, m, _, _ in OPERATIONS}
    assert documented - api.seen == set(), "operations the workflow did not reach"


def test_schemathesis_finds_no_server_error(data_dir):
    server = TarnProcess(data_dir)
    try:
        result = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "schemathesis"), "run", SPEC_PATH,
             "--url", server.url + "/api/v1", "--auth", f"{ADMIN_KEY_ID}:{ADMIN_SECRET}",
             "--checks", "not_a_server_error,response_schema_conformance",
             "--max-examples", "20", "--seed", "1", "--request-timeout", "10"],
            capture_output=True, text=True, timeout=600,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert re.search(r"\d+ generated, \d+ passed", result.stdout), result.stdout[-2000:]
    finally:
        assert server.stop() == 0
