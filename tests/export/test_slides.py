"""Offline reveal.js slides: slide structure, solutions, notes, offline URLs and XSS.

Browser checks (the deck really runs from file:// with no network) are in tests/browser.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import time
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbformat import NotebookNode
from nbformat.v4 import (
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
    new_raw_cell,
)

from workshopkit.export import slides
from workshopkit.export.slides import (
    SlidesTemplateNotFound,
    prepare_slides,
    render_slides,
    static_dir,
)

PREFIX = "../../_static"

LESSON = """\
# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Linear regression from scratch
#     level: beginner
# ---

# %% [markdown]
# # Linear regression from scratch
#
# Fit a line by least squares.

# %% tags=["parameters"]
n_points = 200

# %% [markdown] slideshow={"slide_type": "notes"}
# Speaker notes: ask who has fitted a line in Excel.

# %% [markdown]
# ## The model

# %% tags=["exercise"]
def predict(w, b, x):
    # BEGIN SOLUTION
    return w * x + b  # SECRET-INLINE-SOLUTION
    # END SOLUTION

# %% tags=["solution"]
w, b = 2.0, 1.0  # SECRET-SOLUTION-CELL

# %% [markdown]
# Some text on the same slide.

# %% [markdown]
# # Results

# %%
print(predict(w, b, 3))
"""


# ---------------------------------------------------------------------------------------------
# helpers


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the text of every <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self._script_text = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._script_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._script_text)))
            self._in_script = None


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def csp_of(html: str) -> str:
    for tag, attrs in parse(html).tags:
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
            return attrs.get("content") or ""
    raise AssertionError("no Content-Security-Policy meta tag")


def script_src_hashes(csp: str) -> set[str]:
    directive = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    return set(re.findall(r"'sha256-([A-Za-z0-9+/=]+)'", directive))


def sha256_b64(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def lesson_notebook() -> NotebookNode:
    return jupytext.reads(LESSON, fmt="py:percent")


def slide_types(nb: NotebookNode) -> list[str]:
    return [c.metadata.get("slideshow", {}).get("slide_type", "?") for c in nb.cells]


def assert_no_lesson_script(html: str) -> None:
    """No script or handler from lesson content: only the template's own, hashed, scripts."""
    doc = parse(html)
    allowed = script_src_hashes(csp_of(html))
    for attrs, text in doc.scripts:
        src = attrs.get("src")
        if src is not None:
            assert src.startswith(PREFIX + "/"), src
            continue
        assert sha256_b64(text) in allowed, f"unhashed inline script: {text[:80]!r}"
        assert "alert" not in text, text
    for tag, attrs in doc.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), f"<{tag} {name}={value!r}>"
            if name in {"href", "src", "action", "formaction", "xlink:href"} and value:
                assert not value.strip().lower().startswith(("javascript:", "vbscript:")), value
        assert tag not in {"iframe", "object", "embed", "form", "base", "svg"}, tag


# ---------------------------------------------------------------------------------------------
# prepare_slides


def test_slides_are_inferred_from_headings() -> None:
    nb = prepare_slides(lesson_notebook())
    sources = [c.source.splitlines()[0] for c in nb.cells]
    assert sources == [
        "# Linear regression from scratch",
        "n_points = 200",
        "Speaker notes: ask who has fitted a line in Excel.",
        "## The model",
        "def predict(w, b, x):",
        "Some text on the same slide.",
        "# Results",
        "print(predict(w, b, 3))",
    ]
    assert slide_types(nb) == ["slide", "skip", "notes", "subslide", "-", "-", "slide", "-"]


def test_explicit_slide_metadata_wins_over_headings() -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title", metadata={"slideshow": {"slide_type": "slide"}}),
            new_markdown_cell("# Not a new slide"),
            new_code_cell("x = 1", metadata={"slideshow": {"slide_type": "fragment"}}),
        ]
    )
    assert slide_types(prepare_slides(nb)) == ["slide", "-", "fragment"]


