"""Offline reveal.js slides (DESIGN.md §5: ``lessons/<id>/<id>.slides.html``).

nbconvert's own slides load reveal.js, require.js, jQuery, MathJax and mermaid from CDNs and are
blank without a network. Here a deck is rendered with the packaged ``workshopkit_reveal`` template,
which extends nbconvert's ``reveal`` template, against the reveal.js 5.2.1 and require.js copies
vendored in ``workshopkit/static`` (see ``static/VENDORED.md``). The pipeline copies
:func:`static_dir` to ``dist/_static/`` and renders each deck with a ``static_prefix`` relative to
the deck (``"../../_static"`` for ``dist/lessons/<id>/``).

Security (reference/failure-modes.md §1 rows 15 and 17, §3 cases 26, 27 and 29):

* By default the HTML of markdown cells and of ``text/html``/``text/markdown`` outputs is sanitised
  with bleach against an allow-list suited to notebooks (headings, paragraphs, lists, tables,
  images, code). ``<script>`` and ``<style>`` elements are removed with their content, event
  handler attributes and ``javascript:`` URLs are dropped; ``application/javascript`` outputs are
  not rendered; widgets show their text fallback.
* Every deck carries a Content-Security-Policy ``<meta>``. With sanitising on, scripts may come
  only from local files plus the exact sha256 hashes of the template's own inline scripts (and of
  reveal.js's speaker view), so no injected inline script or ``on*=`` handler could run even if
  something slipped through. With ``sanitize_html=False`` (an explicit opt-out for lessons that
  need their own JavaScript) inline scripts are allowed, but every fetch still stays local.
* The title and cell tags are HTML-escaped; ``slideshow.data`` keys that are not plain
  ``[A-Za-z0-9_-]`` names are dropped (nbconvert writes them into attribute names unescaped).

nbconvert is imported lazily: importing this module stays cheap for the CLI.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import re
import threading
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InfrastructureError
from ..model import TAG_PARAMETERS, TAG_SOLUTION, cell_tags

if TYPE_CHECKING:
    from nbconvert.exporters import SlidesExporter
    from nbformat import NotebookNode

    from .layout import LaidOut

__all__ = [
    "SlidesTemplateNotFound",
    "clean_html",
    "content_security_policy",
    "prepare_deck",
    "prepare_slides",
    "render_slides",
    "static_dir",
    "template_dir",
    "write_notebook_css",
]

TEMPLATE_NAME = "workshopkit_reveal"
REVEAL_VERSION = "5.2.1"
REVEAL_THEME = "white"
REVEAL_NUMBER = "c/t"
REVEAL_TRANSITION = "slide"
# 16:10, like most projectors and laptops; reveal.js scales the slide to the window.
SLIDE_WIDTH = 1200
SLIDE_HEIGHT = 750

# Cells dropped from every deck: papermill's error banner and its injected parameters.
TAG_PAPERMILL_ERROR = "papermill-error-cell-tag"
TAG_INJECTED_PARAMETERS = "injected-parameters"
TAG_REMOVE_CELL = "remove-cell"  # Jupyter Book's tag: never shown anywhere
_DROPPED_TAGS = frozenset({TAG_PAPERMILL_ERROR, TAG_INJECTED_PARAMETERS, TAG_REMOVE_CELL})

SLIDE_TYPES = frozenset({"slide", "subslide", "fragment", "skip", "notes", "-"})
_STRUCTURAL_SLIDE_TYPES = frozenset({"slide", "subslide", "fragment"})

_CSP_PLACEHOLDER = "__WORKSHOPKIT_CSP__"
KATEX_STYLESHEET = "/katex/katex.min.css"  # in a deck's HTML only when it typesets math
# $$...$$, or a dollar sign, text that neither starts nor ends with a space, a dollar sign: math
# as Jupyter writes it. "It costs $5 or $6" does not count; in a deck that loads KaTeX for other
# math, auto-render still typesets "5 or " there, even when written \$5 (a known limit).
_MATH = re.compile(r"\$\$.+?\$\$|\$[^\s$](?:[^$]*[^\s$])?\$", re.DOTALL)
_SAFE_PREFIX = re.compile(r"^[A-Za-z0-9._~/-]+$")
_SAFE_DATA_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SOLUTION_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)#[ \t]*BEGIN SOLUTION\b.*?^[ \t]*#[ \t]*END SOLUTION\b[^\n]*(?:\n|\Z)",
    re.MULTILINE | re.DOTALL,
)
_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_JS_TYPES = frozenset({"", "text/javascript", "application/javascript", "module"})

_render_lock = threading.Lock()


class SlidesTemplateNotFound(InfrastructureError, FileNotFoundError):
    """The packaged slides template or the vendored reveal.js is missing (a broken install)."""


# --------------------------------------------------------------------------------------------
# Packaged files


def _package_dir(*parts: str) -> Path:
    return Path(str(files("workshopkit").joinpath(*parts)))


def _require_files(what: str, paths: list[Path]) -> None:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        searched = ", ".join(str(p) for p in missing)
        raise SlidesTemplateNotFound(
            f"{what} not found; searched: [{searched}] "
            "(is workshopkit installed with its package data?)"
        )


def template_dir() -> Path:
    """The folder holding workshopkit's nbconvert templates (``extra_template_basedirs``)."""
    base = _package_dir("templates", "nbconvert")
    tpl = base / TEMPLATE_NAME
    _require_files(f"slides template '{TEMPLATE_NAME}'", [tpl / "conf.json", tpl / "index.html.j2"])
    return base


