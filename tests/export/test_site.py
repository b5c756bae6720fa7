"""export.site and the whole export: pages, escaping, offline URLs, failures, report.json."""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_output

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from export_scenarios import PNG_1PX, XSS_TITLE, fake_results, lesson_text, open_valid, scenario

from workshopkit.export import ExportResult, export_workshop
from workshopkit.export.site import CSP, format_size

EPOCH = 1_700_000_000
HTML_PAYLOAD = "<script>alert(1)</script>"
IMG_PAYLOAD = "<img src=x onerror=alert(1)>"
GHSA_PAYLOAD = "<select><iframe></select><img src=x: onerror=alert(2)>"

XSS_TOML = f"""\
title = {json.dumps("Workshop " + XSS_TITLE)}
description = {json.dumps("About <b>this</b> & that " + HTML_PAYLOAD)}
requirements = "requirements.txt"

[[tracks]]
id = "basics"
title = {json.dumps("Track " + XSS_TITLE)}
levels = ["beginner", "intermediate", "advanced"]
"""

XSS_BODY = f"""
# %% [markdown]
# # Attack
#
# {IMG_PAYLOAD}
#
# {GHSA_PAYLOAD}

# %%
from IPython.display import HTML
HTML("{HTML_PAYLOAD}")
"""


class Page(HTMLParser):
    """Collects what the accessibility and offline checks need from one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(path: Path) -> Page:
    return parse_text(path.read_text(encoding="utf-8"))


def parse_text(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def html_files(dist: Path) -> list[Path]:
    """The pages workshopkit writes (vendored reveal.js files under _static are not ours)."""
    return sorted(p for p in dist.rglob("*.html") if "_static" not in p.relative_to(dist).parts)


@pytest.fixture
def xss_dist(tmp_path: Path) -> Path:
    root = scenario(
        tmp_path / "ws",
        toml=XSS_TOML,
        extra={
            "lessons/04-attack/lesson.py": lesson_text(
                "attack",
                title=XSS_TITLE,
                minutes=5,
                tags=["<b>tag</b>", XSS_TITLE],
                objectives=[f"Survive {HTML_PAYLOAD}"],
                body=XSS_BODY,
            )
        },
    )
    workshop = open_valid(root)
    results = fake_results(workshop, tmp_path / "run")
    attack = next(r for r in results if r.lesson_id == "attack")
    assert attack.notebook is not None
    nb = nbformat.read(attack.notebook, as_version=4)
    code = next(c for c in nb.cells if "HTML(" in c.source)
    code.outputs = [
        new_output(
            "execute_result",
            data={"text/html": HTML_PAYLOAD, "text/plain": "<IPython.core.display.HTML>"},
            execution_count=1,
        ),
        new_output("display_data", data={"application/javascript": "alert(3)"}),
    ]
    nbformat.write(nb, attack.notebook)
    dest = tmp_path / "dist"
    export_workshop(workshop, results, dest, source_date_epoch=EPOCH)
    return dest


@pytest.fixture
def failed_dist(tmp_path: Path) -> Path:
    workshop = open_valid(scenario(tmp_path / "ws"))
    results = fake_results(workshop, tmp_path / "run", failed=["next-steps"], skipped=["deep-dive"])
    dest = tmp_path / "dist"
    export_workshop(workshop, results, dest, source_date_epoch=EPOCH)
    return dest


# --------------------------------------------------------------------------------------------
# Layout


def test_dist_layout_matches_design(failed_dist: Path) -> None:
    top = sorted(p.name for p in failed_dist.iterdir())
    assert top == ["SHA256SUMS", "_static", "basics", "basics.zip", "index.html", "lessons",
                   "report.json"]  # fmt: skip
    assert (failed_dist / "basics/index.html").is_file()
    assert sorted(p.name for p in (failed_dist / "lessons").iterdir()) == ["deep-dive", "exercises"]
    assert (failed_dist / "_static/site.css").is_file()
    assert (failed_dist / "_static/reveal.js/dist/reveal.js").is_file()


# --------------------------------------------------------------------------------------------
# Escaping (failure-modes.md 15, 26, 27)


def test_titles_tags_and_objectives_are_escaped(xss_dist: Path) -> None:
    for path in (xss_dist / "index.html", xss_dist / "basics/index.html"):
        html = path.read_text()
        assert "<script" not in html.lower(), path
        assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        page = parse(path)
        assert "</script><script>alert(1)</script>" in "".join(page.text)  # shown as text
    track = (xss_dist / "basics/index.html").read_text()
    assert "&lt;b&gt;tag&lt;/b&gt;" in track
    assert "Survive &lt;script&gt;alert(1)&lt;/script&gt;" in track


def test_lesson_outputs_are_sanitised_in_slides(xss_dist: Path) -> None:
    deck = (xss_dist / "lessons/attack/attack.slides.html").read_text()
    assert "<script>alert(1)" not in deck
    assert "onerror" not in deck
    assert "alert(3)" not in deck
    assert "<iframe" not in deck
    # the title is escaped in <title> and the footer
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in deck


def test_every_page_has_a_restrictive_csp(xss_dist: Path) -> None:
    for path in html_files(xss_dist):
        tags = parse(path).tags
        csp = [a.get("content") for t, a in tags if t == "meta" and a.get("http-equiv")
               == "Content-Security-Policy"]  # fmt: skip
        assert len(csp) == 1, path
        assert "default-src 'none'" in (csp[0] or ""), path
    index = parse(xss_dist / "index.html").tags
    assert ("meta", {"http-equiv": "Content-Security-Policy", "content": CSP}) in index
    assert "script-src" not in CSP  # the site pages run no script at all


def test_no_network_urls_anywhere(xss_dist: Path) -> None:
    """failure-modes.md 17, 29: no http(s):// or // in any src or href of dist HTML."""
    for path in html_files(xss_dist):
        for tag, attrs in parse(path).tags:
            for key in ("src", "href"):
                value = (attrs.get(key) or "").strip().lower()
                assert not value.startswith(("http:", "https:", "//")), (path, tag, value)
    css = (xss_dist / "_static/site.css").read_text()
    assert "url(" not in css and "@import" not in css


