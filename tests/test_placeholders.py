"""Text left from the starters is a warning (an error under --strict), found from the starters
themselves, so that editing a starter updates what is recognised (issue 13)."""

from __future__ import annotations

from pathlib import Path

from helpers import lesson_text, make_workshop

from workshopkit.pipeline import open_workshop
from workshopkit.placeholders import Placeholders, placeholder_warnings, starter_placeholders
from workshopkit.starters import new_lesson, new_workshop


def messages(root: Path) -> list[str]:
    opened = open_workshop(root)
    assert opened.workshop is not None, opened.diagnostics
    return [str(d) for d in opened.diagnostics]


def test_the_placeholders_come_from_the_starters() -> None:
    found = starter_placeholders()
    assert found is not None
    assert found.description == "What attendees will learn, in a sentence or two."
    assert found.title == "My workshop"
    assert found.objectives == ("Run a cell and read its output", "Fill in an exercise")
    assert any("BEGIN SOLUTION" in text for text in found.cells)


def test_a_fresh_workshop_lists_what_is_left_to_write(tmp_path: Path) -> None:
    new_workshop(tmp_path / "ws", "Autumn meetup")
    new_lesson(tmp_path / "ws" / "lessons" / "02-numpy", "NumPy", "beginner")
    found = messages(tmp_path / "ws")
    assert found == [
        "lessons/01-welcome/welcome.py:11: warning: 'objectives' are still the starter's "
        "examples; list what attendees will learn",
        "lessons/01-welcome/welcome.py:18: warning: cell 1 is the starter lesson's text, "
        "unchanged (and 8 more cells after it); replace it with your own",
        "lessons/02-numpy/numpy.py:11: warning: 'objectives' are still the starter's "
        "examples; list what attendees will learn",
        "lessons/02-numpy/numpy.py:18: warning: cell 1 is the starter lesson's text, "
        "unchanged (and 8 more cells after it); replace it with your own",
        "workshop.toml:3: warning: 'description' is still the starter's placeholder 'What "
        "attendees will learn, in a sentence or two.'; write your own",
    ]


def test_one_cell_left_is_named_at_its_line(tmp_path: Path) -> None:
    text = lesson_text(
        "x = 1",
        "# %% [markdown]\n# # Anything\n#\n# Every code cell runs when the workshop is built, "
        "so the example is proven to work.",
    )
    root = make_workshop(tmp_path / "ws", {"lessons/a.py": text})
    (found,) = messages(root)
    line = text.split("\n").index("# %% [markdown]") + 1
    assert found == (
        f"lessons/a.py:{line}: warning: cell 2 is the starter lesson's text, unchanged; "
        "replace it with your own"
    )


def test_written_lessons_and_partly_kept_objectives_are_not_placeholders(tmp_path: Path) -> None:
    text = lesson_text(
        "squares = [i * i for i in range(3)]  # changed from the starter",
        extra="objectives: [Run a cell and read its output, Fit a line]",
    )
    root = make_workshop(tmp_path / "ws", {"lessons/a.py": text})
    assert messages(root) == []


def test_the_check_is_driven_by_what_it_is_given(tmp_path: Path) -> None:
    root = make_workshop(tmp_path / "ws", {"lessons/a.py": lesson_text("x = 41")})
    workshop = open_workshop(root).workshop
    assert workshop is not None
    custom = Placeholders("T", "", (), frozenset({"x = 41"}))
    (found,) = placeholder_warnings(workshop.config, workshop.lessons, custom)
    assert "cell 1 is the starter lesson's text" in found.message
    assert str(found).startswith("lessons/a.py:")
    nothing = Placeholders("Test workshop", "", (), frozenset())
    (title,) = placeholder_warnings(workshop.config, (), nothing)
    assert title.path == "workshop.toml" and "'title'" in title.message
