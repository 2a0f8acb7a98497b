"""What a button (``value``) and a modal (``private_metadata``) carry, there and back.

Slack echoes both back untouched, so anything a user could forge, an old message
could still carry, or a transport could cut short must come back as the module's
``ValueError`` naming the problem, never as a half-read value or another exception.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from signoff.slack.action_ids import MAX_BUTTON_VALUE_CHARS, MAX_PRIVATE_METADATA_CHARS, ButtonValue, ModalMetadata

WORKFLOW_ID = "report-T0SANDBOX-C0GENERAL-0123456789abcdef"
CHANNEL = "C0GENERAL"
MESSAGE_TS = "1712345678.000100"
# The JSON around the workflow id in an encoded button value: {"w":"…","r":1}.
BUTTON_FRAME = len(ButtonValue("", 1).encode())
MODAL_FRAME = len(ModalMetadata("", 1, CHANNEL, MESSAGE_TS).encode())

Decoder = type[ButtonValue] | type[ModalMetadata]


def refused(decoder: Decoder, raw: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        decoder.decode(raw)
    # The module's own error: not a JSONDecodeError, TypeError or KeyError leaking through.
    assert type(caught.value) is ValueError


def modal_payload(**changes: Any) -> str:
    payload: dict[str, Any] = {"w": WORKFLOW_ID, "r": 2, "c": CHANNEL, "t": MESSAGE_TS}
    payload.update(changes)
    return json.dumps({k: v for k, v in payload.items() if v is not ...})


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        ButtonValue(WORKFLOW_ID, 1),
        ButtonValue("plan-9", 10**9),
        ButtonValue("report-Énergie-日本-🌞", 3),
        ButtonValue('quote" back\\slash {"w":"x","r":9}', 2),
        ButtonValue("line\nbreak\ttab", 4),
        ButtonValue("w" * (MAX_BUTTON_VALUE_CHARS - BUTTON_FRAME), 1),
    ],
    ids=["plain", "big-revision", "unicode", "json-inside", "control-characters", "at-the-limit"],
)
def test_button_value_round_trip(value: ButtonValue) -> None:
    raw = value.encode()

    assert len(raw) <= MAX_BUTTON_VALUE_CHARS
    assert ButtonValue.decode(raw) == value


@pytest.mark.parametrize(
    "metadata",
    [
        ModalMetadata(WORKFLOW_ID, 2, CHANNEL, MESSAGE_TS),
        ModalMetadata("report-Ünïcødé-🌞", 5, "D0DIRECT", "1.0"),
        ModalMetadata('a"b\\c', 1, "C<1>", "ts&1"),
        ModalMetadata("w" * (MAX_PRIVATE_METADATA_CHARS - MODAL_FRAME), 1, CHANNEL, MESSAGE_TS),
    ],
    ids=["plain", "unicode", "escapes", "at-the-limit"],
)
def test_modal_metadata_round_trip(metadata: ModalMetadata) -> None:
    raw = metadata.encode()

    assert len(raw) <= MAX_PRIVATE_METADATA_CHARS
    assert ModalMetadata.decode(raw) == metadata


def test_non_ascii_counts_as_one_character_each_against_the_limit() -> None:
    value = ButtonValue("日" * (MAX_BUTTON_VALUE_CHARS - BUTTON_FRAME), 1)

    raw = value.encode()

    assert len(raw) == MAX_BUTTON_VALUE_CHARS
    assert ButtonValue.decode(raw) == value


def test_the_encoding_is_compact_json_with_short_keys() -> None:
    assert ButtonValue("wf-1", 2).encode() == '{"w":"wf-1","r":2}'
    assert json.loads(ModalMetadata("wf-1", 2, CHANNEL, MESSAGE_TS).encode()) == {
        "w": "wf-1",
        "r": 2,
        "c": CHANNEL,
        "t": MESSAGE_TS,
    }


# ---------------------------------------------------------------------------
# Oversized, both ways
# ---------------------------------------------------------------------------


def test_a_button_value_one_character_over_the_limit_is_not_encoded() -> None:
    with pytest.raises(ValueError, match=f"{MAX_BUTTON_VALUE_CHARS + 1} characters, over Slack's limit"):
        ButtonValue("w" * (MAX_BUTTON_VALUE_CHARS - BUTTON_FRAME + 1), 1).encode()


def test_modal_metadata_one_character_over_the_limit_is_not_encoded() -> None:
    with pytest.raises(ValueError, match=f"{MAX_PRIVATE_METADATA_CHARS + 1} characters, over Slack's limit"):
        ModalMetadata("w" * (MAX_PRIVATE_METADATA_CHARS - MODAL_FRAME + 1), 1, CHANNEL, MESSAGE_TS).encode()


def test_a_value_one_character_over_the_limit_is_refused_even_when_it_is_otherwise_valid() -> None:
    raw = '{"w":"' + "w" * (MAX_BUTTON_VALUE_CHARS - BUTTON_FRAME + 1) + '","r":1}'
    assert len(raw) == MAX_BUTTON_VALUE_CHARS + 1

    refused(ButtonValue, raw, f"is {MAX_BUTTON_VALUE_CHARS + 1} characters, over Slack's limit of 2000")


def test_metadata_one_character_over_the_limit_is_refused_even_when_it_is_otherwise_valid() -> None:
    raw = " " + ModalMetadata("w" * (MAX_PRIVATE_METADATA_CHARS - MODAL_FRAME), 1, CHANNEL, MESSAGE_TS).encode()
    assert len(raw) == MAX_PRIVATE_METADATA_CHARS + 1

    refused(ModalMetadata, raw, f"is {MAX_PRIVATE_METADATA_CHARS + 1} characters, over Slack's limit of 3000")


# ---------------------------------------------------------------------------
# Damaged, empty, forged, other versions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("decoder", [ButtonValue, ModalMetadata])
@pytest.mark.parametrize("raw", ["", " ", "\n"])
def test_an_empty_value_is_refused(decoder: Decoder, raw: str) -> None:
    refused(decoder, raw, "is not valid JSON")


@pytest.mark.parametrize("cut", [1, 5, 10])
def test_a_value_cut_short_is_refused(cut: int) -> None:
    raw = ButtonValue(WORKFLOW_ID, 2).encode()

    refused(ButtonValue, raw[:-cut], "not valid JSON")


@pytest.mark.parametrize(
    "raw",
    [
        '{"w":"wf","r":1} trailing',
        '{"w":"wf","r":1}{"w":"wf","r":2}',
        "{'w':'wf','r':1}",
        '{"w":"wf","r":1,}',
        '{"w":"wf" "r":1}',
    ],
)
def test_damaged_json_is_refused(raw: str) -> None:
    refused(ButtonValue, raw, "button value is not valid JSON")


@pytest.mark.parametrize("decoder", [ButtonValue, ModalMetadata])
@pytest.mark.parametrize("raw", ["null", "true", "42", '"wf-1"', '["wf-1", 2]'])
def test_json_that_is_not_an_object_is_refused(decoder: Decoder, raw: str) -> None:
    refused(decoder, raw, "must be a JSON object")


@pytest.mark.parametrize("decoder", [ButtonValue, ModalMetadata])
@pytest.mark.parametrize(
    ("raw", "type_name"),
    [(None, "NoneType"), (b'{"w":"wf","r":1}', "bytes"), ({"w": "wf", "r": 1}, "dict"), (7, "int")],
)
def test_something_other_than_a_string_is_refused(decoder: Decoder, raw: Any, type_name: str) -> None:
    refused(decoder, raw, f"must be a string, got {type_name}")


@pytest.mark.parametrize(
    ("revision", "problem"),
    [
        ("2", "whole number"),
        (2.0, "whole number"),
        (False, "whole number"),
        (None, "whole number"),
        ([2], "whole number"),
        (0, "at least 1, got 0"),
        (-3, "at least 1, got -3"),
    ],
)
def test_a_forged_revision_is_refused(revision: Any, problem: str) -> None:
    refused(ButtonValue, json.dumps({"w": WORKFLOW_ID, "r": revision}), f"button value: 'r' must be .*{problem}")
    refused(ModalMetadata, modal_payload(r=revision), f"modal private_metadata: 'r' must be .*{problem}")


@pytest.mark.parametrize("revision", ["NaN", "Infinity", "-Infinity", "1e3", "2.5"])
def test_a_revision_json_reads_as_a_float_is_refused(revision: str) -> None:
    refused(ButtonValue, f'{{"w":"wf","r":{revision}}}', "'r' must be a whole number")


@pytest.mark.parametrize("field", ["w", "c", "t"])
@pytest.mark.parametrize("forged", ["", None, 12, ["C1"], {"id": "C1"}])
def test_a_forged_text_field_in_modal_metadata_is_refused(field: str, forged: Any) -> None:
    refused(ModalMetadata, modal_payload(**{field: forged}), f"'{field}' must be a non-empty string")


@pytest.mark.parametrize("field", ["w", "r", "c", "t"])
def test_modal_metadata_missing_a_field_is_refused(field: str) -> None:
    refused(ModalMetadata, modal_payload(**{field: ...}), f"missing '{field}'")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("report-q3:2", "not valid JSON"),  # a colon-separated value, as an older app might send
        (json.dumps({"workflow_id": WORKFLOW_ID, "revision": 2}), "missing 'w'"),
        (json.dumps({"w": WORKFLOW_ID, "rev": 2}), "missing 'r'"),
        (json.dumps({"W": WORKFLOW_ID, "R": 2}), "missing 'w'"),
        (json.dumps([{"w": WORKFLOW_ID, "r": 2}]), "must be a JSON object"),
        (json.dumps({"v": 2, "payload": {"w": WORKFLOW_ID, "r": 2}}), "missing 'w'"),
    ],
)
def test_a_value_in_another_format_is_refused(raw: str, problem: str) -> None:
    refused(ButtonValue, raw, problem)


def test_a_button_value_is_not_modal_metadata() -> None:
    refused(ModalMetadata, ButtonValue(WORKFLOW_ID, 2).encode(), "missing 'c'")


def test_the_error_names_where_the_value_came_from() -> None:
    refused(ButtonValue, "{}", "^button value is missing 'w'$")
    refused(ModalMetadata, "{}", "^modal private_metadata is missing 'w'$")