def static_dir() -> Path:
    """The vendored web assets (reveal.js, require.js); copy this folder to ``dist/_static/``."""
    base = _package_dir("static")
    _require_files(
        f"vendored reveal.js {REVEAL_VERSION}",
        [
            base / "require.js",
            base / "reveal.js" / "dist" / "reveal.js",
            base / "reveal.js" / "dist" / "reveal.css",
            base / "reveal.js" / "dist" / "theme" / f"{REVEAL_THEME}.css",
            base / "reveal.js" / "plugin" / "notes" / "notes.js",
        ],
    )
    return base


# --------------------------------------------------------------------------------------------
# Preparing the notebook


def _slide_type(cell: Any) -> str | None:
    slideshow = cell.get("metadata", {}).get("slideshow")
    if isinstance(slideshow, dict):
        value = slideshow.get("slide_type")
        if isinstance(value, str) and value in SLIDE_TYPES:
            return value
    return None


def _set_slide_type(cell: Any, slide_type: str) -> None:
    slideshow = cell.metadata.get("slideshow")
    if not isinstance(slideshow, dict):
        slideshow = {}
    slideshow["slide_type"] = slide_type
    cell.metadata["slideshow"] = slideshow


def _is_solution(cell: Any) -> bool:
    if TAG_SOLUTION in cell_tags(cell):
        return True
    meta = cell.get("metadata", {}).get("workshopkit")
    return isinstance(meta, dict) and meta.get("solution") is True


def _strip_solution_blocks(source: str) -> str:
    def stub(match: re.Match[str]) -> str:
        return f"{match.group('indent')}...  # your code here\n"

    return _SOLUTION_BLOCK.sub(stub, source)


def prepare_slides(
    nb: NotebookNode, *, include_solutions: bool = False, folder: Path | None = None
) -> NotebookNode:
    """Return a copy of ``nb`` ready for :func:`render_slides`; ``nb`` itself is never changed.
    The deck of :func:`prepare_deck`, without its report."""
    deck: NotebookNode = prepare_deck(nb, include_solutions=include_solutions, folder=folder).nb
    return deck


def prepare_deck(
    nb: NotebookNode, *, include_solutions: bool = False, folder: Path | None = None
) -> LaidOut:
    """A copy of ``nb`` ready for :func:`render_slides`, laid out so that every slide fits one
    screen, with its slide count and what to report (``nb`` itself is never changed).

    - Cells tagged ``solution`` (or with ``workshopkit.solution: true``) are dropped unless
      ``include_solutions``; so are the ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` parts of other
      code cells, which become ``...  # your code here`` (their outputs are dropped too, since
      they no longer match the code shown).
    - papermill's error banner (tag ``papermill-error-cell-tag``), its ``injected-parameters``
      cell, cells tagged ``remove-cell``, and empty cells without outputs are dropped.
    - Explicit ``slideshow.slide_type`` metadata is kept as written (``notes`` cells stay speaker
      notes, ``skip`` cells stay out of the deck).
    - If no cell says where slides start (no ``slide``, ``subslide`` or ``fragment`` anywhere; a
      lesson with only ``notes``/``skip`` metadata still counts as having none), every heading
      starts a slide: ``#`` a slide, deeper levels a sub-slide.
    - A cell tagged ``parameters`` without explicit metadata becomes ``skip``: papermill values
      are plumbing, not teaching material.
    - Then ``export.layout`` continues what does not fit on next slides, bounds tall outputs and
      trims tracebacks (see there). ``folder`` is the lesson's folder, where the sizes of its
      images are read.
    """
    from .layout import lay_out

    out: NotebookNode = copy.deepcopy(nb)
    kept = []
    for cell in out.cells:
        tags = set(cell_tags(cell))
        if tags & _DROPPED_TAGS:
            continue
        if not include_solutions and _is_solution(cell):
            continue
        if cell.cell_type == "code" and not include_solutions:
            source = str(cell.source)
            stripped = _strip_solution_blocks(source)
            if stripped != source:
                cell.source = stripped
                cell.outputs = []
                cell.execution_count = None
        has_outputs = cell.cell_type == "code" and bool(cell.get("outputs"))
        if not str(cell.source).strip() and not has_outputs:
            continue
        kept.append(cell)
    out.cells = kept

    infer = not any(_slide_type(c) in _STRUCTURAL_SLIDE_TYPES for c in out.cells)
    for cell in out.cells:
        if _slide_type(cell) is None and TAG_PARAMETERS in cell_tags(cell):
            _set_slide_type(cell, "skip")
    return lay_out(out, infer=infer, folder=folder)