# --------------------------------------------------------------------------------------------
# Lesson content never runs in a page (issue 10): tests/resources/lesson_injection, exported
# with the outputs its lessons display (the real build and Chromium: tests/browser).

INJECTION = Path(__file__).resolve().parents[1] / "resources" / "lesson_injection"
PNG_B64 = base64.b64encode(PNG_1PX).decode("ascii")
INJECTED_OUTPUTS = [
    new_output("display_data", data={"text/vnd.mermaid": '<script src="evil.js"></script>'}),
    new_output("display_data", data={"text/html": "<script src='evil.js'></script><b>html</b>"}),
    new_output("display_data", data={"application/javascript": "alert('js output 3')"}),
    new_output("display_data", data={"application/x-evil": "<script>alert('unknown')</script>"}),
    new_output(
        "display_data",
        data={"image/png": PNG_B64},
        metadata={"image/png": {"width": "1 onload=alert('width')", "height": 40}},
    ),
    new_output("display_data", data={"image/png": PNG_B64}, metadata={"height": "2 onerror=x"}),
    new_output("display_data", data={"image/svg+xml": "<svg onload='alert(1)'><script/></svg>"}),
    new_output("display_data", data={"text/markdown": "<img src='chart.png' onload='alert(2)'>"}),
    new_output("stream", name="stdout", text="every payload above was displayed\n"),
]


def our_pages(dist: Path) -> list[Path]:
    """workshopkit's pages: not vendored files, not a lesson's own (shipped) HTML files."""
    return [
        p
        for p in html_files(dist)
        if not (p.relative_to(dist).parts[0] == "lessons" and ".slides." not in p.name)
    ]


@pytest.fixture
def injected(tmp_path: Path) -> tuple[Path, ExportResult]:
    root = tmp_path / "ws"
    shutil.copytree(INJECTION, root)
    workshop = open_valid(root)
    results = fake_results(workshop, tmp_path / "run")
    inject = next(r for r in results if r.lesson_id == "inject")
    assert inject.notebook is not None
    nb = nbformat.read(inject.notebook, as_version=4)
    code = next(c for c in nb.cells if "display(" in c.source)
    code.outputs = INJECTED_OUTPUTS
    nbformat.write(nb, inject.notebook)
    dest = tmp_path / "dist"
    return dest, export_workshop(workshop, results, dest, source_date_epoch=EPOCH)


