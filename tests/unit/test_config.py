"""Configuration: defaults, file, environment overrides, every problem reported at once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bridge.config import SCHEMA, load, render_example, with_secret_key
from bridge.errors import ConfigError


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = load(tmp_path / "missing.toml", env={})
    assert settings.storage_url == "sqlite:///var/bridge.db"
    assert settings.dav.port == 5232
    assert settings.http.port == 8080
    assert settings.sync.poll_interval == 300
    assert settings.sources["dav"]["port"] == "default"


def test_file_then_env_override(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text('[dav]\nport = 6000\n[google]\npoll_interval = 60\n', encoding="utf-8")
    settings = load(path, env={"TERMIN_BRIDGE_DAV_PORT": "7000",
                               "TERMIN_BRIDGE_STORAGE_DATA_DIR": "/srv/tb",
                               "TERMIN_BRIDGE_ADMIN_PASSWORD": "not-a-config-key"})
    assert settings.dav.port == 7000
    assert settings.sources["dav"]["port"] == "env TERMIN_BRIDGE_DAV_PORT"
    # poll_interval moved from [google] to [sync]: the old place is still read.
    assert settings.sync.poll_interval == 60
    assert settings.sources["sync"]["poll_interval"] == str(path)
    assert settings.data_dir == Path("/srv/tb")


def test_all_problems_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text(
        '[dav]\nport = "high"\n[http]\nport = 70000\npublic_url = "ftp://x"\n'
        '[nonsense]\na = 1\n[google]\nbogus = 1\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load(path, env={"TERMIN_BRIDGE_GOOGLE_POLL_INTERVAL": "soon",
                        "TERMIN_BRIDGE_STORAGE_URL": "mysql://x"})
    problems = {(p.key, p.source) for p in info.value.problems}
    assert problems == {
        ("dav.port", str(path)),
        ("http.port", str(path)),
        ("http.public_url", str(path)),
        ("[nonsense]", str(path)),
        ("google.bogus", str(path)),
        ("google.poll_interval", "env TERMIN_BRIDGE_GOOGLE_POLL_INTERVAL"),
        ("storage.url", "env TERMIN_BRIDGE_STORAGE_URL"),
    }
    text = str(info.value)
    assert "7 configuration problem(s)" in text and "must be a port number" in text


def test_invalid_toml_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text("[dav\nport=1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path, env={})


def test_secret_key_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = load(tmp_path / "none.toml", env={"TERMIN_BRIDGE_STORAGE_DATA_DIR": str(tmp_path)})
    assert with_secret_key(settings, create=False) is settings  # only a first start creates it
    key_file = tmp_path / "secret_key"
    assert not key_file.exists()
    first = with_secret_key(settings, create=True)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = with_secret_key(settings, create=False)
    assert first.security.secret_key == second.security.secret_key
    assert len(first.security.secret_key) >= 48


def test_example_file_documents_every_key_and_is_current() -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "bridge.example.toml"
    assert example.read_text(encoding="utf-8") == render_example()
    parsed = load(example, env={})
    for section, options in SCHEMA.items():
        for key, option in options.items():
            assert getattr(getattr(parsed, section), key) == option.default


def test_moved_keys_are_read_under_their_old_names_and_the_new_name_wins(tmp_path: Path
                                                                          ) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text('[google]\npush = "off"\nsafety_window = 30\n[microsoft]\npoll_interval = 90\n'
                    '[sync]\nsafety_window = 45\n', encoding="utf-8")
    settings = load(path, env={"TERMIN_BRIDGE_GOOGLE_SAFETY_DELETE_SHARE": "0.25"})
    assert (settings.sync.push, settings.sync.poll_interval) == ("off", 90)
    assert settings.sync.safety_window == 45.0
    assert settings.sync.safety_delete_share == 0.25
    assert settings.sources["sync"]["safety_delete_share"] == \
        "env TERMIN_BRIDGE_GOOGLE_SAFETY_DELETE_SHARE"
    with pytest.raises(ConfigError, match=r"sync\.push"):
        load(path, env={"TERMIN_BRIDGE_GOOGLE_PUSH": "sometimes"})


def test_base_url_names_an_address_people_and_providers_reach(tmp_path: Path) -> None:
    base = load(tmp_path / "none.toml", env={})
    public = base.with_overrides(http={"public_url": "https://termine.example.org/"})
    assert public.base_url == "https://termine.example.org"
    assert base.with_overrides(http={"host": "0.0.0.0", "port": 8081}).base_url \
        == "http://localhost:8081"  # a bind-all address is no link target (OAuth, e-mails)
    assert base.with_overrides(http={"host": "::1", "port": 8081}).base_url == "http://[::1]:8081"
    assert base.with_overrides(http={"host": "127.0.0.1", "port": 8081}).base_url \
        == "http://127.0.0.1:8081"
