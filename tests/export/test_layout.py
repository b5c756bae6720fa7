"""Slides that fit one screen (export.layout): splitting, bounding, trimming, and what `build`
reports. The browser tests check the same decks in Chromium (tests/browser)."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import struct
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers import line_of
from layout_scenarios import LayoutBuild, layout_build
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workshopkit.export import layout
from workshopkit.export.layout import (
    BUDGET,
    CONTINUED_DATA_KEY,
    SLIDE_HEIGHT,
    TAG_CONTINUED,
    TAG_OUTPUT_ONLY,
    image_size,
    remote_images_to_links,
    split_code,
    trim_traceback,
)
from workshopkit.export.slides import prepare_deck, render_slides

WORDS = (
    "Every step is small on purpose; when you teach this, pause after each output and ask what "
    "the learners expect the next line to print. "
)


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * 3 * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def cells_with_ids(*cells: Any) -> NotebookNode:
    nb = new_notebook(cells=list(cells))
    for number, cell in enumerate(nb.cells, start=1):
        cell["id"] = f"cell-{number}"
    return nb


def slide_type(cell: Any) -> str:
    return str(cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-"))


def slides_of(nb: NotebookNode) -> list[list[Any]]:
    """The deck's cells grouped by slide (a ``slide`` or ``subslide`` starts one)."""
    slides: list[list[Any]] = []
    for cell in nb.cells:
        kind = slide_type(cell)
        if kind in ("skip", "notes"):
            continue
        if kind in ("slide", "subslide") or not slides:
            slides.append([])
        slides[-1].append(cell)
    return slides


