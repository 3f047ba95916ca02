"""Reading the spreadsheet of ``afasbot org import``: a CSV file as Excel and others save it.

- Encoding: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"), UTF-16 with one
  (Excel's "Unicode text"), else Windows-1252 (Excel's plain "CSV" on Windows), said so.
- Delimiter: ``,``, ``;`` (Excel in Dutch, where the comma is the decimal separator) or a tab,
  taken from the header: the one that splits it into the most known column names.
- The header names the columns in any order and case; unknown, missing and doubled columns
  are all named in one line. Blank rows (Excel's ``;;;;``) are skipped.
- Bounded: at most ``MAX_FILE_BYTES`` are read and ``MAX_ROWS`` rows accepted, so a wrong file
  (``/dev/zero``, a database dump) fails at once with a clear reason.

A row with more cells than the header is kept with its problem (a delimiter in a value
without quotes), so that it is rejected with its line number rather than read shifted. A
file that cannot be read at all raises ``ImportFileError``: nothing is imported then.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from afas.tokens import AfasToken, TokenFormatError, contains_token
from bot.cli.common import TOKEN_FILE_LIMIT, decode_token_file, printable
from bot.services.bulk_import import (
    COLUMNS,
    MAX_ROWS,
    REQUIRED_COLUMNS,
    Listed,
    Reason,
    RowRejected,
    SheetRow,
    TokenFileReader,
)

#: 10,000 rows of at most 4,000 characters of notes and a token each stay well below this.
MAX_FILE_BYTES = 64 * 1024 * 1024
DELIMITERS = (",", ";", "\t")
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (a zip) and the old .xls
_PATH_SHOWN = 200


class ImportFileError(Exception):
    """The file cannot be read at all; ``reason`` says why (nothing was imported)."""

    def __init__(self, key: str, /, **values: object) -> None:
        self.reason = Reason(key, values)
        super().__init__(key)


@dataclass(frozen=True)
class ImportFile:
    path: Path
    rows: list[SheetRow]
    delimiter: str
    encoding: str  # "utf-8", "utf-16" or "cp1252"

    def __repr__(self) -> str:
        return f"ImportFile({self.path!s}, rows={len(self.rows)})"


def shown_path(path: Path | str) -> str:
    """A path as a message shows it: escaped, shortened, and never a token's text."""
    text = printable(str(path))
    if contains_token(text):
        return "(a file name that looks like a token)"
    return text if len(text) <= _PATH_SHOWN else "…" + text[-_PATH_SHOWN:]


def read_import_file(path: Path) -> ImportFile:
    """The rows of ``path``, or ``ImportFileError``."""
    shown = shown_path(path)
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ImportFileError(
            "bulk_import.file.unreadable", path=shown, reason=exc.strerror or type(exc).__name__
        ) from None
    except ValueError:  # a NUL in the name
        raise ImportFileError("bulk_import.file.unreadable", path=shown, reason="?") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ImportFileError(
            "bulk_import.file.too_large", path=shown, limit=MAX_FILE_BYTES // (1024 * 1024)
        )
    text, encoding = _decode(raw, shown)
    if not text.strip():
        raise ImportFileError("bulk_import.file.empty", path=shown)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[SheetRow] = []
    try:
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = _header(cells, shown, line)
                continue
            if len(rows) == MAX_ROWS:
                raise ImportFileError("bulk_import.file.too_many_rows", path=shown, limit=MAX_ROWS)
            rows.append(_row(line, cells, header, delimiter))
    except csv.Error as exc:
        raise ImportFileError(
            "bulk_import.file.malformed", path=shown, line=reader.line_num, reason=str(exc)
        ) from None
    if not rows:
        raise ImportFileError("bulk_import.file.no_rows", path=shown)
    return ImportFile(path, rows, delimiter, encoding)


