"""The unmodified lakeFS Python clients (`lakefs`, `lakefs-sdk`) against a real Tarn server."""
import json

import lakefs
import lakefs_sdk
import pytest
from lakefs.client import Client
from lakefs.exceptions import ConflictException, NotAuthorizedException, NotFoundException

from conftest import ADMIN_KEY_ID, ADMIN_SECRET


def test_upload_commit_read_back(repo):
    main = repo.branch("main")
    main.object("data/a.txt").upload(data=b"hello tarn", content_type="text/plain", metadata={"owner": "ann"})
    commit = main.commit(message="add a", metadata={"k": "v"})
    assert commit.get_commit().message == "add a"
    assert commit.get_commit().metadata == {"k": "v"}
    obj = main.object("data/a.txt")
    assert obj.reader().read() == b"hello tarn"
    stat = obj.stat()
    assert stat.size_bytes == 10
    assert stat.content_type == "text/plain"
    assert stat.metadata == {"owner": "ann"}
    assert obj.exists()
    assert not main.object("data/missing").exists()


def test_ranged_read(repo):
    main = repo.branch("main")
    main.object("r.bin").upload(data=bytes(range(256)) * 4)
    with main.object("r.bin").reader(mode="rb") as f:
        f.seek(1000)
        assert f.read(100) == (bytes(range(256)) * 4)[1000:1024]


def test_listing_paginates_and_groups(repo):
    main = repo.branch("main")
    for i in range(25):
        main.object(f"dir/{i:03d}.txt").upload(data=str(i))
    main.object("top.txt").upload(data="t")
    paths = [o.path for o in main.objects(prefix="dir/", max_amount=None)]
    assert paths == [f"dir/{i:03d}.txt" for i in range(25)]
    rows = list(main.objects(delimiter="/"))
    assert [r.path for r in rows] == ["dir/", "top.txt"]
    assert type(rows[0]).__name__ == "CommonPrefix"


def test_branch_diff_merge_and_log(repo):
    main = repo.branch("main")
    main.object("shared").upload(data="base")
    main.commit(message="base")
    dev = repo.branch("dev").create(source_reference="main")
    dev.object("shared").upload(data="dev")
    dev.object("new").upload(data="n")
    assert sorted(c.path for c in dev.uncommitted()) == ["new", "shared"]
    dev.commit(message="dev work")
    diff = sorted((d.path, d.type) for d in main.diff(other_ref=dev))
    assert diff == [("new", "added"), ("shared", "changed")]
    dev.merge_into(main)
    assert main.object("shared").reader().read() == b"dev"
    messages = [c.message for c in main.log(max_amount=10)]
    assert "dev work" in messages and messages[-1] == "Repository created"


def test_merge_conflict_is_a_conflict(repo):
    main = repo.branch("main")
    main.object("f").upload(data="base")
    main.commit(message="base")
    dev = repo.branch("dev").create(source_reference="main")
    dev.object("f").upload(data="dev")
    dev.commit(message="dev")
    main.object("f").upload(data="main")
    main.commit(message="main")
    with pytest.raises(ConflictException) as conflict:
        dev.merge_into(main)
    # The body is a MergeResult as well as an error: both keys are there.
    body = json.loads(conflict.value.body) if isinstance(conflict.value.body, str) else conflict.value.body
    assert "reference" in body and body["message"].startswith("conflict found")
    merged = dev.merge_into(main, strategy="source-wins")
    assert repo.commit(merged).get_commit().committer == "admin"
    assert main.object("f").reader().read() == b"dev"


def test_tags_and_refs_by_expression(repo):
    main = repo.branch("main")
    main.object("v").upload(data="1")
    first = main.commit(message="one").get_commit().id
    main.object("v").upload(data="2")
    main.commit(message="two")
    lakefs.Tag(repo.id, "v1", client=repo._client).create(first)
    assert repo.ref("v1").object("v").reader().read() == b"1"
    assert repo.ref("main~1").object("v").reader().read() == b"1"
    assert repo.ref(first).object("v").reader().read() == b"1"


def test_missing_things_are_not_found(client, repo):
    with pytest.raises(NotFoundException):
        lakefs.Repository("no-such-repo", client=client).branch("main").head.get_commit()
    with pytest.raises(ConflictException):
        repo.branch("main").create(source_reference="main")


def test_generated_sdk_lists_repositories_and_branches(tarn_url, repo):
    config = lakefs_sdk.Configuration(host=tarn_url + "/api/v1", username=ADMIN_KEY_ID, password=ADMIN_SECRET)
    with lakefs_sdk.ApiClient(config) as api:
        repos = lakefs_sdk.RepositoriesApi(api).list_repositories(amount=1000)
        assert repo.id in [r.id for r in repos.results]
        created = lakefs_sdk.BranchesApi(api).create_branch(repo.id, lakefs_sdk.BranchCreation(name="sdk", source="main"))
        assert len(created) == 64
        branches = lakefs_sdk.BranchesApi(api).list_branches(repo.id)
        assert [b.id for b in branches.results] == ["main", "sdk"]
        assert branches.pagination.has_more is False
        config_info = lakefs_sdk.ConfigApi(api).get_config()
        assert config_info.storage_config.blockstore_type == "local"


@pytest.mark.parametrize("username,password", [(ADMIN_KEY_ID, "wrong-secret"), ("AKIANOSUCHKEY", ADMIN_SECRET)])
def test_wrong_credentials_are_401(tarn_url, username, password):
    bad = Client(host=tarn_url, username=username, password=password)
    with pytest.raises(NotAuthorizedException):
        list(lakefs.repositories(client=bad))


