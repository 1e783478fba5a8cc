"""Streaming reader for BGZF, plain gzip and uncompressed files.

:class:`Reader` hands out inflated data in file order:

* :meth:`Reader.blocks` — one ``(coffset, bytes)`` per BGZF block;
* :meth:`Reader.pieces` — groups of consecutive blocks joined (about 1 MiB);
* :meth:`Reader.chunks` — pieces cut so that every chunk ends on a delimiter
  (a whole line for text formats); the unfinished tail is carried into the
  next chunk.

BGZF blocks are inflated by ISA-L (:mod:`isal`, which releases the GIL) on a
thread pool, in groups, keeping at most a few groups per thread in flight, so
memory stays flat whatever the file size.  The compression is chosen by the
magic bytes, not the file name.
"""
from __future__ import annotations

import io
import os
import struct
import sys
import warnings
from array import array
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO, Iterator

from isal import igzip_lib, isal_zlib

from .. import _threads
from .._parsers import _bgzf
from ..errors import (
    CorruptBlockError,
    FormatError,
    MissingEofMarkerWarning,
    NotBgzfError,
    TruncatedFileError,
    UnsupportedCompressionError,
)
from .constants import (
    EOF_MARKER,
    SCAN_BAD_HEADER,
    SCAN_BAD_MAGIC,
    SCAN_FULL,
    SCAN_IO_ERROR,
    SCAN_NEED_MORE,
    SCAN_NOT_BGZF,
    SCAN_OK,
)

__all__ = ["Reader", "Chunk", "BlockScanner", "detect_compression", "resolve_threads"]

_decompress = igzip_lib.decompress
_DEFLATE = igzip_lib.DECOMP_DEFLATE
_IsalError = igzip_lib.IsalError
_crc32 = isal_zlib.crc32
_load_le32 = struct.Struct("<I").unpack_from

#: bytes of compressed input read per system call
READ_SIZE = 8 << 20
#: target uncompressed size of one inflate task
GROUP_SIZE = 1 << 20


def resolve_threads(threads: int | None) -> int:
    """Number of inflate threads: ``None`` means one per available core."""
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    threads = int(threads)
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    return threads


def _pool(threads: int) -> ThreadPoolExecutor:
    return _threads.pool(threads, "inflate")


def detect_compression(head: bytes, path=None) -> str:
    """Name the container from a file's first bytes: ``"bgzf"``, ``"gzip"`` or ``"plain"``.

    ``head`` should be the first 64 bytes (fewer only when the file is that
    short).  A file too short to hold a whole BGZF header whose bytes agree
    with one is called ``"bgzf"``, so that reading it reports truncation.
    ``path`` is only used in error messages.

    Examples
    --------
    >>> from genomicframe.bgzf import detect_compression, EOF_MARKER
    >>> detect_compression(EOF_MARKER), detect_compression(b"ACGT")
    ('bgzf', 'plain')
    """
    if 0 < len(head) < 18 and b"\x1f\x8b".startswith(head[:2]) and (
            len(head) < 3 or head[2] == 8) and (len(head) < 4 or head[3] & 4):
        return "bgzf"  # a truncated BGZF header
    if head[:2] == b"\x1f\x8b":
        if len(head) >= 16 and head[2] == 8 and head[3] & 4:
            xlen = head[10] | (head[11] << 8)
            extra = head[12:12 + xlen]
            q = 0
            while q + 4 <= len(extra):
                slen = extra[q + 2] | (extra[q + 3] << 8)
                if extra[q:q + 2] == b"BC" and slen == 2:
                    return "bgzf"
                q += 4 + slen
        return "gzip"
    if head[:3] == b"BZh":
        raise UnsupportedCompressionError("bzip2-compressed input is not supported; decompress "
                                          "it and recompress with `genomicframe bgzip`",
                                          path=path, offset=0)
    if head[:6] == b"\xfd7zXZ\x00":
        raise UnsupportedCompressionError("xz-compressed input is not supported; decompress it "
                                          "and recompress with `genomicframe bgzip`",
                                          path=path, offset=0)
    if head[:4] == b"\x28\xb5\x2f\xfd":
        raise UnsupportedCompressionError("zstd-compressed input is not supported; decompress it "
                                          "and recompress with `genomicframe bgzip`",
                                          path=path, offset=0)
    return "plain"


