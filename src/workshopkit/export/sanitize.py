"""What lesson content may put into a deck: nothing an author writes runs in a page.

A deck is rendered by nbconvert from the executed notebook, and nbconvert writes some values into
the page without escaping them: a ``text/vnd.mermaid`` output raw, an image's ``width``/``height``
metadata into an unquoted ``<img>`` attribute, ``slideshow.data`` keys and values into a slide's
``data-*`` attributes (which reveal.js acts on: ``data-background-iframe`` frames a file). So
:func:`sanitize_notebook` rewrites a copy of the notebook before nbconvert sees it, and
:func:`clean_html` replaces nbconvert's ``clean_html`` filter for every piece of HTML it writes
(markdown cells, raw cells, ``text/html`` and ``text/markdown`` outputs):

* **Outputs.** Only :data:`RICH_MIME_TYPES` are rendered as rich content: ``text/html`` and
  ``text/markdown`` (through :func:`clean_html`), ``text/latex`` (escaped, typeset by KaTeX),
  ``image/png``, ``image/jpeg`` and ``image/gif`` (data-URI ``<img>``), ``image/svg+xml`` (as a
  data-URI ``<img>``, where its scripts never run) and ``text/plain`` (escaped).
  ``application/javascript`` is never run and widgets show their text fallback. Any other type
  (``text/vnd.mermaid``, vendor JSON, ...) is shown as escaped text: the output's ``text/plain``
  if it has one, else the value itself. Only the keys nbformat defines survive on an output.
* **Image metadata.** ``width`` and ``height`` (top level or under the image's MIME type) are
  kept only when they are positive numbers and written back as numbers; ``unconfined`` and
  ``needs_background`` only with the values nbconvert compares against; everything else
  (``filenames``, which nbconvert would use as the ``src``) goes.
* **Slide data.** ``slideshow.data`` keeps only the reveal.js slide attributes in
  :data:`SLIDE_DATA_KEYS`, each with a value of the expected shape (no ``background-iframe``,
  ``background-interactive``, ``notes`` or ``on*``; backgrounds only from a ``data:`` image or a
  path inside the lesson's folder). Keys are normalised the way nbconvert writes them
  (``_`` to ``-``) and lower-cased, the way the browser reads them.
* **Widget state** in the notebook's metadata goes (it needs a CDN; outputs fall back to text).

What was dropped is returned as :class:`Finding` values, and :func:`deck_diagnostics` turns them
into build warnings naming the lesson's file and line (an image size, a slide data key, an output
shown as text); leaving out JavaScript or widget views is documented behaviour, not reported.

The deck's Content-Security-Policy (``export.slides``) is the second line: even markup that got
past all this could run no script but the template's own.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from ..model import Diagnostic, Lesson

__all__ = [
    "RICH_MIME_TYPES",
    "SLIDE_DATA_KEYS",
    "Finding",
    "clean_html",
    "deck_diagnostics",
    "image_size",
    "sanitize_notebook",
    "slide_data",
]

# What a deck renders as rich content, in nbconvert's order of preference (text/plain last).
RICH_MIME_TYPES = (
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "text/latex",
    "image/png",
    "image/jpeg",
    "image/gif",
    "text/plain",
)
IMAGE_MIME_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
# Never rendered and never worth a warning: their text/plain (or nothing) is shown instead.
_SILENT_MIME_TYPES = frozenset(
    {
        "application/javascript",
        "application/vnd.jupyter.widget-view+json",
        "application/vnd.jupyter.widget-state+json",
    }
)
MAX_TEXT_FALLBACK = 4000  # characters of an unknown output type shown as text
MAX_IMAGE_SIZE = 100_000  # pixels; a larger width/height is not a real image size
WIDGET_FALLBACK = "[interactive widget: open the notebook to use it]"

_OUTPUT_KEYS = {
    "stream": ("output_type", "name", "text"),
    "error": ("output_type", "ename", "evalue", "traceback"),
    "display_data": ("output_type", "data", "metadata"),
    "execute_result": ("output_type", "data", "metadata", "execution_count"),
}
_NUMBER = re.compile(r"\d{1,9}(?:\.\d{1,6})?")


@dataclass(frozen=True, slots=True)
class Finding:
    """Something :func:`sanitize_notebook` dropped or changed, in cell ``cell`` (0-based)."""

    cell: int
    message: str


# --------------------------------------------------------------------------------------------
# HTML (markdown cells, raw cells, text/html and text/markdown outputs)


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
_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")
_URL_IGNORED = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name not in _GLOBAL_ATTRS and name not in _TAG_ATTRS.get(tag, frozenset()):
        return False
    if name in {"href", "src"}:
        # as a browser's URL parser reads it: tabs and newlines anywhere, and leading or
        # trailing controls and spaces, do not count
        lowered = _URL_IGNORED.sub("", value).strip(_C0_AND_SPACE).lower()
        if lowered.startswith("data:"):
            return tag == "img" and name == "src" and bool(_IMAGE_DATA_URL.match(lowered))
        if name == "src":
            # An image loads by itself: only from next to the deck (a link needs a click).
            return not _URL_SCHEME.match(lowered) and not lowered.startswith(("/", "\\"))
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
    and their text kept; attributes, URL schemes and inline CSS are allow-listed. An image's
    ``src`` must be a ``data:image/...`` URL or a relative path (a remote image would be a
    request from an offline deck; it keeps its ``alt`` text). Not
    thread-safe (bleach's Cleaner); ``export.slides`` renders under a lock.
    """
    text = element.decode() if isinstance(element, bytes) else str(element)
    text = _DROP_WITH_CONTENT.sub("", text)
    return str(_cleaner().clean(text))


