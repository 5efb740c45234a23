"""Session tokens and user management through the generated lakeFS SDK."""
import lakefs_sdk
import pytest
from lakefs_sdk.exceptions import UnauthorizedException

from conftest import ADMIN_KEY_ID, ADMIN_SECRET


def sdk(url, **auth):
    return lakefs_sdk.ApiClient(lakefs_sdk.Configuration(host=url + "/api/v1", **auth))


def test_login_token_works_as_bearer(tarn_url):
    with sdk(tarn_url) as anonymous:
        token = lakefs_sdk.AuthApi(anonymous).login(lakefs_sdk.LoginInformation(
            access_key_id=ADMIN_KEY_ID, secret_access_key=ADMIN_SECRET))
        with pytest.raises(UnauthorizedException):
            lakefs_sdk.AuthApi(anonymous).login(lakefs_sdk.LoginInformation(
                access_key_id=ADMIN_KEY_ID, secret_access_key="not-the-secret"))
    with sdk(tarn_url, access_token=token.token) as bearer:
        assert lakefs_sdk.AuthApi(bearer).get_current_user().user.id == "admin"
    with sdk(tarn_url, access_token=token.token + "x") as forged:
        with pytest.raises(UnauthorizedException):
            lakefs_sdk.AuthApi(forged).get_current_user()


def test_new_user_with_credentials(tarn_url):
    with sdk(tarn_url, username=ADMIN_KEY_ID, password=ADMIN_SECRET) as admin:
        auth = lakefs_sdk.AuthApi(admin)
        auth.create_user(lakefs_sdk.UserCreation(id="bob"))
        assert "bob" in [u.id for u in auth.list_users().results]
        creds = auth.create_credentials("bob")
        assert creds.secret_access_key
    with sdk(tarn_url, username=creds.access_key_id, password=creds.secret_access_key) as bob:
        assert lakefs_sdk.AuthApi(bob).get_current_user().user.id == "bob"
    with sdk(tarn_url, username=ADMIN_KEY_ID, password=ADMIN_SECRET) as admin:
        lakefs_sdk.AuthApi(admin).delete_user("bob")
    with sdk(tarn_url, username=creds.access_key_id, password=creds.secret_access_key) as bob:
        with pytest.raises(UnauthorizedException):
            lakefs_sdk.AuthApi(bob).get_current_user()
