"""``termin-bridge feed create|list|revoke|rotate`` (in-process, SQLite)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.store import open_store
from bridge.store.feeds import hash_feed_token

URL = re.compile(r"URL:\s+(\S+)")
WEBCAL = re.compile(r"webcal:\s+(\S+)")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``main`` configures logging globally; put it back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in ("aiohttp.access", "alembic")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config file on a fresh SQLite store with calendar alice/work."""
    db = tmp_path / "bridge.db"
    path = tmp_path / "bridge.toml"
    path.write_text(
        f'[storage]\nurl = "sqlite:///{db}"\ndata_dir = "{tmp_path}"\n'
        '[http]\npublic_url = "https://termine.example.com/"\n',
        encoding="utf-8",
    )
    store = open_store(f"sqlite:///{db}")
    store.create_collection("alice/work", tag="VCALENDAR", props={"tag": "VCALENDAR"})
    store.create_collection("alice/book", tag="VADDRESSBOOK", props={"tag": "VADDRESSBOOK"})
    store.close()
    return path


def _run(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), "feed", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_feed_lifecycle(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(config, capsys, "create", "alice/work", "--privacy", "busy",
                        "--past-days", "7", "--label", "front desk")
    assert code == 0
    url = URL.search(out).group(1)  # type: ignore[union-attr]
    token = url.removeprefix("https://termine.example.com/feeds/").removesuffix(".ics")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert WEBCAL.search(out).group(1) == "webcal://" + url.split("://")[1]  # type: ignore[union-attr]
    assert "privacy busy, 7 days back, 365 days ahead" in out

    code, listing, _ = _run(config, capsys, "list")
    assert code == 0 and token not in listing
    assert "alice/work\tbusy\t-7d/+365d\tactive" in listing and "front desk" in listing

    code, rotated, _ = _run(config, capsys, "rotate", "1")
    new_url = URL.search(rotated).group(1)  # type: ignore[union-attr]
    assert code == 0 and new_url != url
    store = open_store(f"sqlite:///{config.parent / 'bridge.db'}")
    assert store.feed_for_token_hash(hash_feed_token(token)) is None
    new_token = new_url.rsplit("/", 1)[1].removesuffix(".ics")
    assert store.feed_for_token_hash(hash_feed_token(new_token)) is not None

    code, out, _ = _run(config, capsys, "revoke", "1")
    assert code == 0 and "revoked feed 1" in out
    assert store.feed_for_token_hash(hash_feed_token(new_token)) is None
    _code, listing, _ = _run(config, capsys, "list")
    assert "\trevoked " in listing and new_token not in listing
    store.close()


def test_feed_errors(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(config, capsys, "create", "alice/nope")
    assert code == 1 and "no calendar alice/nope" in err
    code, _, err = _run(config, capsys, "create", "alice/book")
    assert code == 1 and "no calendar" in err
    code, _, err = _run(config, capsys, "revoke", "42")
    assert code == 1 and "feed 42" in err
    with pytest.raises(SystemExit):
        _run(config, capsys, "create", "alice/work", "--privacy", "everything")
    with pytest.raises(SystemExit):
        _run(config, capsys, "create", "alice/work", "--future-days", "-3")
    code, out, _ = _run(config, capsys, "list")
    assert code == 0 and out.strip() == "no feeds"


def test_url_without_public_url(tmp_path: Path) -> None:
    from bridge.config import load
    from bridge.feeds.urls import feed_url, webcal_url

    settings = load(tmp_path / "none.toml", env={})
    url = feed_url(settings, "T" * 43)
    assert url == f"http://127.0.0.1:8080/feeds/{'T' * 43}.ics"
    assert webcal_url(url) == f"webcal://127.0.0.1:8080/feeds/{'T' * 43}.ics"
    wildcard = settings.with_overrides(http={"host": "0.0.0.0", "port": 9000})
    assert feed_url(wildcard, "x").startswith("http://localhost:9000/")
