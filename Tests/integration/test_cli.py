"""The `tarn` CLI (the binary `swift test` built) against a real server: folders up and down,
history commands, JSON output, exit codes, error lines, and lakectl's configuration files."""
import filecmp
import json
import os
import subprocess
import uuid

import pytest

from conftest import ADMIN_KEY_ID, ADMIN_SECRET


def cli_env(url, home, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARN_", "LAKECTL_"))}
    env.update(HOME=str(home), TARN_SERVER_ENDPOINT_URL=url, TARN_CREDENTIALS_ACCESS_KEY_ID=ADMIN_KEY_ID,
               TARN_CREDENTIALS_SECRET_ACCESS_KEY=ADMIN_SECRET)
    env.update(extra)
    return env


def run(env, *args, check=True, stdin=None):
    p = subprocess.run([os.environ["TARN_BIN"], *args], env=env, capture_output=True, text=True, timeout=300, input=stdin)
    if check:
        assert p.returncode == 0, f"tarn {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def js(env, *args):
    return json.loads(run(env, *args, "--output", "json").stdout)


@pytest.fixture(params=["tarn-env", "lakectl-file"])
def env(request, tarn_url, tmp_path):
    """Every CLI test runs twice: configured by TARN_* variables, and by ~/.lakectl.yaml alone
    (what a machine set up for lakectl has)."""
    home = tmp_path / "home"
    home.mkdir()
    if request.param == "tarn-env":
        return cli_env(tarn_url, home)
    (home / ".lakectl.yaml").write_text(
        f"credentials:\n  access_key_id: {ADMIN_KEY_ID}\n  secret_access_key: {ADMIN_SECRET}\nserver:\n  endpoint_url: {tarn_url}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARN_", "LAKECTL_"))}
    env["HOME"] = str(home)
    return env


def make_tree(root):
    """Nested folders, an empty file, unicode names and a 50 MB file."""
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "deep.txt").write_text("deep\n")
    (root / "empty.bin").write_bytes(b"")
    (root / "naïve façade ☃.txt").write_text("unicode\n")
    (root / "a" / "x.csv").write_text("id,v\n1,2\n")
    big = os.urandom(1 << 20) * 50
    (root / "big.bin").write_bytes(big)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


CHECKOUT_FILES = {".tarn_ref.yaml", ".tarn_index"}


