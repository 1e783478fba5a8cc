"""BGZF compression with ISA-L on a thread pool.

Output is standard BGZF: gzip members of at most 64 KiB carrying the ``BC``
extra field, each holding at most 65 280 uncompressed bytes (as htslib
writes them), followed by the 28-byte EOF marker.  htslib reads it back
(``bgzip -t`` passes) and an optional ``.gzi`` is written alongside.
"""
from __future__ import annotations

import os
import struct
import sys
import threading
from collections import deque

from isal import isal_zlib

from .constants import EOF_MARKER, MAX_BLOCK_DATA
from .reader import _pool, resolve_threads

__all__ = ["Writer", "compress", "isal_level"]

_HEADER = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
_pack_bsize = struct.Struct("<H").pack
_pack_trailer = struct.Struct("<II").pack
_crc32 = isal_zlib.crc32
_deflate = isal_zlib.compress


def isal_level(level: int) -> int:
    """Map an htslib/zlib level (-1, 0–9) onto ISA-L's (``None`` = stored, 0–3).

    0 stores blocks uncompressed, as htslib does; 1 is ISA-L level 0, 2–3 level 1,
    4–6 and the default -1 level 2, 7–9 level 3 (ISA-L's best).

    Examples
    --------
    >>> [isal_level(x) for x in (-1, 0, 1, 3, 6, 9)]
    [2, None, 0, 1, 2, 3]
    """
    level = int(level)
    if level < -1 or level > 9:
        raise ValueError(f"compression level must be -1 or 0-9, got {level}")
    if level == 0:
        return None
    if level == -1:
        return 2
    return (0, 0, 1, 1, 2, 2, 2, 3, 3, 3)[level]


# python-isal's helper for its threaded gzip writer: deflate with a sync flush and CRC32
# in one call that releases the GIL (the one-shot ``compress`` holds it).  Private API,
# so fall back to ``compress`` + ``crc32`` when a release lacks it.
_ParallelCompress = getattr(isal_zlib, "_ParallelCompress", None)
_local = threading.local()
# a final, empty fixed-Huffman deflate block: closes a sync-flushed stream
_FINAL_EMPTY = b"\x03\x00"


def _deflate_crc(piece, level: int):
    """Raw deflate stream of ``piece`` and its CRC32."""
    if _ParallelCompress is None:
        return _deflate(piece, level, -15), _crc32(piece)
    cache = getattr(_local, "compressors", None)
    if cache is None:
        cache = _local.compressors = {}
    comp = cache.get(level)
    if comp is None:
        comp = cache[level] = _ParallelCompress(1 << 17, level)
    cdata, crc = comp.compress_and_crc(piece, b"")
    return cdata + _FINAL_EMPTY, crc


def _stored(piece) -> bytes:
    n = len(piece)
    return b"\x01" + struct.pack("<HH", n, n ^ 0xFFFF) + bytes(piece)


def _block(piece, level) -> bytes:
    n = len(piece)
    if level is None:
        cdata, crc = _stored(piece), _crc32(piece)
    else:
        cdata, crc = _deflate_crc(piece, level)
        if len(cdata) > 65536 - 26:  # incompressible: store it
            cdata = _stored(piece)
    return b"".join((_HEADER, _pack_bsize(len(cdata) + 25), cdata, _pack_trailer(crc, n)))


def _compress_group(data, starts, stops, level):
    """Compress ``data[starts[i]:stops[i]]`` into blocks; runs on a worker thread."""
    mv = memoryview(data)
    blocks = [_block(mv[a:b], level) for a, b in zip(starts, stops)]
    return b"".join(blocks), [len(b) for b in blocks]


def compress(data, level: int = -1, threads: int | None = 1) -> bytes:
    """Compress bytes into a complete BGZF file (EOF marker included).

    Examples
    --------
    >>> import genomicframe as gf
    >>> gf.bgzf.decompress(gf.bgzf.compress(b"hello\\n"))
    b'hello\\n'
    """
    import io

    out = io.BytesIO()
    with Writer(out, level=level, threads=threads) as w:
        w.write(data)
    return out.getvalue()


