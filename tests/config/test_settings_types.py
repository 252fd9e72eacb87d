"""Reading typed text (commands, forms) and describing fields (replies, forms, API schema)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from plugins.config.settings_types import (
    Directory,
    ValueProblem,
    check_bounds,
    coerce_json,
    format_duration,
    format_value,
    input_text,
    model_specs,
    parse_duration,
    parse_text,
)
from tests.config.typed_plugin import TypedSettings

SPECS = model_specs(TypedSettings)
GUILD = Directory(channels=((11, "general"), (12, "news")), roles=((21, "Gold"), (22, "Mods")), known=True)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1w", 604800),
        ("90", 90),
        ("1h 5m", 3900),
        ("PT5M", 300),
    ],
)
def test_durations_read_in_human_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "m5", "1h30x", "soon"])
def test_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueProblem):
        parse_duration(text)


def test_duration_is_shown_in_human_units() -> None:
    assert format_duration(5400) == "1h30m"
    assert format_value(SPECS["every"], "PT1H30M") == "1h30m"
    assert format_value(SPECS["cooldown"], 90) == "1m30s"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", True),
        ("ON", True),
        ("true", True),
        ("no", False),
        ("off", False),
        ("False", False),
    ],
)
def test_booleans_accept_yes_no_on_off_true_false(text: str, value: bool) -> None:
    assert parse_text(SPECS["active"], text) is value


def test_bad_boolean_is_refused() -> None:
    with pytest.raises(ValueProblem, match="not yes or no"):
        parse_text(SPECS["active"], "maybe")


def test_time_of_day_and_timezone_are_normalised() -> None:
    assert parse_text(SPECS["post_at"], "7:30") == "07:30"
    assert parse_text(SPECS["digest_time"], "19:05") == "19:05"
    assert parse_text(SPECS["zone"], "europe/paris") == "Europe/Paris"
    with pytest.raises(ValueProblem):
        parse_text(SPECS["post_at"], "25:00")
    with pytest.raises(ValueProblem, match="not a known timezone"):
        parse_text(SPECS["zone"], "Mars/Olympus")


def test_channels_and_roles_by_mention_id_or_name() -> None:
    assert parse_text(SPECS["channel"], "<#12>", GUILD) == 12
    assert parse_text(SPECS["channel"], "12", GUILD) == 12
    assert parse_text(SPECS["channel"], "#General", GUILD) == 11
    assert parse_text(SPECS["role"], "<@&22>", GUILD) == 22
    assert parse_text(SPECS["role"], "@gold", GUILD) == 21
    with pytest.raises(ValueProblem, match="no channel named"):
        parse_text(SPECS["channel"], "#nowhere", GUILD)
    with pytest.raises(ValueProblem, match="not in this server"):
        parse_text(SPECS["role"], "999", GUILD)


def test_lists_are_comma_separated_and_none_clears() -> None:
    assert parse_text(SPECS["excluded"], "<#11>, news", GUILD) == [11, 12]
    assert parse_text(SPECS["tags"], "a, b ,c") == ["a", "b", "c"]
    assert parse_text(SPECS["excluded"], "none", GUILD) == []
    assert parse_text(SPECS["channel"], "none", GUILD) is None


def test_choices_from_literal_and_enum_case_insensitive() -> None:
    assert parse_text(SPECS["colour"], "Green") == "green"
    assert parse_text(SPECS["mode"], "LOUD") == "loud"
    with pytest.raises(ValueProblem, match="not one of red, green, blue"):
        parse_text(SPECS["colour"], "purple")


def test_expected_text_names_type_and_range_from_field_metadata() -> None:
    assert SPECS["limit"].expected() == "a whole number from 1 to 100"
    assert SPECS["ratio"].expected() == "a number from 0 to 1"
    assert SPECS["greeting"].expected() == "text of 1 to 20 characters"
    assert SPECS["every"].expected() == "a duration like 90s, 5m, 1h30m or 2d from 1m to 7d"
    assert SPECS["colour"].expected() == "one of red, green, blue"
    assert SPECS["excluded"].expected() == "a comma-separated list of channels (at most 3 items)"
    assert SPECS["channel"].expected().endswith("(or none)")


def test_schema_is_json_ready() -> None:
    schema = SPECS["every"].to_schema()
    assert schema["kind"] == "duration" and schema["ge"] == 60 and schema["le"] == 7 * 86400
    assert SPECS["mode"].to_schema()["choices"] == ["quiet", "loud"]


def test_json_values_accept_text_forms_and_check_ids() -> None:
    assert coerce_json(SPECS["cooldown"], "2m", GUILD) == 120
    assert coerce_json(SPECS["channel"], "#news", GUILD) == 12
    with pytest.raises(ValueProblem):
        coerce_json(SPECS["channel"], 999, GUILD)
    assert coerce_json(SPECS["limit"], 7, GUILD) == 7


def test_input_text_round_trips() -> None:
    for key, value in [("every", "PT1H30M"), ("cooldown", 90), ("post_at", "07:30:00"), ("excluded", [11, 12])]:
        spec = SPECS[key]
        again = parse_text(spec, input_text(spec, value), GUILD)
        assert TypedSettings.model_validate({key: again}).model_dump(mode="json")[key] == value


def test_unsupported_annotation_is_reported_with_the_field_name() -> None:
    from pydantic import BaseModel

    class Bad(BaseModel):
        when: dict[str, int] = {}

    with pytest.raises(TypeError, match="'when'"):
        model_specs(Bad)


class RaisedCaps(BaseModel):
    """A model that raises the default caps explicitly."""

    many: list[str] = Field(default_factory=list, max_length=500)
    big: str = Field(default="", json_schema_extra={"omo_max_bytes": 50_000})
    plain: list[str] = Field(default_factory=list)


def test_value_caps_default_and_raised_by_the_model() -> None:
    specs = model_specs(RaisedCaps)

    check_bounds(specs["many"], ["t"] * 500)
    check_bounds(specs["big"], "x" * 40_000)
    with pytest.raises(ValueProblem, match="101 items is too many"):
        check_bounds(specs["plain"], ["t"] * 101)
    with pytest.raises(ValueProblem, match="501 items is too many"):
        check_bounds(specs["many"], ["t"] * 501)
    with pytest.raises(ValueProblem, match="too large"):
        check_bounds(specs["plain"], ["x" * 5000, "y" * 5000])
    with pytest.raises(ValueProblem, match="too large"):
        check_bounds(specs["big"], "x" * 60_000)
    with pytest.raises(ValueProblem, match="not finite"):
        check_bounds(SPECS["ratio"], float("nan"))


def test_a_boolean_is_never_read_as_a_number() -> None:
    for key in ("limit", "ratio", "cooldown", "channel"):
        with pytest.raises(ValueProblem, match="yes/no, not a number"):
            coerce_json(SPECS[key], True, GUILD)
    assert coerce_json(SPECS["active"], True) is True
