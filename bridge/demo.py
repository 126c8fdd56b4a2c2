"""``termin-bridge serve --demo``: the offline Google and Microsoft emulators, wired in, ready
to click through.

:func:`start_demo` starts the emulator in-process on a loopback port with its bundled demo
seed (a Google account "praxis@example.com" with the calendars "Termine Praxis" and "Urlaub und
Feiertage" and a few events, plus a second account so the account chooser shows), registers the
sidecar's callback URL with the demo OAuth client, and returns settings whose ``[google]`` values
point at the emulator.  The Microsoft emulator (https, a CA generated at start) starts beside it
with its demo seed (work accounts "praxis@contoso.example" and "empfang@contoso.example", a
personal one); ``[microsoft]`` then names its client, its ``…/common`` authority, its Graph root
and its CA file (``ca_file``), so the admin page offers both providers.  The Exchange Web
Services emulator (plain http) starts too with its demo seed; its EWS URL and the demo mailbox
login are printed for the admin page's Exchange login form.  With a store it also
makes sure there is a local calendar to connect and an admin login for the demo, and prints the
admin URL and password.

The Google emulator speaks plain http, so this (and only this) sets
``OAUTHLIB_INSECURE_TRANSPORT=1`` for the OAuth libraries of this process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from bridge.config import Settings
from bridge.errors import BridgeError, EmulatorMissing

if TYPE_CHECKING:
    from bridge.store import SqlStore

__all__ = ["DEMO_CALENDAR", "DEMO_USER", "start_demo"]

_LOGGER = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_CALENDAR = "demo/praxis"


def _callback_urls(settings: Settings, path: str = "/oauth2/callback") -> list[str]:
    base = settings.base_url
    port = settings.http.port
    urls = [base + path]
    # The admin page sends the provider back to the loopback name the admin typed.
    for host in ("127.0.0.1", "localhost", "[::1]"):
        url = f"http://{host}:{port}{path}"
        if url not in urls:
            urls.append(url)
    return urls


def _prepare_store(store: SqlStore, out: Callable[[str], None]) -> Callable[[], None]:
    """A demo admin with a fresh password and a calendar to connect; returns the clean-up."""
    from bridge.passwords import generate_password, hash_password

    password = generate_password()
    if store.get_user(DEMO_USER) is None:
        store.create_user(DEMO_USER, hash_password(password), role="admin")
    else:
        store.set_password_hash(DEMO_USER, hash_password(password))
    if not store.list_collections(tag="VCALENDAR"):
        store.create_collection(DEMO_CALENDAR, tag="VCALENDAR", timezone="Europe/Berlin",
                                props={"D:displayname": "Praxis (Demo)"})
    out(f"demo admin login: user '{DEMO_USER}', password (valid while the demo runs): "
        f"{password}")

    def lock() -> None:
        # The demo password was printed on a console: make it useless once the demo ends.
        store.set_password_hash(DEMO_USER, hash_password(generate_password()))

    return lock


def start_demo(
    settings: Settings,
    store: SqlStore | None = None,
    *,
    out: Callable[[str], None] | None = None,
    port: int = 0,
    microsoft_port: int | None = 0,
    ews_port: int | None = 0,
) -> tuple[Settings, Callable[[], None]]:
    """Start the Google emulator with the demo seed on ``127.0.0.1:port``, the Microsoft one
    on ``127.0.0.1:microsoft_port`` and the EWS one on ``127.0.0.1:ews_port`` (0: any free
    port, ``None``: not at all); returns (settings pointing at them, stop)."""
    try:
        from emulators.google.seed import demo_seed
        from emulators.google.server import EmulatorServer
    except ModuleNotFoundError as exc:
        raise EmulatorMissing(exc) from exc

    emit: Callable[[str], None] = out or (lambda line: print(line, flush=True))
    seed: dict[str, Any] = demo_seed()
    client = dict(seed["clients"][0])
    client["redirect_uris"] = _callback_urls(settings)
    seed["clients"] = [client]
    try:
        emulator = EmulatorServer(seed=seed, port=port).start()
    except RuntimeError as exc:  # the bind failed in the emulator's thread
        raise _bind_failure(exc, "Google", port, "--demo-port") from None
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    base = emulator.base_url
    demo_settings = settings.with_overrides(google={
        "client_id": client["client_id"], "client_secret": client["client_secret"],
        "auth_uri": base + "/o/oauth2/v2/auth", "token_uri": base + "/token",
        "revoke_uri": base + "/revoke", "api_endpoint": base + "/calendar/v3/",
    })
    _LOGGER.info("demo: Google emulator on %s", base)
    stop_microsoft: Callable[[], None] = lambda: None  # noqa: E731
    stop_ews: Callable[[], None] = lambda: None  # noqa: E731
    try:
        if microsoft_port is not None:
            demo_settings, stop_microsoft = _start_microsoft(demo_settings, microsoft_port, emit)
        if ews_port is not None:
            stop_ews = _start_ews(ews_port, emit)
    except BridgeError:
        stop_microsoft()
        emulator.stop()
        os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
        raise
    lock = _prepare_store(store, emit) if store is not None else None
    emit(f"demo: offline Google emulator at {base} (account praxis@example.com)")
    emit(f"demo: admin page at {settings.base_url}/admin/")

    def stop() -> None:
        if lock is not None:
            try:
                lock()
            except (SQLAlchemyError, BridgeError) as exc:
                _LOGGER.warning("demo: could not lock the demo login: %s", exc)
        emulator.stop()
        stop_microsoft()
        stop_ews()
        os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)

    return demo_settings, stop


def _bind_failure(exc: RuntimeError, what: str, port: int, option: str) -> BridgeError:
    """The one-line error for an emulator whose port could not be bound."""
    cause = exc.__cause__
    reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
    return BridgeError(f"cannot start the demo {what} emulator on 127.0.0.1:{port}: {reason}; "
                       f"choose another port with {option}")


def _start_ews(port: int, emit: Callable[[str], None]) -> Callable[[], None]:
    """The EWS emulator (http) with its demo seed; prints the EWS URL and the demo login."""
    try:
        from emulators.ews.seed import demo_seed
        from emulators.ews.server import EwsEmulatorServer
    except ModuleNotFoundError as exc:
        raise EmulatorMissing(exc, "EWS") from exc
    seed: dict[str, Any] = demo_seed()
    try:
        emulator = EwsEmulatorServer(seed=seed, port=port).start()
    except RuntimeError as exc:  # the bind failed in the emulator's thread
        raise _bind_failure(exc, "EWS", port, "--demo-ews-port") from None
    mailbox = seed["mailboxes"][0]
    _LOGGER.info("demo: EWS emulator on %s", emulator.base_url)
    emit(f"demo: offline Exchange (EWS) emulator at {emulator.ews_url} (mailbox login "
         f"{mailbox['email']} / {mailbox['password']})")
    return emulator.stop


def _start_microsoft(settings: Settings, port: int, emit: Callable[[str], None]
                     ) -> tuple[Settings, Callable[[], None]]:
    """The Microsoft emulator with its demo seed; ``[microsoft]`` pointed at it."""
    from bridge.sync.service import callback_path

    try:
        from emulators.microsoft.seed import demo_seed
        from emulators.microsoft.server import MsEmulatorServer
    except ModuleNotFoundError as exc:
        raise EmulatorMissing(exc, "Microsoft") from exc
    seed: dict[str, Any] = demo_seed()
    client = dict(seed["clients"][0])
    client["redirect_uris"] = _callback_urls(settings, callback_path("microsoft"))
    seed["clients"] = [client]
    try:
        emulator = MsEmulatorServer(seed=seed, port=port).start()
    except RuntimeError as exc:  # the bind failed in the emulator's thread
        raise _bind_failure(exc, "Microsoft", port, "--demo-microsoft-port") from None
    demo_settings = settings.with_overrides(microsoft={
        "client_id": client["client_id"], "client_secret": client["client_secret"],
        "authority": emulator.authority("common"), "graph_endpoint": emulator.graph_url,
        "ca_file": emulator.ca_path,
    })
    _LOGGER.info("demo: Microsoft emulator on %s", emulator.base_url)
    emit(f"demo: offline Microsoft emulator at {emulator.base_url} (accounts "
         "praxis@contoso.example, empfang@contoso.example)")
    return demo_settings, emulator.stop
