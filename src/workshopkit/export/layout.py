"""Decks that fit one screen: split, bound and trim a prepared deck (called by ``prepare_slides``).

A deck is for presenting: every slide must fit one 1280x720 screen at the theme's normal text
size, and nothing of the lesson may be lost. This module lays a deck out at build time with a
simple model of how tall each piece renders (line heights of prose, code and outputs at the
template's sizes, table rows, image sizes read from PNG/JPEG/GIF/SVG headers), calibrated against
Chromium (``tests/browser/test_slides_browser.py`` checks the model against the real page):

- Slides start where the author says (``slideshow`` metadata) or, in a lesson without any, at
  every heading of any level (``#`` a slide, deeper ones a sub-slide).
- What does not fit continues on the next slide, marked ``(continued)``: long markdown splits
  between paragraphs, list items, images and tables; a code cell and its output share a slide
  when they fit, otherwise they go on consecutive slides; a code cell too tall for a screen
  splits at blank lines (top-level ones first), or between any two lines if it has none.
- Tall outputs are bounded on the slide only (the notebooks keep them whole): the first and last
  lines of a long text, the first and last rows of a table with ``... N rows``, images scaled.
- Tracebacks show the error line and the lesson's own frames (``Cell In[N]``), not library
  internals.
- Remote images (badges, CDN pictures) cannot load offline: they become links with their alt
  text.

Every change that an author may want to know about (a remote image, a slide of theirs that had to
continue, something that still does not fit) is returned as a :class:`SlideProblem` naming the
lesson cell and the line inside it; ``export.notebooks`` turns them into ``path:line`` warnings.
"""

from __future__ import annotations

import base64
import copy
import functools
import html
import itertools
import math
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model import HIDDEN_SLIDE_TYPES, NEW_SLIDE_TYPES, SLIDE_TYPES

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "CONTINUED_DATA_KEY",
    "TAG_CONTINUED",
    "TAG_OUTPUT_ONLY",
    "LaidOut",
    "SlideProblem",
    "block_height",
    "image_size",
    "lay_out",
    "remote_images_to_links",
    "trim_traceback",
]

# Cell tags the layout adds to deck cells (rendered as CSS classes ``celltag_<tag>`` by nbconvert;
# the template hides the input of an output-only cell).
TAG_OUTPUT_ONLY = "wk-output-only"  # the outputs of a code cell whose code is on the slide before
TAG_CONTINUED = "wk-continued"  # a code cell continued from the slide before
# ``slideshow.data`` key of the first cell of a continued slide: nbconvert writes it as the
# section's ``data-wk-continued`` attribute, and the template's CSS shows it as a label.
CONTINUED_DATA_KEY = "wk_continued"

# ---------------------------------------------------------------------------------------------
# Geometry, in the logical pixels of the 1200x750 slide (reveal.js scales the whole slide to the
# window; at 1280x720 the scale is 0.92, so 21 px code renders at 19 px). The sizes follow the
# template's CSS (workshopkit_reveal/index.html.j2); the widths per character were measured in
# Chromium with the fonts Debian ships (Liberation Sans for Helvetica, DejaVu Sans Mono).

SLIDE_HEIGHT = 750.0
BUDGET = 710.0  # what a slide may hold: its height less a margin for the estimate's error
LABEL_HEIGHT = 30.0  # the "(continued)" label above a continued slide
CELL_GAP = 21.0  # the bottom margin of every cell (0.5em of the theme's 42px)
WIDOW = 0.25  # a continued slide filled less than this gets paragraphs from the one before
PIECE_ROOM = BUDGET - LABEL_HEIGHT - CELL_GAP  # the most one piece (code part, output) may take

MD_FONT = 27.72  # 0.66em of the theme's 42px
MD_LINE = MD_FONT * 1.3
MD_WIDTH = 1153.0  # a markdown paragraph's width
MD_CHAR = 11.76 / 0.95  # average width of a character of prose, plus ragged line ends
MD_BLOCK_GAP = MD_FONT * 0.6  # margin under a paragraph or list
MD_ITEM_GAP = MD_FONT * 0.3  # margins of a list item
MD_INDENT = MD_FONT * 1.2
MD_MATH_BLOCK = 4 * MD_LINE  # a display formula ($$...$$), typeset by KaTeX
QUOTE_WIDTH = 0.7  # the theme's blockquote
QUOTE_CHROME = 40.0
HEADING_SCALE = {1: 2.1, 2: 1.55, 3: 1.25, 4: 1.05, 5: 1.0, 6: 1.0}
HEADING_LINE = 1.15
HEADING_GAP = 0.45
HEADING_CHAR = 0.42  # average width of a heading character, in em (measured: 0.37-0.42)

CODE_FONT = 21.0
CODE_LINE = CODE_FONT * 1.35
CODE_CHAR = 12.64  # DejaVu Sans Mono at 21px
CODE_WIDTH = 1114.0  # inside a code cell's editor
CODE_CHROME = 35.65  # the editor's padding and border
OUTPUT_CHROME = 13.6  # an output's padding

HTML_P_GAP = 21.0  # the margins of a paragraph in an HTML output
TABLE_ROW = 28.0
TABLE_CHAR = 18.0 * 0.55
TABLE_CHAR_BOLD = 18.0 * 0.6  # header cells
TABLE_CELL_PAD = 18.0
TABLE_CHROME = 12.0

IMAGE_MAX_HEIGHT = 440.0  # the template's max-height for images
IMAGE_GAP = 22.0  # an image's margins

TAB = 4