def same_tree(a, b):
    """The same data files with the same bytes (a checkout's own index files aside)."""
    left = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file() and p.name not in CHECKOUT_FILES)
    right = sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file() and p.name not in CHECKOUT_FILES)
    assert left == right
    for rel in left:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def test_folder_round_trip_history_and_json(env, tmp_path):
    repo = f"cli-{uuid.uuid4().hex[:8]}"
    data = tmp_path / "data"
    files = make_tree(data)
    made = js(env, "repo", "create", f"lakefs://{repo}", f"local://{repo}")
    assert made["id"] == repo and made["default_branch"] == "main"
    assert repo in [r["id"] for r in js(env, "repo", "list")]

    up = js(env, "fs", "upload", f"lakefs://{repo}/main/data/", "--source", str(data), "-r", "--parallelism", "4")
    assert up["uploaded"] == len(files) and up["skipped"] == 0
    again = js(env, "fs", "upload", f"lakefs://{repo}/main/data/", "--source", str(data), "-r")
    assert again["uploaded"] == 0 and again["skipped"] == len(files)

    listed = js(env, "fs", "ls", "-r", f"lakefs://{repo}/main/data/")
    assert sorted(o["path"] for o in listed) == sorted("data/" + f for f in files)
    top = js(env, "fs", "ls", f"lakefs://{repo}/main/data/")
    assert {o["path"] for o in top if o["path_type"] == "common_prefix"} == {"data/a/"}
    stat = js(env, "fs", "stat", f"lakefs://{repo}/main/data/big.bin")
    assert stat["size_bytes"] == 50 << 20
    assert run(env, "fs", "cat", f"lakefs://{repo}/main/data/a/b/deep.txt").stdout == "deep\n"

    uncommitted = js(env, "diff", f"lakefs://{repo}/main")
    assert len(uncommitted) == len(files) and {c["type"] for c in uncommitted} == {"added"}
    commit = js(env, "commit", f"lakefs://{repo}/main", "-m", "data", "--meta", "source=cli")
    assert commit["message"] == "data" and commit["metadata"] == {"source": "cli"}
    assert js(env, "diff", f"lakefs://{repo}/main") == []
    assert js(env, "show", "commit", f"lakefs://{repo}/{commit['id']}")["id"] == commit["id"]

    js(env, "branch", "create", f"lakefs://{repo}/dev", "-s", f"lakefs://{repo}/main")
    assert {b["id"] for b in js(env, "branch", "list", f"lakefs://{repo}")} == {"main", "dev"}
    (tmp_path / "new.txt").write_text("new\n")
    js(env, "fs", "upload", f"lakefs://{repo}/dev/data/new.txt", "--source", str(tmp_path / "new.txt"))
    js(env, "fs", "rm", f"lakefs://{repo}/dev/data/a/x.csv")
    js(env, "commit", f"lakefs://{repo}/dev", "-m", "change")
    changes = {c["path"]: c["type"] for c in js(env, "diff", f"lakefs://{repo}/main", f"lakefs://{repo}/dev")}
    assert changes == {"data/new.txt": "added", "data/a/x.csv": "removed"}
    merged = js(env, "merge", f"lakefs://{repo}/dev", f"lakefs://{repo}/main")
    assert merged["reference"]
    log = js(env, "log", f"lakefs://{repo}/main", "--amount", "3")
    assert log[0]["id"] == merged["reference"] and len(log) == 3

    tag = js(env, "tag", "create", f"lakefs://{repo}/v1", f"lakefs://{repo}/{commit['id']}")
    assert tag["commit_id"] == commit["id"]
    assert [t["id"] for t in js(env, "tag", "list", f"lakefs://{repo}")] == ["v1"]

    # Everything under the tag comes back byte for byte; a second download transfers nothing.
    out = tmp_path / "out"
    down = js(env, "fs", "download", f"lakefs://{repo}/v1/data/", str(out), "-r")
    assert down["downloaded"] == len(files)
    same_tree(data, out)
    assert js(env, "fs", "download", f"lakefs://{repo}/v1/data/", str(out), "-r")["skipped"] == len(files)

    # Text output is a table with a header row.
    table = run(env, "branch", "list", f"lakefs://{repo}").stdout.splitlines()
    assert table[0].split() == ["BRANCH", "COMMIT", "ID"] and len(table) == 3


def test_merge_conflict_exits_3_and_names_the_paths(env, tmp_path):
    repo = f"cli-{uuid.uuid4().hex[:8]}"
    js(env, "repo", "create", f"lakefs://{repo}", f"local://{repo}")
    f = tmp_path / "f.txt"
    f.write_text("base")
    js(env, "fs", "upload", f"lakefs://{repo}/main/conf.txt", "--source", str(f))
    js(env, "commit", f"lakefs://{repo}/main", "-m", "base")
    js(env, "branch", "create", f"lakefs://{repo}/dev", "-s", f"lakefs://{repo}/main")
    for branch, text in (("main", "ours"), ("dev", "theirs")):
        f.write_text(text)
        js(env, "fs", "upload", f"lakefs://{repo}/{branch}/conf.txt", "--source", str(f))
        js(env, "commit", f"lakefs://{repo}/{branch}", "-m", text)
    p = run(env, "merge", f"lakefs://{repo}/dev", f"lakefs://{repo}/main", "--output", "json", check=False)
    assert p.returncode == 3
    body = json.loads(p.stdout)
    assert body["code"] == 3 and body["details"]["conflicts"] == ["conf.txt"]
    text = run(env, "merge", f"lakefs://{repo}/dev", f"lakefs://{repo}/main", check=False)
    assert text.returncode == 3 and "conflict: conf.txt" in text.stderr


