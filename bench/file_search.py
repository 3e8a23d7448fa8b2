"""file_search end to end: ingestion throughput against extraction alone, search latency on a
~10,000-chunk store against a ~100-chunk one, and the server's peak memory through a 200 MB
upload and download.

A real `threadline run` server (`--workers`, default 2: ingestion runs in the server process,
one file at a time) serves an in-memory embedded database; this process talks to it over HTTP
(GraphQL, multipart uploads as the GraphQL multipart request spec sends them). MB is 2^20 bytes.

The corpus is text this machine ships, chosen deterministically: Debian's package docs (README,
FAQ, *.md, *.txt, *.rst under /usr/share/doc, gzipped or not) and the Python sources under
/usr/lib/python3* (the standard library and Debian's packages), sorted by path, shuffled with
`--seed`, each document (1,000 to 300,000 characters, no NUL) headed by its path and put into
`.txt` files whose sizes are drawn (seeded) between 0.5 and 2 MB, up to `--corpus-mb` in all.
Its SHA-256 is printed: it depends on what is installed.

1. Ingestion. The files are uploaded (`uploadFile`; the upload rate is shown, not compared),
   then one `createVectorStore(fileIds)` with the default (auto: 800-token chunks, 400
   overlap) chunking; timed from the mutation until `vectorStore { status }` (polled every
   100 ms) is COMPLETED, and every file must be completed. That is the server's whole path:
   claim, GridFS to a spool file, `extract_text`, `chunk_text`, chunk documents inserted, file
   completed. The baseline, in this process on the same files on disk: `extract_text` alone,
   and `extract_text` + `chunk_text` (same chunking), each timed over all files once before
   and once after the ingestion (their mean is the baseline, both are shown). Reported: MB/s
   of each, and ingestion ÷ extraction (and ÷ extraction + chunking); and CPU seconds per MB
   (/proc: the server and the database during the ingestion, this process for the baseline),
   steadier than MB/s on a shared machine.
2. Search. A slice of the corpus that makes `--small-chunks` (100) chunks of 200 tokens
   (static, no overlap) is one file, the small store's; the large store has that file and the
   text that follows it, up to `--large-chunks` (10,000) chunks, in ~1 MB files. Both stores
   are made with `chunkingStrategy: STATIC 200/0`, and their chunk counts are read from the
   database (`vector_store_chunks`). Queries are 2 to 5 words (3+ letters) of a random line of
   the small file (seeded), so they find chunks in both stores. The first search of each store
   builds the server's cached index of it: timed apart, as "first search". Then `--rounds`
   rounds, alternating the stores (A B, then B A), each `--queries` `searchVectorStore(id,
   query, maxNumResults: 10) { fileId filename score content }` requests, one at a time, the
   same queries for both. Reported: p50 and p95 per store, results per query, server and
   database CPU per search, and the ratio large ÷ small of the p50 (the goal: ≤ 3x).
3. Memory. A fresh server (the first is stopped) takes a small warm-up upload, then a
   `--big-mb` (200) MB file (the corpus's first 4 MB over and over), written to a temporary
   file first and streamed from the file object by httpx, then it is downloaded (`GET
   /files/{id}/content`, streamed, its SHA-256 checked). Reported: the server process's peak
   resident memory (VmHWM, /proc) after the warm-up, after the upload and after the
   download, and the growth (the goal: < 64 MB). The server's VmHWM is also shown after the
   ingestion and after the searches (the first server), for scale.

`--quick` is a smoke run: 6 MB ingested, a 2,000-chunk large store, 2 rounds of 10 searches,
a 50 MB upload (about a minute). A default run takes about 3 minutes.

    .venv/bin/python bench/file_search.py [--corpus-mb N] [--small-chunks N]
        [--large-chunks N] [--queries N] [--rounds R] [--big-mb N] [--workers N] [--seed S]
        [--quick]
"""

# ruff: noqa: T201

import argparse
import asyncio
import gzip
import hashlib
import json
import random
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any

from common import (
    DATABASE_NAME,
    CpuMeter,
    GraphQL,
    GraphQLFailed,
    Servers,
    ThreadlineServer,
    percentile,
    run_bench,
)
from pymongo import AsyncMongoClient