class Writer:
    """Write BGZF, compressing blocks on a thread pool.

    Parameters
    ----------
    target : str, os.PathLike or binary file object
        Where to write; ``"-"`` is standard output.
    level : int
        htslib-style level: -1 (default), 0 (store) to 9; see :func:`isal_level`.
    threads : int, optional
        Compression threads (default: one per core).
    index : str, os.PathLike or bool, optional
        Write a ``.gzi`` when closing: ``True`` for ``<target>.gzi``, or a path.
    block_size : int
        Uncompressed bytes per block (at most 65 280, htslib's choice).

    Examples
    --------
    >>> import genomicframe as gf, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.txt.gz")
    >>> with gf.bgzf.Writer(path, index=True) as w:
    ...     _ = w.write(b"line 1\\nline 2\\n")
    >>> gf.bgzf.open(path).read()
    b'line 1\\nline 2\\n'
    """

    def __init__(self, target, *, level: int = -1, threads: int | None = None,
                 index=None, block_size: int = MAX_BLOCK_DATA) -> None:
        if not 1 <= block_size <= MAX_BLOCK_DATA:
            raise ValueError(f"block_size must be in 1..{MAX_BLOCK_DATA}")
        self._level = isal_level(level)
        self.threads = resolve_threads(threads)
        self.block_size = int(block_size)
        if isinstance(target, (str, bytes, os.PathLike)):
            path = os.fspath(target)
            if path in ("-", b"-"):
                self._fh, self.path, self._owns = sys.stdout.buffer, "<stdout>", False
            else:
                self._fh, self.path, self._owns = open(path, "wb"), path, True
        else:
            self._fh, self.path, self._owns = target, getattr(target, "name", "<stream>"), False
        if index is True:
            if not self._owns:
                raise ValueError("index=True needs a file path; pass the .gzi path instead")
            index = self.path + ".gzi"
        self._index_path = os.fspath(index) if index else None
        self._pending = bytearray()
        self._inflight: deque = deque()
        self._written = 0  # compressed bytes written so far
        self._csizes: list[int] = []
        self._usizes: list[int] = []
        self.closed = False
        # batch enough blocks that each task is worth a thread hop
        self._batch = self.block_size * (16 if self.threads > 1 else 64)

    # -- io protocol -------------------------------------------------------------------------
    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def write(self, data) -> int:
        """Compress ``data`` in blocks; a partial block waits for more data.

        ``bytes`` of at least a batch are compressed straight from the caller's
        object (they cannot change under the worker threads); other buffers are
        copied once.
        """
        if self.closed:
            raise ValueError("write to a closed BGZF writer")
        mv = memoryview(data)
        if mv.ndim != 1 or mv.itemsize != 1:
            mv = mv.cast("B")
        n = mv.nbytes
        pend = self._pending
        if not pend and n >= self._batch and type(data) is bytes:
            full = n - n % self.block_size
            self._queue(data, 0, full)
            if full < n:
                pend += mv[full:]
            return n
        pend += mv
        if len(pend) >= self._batch:
            self._submit(final=False)
        return n

    def tell(self) -> int:
        """Virtual offset (``coffset << 16 | uoffset``) at which the next byte will land."""
        self._submit(final=False)
        self._drain(0)
        if len(self._pending) == self.block_size:
            self._submit(final=True)
            self._drain(0)
        return (self._written << 16) | len(self._pending)

    def flush(self) -> None:
        """End the current block (even if short) and write everything out."""
        self._submit(final=True)
        self._drain(0)
        self._fh.flush()

    def close(self) -> None:
        """Flush, write the EOF marker (and the .gzi), close the file if owned."""
        if self.closed:
            return
        self.closed = True
        try:
            self._submit(final=True)
            self._drain(0)
            self._fh.write(EOF_MARKER)
            self._written += len(EOF_MARKER)
            self._csizes.append(len(EOF_MARKER))
            self._usizes.append(0)
            self._fh.flush()
        finally:
            if self._owns:
                self._fh.close()
        if self._index_path:
            from .gzi import write_gzi

            write_gzi(self._index_path, self.block_sizes())

    def block_sizes(self):
        """``(csize, usize)`` lists of the blocks written so far."""
        return self._csizes, self._usizes

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:  # do not mask the original error with a half-written EOF
            self.closed = True
            if self._owns:
                self._fh.close()

    # -- machinery ---------------------------------------------------------------------------
    def _submit(self, final: bool) -> None:
        """Compress the whole blocks (all of it when ``final``) waiting in ``_pending``."""
        pend = self._pending
        n = len(pend) if final else len(pend) - len(pend) % self.block_size
        if n == 0:
            return
        with memoryview(pend) as view:
            data = view[:n].tobytes()
        del pend[:n]
        self._queue(data, 0, n)

    def _queue(self, data: bytes, lo: int, hi: int) -> None:
        """Compress ``data[lo:hi]`` as consecutive blocks, in batches, in order."""
        bs = self.block_size
        step = self._batch
        for g in range(lo, hi, step):
            top = min(g + step, hi)
            starts = list(range(g, top, bs))
            stops = [min(a + bs, top) for a in starts]
            usz = [b - a for a, b in zip(starts, stops)]
            if self.threads == 1:
                self._emit(_compress_group(data, starts, stops, self._level), usz)
            else:
                fut = _pool(self.threads).submit(_compress_group, data, starts, stops, self._level)
                self._inflight.append((fut, usz))
                self._drain(self.threads * 2)

    def _drain(self, keep: int) -> None:
        while len(self._inflight) > keep:
            fut, usz = self._inflight.popleft()
            self._emit(fut.result(), usz)

    def _emit(self, result, usz) -> None:
        blob, csz = result
        self._fh.write(blob)
        self._written += len(blob)
        self._csizes.extend(csz)
        self._usizes.extend(usz)
