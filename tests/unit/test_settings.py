"""Typed settings: the section dataclasses agree with SCHEMA; overrides keep the types."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import get_type_hints

import pytest

from bridge.config import SCHEMA, load
from bridge.settings import Settings, section_types


def test_sections_and_fields_match_the_schema() -> None:
    assert list(section_types()) == list(SCHEMA)
    for section, kind in section_types().items():
        hints = get_type_hints(kind)
        assert [f.name for f in dataclasses.fields(kind)] == list(SCHEMA[section]), section
        for key, option in SCHEMA[section].items():
            assert hints[key] is option.type, f"{section}.{key}"


def test_defaults_arrive_with_the_schema_type(tmp_path: Path) -> None:
    settings = load(tmp_path / "missing.toml", env={})
    for section, options in SCHEMA.items():
        typed = getattr(settings, section)
        for key, option in options.items():
            value = getattr(typed, key)
            assert value == option.default, f"{section}.{key}"
            assert type(value) is option.type, f"{section}.{key}"


def test_file_and_environment_values_are_typed(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text("[notifications]\nretry_base = 2\nenabled = false\n", encoding="utf-8")
    settings = load(path, env={"TERMIN_BRIDGE_NOTIFICATIONS_MAX_ATTEMPTS": "3",
                               "TERMIN_BRIDGE_SYNC_SAFETY_WINDOW": "60"})
    assert settings.notifications.max_attempts == 3
    assert settings.notifications.retry_base == 2.0
    assert type(settings.notifications.retry_base) is float
    assert settings.notifications.enabled is False
    assert settings.sync.safety_window == 60.0
    assert type(settings.sync.safety_window) is float


def test_with_overrides_returns_a_new_typed_copy(tmp_path: Path) -> None:
    base = load(tmp_path / "missing.toml", env={})
    changed = base.with_overrides(http={"port": 9000, "public_url": "https://x.example"},
                                  notifications={"retry_base": 1})
    assert changed.http.port == 9000
    assert changed.http.public_url == "https://x.example"
    assert changed.http.host == base.http.host
    assert changed.notifications.retry_base == 1.0
    assert type(changed.notifications.retry_base) is float
    assert changed.dav is base.dav
    assert base.http.port == 8080 and base.notifications.retry_base == 30.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.http.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"http": {"prot": 1}}, "unknown setting http.prot"),
        ({"htp": {"port": 1}}, "unknown settings section 'htp'"),
        ({"sources": {}}, "unknown settings section 'sources'"),
        ({"http": {"port": "9000"}}, "http.port must be a int, got str"),
        ({"dav": {"port": True}}, "dav.port must be a int, got bool"),
        ({"notifications": {"enabled": 1}}, "notifications.enabled must be a bool, got int"),
    ],
)
def test_with_overrides_refuses_unknown_keys_and_wrong_types(
    tmp_path: Path, overrides: dict[str, dict[str, object]], message: str
) -> None:
    base = load(tmp_path / "missing.toml", env={})
    with pytest.raises(TypeError, match=message):
        base.with_overrides(**overrides)


def test_from_values_needs_every_key(tmp_path: Path) -> None:
    base = load(tmp_path / "missing.toml", env={})
    values = {s: dataclasses.asdict(getattr(base, s)) for s in SCHEMA}
    assert Settings.from_values(values) == dataclasses.replace(base, sources={}, path=None)
    del values["logging"]["level"]
    with pytest.raises(TypeError, match="level"):
        Settings.from_values(values)