def _raise_scan(status: int, path, offset: int, err: int = 0) -> None:
    """Turn a scan kernel status into the matching exception."""
    if status == SCAN_BAD_MAGIC:
        raise CorruptBlockError(
            "bad BGZF block: no gzip magic where a block should start; the file is damaged "
            "or not BGZF", path=path, offset=offset)
    if status == SCAN_NOT_BGZF:
        raise NotBgzfError(
            "gzip member without the BGZF 'BC' extra field: this is plain gzip, which cannot "
            "be read at random; recompress it with `genomicframe bgzip`", path=path, offset=offset)
    if status == SCAN_BAD_HEADER:
        raise CorruptBlockError(
            "bad BGZF block header (inconsistent XLEN, BSIZE or ISIZE)", path=path, offset=offset)
    if status == SCAN_NEED_MORE:
        raise TruncatedFileError(
            "file ends in the middle of a BGZF block: it is truncated (re-copy or re-create it)",
            path=path, offset=offset)
    if status == SCAN_IO_ERROR:
        raise OSError(err, f"{os.strerror(err)} while reading block headers", os.fspath(path))


class BlockScanner:
    """Scan consecutive buffers of compressed bytes for whole BGZF blocks."""

    def __init__(self, path=None) -> None:
        self.path = path

    def scan(self, buf, base: int, final: bool):
        """Scan whole blocks of ``buf`` (whose first byte is at file offset ``base``).

        Returns ``(coffset, csize, usize, consumed)`` as lists; bytes past
        ``consumed`` start an incomplete block, which is an error when ``final``.
        """
        cap = max(16, min(len(buf) // 28 + 1, 4096))
        coffset = array("q", bytes(8 * cap))
        csize = array("i", bytes(4 * cap))
        usize = array("i", bytes(4 * cap))
        pos = count = 0
        c_out, s_out, u_out = [], [], []
        while True:
            status, pos, count = _bgzf.scan_buffer(buf, pos, base, coffset, csize, usize, 0)
            c_out += coffset[:count].tolist()
            s_out += csize[:count].tolist()
            u_out += usize[:count].tolist()
            if status != SCAN_FULL:
                break
        if status == SCAN_NEED_MORE and not final:
            status = SCAN_OK
        if status != SCAN_OK:
            _raise_scan(status, self.path, base + pos)
        return c_out, s_out, u_out, pos


class Chunk:
    """Inflated bytes that end on a delimiter (except, possibly, the file's last chunk).

    Attributes
    ----------
    data : memoryview
        The bytes (read-only).
    uoffset : int
        Uncompressed offset of ``data[0]`` from where the reader started.
    """

    __slots__ = ("data", "uoffset")

    def __init__(self, data, uoffset: int) -> None:
        self.data = data
        self.uoffset = uoffset

    def __len__(self) -> int:
        return len(self.data)

    def __bytes__(self) -> bytes:
        return bytes(self.data)

    def __repr__(self) -> str:
        return f"Chunk(uoffset={self.uoffset}, size={len(self.data)})"


def _diagnose(block: memoryview, path, offset: int, exc: Exception) -> CorruptBlockError:
    """Explain why a block failed to inflate: bad deflate data, CRC32 or ISIZE."""
    import zlib

    n = len(block)
    xlen = block[10] | (block[11] << 8)
    try:
        data = zlib.decompress(bytes(block[12 + xlen:n - 8]), -15)
    except zlib.error:
        detail = f" ({exc})" if exc is not None else ""
        return CorruptBlockError(f"corrupt deflate data in BGZF block{detail}", path=path,
                                 offset=offset)
    crc = int.from_bytes(block[n - 8:n - 4], "little")
    isize = int.from_bytes(block[n - 4:n], "little")
    if zlib.crc32(data) != crc:
        return CorruptBlockError(
            f"CRC32 mismatch in BGZF block: stored {crc:#010x}, data gives "
            f"{zlib.crc32(data):#010x}; the file is damaged", path=path, offset=offset)
    if len(data) != isize:
        return CorruptBlockError(
            f"ISIZE mismatch in BGZF block: stored {isize}, data inflates to {len(data)} bytes; "
            "the file is damaged", path=path, offset=offset)
    if exc is None:  # CRC32 and ISIZE agree, but not with the deflate data isal saw
        return CorruptBlockError("BGZF block's deflate data does not match its CRC32/ISIZE; "
                                 "the file is damaged", path=path, offset=offset)
    return CorruptBlockError(f"cannot inflate BGZF block ({exc})", path=path, offset=offset)


def _inflate_group(buf, offs, sizes, usizes, join: bool, path, base: int, fn=None):
    """Inflate consecutive blocks of ``buf``; runs on a worker thread.

    With ``fn``, each block's entry is ``(data, fn(data))`` (``fn`` runs on the
    worker thread too; it should release the GIL for its work).

    The raw deflate data is inflated and checked against the CRC32 and ISIZE at the
    end of the block as BSIZE places it (what htslib checks).  Inflating the block
    as a gzip member would check the trailer that follows the deflate stream
    instead, so a damaged BSIZE that swallows later blocks could go unnoticed.
    """
    mv = memoryview(buf)
    out = []
    for o, s, u in zip(offs, sizes, usizes):
        blk = mv[o:o + s]
        try:
            # one byte of room past ISIZE: with an exactly full buffer isal cannot see
            # the end of the stream, grows the buffer (a copy) and shrinks it back
            data = _decompress(blk[12 + (blk[10] | blk[11] << 8):s - 8], flag=_DEFLATE,
                               bufsize=u + 1)
        except _IsalError as exc:
            raise _diagnose(blk, path, base + o, exc) from None
        if len(data) != u or _crc32(data) != _load_le32(blk, s - 8)[0]:
            raise _diagnose(blk, path, base + o, None)
        out.append(data if fn is None else (data, fn(data)))
    if join:
        return out[0] if len(out) == 1 else b"".join(out)
    return out


def _inflate_task(task):
    return _inflate_group(*task[1])


def _open_source(source):
    """Return ``(file object, path or None, owns)`` for a path, file object or ``"-"``."""
    if isinstance(source, (str, bytes, os.PathLike)):
        path = os.fspath(source)
        if path in ("-", b"-"):
            return sys.stdin.buffer, "<stdin>", False
        return open(path, "rb", buffering=0), path, True
    name = getattr(source, "name", None)
    return source, (name if isinstance(name, str) else "<stream>"), False


class Reader:
    """Read a BGZF, gzip or uncompressed file sequentially, inflating on threads.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        The file; ``"-"`` reads standard input.
    threads : int, optional
        Inflate threads; default one per core.  ``1`` inflates inline.
    start : int
        Compressed offset of the first block to read (BGZF only; a block boundary).
    end : int, optional
        Stop before the block that starts at or after this compressed offset.
    uoffset : int
        Uncompressed offset reported for the first byte read (default 0).
    require_bgzf : bool
        Raise :class:`NotBgzfError` unless the file is BGZF.
    check_eof : bool
        Warn with :class:`MissingEofMarkerWarning` when a BGZF file read to its
        end lacks the EOF marker block, as htslib does.

    Examples
    --------
    >>> import genomicframe as gf
    >>> with gf.bgzf.Reader(gf.examples.path("proteins.fa.gz")) as r:
    ...     first = next(r.chunks())
    >>> bytes(first.data[:1])
    b'>'
    """

    def __init__(self, source, *, threads: int | None = None, start: int = 0,
                 end: int | None = None, uoffset: int = 0, require_bgzf: bool = False,
                 check_eof: bool = True, read_size: int = READ_SIZE,
                 group_size: int = GROUP_SIZE) -> None:
        self.threads = resolve_threads(threads)
        self._fh, self.path, self._owns = _open_source(source)
        self.start = int(start)
        self.end = end
        self.uoffset = int(uoffset)
        self.check_eof = check_eof
        self.read_size = int(read_size)
        self.group_size = int(group_size)
        self._head = b""
        try:
            self._init_source(require_bgzf)
        except BaseException:
            self.close()
            raise

    # -- setup -------------------------------------------------------------------------------
    def _init_source(self, require_bgzf: bool) -> None:
        fh = self._fh
        self._fd = None
        try:
            fd = fh.fileno()
            os.lseek(fd, 0, os.SEEK_CUR)
            if isinstance(fh, io.FileIO) or self._owns:
                self._fd = fd
        except (OSError, AttributeError, io.UnsupportedOperation):
            self._fd = None
        if self._fd is not None:
            self._size = os.fstat(self._fd).st_size
            self._head = os.pread(self._fd, 64, 0)
        else:
            self._size = None
            self._head = self._read_stream(64)
        self.compression = detect_compression(self._head, self.path) if self._head else "plain"
        if require_bgzf and self.compression != "bgzf":
            if not self._head:
                raise FormatError("file is empty; expected BGZF-compressed data", path=self.path,
                                  offset=0)
            raise NotBgzfError(
                f"this file is {self.compression}, not BGZF, so it cannot be read at random; "
                "recompress it with `genomicframe bgzip`", path=self.path, offset=0)
        if self.start and self.compression != "bgzf":
            raise NotBgzfError("a start offset needs a BGZF file", path=self.path, offset=0)
        if self.start and self._fd is None:  # the stream path always reads from its start
            raise ValueError("start= needs a file path or a file object with a file descriptor")

    def _read_stream(self, n: int) -> bytes:
        parts = []
        while n > 0:
            b = self._fh.read(n)
            if not b:
                break
            parts.append(b)
            n -= len(b)
        return b"".join(parts)

    # -- resource handling -------------------------------------------------------------------
    def close(self) -> None:
        """Close the underlying file if this reader opened it (idempotent)."""
        fh, self._fh = getattr(self, "_fh", None), None
        if fh is not None and getattr(self, "_owns", False):
            fh.close()

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- compressed input --------------------------------------------------------------------
    def _compressed_buffers(self) -> Iterator[tuple[object, int, bool]]:
        """Yield ``(buffer, file offset of buffer[0], final)`` of compressed bytes."""
        end = self.end
        if self._fd is not None:
            pos = self.start
            limit = self._size if end is None else min(end + (1 << 16), self._size)
            want = self.read_size
            while True:
                n = min(want, limit - pos)
                buf = os.pread(self._fd, n, pos) if n > 0 else b""
                final = pos + len(buf) >= limit
                consumed = yield buf, pos, final
                if final:
                    return
                # no whole block in the buffer (read_size below the block size): read more
                want = self.read_size if consumed else 2 * max(n, 1)
                pos += consumed
        else:
            tail = self._head
            pos = 0
            while True:
                more = self._read_stream(self.read_size)
                buf = tail + more if tail else more
                final = not more
                consumed = yield buf, pos, final
                if final:
                    return
                tail = buf[consumed:]
                pos += consumed

    def _groups(self, join: bool, fn=None):
        """Yield ``(coffsets, uoffset, result)`` for each group of blocks, in file order."""
        scanner = BlockScanner(self.path)
        gen = self._compressed_buffers()
        send = None
        last_block = b""
        end = self.end
        while True:
            try:
                buf, base, final = gen.send(send)
            except StopIteration:
                break
            # with ``end`` the last buffer may stop inside a block past ``end``: that is
            # not truncation, so only the file's real end makes a partial block an error
            at_eof = final and (self._size is None or base + len(buf) >= self._size)
            coff, csize, usize, consumed = scanner.scan(buf, base, at_eof)
            if end is not None and coff and coff[-1] >= end:
                keep = 0
                while keep < len(coff) and coff[keep] < end:
                    keep += 1
                coff, csize, usize = coff[:keep], csize[:keep], usize[:keep]
                final = True
                consumed = coff[-1] - base + csize[-1] if keep else 0
            send = consumed
            n = len(coff)
            if n:
                rel = [c - base for c in coff]
                gsize = self.group_size
                i = acc = 0
                for j in range(n):
                    acc += usize[j]
                    if acc >= gsize or j == n - 1:
                        yield coff[i:j + 1], (buf, rel[i:j + 1], csize[i:j + 1], usize[i:j + 1],
                                              join, self.path, base, fn)
                        i = j + 1
                        acc = 0
                last_block = bytes(memoryview(buf)[rel[-1]:rel[-1] + csize[-1]])
            if final:
                break
        if self.check_eof and end is None and last_block != EOF_MARKER:
            warnings.warn(MissingEofMarkerWarning(
                f"{self.path}: BGZF EOF marker is absent; the file may be truncated"), stacklevel=4)

    def _ordered(self, join: bool, fn=None):
        tasks = self._groups(join, fn)
        for (coffs, _), out in _threads.ordered(_inflate_task, tasks, self.threads, "inflate",
                                                 self.threads * 3):
            yield coffs, out

    # -- gzip and plain input ----------------------------------------------------------------
    def _stream_pieces(self) -> Iterator[bytes]:
        piece = self.group_size
        if self.compression == "plain":
            if self._fd is not None:
                pos = 0
                while True:
                    b = os.pread(self._fd, piece, pos)
                    if not b:
                        return
                    pos += len(b)
                    yield b
            else:
                if self._head:
                    yield self._head
                while True:
                    b = self._fh.read(piece)
                    if not b:
                        return
                    yield b
            return
        from isal import igzip

        if self._fd is not None:
            os.lseek(self._fd, 0, os.SEEK_SET)  # from the start on every pass, like BGZF
            raw = open(self._fd, "rb", closefd=False)
        else:
            raw = _Prefixed(self._head, self._fh)
        gz = igzip.GzipFile(fileobj=raw, mode="rb")
        try:
            while True:
                try:
                    b = gz.read(piece)
                except EOFError as exc:
                    raise TruncatedFileError(
                        f"gzip stream ends early ({exc}); the file is truncated",
                        path=self.path, offset=_tell(raw)) from None
                except (OSError, _IsalError) as exc:
                    raise CorruptBlockError(f"corrupt gzip data ({exc})", path=self.path,
                                            offset=_tell(raw)) from None
                if not b:
                    return
                yield b
        finally:
            gz.close()

    # -- public iteration --------------------------------------------------------------------
    def blocks(self, fn=None) -> Iterator[tuple]:
        """Yield ``(coffset, data)`` for every non-empty block (BGZF only).

        For gzip and plain files ``coffset`` is -1 and ``data`` is a piece of
        about :data:`GROUP_SIZE` bytes.  With ``fn``, yield ``(coffset, data,
        fn(data))`` instead: ``fn`` runs on the inflate thread that produced the
        block (inline for gzip and plain files), so per-block work that releases
        the GIL runs in parallel.
        """
        if self.compression != "bgzf":
            for b in self._stream_pieces():
                if fn is None:
                    yield -1, b
                else:
                    yield -1, b, fn(b)
            return
        if fn is None:
            for coffs, datas in self._ordered(join=False):
                for c, d in zip(coffs, datas):
                    if d:
                        yield c, d
            return
        for coffs, datas in self._ordered(join=False, fn=fn):
            for c, (d, x) in zip(coffs, datas):
                if d:
                    yield c, d, x

    def pieces(self) -> Iterator[tuple[int, bytes]]:
        """Yield ``(uoffset, data)``: inflated groups of blocks (about 1 MiB each)."""
        u = self.uoffset
        if self.compression != "bgzf":
            for b in self._stream_pieces():
                yield u, b
                u += len(b)
            return
        for _, data in self._ordered(join=True):
            if data:
                yield u, data
                u += len(data)

    def _units(self) -> Iterator[tuple[int, bytes]]:
        """``(uoffset, data)`` per BGZF block as inflated (no joining copy), or per piece
        of gzip or plain input."""
        if self.compression != "bgzf":
            yield from self.pieces()
            return
        u = self.uoffset
        for _, datas in self._ordered(join=False):
            for data in datas:
                if data:
                    yield u, data
                    u += len(data)

    def chunks(self, delimiter: bytes = b"\n") -> Iterator[Chunk]:
        """Yield :class:`Chunk` objects that each end just after ``delimiter``.

        Bytes after the last delimiter are carried into the next chunk; a final
        chunk without the delimiter is yielded when the file does not end with one.
        Chunks are zero-copy views of the inflated blocks, except where a line
        crosses a block boundary: that line's pieces are joined.
        """
        d = len(delimiter)
        if d == 0:
            raise ValueError("delimiter must not be empty")
        carry: list = []
        carry_u = 0
        for u, data in self._units():
            first = data.find(delimiter)
            if first < 0:
                if not carry:
                    carry_u = u
                carry.append(data)
                continue
            last = data.rfind(delimiter)
            mv = memoryview(data)
            if carry:
                carry.append(mv[:first + d])
                yield Chunk(memoryview(b"".join(carry)), carry_u)
                carry = []
                if last > first:
                    yield Chunk(mv[first + d:last + d], u + first + d)
            else:
                yield Chunk(mv[:last + d], u)
            if last + d < len(data):
                carry = [mv[last + d:]]
                carry_u = u + last + d
        if carry:
            yield Chunk(memoryview(b"".join(carry)), carry_u)

    def read_all(self) -> bytes:
        """Inflate everything from ``start`` (to ``end``) into one bytes object."""
        return b"".join(d for _, d in self.pieces())


class _Prefixed(io.RawIOBase):
    """A read-only stream that first returns ``head``, then reads from ``fh``."""

    def __init__(self, head: bytes, fh: BinaryIO) -> None:
        self._head = head
        self._fh = fh

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._fh.read(len(b))
        b[:len(data)] = data
        return len(data)


def _tell(fh) -> int | None:
    try:
        return fh.tell()
    except (OSError, ValueError, AttributeError):
        return None