def test_injected_pages_run_no_lesson_script(injected: tuple[Path, ExportResult]) -> None:
    dist, _ = injected
    assert (dist / "lessons/inject/evil.js").is_file()  # shipped next to the deck...
    pages = {p.relative_to(dist).as_posix() for p in our_pages(dist)}
    assert pages == {"index.html", "all/index.html", "events/evening/index.html",
                     "events/evening/evening.slides.html", "lessons/inject/inject.slides.html",
                     "lessons/meta-inject/meta-inject.slides.html"}  # fmt: skip
    for path in our_pages(dist):
        page = parse(path)
        (csp,) = [a.get("content") or "" for t, a in page.tags
                  if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]  # fmt: skip
        scripts = next((d.split()[1:] for d in csp.split("; ") if d.startswith("script-src")), [])
        if path.name.endswith(".slides.html"):  # ...but no script file runs by its location
            assert scripts[0] == "'strict-dynamic'", (path, scripts)
            assert all(s.startswith("'sha256-") for s in scripts[1:]), (path, scripts)
        else:
            assert scripts == [] and "default-src 'none'" in csp, path  # no script at all
        body = path.read_text(encoding="utf-8").split("<body", 1)[1].rsplit("</main>", 1)[0]
        for tag, attrs in parse_text(body).tags:
            assert tag not in {"script", "iframe", "object", "embed", "svg", "meta", "base",
                               "style", "link", "form"}, (path, tag)  # fmt: skip
            for name, value in attrs.items():
                assert not name.startswith("on"), (path, tag, name)
                if tag == "a" and name == "href" and re.match(r"^(?:https?:)?//", value or ""):
                    continue  # a deck shows a remote image as a link (export.layout): no load
                assert "evil." not in (value or ""), (path, tag, name, value)
                assert name not in {"data-background-iframe", "data-background-interactive",
                                    "data-notes"}, (path, name)  # fmt: skip
                if name in {"width", "height"}:
                    assert (value or "").isdigit(), (path, tag, name, value)


def test_injected_outputs_show_as_text(injected: tuple[Path, ExportResult]) -> None:
    dist, _ = injected
    for deck in ("lessons/inject/inject.slides.html", "events/evening/evening.slides.html"):
        html = (dist / deck).read_text(encoding="utf-8")
        assert '&lt;script src="evil.js"&gt;&lt;/script&gt;' in html, deck  # mermaid, escaped
        assert "&lt;script&gt;alert('unknown')&lt;/script&gt;" in html, deck
        assert "alert('js output 3')" not in html, deck
        assert "data:image/svg+xml;base64," in html, deck
        assert 'height="40"' in html and "<b>html</b>" in html, deck


def test_injected_metadata_is_escaped_on_every_page(injected: tuple[Path, ExportResult]) -> None:
    dist, _ = injected
    index = (dist / "index.html").read_text(encoding="utf-8")
    track = (dist / "all/index.html").read_text(encoding="utf-8")
    event = (dist / "events/evening/index.html").read_text(encoding="utf-8")
    title = "&lt;/script&gt;&lt;script&gt;alert(&#39;lesson title&#39;)&lt;/script&gt;"
    assert title in index and title in track and title in event
    assert "&lt;img src=x onerror=alert(&#39;objective&#39;)&gt;" in track
    assert "&lt;iframe src=evil.html&gt;" in track  # a tag
    assert "Evening &lt;svg onload=alert(&#39;event&#39;)&gt;" in event
    assert "&lt;iframe src=&#39;evil.html&#39;&gt;&lt;/iframe&gt;" in event  # the venue
    assert "&lt;img src=x onerror=alert(&#39;speaker&#39;)&gt;" in event


def test_export_warns_about_what_the_decks_leave_out(injected: tuple[Path, ExportResult]) -> None:
    _, result = injected
    warnings = [str(d) for d in result.diagnostics if not d.is_error]
    where = "lessons/01-inject/inject.py"
    assert (
        f"{where}:12: warning: slides: slideshow data key 'background-iframe' is not allowed in "
        "slides: dropped"
    ) in warnings
    assert (
        f"{where}:43: warning: slides: output of type 'text/vnd.mermaid' is shown as text "
        "(slides render only known types)"
    ) in warnings
    assert (
        f"{where}:43: warning: slides: image width \"1 onload=alert('width')\" (for image/png) "
        "is not a positive number"
    ) in warnings
    assert f"{where}:43: warning: slides: image height '2 onerror=x' is not a positive number" in (
        warnings
    )


# --------------------------------------------------------------------------------------------
# Accessibility basics (the browser test checks the rendered page)