from engine.files.chunking import chunk_text
from engine.files.extract import extract_text

MB = 1 << 20
MIN_DOCUMENT = 1_000
MAX_DOCUMENT = 300_000
FILE_SIZES = (MB // 2, 2 * MB)
SEARCH_FILE = MB  # the large store's files, roughly
SEARCH_CHUNKING = {"type": "STATIC", "static": {"maxChunkSizeTokens": 200, "chunkOverlapTokens": 0}}
SEARCH_TOKENS = 200
SEARCH_BYTES_PER_TOKEN = 6
POLL_SECONDS = 0.1
EXTRACT = "extract_text alone"
CHUNKED = "extract_text + chunk_text alone"
INGESTION_TIMEOUT = 1800.0
UPLOAD_TIMEOUT = 900.0
DOC_NAME = re.compile(r"^(readme|faq)|\.(md|txt|rst|markdown)(\.gz)?$", re.IGNORECASE)
WORD = re.compile(r"[A-Za-z][A-Za-z]{2,}")

UPLOAD_FILE = """mutation($file: Upload!) {
  uploadFile(file: $file, purpose: ASSISTANTS) { id bytes downloadUrl } }"""
CREATE_STORE = """mutation($input: CreateVectorStoreInput) {
  createVectorStore(input: $input) { id } }"""
STORE = """query($id: ID!) { vectorStore(id: $id) {
  status fileCounts { inProgress completed failed cancelled total } } }"""
SEARCH = """query($id: ID!, $q: String!, $max: Int) {
  searchVectorStore(id: $id, query: $q, maxNumResults: $max) {
    fileId filename score content } }"""

Json = dict[str, Any]


# --- The corpus ------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


@cache
def shipped_documents() -> tuple[Path, ...]:
    """Debian's package docs and the Python sources under /usr/lib/python3*, sorted."""
    docs = (path for path in Path("/usr/share/doc").rglob("*") if DOC_NAME.search(path.name))
    sources = (
        path for lib in sorted(Path("/usr/lib").glob("python3*")) for path in lib.rglob("*.py")
    )
    found = (path for path in (*docs, *sources) if path.is_file() and not path.is_symlink())
    return tuple(sorted(found))


def documents(seed: int) -> Iterator[str]:
    """Each usable document, headed by its path, in a seeded order."""
    paths = list(shipped_documents())
    random.Random(seed).shuffle(paths)
    for path in paths:
        try:
            text = read_text(path)
        except (OSError, gzip.BadGzipFile, EOFError):
            continue
        if MIN_DOCUMENT <= len(text) <= MAX_DOCUMENT and "\x00" not in text:
            yield f"==> {path} <==\n{text}\n"


def corpus(total: int, seed: int) -> list[bytes]:
    """Files of 0.5 to 2 MB (seeded sizes; whole documents) up to `total` bytes."""
    sizes = random.Random(f"{seed}:sizes")
    files: list[bytes] = []
    current: list[bytes] = []
    wanted = sizes.randint(*FILE_SIZES)
    held = made = 0
    for document in documents(seed):
        data = document.encode()
        current.append(data)
        held += len(data)
        if held >= wanted:
            files.append(b"".join(current))
            made += held
            current, held, wanted = [], 0, sizes.randint(*FILE_SIZES)
            if made >= total:
                break
    if made < total:
        raise RuntimeError(f"this machine ships only {made / MB:.1f} MB of such text")
    return files


def write_files(folder: Path, contents: list[bytes], stem: str) -> list[Path]:
    paths = []
    for number, content in enumerate(contents):
        path = folder / f"{stem}-{number:03d}.txt"
        path.write_bytes(content)
        paths.append(path)
    return paths


# --- Talking to the server -------------------------------------------------------------------


async def upload(gql: GraphQL, name: str, content: bytes | IO[bytes]) -> Json:
    """`uploadFile` as the GraphQL multipart request spec sends it (a file object streams)."""
    operations = {"query": UPLOAD_FILE, "variables": {"file": None}}
    response = await gql.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, content)},
        headers={"apollo-require-preflight": "true"},
        timeout=UPLOAD_TIMEOUT,
    )
    body: Json = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise GraphQLFailed(f"upload of {name}: {response.status_code}: {body}")
    file: Json = body["data"]["uploadFile"]
    return file