def test_prepare_slides_does_not_mutate_its_input() -> None:
    nb = lesson_notebook()
    before = nbformat.writes(nb)
    prepare_slides(nb)
    prepare_slides(nb, include_solutions=True)
    assert nbformat.writes(nb) == before


def test_solutions_are_left_out_unless_asked_for() -> None:
    learner = prepare_slides(lesson_notebook())
    text = "\n".join(c.source for c in learner.cells)
    assert "SECRET-SOLUTION-CELL" not in text
    assert "SECRET-INLINE-SOLUTION" not in text
    assert "...  # your code here" in text
    html = render_slides(learner, static_prefix=PREFIX, title="t")
    assert "SECRET-" not in html

    full = prepare_slides(lesson_notebook(), include_solutions=True)
    text = "\n".join(c.source for c in full.cells)
    assert "SECRET-SOLUTION-CELL" in text
    assert "SECRET-INLINE-SOLUTION" in text


def test_solution_flag_in_workshopkit_metadata_counts_as_solution() -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# A"),
            new_code_cell("answer = 42", metadata={"workshopkit": {"solution": True}}),
        ]
    )
    assert [c.source for c in prepare_slides(nb).cells] == ["# A"]


def test_every_honoured_spelling_is_left_out_of_the_deck() -> None:
    """The deck uses the same definitions as the learner notebook (`markers`)."""
    text = (
        Path(__file__).parents[1] / "resources/solution_spellings_honoured/lessons/honoured.py"
    ).read_text(encoding="utf-8")
    secrets = set(re.findall(r"SECRET-[A-Z-]+", text)) - {"SECRET-SPEAKER-NOTES"}
    deck = prepare_slides(jupytext.reads(text, fmt="py:percent"))
    shown = "\n".join(c.source for c in deck.cells)
    assert [s for s in secrets if s in shown] == []
    assert shown.count("...  # your code here") == 5
    html = render_slides(deck, static_prefix=PREFIX, title="t")
    assert [s for s in secrets if s in html] == []
    assert "SECRET-SPEAKER-NOTES" in html  # speaker notes stay speaker notes


def test_an_unclosed_region_is_stubbed_to_the_end_of_the_cell() -> None:
    nb = new_notebook(cells=[new_code_cell("x = 1\n# BEGIN SOLUTION\ny = 'SECRET'")])
    assert [c.source for c in prepare_slides(nb).cells] == ["x = 1\n...  # your code here"]


def test_papermill_cells_are_dropped() -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell(
                '<span style="color:red">An Exception was encountered</span>',
                metadata={"tags": ["papermill-error-cell-tag"]},
            ),
            new_markdown_cell("# Lesson"),
            new_code_cell("n = 10", metadata={"tags": ["parameters"]}),
            new_code_cell("# Parameters\nn = 2\n", metadata={"tags": ["injected-parameters"]}),
            new_code_cell("print(n)"),
        ]
    )
    out = prepare_slides(nb)
    assert [c.source for c in out.cells] == ["# Lesson", "n = 10", "print(n)"]
    assert slide_types(out) == ["slide", "skip", "-"]


# ---------------------------------------------------------------------------------------------
# render_slides


def test_rendered_deck_has_sections_and_notes() -> None:
    html = render_slides(prepare_slides(lesson_notebook()), static_prefix=PREFIX, title="LR")
    assert html.count('<aside class="notes">') == 1
    notes = html.split('<aside class="notes">', 1)[1].split("</aside>", 1)[0]
    assert "Speaker notes: ask who has fitted a line in Excel." in notes
    # two horizontal slides: the first with a vertical subslide
    slides_div = html.split('<div class="slides">', 1)[1]
    assert slides_div.count("<section") == 5  # 2 stacks + 3 slides
    assert "n_points = 200" not in html  # the parameters cell is skipped