@pytest.mark.parametrize("page", ["index.html", "basics/index.html"])
def test_page_structure(failed_dist: Path, page: str) -> None:
    parsed = parse(failed_dist / page)
    html_tag = next(a for t, a in parsed.tags if t == "html")
    assert html_tag.get("lang") == "en"
    assert parsed.headings[0] == 1 and parsed.headings.count(1) == 1
    for before, after in zip(parsed.headings, parsed.headings[1:], strict=False):
        assert after <= before + 1, parsed.headings  # no skipped level
    skip = next(a for t, a in parsed.tags if t == "a" and "skip-link" in (a.get("class") or ""))
    assert skip["href"] == "#main"
    assert any(t == "main" and a.get("id") == "main" for t, a in parsed.tags)
    assert all("alt" in a for t, a in parsed.tags if t == "img")
    viewport = [a for t, a in parsed.tags if t == "meta" and a.get("name") == "viewport"]
    assert viewport


def test_track_page_lists_lessons_with_links(failed_dist: Path) -> None:
    html = (failed_dist / "basics/index.html").read_text()
    page = parse(failed_dist / "basics/index.html")
    hrefs = [a.get("href") for t, a in page.tags if t == "a"]
    assert "../lessons/exercises/exercises.slides.html" in hrefs
    assert "../lessons/exercises/exercises.ipynb" in hrefs
    assert "../lessons/exercises/exercises.solution.ipynb" in hrefs
    assert "../basics.zip" in hrefs and "../index.html" in hrefs
    for href in hrefs:  # every relative link resolves inside dist
        target = href.split("#")[0] if href else ""
        if target:
            assert (failed_dist / "basics" / target).resolve().exists(), href
    assert "20 min" in html and "Write a function" in html
    assert html.index("Exercises and solutions") < html.index("Next steps")
    assert html.index("Next steps") < html.index("Deep dive")
    assert 'href="#lesson-exercises"' in html  # prerequisites link inside the track


def test_index_shows_downloads_with_size_and_hash(failed_dist: Path) -> None:
    html = (failed_dist / "index.html").read_text()
    sums = (failed_dist / "SHA256SUMS").read_text().split()
    assert sums[1] == "basics.zip" and sums[0] in html
    size = (failed_dist / "basics.zip").stat().st_size
    assert format_size(size) in html
    assert 'href="basics.zip" download' in html
    assert "1 h 05 min" in html  # 20 + 15 + 30 minutes


def test_failed_and_skipped_lessons_are_marked(failed_dist: Path) -> None:
    index = (failed_dist / "index.html").read_text()
    track = (failed_dist / "basics/index.html").read_text()
    assert "1 lesson\n    failed its last test run" in index
    assert 'class="badge status-badge failed">failed<' in index
    assert "status-failed" in track
    assert "Failed its last test run (lessons/02-next/lesson.py:12 (cell 3): ValueError: boom)" in (
        track
    )
    assert "Not run in this build: needs a GPU." in track
    assert "../lessons/next-steps/" not in track  # no links to files that do not exist
    assert not (failed_dist / "lessons/next-steps").exists()


def test_report_json(failed_dist: Path) -> None:
    report = json.loads((failed_dist / "report.json").read_text())
    assert report["generator"].startswith("workshopkit ")
    assert report["status"] == "failed"
    assert report["summary"] == {"passed": 1, "failed": 1, "skipped": 1}
    by_id = {lesson["id"]: lesson for lesson in report["lessons"]}
    assert list(by_id) == ["exercises", "next-steps", "deep-dive"]
    failed = by_id["next-steps"]
    assert failed["status"] == "failed" and failed["seconds"] == 0.5
    assert {k: failed["error"][k] for k in ("path", "line", "cell", "ename", "evalue")} == {
        "path": "lessons/02-next/lesson.py",
        "line": 12,
        "cell": 3,
        "ename": "ValueError",
        "evalue": "boom",
    }
    assert by_id["exercises"]["error"] is None and by_id["exercises"]["exported"] is True
    assert by_id["deep-dive"]["reason"] == "needs a GPU"
    (track,) = report["tracks"]
    assert track["left_out"] == ["next-steps"]
    assert track["bundle"]["file"] == "basics.zip"


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 bytes"), (999, "999 bytes"), (1000, "1.0 kB"), (14_300, "14.3 kB"),
     (2_400_000, "2.4 MB"), (250_000_000, "250 MB"), (3 * 10**12, "3000 GB")],
)  # fmt: skip
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


# --------------------------------------------------------------------------------------------
# [launch]: Colab, Binder and View links (issue 17)

LAUNCH_TOML = '\n[launch]\nrepository = "https://github.com/ada/ml-meetup.git"\nbranch = "site"\n'