# --------------------------------------------------------------------------------------------
# Sanitising


_ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "acronym", "b", "blockquote", "br", "caption", "cite", "code", "col",
        "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
        "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
        "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
        "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
        "var",
    }
)  # fmt: skip
_GLOBAL_ATTRS = frozenset({"class", "id", "title", "lang", "dir", "style"})
_TAG_ATTRS: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "name", "rel"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan", "align", "valign"}),
    "th": frozenset({"colspan", "rowspan", "align", "valign", "scope"}),
    "table": frozenset({"border", "cellpadding", "cellspacing"}),
    "col": frozenset({"span", "width"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "type", "reversed"}),
    "li": frozenset({"value"}),
    "details": frozenset({"open"}),
    "tr": frozenset({"align", "valign"}),
}
_ALLOWED_CSS = frozenset(
    {
        "color", "background-color", "font-weight", "font-style", "font-family", "font-size",
        "text-align", "text-decoration", "vertical-align", "white-space", "border",
        "border-top", "border-bottom", "border-left", "border-right", "border-color",
        "border-collapse", "padding", "padding-left", "padding-right", "padding-top",
        "padding-bottom", "width", "max-width", "height", "max-height",
    }
)  # fmt: skip
_DROP_WITH_CONTENT = re.compile(
    r"<(script|style|template|noscript|textarea|title)\b[^>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
_IMAGE_DATA_URL = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name not in _GLOBAL_ATTRS and name not in _TAG_ATTRS.get(tag, frozenset()):
        return False
    if name in {"href", "src"}:
        lowered = value.strip().lower()
        if lowered.startswith("data:"):
            return tag == "img" and name == "src" and bool(_IMAGE_DATA_URL.match(lowered))
    return True


@functools.lru_cache(maxsize=1)
def _cleaner() -> Any:
    from bleach.css_sanitizer import CSSSanitizer  # type: ignore[import-untyped]
    from bleach.sanitizer import Cleaner  # type: ignore[import-untyped]

    return Cleaner(
        tags=_ALLOWED_TAGS,
        attributes=_allowed_attribute,
        protocols=frozenset({"http", "https", "mailto", "data"}),
        css_sanitizer=CSSSanitizer(allowed_css_properties=_ALLOWED_CSS),
        strip=True,
        strip_comments=True,
    )


def clean_html(element: object) -> str:
    """Sanitise an HTML fragment for a slide (replaces nbconvert's ``clean_html`` filter).

    ``<script>``, ``<style>`` and similar elements go with their content (a pandas table keeps its
    markup, loses its ``<style scoped>`` block); other tags outside the allow-list are removed
    and their text kept; attributes, URL schemes and inline CSS are allow-listed.
    """
    text = element.decode() if isinstance(element, bytes) else str(element)
    text = _DROP_WITH_CONTENT.sub("", text)
    return str(_cleaner().clean(text))


# --------------------------------------------------------------------------------------------
# Rendering


def _check_prefix(static_prefix: str) -> str:
    prefix = static_prefix.rstrip("/")
    if not prefix or not _SAFE_PREFIX.match(prefix) or prefix.startswith("//"):
        raise ValueError(
            "static_prefix must be a local path made of [A-Za-z0-9._~/-] "
            f"(like '../../_static'), not {static_prefix!r}"
        )
    return prefix


@functools.lru_cache(maxsize=8)
def _exporter(prefix: str, sanitize_html: bool) -> SlidesExporter:
    from nbconvert.exporters import SlidesExporter

    tpl_base = template_dir()
    return SlidesExporter(  # type: ignore[no-untyped-call]
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(tpl_base)],
        reveal_url_prefix=f"{prefix}/reveal.js",
        require_js_url=f"{prefix}/require.js",
        jquery_url="",
        mathjax_url="",
        mermaid_js_url="",
        reveal_theme=REVEAL_THEME,
        reveal_number=REVEAL_NUMBER,
        reveal_transition=REVEAL_TRANSITION,
        reveal_width=str(SLIDE_WIDTH),
        reveal_height=str(SLIDE_HEIGHT),
        reveal_scroll=False,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=False,
        sanitize_html=sanitize_html,
        filters={"clean_html": clean_html},
    )


