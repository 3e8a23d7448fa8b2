"""Text extraction for file_search: each format on real files, written at test time by fpdf2,
python-docx and python-pptx, and every way a file is refused (with the code the API reports)."""

import io
import json
import random
import zipfile
from pathlib import Path

import docx
import pptx
import pytest
from fpdf import FPDF
from fpdf.enums import EncryptionMethod
from pptx.util import Inches

from engine.files.extract import SUPPORTED_EXTENSIONS, extract_text
from engine.files.unreadable import ExtractionFailed

FILLER = "Filler words keep each page long enough to wrap over several lines. " * 12
PAGES = [
    "The heron waits at the edge of the marsh.",
    "Copper wire conducts the signal to the lighthouse.",
    "The archive closes at seven on Thursdays.",
]


def extract(tmp_path: Path, filename: str, data: bytes) -> str:
    """Upload `data` as `filename`: the temporary file's own name plays no part."""
    path = tmp_path / "upload.tmp"
    path.write_bytes(data)
    return extract_text(path, filename)


def refusal(tmp_path: Path, filename: str, data: bytes) -> ExtractionFailed:
    with pytest.raises(ExtractionFailed) as failed:
        extract(tmp_path, filename, data)
    assert filename in failed.value.message
    assert str(failed.value) == failed.value.message
    return failed.value


def in_order(text: str, parts: list[str]) -> bool:
    positions = [text.find(part) for part in parts]
    return -1 not in positions and positions == sorted(positions)


def pdf(pages: list[str]) -> FPDF:
    document = FPDF()
    document.set_font("helvetica", size=12)
    for page in pages:
        document.add_page()
        document.multi_cell(0, 8, f"{page}\n{FILLER}")
    return document


def pdf_bytes(pages: list[str]) -> bytes:
    return bytes(pdf(pages).output())


# ---- PDF


def test_pdf_pages_in_order(tmp_path: Path) -> None:
    text = extract(tmp_path, "report.pdf", pdf_bytes(PAGES))
    assert in_order(text, PAGES)
    assert "Filler words" in text
    assert "\r" not in text
    assert "\n\n" + PAGES[1] in text


def test_extension_case_does_not_matter(tmp_path: Path) -> None:
    assert PAGES[0] in extract(tmp_path, "REPORT.PDF", pdf_bytes(PAGES[:1]))