def launch_links(page: Path) -> list[tuple[str, str]]:
    return [
        (attrs.get("title") or "", attrs.get("href") or "")
        for tag, attrs in parse(page).tags
        if tag == "a" and "launch-link" in (attrs.get("class") or "")
    ]


@pytest.fixture
def launched(tmp_path: Path) -> Path:
    from export_scenarios import DEFAULT_TOML

    workshop = open_valid(scenario(tmp_path / "ws", toml=DEFAULT_TOML + LAUNCH_TOML))
    results = fake_results(workshop, tmp_path / "run", failed=["deep-dive"])
    dest = tmp_path / "dist"
    export_workshop(workshop, results, dest, source_date_epoch=1_700_000_000)
    return dest


def test_launch_links_point_at_the_published_learner_notebook(launched: Path) -> None:
    path = "lessons/exercises/exercises.ipynb"
    expected = [
        (
            "Open Exercises and solutions in Google Colab",
            f"https://colab.research.google.com/github/ada/ml-meetup/blob/site/{path}",
        ),
        (
            "Open Exercises and solutions in Binder",
            "https://mybinder.org/v2/gh/ada/ml-meetup/site?labpath="
            "lessons%2Fexercises%2Fexercises.ipynb",
        ),
        (
            "View Exercises and solutions online",
            f"https://github.com/ada/ml-meetup/blob/site/{path}",
        ),
    ]
    for page in (launched / "index.html", launched / "basics/index.html"):
        found = launch_links(page)
        assert found[:3] == expected, page
        assert len(found) == 6  # exercises and next-steps; deep-dive failed: not published
        assert not any("deep-dive" in href for _, href in found)
    # Binder builds its environment from the branch's root
    assert (launched / "requirements.txt").read_text() == "numpy==2.0.0\n"


def test_launch_links_load_nothing(launched: Path) -> None:
    """Links only: no image, script or stylesheet from the network on any page."""
    for page in html_files(launched):
        for tag, attrs in parse(page).tags:
            for key in ("src", "href"):
                value = (attrs.get(key) or "").strip().lower()
                if value.startswith(("http:", "https:", "//")):
                    assert tag == "a" and key == "href", (page, tag, value)
                    assert value.startswith("https://"), value


def test_learner_notebooks_get_a_colab_setup_cell_only_with_launch(
    launched: Path, tmp_path: Path
) -> None:
    nb = nbformat.read(launched / "lessons/exercises/exercises.ipynb", as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "code" and first.id == "workshopkit-colab-setup"
    assert (
        'if "google.colab" in sys.modules:\n    %pip install --quiet numpy==2.0.0' in first.source
    )
    solution = nbformat.read(launched / "lessons/exercises/exercises.solution.ipynb", as_version=4)
    assert "google.colab" not in solution.cells[0].source
    # the cell is valid IPython: the `%pip` line inside the `if` becomes a magic call
    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(first.source)
    compile(python, "setup", "exec")
    assert "get_ipython().run_line_magic('pip', 'install --quiet numpy==2.0.0')" in python
    # without [launch]: no cell, no links, no requirements.txt at the root
    workshop = open_valid(scenario(tmp_path / "plain"))
    dest = tmp_path / "plain-dist"
    export_workshop(workshop, fake_results(workshop, tmp_path / "run2"), dest)
    plain = nbformat.read(dest / "lessons/exercises/exercises.ipynb", as_version=4)
    assert not any("google.colab" in c.source for c in plain.cells)
    assert launch_links(dest / "index.html") == [] and not (dest / "requirements.txt").exists()


def test_pages_url_sends_view_links_to_the_published_site(tmp_path: Path) -> None:
    from workshopkit.launch import launch_links as links
    from workshopkit.model import LaunchConfig

    launch = LaunchConfig("ada", "ml", "gh-pages", "docs", "https://ada.github.io/ml/")
    found = links(launch, "lessons/a b/a b.ipynb")
    assert found.view == "https://nbviewer.org/urls/ada.github.io/ml/lessons/a%20b/a%20b.ipynb"
    assert found.colab == (
        "https://colab.research.google.com/github/ada/ml/blob/gh-pages/docs/lessons/a%20b/a%20b.ipynb"
    )
    assert found.binder == (
        "https://mybinder.org/v2/gh/ada/ml/gh-pages?labpath=docs%2Flessons%2Fa%20b%2Fa%20b.ipynb"
    )
