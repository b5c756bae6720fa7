"""The field table: one definition of every setting, read the same way for workshop.toml and the
lesson header, and the README's reference generated from it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from workshopkit.schema import (
    EVENTS,
    EXECUTION,
    HEADER,
    REQUIRED,
    TRACKS,
    WORKSHOP,
    Field,
    Table,
    brief,
    id_problem,
    parameter_problem,
    read_table,
    reference_markdown,
    text,
)


def read(table: Table, data: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    found: list[tuple[str, str]] = []
    values = read_table(table, data, "", lambda key, message: found.append((key, message)))
    return values, found


@pytest.mark.parametrize("ident", ["abc\n", "abc\r\n", "\nabc", "a\x00b", "abc ", "ABC", "-a"])
def test_an_id_must_match_as_a_whole(ident: str) -> None:
    assert id_problem(ident) is not None


@pytest.mark.parametrize("ident", ["abc", "a-1", "1", "x" * 64])
def test_good_ids(ident: str) -> None:
    assert id_problem(ident) is None


def test_windows_names_are_refused_as_ids() -> None:
    assert id_problem("aux") == "is a reserved file name on Windows"


def test_defaults_fill_absent_and_wrong_values() -> None:
    values, found = read(EXECUTION, {"timeout": 0, "jobs": 3})
    assert values["timeout"] == 120 and values["jobs"] == 3 and values["lesson_timeout"] == 900
    assert found == [("timeout", "'timeout' must be a positive integer, not 0")]


def test_a_near_miss_of_a_required_key_is_reported_once() -> None:
    _, found = read(HEADER, {"titel": "T", "level": "beginner", "minutes": 5})
    assert [key for key, _ in found] == ["titel"]
    assert "did you mean 'title'?" in found[0][1]


def test_a_missing_required_key_is_reported_at_its_table() -> None:
    table = Table("t", "[t]", "", (Field("name", text(), "", REQUIRED, "needs a name"),))
    values, found = read(table, {})
    assert values == {"name": None} and found == [("", "needs a name")]


def test_item_problems_name_the_item_and_keep_the_good_items() -> None:
    values, found = read(TRACKS, {"id": "t", "levels": ["beginner", "expert", "advanced"]})
    assert values["levels"] == ("beginner", "advanced")
    assert [key for key, _ in found] == ["levels.1"]


def test_a_huge_value_is_quoted_briefly() -> None:
    huge = "x" * 10_000_000
    _, found = read(WORKSHOP, {"title": "T", "description": [huge] * 1000})
    (key, message) = found[0]
    assert key == "description" and len(message) < 200
    assert len(brief(huge)) == 80 and brief(huge).endswith("...")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1, None),
        ("x", None),
        ([1, {"a": [True, None]}], None),
        (__import__("datetime").date(2024, 1, 1), "date"),
        ({1: "a"}, "keys"),
        ({1, 2}, "set"),
    ],
)
def test_parameter_values(value: Any, problem: str | None) -> None:
    found = parameter_problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_every_field_is_in_the_reference_with_its_default() -> None:
    reference = reference_markdown()
    for table in (WORKSHOP, EXECUTION, TRACKS, EVENTS, HEADER, *EVENTS.tables, *HEADER.tables):
        for spec in table.fields:
            row = rf"^\| `{spec.name}` \| .+ \| {re.escape(spec.doc)} \|$"
            assert re.search(row, reference, re.M), (table.key, spec.name)
    assert "| `timeout` | positive integer | `120` |" in reference
    assert "| `strict` | true or false | `false` |" in reference
    assert "| `level` | beginner \\| intermediate \\| advanced | required |" in reference


def test_the_readers_use_the_table() -> None:
    """config and validate take their keys from here (no second list to drift)."""
    from workshopkit.validate import BLOCK_KEYS

    assert HEADER.names == BLOCK_KEYS
    assert "strict" in EXECUTION.names


def test_the_readme_reference_is_generated_from_the_field_table() -> None:
    from pathlib import Path

    from workshopkit.schema import reference_markdown

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- reference:start -->\n", "\n<!-- reference:end -->"
    shown = readme[readme.index(start) + len(start) : readme.index(end)]
    assert shown == reference_markdown().strip(), "regenerate the README's reference section"
