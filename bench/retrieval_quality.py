"""Retrieval quality of file_search's lexical ranking: known-item questions over a corpus of
real documents nobody wrote for this test, all in one index (one vector store).

The corpus is what this machine ships, chosen deterministically (each kind's sorted paths
shuffled with `--seed`, taken in that order): Debian's package documentation (READMEs, *.md,
*.txt, *.rst, FAQs under /usr/share/doc, gzipped or not), man pages (sections 1, 5, 7 and 8,
rendered to plain text by groff), the docstrings of Debian's Python standard library's top-level
modules, the sources of its package modules (email/, asyncio/, …), and the long descriptions
in the virtualenv's package METADATA. Documents under 1,500 or over 300,000 characters, and
repeats of one already taken, are skipped. The corpus depends on what is installed: the list's
hash is printed. Every document is chunked with `chunk_text` (auto: 800 tokens, 400 overlap)
and every chunk of every document goes into one `LexicalIndex`.

Questions, one per document where possible: a line of the document (whitespace collapsed) that
no other document has, with at least 5 content words (3+ letters, not in a common-English list)
of which at least 3 are rare-ish (in at most 10% of the documents); the line is drawn at
random among the candidates (not the most distinctive one). The question is a random 60% of
its content words (3 to 7 words), shuffled and lower-cased: keywords of a remembered passage,
never the verbatim line. A question's answer is its document; chunk hits become file results
as file_search returns them (best chunk per file, files in the order of their best chunk).

Then the same documents are chunked smaller (static: 250 tokens, 125 overlap) for more than
10,000 chunks, and the index build and `scores` times are measured for the first 100, 1,000
and 10,000 of them, over the same questions.

    .venv/bin/python bench/retrieval_quality.py [--documents N] [--seed S]
"""

# ruff: noqa: T201

import argparse
import ast
import gzip
import hashlib
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from engine.files.chunking import chunk_text
from engine.files.ranking import LexicalIndex, top

MIN_CHARS = 1_500
MAX_CHARS = 300_000
# How many of each kind of document (fewer if the machine has fewer).
SHARES = {
    "debian-doc": 0.34,
    "man-page": 0.22,
    "docstrings": 0.18,
    "source": 0.12,
    "metadata": 0.14,
}
CONTENT_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}")
# Words too common to make a question of (on top of the ranking's own stopwords).
COMMON_WORDS = """
    about above after again against all also and any are because been before being below
    between both but can cannot could did does doing down during each few for from further had
    has have having her here hers herself him himself his how into its itself just let like
    more most much must myself nor not now off once only other ought our ours ourselves out
    over own same shall she should some such than that the their theirs them themselves then
    there these they this those through too under until upon use used uses using very was
    were what when where which while who whom why will with within without would you your
    yours yourself yourselves true false none self return returns may one two new see
"""
COMMON = frozenset(COMMON_WORDS.split())
RARE_SHARE = 0.10
CHUNK_HITS = 200


@dataclass(frozen=True)
class Document:
    name: str
    kind: str
    text: str


@dataclass(frozen=True)
class Question:
    document: int
    text: str
    line: str


# --- The corpus -------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def debian_docs() -> Iterator[tuple[str, Callable[[], str]]]:
    pattern = re.compile(r"^(readme|faq)|\.(md|txt|rst|markdown)(\.gz)?$", re.IGNORECASE)
    for path in sorted(Path("/usr/share/doc").rglob("*")):
        if path.is_file() and not path.is_symlink() and pattern.search(path.name):
            yield str(path), partial(read_text, path)


def man_pages() -> Iterator[tuple[str, Callable[[], str]]]:
    for section in ("man1", "man5", "man7", "man8"):
        for path in sorted(Path("/usr/share/man", section).glob("*.gz")):
            if not path.is_symlink():
                yield str(path), partial(render_man, path)


def render_man(path: Path) -> str:
    """Plain text, 80 columns, no bold or underline (groff's `-P-cbou`)."""
    rendered = subprocess.run(
        ["groff", "-man", "-Tutf8", "-P-cbou", "-rLL=80n"],
        input=gzip.decompress(path.read_bytes()),
        capture_output=True,
        check=False,
    )
    return rendered.stdout.decode("utf-8", errors="replace")


def stdlib_docstrings() -> Iterator[tuple[str, Callable[[], str]]]:
    for path in sorted(stdlib().glob("*.py")):
        yield str(path), partial(docstrings, path)


