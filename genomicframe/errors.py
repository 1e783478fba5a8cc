"""Exceptions and warnings raised by genomicframe.

Every exception derives from :class:`GenomicFrameError` *and* from the builtin
that fits it, so callers can catch either ``ValueError`` or ``GenomicFrameError``::

    >>> import genomicframe as gf
    >>> try:
    ...     gf.bgzf.open("missing.gz")
    ... except FileNotFoundError as exc:
    ...     print(type(exc).__name__)
    FileNotFoundError

Errors about file content carry ``path`` and, where known, ``offset`` (byte
offset into the file, or a BGZF virtual offset when ``virtual`` is true) or
``line`` (1-based), and the message says what to do about it.
"""
from __future__ import annotations

import os

__all__ = [
    "GenomicFrameError",
    "FormatError",
    "VcfFormatError",
    "VcfWriteError",
    "BcfNotSupportedError",
    "CorruptBlockError",
    "TruncatedFileError",
    "NotBgzfError",
    "UnsupportedCompressionError",
    "FastaFormatError",
    "IndexFileError",
    "StaleIndexError",
    "MissingIndexError",
    "RecordNotFoundError",
    "InvalidRegionError",
    "GenomicFrameWarning",
    "MissingEofMarkerWarning",
    "DuplicateNameWarning",
    "EmptyRecordWarning",
    "MissingRecordWarning",
    "UndeclaredKeyWarning",
]


class GenomicFrameError(Exception):
    """Base class of every error genomicframe raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong and what to do about it.
    path : str or os.PathLike, optional
        The file the error is about.
    offset : int, optional
        Byte offset in ``path`` (compressed offset for BGZF files).
    line : int, optional
        1-based line number in the (uncompressed) text.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike | None = None,
        offset: int | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.offset = offset
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        prefix = ": ".join([", ".join(where)]) if where else ""
        return f"{prefix}: {self.message}" if prefix else self.message

    def __str__(self) -> str:  # KeyError would repr() the message
        return self._render()

    def __reduce__(self):
        return (_rebuild, (type(self), self.message, self.path, self.offset, self.line,
                           getattr(self, "missing", None)))


def _rebuild(cls, message, path, offset, line, missing=None):
    kw = {"missing": missing} if missing is not None else {}
    return cls(message, path=path, offset=offset, line=line, **kw)


class FormatError(GenomicFrameError, ValueError):
    """The file's content does not follow its format."""


class VcfFormatError(FormatError):
    """A VCF header or data line breaks the format (the message names the line)."""


class VcfWriteError(GenomicFrameError, ValueError):
    """The data cannot be written as VCF (a required column is missing, a type has no VCF form)."""


class BcfNotSupportedError(FormatError):
    """The file is BCF (binary VCF), which genomicframe does not read yet."""


class CorruptBlockError(FormatError):
    """A compressed block is damaged: bad magic, bad header, bad deflate data, CRC32 or ISIZE mismatch."""


class TruncatedFileError(GenomicFrameError, EOFError):
    """The file ends in the middle of a block or record."""


class NotBgzfError(FormatError):
    """Random access was asked of a file that is plain gzip (or uncompressed), not BGZF."""


class UnsupportedCompressionError(FormatError):
    """The file is compressed with a codec genomicframe does not read (bzip2, xz, zstd)."""


class FastaFormatError(FormatError):
    """A FASTA file breaks a rule its ``.fai`` index needs (irregular wrapping, no sequence...)."""


class IndexFileError(GenomicFrameError, ValueError):
    """Problems with an index file (.gzi, .fai, .tbi, ...): damaged, or not what it claims.

    A ``ValueError`` like every other content error; :class:`MissingIndexError` is also a
    ``FileNotFoundError``.
    """


class StaleIndexError(IndexFileError, ValueError):
    """An index does not match its data file (older than it, or sizes disagree)."""


class MissingIndexError(IndexFileError, FileNotFoundError):
    """An index file that is required was not found."""


class RecordNotFoundError(GenomicFrameError, KeyError):
    """Names or regions that are not in the file."""

    def __init__(self, message: str, *, missing=(), **kw) -> None:
        self.missing = list(missing)
        super().__init__(message, **kw)


class InvalidRegionError(GenomicFrameError, ValueError):
    """A region string or coordinates that cannot be understood (e.g. ``chr1:5-2``)."""


class GenomicFrameWarning(UserWarning):
    """Base class of genomicframe's warnings."""


class MissingEofMarkerWarning(GenomicFrameWarning):
    """A BGZF file has no EOF marker block: it may have been truncated (htslib warns too)."""


class DuplicateNameWarning(GenomicFrameWarning):
    """A FASTA file repeats a record name; only the first record is indexed (as htslib does)."""


class EmptyRecordWarning(GenomicFrameWarning):
    """A FASTA header has no sequence line; htslib leaves such a record out of the ``.fai``."""


class MissingRecordWarning(GenomicFrameWarning):
    """Requested names were not found and were skipped (``missing="warn"``)."""


class UndeclaredKeyWarning(GenomicFrameWarning):
    """A VCF record uses an INFO key the schema lacks, so its values were not read.

    The header does not declare the key and it first appears after the records
    the reader looks through for undeclared keys (the first MiB).
    """