def test_errors_are_one_line_with_their_exit_codes(env, tarn_url, tmp_path):
    missing = run(env, "branch", "list", "lakefs://no-such-repo", check=False)
    assert missing.returncode == 5
    assert missing.stderr.startswith("tarn: ") and len(missing.stderr.strip().splitlines()) == 1
    as_json = json.loads(run(env, "branch", "list", "lakefs://no-such-repo", "--output", "json", check=False).stdout)
    assert as_json["code"] == 5 and as_json["status"] == 404

    wrong = run(dict(env, TARN_CREDENTIALS_SECRET_ACCESS_KEY="wrong"), "repo", "list", check=False)
    assert wrong.returncode == 1 and "authentication failed" in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1

    unreachable = run(dict(env, TARN_SERVER_ENDPOINT_URL="http://127.0.0.1:9"), "repo", "list", check=False)
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr and len(unreachable.stderr.strip().splitlines()) == 1

    usage = run(env, "repo", "create", check=False)
    assert usage.returncode == 2
    assert run(env, "branch", "list", "s3://x", check=False).returncode == 2

    doctor = js(env, "doctor")
    assert doctor["user"] == "admin" or doctor["user"]
    bad_doctor = run(dict(env, TARN_CREDENTIALS_SECRET_ACCESS_KEY="wrong"), "doctor", check=False)
    assert bad_doctor.returncode == 1 and "key ID or the secret is wrong" in bad_doctor.stderr


