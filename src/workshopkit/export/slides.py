"""Offline reveal.js slides (DESIGN.md §5: ``lessons/<id>/<id>.slides.html``).

nbconvert's own slides load reveal.js, require.js, jQuery, MathJax and mermaid from CDNs and are
blank without a network. Here a deck is rendered with the packaged ``workshopkit_reveal`` template,
which extends nbconvert's ``reveal`` template, against the reveal.js 5.2.1 and require.js copies
vendored in ``workshopkit/static`` (see ``static/VENDORED.md``). The pipeline copies
:func:`static_dir` to ``dist/_static/`` and renders each deck with a ``static_prefix`` relative to
the deck (``"../../_static"`` for ``dist/lessons/<id>/``).

Security (reference/failure-modes.md §1 rows 15 and 17, §3 cases 26, 27 and 29):

* Lesson content is made safe by :mod:`workshopkit.export.sanitize` before nbconvert sees it:
  HTML (markdown cells, ``text/html``/``text/markdown`` outputs) goes through bleach against an
  allow-list, only known output types are rendered as rich content (anything else, a
  ``text/vnd.mermaid`` output say, is shown as escaped text), ``application/javascript`` is
  never run, widgets show their text fallback, image sizes must be numbers and
  ``slideshow.data`` keeps only safe reveal.js attributes (no ``background-iframe``).
* Every deck carries a Content-Security-Policy ``<meta>`` whose ``script-src`` is
  ``'strict-dynamic'`` plus the sha256 hashes of the template's own inline scripts (and of
  reveal.js's speaker view): no ``'self'``, no ``file:``. The template's inline script loads
  require.js by its exact vendored path, and require.js loads reveal.js, its notes plugin and
  KaTeX the same way; ``'strict-dynamic'`` lets only scripts those trusted scripts insert run.
  A ``<script src="evil.js">`` that reached the page, next to a shipped ``evil.js``, would not
  run, nor would an inline script or an ``on*=`` handler. This needs CSP level 3 (Chrome and
  Edge 52+, Firefox 52+, Safari 15.4+). With ``sanitize_html=False`` (an explicit opt-out for
  lessons that need their own JavaScript) local and inline scripts are allowed, but every fetch
  still stays local.
* reveal.js reads its settings from the URL's query too, after the deck's own: ``?url=x`` makes
  the speaker view frame ``x`` (a lesson's ``evil.html``), ``?previewLinks=true`` frames every
  link clicked. The template reloads a deck whose query sets anything but what the speaker
  view's own frames set, without the query.
* The title and cell tags are HTML-escaped.

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
from ..markers import is_solution_cell, solution_regions
from ..model import HIDDEN_SLIDE_TYPES, STRUCTURAL_SLIDE_TYPES, TAG_PARAMETERS, cell_tags
from .layout import set_slide_type, slide_type
from .sanitize import clean_html, sanitize_notebook

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
    "warm_up",
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


_CSP_PLACEHOLDER = "__WORKSHOPKIT_CSP__"
KATEX_STYLESHEET = "/katex/katex.min.css"  # in a deck's HTML only when it typesets math
# $$...$$, or a dollar sign, text that neither starts nor ends with a space, a dollar sign: math
# as Jupyter writes it. "It costs $5 or $6" does not count; in a deck that loads KaTeX for other
# math, auto-render still typesets "5 or " there, even when written \$5 (a known limit).
_MATH = re.compile(r"\$\$.+?\$\$|\$[^\s$](?:[^$]*[^\s$])?\$", re.DOTALL)
_SAFE_PREFIX = re.compile(r"^[A-Za-z0-9._~/-]+$")
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


def _is_solution(cell: Any) -> bool:
    source = str(cell.get("source", ""))
    return is_solution_cell(cell.get("metadata", {}), source, str(cell.get("cell_type", "")))


def _strip_solution_blocks(source: str) -> str:
    """Each solution region (see `markers`) becomes `...  # your code here`."""
    lines = source.split("\n")
    out: list[str] = []
    done = 0
    for region in solution_regions(lines):
        marker = lines[region.begin]
        indent = marker[: len(marker) - len(marker.lstrip(" \t"))]
        out.extend(lines[done : region.begin])
        out.append(f"{indent}...  # your code here")
        done = region.stop(len(lines))
    out.extend(lines[done:])
    return "\n".join(out)


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

    - Solution cells (tagged ``solution`` or a variant, or with ``workshopkit.solution: true``;
      see ``markers``) are dropped unless ``include_solutions``; so are the solution regions
      (``# BEGIN SOLUTION`` ... ``# END SOLUTION``, any spelling ``markers`` honours) of other
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

    infer = not any(slide_type(c) in STRUCTURAL_SLIDE_TYPES for c in out.cells)
    for cell in out.cells:
        if slide_type(cell) is None and TAG_PARAMETERS in cell_tags(cell):
            set_slide_type(cell, "skip")
    return lay_out(out, infer=infer, folder=folder)


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


_MEMO_SIZE = 2048  # cells' markdown and code remembered by an exporter (a few MB)


class _Memo:
    """The last `_MEMO_SIZE` results of a pure function, by key."""

    def __init__(self) -> None:
        from collections import OrderedDict

        self.known: OrderedDict[Any, str] = OrderedDict()

    def get(self, key: Any, make: Any) -> str:
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = make()
            if len(self.known) > _MEMO_SIZE:
                self.known.popitem(last=False)
        else:
            self.known.move_to_end(key)
        return found


class _RememberedHighlight:
    """nbconvert's `highlight_code` filter for one lexer, remembering what it made: the HTML of
    a code cell depends on its source, the lexer and the cell's `magics_language` only."""

    def __init__(self, inner: Any, memo: _Memo) -> None:
        self.inner = inner
        self.memo = memo

    def __call__(self, source: str, language: str | None = None, metadata: Any = None) -> str:
        magics = metadata.get("magics_language") if metadata else None
        if magics is not None and not isinstance(magics, str):
            return str(self.inner(source, language, metadata))
        key = (str(self.inner.pygments_lexer), language, magics, source)
        return self.memo.get(key, lambda: str(self.inner(source, language, metadata)))


