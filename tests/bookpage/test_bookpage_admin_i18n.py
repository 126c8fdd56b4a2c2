"""Every text of the booking page is in the catalogue (German and English), and the admin
switches a calendar's page on and off and gives it a new address."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bridge.admin.catalog_de import DE
from bridge.bookpage import web as bookpage_web
from bridge.store import SqlStore
from tests.admin.conftest import csrf_of, login

_ROOT = Path(__file__).resolve().parents[2] / "bridge"
_TEMPLATE_CALL = re.compile(r'''_\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')''')
_PY_CALL = re.compile(
    r'''(?:gettext|PageError\(\s*\d+,)\(?\s*("(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*)''', re.S)


def _messages() -> set[str]:
    found: set[str] = set()
    templates = [*(_ROOT / "bookpage" / "templates").glob("*.html"),
                 _ROOT / "admin" / "templates" / "booking.html"]
    for path in templates:
        found |= {ast.literal_eval(m.group(1)) for m in _TEMPLATE_CALL.finditer(path.read_text())}
    for path in (_ROOT / "bookpage" / "web.py", _ROOT / "admin" / "views_booking.py"):
        found |= {ast.literal_eval("(" + m.group(1) + ")")
                  for m in _PY_CALL.finditer(path.read_text())}
    return found | set(bookpage_web._FIELD_MESSAGES.values())


def test_every_booking_page_text_has_german() -> None:
    messages = _messages()
    assert len(messages) > 50
    assert "This booking page does not exist or is switched off." in messages
    assert sorted(m for m in messages if m not in DE) == []


def test_every_page_error_is_caught_by_the_scan() -> None:
    # Each PageError message of the module is a literal the scan above reads.
    source = (_ROOT / "bookpage" / "web.py").read_text()
    raised = len(re.findall(r"PageError\(", source)) - len(re.findall(r"class PageError\(",
                                                                      source))
    literal = len(re.findall(r'PageError\(\s*\d+,\s*"', source))
    assert raised == literal


async def test_admin_enables_page_and_makes_a_new_address(
        client: TestClient[Any, Any], admin_store: SqlStore) -> None:
    await login(client)
    page = await client.get("/admin/booking")
    assert page.status == 200 and "staff/praxis" in await page.text()
    assert admin_store.booking_page("staff/praxis") is None  # off by default
    token = await csrf_of(client, "/admin/booking")
    data = {"csrf_token": token, "enabled": "on", "durations": "30, 60",
            "horizon_days": "30", "lead_minutes": "120", "action": "save"}
    saved = await client.post("/admin/booking/staff/praxis", data=data)
    assert saved.status == 200  # redirected back to the list
    first = admin_store.booking_page("staff/praxis")
    assert first is not None and first.enabled and first.durations == (30, 60)
    assert first.public_id in await saved.text()
    assert (await client.get(f"/book/{first.public_id}")).status == 200
    renewed = await client.post("/admin/booking/staff/praxis", data=data | {"action": "new-id"})
    assert renewed.status == 200
    second = admin_store.booking_page("staff/praxis")
    assert second is not None and second.public_id != first.public_id
    assert (await client.get(f"/book/{first.public_id}")).status == 404
    assert (await client.get(f"/book/{second.public_id}")).status == 200
    bad = await client.post("/admin/booking/staff/praxis",
                            data=data | {"durations": "0, 9999"})
    assert "Not saved" in await bad.text()
    german = await client.post("/admin/booking/staff/praxis",
                               data=data | {"durations": "x"},
                               headers={"Accept-Language": "de"})
    assert german.status == 200
    off = await client.post("/admin/booking/staff/praxis", data=data | {"enabled": ""})
    assert "is off" in await off.text()
    assert (await client.get(f"/book/{second.public_id}")).status == 404
    # Staff may not change it; anonymous visitors are sent to the login page.
    await client.post("/admin/logout", data={"csrf_token": await csrf_of(client)})
    anon = await client.get("/admin/booking", allow_redirects=False)
    assert anon.status == 303
