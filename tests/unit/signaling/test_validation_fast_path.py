"""SIG-6: the fast check in front of jsonschema never accepts what the schema rejects.

:func:`harness.signaling.validation.validate` answers "valid" for plainly valid
``session.create`` / ``session.created`` messages without running jsonschema.
Here every message is also judged by jsonschema itself, directly: wherever the
fast check says valid, the schema must agree, and ``validate`` must report
exactly the schema's errors everywhere else.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from harness.signaling import (
    BotCredentials,
    ClientOffer,
    MediaAddress,
    Mode,
    SessionCreated,
    SessionCreateRequest,
    validate,
)
from harness.signaling.validation import PLAINLY_VALID, SCHEMA_BY_TYPE
from harness.specs_data import load_schema

CLIENT = ClientOffer(sdp="v=0\r\n", ice_ufrag="Cl1entUfragAbcd", ice_pwd="p" * 24)
BOT = BotCredentials(ice_ufrag="B0tUfragAbcdEfgh", ice_pwd="q" * 24)

VALID = [
    SessionCreateRequest("r-1", Mode.ULLC, CLIENT, BOT, edge_ip="127.10.1.1").to_json(),
    SessionCreateRequest("r.2_x", Mode.ULLC, CLIENT, BOT, edge_ip="2001:db8::1").to_json(),
    SessionCreateRequest("r-3", Mode.SEQUENTIAL, CLIENT).to_json(),
    {**SessionCreateRequest("r-4", Mode.SEQUENTIAL, CLIENT).to_json(), "call_id": "c" * 128},
    SessionCreated("r-1", "s-1", "dc-eu", MediaAddress("127.10.1.1", 40001), "v1").to_json(),
    SessionCreated(
        "r-2", "s-2", "dc-us", MediaAddress("::1", 1), "v2", BotCredentials("abcd", "x" * 22, "")
    ).to_json(),
]

ODD_VALUES: list[Any] = [
    None, True, 0, 1, 1.0, 65535, 65536, -1, "", "x", "x" * 65, "x" * 129, "x" * 300,
    "a b", "r-1\n", "1.2.3.4", "1.2.3.04", "::1", "fe80::1%eth0", "ullc", "sequential",
    "session.create", "session.created", "abcd", "p" * 22, "p" * 21, "s" * 65537, {}, [],
]  # fmt: skip


def _paths(body: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(body, dict):
        for key, value in body.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))


def _mutants(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The message with one field removed, replaced by an odd value, or one field added."""
    for path in list(_paths(body)):
        for replacement in [*ODD_VALUES, KeyError]:
            mutant = copy.deepcopy(body)
            parent = mutant
            for key in path[:-1]:
                parent = parent[key]
            if replacement is KeyError:
                del parent[path[-1]]
            else:
                parent[path[-1]] = replacement
            yield mutant
    for target in [(), *(p for p in _paths(body) if isinstance(_get(body, p), dict))]:
        mutant = copy.deepcopy(body)
        _get(mutant, target)["extra"] = "x"
        yield mutant
    for key in ("bot", "edge_ip"):
        mutant = copy.deepcopy(body)
        if key not in mutant:
            mutant[key] = BOT.to_json() if key == "bot" else "127.0.0.1"
            yield mutant


def _get(body: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        body = body[key]
    return body


def _schema_errors(message: dict[str, Any]) -> list[tuple[str, str]]:
    schema = load_schema(SCHEMA_BY_TYPE[message["type"]])
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(message), key=lambda e: list(e.path))
    return [(".".join(str(p) for p in e.path) or "(root)", e.message) for e in errors]


@pytest.mark.parametrize("message", VALID, ids=lambda m: f"{m['type']}-{m['request_id']}")
def test_plainly_valid_messages_take_the_fast_path(message: dict[str, Any]) -> None:
    assert _schema_errors(message) == []
    assert PLAINLY_VALID[SCHEMA_BY_TYPE[message["type"]]](message)
    assert validate(message) == []


@pytest.mark.parametrize("message", VALID, ids=lambda m: f"{m['type']}-{m['request_id']}")
def test_fast_path_never_accepts_what_the_schema_rejects(message: dict[str, Any]) -> None:
    fast = PLAINLY_VALID[SCHEMA_BY_TYPE[message["type"]]]
    checked = 0
    for mutant in _mutants(message):
        if not isinstance(mutant.get("type"), str) or mutant["type"] not in SCHEMA_BY_TYPE:
            continue
        expected = _schema_errors(mutant)
        if fast(mutant):
            assert expected == [], mutant
        assert [(v.path, v.message) for v in validate(mutant)] == expected
        checked += 1
    assert checked > 100