# JupyterLab's stylesheets, which nbconvert inlines into every deck (~270 KB each), are written
# once to `_static/` by `write_notebook_css` and linked from the decks of a build.
NOTEBOOK_CSS = "notebook.css"
_NOTEBOOK_CSS_PARTS = ("static/index.css", "static/theme-light.css", "static/custom_reveal.css")
# The inline rules of nbconvert's `notebook_css` block (reveal/index.html.j2), kept with them.
_NBCONVERT_REVEAL_RULES = """
a.anchor-link {
   display: none;
}
.highlight  {
    margin: 0.4em;
}
.jp-Notebook {
    padding: 0;
}
:root {
    --jp-ui-font-size1: 20px;       /* instead of 14px */
    --jp-content-font-size1: 20px;  /* instead of 14px */
    --jp-code-font-size: 19px;      /* instead of 13px */
    --jp-cell-prompt-width: 110px;  /* instead of 64px */
}
@media print {
  body {
    margin: 0;
  }
}
"""


@functools.lru_cache(maxsize=1)
def notebook_css() -> str:
    """The stylesheet that a deck rendered with ``shared_css=True`` links: JupyterLab's light
    theme as nbconvert's templates ship it, in the order nbconvert inlines it."""
    env = _exporter("_static", True).environment
    parts = [str(env.loader.get_source(env, name)[0]) for name in _NOTEBOOK_CSS_PARTS[:2]]
    parts.append(_NBCONVERT_REVEAL_RULES)
    parts.append(str(env.loader.get_source(env, _NOTEBOOK_CSS_PARTS[2])[0]))
    return "\n".join(parts)


def write_notebook_css(static_root: Path) -> Path:
    """Write :func:`notebook_css` into ``static_root`` (a build's ``_static/``); returns it."""
    from ._io import write_text

    return write_text(static_root / NOTEBOOK_CSS, notebook_css())


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _inline_script_hashes(html: str) -> list[str]:
    hashes = []
    for match in _INLINE_SCRIPT.finditer(html):
        attrs = match.group(1)
        if re.search(r"\bsrc\s*=", attrs, re.IGNORECASE):
            continue
        type_match = re.search(r"""\btype\s*=\s*["']?([^"'\s>]*)""", attrs, re.IGNORECASE)
        if type_match and type_match.group(1).lower() not in _JS_TYPES:
            continue  # a data block, never executed
        hashes.append(_csp_hash(match.group(2)))
    return hashes


@functools.lru_cache(maxsize=1)
def _speaker_view_hashes() -> tuple[str, ...]:
    """Hashes of the inline scripts of reveal.js's speaker view.

    The notes plugin opens ``about:blank`` and writes ``speaker-view.html`` into it, and that window
    inherits the deck's CSP, so its inline script must be allowed by hash too.
    """
    page = static_dir() / "reveal.js" / "plugin" / "notes" / "speaker-view.html"
    if not page.is_file():
        return ()
    return tuple(_inline_script_hashes(page.read_text(encoding="utf-8")))