def _decode(raw: bytes, shown: str) -> tuple[str, str]:
    if raw.startswith(_WORKBOOKS):
        raise ImportFileError("bulk_import.file.workbook", path=shown)
    try:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text, encoding = raw.decode("utf-16"), "utf-16"
        else:
            try:
                text, encoding = raw.decode("utf-8-sig"), "utf-8"
            except UnicodeDecodeError:
                text, encoding = raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise ImportFileError("bulk_import.file.not_text", path=shown) from None
    if "\x00" in text:
        raise ImportFileError("bulk_import.file.not_text", path=shown)
    return text, encoding


def _column(name: str) -> str:
    return name.strip().strip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")


def _delimiter(text: str) -> str:
    """The delimiter that splits the header (the first line with text) into the most known
    column names; a comma when none does."""
    first = next(line for line in text.splitlines() if line.strip())

    def score(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([first], delimiter=delimiter), [])
        return sum(_column(cell) in COLUMNS for cell in cells), len(cells)

    best = max(DELIMITERS, key=score)
    return best if score(best)[0] else ","


def _header(cells: list[str], shown: str, line: int) -> list[str]:
    """The column names, or ``ImportFileError`` naming every problem of the header at once."""
    names = [_column(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()  # Excel's trailing empty cells
    unknown = tuple(
        _shown_column(name)
        if name
        else Reason("bulk_import.file.header_unnamed", {"number": i + 1})
        for i, name in enumerate(names)
        if name not in COLUMNS
    )
    twice = tuple(sorted({name for name in names if name in COLUMNS and names.count(name) > 1}))
    missing = tuple(name for name in REQUIRED_COLUMNS if name not in names)
    problems = [
        Reason(key, {"columns": Listed(columns)})
        for key, columns in (
            ("bulk_import.file.header_missing", missing),
            ("bulk_import.file.header_unknown", unknown),
            ("bulk_import.file.header_twice", twice),
        )
        if columns
    ]
    if problems:
        raise ImportFileError(
            "bulk_import.file.header",
            path=shown,
            line=line,
            problems=Listed(tuple(problems), "; "),
        )
    return names


def _shown_column(name: str) -> str:
    """An unknown column's name as the header error shows it (a header cell is text a person
    typed, but a pasted token in the wrong line is not repeated)."""
    text = printable(name)[:40]
    return "(?)" if contains_token(name) else text


def _row(line: int, cells: list[str], header: list[str], delimiter: str) -> SheetRow:
    extra = cells[len(header) :]
    values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
    for name in header[len(cells) :]:
        values[name] = ""  # a short row: the missing cells are empty
    problem = None
    if any(cell.strip() for cell in extra):
        shown_delimiter = "tab" if delimiter == "\t" else delimiter
        problem = Reason(
            "bulk_import.reason.cells",
            {"cells": len(cells), "columns": len(header), "delimiter": shown_delimiter},
        )
    return SheetRow(line, values, problem)


def token_file_reader(folder: Path) -> TokenFileReader:
    """Reads an ``@path`` token cell's file, the path relative to the CSV's ``folder`` or
    absolute, with ``--token-file``'s limits and decoding (``bot.cli.common``)."""

    def read(name: str) -> AfasToken:
        path = Path(name)
        if not path.is_absolute():
            path = folder / path
        shown = shown_path(name)
        try:
            with open(path, "rb") as file:
                raw = file.read(TOKEN_FILE_LIMIT + 1)
        except OSError as exc:
            raise RowRejected(
                "bulk_import.reason.token_file_unreadable",
                path=shown,
                reason=exc.strerror or type(exc).__name__,
            ) from None
        except ValueError:  # a NUL in the name
            raise RowRejected(
                "bulk_import.reason.token_file_unreadable", path=shown, reason="not a file name"
            ) from None
        if len(raw) > TOKEN_FILE_LIMIT:
            raise RowRejected(
                "bulk_import.reason.token_file_large", path=shown, limit=TOKEN_FILE_LIMIT // 1024
            )
        try:
            return AfasToken.parse(decode_token_file(raw))
        except UnicodeDecodeError:
            raise RowRejected("bulk_import.reason.token_file_not_text", path=shown) from None
        except TokenFormatError:
            raise RowRejected("bulk_import.reason.token_file_no_token", path=shown) from None

    return read