def test_no_remote_urls_in_src_or_href() -> None:
    html = render_slides(prepare_slides(lesson_notebook()), static_prefix=PREFIX, title="LR")
    doc = parse(html)
    urls = [
        (tag, name, value)
        for tag, attrs in doc.tags
        for name, value in attrs.items()
        if name in {"src", "href"} and value is not None
    ]
    assert urls, "expected local script and stylesheet URLs"
    for tag, name, value in urls:
        assert not value.startswith(("http://", "https://", "//")), (tag, name, value)
        assert "://" not in value, (tag, name, value)
    loaded = {value for tag, name, value in urls if tag in {"script", "link"}}
    assert loaded == {
        f"{PREFIX}/reveal.js/dist/reveal.css",
        f"{PREFIX}/reveal.js/dist/theme/white.css",
    }
    # require.js is inserted by the template's (hashed) inline script, by its vendored path
    assert f'.src = "{PREFIX}/require.js";' in html
    for word in ("unpkg", "cdnjs", "cdn.jsdelivr", "googleapis", "mathjax", "mermaid", "jquery"):
        assert word not in html.lower(), word


MATH = "Softmax: $p_i = \\frac{e^{z_i}}{\\sum_j e^{z_j}}$\n\n$$\\mathrm{attention}(Q, K, V)$$"


def test_decks_with_math_load_the_vendored_katex() -> None:
    nb = lesson_notebook()
    nb.cells.append(new_markdown_cell(MATH))
    html = render_slides(prepare_slides(nb), static_prefix=PREFIX, title="LR")
    links = {v for tag, attrs in parse(html).tags for k, v in attrs.items() if k == "href"}
    assert f"{PREFIX}/katex/katex.min.css" in links
    assert f'katex: "{PREFIX}/katex/katex.min"' in html
    assert f'"{PREFIX}/katex/contrib/auto-render.min.js"' in html
    assert "$p_i = \\frac{e^{z_i}}{\\sum_j e^{z_j}}$" in html  # left for KaTeX, as written


@pytest.mark.parametrize(
    ("text", "math"),
    [
        ("$x$", True),
        ("$$\\sum_i x_i$$", True),
        ("between $a$ and", True),
        ("it costs $5 or $6", False),
        ("5$ and 6$", False),
        ("a lone $ sign", False),
        ("no math at all", False),
    ],
)
def test_has_math(text: str, math: bool) -> None:
    assert slides.has_math(new_notebook(cells=[new_markdown_cell(text)])) is math
    assert slides.has_math(new_notebook(cells=[new_code_cell(text)])) is False
    for mime in ("text/markdown", "text/latex"):
        shown = new_output("display_data", data={mime: text, "text/plain": "x"})
        cell = new_code_cell("show()", outputs=[shown])
        assert slides.has_math(new_notebook(cells=[cell])) is math, mime
    printed = new_code_cell("print()", outputs=[new_output("stream", text=text)])
    assert slides.has_math(new_notebook(cells=[printed])) is False


def test_vendored_assets_are_local_and_complete() -> None:
    root = static_dir()
    for rel in (
        "require.js",
        "reveal.js/dist/reveal.js",
        "reveal.js/dist/reveal.css",
        "reveal.js/dist/reset.css",
        "reveal.js/dist/theme/white.css",
        "reveal.js/dist/theme/black.css",
        "reveal.js/plugin/notes/notes.js",
        "reveal.js/LICENSE",
        "VENDORED.md",
    ):
        assert (root / rel).is_file(), rel
    assert 'K="5.2.1"' in (root / "reveal.js/dist/reveal.js").read_text(encoding="utf-8")
    for theme in ("white.css", "black.css"):
        css = (root / "reveal.js/dist/theme" / theme).read_text(encoding="utf-8")
        for target in re.findall(r"url\(\s*['\"]?([^'\")]+)", css):
            assert "//" not in target, target
            assert (root / "reveal.js/dist/theme" / target).is_file(), target
    fonts_css = root / "reveal.js/dist/theme/fonts/source-sans-pro/source-sans-pro.css"
    for target in re.findall(r"url\('([^']+)'\)", fonts_css.read_text(encoding="utf-8")):
        assert (fonts_css.parent / target).is_file(), target
    katex_css = (root / "katex/katex.min.css").read_text(encoding="utf-8")
    fonts = re.findall(r"url\(([^)]+)\)", katex_css)
    assert len(fonts) == 20 and all(f.endswith(".woff2") for f in fonts)
    for target in fonts:
        assert (root / "katex" / target).is_file(), target
    assert 'version:"0.19.1"' in (root / "katex/katex.min.js").read_text(encoding="utf-8")
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size < 2_000_000, size  # copied once into dist/_static and into each zip