def test_missing_credentials_are_401(tarn_url):
    config = lakefs_sdk.Configuration(host=tarn_url + "/api/v1")
    with lakefs_sdk.ApiClient(config) as api:
        with pytest.raises(lakefs_sdk.exceptions.UnauthorizedException):
            lakefs_sdk.RepositoriesApi(api).list_repositories()
        lakefs_sdk.HealthCheckApi(api).health_check()  # the one open endpoint


def test_generated_sdk_uploads_as_multipart_form(tarn_url, repo, tmp_path):
    config = lakefs_sdk.Configuration(host=tarn_url + "/api/v1", username=ADMIN_KEY_ID, password=ADMIN_SECRET)
    payload = b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(2000))
    source = tmp_path / "table.csv"
    source.write_bytes(payload)
    with lakefs_sdk.ApiClient(config) as api:
        # The generated client sends a file path's bytes as the multipart part `content`.
        stats = lakefs_sdk.ObjectsApi(api).upload_object(repo.id, "main", "table.csv", content=str(source))
        assert stats.size_bytes == len(payload)
        assert bytes(lakefs_sdk.ObjectsApi(api).get_object(repo.id, "main", "table.csv")) == payload


def test_copy_shares_bytes_and_delete_objects(repo):
    main = repo.branch("main")
    main.object("src.txt").upload(data=b"copy me")
    copied = main.object("src.txt").copy(destination_branch_id="main", destination_path="dst.txt")
    assert copied.reader().read() == b"copy me"
    assert main.object("dst.txt").stat().physical_address == main.object("src.txt").stat().physical_address
    main.delete_objects(["src.txt", "dst.txt", "never-existed"])
    assert [o.path for o in main.objects()] == []


def test_pagination_over_2500_objects(tarn_url, repo):
    config = lakefs_sdk.Configuration(host=tarn_url + "/api/v1", username=ADMIN_KEY_ID, password=ADMIN_SECRET)
    main = repo.branch("main")
    for j in range(2500):
        main.object(f"many/{j:05d}").upload(data=b"x")
    with lakefs_sdk.ApiClient(config) as api:
        seen, after, pages = [], "", 0
        while True:
            page = lakefs_sdk.ObjectsApi(api).list_objects(repo.id, "main", prefix="many/", after=after, amount=1000)
            seen += [o.path for o in page.results]
            pages += 1
            if not page.pagination.has_more:
                break
            assert page.pagination.next_offset == page.results[-1].path
            after = page.pagination.next_offset
        assert pages == 3
        assert seen == [f"many/{j:05d}" for j in range(2500)]
        state = lakefs_sdk.InternalApi(api).get_setup_state()
        assert state.state == "initialized"


def test_branch_protection_through_the_sdk(tarn_url, repo):
    with lakefs_sdk.ApiClient(lakefs_sdk.Configuration(host=tarn_url + "/api/v1", username=ADMIN_KEY_ID,
                                                       password=ADMIN_SECRET)) as api:
        repos = lakefs_sdk.RepositoriesApi(api)
        read = repos.get_branch_protection_rules_with_http_info(repo.id)
        etag = read.headers["ETag"]
        assert read.data == []
        repos.set_branch_protection_rules(repo.id, [lakefs_sdk.BranchProtectionRule(pattern="main")], if_match=etag)
        assert [r.pattern for r in repos.get_branch_protection_rules(repo.id)] == ["main"]
        # A stale ETag is refused, the rules stay.
        with pytest.raises(lakefs_sdk.exceptions.ApiException) as stale:
            repos.set_branch_protection_rules(repo.id, [], if_match=etag)
        assert stale.value.status == 412
    # The protected branch refuses uploads; a branch merged into it still lands.
    with pytest.raises(lakefs.exceptions.ForbiddenException):
        repo.branch("main").object("direct.txt").upload(data=b"no")
    dev = repo.branch("dev").create(source_reference="main")
    dev.object("via-merge.txt").upload(data=b"yes")
    dev.commit(message="on dev")
    dev.merge_into(repo.branch("main"))
    assert repo.branch("main").object("via-merge.txt").reader().read() == b"yes"


def test_revert_cherry_pick_reset_and_log_by_object(repo):
    main = repo.branch("main")
    main.object("keep.txt").upload(data=b"keep")
    main.object("t/a").upload(data=b"a1")
    main.commit(message="first")
    main.object("t/a").upload(data=b"a2")
    second = main.commit(message="second").get_commit().id

    # Revert answers with the new head: the change of "second" is undone.
    reverted = main.revert(second)
    assert reverted.message.startswith("Revert") and reverted.parents == [second]
    assert main.object("t/a").reader().read() == b"a1"

    # Cherry-pick "second" back from its commit ID.
    picked = main.cherry_pick(second)
    assert picked.message == "second"
    assert main.object("t/a").reader().read() == b"a2"

    # Reset: one object, a prefix, then everything.
    main.object("keep.txt").upload(data=b"changed")
    main.object("t/new1").upload(data=b"n")
    main.object("u/new2").upload(data=b"n")
    main.reset_changes(path_type="object", path="keep.txt")
    assert main.object("keep.txt").reader().read() == b"keep"
    main.reset_changes(path_type="common_prefix", path="t/")
    assert not main.object("t/new1").exists()
    assert [c.path for c in main.uncommitted()] == ["u/new2"]
    main.reset_changes()
    assert list(main.uncommitted()) == []

    # The log filtered by object lists only commits that changed it.
    touching_a = [c.message for c in main.log(objects=["t/a"])]
    assert touching_a == ["second", reverted.message, "second", "first"]
    touching_keep = [c.message for c in main.log(objects=["keep.txt"])]
    assert touching_keep == ["first"]
