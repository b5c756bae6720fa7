"""export.sanitize: what lesson content may put into a deck (issue 10, "Lesson content never runs
in a page"). The rendered decks are checked in test_slides.py, the whole export in test_site.py,
and real pages in Chromium in tests/browser/test_injection_browser.py."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from nbformat import NotebookNode, from_dict
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from export_scenarios import lesson_text, open_valid, scenario

from workshopkit.export.sanitize import (
    RICH_MIME_TYPES,
    SLIDE_DATA_KEYS,
    WIDGET_FALLBACK,
    clean_html,
    deck_diagnostics,
    image_size,
    sanitize_notebook,
    slide_data,
)
from workshopkit.load import SOURCE_KEY, to_notebook
from workshopkit.model import Severity


def display(data: dict[str, object], metadata: dict[str, object] | None = None) -> NotebookNode:
    return new_output("display_data", data=data, metadata=metadata or {})


def one_output(output: NotebookNode) -> tuple[list[NotebookNode], list[str]]:
    nb = new_notebook(cells=[new_code_cell("x", outputs=[output])])
    findings = sanitize_notebook(nb)
    return nb.cells[0].outputs, [f.message for f in findings]


# --------------------------------------------------------------------------------------------
# Image sizes


@pytest.mark.parametrize(
    ("value", "expected"),
    [(300, 300), ("300", 300), (" 64 ", 64), (12.5, 12.5), ("12.5", 12.5), (300.0, 300)],
)
def test_image_size_accepts_positive_numbers(value: object, expected: float) -> None:
    assert image_size(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "1 onerror=alert(1)",
        "1\tonerror=alert(1)",
        "1/onerror=alert(1)",
        '1"onerror="alert(1)',
        "100%",
        "50px",
        "-5",
        -5,
        0,
        "0",
        True,
        None,
        "1e9",
        10**9,
        math.nan,
        math.inf,
        [300],
        {"w": 1},
        "",
    ],
)
def test_image_size_refuses_anything_else(value: object) -> None:
    assert image_size(value) is None


@pytest.mark.parametrize("nested", [False, True])
def test_bad_image_sizes_are_dropped_and_reported(nested: bool) -> None:
    sizes = {"width": "1 onerror=alert(1)", "height": 40, "filenames": {"image/png": "x.png"}}
    metadata = {"image/png": sizes} if nested else sizes
    outputs, found = one_output(display({"image/png": "iVBORw0KGgo="}, metadata))
    kept = outputs[0].metadata.get("image/png", {}) if nested else outputs[0].metadata
    assert kept == {"height": 40}
    assert "filenames" not in str(outputs[0].metadata)
    where = " (for image/png)" if nested else ""
    assert found == [f"image width '1 onerror=alert(1)'{where} is not a positive number"]


# --------------------------------------------------------------------------------------------
# Output types


def test_rich_types_are_kept_as_they_are() -> None:
    data = {
        "text/html": "<b>x</b>",
        "text/markdown": "*x*",
        "text/latex": "$x$",
        "image/png": "iVBORw0KGgo=",
        "image/jpeg": "/9j/",
        "image/svg+xml": "<svg/>",
        "text/plain": "x",
    }
    outputs, found = one_output(display(dict(data)))
    assert outputs[0].data == data
    assert found == []
    assert set(data) < set(RICH_MIME_TYPES)


@pytest.mark.parametrize(
    "mime",
    ["text/vnd.mermaid", "application/x-evil", "text/x-unknown", "application/xhtml+xml"],
)
def test_unknown_types_become_escaped_text(mime: str) -> None:
    outputs, found = one_output(display({mime: '<script src="evil.js"></script>'}))
    assert outputs[0].data == {"text/plain": '<script src="evil.js"></script>'}
    assert found == [f"output of type {mime!r} is shown as text (slides render only known types)"]


def test_unknown_json_type_becomes_text_and_long_values_are_cut() -> None:
    outputs, _ = one_output(display({"application/vnd.custom+json": {"html": "<script>"}}))
    assert outputs[0].data == {"text/plain": '{\n "html": "<script>"\n}'}
    outputs, _ = one_output(display({"text/vnd.mermaid": "x" * 10_000}))
    text = outputs[0].data["text/plain"]
    assert len(text) < 4100 and text.endswith("(6000 more characters)")


def test_an_unknown_type_next_to_text_plain_shows_the_text() -> None:
    outputs, found = one_output(
        display({"text/vnd.mermaid": "<script>", "text/plain": "<Mermaid diagram>"})
    )
    assert outputs[0].data == {"text/plain": "<Mermaid diagram>"}
    assert found == []


def test_javascript_is_never_kept_and_widgets_show_text() -> None:
    outputs, found = one_output(display({"application/javascript": "alert(1)"}))
    assert outputs == [] and found == []
    outputs, _ = one_output(display({"application/javascript": "alert(1)", "text/plain": "<JS>"}))
    assert outputs[0].data == {"text/plain": "<JS>"}
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "m"}}
    outputs, found = one_output(display(widget))
    assert outputs[0].data == {"text/plain": WIDGET_FALLBACK} and found == []


def test_gif_becomes_an_img_that_clean_html_keeps() -> None:
    outputs, _ = one_output(
        display({"image/gif": "R0lGOD\nlh", "text/plain": "<Image>"}, {"width": "1 onerror=x"})
    )
    html = outputs[0].data["text/html"]
    assert html == '<img src="data:image/gif;base64,R0lGODlh" alt="">'
    assert clean_html(html) == html
    outputs, _ = one_output(display({"image/gif": "R0lGODlh"}, {"image/gif": {"width": 20}}))
    assert 'width="20"' in outputs[0].data["text/html"]


def test_only_nbformat_keys_survive_on_an_output() -> None:
    output = from_dict({"output_type": "display_data", "data": {"text/plain": "x"},
                        "metadata": {}, "svg_filename": "evil.svg", "transient": {}})  # fmt: skip
    stream = from_dict({"output_type": "stream", "name": "stdout", "text": "<b>", "x": "<i>"})
    unknown = from_dict({"output_type": "evil", "data": {"text/html": "<script>"}})
    nb = new_notebook(cells=[new_code_cell("x")])
    nb.cells[0].outputs = [output, stream, unknown]
    sanitize_notebook(nb)
    assert [dict(o) for o in nb.cells[0].outputs] == [
        {"output_type": "display_data", "data": {"text/plain": "x"}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": "<b>"},
    ]


def test_rich_content_off_keeps_types_but_checks_metadata() -> None:
    nb = new_notebook(
        cells=[
            new_code_cell(
                "x",
                outputs=[
                    display(
                        {"application/javascript": "window.x = 1", "image/png": "iVBO"},
                        {"width": "1 onerror=alert(1)"},
                    )
                ],
            )
        ]
    )
    sanitize_notebook(nb, rich_content=False)
    assert "application/javascript" in nb.cells[0].outputs[0].data
    assert nb.cells[0].outputs[0].metadata == {}


# --------------------------------------------------------------------------------------------
# Slide data


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("background-iframe", "evil.html"),
        ("BACKGROUND-IFRAME", "evil.html"),
        ("background_iframe", "evil.html"),
        ("background-interactive", ""),
        ("notes", "<iframe src=evil.html></iframe>"),
        ("onclick", "alert(1)"),
        ('x" onmouseover="alert(1)', "1"),
        ("src", "evil.html"),
        ("preview-link", "evil.html"),
        ("background-image", "http://evil.example/x.png"),
        ("background-image", "//evil.example/x.png"),
        ("background-image", "/etc/x.png"),
        ("background-image", "../../secret.png"),
        ("background-image", "javascript:alert(1)"),
        ("background-image", "evil.html"),
        ("background-image", "data:text/html;base64,PHNjcmlwdD4="),
        ("background-image", "img.png, http://evil.example/x.png"),
        ("background-video", "http://evil.example/v.mp4"),
        ("background", "http://evil.example/x.png"),
        ("background", "img.png"),
        ("background-color", "url(http://evil.example/x.png)"),
        ("background-gradient", "linear-gradient(url(http://evil.example/x.png), red)"),
        ("background-size", "url(x)"),
        ("visibility", "visible; x"),
        ("autoslide", "1 onerror"),
        ("transition", "<zoom>"),
    ],
)
def test_unsafe_slide_data_is_dropped(key: str, value: str) -> None:
    found: list[str] = []
    assert slide_data({key: value}, found) == {}
    assert len(found) == 1 and "dropped" in found[0]


@pytest.mark.parametrize(
    ("key", "value", "written"),
    [
        ("background-color", "#1d2f4f", "#1d2f4f"),
        ("background_color", "rgb(10, 20, 30)", "rgb(10, 20, 30)"),
        ("Background-Color", "white", "white"),
        ("background-image", "img/bg.png", "img/bg.png"),
        ("background-image", "data:image/png;base64,iVBORw0KGgo=", None),
        ("background-gradient", "linear-gradient(to bottom, #283b95, rgb(23, 182, 152))", None),
        ("background-video", "clip.mp4", "clip.mp4"),
        ("background-size", "contain", "contain"),
        ("background-opacity", "0.5", "0.5"),
        ("transition", "zoom", "zoom"),
        ("transition", "fade-in slide-out", None),
        ("autoslide", 2000, "2000"),
        ("visibility", "hidden", "hidden"),
        ("auto-animate", True, "true"),
        ("fragment-index", "2", "2"),
    ],
)
def test_safe_slide_data_is_kept_normalised(key: str, value: object, written: str | None) -> None:
    found: list[str] = []
    normal = key.replace("_", "-").lower()
    assert slide_data({key: value}, found) == {normal: written if written is not None else value}
    assert found == []
    assert normal in SLIDE_DATA_KEYS


def test_slide_data_that_is_not_a_mapping_is_dropped() -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("a", metadata={"slideshow": {"slide_type": "slide", "data": "x"}}),
            new_markdown_cell(
                "b", metadata={"slideshow": {"data": {"background-iframe": "e.html"}}}
            ),
        ]
    )
    findings = sanitize_notebook(nb)
    assert nb.cells[0].metadata.slideshow == {"slide_type": "slide"}
    assert nb.cells[1].metadata.slideshow == {}
    assert [f.cell for f in findings] == [0, 1]


# --------------------------------------------------------------------------------------------
# HTML


@pytest.mark.parametrize(
    "html",
    [
        '<script src="evil.js"></script>',
        "<img src=x onerror=alert(1)>",
        '<iframe src="evil.html"></iframe>',
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" jAvAsCrIpT:alert(1)">x</a>',
        "<svg><script>alert(1)</script></svg>",
        '<svg onload="alert(1)"></svg>',
        '<meta http-equiv="refresh" content="0;url=evil.html">',
        '<base href="http://evil.example/">',
        '<object data="evil.html"></object><embed src="evil.html">',
        "<style>@import url(http://evil.example/x.css);</style>",
        '<div style="background-image: url(http://evil.example/x.png)">x</div>',
        '<img src="http://evil.example/t.png">',
        '<img src="//evil.example/t.png">',
        '<link rel="stylesheet" href="http://evil.example/x.css">',
        '<form action="http://evil.example"><input name=q></form>',
        '<video src="http://evil.example/v.mp4" autoplay></video>',
        '<img srcset="http://evil.example/t.png 2x" src="a.png">',
        '<div data-background-iframe="evil.html" data-src="evil.html">x</div>',
        "<select><iframe></select><img src=x: onerror=alert(2)>",
    ],
)
def test_clean_html_leaves_nothing_active_or_remote(html: str) -> None:
    cleaned = clean_html(html).lower()
    for word in ("<script", "<iframe", "<svg", "<meta", "<base", "<object", "<embed", "<style",
                 "<link", "<form", "<video", "javascript:", "onerror", "onload", "http:", "//",
                 "srcset", "data-"):  # fmt: skip
        assert word not in cleaned, (word, cleaned)


# --------------------------------------------------------------------------------------------
# Build warnings


def test_deck_diagnostics_name_the_lesson_and_line(tmp_path: Path) -> None:
    body = """
    # %% [markdown] slideshow={"slide_type": "slide", "data": {"background-iframe": "e.html"}}
    # # Title

    # %%
    print(1)
    """
    root = scenario(
        tmp_path, extra={"lessons/04-inject/lesson.py": lesson_text("inject", body=body)}
    )
    lesson = next(x for x in open_valid(root).lessons if x.id == "inject")
    nb = to_notebook(lesson)
    nb.cells[1].outputs = [display({"text/vnd.mermaid": "<script>"})]
    before = nb.cells[1].outputs[0].data
    diagnostics = deck_diagnostics(lesson, nb)
    assert nb.cells[1].outputs[0].data == before  # the notebook given is not changed
    assert [str(d) for d in diagnostics] == [
        "lessons/04-inject/lesson.py:11: warning: slides: slideshow data key "
        "'background-iframe' is not allowed in slides: dropped",
        "lessons/04-inject/lesson.py:14: warning: slides: output of type 'text/vnd.mermaid' is "
        "shown as text (slides render only known types)",
    ]
    assert all(d.severity is Severity.WARNING for d in diagnostics)
    assert nb.cells[1].metadata[SOURCE_KEY] == {"line": 15, "cell": 2}  # body line 15