# The lines of a bounded text output: its first and last ones around a marker.
MORE_LINES = "... {n} more lines (the full output is in the solution notebook) ..."
MORE_ROWS = "... {n} more rows ..."
MORE_FRAMES = "... {n} frames in library code (the full traceback is in the solution notebook)"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_LESSON_FRAME = re.compile(r"^\s*(?:Cell In\s*\[\d*\]|Input In \[\d*\]|<ipython-input-)")
_TRACEBACK_HEAD = re.compile(r"Traceback \(most recent call last\)")
_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_HTML_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE | re.DOTALL)
_IMG_TITLE = r"(?:\s+[\"'][^\"']*[\"'])?"
_ANY_IMAGE = re.compile(
    r"(?P<linked>\[\s*!\[(?P<lalt>[^\]]*)\]\(\s*<?(?P<lsrc>[^)\s>]+)>?"
    + _IMG_TITLE
    + r"\s*\)\s*\]\(\s*(?P<lhref>[^)\s]+)\s*\))"
    + r"|(?P<md>!\[(?P<alt>[^\]]*)\]\(\s*<?(?P<src>[^)\s>]+)>?"
    + _IMG_TITLE
    + r"\s*\))"
    + r"|(?P<tag><img\b[^>]*>)",
    re.IGNORECASE | re.DOTALL,
)
_HTML_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_TR = re.compile(r"<tr\b.*?</tr\s*>", re.IGNORECASE | re.DOTALL)
_TCELL = re.compile(r"<t([hd])\b([^>]*)>(.*?)</t[hd]\s*>", re.IGNORECASE | re.DOTALL)
_TBODY = re.compile(r"(<tbody\b[^>]*>)(.*?)(</tbody\s*>)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_NOT_SHOWN = re.compile(
    r"<(style|script|template|noscript|textarea|title)\b[^>]*>.*?</\1\s*>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL,
)
_TABLE = re.compile(r"<table\b.*?</table\s*>", re.IGNORECASE | re.DOTALL)
_HTML_BLOCK = re.compile(
    r"</?(?:p|div|li|br|h[1-6]|pre|blockquote|ul|ol|dl|dt|dd|section|figure|figcaption)\b[^>]*>",
    re.IGNORECASE,
)
_HEADING_LINE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)(.*)$")
_MATH_BLOCK = re.compile(r"\$\$.+?\$\$", re.DOTALL)


def slide_type(cell: Any) -> str | None:
    slideshow = cell.get("metadata", {}).get("slideshow")
    if isinstance(slideshow, dict):
        value = slideshow.get("slide_type")
        if isinstance(value, str) and value in SLIDE_TYPES:
            return value
    return None


def set_slide_type(cell: Any, kind: str) -> None:
    slideshow = cell.metadata.get("slideshow")
    if not isinstance(slideshow, dict):
        slideshow = {}
    slideshow["slide_type"] = kind
    cell.metadata["slideshow"] = slideshow


@dataclass(frozen=True, slots=True)
class SlideProblem:
    """Something the layout changed or could not fix, at a lesson cell and a line inside it."""

    cell: int | None  # 1-based lesson cell number (deck cell ids are ``cell-N``), None if unknown
    offset: int  # 0-based line inside the cell's source
    message: str


@dataclass(frozen=True, slots=True)
class LaidOut:
    """A deck after layout: the notebook to render, its slide count and what to report."""

    nb: Any  # NotebookNode
    slides: int
    problems: tuple[SlideProblem, ...] = ()
    heights: tuple[float, ...] = ()  # each slide's estimated height, in the slide's pixels


# ---------------------------------------------------------------------------------------------
# Measuring


def _wrapped(text: str, chars: float) -> int:
    """Rendered lines of ``text`` in a box ``chars`` characters wide (pre-wrap)."""
    per_line = max(int(chars), 8)
    total = 0
    for line in text.split("\n"):
        width = len(line.expandtabs(TAB))
        total += max(1, math.ceil(width / per_line))
    return total


def code_height(source: str) -> float:
    lines = _wrapped(source.rstrip("\n"), CODE_WIDTH / CODE_CHAR)
    return lines * CODE_LINE + CODE_CHROME


def text_output_height(text: str) -> float:
    lines = _wrapped(text.rstrip("\n"), CODE_WIDTH / CODE_CHAR)
    return lines * CODE_LINE + OUTPUT_CHROME


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


