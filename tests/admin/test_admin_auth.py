"""Login, sessions, CSRF, open redirects and security headers of the admin page."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bridge.admin.redirects import safe_next
from bridge.admin.sessions import hash_sid
from bridge.store import SqlStore

from .conftest import STAFF_PASSWORD, csrf_from, csrf_of, login

Client = TestClient[Any, Any]


def _cookie(client: Client) -> str | None:
    for morsel in client.session.cookie_jar:
        if morsel.key == "tb_admin":
            return morsel.value
    return None


async def test_anonymous_is_sent_to_login(client: Client) -> None:
    resp = await client.get("/admin/sync", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/admin/login?next=/admin/sync"
    resp = await client.post("/admin/feeds/staff/praxis", data={"privacy": "busy"},
                             allow_redirects=False)
    assert resp.status == 403


async def test_login_rotates_session_and_logout_invalidates(
    client: Client, admin_store: SqlStore
) -> None:
    page = await client.get("/admin/login")
    before = _cookie(client)
    assert before
    token_before = csrf_from(await page.text())
    resp = await client.post("/admin/login", data={
        "username": "admin", "password": "correct horse battery staple",
        "csrf_token": token_before, "next": "/admin/feeds"}, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/admin/feeds"
    after = _cookie(client)
    assert after and after != before, "session id must change on login (fixation)"
    assert admin_store.get_admin_session(hash_sid(before)) is None
    token_after = await csrf_of(client)
    assert token_after != token_before
    # Logout deletes the session server-side: replaying the old cookie is refused.
    resp = await client.post("/admin/logout", data={"csrf_token": token_after},
                             allow_redirects=False)
    assert resp.status == 303
    assert admin_store.get_admin_session(hash_sid(after)) is None
    client.session.cookie_jar.update_cookies({"tb_admin": after})
    resp = await client.get("/admin/feeds", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/admin/login")


async def test_fixated_session_is_not_promoted(client: Client, admin_store: SqlStore) -> None:
    """An attacker-planted (valid, anonymous) session id is not the one that gets logged in."""
    page = await client.get("/admin/login")
    planted = _cookie(client)
    assert planted
    token = csrf_from(await page.text())
    await client.post("/admin/login", data={
        "username": "admin", "password": "correct horse battery staple", "csrf_token": token},
        allow_redirects=False)
    record = admin_store.get_admin_session(hash_sid(planted))
    assert record is None
    # An attacker holding the planted id gets the login page, not the admin page.
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"tb_admin": planted})
    resp = await client.get("/admin/feeds", allow_redirects=False)
    assert resp.status == 303


async def test_unknown_cookie_value_is_ignored(client: Client) -> None:
    client.session.cookie_jar.update_cookies({"tb_admin": "attacker-chosen-value"})
    resp = await client.get("/admin/login")
    assert resp.status == 200
    new = resp.cookies["tb_admin"].value
    assert new and new != "attacker-chosen-value"


async def test_wrong_password_and_staff_only_in_the_calendar(
    client: Client, admin_store: SqlStore
) -> None:
    resp = await login(client, password="wrong")
    assert resp.status == 401
    assert "Wrong user name or password" in await resp.text()
    resp = await login(client, user="nobody", password="whatever")
    assert resp.status == 401
    # Staff log in to the calendar view only; every other admin page sends them to the login.
    resp = await login(client, user="staff", password=STAFF_PASSWORD)
    assert resp.status == 303 and resp.headers["Location"] == "/admin/calendar"
    resp = await client.get("/admin/calendar/staff/praxis")
    assert resp.status == 200 and 'href="/admin/feeds"' not in await resp.text()
    for page in ("/admin/feeds", "/admin/sync", "/admin/ledger", "/admin/conflicts"):
        resp = await client.get(page, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/admin/login"), page
    # A role that is neither admin nor staff is refused.
    from sqlalchemy import update

    from bridge.store import schema

    with admin_store.engine.begin() as conn:
        conn.execute(update(schema.users).where(schema.users.c.name == "staff")
                     .values(role="guest"))
    resp = await client.get("/admin/calendar/staff/praxis", allow_redirects=False)
    assert resp.status == 303


async def test_demoted_admin_loses_access(client: Client, admin_store: SqlStore) -> None:
    assert (await login(client)).status == 303
    assert (await client.get("/admin/feeds")).status == 200
    from sqlalchemy import update

    from bridge.store import schema

    with admin_store.engine.begin() as conn:
        conn.execute(update(schema.users).where(schema.users.c.name == "admin")
                     .values(role="staff"))
    resp = await client.get("/admin/feeds", allow_redirects=False)
    assert resp.status == 303


async def test_csrf_missing_wrong_or_cross_site_is_rejected(
    client: Client, admin_store: SqlStore
) -> None:
    assert (await login(client)).status == 303
    token = await csrf_of(client)
    # No token (a cross-site form post without Sec-Fetch headers, e.g. an old browser).
    resp = await client.post("/admin/feeds/staff/praxis", data={"privacy": "busy"})
    assert resp.status == 403
    # Wrong token.
    resp = await client.post("/admin/feeds/staff/praxis",
                             data={"privacy": "busy", "csrf_token": token[:-2] + "xx"})
    assert resp.status == 403
    # Right token, but the browser says the request came from another site.
    resp = await client.post("/admin/feeds/staff/praxis",
                             data={"privacy": "busy", "csrf_token": token},
                             headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403
    resp = await client.post("/admin/feeds/staff/praxis",
                             data={"privacy": "busy", "csrf_token": token},
                             headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    assert admin_store.list_feeds() == []
    # The login form and logout need the token too.
    resp = await client.post("/admin/logout", data={})
    assert resp.status == 403
    resp = await client.post("/admin/feeds/staff/praxis",
                             data={"privacy": "busy", "csrf_token": token},
                             headers={"Sec-Fetch-Site": "same-origin"})
    assert resp.status == 200
    assert len(admin_store.list_feeds()) == 1


async def test_login_form_needs_csrf(client: Client) -> None:
    await client.get("/admin/login")
    resp = await client.post("/admin/login", data={
        "username": "admin", "password": "correct horse battery staple"}, allow_redirects=False)
    assert resp.status == 403


@pytest.mark.parametrize("target", [
    "//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)", "/admin//evil.com",
    "/%5Cevil.com", "/admin/%2F%2Fevil.com", "http:/evil.com", "/\tadmin", "/admin/../x",
    "\\\\evil.com", "/admin/\\evil.com", "JaVaScRiPt:alert(1)", "data:text/html,x", "",
])
async def test_open_redirects_are_refused(client: Client, target: str) -> None:
    assert safe_next(target) == "/admin/"
    page = await client.get("/admin/login")
    token = csrf_from(await page.text())
    resp = await client.post("/admin/login", data={
        "username": "admin", "password": "correct horse battery staple",
        "csrf_token": token, "next": target}, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/admin/"


async def test_next_in_login_page_query_is_sanitised(client: Client) -> None:
    resp = await client.get("/admin/login", params={"next": "//evil.com/x"})
    text = await resp.text()
    assert "evil.com" not in text
    assert safe_next("/admin/feeds") == "/admin/feeds"
    assert safe_next("/admin/ledger?q=abc&page=2") == "/admin/ledger?q=abc&page=2"


async def test_security_headers(client: Client) -> None:
    for path in ("/admin/login", "/admin/sync"):
        resp = await client.get(path, allow_redirects=False)
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    client.session.cookie_jar.clear()
    resp = await client.get("/admin/login")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie


async def test_language_follows_accept_language_and_switch(client: Client) -> None:
    resp = await client.get("/admin/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    text = await resp.text()
    assert 'lang="de"' in text and "Anmelden" in text
    resp = await client.get("/admin/login", headers={"Accept-Language": "en-US"})
    token = csrf_from(await resp.text())
    assert 'lang="en"' in await resp.text()
    await client.post("/admin/lang", data={"lang": "de", "csrf_token": token,
                                           "next": "/admin/login"})
    resp = await client.get("/admin/login", headers={"Accept-Language": "en-US"})
    assert 'lang="de"' in await resp.text()


async def test_static_files_and_admin_root(client: Client) -> None:
    resp = await client.get("/admin", allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"] == "/admin/"
    resp = await client.get("/admin/static/admin.css")
    assert resp.status == 200 and "max-age" in resp.headers["Cache-Control"]
    resp = await client.get("/admin/static/%2e%2e/web.py", allow_redirects=False)
    assert resp.status in (303, 403, 404)
    resp = await client.get("/admin/login")
    assert "/admin/static/admin.js?v=" in await resp.text()