def test_lakectl_configuration_file_is_the_fallback(tarn_url, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TARN_", "LAKECTL_"))}
    env["HOME"] = str(home)
    (home / ".lakectl.yaml").write_text(
        f"credentials:\n  access_key_id: {ADMIN_KEY_ID}\n  secret_access_key: {ADMIN_SECRET}\nserver:\n  endpoint_url: {tarn_url}/api/v1\n")
    assert isinstance(js(env, "repo", "list"), list)
    assert js(env, "doctor")["configuration"].endswith(".lakectl.yaml")
    # ~/.tarn.yaml, written by `tarn config`, wins over ~/.lakectl.yaml.
    run(env, "config", "--endpoint", "http://127.0.0.1:9", "--access-key-id", "x", "--secret-access-key", "y")
    assert run(env, "repo", "list", check=False).returncode == 1
    # LAKECTL_* variables beat both files; TARN_* beat LAKECTL_*.
    lake_env = dict(env, LAKECTL_SERVER_ENDPOINT_URL=tarn_url, LAKECTL_CREDENTIALS_ACCESS_KEY_ID=ADMIN_KEY_ID,
                    LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY=ADMIN_SECRET)
    assert isinstance(js(lake_env, "repo", "list"), list)
    assert run(dict(lake_env, TARN_SERVER_ENDPOINT_URL="http://127.0.0.1:9"), "repo", "list", check=False).returncode == 1


def test_local_checkout_clone_edit_status_commit_and_clone_again(env, tmp_path):
    repo = f"cli-{uuid.uuid4().hex[:8]}"
    js(env, "repo", "create", f"lakefs://{repo}", f"local://{repo}")
    data = tmp_path / "data"
    make_tree(data)
    js(env, "fs", "upload", f"lakefs://{repo}/main/ds/", "--source", str(data), "-r")
    js(env, "commit", f"lakefs://{repo}/main", "-m", "dataset")

    work = tmp_path / "work"
    cloned = js(env, "local", "clone", f"lakefs://{repo}/main/ds", str(work))
    assert cloned["downloaded"] == 5
    for f in ("a/b/deep.txt", "big.bin", "naïve façade ☃.txt"):
        assert filecmp.cmp(data / f, work / f, shallow=False)
    status = js(env, "local", "status", str(work))
    assert status["local"] == [] and status["remote"] == []

    (work / "a" / "x.csv").write_text("id,v\n1,3\n")        # modified
    (work / "added.txt").write_text("added\n")             # added
    (work / "empty.bin").unlink()                           # removed
    os.utime(work / "a" / "b" / "deep.txt")                 # touched only: not a change
    status = js(env, "local", "status", str(work))
    assert {(c["path"], c["type"]) for c in status["local"]} == {
        ("a/x.csv", "modified"), ("added.txt", "added"), ("empty.bin", "removed")}

    # A remote change under the path is seen without downloading, and blocks the commit.
    (tmp_path / "remote.txt").write_text("remote\n")
    js(env, "fs", "upload", f"lakefs://{repo}/main/ds/remote.txt", "--source", str(tmp_path / "remote.txt"))
    refused = run(env, "local", "commit", str(work), "-m", "edit", check=False)
    assert refused.returncode == 4 and "uncommitted changes" in refused.stderr
    js(env, "commit", f"lakefs://{repo}/main", "-m", "remote")
    assert [c["path"] for c in js(env, "local", "status", str(work))["remote"]] == ["ds/remote.txt"]
    assert run(env, "local", "commit", str(work), "-m", "edit", check=False).returncode == 4
    assert run(env, "local", "pull", str(work), check=False).returncode == 4  # local changes would be lost
    committed = js(env, "local", "commit", str(work), "-m", "edit", "--force")
    assert committed["uploaded"] == 2 and committed["deleted"] == 1
    js(env, "local", "pull", str(work))
    assert (work / "remote.txt").read_text() == "remote\n"
    assert js(env, "local", "status", str(work))["local"] == []

    again = tmp_path / "again"
    js(env, "local", "clone", f"lakefs://{repo}/main/ds/", str(again))
    same_tree(work, again)

    # Checkout of an older commit brings back the original files.
    first = js(env, "log", f"lakefs://{repo}/main")[-2]["id"]
    js(env, "local", "checkout", str(again), "--ref", first)
    same_tree(data, again)


def test_cherry_pick_merge_base_annotate_and_users(env, tmp_path):
    repo = f"cli-{uuid.uuid4().hex[:8]}"
    js(env, "repo", "create", f"lakefs://{repo}", f"local://{repo}")
    f = tmp_path / "f.txt"
    f.write_text("one")
    js(env, "fs", "upload", f"lakefs://{repo}/main/a.txt", "--source", str(f))
    base = js(env, "commit", f"lakefs://{repo}/main", "-m", "a")
    js(env, "branch", "create", f"lakefs://{repo}/dev", "-s", f"lakefs://{repo}/main")
    js(env, "fs", "upload", f"lakefs://{repo}/dev/b.txt", "--source", str(f))
    picked = js(env, "commit", f"lakefs://{repo}/dev", "-m", "b")
    assert js(env, "find-merge-base", f"lakefs://{repo}/dev", f"lakefs://{repo}/main")["base_commit_id"] == base["id"]
    js(env, "cherry-pick", f"lakefs://{repo}/{picked['id']}", f"lakefs://{repo}/main")
    assert js(env, "fs", "stat", f"lakefs://{repo}/main/b.txt")["size_bytes"] == 3
    rows = {r["path"]: r["commit"]["message"] for r in js(env, "annotate", f"lakefs://{repo}/main/")}
    assert rows["a.txt"] == "a" and rows["b.txt"] != "a"

    user = f"u{uuid.uuid4().hex[:6]}"
    js(env, "auth", "users", "create", "--id", user)
    assert user in [u["id"] for u in js(env, "auth", "users", "list")]
    key = js(env, "auth", "users", "credentials", "create", "--id", user)
    assert key["secret_access_key"]
    assert [k["access_key_id"] for k in js(env, "auth", "users", "credentials", "list", "--id", user)] == [key["access_key_id"]]
    js(env, "auth", "users", "credentials", "delete", "--id", user, "--access-key-id", key["access_key_id"])
    js(env, "auth", "users", "delete", "--id", user)
    assert run(env, "auth", "users", "delete", "--id", user, check=False).returncode == 5
