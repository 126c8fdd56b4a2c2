"""Method ids, paths and accepted scopes, read from the discovery document of the real client.

google-api-python-client ships ``calendar.v3.json``; the emulator takes each method's HTTP verb,
path template and scope list from it, so scope enforcement matches what Google documents for the
installed client version.  The document is read lazily on first use, never at import time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

__all__ = ["SCOPE_PREFIX", "MethodSpec", "discovery_document", "match_route", "method_specs"]

SCOPE_PREFIX = "https://www.googleapis.com/auth/"


@dataclass(frozen=True)
class MethodSpec:
    """One API method: id, verb, path template (relative to ``/calendar/v3/``) and scopes."""

    id: str
    http_method: str
    path: str
    scopes: frozenset[str]
    pattern: re.Pattern[str]
    params: tuple[str, ...]


@cache
def discovery_document() -> dict[str, Any]:
    """The bundled ``calendar.v3.json`` discovery document."""
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache/documents/calendar.v3.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _compile(path: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    params: list[str] = []
    regex = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            params.append(part[1:-1])
            regex += "([^/]+)"
        else:
            regex += re.escape(part)
    return re.compile("^" + regex + "$"), tuple(params)


@cache
def method_specs() -> tuple[MethodSpec, ...]:
    """Every method of the discovery document, literal paths before parameterised ones."""
    specs: list[MethodSpec] = []

    def walk(resources: dict[str, Any]) -> None:
        """Collect the methods of ``resources`` and their sub-resources."""
        for resource in resources.values():
            for method in resource.get("methods", {}).values():
                pattern, params = _compile(method["path"])
                specs.append(
                    MethodSpec(
                        id=method["id"],
                        http_method=method["httpMethod"],
                        path=method["path"],
                        scopes=frozenset(method.get("scopes", [])),
                        pattern=pattern,
                        params=params,
                    )
                )
            walk(resource.get("resources", {}))

    walk(discovery_document()["resources"])
    specs.sort(key=lambda s: len(s.params))
    return tuple(specs)


def match_route(http_method: str, rel_path: str) -> tuple[MethodSpec, dict[str, str]] | None:
    """Find the method for a verb and a raw path below ``/calendar/v3/``; decodes parameters."""
    for spec in method_specs():
        match = spec.pattern.match(rel_path)
        if match is None:
            continue
        if spec.http_method == http_method:
            values = {name: unquote(v) for name, v in zip(spec.params, match.groups(), strict=True)}
            return spec, values
    return None