def test_truncated_pdf_is_invalid(tmp_path: Path) -> None:
    whole = pdf_bytes(PAGES)
    failed = refusal(tmp_path, "report.pdf", whole[: len(whole) // 2])
    assert failed.code == "invalid_file"
    assert "report.pdf is not a readable PDF" in failed.message
    assert "truncated" in failed.message


def test_pdf_without_text_is_invalid(tmp_path: Path) -> None:
    document = FPDF()
    document.add_page()
    document.rect(20, 20, 80, 40)
    failed = refusal(tmp_path, "scan.pdf", bytes(document.output()))
    assert failed.code == "invalid_file"
    assert "scan.pdf has no text" in failed.message


def test_pdf_with_a_password_is_invalid(tmp_path: Path) -> None:
    document = pdf(PAGES[:1])
    document.set_encryption(owner_password="owner-7", user_password="reader-7")
    failed = refusal(tmp_path, "locked.pdf", bytes(document.output()))
    assert failed.code == "invalid_file"
    assert "password" in failed.message


@pytest.mark.parametrize("method", [EncryptionMethod.RC4, EncryptionMethod.AES_128])
def test_pdf_locked_only_for_editing_is_read(tmp_path: Path, method: EncryptionMethod) -> None:
    """Encrypted with an owner password alone, as 'secured' PDFs often are: any viewer opens it."""
    document = pdf(PAGES[:1])
    document.set_encryption(owner_password="owner-7", encryption_method=method)
    assert PAGES[0] in extract(tmp_path, "secured.pdf", bytes(document.output()))


def test_pdf_with_a_broken_body_is_invalid(tmp_path: Path) -> None:
    body = random.Random(3).randbytes(4096)
    failed = refusal(tmp_path, "broken.pdf", b"%PDF-1.7\n" + body + b"\nstartxref\n9\n%%EOF\n")
    assert failed.code == "invalid_file"
    assert "broken.pdf is not a readable PDF: " in failed.message


# ---- Word


def test_docx_paragraphs_and_tables_in_document_order(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Quarterly figures", level=1)
    document.add_paragraph("The table below lists each region.")
    table = document.add_table(rows=3, cols=4)
    for row, values in enumerate([["Region", "Q1", "Q2"], ["North", "12", "15"]]):
        for col, value in enumerate(values):
            table.cell(row, col).text = value
    table.cell(0, 3).merge(table.cell(1, 3)).text = "Estimated"
    table.cell(2, 0).merge(table.cell(2, 3)).text = "Totals are audited"
    document.add_paragraph("Closing remark after the table.")
    stream = io.BytesIO()
    document.save(stream)

    text = extract(tmp_path, "figures.docx", stream.getvalue())
    assert in_order(
        text,
        [
            "Quarterly figures",
            "The table below lists each region.",
            "Region\tQ1\tQ2\tEstimated",
            "North\t12\t15",
            "Totals are audited",
            "Closing remark after the table.",
        ],
    )
    # Merged cells (across columns, and down rows) are read once.
    assert text.count("Totals are audited") == 1
    assert text.count("Estimated") == 1


def test_docx_that_is_a_presentation_is_invalid(tmp_path: Path) -> None:
    failed = refusal(tmp_path, "slides.docx", presentation_bytes())
    assert failed.code == "invalid_file"
    assert "slides.docx is not a readable Word document: " in failed.message


def test_docx_missing_its_parts_is_invalid(tmp_path: Path) -> None:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("hello.txt", "not a Word document")
    failed = refusal(tmp_path, "empty.docx", stream.getvalue())
    assert failed.code == "invalid_file"
    assert "empty.docx is not a readable Word document: " in failed.message


def test_legacy_office_file_is_invalid(tmp_path: Path) -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    failed = refusal(tmp_path, "old.docx", ole2)
    assert failed.code == "invalid_file"
    assert "legacy" in failed.message


# ---- PowerPoint


def presentation_bytes() -> bytes:
    """Two slides: a title and a bulleted body with notes, then a table and a grouped text box."""
    presentation = pptx.Presentation()
    first = presentation.slides.add_slide(presentation.slide_layouts[1])
    assert first.shapes.title is not None
    first.shapes.title.text = "Migration plan"
    first.placeholders[1].text = "Move the archive first\vthen the index"
    notes = first.notes_slide.notes_text_frame
    assert notes is not None
    notes.text = "Speaker note: mention the downtime window."

    second = presentation.slides.add_slide(presentation.slide_layouts[5])
    assert second.shapes.title is not None
    second.shapes.title.text = "Schedule"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
    for row, values in enumerate([["Week", "Task"], ["3", "Cutover"]]):
        for col, value in enumerate(values):
            table.cell(row, col).text = value
    group = second.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(4), Inches(4), Inches(1))
    box.text_frame.text = "Grouped reminder: freeze writes."
    stream = io.BytesIO()
    presentation.save(stream)
    return stream.getvalue()


def test_pptx_slides_tables_and_notes_in_order(tmp_path: Path) -> None:
    text = extract(tmp_path, "plan.pptx", presentation_bytes())
    assert in_order(
        text,
        [
            "Migration plan",
            "Move the archive first\nthen the index",
            "Speaker note: mention the downtime window.",
            "Schedule",
            "Week\tTask\n3\tCutover",
            "Grouped reminder: freeze writes.",
        ],
    )
    assert "window.\n\nSchedule" in text
    assert "\v" not in text


def test_pptx_that_is_not_a_zip_is_invalid(tmp_path: Path) -> None:
    failed = refusal(tmp_path, "deck.pptx", b"just some words, not a presentation")
    assert failed.code == "invalid_file"
    assert failed.message.startswith("deck.pptx is not a readable PowerPoint presentation: ")
    assert "zip" in failed.message


# ---- HTML

PAGE = """<!doctype html>
<html><head><title>Field guide</title>
<style>body { color: red; } .hidden-style-rule {}</style>
<script>var secretScript = "never shown";</script></head>
<body>
  <h1>Birds   of the
  coast</h1>
  <p>The <b>heron</b> &amp; the egret wade.<br>Gulls do not.</p>
  <div>First block</div><div>Second block</div>
  <ul><li>Tern</li><li>Plover</li></ul>
  <table><tr><th>Bird</th><th>Length</th></tr><tr><td>Heron</td><td>95 cm</td></tr></table>
  <pre>keep   these
    spaces</pre>
  <p hidden>Hidden paragraph</p>
  <noscript>Enable scripts</noscript>
  <!-- a comment -->
</body></html>"""


def test_html_visible_text_with_blocks_as_lines(tmp_path: Path) -> None:
    text = extract(tmp_path, "guide.html", PAGE.encode())
    for hidden in ("secretScript", "color: red", "hidden-style-rule", "Hidden paragraph"):
        assert hidden not in text
    assert "Enable scripts" not in text
    assert "a comment" not in text
    assert text == (
        "Field guide\n\n"
        "Birds of the coast\n\n"
        "The heron & the egret wade.\nGulls do not.\n\n"
        "First block\nSecond block\n\n"
        "Tern\nPlover\n\n"
        "Bird\tLength\nHeron\t95 cm\n\n"
        "keep   these\n    spaces"
    )


def test_htm_is_html(tmp_path: Path) -> None:
    assert extract(tmp_path, "a.htm", b"<p>one</p><p>two</p>") == "one\n\ntwo"


# ---- Text, data and code


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("notes.md", "# Title\n\nSome *emphasis* and a [link](https://example.com).\n"),
        ("table.csv", 'name,count\nheron,3\n"egret, great",5\n'),
        ("tool.py", 'def main() -> None:\n    """Do it."""\n    return None\n'),
        ("paper.tex", "\\section{Intro}\nText with $x^2$.\n"),
        ("README", "An extensionless text file is read as text.\n"),
    ],
)
def test_text_files_are_read_as_they_are(tmp_path: Path, filename: str, content: str) -> None:
    assert extract(tmp_path, filename, content.encode()) == content