def docstrings(path: Path) -> str:
    """The module's docstring, then each class's and function's under its name."""
    tree = ast.parse(path.read_text(errors="replace"))
    parts = [ast.get_docstring(tree) or ""]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            text = ast.get_docstring(node)
            if text:
                parts.append(f"{node.name}\n{text}")
    return "\n\n".join(parts)


def stdlib_sources() -> Iterator[tuple[str, Callable[[], str]]]:
    """Modules inside standard-library packages (not tests): their docstrings are not in the
    docstrings documents, which come from top-level modules."""
    for path in sorted(stdlib().glob("*/*.py")):
        if "test" not in path.parts[-2] and path.parts[-2] not in ("site-packages", "idlelib"):
            yield str(path), partial(read_text, path)


def package_descriptions() -> Iterator[tuple[str, Callable[[], str]]]:
    site = Path(sys.prefix, "lib", python_dir(), "site-packages")
    for path in sorted(site.glob("*.dist-info/METADATA")):
        yield str(path.relative_to(site.parent.parent.parent)), partial(description, path)


def description(path: Path) -> str:
    """A METADATA file's body: the package's long description."""
    return read_text(path).partition("\n\n")[2]


def python_dir() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def stdlib() -> Path:
    """Debian's standard library (the newest python3.N under /usr/lib), else this Python's."""
    shipped = [
        path for path in sorted(Path("/usr/lib").glob("python3.*")) if (path / "os.py").exists()
    ]
    return shipped[-1] if shipped else Path(sys.base_prefix, "lib", python_dir())


SOURCES: dict[str, Callable[[], Iterator[tuple[str, Callable[[], str]]]]] = {
    "debian-doc": debian_docs,
    "man-page": man_pages,
    "docstrings": stdlib_docstrings,
    "source": stdlib_sources,
    "metadata": package_descriptions,
}


def corpus(size: int, seed: int) -> list[Document]:
    """`size` documents, each kind's share drawn at random (seeded) from its sorted paths."""
    chosen: list[Document] = []
    seen: set[str] = set()
    for kind, source in SOURCES.items():
        candidates = list(source())
        random.Random(f"{seed}:{kind}").shuffle(candidates)
        wanted = round(size * SHARES[kind])
        for name, load in candidates:
            if sum(document.kind == kind for document in chosen) >= wanted:
                break
            text = load()
            fingerprint = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
            if MIN_CHARS <= len(text) <= MAX_CHARS and fingerprint not in seen:
                seen.add(fingerprint)
                chosen.append(Document(name, kind, text))
    return chosen


# --- The questions ----------------------------------------------------------------------------


def normal_line(line: str) -> str:
    return " ".join(line.split()).lower()


def questions(documents: list[Document], seed: int) -> list[Question]:
    lines = [{normal_line(line) for line in document.text.splitlines()} for document in documents]
    line_count = Counter(line for found in lines for line in found)
    words = [
        {word.lower() for word in CONTENT_WORD.findall(document.text)} for document in documents
    ]
    frequency = Counter(word for found in words for word in found)
    rare = {word for word, count in frequency.items() if count <= RARE_SHARE * len(documents)}
    asked = []
    for number in range(len(documents)):
        rng = random.Random(f"{seed}:{number}")
        candidates = [
            line
            for line in sorted(lines[number])
            if line_count[line] == 1 and qualifies(content_words(line), rare)
        ]
        if candidates:
            line = rng.choice(candidates)
            asked.append(Question(number, keywords(content_words(line), rng), line))
    return asked


def content_words(line: str) -> list[str]:
    found = (word.lower() for word in CONTENT_WORD.findall(line))
    return list(dict.fromkeys(word for word in found if word not in COMMON))


def qualifies(words: list[str], rare: set[str]) -> bool:
    return len(words) >= 5 and sum(word in rare for word in words) >= 3


def keywords(words: list[str], rng: random.Random) -> str:
    """A random 60% of the words (3 to 7), shuffled."""
    count = min(7, max(3, round(0.6 * len(words))))
    return " ".join(rng.sample(words, count))


# --- Searching --------------------------------------------------------------------------------


def ranked_documents(index: LexicalIndex, owners: list[int], question: str) -> list[int]:
    """Documents in the order of their best chunk, as file_search's results are."""
    hits = top(index.scores(question), CHUNK_HITS)
    return list(dict.fromkeys(owners[chunk] for chunk, _ in hits))