def _gif_size(data: bytes) -> tuple[int, int] | None:
    if data[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            at += 1
            continue
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            at += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return int(width), int(height)
        at += 2 + length
    return None


_SVG_LENGTH = re.compile(r"^\s*([0-9.]+)\s*(px|pt)?\s*$")


def _svg_size(text: str) -> tuple[int, int] | None:
    head = re.search(r"<svg\b[^>]*>", text[:4000], re.IGNORECASE | re.DOTALL)
    if not head:
        return None
    attrs = _attrs(head.group(0))
    sizes: list[float] = []
    for key in ("width", "height"):
        match = _SVG_LENGTH.match(attrs.get(key, ""))
        if not match:
            sizes = []
            break
        value = float(match.group(1)) * (4 / 3 if match.group(2) == "pt" else 1)
        sizes.append(value)
    if len(sizes) == 2:
        return int(sizes[0]), int(sizes[1])
    box = attrs.get("viewbox", "").replace(",", " ").split()
    if len(box) == 4:
        try:
            return int(float(box[2])), int(float(box[3]))
        except ValueError:
            return None
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, JPEG, GIF or SVG file's first bytes, or None."""
    for reader in (_png_size, _jpeg_size, _gif_size):
        found = reader(data)
        if found:
            return found
    if b"<svg" in data[:4000]:
        return _svg_size(data[:4000].decode("utf-8", "replace"))
    return None


def _b64_head(value: object, size: int = 65536) -> bytes:
    text = "".join(value) if isinstance(value, list) else str(value)
    text = re.sub(r"\s+", "", text[: size * 4 // 3 + 64])
    text = text[: len(text) - len(text) % 4]
    try:
        return base64.b64decode(text)
    except ValueError:
        return b""


def _shown_image_height(width: float | None, height: float | None) -> float:
    """How tall an image renders: scaled to the slide's width, at most the template's cap."""
    if not width or not height:
        return IMAGE_MAX_HEIGHT + IMAGE_GAP
    scale = min(1.0, MD_WIDTH / width)
    return min(height * scale, IMAGE_MAX_HEIGHT) + IMAGE_GAP


def _attrs(tag: str) -> dict[str, str]:
    return {
        m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None)
        for m in _HTML_ATTR.finditer(tag)
    }


def _px(value: str | None) -> float | None:
    if not value:
        return None
    match = re.match(r"^\s*([0-9.]+)\s*(px)?\s*$", value)
    return float(match.group(1)) if match else None


@dataclass
class _Images:
    """Finds the size of a markdown image: a local file next to the lesson, or a data URL."""

    folder: Path | None

    def size(self, src: str) -> tuple[int, int] | None:
        if src.startswith("data:"):
            _, _, payload = src.partition(",")
            return image_size(_b64_head(payload))
        if self.folder is None or _REMOTE.match(src) or ":" in src.split("/")[0]:
            return None
        path = (self.folder / src.split("#")[0].split("?")[0]).resolve()
        try:
            if not path.is_relative_to(self.folder.resolve()) or not path.is_file():
                return None
            with path.open("rb") as handle:
                return image_size(handle.read(65536))
        except OSError:
            return None

    def height(
        self, src: str, width_attr: str | None = None, height_attr: str | None = None
    ) -> float:
        width, height = _px(width_attr), _px(height_attr)
        found = self.size(src)
        if found and found[0] and found[1]:
            if width and not height:
                height = found[1] * width / found[0]
            elif height and not width:
                width = found[0] * height / found[1]
            elif not width:
                width, height = float(found[0]), float(found[1])
        if width and height:
            return _shown_image_height(width, height)
        return IMAGE_MAX_HEIGHT + IMAGE_GAP


def _inline_text(text: str) -> str:
    """Markdown inline source reduced to roughly the characters it shows."""
    text = _MD_IMAGE.sub("", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = _TAG.sub("", text)
    text = re.sub(r"[*_`]", "", text)
    return html.unescape(text)


def _prose_height(text: str, chars: float, line: float = MD_LINE) -> float:
    text = " ".join(part.strip() for part in text.split("\n"))
    length = len(_inline_text(text))
    return max(1, math.ceil(length / max(chars, 8))) * line


def _images_in(text: str, images: _Images) -> float:
    total = 0.0
    for match in _MD_IMAGE.finditer(text):
        total += images.height(match.group(2))
    for match in _HTML_IMG.finditer(text):
        attrs = _attrs(match.group(0))
        total += images.height(attrs.get("src", ""), attrs.get("width"), attrs.get("height"))
    return total


def _table_height_md(rows: int) -> float:
    return rows * TABLE_ROW + TABLE_CHROME + MD_BLOCK_GAP


def _html_height(text: str, images: _Images) -> float:
    """A rough height for an HTML fragment: its tables' rows, its images, and its text as
    lines of prose (one or more per block element that holds text)."""
    height = 0.0
    text = _NOT_SHOWN.sub("", text)
    for table in _TABLE.findall(text):
        height += len(_TR.findall(table)) * TABLE_ROW + TABLE_CHROME
    rest = _TABLE.sub("\n", text)
    height += _images_in(rest, images)
    rest = _HTML_IMG.sub("", rest)
    chars = MD_WIDTH / MD_CHAR
    height += len(re.findall(r"<p\b", rest, re.IGNORECASE)) * HTML_P_GAP
    for padding in re.findall(r"padding:\s*([0-9.]+)px", rest, re.IGNORECASE):
        height += 2 * float(padding)
    for segment in _HTML_BLOCK.split(rest):
        shown = html.unescape(_TAG.sub("", segment)).strip()
        if shown:
            height += math.ceil(len(shown) / chars) * MD_LINE
    return height


# ---------------------------------------------------------------------------------------------
# Markdown blocks


@dataclass(frozen=True, slots=True)
class _Block:
    """A top-level markdown block: its source lines [start, end) and rendered height."""

    kind: str  # heading | paragraph | list | item | table | code | html | rule | quote | math
    start: int
    end: int
    height: float
    level: int = 0  # heading level
    title: str = ""  # heading text


@functools.lru_cache(maxsize=1)
def _markdown_parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def _heading_height(level: int, text: str) -> float:
    size = MD_FONT * HEADING_SCALE.get(level, 1.0)
    chars = MD_WIDTH / (size * HEADING_CHAR)
    lines = max(1, math.ceil(len(_inline_text(text)) / chars))
    return lines * size * HEADING_LINE + size * HEADING_GAP


def markdown_blocks(source: str, images: _Images) -> list[_Block]:
    """Split markdown into top-level blocks (long lists into their items), with heights."""
    lines = source.split("\n")
    tokens = _markdown_parser().parse(source)
    blocks: list[_Block] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.level != 0 or token.nesting == -1 or token.map is None:
            i += 1
            continue
        start, end = token.map
        text = "\n".join(lines[start:end])
        kind = token.type.removesuffix("_open")
        if kind == "heading":
            level = int(token.tag[1])
            title = tokens[i + 1].content if i + 1 < len(tokens) else ""
            blocks.append(
                _Block("heading", start, end, _heading_height(level, title), level, title)
            )
        elif kind in ("bullet_list", "ordered_list"):
            blocks.extend(_list_items(tokens, i, lines, images))
        elif kind == "table":
            rows = text.count("\n") or 1  # one row a line, less the delimiter row
            blocks.append(_Block("table", start, end, _table_height_md(rows)))
        elif kind in ("fence", "code_block"):
            height = (token.content.count("\n") or 1) * CODE_LINE + OUTPUT_CHROME + MD_BLOCK_GAP
            blocks.append(_Block("code", start, end, height))
        elif kind == "html_block":
            blocks.append(_Block("html", start, end, _html_height(text, images) + MD_BLOCK_GAP))
        elif kind == "hr":
            blocks.append(_Block("rule", start, end, MD_BLOCK_GAP * 2))
        else:  # paragraph, blockquote
            images_h = _images_in(text, images)
            rest = _MD_IMAGE.sub("", _HTML_IMG.sub("", text)).strip()
            height = images_h
            math_blocks = _MATH_BLOCK.findall(rest)
            for found in math_blocks:
                height += MD_MATH_BLOCK
                rest = rest.replace(found, "")
            if rest.strip():
                width = MD_WIDTH * (QUOTE_WIDTH if kind == "blockquote" else 1.0)
                height += _prose_height(rest, width / MD_CHAR)
            if kind == "blockquote":
                height += QUOTE_CHROME
            blocks.append(_Block(kind, start, end, height + MD_BLOCK_GAP))
        i += 1
    return blocks


def _list_items(tokens: Sequence[Any], at: int, lines: list[str], images: _Images) -> list[_Block]:
    """A top-level list as one block per item, each with its nested content."""
    close = at + 1
    depth = 1
    while close < len(tokens) and depth:
        depth += (
            tokens[close].nesting
            if tokens[close].type.endswith(("_list_open", "_list_close"))
            else 0
        )
        close += 1
    start, end = tokens[at].map
    items: list[_Block] = []
    for token in tokens[at + 1 : close]:
        if token.type != "list_item_open" or token.level != 1 or token.map is None:
            continue
        item_start, item_end = token.map
        items.append(_Block("item", item_start, item_end, 0.0))
    if not items:
        return [_Block("list", start, end, MD_LINE + MD_BLOCK_GAP)]
    out = []
    for n, item in enumerate(items):
        item_end = items[n + 1].start if n + 1 < len(items) else end
        text = "\n".join(lines[item.start : item_end])
        height = 0.0
        for line in _item_lines(text):
            indent, content = line
            height += _prose_height(content, (MD_WIDTH - MD_INDENT * (indent + 1)) / MD_CHAR)
            height += MD_ITEM_GAP
        height += _images_in(text, images)
        if n + 1 == len(items):
            height += MD_BLOCK_GAP
        out.append(_Block("item", item.start, item_end, height))
    return out


_ITEM_START = re.compile(r"^(\s*)(?:[-*+]|\d{1,9}[.)])\s+(.*)$")


def _item_lines(text: str) -> Iterator[tuple[int, str]]:
    """(nesting, text) of each (sub-)item of a list item's source."""
    current: tuple[int, list[str]] | None = None
    for line in text.split("\n"):
        match = _ITEM_START.match(line)
        if match:
            if current:
                yield current[0], " ".join(current[1])
            current = (len(match.group(1).expandtabs(TAB)) // 2, [match.group(2)])
        elif line.strip() and current:
            current[1].append(line.strip())
        elif line.strip():
            current = (0, [line.strip()])
    if current:
        yield current[0], " ".join(current[1])


def block_height(source: str, folder: Path | None = None) -> float:
    """The estimated height of a markdown cell's source, in the slide's logical pixels."""
    return sum(b.height for b in markdown_blocks(source, _Images(folder)))


# ---------------------------------------------------------------------------------------------
# Remote images


def remote_images_to_links(source: str) -> tuple[str, list[tuple[int, str]]]:
    """Replace remote images (``![alt](https://...)``, ``<img src="https://...">``, a linked
    badge ``[![alt](img)](link)``) by their alt text as a link; returns the new source and the
    (line offset, URL) of each image replaced. Local and ``data:`` images are left alone."""
    found: list[tuple[int, str]] = []

    def label(alt: str, url: str) -> str:
        text = alt.strip() or url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "image"
        return text.replace("[", "(").replace("]", ")")

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if match.group("linked") is not None:
            src = match.group("lsrc")
            new = f"[{label(match.group('lalt'), src)}]({match.group('lhref')})"
        elif match.group("md") is not None:
            src = match.group("src")
            new = f"[{label(match.group('alt'), src)}]({src})"
        else:
            attrs = _attrs(whole)
            src = attrs.get("src", "")
            text = html.escape(label(attrs.get("alt", ""), src), quote=False)
            new = f'<a href="{html.escape(src, quote=True)}">{text}</a>'
        if not _REMOTE.match(src):
            return whole
        found.append((source.count("\n", 0, match.start()), src))
        return new

    return _ANY_IMAGE.sub(replace, source), found


# ---------------------------------------------------------------------------------------------
# Outputs: tracebacks, bounding


def trim_traceback(frames: Sequence[str]) -> list[str]:
    """The parts of an IPython traceback a slide shows: the header, the frames in the lesson's
    own cells (``Cell In[N]``, ``<ipython-input-...>``) and the error line, with one line
    saying how many library frames were left out. Chained exceptions keep only the last."""
    parts = list(frames)
    heads = [n for n, part in enumerate(parts) if _TRACEBACK_HEAD.search(_ANSI.sub("", part))]
    if not heads:
        return parts
    last = heads[-1]
    chained = len(heads) > 1
    body = parts[last + 1 : -1] if len(parts) > last + 1 else []
    error = parts[-1:] if len(parts) > last + 1 else []
    kept: list[str] = []
    dropped = 0
    for part in body:
        if _LESSON_FRAME.match(_ANSI.sub("", part)):
            if dropped:
                kept.append(MORE_FRAMES.format(n=dropped))
                dropped = 0
            kept.append(part)
        else:
            dropped += 1
    if dropped:
        kept.append(MORE_FRAMES.format(n=dropped))
    head = [parts[last]]
    if last > 0 and not _ANSI.sub("", parts[last - 1]).strip().strip("-"):
        head.insert(0, parts[last - 1])  # IPython's line of dashes above the header
    if chained:
        head.insert(0, "(an earlier exception led to this one; see the solution notebook)")
    return [*head, *kept, *error]


def _joined(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _bound_text(text: str, max_height: float) -> tuple[str, bool]:
    """``text`` cut to its first and last lines so that it renders within ``max_height``."""
    if text_output_height(text) <= max_height:
        return text, False
    lines = text.rstrip("\n").split("\n")
    chars = CODE_WIDTH / CODE_CHAR
    room = max(int((max_height - OUTPUT_CHROME) / CODE_LINE) - 1, 2)
    head_room = math.ceil(room * 2 / 3)
    tail_room = room - head_room
    head: list[str] = []
    used = 0
    for line in lines:
        need = _wrapped(line, chars)
        if used + need > head_room:
            break
        head.append(line)
        used += need
    tail: list[str] = []
    used = 0
    for line in reversed(lines[len(head) :]):
        need = _wrapped(line, chars)
        if used + need > tail_room:
            break
        tail.insert(0, line)
        used += need
    if not head and not tail:  # one enormous line
        cut = int(chars * room)
        return text[:cut] + "\n" + MORE_LINES.format(n=len(text) - cut).replace(
            "lines", "characters"
        ), True
    hidden = len(lines) - len(head) - len(tail)
    if hidden <= 0:
        return text, False
    return "\n".join([*head, MORE_LINES.format(n=f"{hidden:,}"), *tail]) + "\n", True


def _bound_table(text: str, max_height: float) -> tuple[str, bool]:
    """HTML with tables (a DataFrame's, or several) cut to the first and last rows of each
    table, with a ``... N more rows ...`` row, so that it renders within ``max_height``."""
    bodies = list(_TBODY.finditer(text))
    if not bodies or _html_height(text, _Images(None)) <= max_height:
        return text, False
    rows = [_TR.findall(body.group(2)) for body in bodies]
    total = sum(len(r) for r in rows)
    excess = math.ceil((_html_height(text, _Images(None)) - max_height) / TABLE_ROW) + len(bodies)
    allowed = total - excess
    if allowed < 2 * len(bodies):
        return text, False
    pieces: list[str] = []
    at = 0
    cut = False
    for body, body_rows in zip(bodies, rows, strict=True):
        share = max(2, allowed * len(body_rows) // max(total, 1))
        pieces.append(text[at : body.start(2)])
        if len(body_rows) > share + 1:
            head_n = math.ceil(share / 2)
            tail_n = share - head_n
            hidden = len(body_rows) - head_n - tail_n
            columns = max((len(_TCELL.findall(r)) for r in body_rows[:5]), default=1)
            marker = (
                f'<tr class="wk-more"><td colspan="{columns}" style="text-align: left">'
                f"{MORE_ROWS.format(n=f'{hidden:,}')}</td></tr>"
            )
            kept = [*body_rows[:head_n], marker, *body_rows[len(body_rows) - tail_n :]]
            pieces.append("\n" + "\n".join(kept) + "\n")
            cut = True
        else:
            pieces.append(body.group(2))
        at = body.end(2)
    pieces.append(text[at:])
    return "".join(pieces), cut


def _bound_columns(text: str, width: float = MD_WIDTH * 0.95) -> tuple[str, bool]:
    """Each simple HTML table (no ``colspan``/``rowspan``, like a DataFrame's) that is wider than
    ``width`` keeps its first and last columns around a ``...`` column, so it fits the slide."""
    changed = False

    def one(match: re.Match[str]) -> str:
        nonlocal changed
        table = match.group(0)
        if re.search(r"\b(?:colspan|rowspan)\s*=", table, re.IGNORECASE):
            return table
        rows = [(r, _TCELL.findall(r)) for r in _TR.findall(table)]
        count = max((len(cells) for _, cells in rows), default=0)
        if count < 3 or any(len(cells) != count for _, cells in rows):
            return table
        widths = [0.0] * count
        for _, cells in rows:
            for j, cell in enumerate(cells):
                shown = len(html.unescape(_TAG.sub("", cell[2])).strip())
                char = TABLE_CHAR_BOLD if cell[0].lower() == "h" else TABLE_CHAR
                widths[j] = max(widths[j], shown * char + TABLE_CELL_PAD)
        if sum(widths) <= width:
            return table
        room = width - widths[0] - 2 * TABLE_CELL_PAD
        left: list[int] = [0]
        right: list[int] = []
        lo, hi = 1, count - 1
        while lo <= hi:
            take_left = len(left) - 1 <= len(right)
            j = lo if take_left else hi
            if widths[j] > room:
                break
            room -= widths[j]
            if take_left:
                left.append(j)
                lo += 1
            else:
                right.insert(0, j)
                hi -= 1
        if lo > hi:
            return table
        changed = True
        out = table
        for row, cells in rows:
            opening = re.match(r"<tr\b[^>]*>", row)
            kind = "th" if all(c[0].lower() == "h" for c in cells[1:]) else "td"
            parts = [f"<t{cells[j][0]}{cells[j][1]}>{cells[j][2]}</t{cells[j][0]}>" for j in left]
            parts.append(f"<{kind}>...</{kind}>")
            parts += [f"<t{cells[j][0]}{cells[j][1]}>{cells[j][2]}</t{cells[j][0]}>" for j in right]
            start = opening.group(0) if opening else "<tr>"
            out = out.replace(row, start + "".join(parts) + "</tr>", 1)
        return out

    new = _TABLE.sub(one, text)
    return new, changed


_PRIORITY = (
    "application/vnd.jupyter.widget-view+json",
    "text/html",
    "application/pdf",
    "text/latex",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "image/gif",
    "text/markdown",
    "text/plain",
)


def _shown_mime(output: Any) -> str | None:
    data = output.get("data", {})
    for mime in _PRIORITY:
        if mime in data:
            return mime
    return None


def output_height(output: Any) -> float:
    """How tall one output renders on a slide."""
    kind = output.get("output_type")
    if kind == "stream":
        return text_output_height(_joined(output.get("text", "")))
    if kind == "error":
        return text_output_height(_ANSI.sub("", "\n".join(output.get("traceback", []))))
    mime = _shown_mime(output)
    data = output.get("data", {})
    if mime is None:
        return 0.0
    value = _joined(data[mime])
    meta = (
        output.get("metadata", {}).get(mime, {}) if isinstance(output.get("metadata"), dict) else {}
    )
    if mime in ("image/png", "image/jpeg", "image/gif"):
        size = image_size(_b64_head(value))
        width = meta.get("width") if isinstance(meta, dict) else None
        height = meta.get("height") if isinstance(meta, dict) else None
        if isinstance(width, int | float) and isinstance(height, int | float):
            return _shown_image_height(float(width), float(height)) + OUTPUT_CHROME
        if size and isinstance(width, int | float):
            shown = _shown_image_height(float(width), size[1] * float(width) / max(size[0], 1))
            return shown + OUTPUT_CHROME
        return _shown_image_height(*(size or (None, None))) + OUTPUT_CHROME
    if mime == "image/svg+xml":
        size = _svg_size(value)
        return _shown_image_height(*(size or (None, None))) + OUTPUT_CHROME
    if mime == "text/html":
        return _html_height(value, _Images(None)) + OUTPUT_CHROME
    if mime in ("text/markdown",):
        return block_height(value) + OUTPUT_CHROME
    if mime == "text/latex":
        return max(1, value.count("\n") + 1) * MD_LINE * 1.6 + OUTPUT_CHROME
    if mime == "application/vnd.jupyter.widget-view+json":
        return text_output_height(_joined(data.get("text/plain", "x")))
    return text_output_height(value)


def bound_output(output: Any, max_height: float) -> tuple[Any, bool]:
    """A copy of ``output`` that renders within ``max_height`` (when it can be cut), and whether
    it was cut. Images are scaled by the template; other HTML is left as it is."""
    kind = output.get("output_type")
    if kind == "stream":
        text, cut = _bound_text(_joined(output.get("text", "")), max_height)
        if cut:
            output = copy.deepcopy(output)
            output["text"] = text
        return output, cut
    if kind == "error":
        frames = list(output.get("traceback", []))
        joined = "\n".join(frames)
        if text_output_height(_ANSI.sub("", joined)) <= max_height:
            return output, False
        text, cut = _bound_text(joined, max_height)
        output = copy.deepcopy(output)
        output["traceback"] = text.rstrip("\n").split("\n")
        return output, cut
    mime = _shown_mime(output)
    if mime in ("text/plain", "text/html"):
        value = _joined(output["data"][mime])
        if mime == "text/plain":
            new, cut = _bound_text(value, max_height)
        else:
            new, cut = _bound_table(value, max_height - OUTPUT_CHROME)
        if cut:
            output = copy.deepcopy(output)
            output["data"][mime] = new
            if mime == "text/html" and "text/plain" in output["data"]:
                plain, _ = _bound_text(_joined(output["data"]["text/plain"]), max_height)
                output["data"]["text/plain"] = plain
        return output, cut
    return output, False


def _narrowed(output: Any) -> Any:
    """``output`` with its HTML tables narrowed to the slide's width (see ``_bound_columns``)."""
    data = output.get("data")
    if not isinstance(data, dict) or _shown_mime(output) != "text/html":
        return output
    new, changed = _bound_columns(_joined(data["text/html"]))
    if not changed:
        return output
    output = copy.deepcopy(output)
    output["data"]["text/html"] = new
    return output


def _merge_streams(outputs: Sequence[Any]) -> list[Any]:
    merged: list[Any] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous = copy.deepcopy(previous)
            previous["text"] = _joined(previous.get("text", "")) + _joined(output.get("text", ""))
            merged[-1] = previous
        else:
            merged.append(output)
    return merged


# ---------------------------------------------------------------------------------------------
# Code


def split_code(source: str, max_height: float) -> list[tuple[int, str]]:
    """``source`` in parts, each (the offset of its first line, its text), that each render
    within ``max_height``: cut at a blank line before a top-level statement first, then at any
    blank line, then between any two lines."""
    if code_height(source) <= max_height:
        return [(0, source)]
    lines = source.rstrip("\n").split("\n")
    chars = CODE_WIDTH / CODE_CHAR
    room = max(int((max_height - CODE_CHROME) / CODE_LINE), 3)
    heights = [_wrapped(line, chars) for line in lines]

    def rank(at: int) -> int:
        """How good a cut before line ``at`` is: 2 after a blank line before a top-level
        statement, 1 after any blank line, 0 anywhere else."""
        if at <= 0 or at >= len(lines) or lines[at - 1].strip():
            return 0
        line = lines[at]
        return 2 if line.strip() and not line[0].isspace() else 1

    parts: list[tuple[int, str]] = []
    start = 0
    while start < len(lines):
        used = 0
        end = start
        while end < len(lines) and used + heights[end] <= room:
            used += heights[end]
            end += 1
        if end >= len(lines):
            parts.append((start, "\n".join(lines[start:])))
            break
        if end == start:  # a single line taller than a slide goes alone
            end = start + 1
        else:
            best = max(range(start + 1, end + 1), key=lambda at: (rank(at), at))
            if rank(best) > 0 and (best - start) * 3 >= (end - start):
                end = best
        chunk = lines[start:end]
        while chunk and not chunk[-1].strip():
            chunk.pop()
        parts.append((start, "\n".join(chunk)))
        start = end
        while start < len(lines) and not lines[start].strip():
            start += 1
    return [part for part in parts if part[1].strip()] or [(0, source)]


# ---------------------------------------------------------------------------------------------
# Pieces and packing


@dataclass
class _Piece:
    """One indivisible part of a cell on a slide: a markdown block, a code part, an output."""

    kind: str  # heading | markdown | input | output | hidden
    height: float
    cell: Any  # the source cell (never changed)
    key: int  # the pieces of one source cell share it
    offset: int = 0  # line inside the lesson cell
    starts: str | None = None  # "slide" / "subslide" where this piece must start one
    fragment: bool = False
    title: str = ""  # a heading's text, for the label of a continued slide
    lines: list[str] = field(default_factory=list)  # markdown: the cell's source lines
    span: tuple[int, int] = (0, 0)  # markdown: this block's lines
    refs: list[str] = field(default_factory=list)  # markdown: link reference definitions
    source: str = ""  # code: this part's text
    part: int = 0  # code: which part (0 = the first)
    output: Any = None  # output: the output as shown (bounded)
    lead_in: bool = False  # markdown that introduces what follows ("as follows:")

    @property
    def origin(self) -> int | None:
        match = re.match(r"^cell-(\d+)", str(self.cell.get("id", "")))
        return int(match.group(1)) if match else None


@dataclass
class _Slide:
    slide_type: str
    continued: bool = False
    title: str = ""
    pieces: list[_Piece] = field(default_factory=list)

    @property
    def visible(self) -> bool:
        return any(p.kind != "hidden" for p in self.pieces)

    def total(self, more: Sequence[_Piece] = ()) -> float:
        """The slide's estimated height, with ``more`` pieces added."""
        return _height([*self.pieces, *more]) + (LABEL_HEIGHT if self.continued else 0.0)

    @property
    def height(self) -> float:
        return self.total()


def _height(pieces: Sequence[_Piece]) -> float:
    """Estimated height of pieces on one slide: their own, plus each deck cell's margin."""
    cells = sum(1 for group in _groups(pieces) if group[0].kind != "hidden")
    return sum(p.height for p in pieces) + cells * CELL_GAP


def _plain_title(text: str) -> str:
    return _inline_text(text).strip().strip("#").strip()[:80]


class _Layout:
    def __init__(self, infer: bool, folder: Path | None) -> None:
        self.infer = infer
        # An author's slide is continued only when it surely overflows; slides this layout
        # chooses keep a margin for the estimate's error.
        self.budget = BUDGET if infer else SLIDE_HEIGHT
        self.images = _Images(folder)
        self.problems: list[SlideProblem] = []

    def problem(self, piece: _Piece, offset: int, message: str) -> None:
        self.problems.append(SlideProblem(piece.origin, offset, message))

    # -- cells to pieces ------------------------------------------------------------------

    def pieces(self, cells: Sequence[Any]) -> list[_Piece]:

        out: list[_Piece] = []
        for key, cell in enumerate(cells):
            kind = slide_type(cell)
            if kind in HIDDEN_SLIDE_TYPES or cell.get("cell_type") not in ("markdown", "code"):
                out.append(_Piece("hidden", 0.0, cell, key))
                continue
            starts = kind if kind in NEW_SLIDE_TYPES else None
            fragment = kind == "fragment"
            if cell.get("cell_type") == "markdown":
                out.extend(self.markdown_pieces(cell, key, starts, fragment))
            else:
                out.extend(self.code_pieces(cell, key, starts, fragment))
        return out

    def markdown_pieces(
        self, cell: Any, key: int, starts: str | None, fragment: bool
    ) -> list[_Piece]:
        source, remote = remote_images_to_links(str(cell.get("source", "")))
        lines = source.split("\n")
        blocks = markdown_blocks(source, self.images)
        refs = [line for line in lines if _REFERENCE_DEF.match(line)]
        if not blocks:
            span = (0, len(lines))
            return [_Piece("markdown", MD_LINE, cell, key, 0, starts, fragment, "", lines, span)]
        pieces: list[_Piece] = []
        for n, block in enumerate(blocks):
            start = 0 if n == 0 else block.start
            end = blocks[n + 1].start if n + 1 < len(blocks) else len(lines)
            heading = block.kind == "heading"
            piece_starts = starts if n == 0 else None
            if heading and self.infer:
                piece_starts = "slide" if block.level == 1 else "subslide"
            piece = _Piece(
                "heading" if heading else "markdown",
                block.height,
                cell,
                key,
                block.start,
                piece_starts,
                fragment and n == 0,
                _plain_title(block.title) if heading else "",
                lines,
                (start, end),
                refs,
            )
            piece.lead_in = not heading and _introduces(lines[block.start : block.end])
            pieces.append(piece)
        for offset, url in remote:
            self.problem(
                pieces[0],
                offset,
                f"remote image '{_short(url)}' cannot load offline; the slide shows its alt text "
                "as a link (put the image next to the lesson to show it)",
            )
        return pieces

    def code_pieces(self, cell: Any, key: int, starts: str | None, fragment: bool) -> list[_Piece]:
        source = str(cell.get("source", ""))
        pieces: list[_Piece] = []
        parts = split_code(source, PIECE_ROOM) if source.strip() else []
        for n, (offset, text) in enumerate(parts):
            first = n == 0
            pieces.append(
                _Piece(
                    "input",
                    code_height(text),
                    cell,
                    key,
                    offset,
                    starts if first else None,
                    fragment and first,
                    source=text,
                    part=n,
                )
            )
        if len(parts) > 1:
            self.problem(
                pieces[0],
                0,
                f"code cell too tall for one slide: shown on {len(parts)} consecutive slides, "
                "marked as continued (split it into cells to choose where)",
            )
        for n, output in enumerate(_merge_streams(cell.get("outputs", []))):
            shown = _narrowed(output)
            if output.get("output_type") == "error":
                shown = copy.deepcopy(output)
                shown["traceback"] = trim_traceback(list(output.get("traceback", [])))
            height = output_height(shown)
            if height > PIECE_ROOM:
                shown, _ = bound_output(shown, PIECE_ROOM)
                height = output_height(shown)
            first = not parts and n == 0
            pieces.append(
                _Piece(
                    "output",
                    height,
                    cell,
                    key,
                    0,
                    starts if first else None,
                    fragment and first,
                    output=shown,
                )
            )
        return pieces

    # -- packing --------------------------------------------------------------------------

    def run_at(self, pieces: Sequence[_Piece], i: int) -> list[_Piece]:
        """The pieces from ``i`` that go on one slide together when they fit: a code part with
        its outputs, a heading with what follows it."""
        piece = pieces[i]
        room = BUDGET - LABEL_HEIGHT
        if piece.kind == "input":
            run = [piece]
            j = i + 1
            while j < len(pieces) and pieces[j].key == piece.key and pieces[j].kind == "output":
                run.append(pieces[j])
                j += 1
            return run if _height(run) <= room else [piece]
        if (piece.kind == "heading" or piece.lead_in) and i + 1 < len(pieces):
            following = pieces[i + 1]
            if following.kind != "hidden" and not following.starts:
                rest = self.run_at(pieces, i + 1)
                if _height([piece, *rest]) <= room:
                    return [piece, *rest]
                # Never part a code cell from outputs it fits with: the code then goes on.
                if len(rest) == 1 and _height([piece, following]) <= room:
                    return [piece, following]
        return [piece]

    def pack(self, pieces: Sequence[_Piece]) -> list[_Slide]:
        slides = [_Slide("slide")]
        title = ""
        i = 0
        while i < len(pieces):
            piece = pieces[i]
            if piece.kind == "hidden":
                slides[-1].pieces.append(piece)
                i += 1
                continue
            if piece.starts:
                if slides[-1].visible:
                    slides.append(_Slide(piece.starts))
                elif len(slides) > 1:
                    slides[-1].slide_type = piece.starts
                    slides[-1].continued = False
            if piece.kind == "heading":
                title = piece.title
            run = self.run_at(pieces, i)
            if slides[-1].visible and slides[-1].total(run) > self.budget:
                if not self.infer:
                    self.problem(
                        piece,
                        piece.offset,
                        "slide too tall for one screen: continued on a next slide marked as "
                        "such (start a slide here, or shorten the slide)",
                    )
                slides.append(_Slide("subslide", True, title))
            slides[-1].pieces.extend(run)
            i += len(run)
        for before, after in itertools.pairwise(slides):
            if after.continued:
                self.balance(before, after)
        for slide in slides:
            if slide.height > SLIDE_HEIGHT:
                tallest = max(slide.pieces, key=lambda p: p.height)
                screens = slide.height / SLIDE_HEIGHT
                self.problem(
                    tallest,
                    tallest.offset,
                    f"slide does not fit one screen (about {screens:.1f} screens): this "
                    f"{_what(tallest)} cannot be split or shortened",
                )
        return slides

    def balance(self, before: _Slide, after: _Slide) -> None:
        """Give a nearly empty continued slide the last paragraphs of the slide before it, while
        that evens their heights out: one sentence alone on a slide reads as a mistake."""
        while after.height < WIDOW * self.budget and all(
            p.kind in ("markdown", "hidden") for p in after.pieces
        ):
            visible = [n for n, p in enumerate(before.pieces) if p.kind != "hidden"]
            if len(visible) < 2:
                return
            last, previous = before.pieces[visible[-1]], before.pieces[visible[-2]]
            if last.kind != "markdown" or previous.kind == "heading" or previous.lead_in:
                return  # only prose moves, and never away from its heading or lead-in
            moved = before.pieces[visible[-1] :]
            if after.total(moved) > self.budget:
                return
            kept = _height(before.pieces[: visible[-1]]) + (
                LABEL_HEIGHT if before.continued else 0.0
            )
            if abs(kept - after.total(moved)) >= abs(before.total() - after.total()):
                return
            del before.pieces[visible[-1] :]
            after.pieces[:0] = moved

    # -- slides back to cells ---------------------------------------------------------------

    def cells(self, slides: Sequence[_Slide]) -> list[Any]:

        out: list[Any] = []
        emitted: dict[int, int] = {}  # source cell key -> deck cells made from it so far

        def new_cell(piece: _Piece) -> Any:
            cell = copy.deepcopy(piece.cell)
            count = emitted.get(piece.key, 0)
            emitted[piece.key] = count + 1
            if count:
                cell["id"] = f"{str(cell.get('id', 'cell'))[:56]}-p{count + 1}"
            return cell

        for slide in slides:
            groups = _groups(slide.pieces)
            first_visible = True
            for group in groups:
                head = group[0]
                if head.kind == "hidden":
                    out.append(new_cell(head))
                    continue
                cell = new_cell(head)
                if head.kind in ("heading", "markdown"):
                    cell["source"] = _markdown_text(group)
                elif head.kind == "input":
                    cell["source"] = head.source
                    cell["outputs"] = [p.output for p in group[1:]]
                    if head.part:
                        _add_tag(cell, TAG_CONTINUED)
                        cell["execution_count"] = None
                else:  # outputs whose code is on an earlier slide
                    cell["source"] = ""
                    cell["outputs"] = [p.output for p in group]
                    _add_tag(cell, TAG_OUTPUT_ONLY)
                if first_visible:
                    set_slide_type(cell, slide.slide_type)
                    if slide.continued:
                        label = f"{slide.title} (continued)" if slide.title else "(continued)"
                        slideshow = cell.metadata["slideshow"]
                        data = slideshow.get("data")
                        data = dict(data) if isinstance(data, dict) else {}
                        data[CONTINUED_DATA_KEY] = label
                        slideshow["data"] = data
                    first_visible = False
                else:
                    set_slide_type(cell, "fragment" if head.fragment else "-")
                out.append(cell)
        return out


def _introduces(lines: Sequence[str]) -> bool:
    """Whether a paragraph ends with a colon, so belongs with what follows it."""
    text = "\n".join(lines).rstrip()
    return text.endswith(":") and len(lines) <= 6


def _what(piece: _Piece) -> str:
    return {"input": "code", "output": "output", "heading": "heading"}.get(piece.kind, "markdown")


def _groups(pieces: Sequence[_Piece]) -> list[list[_Piece]]:
    """Consecutive pieces of one source cell that render as one deck cell: markdown blocks
    (unless one starts a fragment), a code part with its outputs, outputs together."""
    groups: list[list[_Piece]] = []
    for piece in pieces:
        last = groups[-1] if groups else None
        joins = (
            last is not None
            and last[0].key == piece.key
            and piece.kind != "hidden"
            and last[0].kind != "hidden"
            and not piece.fragment
            and (
                (piece.kind in ("heading", "markdown") and last[0].kind in ("heading", "markdown"))
                or (piece.kind == "output" and last[0].kind in ("input", "output"))
            )
        )
        if joins and last is not None:
            last.append(piece)
        else:
            groups.append([piece])
    return groups


def _markdown_text(group: Sequence[_Piece]) -> str:
    lines = group[0].lines
    start, end = group[0].span[0], group[-1].span[1]
    text = "\n".join(lines[start:end]).strip("\n")
    refs = group[0].refs
    if refs and end < len(lines):
        text += "\n\n" + "\n".join(refs)
    return text


def _add_tag(cell: Any, tag: str) -> None:
    tags = [t for t in cell.metadata.get("tags", []) if t != tag]
    cell.metadata["tags"] = [*tags, tag]


def _short(url: str, width: int = 80) -> str:
    return url if len(url) <= width else url[: width - 3] + "..."


def lay_out(nb: NotebookNode, *, infer: bool, folder: Path | None = None) -> LaidOut:
    """Lay ``nb`` (a copy made by ``prepare_slides``; its cells are replaced) out into slides
    that fit one screen. ``infer``: the lesson has no slideshow metadata, so headings start
    slides. ``folder``: the lesson's folder, to read the sizes of its images."""
    layout = _Layout(infer, folder)
    slides = layout.pack(layout.pieces(nb.cells))
    nb.cells = layout.cells(slides)
    shown = [slide for slide in slides if slide.visible]
    heights = tuple(round(slide.height, 1) for slide in shown)
    return LaidOut(nb, len(shown), tuple(layout.problems), heights)
