"""The database schema (SQLAlchemy Core tables); nothing else lives here.

Alembic migrations under ``bridge/migrations`` create exactly these tables; a test compares the
migrated database with this metadata so the two cannot drift.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

__all__ = [
    "admin_sessions",
    "api_key_calendars",
    "api_keys",
    "booking_pages",
    "changes",
    "collections",
    "connections",
    "dav_root",
    "feeds",
    "grants",
    "idempotency_keys",
    "items",
    "ledger",
    "links",
    "login_attempts",
    "metadata",
    "notifications",
    "oauth_flows",
    "outbox",
    "reminder_series",
    "users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False, default="staff"),
    Column("email", String(320), nullable=False, default=""),
    Column("created_at", Float, nullable=False),
)

# Every WebDAV collection: principals, calendars, address books, plain collections.
collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", String(1024), nullable=False, unique=True),
    Column("owner", String(255), nullable=False, index=True),
    Column("tag", String(32), nullable=False, default=""),
    Column("props", Text, nullable=False, default="{}"),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("revision", BigInteger, nullable=False, default=0),
    Column("min_revision", BigInteger, nullable=False, default=0),
    Column("sync_epoch", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("modified_at", Float, nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("level", String(8), nullable=False),
    UniqueConstraint("collection_id", "user_id"),
    # "What is shared with this user" (CalDAV aliases in the grantee's home).
    Index(None, "user_id"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("href", String(1024), nullable=False),
    Column("uid", String(1024), nullable=False),
    Column("component", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("etag", String(80), nullable=False),
    Column("start_ts", BigInteger, nullable=False),
    Column("end_ts", BigInteger, nullable=False),
    Column("recurring", Boolean, nullable=False, default=False),
    Column("content_hash", String(64), nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="CONFIRMED"),
    Column("customer_name", Text),
    Column("customer_email", String(320)),
    Column("customer_phone", String(64)),
    Column("service", Text),
    Column("origin", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("modified_at", Float, nullable=False),
    UniqueConstraint("collection_id", "href"),
    UniqueConstraint("collection_id", "uid"),
    Index(None, "collection_id", "component", "start_ts", "end_ts"),
    Index(None, "collection_id", "component", "end_ts"),
)

# One row per item write; deletes leave a tombstone (deleted=True).  Answers sync-collection.
changes = Table(
    "changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("href", String(1024), nullable=False),
    Column("uid", String(1024), nullable=False, default=""),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("origin", String(64), nullable=False, default=""),
    Column("at", Float, nullable=False),
    Index(None, "collection_id", "revision"),
)

connections = Table(
    "connections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False,
           unique=True),
    # Which provider's factory opens it ("google"; the first part of its writes' origin).
    Column("provider", String(32), nullable=False, server_default="google"),
    Column("account_email", String(320), nullable=False, default=""),
    Column("remote_calendar_id", String(1024), nullable=False, default=""),
    Column("remote_calendar_name", Text, nullable=False, default=""),
    Column("scopes", Text, nullable=False, default=""),
    Column("refresh_token_enc", LargeBinary),
    Column("status", String(24), nullable=False, default="ok"),
    Column("active", Boolean, nullable=False, default=True),
    Column("sync_token", Text),
    Column("sync_state_version", Integer, nullable=False, default=0),
    Column("import_state", Text, nullable=False, default="{}"),
    Column("channel_id", String(64)),
    Column("channel_resource_id", String(255)),
    Column("channel_token", String(255)),
    Column("channel_expiry", Float),
    Column("poll_interval", Integer),
    Column("paused_reason", Text),
    Column("last_error", Text),
    Column("last_pull_at", Float),
    Column("last_push_at", Float),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Pending pushes of local changes to one remote connection (transactional outbox).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("connection_id", ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("uid", String(1024), nullable=False),
    Column("href", String(1024), nullable=False),
    Column("op", String(8), nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("state", String(12), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", Float),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Index(None, "connection_id", "state", "next_attempt_at"),
    Index(None, "connection_id", "uid"),
)

# item ↔ Google event, with both sides' etag and normalised hash at the last sync.
links = Table(
    "links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("connection_id", ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    Column("uid", String(1024), nullable=False),
    Column("remote_id", String(1024), nullable=False),
    Column("remote_etag", String(255)),
    Column("local_etag", String(80)),
    Column("hash_local", String(64)),
    Column("hash_remote", String(64)),
    Column("remote_updated", String(40)),
    # JSON list of the instance ids of the confirmed exceptions Google held (NULL: not known).
    Column("remote_held", Text),
    # JSON of the fields only Google holds (mapping_extra.series_extra; NULL: not known).
    Column("remote_extra", Text),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("connection_id", "uid"),
    UniqueConstraint("connection_id", "remote_id"),
)

_OPEN_CONFLICT = "action = 'conflict' AND outcome = 'open'"
ledger = Table(
    "ledger",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Float, nullable=False),
    Column("connection_id", ForeignKey("connections.id", ondelete="SET NULL")),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE")),
    Column("uid", String(1024), nullable=False, default=""),
    Column("direction", String(8), nullable=False),
    Column("trigger", String(24), nullable=False),
    Column("action", String(24), nullable=False),
    Column("fields", Text, nullable=False, default=""),
    Column("remote_id", String(1024)),
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
    Column("detail", Text),
    Index(None, "collection_id", "uid"),
    Index(None, "at"),
    # One open conflict per appointment and connection: a later decision supersedes it
    # (``LinksLedgerMixin.record_conflict``), so two triggers never leave two open rows.
    Index("uq_ledger_open_conflict", "connection_id", "uid", unique=True,
          sqlite_where=text(_OPEN_CONFLICT), postgresql_where=text(_OPEN_CONFLICT)),
)

# Deletions from Google the safety valve holds back (docs/sync.md, *Safety valve*): one row per
# appointment Google deleted, with when the deletion arrived (the sliding window counts these) and
# the link's Google etag then (a later write of the link means the event came back).
held_deletions = Table(
    "held_deletions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("connection_id", ForeignKey("connections.id", ondelete="CASCADE"), nullable=False),
    Column("uid", String(1024), nullable=False),
    Column("remote_id", String(1024), nullable=False),
    Column("remote_etag", String(255)),
    Column("seen_at", Float, nullable=False),
    UniqueConstraint("connection_id", "uid"),
    Index(None, "seen_at"),
)

# ICS feeds for integrators: only the sha256 of the secret token is stored.
feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("privacy", String(8), nullable=False),
    Column("past_days", Integer, nullable=False),
    Column("future_days", Integer, nullable=False),
    Column("label", Text, nullable=False, default=""),
    # Bumped by every change of the feed's settings or token: part of the feed's ETag.
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
)

# Booking-API keys per integrator: only the sha256 of the secret is stored.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    # read / write (on its calendars, or read on every calendar) or admin (everything).
    Column("scope", String(8), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
    # True: the key reaches only the calendars listed in ``api_key_calendars``.
    Column("confined", Boolean, nullable=False, default=False),
)

# The calendars a confined API key may use (deleting a calendar removes it from every key).
api_key_calendars = Table(
    "api_key_calendars",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("api_key_id", ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False,
           index=True),
    UniqueConstraint("api_key_id", "collection_id"),
)

# Idempotency-Key records of the booking API: request hash and the response given (24 h).
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("api_key_id", ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(12), nullable=False),
    Column("response_status", Integer),
    Column("response_headers", Text),
    Column("response_body", Text),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    UniqueConstraint("api_key_id", "key"),
)

# Customer notifications (confirmations, cancellations, reminders): a transactional outbox
# written in the item write's transaction; one row per channel.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("uid", String(1024), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=False, default=""),
    Column("language", String(8), nullable=False, default="de"),
    Column("payload", Text, nullable=False),
    Column("origin", String(64), nullable=False, default=""),
    Column("due_at", Float, nullable=False),
    Column("offset_seconds", Integer),
    Column("state", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", Float),
    Column("last_error", Text),
    Column("sent_at", Float),
    Column("created_at", Float, nullable=False),
    # Reminders: the start (UTC seconds) of the occurrence they remind of.
    Column("occurrence_ts", Integer),
    Index(None, "state", "next_attempt_at"),
    Index(None, "collection_id", "uid"),
    # One live reminder per (appointment, occurrence, offset, channel): planning the horizon
    # again (a restart, a second worker) inserts nothing twice.  Cancelled rows do not count.
    Index("uq_notifications_reminder_key", "collection_id", "uid", "occurrence_ts",
          "offset_seconds", "channel", unique=True,
          sqlite_where=text("occurrence_ts IS NOT NULL AND state <> 'cancelled'"),
          postgresql_where=text("occurrence_ts IS NOT NULL AND state <> 'cancelled'")),
)

# Admin-page sessions, server-side: only the sha256 of the cookie value is stored, so a database
# dump does not hand out live sessions.  Anonymous rows (user_id NULL) carry the login form's CSRF.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sid_hash", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE")),
    Column("csrf_token", String(64), nullable=False),
    Column("data", Text, nullable=False, default="{}"),
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# Pending Google connect flows (admin page → Google consent → /oauth2/callback), shared by every
# sidecar process: only the sha256 of ``state`` is stored, the PKCE verifier is sealed with the
# token cipher, each row is bound to the admin session that started it, taken once (deleted when
# used) and expires after ten minutes.
oauth_flows = Table(
    "oauth_flows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state_hash", String(64), nullable=False, unique=True),
    Column("session_ref", String(128), nullable=False),
    Column("collection_path", String(1024), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("verifier_enc", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# Recurring appointments with planned reminders: reminders are written for the occurrences whose
# reminder falls before ``planned_until``; the notification worker moves it forward (the horizon).
reminder_series = Table(
    "reminder_series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
    Column("uid", String(1024), nullable=False),
    Column("planned_until", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("collection_id", "uid"),
    Index(None, "planned_until"),
)

# The properties of the WebDAV root collection ``/`` (one row, id 1): Radicale lets whoever the
# rights allow PROPPATCH ``/`` (stock Radicale keeps them in ``collection-root/.Radicale.props``).
# The root is no row of ``collections``: it holds no items and never becomes a calendar.
dav_root = Table(
    "dav_root",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("props", Text, nullable=False),
    Column("modified_at", Float, nullable=False),
)


# Failed admin logins per account and per client address, shared by every sidecar process: only
# the sha256 of the user name or address is stored.  A row is locked once ``failures`` reaches the
# limit within the window; rows of real accounts (``keep``) are never evicted to bound the table.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("window_start", Float, nullable=False),
    Column("locked_until", Float),
    Column("keep", Boolean, nullable=False, default=False),
    Column("updated_at", Float, nullable=False, index=True),
    UniqueConstraint("kind", "key_hash"),
)


# The online booking page of a calendar (issue 17): off until an admin enables it; the public id
# in ``/book/<public_id>`` is random and can be regenerated (the old address stops working).
booking_pages = Table(
    "booking_pages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", ForeignKey("collections.id", ondelete="CASCADE"), nullable=False,
           unique=True),
    Column("public_id", String(32), nullable=False, unique=True),
    Column("enabled", Boolean, nullable=False, default=False),
    # Offered service durations in minutes, comma-separated ("30,60").
    Column("durations", String(200), nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("lead_minutes", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