# --------------------------------------------------------------------------------------------
# Image metadata


def image_size(value: object) -> int | float | None:
    """``value`` as an image width or height: a positive number, or None if it is not one.

    Numbers and plain numeric strings (``300``, ``"300"``, ``"12.5"``) count; ``"1 onerror=..."``,
    ``"50%"``, booleans, zero, negative, NaN and absurd sizes do not.
    """
    number: float
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        return None
    if not math.isfinite(number) or not 0 < number <= MAX_IMAGE_SIZE:
        return None
    return int(number) if number.is_integer() else number


def _image_metadata(meta: Mapping[str, Any], where: str, found: list[str]) -> dict[str, Any]:
    """The display keys of one metadata level that are safe to render (see module doc)."""
    kept: dict[str, Any] = {}
    for key in ("width", "height"):
        if key not in meta:
            continue
        size = image_size(meta[key])
        if size is None:
            found.append(f"image {key} {_shown(meta[key])}{where} is not a positive number")
        else:
            kept[key] = size
    if meta.get("unconfined") is True:
        kept["unconfined"] = True
    if meta.get("needs_background") in ("light", "dark"):
        kept["needs_background"] = meta["needs_background"]
    return kept


def _output_metadata(metadata: object, found: list[str]) -> dict[str, Any]:
    meta = metadata if isinstance(metadata, Mapping) else {}
    out = _image_metadata(meta, "", found)
    for mime in IMAGE_MIME_TYPES:
        nested = meta.get(mime)
        if isinstance(nested, Mapping):
            kept = _image_metadata(nested, f" (for {mime})", found)
            if kept:
                out[mime] = kept
    return out


# --------------------------------------------------------------------------------------------
# Outputs


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _as_text(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, sort_keys=True)
    if len(text) > MAX_TEXT_FALLBACK:
        text = f"{text[:MAX_TEXT_FALLBACK]}\n... ({len(text) - MAX_TEXT_FALLBACK} more characters)"
    return text


def _gif_as_html(data: str, meta: Mapping[str, Any]) -> str:
    """nbconvert has no block for GIFs: an <img> that :func:`clean_html` lets through."""
    import html

    nested = meta.get("image/gif")
    sizes = nested if isinstance(nested, Mapping) else meta
    attrs = "".join(
        f' {key}="{sizes[key]}"' for key in ("width", "height") if key in sizes
    )  # numbers by now
    src = html.escape("data:image/gif;base64," + "".join(data.split()), quote=True)
    return f'<img src="{src}"{attrs} alt="">'


