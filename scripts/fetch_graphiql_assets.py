"""Fetch the scripts and styles of Strawberry's GraphiQL page, and those of the example chat
page (app/static/examples), from the npm registry.

GraphiQL's list comes from Strawberry's own page (its unpkg.com URLs and their sha384
integrity values), so an upgrade of Strawberry brings its new versions along; the example
page's is EXAMPLE_ASSETS, pinned here and in its <script integrity>. Each file is taken from
`npm pack NAME@VERSION`, checked against its integrity value, and written to
app/static/graphiql/NAME@VERSION/PATH, where app/graphiql.py serves it.
"""

import base64
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

ROOT = Path(__file__).resolve().parent.parent / "app" / "static" / "graphiql"
TAG = re.compile(r"<(?:script|link)\b[^>]*>")
URL = re.compile(r'\b(?:src|href)="https://unpkg\.com/([^"]+)"')
INTEGRITY = re.compile(r'\bintegrity="(sha384-[^"]+)"')
# The example chat page's scripts: NAME@VERSION/PATH -> sha384 (also in chat.html).
EXAMPLE_ASSETS = {
    "graphql-ws@6.4.2/umd/graphql-ws.min.js": (
        "sha384-mxvR4Mzbsb6QVx/9xI2gtQikQA6m8zMDBFnu3l//4/ROsWt7y2sUGWd+/tYQqDm7"
    ),
}
# "@scope/name@1.2.3/dist/x.js" or "name@1.2.3/x.js": package spec, then the path inside it.
SPEC = re.compile(r"^((?:@[^/@]+/)?[^/@]+@[^/]+)/(.+)$")


def page_assets() -> dict[str, str]:
    """unpkg path ("react@18.2.0/umd/react.production.min.js") -> its integrity value."""
    assets = {}
    for tag in TAG.findall(get_graphql_ide_html("graphiql")):
        url, integrity = URL.search(tag), INTEGRITY.search(tag)
        if url and integrity:
            assets[url.group(1)] = integrity.group(1)
        elif url:
            sys.exit(f"fetch_graphiql_assets: no sha384 integrity for {url.group(1)}")
    if not assets:
        sys.exit("fetch_graphiql_assets: no unpkg.com assets found in Strawberry's graphiql.html")
    return assets


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def is_fresh(path: Path, integrity: str) -> bool:
    return path.is_file() and sri(path.read_bytes()) == integrity


def fetch_package(spec: str, files: dict[str, str]) -> None:
    """Write `files` (path in the package -> integrity) of the npm package `spec`."""
    with tempfile.TemporaryDirectory() as tmp:
        packed = subprocess.run(
            ["npm", "pack", spec, "--json", "--ignore-scripts", "--pack-destination", tmp],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        tarball = Path(tmp) / json.loads(packed.stdout)[0]["filename"]
        with tarfile.open(tarball) as archive:
            for path, integrity in files.items():
                member = archive.extractfile(f"package/{path}")
                if member is None:
                    sys.exit(f"fetch_graphiql_assets: {spec} has no file {path}")
                data = member.read()
                if sri(data) != integrity:
                    sys.exit(
                        f"fetch_graphiql_assets: INTEGRITY MISMATCH for {spec}/{path}: "
                        f"the page expects {integrity}, npm served {sri(data)}"
                    )
                target = ROOT / spec / path
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(target.name + ".partial")
                partial.write_bytes(data)
                partial.replace(target)


def main() -> None:
    missing: defaultdict[str, dict[str, str]] = defaultdict(dict)
    for unpkg_path, integrity in {**page_assets(), **EXAMPLE_ASSETS}.items():
        match = SPEC.match(unpkg_path)
        if match is None:
            sys.exit(f"fetch_graphiql_assets: not a NAME@VERSION/PATH URL: {unpkg_path}")
        spec, path = match.groups()
        if not is_fresh(ROOT / spec / path, integrity):
            missing[spec][path] = integrity
    for spec, files in missing.items():
        print(f"fetch_graphiql_assets: npm pack {spec}: {', '.join(files)}")  # noqa: T201
        try:
            fetch_package(spec, files)
        except subprocess.CalledProcessError as error:
            sys.exit(f"fetch_graphiql_assets: `npm pack {spec}` failed:\n{error.stderr}")
    ROOT.mkdir(parents=True, exist_ok=True)
    (ROOT / ".complete").touch()


if __name__ == "__main__":
    main()