async def upload_all(gql: GraphQL, paths: list[Path]) -> tuple[list[str], float]:
    """The files' ids, and the seconds the uploads took."""
    started = time.perf_counter()
    ids = []
    for path in paths:
        with path.open("rb") as content:
            ids.append(str((await upload(gql, path.name, content))["id"]))
    return ids, time.perf_counter() - started


async def ingest(
    gql: GraphQL, server: ThreadlineServer, file_ids: list[str], chunking: Json | None = None
) -> tuple[str, float]:
    """A new store of `file_ids`; its id and the seconds until it is COMPLETED."""
    given: Json = {"name": "bench", "fileIds": file_ids}
    if chunking is not None:
        given["chunkingStrategy"] = chunking
    started = time.perf_counter()
    store_id = str((await gql(CREATE_STORE, input=given))["createVectorStore"]["id"])
    while True:
        store = (await gql(STORE, id=store_id))["vectorStore"]
        if store["status"] != "IN_PROGRESS":
            break
        if time.perf_counter() - started > INGESTION_TIMEOUT:
            raise RuntimeError(f"store still IN_PROGRESS: {store}\n{server.log_tail()}")
        await asyncio.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - started
    counts = store["fileCounts"]
    if store["status"] != "COMPLETED" or counts["completed"] != len(file_ids):
        raise RuntimeError(f"ingestion did not complete every file: {store}\n{server.log_tail()}")
    return store_id, seconds


async def chunk_count(uri: str, store_id: str) -> int:
    mongo: AsyncMongoClient[Json] = AsyncMongoClient(uri)
    try:
        chunks = mongo[DATABASE_NAME]["vector_store_chunks"]
        return await chunks.count_documents({"vector_store_id": store_id})
    finally:
        await mongo.close()


