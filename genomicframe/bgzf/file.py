"""A binary file object over BGZF (and gzip or plain) files: ``gf.bgzf.open``."""
from __future__ import annotations

import io
import os

from ..errors import NotBgzfError
from .reader import Reader
from .voffset import make_voffset, split_voffset
from .writer import Writer

__all__ = ["BgzfFile", "open", "decompress"]

_open = open


def open(path, mode: str = "rb", *, threads: int | None = None, level: int = -1, index=None):
    """Open a BGZF file for binary reading (``"rb"``) or writing (``"wb"``, ``"ab"``).

    In read mode, plain gzip and uncompressed files are accepted too (chosen by
    magic bytes); for BGZF, :meth:`BgzfFile.seek` and :meth:`BgzfFile.tell` use
    *virtual offsets* (``coffset << 16 | offset within the block``), as htslib
    does; for other files they are plain uncompressed byte offsets.

    Examples
    --------
    >>> import genomicframe as gf
    >>> with gf.bgzf.open(gf.examples.path("proteins.fa.gz")) as fh:
    ...     header = fh.readline()
    >>> header.startswith(b">")
    True
    """
    if mode in ("rb", "r"):
        return BgzfFile(path, threads=threads)
    if mode in ("wb", "w", "ab", "a"):
        if mode.startswith("a"):
            target = _open(path, "ab")
            try:
                w = _OwningWriter(target, level=level, threads=threads, index=None)
            except BaseException:
                target.close()
                raise
            w._written = target.tell()  # virtual offsets count from the start of the file
            return w
        return Writer(path, level=level, threads=threads, index=index)
    raise ValueError(f"mode must be 'rb', 'wb' or 'ab', got {mode!r}")


class _OwningWriter(Writer):
    def close(self) -> None:
        fh = self._fh
        try:
            super().close()
        finally:
            fh.close()


def decompress(data) -> bytes:
    """Inflate a whole BGZF (or gzip) byte string.

    Examples
    --------
    >>> import genomicframe as gf
    >>> gf.bgzf.decompress(gf.bgzf.compress(b"x" * 100000)) == b"x" * 100000
    True
    """
    with Reader(io.BytesIO(bytes(data)), threads=1) as r:
        return r.read_all()