def test_vendored_hashes_match_vendored_md() -> None:
    root = static_dir()
    listed = re.findall(
        r"^\| `([^`]+)` \| ([0-9a-f]{64}) \|", (root / "VENDORED.md").read_text(), re.M
    )
    assert len(listed) >= 8
    for rel, digest in listed:
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == digest, rel


def xss_notebook() -> NotebookNode:
    def result(data: dict[str, object], metadata: dict[str, object] | None = None) -> NotebookNode:
        return new_output("execute_result", data=data, metadata=metadata or {}, execution_count=1)

    return new_notebook(
        cells=[
            new_markdown_cell("# XSS\n\n<script>alert('markdown cell')</script>"),
            new_markdown_cell("Image: <img src=x onerror=alert(1)>"),
            new_markdown_cell("mXSS: <select><iframe></select><img src=x: onerror=alert(2)>"),
            new_markdown_cell("[click](javascript:alert(3)) <a href='JaVaScRiPt:alert(4)'>x</a>"),
            new_markdown_cell("<svg><script>alert(5)</script></svg><iframe src=x></iframe>"),
            new_markdown_cell("<form action=x><button formaction=javascript:alert(6)>b</button>"),
            new_raw_cell("Payload in raw cell <script>alert('raw cell')</script>"),
            new_code_cell(
                "1",
                metadata={"tags": ["FOO\"><script>alert('cell_tag')</script><div \""]},
                outputs=[
                    result({"text/html": "<script>alert('text/html output')</script><b>ok</b>"}),
                    result({"text/html": '<div onclick="alert(7)" style="color:red">x</div>'}),
                    result({"text/markdown": "<script>alert('text/markdown output')</script>"}),
                    result({"application/javascript": "alert('application/javascript')"}),
                    result({"image/svg+xml": "<svg><script>alert('svg')</script></svg>"}),
                    result(
                        {"image/png": "iVBORw0KGgo="},
                        {"filenames": {"image/png": "\"><script>alert('png name')</script>"}},
                    ),
                    result({"image/png": "abcd"}, {"width": "><script>alert('width')</script>"}),
                    result(
                        {
                            "application/vnd.jupyter.widget-view+json": {
                                "model_id": "w1",
                                "foo": "\"</script><script>alert('widget')//",
                            },
                            "text/plain": "IntSlider(value=3)",
                        }
                    ),
                ],
            ),
            new_markdown_cell(
                "data attribute",
                metadata={
                    "slideshow": {
                        "slide_type": "slide",
                        "data": {'x" onmouseover="alert(8)': "1", "transition": "zoom"},
                    }
                },
            ),
        ],
        metadata={
            "title": "TITLE</title><script>alert('title')</script>",
            "widgets": {"state": "pwn</script><script>alert('widgets');//"},
        },
    )


def test_xss_payloads_are_inert() -> None:
    html = render_slides(prepare_slides(xss_notebook()), static_prefix=PREFIX, title="XSS")
    assert_no_lesson_script(html)
    assert "alert(8)" not in html  # the unsafe slideshow.data key is dropped
    assert 'data-transition="zoom"' in html  # a plain one is kept
    assert "<b>ok</b>" in html  # harmless markup survives
    assert "IntSlider(value=3)" in html  # a widget shows its text fallback
    assert "'unsafe-inline'" not in csp_of(html).split("style-src")[0]