def _safe_data(
    data: Mapping[str, Any], metadata: Mapping[str, Any], found: list[str]
) -> dict[str, str]:
    kept = {
        mime: value
        for mime, value in data.items()
        if mime in RICH_MIME_TYPES and isinstance(value, str)
    }
    gif = kept.pop("image/gif", None)
    if gif is not None and not any(m in kept for m in RICH_MIME_TYPES if m != "text/plain"):
        kept["text/html"] = _gif_as_html(gif, metadata)
    if kept:
        return kept
    shown = [m for m in data if m not in _SILENT_MIME_TYPES]
    if shown:
        mime = shown[0]
        found.append(f"output of type {mime!r} is shown as text (slides render only known types)")
        return {"text/plain": _as_text(data[mime])}
    if "application/vnd.jupyter.widget-view+json" in data:
        return {"text/plain": WIDGET_FALLBACK}
    return {}


def _safe_output(output: Any, found: list[str]) -> Any | None:
    from nbformat import from_dict

    kind = output.get("output_type")
    keys = _OUTPUT_KEYS.get(kind)
    if keys is None:
        return None
    clean: dict[str, Any] = {key: output[key] for key in keys if key in output}
    if "data" in keys:
        metadata = _output_metadata(output.get("metadata"), found)
        data = output.get("data")
        clean["data"] = _safe_data(data if isinstance(data, Mapping) else {}, metadata, found)
        clean["metadata"] = metadata
        if not clean["data"]:
            return None
    return from_dict(clean)  # type: ignore[no-untyped-call]


# --------------------------------------------------------------------------------------------
# Slide data (reveal.js data-* attributes of a slide)


_CSS_COLOR = re.compile(
    r"#[0-9a-f]{3,8}|[a-z]{3,30}|(?:rgb|rgba|hsl|hsla)\(\s*[0-9.,%\s/]{1,60}\)", re.IGNORECASE
)
_CSS_GRADIENT = re.compile(
    r"(?:repeating-)?(?:linear|radial|conic)-gradient\((?:[^()]|\([0-9.,%\s/]*\)){1,300}\)",
    re.IGNORECASE,
)
_CSS_WORDS = re.compile(r"[A-Za-z0-9.%\s-]{1,64}")
_WORD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")
_VIDEO_EXT = (".mp4", ".webm", ".ogv", ".ogg", ".m4v")


def _local_file(value: str, extensions: tuple[str, ...]) -> bool:
    """A path inside the lesson's folder (shipped next to the deck): no scheme, no ``..``."""
    return (
        bool(_PLAIN_PATH.fullmatch(value))
        and ".." not in value.split("/")
        and value.lower().endswith(extensions)
    )


def _background_image(value: str) -> bool:
    return bool(_DATA_IMAGE.fullmatch(value)) or _local_file(value, _IMAGE_EXT)


def _number(value: str) -> bool:
    return image_size(value) is not None or value.strip() == "0"


def _flag(value: str) -> bool:
    return value in {"", "true", "false"}


_DATA_CHECKS: dict[str, Callable[[str], bool]] = {
    "background": lambda v: bool(_CSS_COLOR.fullmatch(v)),  # reveal.js loads a URL here too
    "background-color": lambda v: bool(_CSS_COLOR.fullmatch(v)),
    "background-gradient": lambda v: bool(_CSS_GRADIENT.fullmatch(v)) and "url" not in v.lower(),
    "background-image": _background_image,
    "background-size": lambda v: bool(_CSS_WORDS.fullmatch(v)),
    "background-position": lambda v: bool(_CSS_WORDS.fullmatch(v)),
    "background-repeat": lambda v: bool(_CSS_WORDS.fullmatch(v)),
    "background-opacity": lambda v: bool(_NUMBER.fullmatch(v)),
    "background-transition": lambda v: bool(_WORD.fullmatch(v)),
    "background-video": lambda v: _local_file(v, _VIDEO_EXT),
    "background-video-loop": _flag,
    "background-video-muted": _flag,
    "transition": lambda v: bool(_CSS_WORDS.fullmatch(v)),
    "transition-speed": lambda v: bool(_WORD.fullmatch(v)),
    "autoslide": _number,
    "timing": _number,
    "visibility": lambda v: v in {"hidden", "uncounted"},
    "state": lambda v: bool(_WORD.fullmatch(v)),
    "auto-animate": _flag,
    "auto-animate-id": lambda v: bool(_WORD.fullmatch(v)),
    "auto-animate-restart": _flag,
    "auto-animate-unmatched": _flag,
    "auto-animate-easing": lambda v: bool(_CSS_WORDS.fullmatch(v)),
    "auto-animate-duration": _number,
    "auto-animate-delay": _number,
    "fragment-index": lambda v: v.isdigit() and len(v) <= 4,
    # export.layout's label of a continued slide (a heading's text, shown by the template's CSS
    # with attr(); nbconvert escapes the value, reveal.js does not read it)
    "wk-continued": lambda v: len(v) <= 200 and "\n" not in v,
}
SLIDE_DATA_KEYS = frozenset(_DATA_CHECKS)