@functools.lru_cache(maxsize=1)
def _exporter_class() -> type[SlidesExporter]:
    """nbconvert's SlidesExporter, remembering the HTML of each cell's markdown and code, so that
    a deck rendered again (each save in `serve`, a talk in its event's deck) renders only the
    cells that changed. The HTML is what nbconvert makes: these filters are pure functions of
    what their key holds (a cell with attachments is not remembered)."""
    from jinja2 import pass_context
    from nbconvert.exporters import SlidesExporter
    from nbconvert.filters.highlight import Highlight2HTML

    class Exporter(SlidesExporter):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)  # type: ignore[no-untyped-call]
            self._wk_markdown = _Memo()
            self._wk_code = _Memo()

        @pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            cell = context.get("cell", {})
            if cell.get("attachments"):
                return str(super().markdown2html(context, source))
            path = context.get("resources", {}).get("metadata", {}).get("path", "")
            key = (str(path), source)
            return self._wk_markdown.get(
                key, lambda: str(super(Exporter, self).markdown2html(context, source))
            )

        def register_filter(self, name: str, jinja_filter: Any) -> Any:
            if name == "highlight_code" and type(jinja_filter) is Highlight2HTML:
                jinja_filter = _RememberedHighlight(jinja_filter, self._wk_code)
            return super().register_filter(name, jinja_filter)  # type: ignore[no-untyped-call]

    return Exporter


@functools.lru_cache(maxsize=8)
def _exporter(prefix: str, sanitize_html: bool) -> SlidesExporter:
    tpl_base = template_dir()
    return _exporter_class()(
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
    """The deck's CSP. ``None`` allows local and inline scripts (unsanitised decks only).

    With hashes, ``script-src`` is ``'strict-dynamic'`` and the hashes, nothing else: a script
    runs only if it is one of the template's inline scripts or was inserted by one (require.js,
    which the template loads by its vendored path, and what require.js loads). No ``'self'`` or
    ``file:``, which would let any script file next to the deck run (a lesson's assets are
    copied there), and no ``'unsafe-eval'``: reveal.js and require.js do not need it.

    For everything else both ``'self'`` and ``file:`` are listed: Chromium 156 matches sibling
    ``file://`` URLs with ``'self'`` alone (verified), but browsers differ on the origin of a
    ``file://`` page, and a deck served over HTTP needs ``'self'``. Frames stay local because
    the speaker view frames the deck itself; lesson content cannot make a frame.
    """
    local = "'self' file:"
    if script_hashes is None:
        scripts = f"{local} 'unsafe-inline'"
    else:
        unique = dict.fromkeys([*script_hashes, *_speaker_view_hashes()])
        scripts = " ".join(["'strict-dynamic'", *unique])
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
    sanitize_notebook(work, rich_content=sanitize_html)
    if all(slide_type(c) in HIDDEN_SLIDE_TYPES for c in work.cells):
        heading = nbformat.v4.new_markdown_cell(f"# {_escape(title)}")  # type: ignore[no-untyped-call]
        work.cells.insert(0, heading)
    resources: dict[str, Any] = {
        "workshopkit": {
            "title": title,
            "reveal_prefix": f"{prefix}/reveal.js",
            "require_js": f"{prefix}/require.js",
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


def warm_up(static_prefix: str = "../../_static") -> None:
    """Render a small deck and throw it away: nbconvert imported, its exporter made and its
    templates compiled, pygments' lexer and the sanitizer loaded. For a long-lived process
    (`serve`) before the first deck it must render; every deck rendered after it is the same
    (the exporter keeps no state from one deck to the next)."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from .. import load, transforms  # noqa: F401  # what a lesson's export imports

    nb = new_notebook(  # type: ignore[no-untyped-call]
        cells=[
            new_markdown_cell("# Warm-up\n\nSome *text*, `code` and $x^2$."),  # type: ignore[no-untyped-call]
            new_code_cell(  # type: ignore[no-untyped-call]
                "print(1)",
                execution_count=1,
                outputs=[new_output("stream", name="stdout", text="1\n")],  # type: ignore[no-untyped-call]
            ),
        ],
        metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}},
    )
    render_slides(prepare_slides(nb), static_prefix=static_prefix, title="warm-up", shared_css=True)