def peak_memory(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc")


# --- 1. Ingestion against extraction alone ---------------------------------------------------


@dataclass(frozen=True)
class Timing:
    seconds: float
    cpu: dict[str, float]  # CPU seconds, by process


def extraction(paths: list[Path], chunk: bool) -> Timing:
    """`extract_text` (and `chunk_text`, auto) over the files, one after another, here."""
    started, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        text = extract_text(path, path.name)
        if chunk:
            chunk_text(text)
    return Timing(time.perf_counter() - started, {"this process": time.process_time() - cpu})


def measure_baseline(baseline: dict[str, list[Timing]], paths: list[Path]) -> None:
    baseline[EXTRACT].append(extraction(paths, chunk=False))
    baseline[CHUNKED].append(extraction(paths, chunk=True))


async def server_ingestion(gql: GraphQL, server: ThreadlineServer, file_ids: list[str]) -> Timing:
    meter = CpuMeter(server.process.pid)
    meter.start()
    _, seconds = await ingest(gql, server, file_ids)
    meter.stop()
    return Timing(seconds, {"server": meter.used["server"], "database": meter.used["database"]})


def mb_per_second(size: int, seconds: float) -> float:
    return size / MB / max(seconds, 1e-9)


async def ingestion(gql: GraphQL, server: ThreadlineServer, paths: list[Path]) -> None:
    size = sum(path.stat().st_size for path in paths)
    print(f"\n1. ingestion: {len(paths)} files, {size / MB:.1f} MB")
    baseline: dict[str, list[Timing]] = {EXTRACT: [], CHUNKED: []}
    measure_baseline(baseline, paths)
    file_ids, uploading = await upload_all(gql, paths)
    print(f"uploads: {uploading:.1f} s, {mb_per_second(size, uploading):.1f} MB/s")
    ingested = await server_ingestion(gql, server, file_ids)
    measure_baseline(baseline, paths)
    report_ingestion(size, baseline, ingested)
    print(f"server VmHWM after the ingestion: {peak_memory(server.process.pid) / MB:.0f} MB")


def report_ingestion(size: int, baseline: dict[str, list[Timing]], ingested: Timing) -> None:
    print(f"{'':<34} {'MB/s before':>11} {'after':>7} {'mean':>7}   CPU s per MB")
    rates, cpus = {}, {}
    for name, (before, after) in baseline.items():
        rates[name] = (mb_per_second(size, before.seconds) + mb_per_second(size, after.seconds)) / 2
        cpus[name] = (before.cpu["this process"] + after.cpu["this process"]) / 2 / (size / MB)
        print(
            f"{name:<34} {mb_per_second(size, before.seconds):>11.2f}"
            f" {mb_per_second(size, after.seconds):>7.2f} {rates[name]:>7.2f}"
            f"   {cpus[name]:.3f} (this process)"
        )
    rate = mb_per_second(size, ingested.seconds)
    cpu = {name: used / (size / MB) for name, used in ingested.cpu.items()}
    spent = ", ".join(f"{name} {used:.3f}" for name, used in cpu.items())
    print(
        f"{'ingestion (server, to COMPLETED)':<34} {rate:>27.2f}"
        f"   {sum(cpu.values()):.3f} ({spent})"
    )
    print(f"ingestion took {ingested.seconds:.1f} s")
    print(
        f"ratio ingestion / extraction (MB/s): {rate / rates[EXTRACT]:.3f}x;"
        f" ingestion / (extraction + chunking): {rate / rates[CHUNKED]:.3f}x"
    )
    print(
        "CPU per MB, ingestion (server + database) / (extraction + chunking):"
        f" {sum(cpu.values()) / cpus[CHUNKED]:.2f}x"
    )


# --- 2. Search latency against store size ----------------------------------------------------


@dataclass(frozen=True)
class Store:
    label: str
    id: str
    chunks: int


def search_texts(text: str, small: int, large: int) -> tuple[str, list[str]]:
    """The small store's text (`small` chunks) and the large store's other files (up to `large`
    chunks with it), in files of about 1 MB cut at line ends."""
    bounds = chunk_text(text, SEARCH_TOKENS, 0)
    if len(bounds) < large:
        raise RuntimeError(f"the corpus makes only {len(bounds)} chunks of {SEARCH_TOKENS} tokens")
    small_text = text[: bounds[small - 1].end]
    rest = text[len(small_text) : bounds[large - 1].end]
    files = []
    while rest:
        cut = rest.find("\n", SEARCH_FILE)
        cut = len(rest) if cut < 0 else cut + 1
        files.append(rest[:cut])
        rest = rest[cut:]
    return small_text, files


def queries(text: str, count: int, seed: int) -> list[str]:
    """2 to 5 words of a random line (with 4+ words) of `text`, in their order."""
    rng = random.Random(f"{seed}:queries")
    lines = [words for line in text.splitlines() if len(words := WORD.findall(line)) >= 4]
    chosen = []
    for _ in range(count):
        words = rng.choice(lines)
        picked = sorted(rng.sample(range(len(words)), rng.randint(2, min(5, len(words)))))
        chosen.append(" ".join(words[index] for index in picked))
    return chosen


async def timed_search(gql: GraphQL, store: Store, query: str) -> tuple[float, int]:
    """Milliseconds for one search, and how many results it gave."""
    started = time.perf_counter()
    data = await gql(SEARCH, id=store.id, q=query, max=10)
    return (time.perf_counter() - started) * 1000, len(data["searchVectorStore"])


async def make_search_stores(
    gql: GraphQL, server: ThreadlineServer, uri: str, folder: Path, arguments: argparse.Namespace
) -> tuple[list[Store], str]:
    """The small and the large store, ingested; and the small store's text."""
    # Python sources and docs run 3 to 4 bytes a token: 6 is more than enough.
    wanted = arguments.large_chunks * SEARCH_TOKENS * SEARCH_BYTES_PER_TOKEN
    text = b"".join(corpus(wanted, arguments.seed)).decode()
    small_text, rest = search_texts(text, arguments.small_chunks, arguments.large_chunks)
    small_paths = write_files(folder, [small_text.encode()], "small")
    rest_paths = write_files(folder, [piece.encode() for piece in rest], "large")
    small_ids, _ = await upload_all(gql, small_paths)
    rest_ids, _ = await upload_all(gql, rest_paths)
    stores = []
    for label, ids in (("small", small_ids), ("large", small_ids + rest_ids)):
        store_id, seconds = await ingest(gql, server, ids, SEARCH_CHUNKING)
        chunks = await chunk_count(uri, store_id)
        print(f"{label} store: {len(ids)} files, {chunks:,} chunks, ingested in {seconds:.1f} s")
        stores.append(Store(label, store_id, chunks))
    return stores, small_text


@dataclass
class Searches:
    """One store's timed searches: milliseconds each, results, CPU seconds by process."""

    milliseconds: list[float] = field(default_factory=list)
    results: int = 0
    cpu: dict[str, float] = field(default_factory=lambda: {"server": 0.0, "database": 0.0})

    async def run(self, gql: GraphQL, store: Store, asked: list[str], meter: CpuMeter) -> None:
        meter.start()
        for query in asked:
            milliseconds, found = await timed_search(gql, store, query)
            self.milliseconds.append(milliseconds)
            self.results += found
        meter.stop()
        for name in self.cpu:
            self.cpu[name] += meter.used[name]


async def search(
    gql: GraphQL, server: ThreadlineServer, uri: str, folder: Path, arguments: argparse.Namespace
) -> None:
    print(f"\n2. search: {SEARCH_TOKENS}-token chunks, no overlap")
    stores, small_text = await make_search_stores(gql, server, uri, folder, arguments)
    asked = queries(small_text, arguments.queries * arguments.rounds + len(stores), arguments.seed)
    for store in stores:  # the first search builds the process's index of the store
        milliseconds, _ = await timed_search(gql, store, asked.pop())
        print(f"first search, {store.label} store (builds its index): {milliseconds:.0f} ms")
    searches = {store.label: Searches() for store in stores}
    meter = CpuMeter(server.process.pid)
    for number in range(arguments.rounds):
        batch = asked[number * arguments.queries : (number + 1) * arguments.queries]
        for store in stores if number % 2 == 0 else reversed(stores):
            await searches[store.label].run(gql, store, batch, meter)
    report_search(stores, searches)
    print(f"server VmHWM after the searches: {peak_memory(server.process.pid) / MB:.0f} MB")


def report_search(stores: list[Store], searches: dict[str, Searches]) -> None:
    print(f"{'ms':<24} {'p50':>7} {'p95':>7} {'results':>8}   CPU ms per search")
    for store in stores:
        done = searches[store.label]
        count = len(done.milliseconds)
        cpu = ", ".join(f"{name} {used / count * 1000:.1f}" for name, used in done.cpu.items())
        p50, p95 = percentile(done.milliseconds, 0.5), percentile(done.milliseconds, 0.95)
        name = f"{store.label} ({store.chunks:,} chunks)"
        print(f"{name:<24} {p50:>7.1f} {p95:>7.1f} {done.results / count:>8.1f}   {cpu}")
    small, large = (searches[store.label].milliseconds for store in stores)
    p50 = percentile(large, 0.5) / percentile(small, 0.5)
    p95 = percentile(large, 0.95) / percentile(small, 0.95)
    print(
        f"ratio large / small: p50 {p50:.2f}x (goal: <= 3x), p95 {p95:.2f}x"
        f" ({len(small)} searches each, one at a time)"
    )


# --- 3. Peak server memory through a big upload and download ---------------------------------


def write_big_file(path: Path, size: int, seed: int) -> str:
    """`size` bytes of corpus text, repeated; its SHA-256."""
    text = b"".join(corpus(4 * MB, seed))
    digest = hashlib.sha256()
    with path.open("wb") as out:
        written = 0
        while written < size:
            piece = text[: size - written]
            out.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


async def download_digest(gql: GraphQL, url: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    async with gql.http.stream("GET", url, timeout=UPLOAD_TIMEOUT) as response:
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code}")
        async for chunk in response.aiter_bytes():
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def memory(
    server: ThreadlineServer, key: str | None, folder: Path, arguments: argparse.Namespace
) -> None:
    size = arguments.big_mb * MB
    print(f"\n3. memory: a {arguments.big_mb} MB upload and download (a fresh server)")
    path = folder / "big.txt"
    sha256 = write_big_file(path, size, arguments.seed)
    pid = server.process.pid
    async with GraphQL(server.base_url, key) as gql:
        await upload(gql, "warm-up.txt", b"the server's one-time costs, first")
        peaks = {"after the warm-up upload": peak_memory(pid)}
        started = time.perf_counter()
        with path.open("rb") as content:
            file = await upload(gql, "big.txt", content)
        uploading = time.perf_counter() - started
        peaks["after the upload"] = peak_memory(pid)
        started = time.perf_counter()
        digest, got = await download_digest(gql, str(file["downloadUrl"]))
        downloading = time.perf_counter() - started
        peaks["after the download"] = peak_memory(pid)
    path.unlink()
    if file["bytes"] != size or got != size or digest != sha256:
        raise RuntimeError(f"the file came back different: {got} bytes of {size}")
    print(
        f"upload {uploading:.1f} s ({mb_per_second(size, uploading):.0f} MB/s),"
        f" download {downloading:.1f} s ({mb_per_second(size, downloading):.0f} MB/s)"
    )
    for name, peak in peaks.items():
        print(f"server VmHWM {name:<26} {peak / MB:>7.1f} MB")
    grown = (max(peaks.values()) - peaks["after the warm-up upload"]) / MB
    print(f"peak memory growth: {grown:.1f} MB (goal: < 64 MB)")


# --- The bench -------------------------------------------------------------------------------


async def bench(arguments: argparse.Namespace, uri: str, servers: Servers) -> None:
    with tempfile.TemporaryDirectory(prefix="threadline-bench-files-") as temporary:
        folder = Path(temporary)
        contents = corpus(arguments.corpus_mb * MB, arguments.seed)
        corpus_hash = hashlib.sha256(b"".join(contents)).hexdigest()[:12]
        print(f"corpus: {len(contents)} files, seed {arguments.seed}, sha256 {corpus_hash}")
        paths = write_files(folder, contents, "doc")
        server = servers.start(uri, arguments.workers)
        await server.wait_until_ready()
        print(f"server: THREADLINE_WORKERS={arguments.workers}")
        key = server.key()  # written on the database's first start: the next server has none
        async with GraphQL(server.base_url, key) as gql:
            await ingestion(gql, server, paths)
            await search(gql, server, uri, folder, arguments)
        check_log(server)
        server.stop()
        fresh = servers.start(uri, arguments.workers)
        await fresh.wait_until_ready()
        await memory(fresh, key, folder, arguments)
        check_log(fresh)


def check_log(server: ThreadlineServer) -> None:
    """Shows the server's warnings and errors, if it logged any."""
    tail = server.log_tail(40)
    if any(word in tail.lower() for word in ("error", "warning", "traceback")):
        print(f"server log ({server.base_url}):\n{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Ingestion, search and upload memory.")
    parser.add_argument("--corpus-mb", type=int, default=32, help="text to ingest, in MB")
    parser.add_argument("--small-chunks", type=int, default=100, help="the small store")
    parser.add_argument("--large-chunks", type=int, default=10_000, help="the large store")
    parser.add_argument("--queries", type=int, default=25, help="searches per round and store")
    parser.add_argument("--rounds", type=int, default=8, help="search rounds")
    parser.add_argument("--big-mb", type=int, default=200, help="the big upload, in MB")
    parser.add_argument("--workers", type=int, default=2, help="the server's THREADLINE_WORKERS")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a smoke run: smaller sizes")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.corpus_mb, arguments.large_chunks, arguments.big_mb = 6, 2_000, 50
        arguments.rounds, arguments.queries = 2, 10
    if arguments.workers < 1:
        parser.error("--workers must be at least 1: ingestion runs on the server's workers")
    if not 0 < arguments.small_chunks < arguments.large_chunks:
        parser.error("--small-chunks must be positive and below --large-chunks")
    run_bench(lambda uri, servers: bench(arguments, uri, servers))


if __name__ == "__main__":
    main()