def slide_data(data: object, found: list[str]) -> dict[str, str]:
    """The ``slideshow.data`` of a cell as it may reach the page (see module doc).

    Returns the allowed keys, normalised (``background_color`` -> ``background-color``), with
    string values; appends what was dropped and why to ``found``.
    """
    if not isinstance(data, Mapping):
        if data is not None:
            found.append(f"slideshow data {_shown(data)} is not a mapping: dropped")
        return {}
    kept: dict[str, str] = {}
    for raw_key, raw_value in data.items():
        key = str(raw_key).replace("_", "-").lower()
        value = raw_value if isinstance(raw_value, str) else _scalar(raw_value)
        check = _DATA_CHECKS.get(key)
        if check is None:
            found.append(f"slideshow data key {_shown(raw_key)} is not allowed in slides: dropped")
        elif value is None or not check(value.strip()):
            found.append(f"slideshow data {key!r} has an unsafe value {_shown(raw_value)}: dropped")
        else:
            kept[key] = value.strip()
    return kept


def _scalar(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and math.isfinite(value):
        return str(value)
    return None


# --------------------------------------------------------------------------------------------
# The notebook


def sanitize_notebook(nb: NotebookNode, *, rich_content: bool = True) -> list[Finding]:
    """Rewrite ``nb`` **in place** so that nothing in it can reach a deck as markup or script
    except through :func:`clean_html`; return what was dropped, cell by cell.

    With ``rich_content=False`` (a deck rendered with ``sanitize_html=False``, the explicit
    opt-out for lessons that need their own JavaScript) output types are left alone; image
    metadata and slide data are still checked, since nbconvert writes them into attributes.
    """
    findings: list[Finding] = []
    nb.metadata.pop("widgets", None)
    for index, cell in enumerate(nb.cells):
        found: list[str] = []
        slideshow = cell.get("metadata", {}).get("slideshow")
        if isinstance(slideshow, dict) and "data" in slideshow:
            data = slide_data(slideshow["data"], found)
            if data:
                slideshow["data"] = data
            else:
                slideshow.pop("data")
        if cell.get("cell_type") == "code":
            outputs = []
            for output in cell.get("outputs", []):
                if rich_content:
                    safe = _safe_output(output, found)
                    if safe is not None:
                        outputs.append(safe)
                else:
                    if "metadata" in output:
                        output["metadata"] = _output_metadata(output["metadata"], found)
                    outputs.append(output)
            cell["outputs"] = outputs
        findings.extend(Finding(index, message) for message in dict.fromkeys(found))
    return findings


def deck_diagnostics(lesson: Lesson, nb: NotebookNode) -> list[Diagnostic]:
    """Build warnings for what :func:`sanitize_notebook` drops from ``lesson``'s deck, each at
    the ``# %%`` line of its cell in the lesson's ``.py`` file (``nb`` is not changed)."""
    import copy

    from ..load import SOURCE_KEY
    from ..model import Diagnostic, Severity

    work = copy.deepcopy(nb)
    diagnostics = []
    for finding in sanitize_notebook(work):
        source = work.cells[finding.cell].get("metadata", {}).get(SOURCE_KEY)
        number = source.get("cell") if isinstance(source, dict) else None
        line = 0
        if isinstance(number, int) and 1 <= number <= len(lesson.cells):
            line = lesson.cells[number - 1].marker_line
        message = f"slides: {finding.message}"
        diagnostics.append(Diagnostic(lesson.relpath, line, Severity.WARNING, message))
    return diagnostics