class BgzfFile(io.BufferedIOBase):
    """Read-only binary file object; iterate it for lines.

    ``seek``/``tell`` take and return BGZF virtual offsets for BGZF files
    (use :class:`~genomicframe.bgzf.GziIndex` to turn uncompressed offsets into
    virtual ones), and uncompressed byte offsets for gzip and plain files.
    """

    def __init__(self, path, *, threads: int | None = None) -> None:
        self._path = path
        self._threads = threads
        self._reader = Reader(path, threads=threads)
        self.name = self._reader.path
        self.compression = self._reader.compression
        self._start_stream(0)

    # -- internals ---------------------------------------------------------------------------
    def _start_stream(self, coffset: int) -> None:
        r = self._reader
        aux = getattr(self, "_aux", None)
        if aux is not None:  # the reader of an earlier seek
            self._aux = None
            aux.close()
        if coffset:
            r = Reader(self._path, threads=self._threads, start=coffset, check_eof=False)
            self._aux = r
        self._blocks = _all_blocks(r)
        self._buf = b""
        self._pos = 0
        self._coff = coffset  # coffset of the current block (BGZF)
        # where the next block starts, i.e. what tell() gives while nothing of _buf has
        # been consumed: htslib reports that address, even for an empty block
        self._entry = coffset
        self._ubase = 0  # uncompressed offset of _buf[0] (gzip / plain)
        self._eof = False

    def _fill(self) -> bool:
        """Load the next block holding data into the buffer; False at end of file."""
        if self._eof:
            return False
        self._ubase += len(self._buf)
        entry = None
        for coff, data in self._blocks:
            if coff >= 0:
                self._coff = coff
                if entry is None:
                    entry = coff
            if not data:  # empty BGZF block (EOF marker or concatenated files)
                continue
            self._buf = data
            self._pos = 0
            self._entry = self._coff if entry is None else entry
            return True
        self._eof = True
        self._buf = b""
        self._pos = 0
        # past the last data block: htslib reports the next block (the EOF marker)
        # or, when there is none, the end of the file
        if entry is not None:
            self._entry = entry
        elif self._reader._size is not None:
            self._entry = self._reader._size
        return False

    # -- io protocol -------------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.compression == "bgzf" or getattr(self._reader, "_fd", None) is not None

    def writable(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> bytes:
        self._check()
        if size is None or size < 0:
            parts = [self._buf[self._pos:]]
            self._pos = len(self._buf)
            while self._fill():
                parts.append(self._buf)
                self._pos = len(self._buf)
            return b"".join(parts)
        parts = []
        while size > 0:
            if self._pos >= len(self._buf) and not self._fill():
                break
            take = self._buf[self._pos:self._pos + size]
            self._pos += len(take)
            size -= len(take)
            parts.append(take)
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        self._check()
        if self._pos >= len(self._buf) and not self._fill():
            return b""
        end = len(self._buf) if size is None or size < 0 else self._pos + size
        take = self._buf[self._pos:end]
        self._pos += len(take)
        return take

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def peek(self, size: int = 0) -> bytes:
        self._check()
        if self._pos >= len(self._buf):
            self._fill()
        return self._buf[self._pos:]

    def readline(self, size: int | None = -1) -> bytes:
        self._check()
        limit = -1 if size is None else size
        parts = []
        while limit != 0:
            if self._pos >= len(self._buf) and not self._fill():
                break
            buf = self._buf
            nl = buf.find(b"\n", self._pos)
            end = len(buf) if nl < 0 else nl + 1
            if limit > 0 and end - self._pos > limit:
                end = self._pos + limit
            parts.append(buf[self._pos:end])
            if limit > 0:
                limit -= end - self._pos
            self._pos = end
            if nl >= 0 and end == nl + 1:
                break
        return b"".join(parts)

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def tell(self) -> int:
        """Virtual offset (BGZF) or uncompressed byte offset (gzip, plain) of the next byte."""
        self._check()
        if self.compression == "bgzf":
            if self._pos >= len(self._buf) and not self._eof:
                self._fill()  # htslib reports the start of the next block at a boundary
            if self._pos == 0:
                return self._entry << 16
            return (self._coff << 16) | self._pos
        return self._ubase + self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Seek to a virtual offset (BGZF) or uncompressed offset (gzip, plain).

        Only ``whence=SEEK_SET`` is supported for BGZF, plus ``SEEK_CUR`` with 0.
        """
        self._check()
        if whence == io.SEEK_CUR and offset == 0:
            return self.tell()
        if whence != io.SEEK_SET:
            raise io.UnsupportedOperation("BGZF files seek to absolute virtual offsets only")
        if offset < 0:
            raise ValueError(f"negative seek offset {offset}")
        if self.compression == "bgzf":
            coff, within = split_voffset(offset)
            if within >= 1 << 16:
                raise ValueError("bad virtual offset")
            self._start_stream(coff)
            if self._fill():
                if within > len(self._buf):
                    raise ValueError(f"virtual offset {offset} points past the end of its block")
                self._pos = within
            elif within:
                raise ValueError(f"virtual offset {offset} points past the end of the file")
            return offset
        # gzip / plain: restart when going backwards, then read forward
        if offset < self._ubase:
            self._reader.close()
            self._reader = Reader(self._path, threads=self._threads)
            self._start_stream(0)
        while offset >= self._ubase + len(self._buf):
            if not self._fill():
                self._pos = len(self._buf)
                return self.tell()
        self._pos = offset - self._ubase
        return offset

    def seek_uncompressed(self, offset: int, index=None) -> int:
        """Seek to an uncompressed byte offset, using ``index`` (a GziIndex) or a header scan.

        Returns the new position as :meth:`tell` gives it (a virtual offset for BGZF).
        """
        if self.compression != "bgzf":
            return self.seek(offset)
        if index is None:
            from .blocks import scan_file
            from .gzi import GziIndex

            index = GziIndex.from_blocks(scan_file(self._path))
        if offset < 0:
            raise ValueError(f"negative seek offset {offset}")
        coff, within = index.locate(offset)
        if within > 0xFFFF:  # no block holds 64 KiB: the offset lies past the end of the data
            raise ValueError(f"uncompressed offset {offset} is past the end of {self.name}")
        self.seek(make_voffset(int(coff), int(within)))
        # the .gzi's implied first entry (0, 0) may name an empty block before the first
        # data block; tell() gives the canonical offset
        return self.tell()

    def _check(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def close(self) -> None:
        if not self.closed:
            for r in (getattr(self, "_reader", None), getattr(self, "_aux", None)):
                if r is not None:  # None when __init__ failed
                    r.close()
        super().close()

    def __repr__(self) -> str:
        return f"<genomicframe.bgzf.BgzfFile name={self.name!r} compression={self.compression!r}>"


def _all_blocks(reader: Reader):
    """``(coffset, data)`` of every block, empty BGZF blocks included (coffset -1 unless BGZF)."""
    if reader.compression != "bgzf":
        yield from reader.blocks()
        return
    for coffs, datas in reader._ordered(join=False):
        yield from zip(coffs, datas)


def _is_bgzf(path) -> bool:
    with _open(path, "rb") as fh:
        from .reader import detect_compression

        return detect_compression(fh.read(64)) == "bgzf"


def require_bgzf(path) -> None:
    """Raise :class:`NotBgzfError` unless ``path`` is BGZF-compressed."""
    if not _is_bgzf(path):
        raise NotBgzfError("random access needs BGZF; recompress with `genomicframe bgzip`",
                           path=os.fspath(path), offset=0)