PNG_B64 = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg+M/AAAAFAAIBpdm0"
    "DAAAAABJRU5ErkJggg=="
)


def injected_notebook() -> NotebookNode:
    """Issue 10's injections, as outputs `IPython.display` produces and as markdown."""

    def shown(data: dict[str, object], metadata: dict[str, object] | None = None) -> NotebookNode:
        return new_output("display_data", data=data, metadata=metadata or {})

    markdown = [
        '<script src="evil.js"></script><script>alert("md")</script>',
        '<img src="chart.png" onload="alert(1)"><img src=x onerror=alert(2)>',
        '<iframe src="evil.html"></iframe><object data="evil.html"></object><embed src="e.swf">',
        "[a](javascript:alert(3)) <a href=' JaVaScRiPt:alert(4)'>b</a>",
        "<svg onload=alert(5)><script>alert(6)</script></svg>",
        '<meta http-equiv="refresh" content="0;url=evil.html"><base href="http://evil.example/">',
        "<style>@import url(http://evil.example/x.css); p {background: url(http://evil.example/p)}"
        '</style><p style="background-image: url(http://evil.example/i.png)">css</p>',
        '![remote](http://evil.example/track.png) <img src="//evil.example/t.png">',
    ]
    outputs = [
        shown({"text/vnd.mermaid": '<script src="evil.js"></script>'}),
        shown({"application/x-custom": "<img src=x onerror=alert(7)>"}),
        shown({"application/javascript": "alert(8)"}),
        shown({"image/png": PNG_B64}, {"image/png": {"width": "1 onload=alert(9)", "height": 40}}),
        shown({"image/jpeg": "/9j/AAAA"}, {"width": "1 onerror=alert(10)", "height": "2"}),
        shown({"image/png": PNG_B64}, {"width": 300}),
        shown({"image/svg+xml": '<svg onload="alert(11)"><script>alert(12)</script></svg>'}),
        shown({"image/gif": "R0lGODlhAQABAAAAACw="}),
        shown({"text/markdown": "<img src=x onerror=alert(13)>"}),
        shown({"text/latex": "$x$</div><script>alert(14)</script>"}),
    ]
    data = {
        "background-iframe": "evil.html",
        "background_interactive": "true",
        "notes": "<iframe src=evil.html>",
        "onclick": "alert(15)",
        "background-color": "#1d2f4f",
        "background-image": "http://evil.example/bg.png",
    }
    return new_notebook(
        cells=[
            new_markdown_cell(
                "# Injected", metadata={"slideshow": {"slide_type": "slide", "data": data}}
            ),
            *(new_markdown_cell(text) for text in markdown),
            new_code_cell("display(...)", outputs=outputs),
        ]
    )


DROPPED_DATA = frozenset(
    {
        "data-background-iframe",
        "data-background-interactive",
        "data-notes",
        "data-onclick",
        "data-background-image",
    }
)


def deck_body(html: str) -> str:
    """The lesson content of a deck: between <body> and the template's </main>."""
    return html[html.index("<body") : html.rindex("</main>")]


def test_injected_content_renders_inert() -> None:
    html = render_slides(prepare_slides(injected_notebook()), static_prefix=PREFIX, title="Inj")
    assert_no_lesson_script(html)
    body = deck_body(html)
    elements = parse(body).tags
    tags = {tag for tag, _ in elements}
    assert not tags & {"script", "iframe", "object", "embed", "svg", "meta", "base", "style"}
    for tag, attrs in elements:
        for name, raw in attrs.items():
            value = raw or ""
            assert not name.startswith("on"), name
            assert name not in DROPPED_DATA, name
            assert "url(" not in value, (name, value)
            if tag == "a" and name == "href" and re.match(r"^(?:https?:)?//", value):
                continue  # a remote image becomes a link (export.layout): it loads nothing
            assert "evil.example" not in value, (tag, name, value)
    # the remote images are links with their alt text, not images that would load
    assert re.search(r'<a href="http://evil\.example/track\.png"[^>]*>remote</a>', body)
    assert "alert(8)" not in body  # application/javascript is not even shown
    # the mermaid and unknown outputs are shown, as text
    assert '&lt;script src="evil.js"&gt;&lt;/script&gt;' in body
    assert "&lt;img src=x onerror=alert(7)&gt;" in body
    # image sizes: numbers only, as numbers
    assert 'height="40"' in body and 'width="300"' in body and 'height="2"' in body
    # SVG as a data-URI image (its script never runs); GIF as an image too
    assert 'src="data:image/svg+xml;base64,' in body
    assert 'src="data:image/gif;base64,R0lGODlhAQABAAAAACw="' in body
    assert 'data-background-color="#1d2f4f"' in body  # a safe slide attribute stays
    assert 'src="chart.png"' in body  # a local image stays


