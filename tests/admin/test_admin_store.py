"""The store side of admin sessions: migration matches the schema, single-use values, expiry."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData

from bridge.admin.i18n import negotiate, translate
from bridge.store import SqlStore
from bridge.store import schema as s


def test_migration_matches_schema(admin_store: SqlStore) -> None:
    only = MetaData(naming_convention=s.metadata.naming_convention)
    s.admin_sessions.to_metadata(only)
    s.users.to_metadata(only)
    with admin_store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(context, only)
                if "admin_sessions" in repr(d) and d[0] != "remove_table"]
    assert diff == []


def test_single_use_values_and_expiry(admin_store: SqlStore) -> None:
    now = admin_store.clock()
    admin_store.create_admin_session("a" * 64, "csrf", expires_at=now + 60, data={"x": 1})
    assert admin_store.update_admin_session_data("a" * 64, {"state": "s1"}) == {}
    assert admin_store.update_admin_session_data("a" * 64, pop_keys=("state",)) == {
        "state": "s1"}
    assert admin_store.update_admin_session_data("a" * 64, pop_keys=("state",)) == {}
    assert admin_store.update_admin_session_data("b" * 64, {"y": 2}) is None
    session = admin_store.get_admin_session("a" * 64)
    assert session is not None and session.data == {"x": 1} and not session.is_admin
    admin_store.create_admin_session("c" * 64, "csrf", expires_at=now - 1)
    assert admin_store.get_admin_session("c" * 64) is None
    assert admin_store.purge_admin_sessions() == 1
    user = admin_store.get_user("admin")
    assert user is not None
    admin_store.rotate_admin_session("a" * 64, "d" * 64, "csrf2", expires_at=now + 60,
                                     user_id=user.id)
    assert admin_store.get_admin_session("a" * 64) is None
    rotated = admin_store.get_admin_session("d" * 64)
    assert rotated is not None and rotated.is_admin and rotated.user_name == "admin"
    assert admin_store.delete_admin_sessions_of_user(user.id) == 1


def test_language_negotiation() -> None:
    assert negotiate("de-DE,de;q=0.9,en;q=0.8") == "de"
    assert negotiate("fr-FR,en;q=0.5,de;q=0.4") == "en"
    assert negotiate("fr") == "en"
    assert negotiate("en;q=0.2, de;q=0.9") == "de"
    assert negotiate("de", chosen="en") == "en"
    assert negotiate(None) == "en"
    assert negotiate("de;q=abc, en") == "en"
    assert translate("de", "Sign in") == "Anmelden"
    assert translate("de", "{n} s ago", n=5) == "vor 5 s"
