"""The CLI end to end in a temp dir, as a user runs it (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import vevent


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERMIN_BRIDGE_")}

    def runner(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge", *args], cwd=tmp_path, env=env, input=stdin,
            capture_output=True, text=True, timeout=120, check=False,
        )

    return runner


@pytest.mark.timeout(300)  # two dozen CLI processes: slow when the machine is busy
def test_users_calendars_import_export(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    added = run("user", "add", "alice", "--password-stdin", stdin="s3cret\n")
    assert added.returncode == 0, added.stderr
    # Only `serve` creates the configuration file and the secret key; the store is created by
    # the first command that writes to it.
    assert (tmp_path / "var/bridge.db").exists()
    assert not (tmp_path / "var/bridge.toml").exists()
    assert not (tmp_path / "var/secret_key").exists()
    generated = run("user", "add", "boss", "--admin")
    assert "generated password (shown once):" in generated.stdout
    listed = run("user", "list")
    assert "alice\tstaff" in listed.stdout and "boss\tadmin" in listed.stdout
    assert run("user", "add", "alice", "--password-stdin", stdin="x\n").returncode == 1
    bad_name = run("user", "add", "../evil", "--password-stdin", stdin="x\n")
    assert bad_name.returncode == 1 and "invalid user name" in bad_name.stderr
    assert "Traceback" not in bad_name.stderr

    assert run("calendar", "add", "alice/work", "--name", "Work").returncode == 0
    tz = run("calendar", "add", "alice/x", "--timezone", "Mars/Base")
    assert tz.returncode == 1 and "unknown time zone" in tz.stderr
    nouser = run("calendar", "add", "carol/x")
    assert nouser.returncode == 1 and "no user called 'carol'" in nouser.stderr
    assert "alice/work\tWork\tEurope/Berlin" in run("calendar", "list").stdout
    shared = run("calendar", "share", "alice/work", "boss", "--write")
    assert shared.returncode == 0 and "/boss/alice~work/" in shared.stdout
    assert "alice/work\tboss\twrite" in run("calendar", "shares").stdout
    assert run("calendar", "share", "alice/work", "nobody").returncode == 1
    assert run("calendar", "share", "alice/work", "boss", "--revoke").returncode == 0
    assert run("calendar", "shares", "--user", "boss").stdout.strip() == "no shared calendars"

    good = vevent("good", summary="Good one")
    bad = vevent("bad", "20260105T100000Z", "20260101T000000Z")
    whole = good.replace("END:VCALENDAR\r\n", "") + bad.split("VERSION:2.0\r\nPRODID:-//test//EN"
                                                             "\r\n", 1)[1]
    (tmp_path / "in.ics").write_text(whole, encoding="utf-8")
    strict = run("import-ics", "alice/work", "in.ics", "--strict")
    assert strict.returncode == 1 and "nothing imported" in strict.stderr
    assert "UID bad: DTEND is before DTSTART" in strict.stderr
    partial = run("import-ics", "alice/work", "in.ics")
    assert partial.returncode == 1
    assert "1 new" in partial.stdout and "1 rejected" in partial.stdout
    exported = run("export-ics", "alice/work")
    assert exported.returncode == 0
    assert "UID:good" in exported.stdout and "UID:bad" not in exported.stdout
    assert "X-WR-CALNAME:Work" in exported.stdout
    # Round trip: the export imports again with nothing changed.
    (tmp_path / "out.ics").write_text(exported.stdout, encoding="utf-8")
    again = run("import-ics", "alice/work", "out.ics")
    assert again.returncode == 0 and "1 unchanged" in again.stdout

    missing = run("import-ics", "alice/none", "in.ics")
    assert missing.returncode == 1 and "not found: calendar alice/none" in missing.stderr
    nofile = run("import-ics", "alice/work", "nope.ics")
    assert nofile.returncode == 1 and "cannot read nope.ics" in nofile.stderr
    assert run("db", "upgrade").stdout.startswith("database is up to date")


def test_config_errors_are_one_clear_message(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.toml").write_text('[dav]\nport = 0\n[http]\nport = "x"\n', encoding="utf-8")
    result = run("--config", "bad.toml", "user", "list")
    assert result.returncode == 2
    assert "2 configuration problem(s)" in result.stderr and "dav.port" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_logs_never_show_secrets(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from bridge.logging_setup import redact

    assert "ya29" not in redact("Authorization: Bearer ya29.a0AfH6SM")
    assert "1//0abc" not in redact("refresh_token=1//0abcdef")
    assert "s3cret" not in redact("password=s3cret user=alice")
    assert "tok123456" not in redact("GET /feeds/tok123456.ics")
    env_url = "sqlite:///var/bridge.db"
    (tmp_path / "pw.toml").write_text(f'[storage]\nurl = "{env_url}"\n', encoding="utf-8")
    result = run("--config", "pw.toml", "--log-format", "json", "--log-level", "DEBUG", "user",
                 "list")
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert lines, "DEBUG names the store it opens"
    for line in lines:
        assert line.startswith("{") and '"level"' in line



def test_logging_section_sets_the_defaults(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "json.toml"
    path.write_text('[logging]\nformat = "json"\nlevel = "DEBUG"\n', encoding="utf-8")
    listed = run("--config", "json.toml", "user", "list")
    assert listed.returncode == 0
    lines = listed.stderr.splitlines()
    assert lines and all(line.startswith("{") for line in lines)
    path.write_text("[logging]\nformat = 3\n", encoding="utf-8")
    bad = run("--config", "json.toml", "user", "list")
    assert bad.returncode == 2 and "logging.format" in bad.stderr


def test_commands_have_no_side_effects(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A --config naming a missing file is an error, not a file created on the spot.
    missing = run("--config", "typo.toml", "user", "list")
    assert missing.returncode == 2 and "file does not exist" in missing.stderr
    assert not (tmp_path / "typo.toml").exists() and not (tmp_path / "var").exists()
    assert run("user", "add", "alice", "--password-stdin", stdin="first\n").returncode == 0
    # Changing a password from a pipe needs --password-stdin (no silent random password).
    piped = run("user", "passwd", "alice", stdin="")
    assert piped.returncode == 1 and "--password-stdin" in piped.stderr
    assert "generated" not in piped.stdout
    changed = run("user", "passwd", "alice", "--password-stdin", stdin="second\n")
    assert changed.returncode == 0 and "password of alice changed" in changed.stdout
    assert not (tmp_path / "var/bridge.toml").exists()


def test_first_start_writes_the_documented_example(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.bootstrap import load_settings
    from bridge.config import render_example

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TERMIN_BRIDGE_CONFIG", raising=False)
    load_settings(None)
    assert not (tmp_path / "var/bridge.toml").exists()
    load_settings(None, create_default=True)
    # Rendered from the schema, so an installed wheel (no config/ folder) writes it too.
    assert (tmp_path / "var/bridge.toml").read_text(encoding="utf-8") == render_example()


def test_every_positional_argument_has_help() -> None:
    import argparse

    from bridge.cli import build_parser

    def walk(parser: argparse.ArgumentParser, name: str) -> list[str]:
        missing = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    missing += walk(sub, f"{name} {sub_name}")
            elif not action.option_strings and not action.help:
                missing.append(f"{name}: {action.dest}")
        return missing

    assert walk(build_parser(), "termin-bridge") == []


def test_exchangelibs_failed_request_record_keeps_only_the_error_line() -> None:
    """exchangelib logs a failed request with its headers and the whole SOAP exchange, which
    holds appointments and customer data: only the error line reaches the log."""
    import logging

    from bridge.logging_setup import SecretScrubber

    record = logging.LogRecord(
        "exchangelib.util", logging.ERROR, __file__, 1, "%s: %s\n%s\n%s",
        ("ErrorServerBusy", "busy", "Request headers: {...}",
         "Request XML: <t:Subject>Dr. Muster, Erika</t:Subject>"), None)
    assert SecretScrubber().filter(record)
    assert record.getMessage() == "ErrorServerBusy: busy (EWS request details withheld)"
    own = logging.LogRecord("bridge.exchange.client", logging.ERROR, __file__, 1,
                            "line one\nline two", None, None)
    SecretScrubber().filter(own)
    assert own.getMessage() == "line one\nline two"