def test_valid_json_is_kept_as_written(tmp_path: Path) -> None:
    content = json.dumps({"bird": "heron", "sizes": [1, 2, 3]}, indent=2)
    assert extract(tmp_path, "data.json", content.encode()) == content


def test_invalid_json_is_invalid(tmp_path: Path) -> None:
    failed = refusal(tmp_path, "data.json", b'{"bird": "heron",}')
    assert failed.code == "invalid_file"
    assert "data.json is not a readable JSON file: it is not valid JSON" in failed.message


def test_byte_order_marks_name_the_encoding(tmp_path: Path) -> None:
    content = "Ça va très bien, 日本語\n"
    assert extract(tmp_path, "bom.txt", content.encode("utf-8-sig")) == content
    assert extract(tmp_path, "wide.txt", content.encode("utf-16")) == content
    assert extract(tmp_path, "wide-be.txt", b"\xfe\xff" + content.encode("utf-16-be")) == content


def test_line_ends_and_blank_runs_are_normalised(tmp_path: Path) -> None:
    content = b"one\r\ntwo\r\n\r\n\r\n\r\n\r\n\r\nthree\rfour\n \n\n\nfive"
    assert extract(tmp_path, "crlf.txt", content) == "one\ntwo\n\n\nthree\nfour\n\n\nfive"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"text\x00with a NUL byte", "NUL"),
        ("caf\u00e9 in Latin-1".encode("latin-1"), "UTF-8"),
    ],
)
def test_text_that_is_not_text_is_invalid(tmp_path: Path, data: bytes, reason: str) -> None:
    failed = refusal(tmp_path, "notes.txt", data)
    assert failed.code == "invalid_file"
    assert reason in failed.message


@pytest.mark.parametrize("filename", ["noise.pdf", "noise.docx", "noise.txt", "noise.pptx"])
def test_random_bytes_are_invalid(tmp_path: Path, filename: str) -> None:
    failed = refusal(tmp_path, filename, random.Random(11).randbytes(8192))
    assert failed.code == "invalid_file"


@pytest.mark.parametrize("filename", ["empty.txt", "blank.md"])
def test_file_without_text_is_invalid(tmp_path: Path, filename: str) -> None:
    data = b"" if filename == "empty.txt" else b" \n\n \t\n"
    failed = refusal(tmp_path, filename, data)
    assert failed.code == "invalid_file"
    assert failed.message == f"{filename} has no text"


# ---- What is not read


@pytest.mark.parametrize("filename", ["setup.exe", "bundle.zip", "archive.tar.gz", "blob"])
def test_unknown_types_are_unsupported(tmp_path: Path, filename: str) -> None:
    failed = refusal(tmp_path, filename, random.Random(5).randbytes(2048))
    assert failed.code == "unsupported_file"
    assert "supported types: .bash, .c," in failed.message


def test_html_nested_too_deep_is_refused_not_parsed(tmp_path: Path) -> None:
    """Parsing nested <div>s takes time in the square of their depth: such a file is refused."""
    deep = b"<div>" * 200_000 + b"bottom" + b"</div>" * 200_000
    failed = refusal(tmp_path, "deep.html", deep)
    assert failed.code == "invalid_file"
    assert "nest more than 1024 deep" in failed.message
    nested = b"<div>" * 1000 + b"bottom" + b"</div>" * 1000 + b"<p>after</p>"
    assert extract(tmp_path, "nested.html", nested) == "bottom\n\nafter"


def test_supported_extensions_cover_openais_list() -> None:
    openai = ".c .cpp .cs .css .docx .go .html .java .js .json .md .pdf .php .pptx .py .rb .sh"
    assert set((openai + " .tex .ts .txt .csv .htm").split()) <= SUPPORTED_EXTENSIONS
    assert not {".exe", ".zip", ".doc", ""} & SUPPORTED_EXTENSIONS


def test_unreadable_upload_is_a_server_error(tmp_path: Path) -> None:
    with pytest.raises(ExtractionFailed) as failed:
        extract_text(tmp_path / "gone.tmp", "report.pdf")
    assert failed.value.code == "server_error"
    assert "report.pdf" in failed.value.message
