"""Slides open from file:// in headless Chromium with the network cut, and look right.

The deck is laid out like dist/ (DESIGN.md §5): ``lessons/<id>/<id>.slides.html`` next to
``_static/`` copied from :func:`workshopkit.export.slides.static_dir`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jupytext
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workshopkit.export.slides import prepare_slides, render_slides, static_dir

PREFIX = "../../_static"
REVEAL = f"require('{PREFIX}/reveal.js/dist/reveal.js')"
NOTE = "Speaker notes: ask who has fitted a line before."

LESSON = f'''\
# ---
# jupyter:
#   kernelspec: {{display_name: Python 3, language: python, name: python3}}
# ---

# %% [markdown]
# # Linear regression, offline
#
# Fit a line by least squares, then read the residuals.
#
# - numpy only
# - 30 minutes

# %% tags=["parameters"]
n_points = 200

# %% [markdown] slideshow={{"slide_type": "notes"}}
# {NOTE}

# %% [markdown]
# ## The fit
#
# `np.linalg.lstsq` solves the normal equations for us.

# %%
def fit(x, y):
    """Return slope and intercept of the least-squares line through (x, y)."""
    X = np.column_stack([x, np.ones_like(x)])
    (w, b), *_ = np.linalg.lstsq(X, y, rcond=None)
    return w, b

w, b = fit(x, y)
print(f"slope w = {{w:.3f}}, intercept b = {{b:.3f}}; a long line that must wrap, not be cut off")

# %% [markdown]
# # Residuals

# %%
df.head()

# %% tags=["solution"]
secret = "SOLUTION-MUST-NOT-SHOW"

# %% [markdown]
# # Wrap-up
#
# 1. Least squares has a closed form.
# 2. Look at residuals before trusting a fit.
'''
EXPECTED_SLIDES = 4  # title + "The fit" (vertical), "Residuals", "Wrap-up"

TABLE = (
    "<div><style scoped>.dataframe tbody tr th {vertical-align: top;}</style>"
    '<table border="1" class="dataframe"><thead><tr style="text-align: right;">'
    "<th></th><th>x</th><th>y</th><th>residual</th></tr></thead><tbody>"
    + "".join(
        f"<tr><th>{i}</th><td>{i * 1.5:.3f}</td><td>{i * 3.1 + 1:.3f}</td>"
        f"<td>{(-1) ** i * 0.1 * i:.3f}</td></tr>"
        for i in range(5)
    )
    + "</tbody></table></div>"
)


def lesson() -> NotebookNode:
    nb = jupytext.reads(LESSON, fmt="py:percent")
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.source.startswith("def fit"):
            text = "slope w = 1.962, intercept b = 1.071; a long line that must wrap, not be "
            cell.outputs = [new_output("stream", name="stdout", text=text + "cut off\n")]
        elif cell.source.startswith("df.head"):
            cell.outputs = [
                new_output(
                    "execute_result",
                    data={"text/html": TABLE, "text/plain": "<DataFrame>"},
                    execution_count=3,
                )
            ]
    return nb


def build_deck(
    root: Path, nb: NotebookNode, lesson_id: str, title: str, *, sanitize_html: bool = True
) -> Path:
    deck = root / "lessons" / lesson_id / f"{lesson_id}.slides.html"
    deck.parent.mkdir(parents=True, exist_ok=True)
    html = render_slides(
        prepare_slides(nb), static_prefix=PREFIX, title=title, sanitize_html=sanitize_html
    )
    deck.write_text(html, encoding="utf-8")
    if not (root / "_static").exists():
        shutil.copytree(static_dir(), root / "_static")
    return deck


def wait_ready(page: Any) -> None:
    page.wait_for_selector(".reveal.ready", state="attached", timeout=15_000)


def test_deck_works_offline_with_notes(
    offline_context: Any, open_offline: Callable[..., Any], artifacts_dir: Path, tmp_path: Path
) -> None:
    deck = build_deck(tmp_path, lesson(), "linear-regression", "Linear regression, offline")
    opened = open_offline(offline_context, deck)
    page = opened.page
    wait_ready(page)

    assert page.evaluate(f"{REVEAL}.getTotalSlides()") == EXPECTED_SLIDES
    assert page.evaluate(f"{REVEAL}.VERSION") == "5.2.1"
    assert NOTE in page.evaluate(f"{REVEAL}.getSlideNotes()")
    assert page.locator("aside.notes").count() == 1
    assert page.locator("text=SOLUTION-MUST-NOT-SHOW").count() == 0
    assert page.evaluate("document.fonts.check('600 40px \"Source Sans Pro\"')")

    shots = []
    for index in range(EXPECTED_SLIDES):
        page.wait_for_timeout(900)  # the slide transition
        shot = artifacts_dir / f"slides-{index}.png"
        page.screenshot(path=str(shot))
        shots.append(shot)
        overflow = page.evaluate(
            """() => {
                const s = document.querySelector('.slides section.present:not(.stack)');
                return {scrollW: s.scrollWidth, clientW: s.clientWidth};
            }"""
        )
        assert overflow["scrollW"] <= overflow["clientW"] + 1, (index, overflow)
        page.evaluate(f"{REVEAL}.next()")

    # code and output fit the slide horizontally (they wrap instead of being cut off)
    page.evaluate(f"{REVEAL}.slide(0, 1)")
    page.wait_for_timeout(900)
    for selector in (".jp-InputArea-editor pre", ".jp-OutputArea-output pre"):
        box = page.locator(f"section.present {selector}").first.bounding_box()
        assert box is not None and box["x"] >= 0
        assert box["x"] + box["width"] <= 1280, (selector, box)

    assert opened.problems() == []
    assert all(s.stat().st_size > 10_000 for s in shots)


def test_speaker_view_works_offline(
    offline_context: Any, open_offline: Callable[..., Any], tmp_path: Path
) -> None:
    deck = build_deck(tmp_path, lesson(), "linear-regression", "Linear regression")
    opened = open_offline(offline_context, deck)
    wait_ready(opened.page)
    with offline_context.expect_page() as popup_info:
        opened.page.keyboard.press("s")
    popup = popup_info.value
    opened.watch(popup)
    # (a locator, not wait_for_function: the popup inherits the deck's CSP, which forbids eval)
    popup.locator(".speaker-controls-notes", has_text=NOTE).wait_for(timeout=15_000)
    # the current and upcoming slides are iframes of the deck itself, loaded from file://
    frames = [f.url for f in popup.frames if f.url.startswith("file:")]
    assert len(frames) == 2, frames
    assert opened.problems() == []


XSS_CELLS = [
    "# XSS\n\n<img src=x onerror=\"window.__pwned='md-img'\">",
    "<details open ontoggle=\"window.__pwned='details'\"><summary>s</summary></details>",
    "<select><iframe></select><img src=x: onerror=\"window.__pwned='mxss'\">",
    "<svg onload=\"window.__pwned='svg'\"></svg><script>window.__pwned='md-script'</script>",
    "[link](javascript:window.__pwned='href')",
]


def xss_notebook() -> NotebookNode:
    def html_out(text: str) -> NotebookNode:
        return new_output("execute_result", data={"text/html": text}, execution_count=1)

    outputs = [
        html_out("<script>window.__pwned='html-script'; alert(1)</script>"),
        html_out("<img src=x onerror=\"window.__pwned='html-img'; alert(2)\">"),
        html_out("<iframe srcdoc=\"<script>parent.__pwned='srcdoc'</script>\"></iframe>"),
        new_output(
            "execute_result",
            data={"application/javascript": "window.__pwned='js'; alert(3)"},
            execution_count=1,
        ),
    ]
    return new_notebook(
        cells=[
            *(new_markdown_cell(c) for c in XSS_CELLS),
            new_code_cell(
                "x", outputs=outputs, metadata={"tags": ['"><img src=x onerror=alert(4)>']}
            ),
        ]
    )


def test_lesson_content_cannot_run_script(
    offline_context: Any, open_offline: Callable[..., Any], tmp_path: Path
) -> None:
    title = "</script><script>window.__pwned='title'</script>"
    deck = build_deck(tmp_path, xss_notebook(), "xss", title)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    offline_context.on("page", lambda page: page.on("dialog", on_dialog))  # before it opens
    opened = open_offline(offline_context, deck)
    wait_ready(opened.page)
    for _ in range(3):
        opened.page.evaluate(f"{REVEAL}.next()")
        opened.page.wait_for_timeout(300)
    assert opened.page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert not [m for m in opened.console_errors if "Content Security Policy" in m]
    assert opened.blocked == []


def test_csp_blocks_an_injected_inline_script(
    offline_context: Any, open_offline: Callable[..., Any], tmp_path: Path
) -> None:
    """Defence in depth: even markup that slipped past the sanitiser could not run."""
    deck = build_deck(tmp_path, lesson(), "csp", "CSP")
    html = deck.read_text(encoding="utf-8")
    injected = "<script>window.__pwned='inline'</script><img src=x onerror=\"window.__pwned='h'\">"
    deck.write_text(html.replace("</main>", injected + "</main>", 1), encoding="utf-8")
    opened = open_offline(offline_context, deck)
    wait_ready(opened.page)
    assert opened.page.evaluate("window.__pwned") is None
    violations = [m for m in opened.console_errors if "Content Security Policy" in m]
    assert len(violations) == 2, opened.console_errors
    assert opened.page.evaluate(f"{REVEAL}.getTotalSlides()") == EXPECTED_SLIDES


def test_unsanitized_deck_still_loads_nothing_remote(
    offline_context: Any, open_offline: Callable[..., Any], tmp_path: Path
) -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Own JavaScript"),
            new_code_cell(
                "x",
                outputs=[
                    new_output(
                        "execute_result",
                        data={
                            "text/html": "<script>window.lessonScript = 1;"
                            " fetch('https://example.com/x').catch(() => {})</script>"
                        },
                        execution_count=1,
                    )
                ],
            ),
        ]
    )
    deck = build_deck(tmp_path, nb, "own-js", "Own JS", sanitize_html=False)
    opened = open_offline(offline_context, deck)
    wait_ready(opened.page)
    assert opened.page.evaluate("window.lessonScript") == 1  # the opt-out works
    assert opened.blocked == []  # connect-src 'none': the fetch never left the page
    assert any(re.search(r"connect-src", m) for m in opened.console_errors)


@pytest.mark.parametrize("depth", [1, 3])
def test_deck_works_at_other_depths(
    offline_context: Any, open_offline: Callable[..., Any], tmp_path: Path, depth: int
) -> None:
    """A bundle may nest decks differently; any relative prefix works."""
    folder = tmp_path.joinpath(*(f"d{i}" for i in range(depth)))
    folder.mkdir(parents=True)
    shutil.copytree(static_dir(), tmp_path / "_static")
    prefix = "/".join([".."] * depth) + "/_static"
    deck = folder / "deck.slides.html"
    deck.write_text(render_slides(prepare_slides(lesson()), static_prefix=prefix, title="t"))
    opened = open_offline(offline_context, deck)
    wait_ready(opened.page)
    total = opened.page.evaluate(f"require('{prefix}/reveal.js/dist/reveal.js').getTotalSlides()")
    assert total == EXPECTED_SLIDES
    assert opened.problems() == []


def test_math_is_typeset_offline(
    offline_context: Any, open_offline: Callable[..., Any], artifacts_dir: Path, tmp_path: Path
) -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Attention\n\nEach weight is $w_{ij} = e^{s_{ij}} / Z_i$, and"),
            new_markdown_cell(r"$$\mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$"),
            new_code_cell("print('$not math$')", outputs=[new_output("stream", text="$5$\n")]),
            new_code_cell(
                "sympy.expand((x + 1) ** 2)",
                outputs=[
                    new_output(
                        "execute_result",
                        data={"text/latex": "$\\displaystyle x^{2} + 2 x + 1$", "text/plain": "x"},
                        execution_count=2,
                    )
                ],
            ),
        ]
    )
    deck = build_deck(tmp_path, nb, "attention", "Attention")
    opened = open_offline(offline_context, deck)
    page = opened.page
    wait_ready(page)
    page.wait_for_timeout(900)
    assert page.locator(".katex").count() == 3  # two in markdown, SymPy's LaTeX output
    assert page.locator(".katex-display").count() == 1
    assert page.locator(".katex-error").count() == 0
    assert page.locator("pre", has_text="$not math$").count() == 1  # code is never typeset
    assert page.evaluate("document.fonts.check('20px KaTeX_Main')")
    box = page.locator(".katex-display").bounding_box()
    assert box is not None and box["height"] > 40  # a real fraction, not a line of TeX
    page.screenshot(path=str(artifacts_dir / "slides-math.png"))
    assert opened.problems() == []
