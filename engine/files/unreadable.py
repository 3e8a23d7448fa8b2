"""Why a file gave no text, apart from the readers (engine/files/extract.py): their parsers
weigh ~25 MB, and a process imports them only when it first reads a file."""

from typing import Literal

ExtractionCode = Literal["unsupported_file", "invalid_file", "server_error"]


class ExtractionFailed(Exception):
    """Why a file gave no text: `code` for the file's last_error, `message` for the person."""

    def __init__(self, code: ExtractionCode, message: str) -> None:
        super().__init__(message)
        self.code: ExtractionCode = code
        self.message = message
