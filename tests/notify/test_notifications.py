"""Customer notifications end to end: a real SMTP server and a signed-webhook receiver."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge.notify.hooks import install
from bridge.notify.planning import NotifyPolicy, policy_from_settings
from bridge.notify.worker import NotificationWorker, WorkerConfig
from bridge.store import SqlStore
from bridge.store.notify import NOTIFY_SWITCH_PROP
from bridge.web.app import create_app

from .conftest import (
    CALENDAR,
    START,
    FakeClock,
    SmtpSink,
    WebhookSink,
    add_connection,
    event_text,
    notify_settings,
    open_notify_store,
    put,
    set_connection_state,
    wait_for,
    worker_name,
)

IDLE = {"phase": "idle", "import": {"phase": "done"}}


async def start_app(aiohttp_client: Any, tmp_path: Path, store: SqlStore, smtp: SmtpSink,
                    webhook: WebhookSink, **notifications: Any) -> Any:
    settings = notify_settings(tmp_path, smtp, webhook, **notifications)
    return await aiohttp_client(create_app(settings, store))


def rows(store: SqlStore, **filters: Any) -> list[Any]:
    return store.list_notifications(**filters)


async def test_confirmation_after_google_creation(
    aiohttp_client: Any, tmp_path: Path, nstore: SqlStore, smtp: SmtpSink, webhook: WebhookSink,
) -> None:
    conn_id = add_connection(nstore, state=IDLE)
    await start_app(aiohttp_client, tmp_path, nstore, smtp, webhook)
    put(nstore, "g1", event_text("g1", START, attendee="kunde@example.org",
                                 summary="Beratung Kunde"), f"google:{conn_id}")
    await wait_for(lambda: len(smtp.messages) == 1 and len(webhook.bodies) == 1)
    mail = smtp.messages[0]
    assert mail["X-Envelope-To"] == "kunde@example.org"
    assert mail["Subject"].startswith("Terminbestätigung")
    body = mail.get_payload(decode=True).decode("utf-8")
    assert "Montag, 6. Juli 2026, 10:00\u201310:30 Uhr" in body
    assert "Praxis Sonnenschein" in mail["From"]
    hook = webhook.bodies[0]
    assert hook["event"] == "appointment.confirmation"
    assert hook["appointment"]["customer"]["email"] == "kunde@example.org"
    assert hook["appointment"]["uid"] == "g1"
    assert webhook.bad_signatures == 0
    reminders = rows(nstore, uid="g1", state="pending")
    assert {(r.kind, r.due_at) for r in reminders} == {
        ("reminder", (START - timedelta(hours=24)).timestamp())}
    await asyncio.sleep(0.2)
    assert len(smtp.messages) == 1  # sent once, not again on later scans


async def test_confirmation_after_phone_edit(
    aiohttp_client: Any, tmp_path: Path, nstore: SqlStore, smtp: SmtpSink, webhook: WebhookSink,
) -> None:
    await start_app(aiohttp_client, tmp_path, nstore, smtp, webhook, language="en")
    put(nstore, "p1", event_text("p1", START, customer=True), "import")
    assert rows(nstore) == []
    put(nstore, "p1", event_text("p1", START, customer=True, summary="renamed"), "caldav")
    assert rows(nstore) == []  # a title change is not a change of time or status
    put(nstore, "p1", event_text("p1", START + timedelta(hours=2), customer=True), "caldav")
    await wait_for(lambda: len(smtp.messages) == 1)
    mail = smtp.messages[0]
    assert mail["X-Envelope-To"] == "erika@example.org"
    assert mail["Subject"].startswith("Your appointment has changed")
    assert "12:00\u201312:30" in mail.get_payload(decode=True).decode("utf-8")


async def test_silent_for_imports_resyncs_and_echoes(
    aiohttp_client: Any, tmp_path: Path, nstore: SqlStore, smtp: SmtpSink, webhook: WebhookSink,
) -> None:
    conn_id = add_connection(nstore, state={"phase": "importing",
                                            "import": {"phase": "running"}})
    await start_app(aiohttp_client, tmp_path, nstore, smtp, webhook)
    origin = f"google:{conn_id}"
    put(nstore, "i1", event_text("i1", START, attendee="a@example.org"), origin)
    set_connection_state(nstore, conn_id, {"phase": "resyncing", "import": {"phase": "done"}})
    put(nstore, "i2", event_text("i2", START, attendee="b@example.org"), origin)
    put(nstore, "i1", event_text("i1", START + timedelta(days=1), attendee="a@example.org"),
        origin)
    put(nstore, "i3", event_text("i3", START, customer=True), "import")
    set_connection_state(nstore, conn_id, IDLE)
    # The same content again (what an echo would be if it reached the store): nothing to tell.
    put(nstore, "i2", event_text("i2", START, attendee="b@example.org"), origin)
    assert rows(nstore) == []
    await asyncio.sleep(0.3)
    assert smtp.messages == [] and webhook.bodies == []
    # After the import a real edit in Google notifies.
    put(nstore, "i2", event_text("i2", START + timedelta(hours=1), attendee="b@example.org"),
        origin)
    await wait_for(lambda: len(smtp.messages) == 1)
    assert smtp.messages[0]["X-Envelope-To"] == "b@example.org"


def worker(store: SqlStore, tmp_path: Path, smtp: SmtpSink | None, webhook: WebhookSink | None,
           session: aiohttp.ClientSession, name: str, **notifications: Any) -> NotificationWorker:
    settings = notify_settings(tmp_path, smtp, webhook, **notifications)
    install(store, policy_from_settings(settings))
    return NotificationWorker(store, WorkerConfig.from_settings(settings), session,
                              worker_id=worker_name(name))


async def test_reminder_moves_with_the_appointment(
    tmp_path: Path, nstore: SqlStore, clock: FakeClock, smtp: SmtpSink,
) -> None:
    async with aiohttp.ClientSession() as session:
        w = worker(nstore, tmp_path, smtp, None, session, "w1", reminder_offsets="24h,2h")
        put(nstore, "r1", event_text("r1", START, customer=True), "api")
        assert await w.run_once() == 1  # confirmation by e-mail (no webhook configured)
        assert not [r for r in rows(nstore, uid="r1") if r.channel == "webhook"]
        pending = rows(nstore, uid="r1", state="pending")
        assert sorted({r.due_at for r in pending}) == [
            (START - timedelta(hours=24)).timestamp(), (START - timedelta(hours=2)).timestamp()]
        moved = START + timedelta(days=1)
        put(nstore, "r1", event_text("r1", moved, customer=True), "caldav")
        assert len(rows(nstore, uid="r1", state="cancelled")) == 2  # 2 reminders, e-mail
        clock.now = (START - timedelta(hours=23)).timestamp()  # old reminder would be due
        await w.run_once()
        sent = [m["Subject"] for m in smtp.messages]
        assert len(sent) == 2 and all("Erinnerung" not in s for s in sent)
        clock.now = (moved - timedelta(hours=23)).timestamp()
        await w.run_once()
        reminders = [m for m in smtp.messages if m["Subject"].startswith("Erinnerung")]
        assert len(reminders) == 1
        assert "Dienstag, 7. Juli 2026, 10:00" in reminders[0].get_payload(decode=True).decode()
        clock.now = (moved - timedelta(hours=1)).timestamp()
        await w.run_once()
        clock.advance(minutes=5)
        await w.run_once()
        assert len([m for m in smtp.messages if m["Subject"].startswith("Erinnerung")]) == 2


async def test_cancellation_cancels_reminders(
    tmp_path: Path, nstore: SqlStore, smtp: SmtpSink,
) -> None:
    async with aiohttp.ClientSession() as session:
        w = worker(nstore, tmp_path, smtp, None, session, "w1")
        put(nstore, "c1", event_text("c1", START, customer=True), "api")
        put(nstore, "c1", event_text("c1", START, customer=True, status="CANCELLED"), "caldav")
        await w.run_once()
        subjects = sorted(m["Subject"].split(":")[0] for m in smtp.messages)
        assert subjects == ["Termin abgesagt", "Terminbestätigung"]
        assert rows(nstore, uid="c1", state="pending") == []
        nstore.delete_item(CALENDAR, "c1.ics", origin="caldav")
        assert rows(nstore, uid="c1", state="pending") == []  # already cancelled: no 2nd notice


@pytest.mark.parametrize("scenario", ["two-workers", "restart"])
async def test_no_double_send(tmp_path: Path, store_url: str, clock: FakeClock, smtp: SmtpSink,
                              webhook: WebhookSink, scenario: str) -> None:
    store = open_notify_store(store_url, clock)
    # Worker ids are unique in production; PostgreSQL's liveness locks are database-wide, so
    # parallel test processes must not share names.
    run = secrets.token_hex(4)
    try:
        for i in range(24):
            put(store, f"n{i}", event_text(f"n{i}", START + timedelta(hours=i), customer=True),
                "api")
        async with aiohttp.ClientSession() as session:
            a = worker(store, tmp_path, smtp, webhook, session, f"worker-a-{run}")
            b = worker(store, tmp_path, smtp, webhook, session, f"worker-b-{run}")
            if scenario == "two-workers":
                async def drain(w: NotificationWorker) -> None:
                    while await w.run_once(limit=3):
                        pass

                await asyncio.gather(drain(a), drain(b))
            else:
                # Worker D holds a claim: nobody else sends those rows while it lives, however
                # long it takes; once it is dead they are taken over at once, and only once.
                held = store.claim_notifications(f"worker-d-{run}", limit=4)
                assert len(held) == 4
                await a.run_once(limit=5)  # A sends 5 others
                task = asyncio.create_task(b.run())
                await wait_for(lambda: len(smtp.messages) + len(webhook.bodies) == 44)
                b.stop()
                await task
                clock.advance(seconds=6 * 3600)  # no time lease: D is slow, not dead
                c = worker(store, tmp_path, smtp, webhook, session, f"worker-c-{run}")
                assert await c.run_once() == 0
                store.liveness.release(f"worker-d-{run}")  # D's process dies: its lock goes with it
                assert await c.run_once() == 4
                assert await c.run_once() == 0
        ids = [m["Message-ID"] for m in smtp.messages]
        assert len(ids) == 24 and len(set(ids)) == 24
        hooks = [h["id"] for h in webhook.bodies]
        assert len(hooks) == 24 and len(set(hooks)) == 24
        assert {r.state for r in store.list_notifications(limit=500)
                if r.kind == "confirmation"} == {"sent"}
    finally:
        store.close()


async def test_failed_send_is_retried_then_shown_failed(
    aiohttp_client: Any, tmp_path: Path, nstore: SqlStore, clock: FakeClock,
    webhook: WebhookSink,
) -> None:
    webhook.fail_with = 503
    async with aiohttp.ClientSession() as session:
        w = worker(nstore, tmp_path, None, webhook, session, "w1", max_attempts=3)
        put(nstore, "f1", event_text("f1", START, customer=True), "api")
        for _ in range(6):
            await w.run_once()
            clock.advance(minutes=5)
        assert webhook.calls == 3
        hook = next(r for r in rows(nstore, uid="f1") if r.channel == "webhook"
                    and r.kind == "confirmation")
        assert hook.state == "failed" and "503" in (hook.last_error or "")
        mail = next(r for r in rows(nstore, uid="f1") if r.channel == "email"
                    and r.kind == "confirmation")
        assert mail.state == "skipped"  # no SMTP configured: recorded, not retried
        webhook.fail_with = 400
        put(nstore, "f2", event_text("f2", START, customer=True), "api")
        await w.run_once()
        assert [r.state for r in rows(nstore, uid="f2", state="failed")] == ["failed"]
    _k, secret = nstore.create_api_key("ops", "read")
    client = await aiohttp_client(create_app(notify_settings(tmp_path, None, None), nstore))
    resp = await client.get("/api/v1/notifications?state=failed",
                            headers={"Authorization": f"Bearer {secret}"})
    failed = (await resp.json())["items"]
    assert {(f["appointment_id"], f["channel"]) for f in failed} == {("f1", "webhook"),
                                                                     ("f2", "webhook")}


async def test_calendar_switch_and_description_opt_in(
    tmp_path: Path, nstore: SqlStore,
) -> None:
    coll = nstore.get_collection(CALENDAR)
    assert coll is not None
    nstore.set_collection_meta(CALENDAR, {**coll.props, NOTIFY_SWITCH_PROP: "off"})
    put(nstore, "s1", event_text("s1", START, customer=True), "api")
    assert rows(nstore) == []
    nstore.set_collection_meta(CALENDAR, {**coll.props, NOTIFY_SWITCH_PROP: "on"})
    text = event_text("d1", START, description="Kunde: max@example.org, Tel. 123")
    put(nstore, "d1", text, "caldav")
    assert rows(nstore) == []  # opt-in is off: no customer bound
    install(nstore, NotifyPolicy(description_emails=True))
    put(nstore, "d2", text.replace("d1", "d2"), "caldav")
    assert {r.recipient for r in rows(nstore, uid="d2") if r.channel == "email"} == {
        "max@example.org"}


async def test_preview(aiohttp_client: Any, tmp_path: Path, nstore: SqlStore) -> None:
    put(nstore, "v1", event_text("v1", START, customer=True), "import")
    _k, secret = nstore.create_api_key("ops", "read")
    client = await aiohttp_client(create_app(notify_settings(tmp_path, None, None), nstore))
    coll = nstore.get_collection(CALENDAR)
    assert coll is not None
    url = f"/api/v1/calendars/{coll.id}/appointments/v1/notifications/preview"
    auth = {"Authorization": f"Bearer {secret}"}
    de = await (await client.get(url, headers=auth)).json()
    assert de["recipient"] == "erika@example.org"
    assert de["subject"] == "Terminbestätigung: Montag, 6. Juli 2026, 10:00\u201310:30 Uhr"
    assert "Guten Tag Erika Mustermann" in de["body"]
    en = await (await client.get(url + "?kind=reminder&language=en", headers=auth)).json()
    assert en["subject"] == "Reminder of your appointment: Monday, 6 July 2026, 10:00\u201310:30"
    bad = await client.get(url + "?kind=spam&language=fr", headers=auth)
    assert {e["field"] for e in (await bad.json())["errors"]} == {"kind", "language"}
    assert rows(nstore) == []  # previews send nothing


async def test_sidecar_restart_sends_nothing_twice(
    aiohttp_client: Any, tmp_path: Path, nstore: SqlStore, smtp: SmtpSink, webhook: WebhookSink,
) -> None:
    for i in range(6):
        put(nstore, f"a{i}", event_text(f"a{i}", START, customer=True), "api")
    first = await start_app(aiohttp_client, tmp_path, nstore, smtp, webhook)
    await wait_for(lambda: len(smtp.messages) == 6 and len(webhook.bodies) == 6)
    await first.close()  # graceful stop: the worker finishes and hands back its batch
    for i in range(6, 9):
        put(nstore, f"a{i}", event_text(f"a{i}", START, customer=True), "api")
    await start_app(aiohttp_client, tmp_path, nstore, smtp, webhook)
    await wait_for(lambda: len(smtp.messages) == 9 and len(webhook.bodies) == 9)
    await asyncio.sleep(0.3)
    assert len({m["Message-ID"] for m in smtp.messages}) == len(smtp.messages) == 9
    assert len({h["id"] for h in webhook.bodies}) == len(webhook.bodies) == 9


async def test_no_passwords_or_mail_bodies_in_logs(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, nstore: SqlStore, clock: FakeClock,
    smtp: SmtpSink,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as session:
        # The test server offers no AUTH: the login fails and is logged, the password is not.
        w = worker(nstore, tmp_path, smtp, None, session, "w1", smtp_user="mailer",
                   smtp_password="s3cret-Pa55-XYZ")
        put(nstore, "l1", event_text("l1", START, customer=True), "api")
        await w.run_once()
        assert smtp.messages == []
        assert "retry" in caplog.text
        clock.advance(hours=1)
        plain = worker(nstore, tmp_path, smtp, None, session, "w2")
        await plain.run_once()
    assert len(smtp.messages) == 1
    # Our side only ("mail.log" is the test SMTP server's own debug log of what it received).
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail."))
    assert "s3cret-Pa55-XYZ" not in ours
    assert "Guten Tag" not in ours and "erika@example.org" not in ours


async def test_silent_inside_a_sync_import_transaction(nstore: SqlStore) -> None:
    """The sync engine's first-import pages run with ``importing=True``: no notification even
    when the page that finishes the import has already marked it done."""
    conn_id = add_connection(nstore, state=IDLE)
    origin = f"google:{conn_id}"
    nstore.run_transaction(
        lambda: put(nstore, "t1", event_text("t1", START, attendee="k@example.org"), origin),
        importing=True)
    assert rows(nstore) == []
    nstore.run_transaction(
        lambda: put(nstore, "t2", event_text("t2", START, attendee="k@example.org"), origin))
    assert {r.kind for r in rows(nstore, uid="t2")} == {"confirmation", "reminder"}