def content_security_policy(script_hashes: list[str] | None) -> str:
    """The deck's CSP. ``None`` allows inline scripts (unsanitised decks only).

    Both ``'self'`` and ``file:`` are listed: Chromium 156 matches sibling ``file://`` URLs with
    ``'self'`` alone (verified), but browsers differ on the origin of a ``file://`` page, and a
    deck served over HTTP needs ``'self'``. No ``'unsafe-eval'``: reveal.js and require.js do
    not need it.
    """
    local = "'self' file:"
    if script_hashes is None:
        scripts = f"{local} 'unsafe-inline'"
    else:
        unique = dict.fromkeys([*script_hashes, *_speaker_view_hashes()])
        scripts = " ".join([local, *unique])
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {scripts}",
            f"style-src {local} 'unsafe-inline'",
            f"img-src {local} data:",
            f"font-src {local} data:",
            f"media-src {local} data:",
            f"frame-src {local}",
            "connect-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _apply_csp(html: str, sanitized: bool) -> str:
    """Fill in the template's CSP placeholder (it must come before the first ``<script>``)."""
    placeholder_at = html.find(_CSP_PLACEHOLDER)
    script_at = html.lower().find("<script")
    body_at = html.find("<body")
    main_end = html.rfind("</main>")
    if placeholder_at < 0 or body_at < 0 or main_end < 0 or 0 <= script_at < placeholder_at:
        raise SlidesTemplateNotFound(
            f"slides template '{TEMPLATE_NAME}' lacks its CSP placeholder or layout; searched: "
            f"[{template_dir() / TEMPLATE_NAME / 'index.html.j2'}]"
        )
    if sanitized:
        # Only the template's own scripts get a hash: those in <head> and after </main>.
        # Lesson content sits between <body> and </main>.
        owned = html[:body_at] + html[main_end:]
        policy = content_security_policy(_inline_script_hashes(owned))
    else:
        policy = content_security_policy(None)
    return html.replace(_CSP_PLACEHOLDER, policy, 1)


def _sanitize_slide_data(nb: NotebookNode) -> None:
    for cell in nb.cells:
        slideshow = cell.get("metadata", {}).get("slideshow")
        if not isinstance(slideshow, dict):
            continue
        data = slideshow.get("data")
        if isinstance(data, dict):
            slideshow["data"] = {
                k: v for k, v in data.items() if isinstance(k, str) and _SAFE_DATA_KEY.match(k)
            }
        elif data is not None:
            slideshow.pop("data")


def render_slides(
    nb: NotebookNode,
    *,
    static_prefix: str,
    title: str,
    sanitize_html: bool = True,
    shared_css: bool = False,
) -> str:
    """Render ``nb`` (usually the result of :func:`prepare_slides`) to a reveal.js HTML page.

    ``static_prefix`` is the path from the deck to the folder holding :func:`static_dir`'s
    content, e.g. ``"../../_static"`` for ``dist/lessons/<id>/<id>.slides.html``. ``title`` goes
    into ``<title>`` and the footer, escaped. With ``sanitize_html=False`` the lesson's own HTML
    and JavaScript run as written (an explicit opt-out; the CSP then allows inline scripts).

    Raises :class:`SlidesTemplateNotFound` (an :class:`~workshopkit.errors.InfrastructureError`
    and a :class:`FileNotFoundError`) naming the searched paths when the packaged template or
    assets are missing, and :class:`ValueError` for a ``static_prefix`` that is not a plain
    local path. A deck with no visible cell gets a single title slide. With ``shared_css`` the
    deck links ``<static_prefix>/notebook.css`` (see :func:`write_notebook_css`) instead of
    inlining JupyterLab's stylesheets.
    """
    import nbformat

    prefix = _check_prefix(static_prefix)
    exporter = _exporter(prefix, sanitize_html)
    work: NotebookNode = copy.deepcopy(nb)
    work.metadata["title"] = title
    work.metadata.pop("widgets", None)  # widget state needs a CDN; outputs fall back to text
    _sanitize_slide_data(work)
    if all(_slide_type(c) in {"skip", "notes"} for c in work.cells):
        heading = nbformat.v4.new_markdown_cell(f"# {_escape(title)}")  # type: ignore[no-untyped-call]
        work.cells.insert(0, heading)
    resources: dict[str, Any] = {
        "workshopkit": {
            "title": title,
            "reveal_prefix": f"{prefix}/reveal.js",
            "katex_prefix": f"{prefix}/katex" if has_math(work) else "",
            "notebook_css": f"{prefix}/{NOTEBOOK_CSS}" if shared_css else "",
            "transition": REVEAL_TRANSITION,
            "number": REVEAL_NUMBER,
            "width": SLIDE_WIDTH,
            "height": SLIDE_HEIGHT,
        }
    }
    with _render_lock:  # a cached exporter (and bleach's Cleaner) is not thread-safe
        body, _ = exporter.from_notebook_node(work, resources=resources)
    return _apply_csp(str(body), sanitize_html)


def has_math(nb: NotebookNode) -> bool:
    """Whether the deck shows math as Jupyter writes it (``$...$`` or ``$$...$$``): in a markdown
    cell, or in an output's ``text/markdown`` or ``text/latex`` (SymPy's results, for one)."""
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown" and _MATH.search(cell.get("source", "")):
            return True
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data", {})
            for mime in ("text/markdown", "text/latex"):
                text = data.get(mime)  # nbformat has joined multi-line strings
                if isinstance(text, str) and _MATH.search(text):
                    return True
    return False


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)