def test_csp_runs_only_the_template_scripts() -> None:
    """No 'self' or file: in script-src: a lesson's evil.js next to the deck cannot run."""
    html = render_slides(prepare_slides(lesson_notebook()), static_prefix=PREFIX, title="t")
    csp = csp_of(html)
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    scripts = directives["script-src"]
    assert scripts[0] == "'strict-dynamic'"
    assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", s) for s in scripts[1:]), scripts
    assert not any(tag == "script" and "src" in attrs for tag, attrs in parse(html).tags)
    for directive in ("object-src", "base-uri", "form-action", "connect-src"):
        assert directives[directive] == ["'none'"], directive
    assert directives["default-src"] == ["'none'"]


def test_sanitize_off_is_an_explicit_opt_out() -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Own JS"),
            new_code_cell(
                "1",
                outputs=[
                    new_output(
                        "execute_result",
                        data={"text/html": "<script>window.lessonScript = 1</script>"},
                        execution_count=1,
                    )
                ],
            ),
        ]
    )
    html = render_slides(nb, static_prefix=PREFIX, title="t", sanitize_html=False)
    assert "<script>window.lessonScript = 1</script>" in html
    csp = csp_of(html)
    assert "'unsafe-inline'" in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "sha256-" not in csp  # a hash would switch 'unsafe-inline' off
    assert "connect-src 'none'" in csp


@pytest.mark.parametrize(
    "title",
    [
        "</script><script>alert(1)</script>",
        "</title><script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
    ],
)
def test_title_is_escaped(title: str) -> None:
    html = render_slides(prepare_slides(lesson_notebook()), static_prefix=PREFIX, title=title)
    assert_no_lesson_script(html)
    assert title not in html
    assert sum(1 for tag, _ in parse(html).tags if tag == "title") == 1
    page_title = re.findall(r"<title>(.*?)</title>", html, re.S)
    assert [unescape(t) for t in page_title] == [f"{title} slides"]
    footer = re.findall(r'<div class="wk-footer">(.*?)</div>', html, re.S)
    assert [unescape(t) for t in footer] == [title]


def test_title_is_used_for_page_and_footer() -> None:
    html = render_slides(prepare_slides(lesson_notebook()), static_prefix=PREFIX, title="A & B")
    assert "<title>A &amp; B slides</title>" in html
    assert '<div class="wk-footer">A &amp; B</div>' in html


def test_csp_is_first_in_head_and_hashes_template_scripts() -> None:
    html = render_slides(prepare_slides(lesson_notebook()), static_prefix=PREFIX, title="t")
    head = html.split("<body", 1)[0]
    assert head.index("Content-Security-Policy") < head.index("<script")
    csp = csp_of(html)
    assert "default-src 'none'" in csp
    assert "'unsafe-eval'" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    inline = [text for attrs, text in parse(html).scripts if "src" not in attrs]
    assert inline, "expected the template's inline reveal.js initialisation"
    hashes = script_src_hashes(csp)
    for text in inline:
        assert sha256_b64(text) in hashes


