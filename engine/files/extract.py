"""Plain text out of an uploaded file, for file_search to chunk and embed.

The file's extension picks the reader (OpenAI's file_search types: text, Markdown, HTML, JSON,
CSV, TeX, source code, PDF, Word .docx and PowerPoint .pptx) and the content is checked against
that choice; a file without an extension is read as plain text when it is text. Whatever cannot
be read ends in ExtractionFailed with a sentence for the person who uploaded it, never in a
library's own exception.
"""

import codecs
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath

import docx
import pptx
from docx.oxml.table import CT_Tc
from docx.table import Table as DocxTable
from docx.table import _Cell as DocxCell
from docx.text.paragraph import Paragraph
from pptx.shapes.autoshape import Shape
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape
from pptx.shapes.shapetree import GroupShapes, SlideShapes
from pptx.slide import Slide
from pypdf import PasswordType, PdfReader
from selectolax.lexbor import LexborHTMLParser, LexborNode

from engine.files.unreadable import ExtractionFailed

# Read as they are: prose, data and source code (OpenAI's list, and their close kin).
_TEXT_EXTENSIONS = frozenset(
    {
        *(".txt", ".md", ".markdown", ".rst", ".tex", ".csv", ".tsv", ".log"),
        *(".xml", ".yaml", ".yml", ".toml", ".ini", ".cfg"),
        *(".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".cs", ".java", ".kt", ".kts"),
        *(".scala", ".swift", ".go", ".rs", ".m", ".css", ".scss", ".less"),
        *(".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".php", ".py", ".pyi", ".rb", ".pl"),
        *(".pm", ".lua", ".r", ".sql", ".sh", ".bash", ".zsh", ".ps1"),
    }
)
# How much of a file without an extension is looked at to tell text from binary.
_SNIFF_BYTES = 8192
# A byte-order mark names the encoding; without one, text is UTF-8. UTF-32's marks are tried
# before UTF-16's (UTF-32-LE's begins with UTF-16-LE's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Office files are zip archives; these (OLE2) are legacy .doc/.ppt files, or encrypted ones.
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# What a Word or PowerPoint file may unpack to: python-docx and python-pptx load every part.
_MAX_UNPACKED_BYTES = 1 << 30
# Acrobat's tolerance: the header within the first KiB, the %%EOF marker within the last.
_PDF_MARGIN = 1024
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){3,}")


def extract_text(path: Path, filename: str) -> str:
    """The text of the upload held at `path`, named `filename` by the user.

    Synchronous: the caller runs it in a thread. Raises ExtractionFailed.
    """
    data = _read(path, filename)
    form = _format_for(filename, data)
    try:
        text = form.read(data)
    except _Refused as refused:
        raise _unreadable(filename, form, refused.detail) from None
    except MemoryError:
        raise ExtractionFailed("server_error", f"{filename} is too large to read here") from None
    except Exception as exc:  # the library refused the content: its exceptions are its own
        raise _unreadable(filename, form, _describe(exc)) from exc
    del data
    text = _normalise(text)
    if not text or text.isspace():
        raise ExtractionFailed("invalid_file", f"{filename} has no text{form.no_text}")
    return text


class _Refused(Exception):
    """A reader's own refusal of the content; `detail` completes '<file> is not a readable …:'."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class _Format:
    kind: str  # "PDF", as in "report.pdf is not a readable PDF: …"
    read: Callable[[bytes], str]
    no_text: str = ""  # said after "report.pdf has no text"


def _read(path: Path, filename: str) -> bytes:
    """The upload's bytes: failing to read back our own temporary file is our fault."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ExtractionFailed("server_error", f"{filename} could not be read back: {exc}") from exc


def _format_for(filename: str, data: bytes) -> _Format:
    """The extension decides; a file without one is read as plain text if it starts as text."""
    extension = PurePath(filename).suffix.lower()
    form = _FORMATS.get(extension)
    if form is not None:
        return form
    if not extension and _looks_like_text(data[:_SNIFF_BYTES]):
        return _TEXT
    what = f"has an unsupported file type ({extension})" if extension else "is not text"
    supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
    raise ExtractionFailed("unsupported_file", f"{filename} {what}; supported types: {supported}")


def _unreadable(filename: str, form: _Format, detail: str) -> ExtractionFailed:
    return ExtractionFailed("invalid_file", f"{filename} is not a readable {form.kind}: {detail}")


def _describe(exc: Exception) -> str:
    """A library exception as a phrase (a KeyError's str() is its key, quoted)."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def _normalise(text: str) -> str:
    """Unix line ends, no NUL, at most two blank lines in a row (each step copies only if due)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _BLANK_LINES.sub("\n\n\n", text)


# ---- Text


def _decode(data: bytes, final: bool = True) -> str:
    """Text as uploaded: NUL or bytes that do not decode mean it is not text."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text: str = codecs.getincrementaldecoder(encoding)().decode(data, final)
    except UnicodeDecodeError as exc:
        name = encoding.removesuffix("-sig").upper()
        raise _Refused(f"it is not {name} text (byte {exc.start} does not decode)") from None
    if "\x00" in text:
        raise _Refused("it contains NUL bytes, so it is not text")
    return text


def _looks_like_text(head: bytes) -> bool:
    try:
        _decode(head, final=False)
    except _Refused:
        return False
    return True


def _read_json(data: bytes) -> str:
    """JSON stays as written (searchable as is), once it is known to parse."""
    text = _decode(data)
    try:
        json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _Refused(f"it is not valid JSON ({exc})") from None
    return text


# ---- HTML

# Never shown to a reader: elements are taken out of the tree before the walk, and the walk
# passes over the rest.
_HTML_HIDDEN_ELEMENTS = "script, style, noscript, template, [hidden]"
_HTML_HIDDEN = frozenset({"-comment", "-doctype"})
# The newlines a block element ends the text with, before and after it (2: a blank line).
_HTML_BREAKS = {
    **dict.fromkeys(("p", "pre", "blockquote", "table", "ul", "ol", "dl", "figure", "hr"), 2),
    **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6", "title", "address", "details"), 2),
    **dict.fromkeys(("header", "footer", "section", "article", "main", "nav", "aside"), 2),
    **dict.fromkeys(("form", "fieldset"), 2),
    **dict.fromkeys(("div", "li", "tr", "dt", "dd", "caption", "figcaption", "summary"), 1),
    **dict.fromkeys(("legend", "option", "body"), 1),
}
_HTML_CELLS = frozenset({"td", "th"})
# The elements whose end matters.
_HTML_LEFT = frozenset({"pre", *_HTML_CELLS, *_HTML_BREAKS})
_HTML_SPACES = re.compile(r"[ \t\n\r\f]+")
# Start tags that make the parser search its stack of open elements (HTML's "close a p element"),
# so that parsing takes time in the square of how deep they nest: nesting deeper than a browser
# lays out (Chromium stops at 512) is refused, not parsed for hours.
_HTML_SCANNING = re.compile(
    r"<(/?)(?:address|article|aside|blockquote|center|details|dialog|dir|div|dl|fieldset"
    r"|figcaption|figure|footer|header|hgroup|listing|main|menu|nav|ol|pre|search|section"
    r"|summary|ul)[\s/>]",
    re.IGNORECASE,
)
_HTML_MAX_DEPTH = 1024


def _read_html(data: bytes) -> str:
    html = _decode(data)
    if _html_depth(html) > _HTML_MAX_DEPTH:
        raise _Refused(f"its elements nest more than {_HTML_MAX_DEPTH} deep")
    tree = LexborHTMLParser(html)
    for hidden in tree.css(_HTML_HIDDEN_ELEMENTS):
        hidden.decompose()
    root = tree.root
    text = _HtmlText()
    if root is not None:
        text.walk(root)
    return text.result()


def _html_depth(html: str) -> int:
    """How deep those elements nest at most, going by their tags as written."""
    depth = deepest = 0
    for tag in _HTML_SCANNING.finditer(html):
        depth = max(depth - 1, 0) if tag[1] else depth + 1
        deepest = max(deepest, depth)
    return deepest


class _HtmlText:
    """Visible text laid out roughly as a browser does: spaces collapse (not in <pre>), blocks
    and <br> break lines, table cells are tab-separated."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.newlines = 2  # newlines the text ends with: none are added at the start
        self.pre = 0  # depth of <pre> elements

    def result(self) -> str:
        """The text, less the line breaks its last blocks asked for."""
        while self.parts and not self.parts[-1].strip("\n"):
            self.parts.pop()
        return "".join(self.parts)

    def walk(self, root: LexborNode) -> None:
        """Depth first without recursion (documents nest deeper than Python's stack)."""
        stack: list[LexborNode | str] = [root]  # a str: the tag of an element being left
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                self.leave(item)
                continue
            tag = item.tag
            if tag == "-text":
                self.text(item.text_content or "")
                continue
            if tag is None or tag in _HTML_HIDDEN:
                continue
            self.enter(tag)
            if tag in _HTML_LEFT:
                stack.append(tag)
            child = item.last_child
            while child is not None:
                stack.append(child)
                child = child.prev

    def enter(self, tag: str) -> None:
        if tag == "br":
            self.line_break()
        elif tag == "pre":
            self.pre += 1
        self.block_break(_HTML_BREAKS.get(tag, 0))

    def leave(self, tag: str) -> None:
        if tag == "pre":
            self.pre -= 1
        elif tag in _HTML_CELLS and not self.newlines:
            self.parts.append("\t")
        self.block_break(_HTML_BREAKS.get(tag, 0))

    def text(self, text: str) -> None:
        if not self.pre:
            text = _HTML_SPACES.sub(" ", text)
            if self.newlines or (self.parts and self.parts[-1].endswith((" ", "\t"))):
                text = text.lstrip(" ")
        if not text:
            return
        self.parts.append(text)
        body = text.rstrip("\n")
        self.newlines = len(text) - len(body) + (0 if body else self.newlines)

    def block_break(self, count: int) -> None:
        """At least `count` newlines end the text."""
        if count > self.newlines:
            self._trim()
            self.parts.append("\n" * (count - self.newlines))
            self.newlines = count

    def line_break(self) -> None:
        if self.parts:
            self._trim()
            self.parts.append("\n")
            self.newlines += 1

    def _trim(self) -> None:
        """No spaces or tabs before a line's end."""
        if self.parts and not self.newlines:
            self.parts[-1] = self.parts[-1].rstrip(" \t")


# ---- PDF


def _read_pdf(data: bytes) -> str:
    """Each page's text, pages apart by a blank line."""
    if b"%PDF-" not in data[:_PDF_MARGIN]:
        raise _Refused("it does not start with %PDF-")
    if b"%%EOF" not in data[-_PDF_MARGIN:]:
        raise _Refused("it is truncated (it does not end with %%EOF)")
    reader = PdfReader(io.BytesIO(data))
    # PdfReader has already tried the empty password, which opens files locked only for editing.
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise _Refused("it is protected by a password")
    return "\n\n".join(page.extract_text() for page in reader.pages)


# ---- Word and PowerPoint


def _open_package(data: bytes) -> io.BytesIO:
    """An Office Open XML file is a zip archive of a sane unpacked size."""
    if data.startswith(_OLE2_MAGIC):
        raise _Refused("it is a legacy (.doc, .ppt) or password-protected Office file")
    stream = io.BytesIO(data)
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        raise _Refused("it is not a zip archive") from None
    if sum(member.file_size for member in archive.infolist()) > _MAX_UNPACKED_BYTES:
        raise _Refused(f"it unpacks to more than {_MAX_UNPACKED_BYTES >> 20} MiB")
    return stream


def _read_docx(data: bytes) -> str:
    """Paragraphs and tables in document order (headers, footers and text boxes are left out)."""
    document = docx.Document(_open_package(data))
    return "\n".join(_docx_block(block, "\n") for block in document.iter_inner_content())


def _docx_block(block: Paragraph | DocxTable, lines: str) -> str:
    """A paragraph's text, or a table's: rows on `lines`, cells apart by tabs."""
    if isinstance(block, Paragraph):
        return block.text
    # python-docx lists a merged cell for each row and column it spans: its text is taken once.
    seen: set[CT_Tc] = set()
    rows = []
    for row in block.rows:
        texts = []
        for cell in row.cells:
            if cell._tc not in seen:
                seen.add(cell._tc)
                texts.append(_docx_cell(cell))
        rows.append("\t".join(texts))
    return lines.join(rows)


def _docx_cell(cell: DocxCell) -> str:
    """A cell's paragraphs (and tables) on one line, so that its row stays one line."""
    return " ".join(_docx_block(block, " ") for block in cell.iter_inner_content())


def _read_pptx(data: bytes) -> str:
    """Slides in order, apart by a blank line: text frames, tables, then the speaker notes."""
    presentation = pptx.Presentation(_open_package(data))
    slides = (_slide_text(slide) for slide in presentation.slides)
    return "\n\n".join(text for text in slides if text)


def _slide_text(slide: Slide) -> str:
    texts = [_shape_text(shape) for shape in _shapes(slide.shapes)]
    if slide.has_notes_slide and (notes := slide.notes_slide.notes_text_frame) is not None:
        texts.append(notes.text)
    # python-pptx writes a line break within a paragraph as a vertical tab.
    return "\n".join(text for text in texts if text).replace("\v", "\n")


def _shapes(shapes: SlideShapes | GroupShapes) -> Iterator[BaseShape]:
    """Every shape, those in groups included, in the slide's order."""
    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _shape_text(shape: BaseShape) -> str:
    if isinstance(shape, Shape) and shape.has_text_frame:
        return shape.text
    if isinstance(shape, GraphicFrame) and shape.has_table:
        return "\n".join(
            "\t".join(cell.text for cell in row.cells if not cell.is_spanned)
            for row in shape.table.rows
        )
    return ""


# ---- Which reader reads what

_TEXT = _Format("text file", _decode)
_FORMATS: dict[str, _Format] = {
    **dict.fromkeys(_TEXT_EXTENSIONS, _TEXT),
    ".json": _Format("JSON file", _read_json),
    ".html": _Format("HTML file", _read_html),
    ".htm": _Format("HTML file", _read_html),
    ".pdf": _Format("PDF", _read_pdf, " (scanned pages are images, and are not read)"),
    ".docx": _Format("Word document", _read_docx),
    ".pptx": _Format("PowerPoint presentation", _read_pptx),
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_FORMATS)