def text_of(nb: NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        parts.append(str(cell.source))
        for output in cell.get("outputs", []):
            parts.append(json.dumps(output))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Measuring


def test_image_size_reads_png_jpeg_gif_and_svg_headers() -> None:
    jpeg = (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        b"\xff\xc0\x00\x11\x08\x01\x2c\x02\x58\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    assert image_size(png(640, 480)) == (640, 480)
    assert image_size(jpeg) == (600, 300)
    assert image_size(b"GIF89a" + struct.pack("<HH", 32, 16) + b"\x00" * 8) == (32, 16)
    assert image_size(b'<svg xmlns="x" width="300pt" height="150pt">') == (400, 200)
    assert image_size(b'<svg viewBox="0 0 120 60">') == (120, 60)
    assert image_size(b"not an image") is None


def test_every_estimated_slide_fits_for_a_long_lesson_without_metadata() -> None:
    cells = [new_markdown_cell("# One heading for the whole lesson\n\n" + WORDS * 3)]
    for n in range(12):
        cells.append(new_markdown_cell((WORDS * (n % 4 + 1)).strip()))
        code = new_code_cell(
            "\n".join(f"value_{n}_{k} = {k} * {n}" for k in range(n % 7 + 1)), execution_count=n
        )
        text = "".join(f"line {k}\n" for k in range(n * 4))
        code.outputs = [new_output("stream", name="stdout", text=text)] if text else []
        cells.append(code)
    laid = prepare_deck(cells_with_ids(*cells))
    assert laid.slides == len(slides_of(laid.nb)) > 5
    assert all(height <= BUDGET for height in laid.heights), laid.heights
    assert laid.problems == ()


# ---------------------------------------------------------------------------------------------
# Headings, markdown


def test_headings_of_any_level_start_slides_inside_one_cell() -> None:
    source = "# Title\n\nIntro.\n\n## Part\n\nText.\n\n### Detail\n\nMore.\n\n#### Note\n\nEnd."
    laid = prepare_deck(cells_with_ids(new_markdown_cell(source)))
    firsts = [slide[0].source.split("\n")[0] for slide in slides_of(laid.nb)]
    assert firsts == ["# Title", "## Part", "### Detail", "#### Note"]
    assert [slide_type(s[0]) for s in slides_of(laid.nb)] == [
        "slide",
        "subslide",
        "subslide",
        "subslide",
    ]


def test_long_markdown_splits_between_blocks_and_keeps_every_paragraph() -> None:
    paragraphs = [f"Paragraph {n}. " + WORDS * 3 for n in range(10)]
    items = [f"{n}. Step {n}: " + WORDS for n in range(1, 15)]
    source = "## Why this matters\n\n" + "\n\n".join(paragraphs) + "\n\n" + "\n".join(items)
    source += "\n\nSee [the docs][docs].\n\n[docs]: https://example.org/docs"
    laid = prepare_deck(cells_with_ids(new_markdown_cell(source)))
    slides = slides_of(laid.nb)
    assert len(slides) >= 4
    deck_text = "\n".join(c.source for c in laid.nb.cells)
    for paragraph in paragraphs + items:
        assert paragraph in deck_text
    # a list split between slides goes on with its own numbers, and references still resolve
    continued = [s[0] for s in slides[1:]]
    assert all(
        c.metadata["slideshow"]["data"][CONTINUED_DATA_KEY] == "Why this matters (continued)"
        for c in continued
    )
    assert any(re.match(r"^(?:[2-9]|1[0-4])\. Step", c.source) for c in continued)
    last = laid.nb.cells[-1].source
    assert "[docs]: https://example.org/docs" in last
    assert all(h <= BUDGET for h in laid.heights)


# ---------------------------------------------------------------------------------------------
# Code and outputs


def test_code_and_output_share_a_slide_when_they_fit_and_follow_each_other_otherwise() -> None:
    short = new_code_cell("print('hi')", execution_count=1)
    short.outputs = [new_output("stream", name="stdout", text="hi\n")]
    tall = new_code_cell("\n".join(f"x{k} = {k}" for k in range(14)), execution_count=2)
    tall.outputs = [
        new_output(
            "display_data",
            data={"image/png": base64.b64encode(png(800, 600)).decode(), "text/plain": "<Fig>"},
        )
    ]
    laid = prepare_deck(cells_with_ids(new_markdown_cell("# Plots"), short, tall))
    slides = slides_of(laid.nb)
    codes = [c for c in laid.nb.cells if c.cell_type == "code"]
    assert codes[0].outputs and codes[0].source == "print('hi')"  # with its output
    assert codes[1].source.startswith("x0 = 0") and codes[1].outputs == []
    assert TAG_OUTPUT_ONLY in codes[2].metadata["tags"] and codes[2].outputs
    assert slides[-1][0] is codes[2]  # the plot goes on the next slide, after its code


def test_a_code_cell_taller_than_a_screen_splits_at_blank_lines_and_is_marked() -> None:
    blocks = []
    for n in range(6):
        body = "\n".join(f"    total += value_{n}_{k}" for k in range(7))
        blocks.append(f"def step_{n}(total):\n{body}\n    return total")
    source = "# six steps\n" + "\n\n".join(blocks)  # 60 lines
    assert len(source.split("\n")) == 60
    parts = split_code(source, layout.PIECE_ROOM)
    assert len(parts) >= 2
    assert all(text.startswith("def step_") for _, text in parts[1:])  # cut before a def
    assert [line for _, t in parts for line in t.split("\n") if line.strip()] == [
        line for line in source.split("\n") if line.strip()
    ]
    assert parts[0][0] == 0
    assert source.split("\n")[parts[1][0]] == parts[1][1].split("\n")[0]

    cell = new_code_cell(source, execution_count=1)
    laid = prepare_deck(cells_with_ids(cell))
    codes = [c for c in laid.nb.cells if c.cell_type == "code"]
    assert len(codes) == len(parts)
    assert all(TAG_CONTINUED in c.metadata["tags"] for c in codes[1:])
    assert len({c["id"] for c in laid.nb.cells}) == len(laid.nb.cells)
    assert [p.message.startswith("code cell too tall") for p in laid.problems] == [True]


def test_a_cell_without_blank_lines_still_splits_and_keeps_every_line() -> None:
    source = "\n".join(f"v{k} = {k}" for k in range(70))
    parts = split_code(source, layout.PIECE_ROOM)
    assert len(parts) >= 3
    assert "\n".join(t for _, t in parts) == source


def test_tall_outputs_are_bounded_on_slides_only() -> None:
    text = "".join(f"row {k}: value {k * k}\n" for k in range(500))
    table_rows = "".join(f"<tr><th>{k}</th><td>{k}</td><td>{k * 2}</td></tr>" for k in range(300))
    table = (
        '<table class="dataframe"><thead><tr><th></th><th>a</th><th>b</th></tr></thead>'
        f"<tbody>{table_rows}</tbody></table><p>300 rows × 2 columns</p>"
    )
    printed = new_code_cell("for k in range(500): print(k)", execution_count=1)
    printed.outputs = [new_output("stream", name="stdout", text=text)]
    frame = new_code_cell("df", execution_count=2)
    frame.outputs = [
        new_output(
            "execute_result", data={"text/html": table, "text/plain": "df"}, execution_count=2
        )
    ]
    nb = cells_with_ids(printed, frame)
    laid = prepare_deck(nb)
    shown = text_of(laid.nb)
    assert "row 0: value 0" in shown and "row 499: value 249001" in shown
    assert re.search(r"\.\.\. [\d,]+ more lines \(the full output is in the solution", shown)
    assert "<th>0</th>" in shown and "<th>299</th>" in shown and "<th>150</th>" not in shown
    assert re.search(r"\.\.\. [\d,]+ more rows \.\.\.", shown)
    assert all(h <= BUDGET for h in laid.heights), laid.heights
    assert nb.cells[0].outputs[0]["text"] == text  # the input notebook keeps everything
    assert table_rows in nb.cells[1].outputs[0]["data"]["text/html"]


def test_wide_tables_keep_their_first_and_last_columns() -> None:
    head = "".join(f"<th>column_number_{k}</th>" for k in range(30))
    body = "".join(f"<td>{k}</td>" for k in range(30))
    table = (
        f"<table><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody><tr><th>0</th>{body}</tr></tbody></table>"
    )
    narrowed, changed = layout._bound_columns(table)
    assert changed
    assert "column_number_0" in narrowed and "column_number_29" in narrowed
    assert "column_number_15" not in narrowed and "<th>...</th>" in narrowed
    spanned = table.replace("<th></th>", '<th colspan="2"></th>', 1)
    assert layout._bound_columns(spanned) == (spanned, False)  # not a simple grid: left alone


# ---------------------------------------------------------------------------------------------
# Tracebacks


ANSI = "\x1b[0;31m"
TRACEBACK = [
    f"{ANSI}---------------------------------------------------------------------------\x1b[0m",
    f"{ANSI}KeyError\x1b[0m                                  Traceback (most recent call last)",
    "Cell In[9], line 9\n      5 def report(frame):\n----> 9 report(clean_survey)",
    "Cell In[9], line 6, in report(frame)\n----> 6     return district_means(frame, 'minuts')",
    "File ~/venv/lib/python3.12/site-packages/pandas/core/groupby/generic.py:1951, in "
    "DataFrameGroupBy.__getitem__(self, key)\n-> 1951 return super().__getitem__(key)",
    "File ~/venv/lib/python3.12/site-packages/pandas/core/base.py:244, in "
    "SelectionMixin.__getitem__(self, key)\n--> 244 raise KeyError(f'Column not found: {key}')",
    f"{ANSI}KeyError\x1b[0m: 'Column not found: minuts'",
]


def test_trim_traceback_keeps_the_lessons_frames_and_the_error() -> None:
    trimmed = trim_traceback(TRACEBACK)
    assert trimmed[:4] == TRACEBACK[:4]
    assert "2 frames in library code" in trimmed[4]
    assert trimmed[-1] == TRACEBACK[-1]
    assert not any("site-packages" in part for part in trimmed)


def test_trim_traceback_of_a_chained_error_keeps_the_last_one() -> None:
    chained = [
        "Traceback (most recent call last)",
        "File ~/venv/lib/python3.12/site-packages/x.py:1, in f()",
        "FileNotFoundError: nope",
        "\nThe above exception was the direct cause of the following exception:\n",
        *TRACEBACK[1:],
    ]
    trimmed = trim_traceback(chained)
    assert trimmed[0].startswith("(an earlier exception led to this one")
    assert "FileNotFoundError: nope" not in "\n".join(trimmed)
    assert trimmed[-1] == TRACEBACK[-1]


def test_tracebacks_without_a_header_are_left_alone() -> None:
    syntax = ["  Cell In[5], line 1\n    foo bar\n        ^", "SyntaxError: invalid syntax"]
    assert trim_traceback(syntax) == syntax


# ---------------------------------------------------------------------------------------------
# Remote images


def test_remote_images_become_links_with_their_alt_text() -> None:
    source = (
        "Intro\n"
        "[![Binder](https://mybinder.org/badge.svg)](https://mybinder.org/v2/x)\n"
        "![CI status](https://img.shields.io/badge/ci-passing.svg) and ![](//cdn.example/x.png)\n"
        '<img src="https://cdn.example/pic.jpg" alt="A cat" width="300">\n'
        "![local](figure.png) ![inline](data:image/png;base64,AAAA)"
    )
    new, found = remote_images_to_links(source)
    assert "[Binder](https://mybinder.org/v2/x)" in new
    assert "[CI status](https://img.shields.io/badge/ci-passing.svg)" in new
    assert "[x.png](//cdn.example/x.png)" in new
    assert '<a href="https://cdn.example/pic.jpg">A cat</a>' in new
    assert "![local](figure.png)" in new and "![inline](data:image/png;base64,AAAA)" in new
    assert [line for line, _ in found] == [1, 2, 2, 3]
    assert found[0][1] == "https://mybinder.org/badge.svg"


def test_remote_images_are_reported_at_their_line_in_the_cell() -> None:
    cell = new_markdown_cell("# Title\n\nText\n\n![badge](https://example.org/b.svg)")
    laid = prepare_deck(cells_with_ids(new_markdown_cell("# Intro"), cell))
    assert [(p.cell, p.offset) for p in laid.problems] == [(2, 4)]
    assert "https://example.org/b.svg" in laid.problems[0].message
    assert "![badge]" not in text_of(laid.nb)


# ---------------------------------------------------------------------------------------------
# Lessons with slide metadata of their own


def test_author_slides_are_kept_and_an_overfull_one_continues() -> None:
    def slide(text: str) -> Any:
        return new_markdown_cell(text, metadata={"slideshow": {"slide_type": "slide"}})

    tall = [new_code_cell(f"print({n})", execution_count=n) for n in range(8)]
    for n, cell in enumerate(tall):
        cell.outputs = [new_output("stream", name="stdout", text="".join(f"{n}\n" * 6))]
    nb = cells_with_ids(
        slide("# Title"),
        new_markdown_cell("## Not a new slide: the author said where slides start"),
        slide("## Too long"),
        *tall,
        slide("## After"),
    )
    laid = prepare_deck(nb)
    slides = slides_of(laid.nb)
    firsts = [s[0].source.split("\n")[0] for s in slides]
    assert firsts[:2] == ["# Title", "## Too long"] and firsts[-1] == "## After"
    continued = slides[2:-1]
    assert len(continued) >= 1
    for first, *_ in continued:
        assert first.metadata["slideshow"]["data"][CONTINUED_DATA_KEY] == "Too long (continued)"
        assert first.metadata["slideshow"]["slide_type"] == "subslide"
    # each continued slide is reported at the cell that did not fit (cells 4-11 are the code)
    starts = [int(first["id"].split("-")[1]) for first, *_ in continued]
    assert [(p.cell, p.offset) for p in laid.problems] == [(n, 0) for n in starts]
    assert all(4 < n <= 11 for n in starts)
    assert all(h <= SLIDE_HEIGHT for h in laid.heights)


def test_layout_keeps_notes_and_skip_cells() -> None:
    nb = cells_with_ids(
        new_markdown_cell("# Title"),
        new_markdown_cell("Say hello.", metadata={"slideshow": {"slide_type": "notes"}}),
        new_code_cell("setup = 1", metadata={"slideshow": {"slide_type": "skip"}}),
    )
    laid = prepare_deck(nb)
    assert [slide_type(c) for c in laid.nb.cells] == ["slide", "notes", "skip"]
    assert laid.slides == 1


# ---------------------------------------------------------------------------------------------
# The realistic lessons, built with real kernels


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> LayoutBuild:
    return layout_build(tmp_path_factory)


def deck_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.kernel
def test_build_warns_at_the_lines_that_made_slides_change(built: LayoutBuild) -> None:
    assert built.exit_code == 0, built.diagnostics
    long_text = built.source("long-lesson").read_text(encoding="utf-8")
    author_text = built.source("author-slides").read_text(encoding="utf-8")
    badge = line_of(long_text, "img.shields.io")
    long_cell = line_of(long_text, "def clean(frame):")
    # the author's long slide continues at the first code cell that does not fit
    deck = built.deck("author-slides").read_text(encoding="utf-8")
    continued = deck.split("data-wk-continued=")[1].split("</section>")[0]
    overflow = next(
        line_of(author_text, text)
        for text in ("a + row", "a + column", "grid = np.arange", "big = np.arange")
        if text in html.unescape(re.sub(r"<[^>]+>", "", continued))
    )
    expected = [
        f"lessons/long-lesson/long-lesson.py:{badge}: warning: lesson 'long-lesson': slides: "
        "remote image 'https://img.shields.io/badge/tests-passing-brightgreen.svg' cannot load "
        "offline",
        f"lessons/long-lesson/long-lesson.py:{badge}: warning: lesson 'long-lesson': slides: "
        "remote image 'https://mybinder.org/badge_logo.svg'",
        f"lessons/long-lesson/long-lesson.py:{long_cell}: warning: lesson 'long-lesson': "
        "slides: code cell too tall for one slide",
        f"lessons/author-slides/author-slides.py:{overflow}: warning: lesson 'author-slides': "
        "slides: slide too tall for one screen",
    ]
    for start in expected:
        assert any(d.startswith(start) for d in built.diagnostics), (start, built.diagnostics)
    assert len([d for d in built.diagnostics if ": slides: " in d]) == len(expected)


@pytest.mark.kernel
def test_decks_show_every_code_line_and_markdown_paragraph(built: LayoutBuild) -> None:
    for lesson_id in ("long-lesson", "author-slides"):
        shown = squash(deck_text(built.deck(lesson_id)))
        solution = nbformat.read(str(built.solution(lesson_id)), as_version=4)
        for cell in solution.cells:
            kind = cell.metadata.get("slideshow", {}).get("slide_type")
            if kind in ("skip", "notes") or "parameters" in cell.metadata.get("tags", []):
                continue
            if cell.cell_type == "code":
                for line in cell.source.split("\n"):
                    assert squash(line) in shown, (lesson_id, line)
            else:
                for paragraph in re.split(r"\n\s*\n", cell.source):
                    plain = re.sub(r"[#*`>\[\]!]|\(https?://[^)]*\)|<[^>]+>", "", paragraph)
                    plain = re.sub(r"^\s*(?:\d+\.|[-*+])\s", "", plain, flags=re.M)
                    words = squash(plain)[:60]
                    assert not words or words in shown, (lesson_id, paragraph[:80])


@pytest.mark.kernel
def test_tall_outputs_are_bounded_on_slides_and_whole_in_notebooks(built: LayoutBuild) -> None:
    deck = built.deck("long-lesson").read_text(encoding="utf-8")
    assert re.search(r"\.\.\. \d+ more rows \.\.\.", deck)
    assert "more lines (the full output is in the solution notebook)" in deck
    assert "<th>...</th>" in deck  # the wide table lost its middle columns on the slide
    solution = nbformat.read(str(built.solution("long-lesson")), as_version=4)
    head80 = next(c for c in solution.cells if "survey.head(80)" in c.source)
    assert head80.outputs[0]["data"]["text/html"].count("<tr>") >= 80


@pytest.mark.kernel
def test_tracebacks_on_slides_show_the_lessons_frames(built: LayoutBuild) -> None:
    deck = deck_text(built.deck("long-lesson"))
    assert "district_means" in deck and "KeyError" in deck
    assert "frames in library code" in deck
    assert "site-packages" not in deck
    solution = built.solution("long-lesson").read_text(encoding="utf-8")
    assert "site-packages" in solution  # the full traceback stays in the solution notebook


@pytest.mark.kernel
def test_no_local_path_is_published(built: LayoutBuild) -> None:
    local = {
        os.path.expanduser("~"),
        sys.prefix,
        sys.base_prefix,
        str(Path(tempfile.gettempdir()) / "workshopkit-"),
        str(Path(tempfile.gettempdir()) / "ipykernel_"),
    }
    assert "[env]/lib/python" in built.solution("long-lesson").read_text(encoding="utf-8")
    for path in built.dist.rglob("*"):
        if path.suffix not in {".ipynb", ".html", ".json", ".zip"}:
            continue
        texts = [path.read_text(encoding="utf-8")] if path.suffix != ".zip" else []
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                texts = [
                    archive.read(name).decode("utf-8", "replace")
                    for name in archive.namelist()
                    if name.endswith((".ipynb", ".html"))
                ]
        for text in texts:
            for value in local:
                assert f"{value}/" not in text and f"{value}\\" not in text, (path, value)


@pytest.mark.kernel
def test_decks_link_one_shared_notebook_stylesheet(built: LayoutBuild) -> None:
    css = built.dist / "_static" / "notebook.css"
    assert css.stat().st_size > 100_000
    for lesson_id in ("long-lesson", "author-slides"):
        deck = built.deck(lesson_id).read_text(encoding="utf-8")
        assert re.search(r'<link[^>]*href="\.\./\.\./_static/notebook\.css"', deck)
        assert "--jp-cell-editor-background:" not in deck  # JupyterLab's theme is not inlined
    with zipfile.ZipFile(next(built.dist.glob("*.zip"))) as archive:
        assert any(name.endswith("_static/notebook.css") for name in archive.namelist())


def test_render_slides_inlines_the_notebook_stylesheet_unless_shared() -> None:
    nb = prepare_deck(cells_with_ids(new_markdown_cell("# Hi"))).nb
    alone = render_slides(nb, static_prefix="../../_static", title="t")
    shared = render_slides(nb, static_prefix="../../_static", title="t", shared_css=True)
    assert "--jp-cell-editor-background:" in alone and "notebook.css" not in alone
    assert "--jp-cell-editor-background:" not in shared
    assert len(shared) < len(alone) - 200_000


def test_a_nearly_empty_continued_slide_gets_paragraphs_from_the_one_before() -> None:
    paragraphs = [f"Paragraph {n}. " + WORDS * 2 for n in range(3)]
    paragraphs += ["Paragraph 3. " + WORDS, "One more thing."]  # would be alone on slide 2
    laid = prepare_deck(cells_with_ids(new_markdown_cell("## Notes\n\n" + "\n\n".join(paragraphs))))
    assert len(laid.heights) == 2
    assert min(laid.heights) > 0.25 * BUDGET, laid.heights  # not one paragraph alone
    shown = "\n".join(c.source for c in laid.nb.cells)
    assert all(p in shown for p in paragraphs)