def test_empty_deck_gets_a_title_slide() -> None:
    nb = new_notebook(cells=[new_code_cell("x = 1", metadata={"tags": ["parameters"]})])
    html = render_slides(prepare_slides(nb), static_prefix=PREFIX, title="<Only> a title")
    assert "&lt;Only&gt; a title" in html
    assert "<section" in html


@pytest.mark.parametrize(
    "prefix", ["https://cdn.example/x", "//cdn.example", "a b", 'x"y', "", "java:script"]
)
def test_static_prefix_must_be_a_plain_local_path(prefix: str) -> None:
    with pytest.raises(ValueError, match="static_prefix"):
        render_slides(lesson_notebook(), static_prefix=prefix, title="t")


def test_missing_template_names_the_searched_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(slides, "_package_dir", lambda *parts: tmp_path.joinpath(*parts))
    slides._exporter.cache_clear()
    try:
        with pytest.raises(SlidesTemplateNotFound) as info:
            render_slides(lesson_notebook(), static_prefix="../x", title="t")
    finally:
        slides._exporter.cache_clear()
    assert isinstance(info.value, FileNotFoundError)
    assert str(tmp_path / "templates" / "nbconvert" / "workshopkit_reveal") in str(info.value)
    assert "searched" in str(info.value)


def test_importing_the_module_does_not_import_nbconvert() -> None:
    code = (
        "import sys, workshopkit.export.slides as s; "
        "assert 'nbconvert' not in sys.modules, 'nbconvert imported'; "
        "assert 'bleach' not in sys.modules, 'bleach imported'"
    )
    src = Path(slides.__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(src)})


def test_exporter_is_reused_and_later_decks_are_fast() -> None:
    nb = prepare_slides(lesson_notebook())
    render_slides(nb, static_prefix=PREFIX, title="warm-up")
    first = slides._exporter(PREFIX, True)
    start = time.perf_counter()
    for _ in range(5):
        render_slides(nb, static_prefix=PREFIX, title="t")
    per_deck = (time.perf_counter() - start) / 5
    assert slides._exporter(PREFIX, True) is first
    assert per_deck < 0.5, per_deck


def test_a_reused_exporter_renders_a_deck_as_a_fresh_process_does(tmp_path: Path) -> None:
    """serve keeps one exporter (and its compiled templates) for every deck of every rebuild,
    and warms it up first: a deck must not depend on what was rendered before it."""
    notebook = tmp_path / "lesson.ipynb"
    nbformat.write(lesson_notebook(), str(notebook))
    code = (
        "import sys, nbformat\n"
        "from workshopkit.export.slides import prepare_slides, render_slides\n"
        f"nb = nbformat.read({str(notebook)!r}, as_version=4)\n"
        f"html = render_slides(prepare_slides(nb), static_prefix={PREFIX!r}, title='T', "
        "shared_css=True)\n"
        "sys.stdout.buffer.write(html.encode('utf-8'))\n"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, timeout=300
    ).stdout.decode("utf-8")
    slides.warm_up()
    other = nbformat.v4.new_notebook(
        cells=[
            new_markdown_cell("# Other\n\nMath: $a+b$ and ![x](x.png)"),
            new_code_cell("x = 1", outputs=[new_output("stream", name="stderr", text="w\n")]),
        ],
        metadata={"language_info": {"name": "r", "pygments_lexer": "r"}},
    )
    render_slides(prepare_slides(other), static_prefix=PREFIX, title="Other", shared_css=True)
    nb = nbformat.read(str(notebook), as_version=4)
    again = render_slides(prepare_slides(nb), static_prefix=PREFIX, title="T", shared_css=True)
    assert again == fresh
    # rendered again: every cell's markdown and code now comes from what the exporter kept
    exporter = slides._exporter(PREFIX, True)
    kept = len(exporter._wk_markdown.known), len(exporter._wk_code.known)
    third = render_slides(prepare_slides(nb), static_prefix=PREFIX, title="T", shared_css=True)
    assert third == fresh
    assert (len(exporter._wk_markdown.known), len(exporter._wk_code.known)) == kept
    assert kept[0] > 0 and kept[1] > 0