@dataclass
class Chunked:
    """Every chunk of every document, in one list, and the document each came from."""

    texts: list[str]
    owners: list[int]

    @classmethod
    def of(cls, documents: list[Document], max_tokens: int, overlap: int) -> "Chunked":
        chunked = cls([], [])
        for number, document in enumerate(documents):
            pieces = chunk_text(document.text, max_tokens, overlap)
            chunked.texts.extend(chunk.text for chunk in pieces)
            chunked.owners.extend([number] * len(pieces))
        return chunked


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Known-item retrieval over shipped documents.")
    parser.add_argument("--documents", type=int, default=480)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args(argv)

    started = time.perf_counter()
    documents = corpus(arguments.documents, arguments.seed)
    asked = questions(documents, arguments.seed)
    print(f"corpus: {describe(documents)}; loaded in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    chunked = Chunked.of(documents, 800, 400)
    print(
        f"chunks: {len(chunked.texts)} (auto: 800 tokens, 400 overlap), chunked in "
        f"{time.perf_counter() - started:.2f} s\n"
    )
    quality(documents, asked, chunked)
    # The same documents in more, smaller chunks (static 250/125), for 10,000 of them.
    scale([question.text for question in asked], Chunked.of(documents, 250, 125).texts)


def describe(documents: list[Document]) -> str:
    kinds = Counter(document.kind for document in documents)
    characters = sum(len(document.text) for document in documents)
    listing = hashlib.sha256("\n".join(document.name for document in documents).encode())
    return (
        f"{len(documents)} documents ({', '.join(f'{n} {k}' for k, n in kinds.items())}), "
        f"{characters / 1e6:.1f} M characters, list sha256 {listing.hexdigest()[:12]}"
    )


def quality(documents: list[Document], asked: list[Question], chunked: Chunked) -> None:
    started = time.perf_counter()
    index = LexicalIndex.build(chunked.texts)
    built = time.perf_counter() - started
    ranks: list[int | None] = []
    timings: list[float] = []
    for question in asked:
        started = time.perf_counter()
        ranked = ranked_documents(index, chunked.owners, question.text)
        timings.append(time.perf_counter() - started)
        ranks.append(ranked.index(question.document) + 1 if question.document in ranked else None)
    count = len(ranks)
    within_5 = sum(rank is not None and rank <= 5 for rank in ranks) / count
    rows = [
        ("questions", f"{count}"),
        ("recall@1", f"{sum(rank == 1 for rank in ranks) / count:.3f}"),
        ("recall@5", f"{within_5:.3f}"),
        ("MRR", f"{sum(1 / rank for rank in ranks if rank) / count:.3f}"),
        ("index build", f"{built * 1000:.0f} ms"),
        ("query p50", f"{statistics.median(timings) * 1000:.2f} ms"),
        ("query max", f"{max(timings) * 1000:.2f} ms"),
    ]
    for name, value in rows:
        print(f"{name:<12} {value:>10}")
    print(f"target recall@5 >= 0.95: {'met' if within_5 >= 0.95 else 'NOT MET'}\n")
    by_kind: dict[str, list[int | None]] = {}
    for question, rank in zip(asked, ranks, strict=True):
        by_kind.setdefault(documents[question.document].kind, []).append(rank)
    for kind, found in by_kind.items():
        share = sum(rank is not None and rank <= 5 for rank in found) / len(found)
        print(f"recall@5 {kind:<11} {share:.3f} ({len(found)} questions)")
    misses = [(q, rank) for q, rank in zip(asked, ranks, strict=True) if rank is None or rank > 5]
    for question, rank in misses[:10]:
        name = documents[question.document].name
        print(f"  missed (rank {rank}): {question.text!r} <- {name}: {question.line[:60]!r}")


def scale(queries: list[str], texts: list[str]) -> None:
    """Index build time and `scores` p50 for growing prefixes of the chunk list."""
    print(f"\nscale: {len(texts)} chunks of 250 tokens (overlap 125)")
    print(f"{'chunks':>8} {'build':>10} {'scores p50':>11} {'scores p95':>11}")
    for size in (100, 1_000, 10_000):
        if size > len(texts):
            break
        started = time.perf_counter()
        index = LexicalIndex.build(texts[:size])
        built = time.perf_counter() - started
        timings = []
        for query in queries:
            started = time.perf_counter()
            index.scores(query)
            timings.append(time.perf_counter() - started)
        timings.sort()
        p50, p95 = timings[len(timings) // 2], timings[int(len(timings) * 0.95)]
        print(f"{size:>8} {built * 1000:>7.0f} ms {p50 * 1000:>8.3f} ms {p95 * 1000:>8.3f} ms")


if __name__ == "__main__":
    main()
