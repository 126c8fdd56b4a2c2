"""The shape of action handlers: a failed action flashes its reason in the page's language and
sends the browser back; a missing object is a 404, not a message."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from .conftest import csrf_of, login

Client = TestClient[Any, Any]
CAL = "staff/praxis"
# The test settings name no Google client id, so starting the connect flow fails.
REASON = "[google] client_id is not configured"


async def test_failed_action_flashes_reason_and_redirects(client: Client) -> None:
    assert (await login(client)).status == 303
    token = await csrf_of(client, f"/admin/sync/{CAL}")
    resp = await client.post(f"/admin/sync/{CAL}/connect", data={"csrf_token": token},
                             allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == f"/admin/sync/{CAL}"
    html = await (await client.get(f"/admin/sync/{CAL}")).text()
    assert 'class="flash flash-error"' in html
    assert f"Cannot connect: {REASON}" in html
    # Shown once: the next page has no message.
    assert "Cannot connect" not in await (await client.get(f"/admin/sync/{CAL}")).text()


async def test_failed_action_speaks_the_chosen_language(client: Client) -> None:
    assert (await login(client)).status == 303
    token = await csrf_of(client, f"/admin/sync/{CAL}")
    await client.post("/admin/lang", data={"lang": "de", "csrf_token": token,
                                           "next": f"/admin/sync/{CAL}"})
    resp = await client.post(f"/admin/sync/{CAL}/connect", data={"csrf_token": token})
    html = await resp.text()
    assert resp.status == 200 and 'lang="de"' in html
    assert f"Verbinden nicht möglich: {REASON}" in html


async def test_csrf_refusal_speaks_accept_language(client: Client) -> None:
    assert (await login(client)).status == 303
    resp = await client.post(f"/admin/sync/{CAL}/connect", data={"csrf_token": "forged"},
                             headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert resp.status == 403
    assert (await resp.text()).startswith("Anfrage abgelehnt")


async def test_resolving_a_missing_conflict_is_404(client: Client) -> None:
    assert (await login(client)).status == 303
    token = await csrf_of(client, "/admin/conflicts")
    resp = await client.post("/admin/conflicts/999999", data={"csrf_token": token,
                                                               "keep": "winner"},
                             allow_redirects=False)
    assert resp.status == 404
    assert 'class="flash' not in await (await client.get("/admin/conflicts")).text()
