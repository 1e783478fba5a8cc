"""Whole-line chunks of a text-format fragment (VCF, BED, GFF, SAM, FASTA/FASTQ text).

A :class:`~genomicframe.formats.base.FragmentSpec` names a piece of a file in
one of three ways; :func:`iter_fragment_chunks` turns each into
:class:`TextChunk` objects that hold whole lines only:

* the whole file (``byte_range`` and ``voffset_ranges`` both ``None``): BGZF,
  plain gzip or uncompressed, chosen by the magic bytes;
* ``byte_range=(start, end)``: compressed offsets of whole BGZF blocks (byte
  offsets for an uncompressed file).  A fragment that does not start at 0
  skips through the first newline at or after its start, and every fragment
  reads on past its end through the first newline at or after the end, so
  consecutive ranges partition the lines of the file exactly;
* ``voffset_ranges=((vbeg, vend), ...)``: BGZF virtual-offset chunks from a
  tabix/CSI index, holding the records that start in ``[vbeg, vend)``.
  Overlapping and touching chunks are merged and every block is inflated once.
  Small chunks are grouped, so one :class:`TextChunk` may hold the lines of
  several index chunks, one after the other.

:func:`split_byte_ranges` cuts a file into such byte ranges from BGZF block
headers alone, and :func:`read_header_lines` reads a file's leading header
lines (``#...``) and says where the data starts.

Header lines are the format's business: a whole-file or first fragment
yields them like any other line.

Examples
--------
>>> import os, tempfile
>>> import genomicframe as gf
>>> from genomicframe.formats.base import FragmentSpec
>>> from genomicframe.formats.text import iter_fragment_chunks, split_byte_ranges
>>> path = os.path.join(tempfile.mkdtemp(), "x.txt.gz")
>>> with gf.bgzf.Writer(path, block_size=1000) as w:
...     _ = w.write(b"".join(b"line %d\\n" % i for i in range(1000)))
>>> ranges = split_byte_ranges(path, 2000)
>>> parts = [bytes(c.data) for r in ranges
...          for c in iter_fragment_chunks(FragmentSpec(path, "text", "bgzf", byte_range=r))]
>>> b"".join(parts) == gf.bgzf.open(path).read()
True
"""
from __future__ import annotations

import os
from typing import Iterator, NamedTuple

from ..bgzf.header import block_end
from ..bgzf.reader import GROUP_SIZE, READ_SIZE, Reader, detect_compression
from ..errors import NotBgzfError

__all__ = ["TextChunk", "HeaderLines", "iter_fragment_chunks", "split_byte_ranges",
           "read_header_lines", "merge_voffset_ranges"]

_NL = b"\n"


class TextChunk:
    """Inflated text made of whole lines (the file's last chunk may lack a final newline).

    Attributes
    ----------
    data : memoryview
        The bytes (read-only); never empty.
    line : int or None
        1-based line number of the chunk's first line, when the fragment starts
        at the beginning of the file: 1 for its first chunk, and for the later
        ones when ``count_lines=True`` was asked for.
    uoffset : int or None
        Uncompressed offset of ``data[0]`` in the file, when known (fragments
        that start at the beginning of the file, and uncompressed files).
    voffset : int or None
        BGZF virtual offset (``coffset << 16 | within``) of ``data[0]``;
        ``None`` for plain gzip and uncompressed files.  Computed on first
        access for byte-range reads (from block headers only).
    """

    __slots__ = ("data", "line", "uoffset", "_voffset", "_vmap", "_vu")

    def __init__(self, data, line=None, uoffset=None, voffset=None, vmap=None, vu=None) -> None:
        self.data = data
        self.line = line
        self.uoffset = uoffset
        self._voffset = voffset
        self._vmap = vmap
        self._vu = vu

    @property
    def voffset(self) -> int | None:
        if self._voffset is None and self._vmap is not None:
            self._voffset = self._vmap.voffset(self._vu)
            self._vmap = None
        return self._voffset

    def __len__(self) -> int:
        return len(self.data)

    def __bytes__(self) -> bytes:
        return bytes(self.data)

    def __repr__(self) -> str:
        return (f"TextChunk(size={len(self.data)}, line={self.line}, uoffset={self.uoffset}, "
                f"voffset={self.voffset})")


class _BlockMap:
    """Uncompressed offsets (counted from the block at ``start``) -> virtual offsets.

    Block headers are scanned lazily, a few thousand at a time, only as far as
    the largest offset asked for.
    """

    _STEP = 4096

    def __init__(self, path, start: int) -> None:
        self.path = path
        self.pos = int(start)
        self.ubase = 0
        self.coffs: list[int] = []
        self.ustarts: list[int] = []
        self.size = os.stat(path).st_size

    def _extend(self) -> bool:
        import numpy as np

        from .._parsers import _bgzf
        from ..bgzf.constants import SCAN_FULL, SCAN_OK
        from ..bgzf.reader import _raise_scan

        if self.pos >= self.size:
            return False
        cap = self._STEP
        coffset = np.empty(cap, dtype=np.int64)
        csize = np.empty(cap, dtype=np.int32)
        usize = np.empty(cap, dtype=np.int32)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            status, pos, count, err = _bgzf.scan_fd(fd, self.pos, self.size, coffset, csize,
                                                     usize, 0)
        finally:
            os.close(fd)
        if status not in (SCAN_OK, SCAN_FULL):
            _raise_scan(status, self.path, pos, err)
        u = self.ubase
        for c, n in zip(coffset[:count].tolist(), usize[:count].tolist()):
            if n:
                self.coffs.append(c)
                self.ustarts.append(u)
            u += n
        self.ubase = u
        self.pos = pos
        return count > 0

    def voffset(self, u: int) -> int:
        import bisect

        while u >= self.ubase and self._extend():
            pass
        i = bisect.bisect_right(self.ustarts, u) - 1
        if i < 0:
            raise ValueError(f"uncompressed offset {u} is outside the mapped blocks")
        return (self.coffs[i] << 16) | (u - self.ustarts[i])


def _file_compression(path) -> tuple[str, int]:
    fd = os.open(path, os.O_RDONLY)
    try:
        head = os.pread(fd, 64, 0)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    return (detect_compression(head) if head else "plain"), size


def _chunk_pieces(pieces, *, line, uoffset, vmap=None, rel0: int = 0,
                  count: bool = True) -> Iterator[TextChunk]:
    """Cut ``(bytes, locate)`` pieces into whole-line chunks.

    Offsets are counted from the first piece's first byte, which is at ``rel0``
    in the coordinates of ``uoffset`` (the uncompressed offset of relative 0)
    and ``vmap`` (relative offset -> virtual offset, resolved lazily).
    ``locate(k)``, when a piece has one, gives the virtual offset of its byte
    ``k`` directly.  ``line`` is the first chunk's line number (or ``None``);
    later chunks get theirs by counting newlines when ``count``, else ``None``.
    """
    carry: list = []
    carry_rel = carry_v = 0
    rel = rel0  # relative offset of the current piece's first byte

    def make(buf, a, b, at, v):
        nonlocal line
        view = memoryview(buf)
        if a or b != len(buf):
            view = view[a:b]
        c = TextChunk(view, line, None if uoffset is None else uoffset + at, v,
                      vmap if v is None else None, at)
        if line is not None:
            line = line + buf.count(_NL, a, b) if count else None
        return c

    for data, locate in pieces:
        n = len(data)
        if not n:
            continue
        last = data.rfind(_NL)
        if last < 0:
            if not carry:
                carry_rel = rel
                carry_v = locate(0) if locate else None
            carry.append(data)
            rel += n
            continue
        if carry:
            first = data.find(_NL)
            carry.append(memoryview(data)[:first + 1])
            joined = b"".join(carry)
            yield make(joined, 0, len(joined), carry_rel, carry_v)
            carry = []
            if last > first:
                yield make(data, first + 1, last + 1, rel + first + 1,
                           locate(first + 1) if locate else None)
        else:
            yield make(data, 0, last + 1, rel, locate(0) if locate else None)
        if last + 1 < n:
            carry = [memoryview(data)[last + 1:]]
            carry_rel = rel + last + 1
            carry_v = locate(last + 1) if locate else None
        rel += n
    if carry:
        joined = b"".join(carry)
        yield make(joined, 0, len(joined), carry_rel, carry_v)


# -- byte ranges ---------------------------------------------------------------------------

def _cut_lines(main, tail, skip_first: bool, skipped: list):
    """The line-partition rule over a stream of ``bytes`` pieces.

    ``main`` holds the range's own bytes, ``tail`` what follows its end.  When
    ``skip_first``, drop everything through the first newline (its length is
    stored in ``skipped[0]``); stop after the first newline of ``tail``.
    """
    main = iter(main)
    pending = None
    if skip_first:
        n = 0
        for src, is_tail in ((main, False), (tail, True)):
            for d in src:
                k = d.find(_NL)
                if k < 0:
                    n += len(d)
                    continue
                if is_tail:  # the first newline lies at or past the end: no line starts here
                    return
                n += k + 1
                pending = d[k + 1:]
                break
            else:
                continue
            break
        else:
            return
        skipped[0] = n
    if pending:
        yield pending, None
    for d in main:
        yield d, None
    for d in tail:
        k = d.find(_NL)
        if k < 0:
            yield d, None
            continue
        yield d[:k + 1], None
        return


def _bgzf_range_chunks(path, start, end, size, threads, read_size, group_size, count_lines):
    def main():
        with Reader(path, threads=threads, start=start, end=end, check_eof=False,
                    read_size=read_size, group_size=group_size) as r:
            for _, d in r.pieces():
                yield d

    def tail():
        if end >= size:
            return
        with Reader(path, threads=1, start=end, check_eof=False, read_size=1 << 18,
                    group_size=1 << 16) as r:
            for _, d in r.pieces():
                yield d

    skipped = [0]
    stream = _cut_lines(main(), tail(), start > 0, skipped)
    first = next(stream, None)
    if first is None:
        return
    vmap = _BlockMap(path, start)
    pieces = _prepend(first, stream)
    yield from _chunk_pieces(pieces, line=1 if start == 0 else None,
                             uoffset=0 if start == 0 else None, vmap=vmap, rel0=skipped[0],
                             count=count_lines)


def _prepend(first, rest):
    yield first
    yield from rest


def _plain_range_chunks(path, start, end, size, group_size, count_lines):
    fd = os.open(path, os.O_RDONLY)
    try:
        def read(a, b, step):
            while a < b:
                d = os.pread(fd, min(step, b - a), a)
                if not d:
                    return
                a += len(d)
                yield d

        skipped = [0]
        stream = _cut_lines(read(start, min(end, size), group_size), read(end, size, 1 << 16),
                            start > 0, skipped)
        first = next(stream, None)
        if first is None:
            return
        yield from _chunk_pieces(_prepend(first, stream),
                                 line=1 if start == 0 else None,
                                 uoffset=0, rel0=start + skipped[0], count=count_lines)
    finally:
        os.close(fd)


def _whole_file_chunks(path, compression, threads, read_size, group_size, count_lines):
    with Reader(path, threads=threads, read_size=read_size, group_size=group_size) as r:
        vmap = _BlockMap(path, 0) if compression == "bgzf" else None
        yield from _chunk_pieces(((d, None) for _, d in r.pieces()),
                                 line=1, uoffset=0, vmap=vmap, count=count_lines)


# -- virtual-offset ranges -----------------------------------------------------------------

def merge_voffset_ranges(ranges) -> list[tuple[int, int]]:
    """Sort ``[vbeg, vend)`` chunks, drop empty ones, merge overlapping and touching ones.

    Examples
    --------
    >>> merge_voffset_ranges([(50, 60), (10, 20), (20, 30), (25, 28), (40, 40)])
    [(10, 30), (50, 60)]
    """
    out: list[list[int]] = []
    for b, e in sorted((int(b), int(e)) for b, e in ranges):
        if e <= b:
            continue
        if out and b <= out[-1][1]:
            if e > out[-1][1]:
                out[-1][1] = e
        else:
            out.append([b, e])
    return [(b, e) for b, e in out]


class _BlockSource:
    """Inflate runs of BGZF blocks, remembering the last block so no block is inflated twice."""

    def __init__(self, path, threads, read_size) -> None:
        self.path = path
        self.threads = threads
        self.read_size = read_size
        self.fh = open(path, "rb", buffering=0)
        self.size = os.fstat(self.fh.fileno()).st_size
        self.last = None  # (coffset, data)
        self.inflated = 0

    def close(self) -> None:
        self.fh.close()

    def blocks(self, coffset: int, stop: int | None):
        """Yield ``(coffset, data)`` of non-empty blocks starting in ``[coffset, stop)``."""
        if self.last is not None and self.last[0] == coffset:
            yield self.last
            coffset = block_end(self.fh.fileno(), coffset, self.path)
        if coffset >= self.size or (stop is not None and coffset >= stop):
            return
        with Reader(self.fh, threads=self.threads if stop is None or stop - coffset > 1 << 18
                    else 1, start=coffset, end=stop, check_eof=False,
                    read_size=self.read_size) as r:
            for c, d in r.blocks():
                self.last = (c, d)
                self.inflated += 1
                yield c, d


def _voffset_pieces(src: _BlockSource, merged, group_size: int):
    """Yield ``(bytes, locate)`` groups holding the lines of each merged chunk."""
    import bisect

    parts: list = []
    starts: list[int] = []
    voffs: list[int] = []
    size = 0

    def flush():
        nonlocal parts, starts, voffs, size
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        s, v = starts, voffs

        def locate(k, s=s, v=v):
            i = bisect.bisect_right(s, k) - 1
            return v[i] + (k - s[i])

        parts, starts, voffs, size = [], [], [], 0
        return data, locate

    for vb, ve in merged:
        cb, ub = vb >> 16, vb & 0xFFFF
        ce, ue = ve >> 16, ve & 0xFFFF
        last_byte = None
        for c, d in src.blocks(cb, ce + 1 if ue else ce):
            a = ub if c == cb else 0
            b = min(ue, len(d)) if c == ce else len(d)
            if a >= b:
                continue
            starts.append(size)
            voffs.append((c << 16) | a)
            parts.append(d if (a == 0 and b == len(d)) else d[a:b])
            size += b - a
            last_byte = d[b - 1]
            if size >= group_size:
                yield flush()
        if last_byte is None or last_byte == 10:
            continue
        # the chunk ends inside a line: read on through its newline
        for c, d in src.blocks(ce, None):
            a = ue if c == ce else 0
            if a >= len(d):
                continue
            k = d.find(_NL, a)
            b = len(d) if k < 0 else k + 1
            starts.append(size)
            voffs.append((c << 16) | a)
            parts.append(d[a:b])
            size += b - a
            if k >= 0:
                break
    if parts:
        yield flush()


def _voffset_chunks(path, ranges, threads, read_size, group_size, counters):
    src = _BlockSource(path, threads, read_size)
    try:
        yield from _chunk_pieces(_voffset_pieces(src, merge_voffset_ranges(ranges), group_size),
                                 line=None, uoffset=None)
    finally:
        if counters is not None:
            counters["blocks_inflated"] = counters.get("blocks_inflated", 0) + src.inflated
        src.close()


# -- public API ----------------------------------------------------------------------------

def iter_fragment_chunks(spec, threads: int | None = None, *, read_size: int = READ_SIZE,
                         group_size: int = GROUP_SIZE, count_lines: bool = False,
                         counters: dict | None = None) -> Iterator[TextChunk]:
    """Iterate over whole-line :class:`TextChunk` objects of a text fragment.

    Parameters
    ----------
    spec : FragmentSpec
        ``path`` plus ``byte_range`` / ``voffset_ranges`` (see the module
        docstring for the exact line-partition rules); ``compression`` is not
        trusted, the magic bytes decide.
    threads : int, optional
        Inflate threads (default: one per core).
    read_size, group_size : int
        Compressed bytes per read call, and the approximate size of a chunk.
    count_lines : bool
        Give every chunk of a fragment that starts at the beginning of the file
        its :attr:`TextChunk.line` (a newline count on this thread, ~0.3 ms per
        MB).  Off by default: only the first chunk gets ``line=1``, and parsers
        that count their lines anyway carry the number on.
    counters : dict, optional
        Receives ``"blocks_inflated"`` for ``voffset_ranges`` reads.

    Raises
    ------
    NotBgzfError
        A byte range that does not start at 0, or index chunks, asked of a file
        that is not BGZF (plain gzip cannot be split).
    """
    path = os.fspath(spec.path)
    if spec.voffset_ranges is not None:
        compression, _ = _file_compression(path)
        if compression != "bgzf":
            raise NotBgzfError(f"index chunks need a BGZF file, but this one is {compression}; "
                               "recompress it with `genomicframe bgzip`", path=path)
        return _voffset_chunks(path, spec.voffset_ranges, threads, read_size, group_size,
                               counters)
    compression, size = _file_compression(path)
    br = spec.byte_range
    if br is None or (compression == "gzip" and br[0] == 0):
        return _whole_file_chunks(path, compression, threads, read_size, group_size, count_lines)
    start, end = int(br[0]), int(br[1])
    if start < 0 or end < start:
        raise ValueError(f"bad byte range {br!r}")
    if compression == "gzip":
        raise NotBgzfError("plain gzip cannot be split into byte ranges; read it whole or "
                           "recompress it with `genomicframe bgzip`", path=path, offset=start)
    if compression == "plain":
        return _plain_range_chunks(path, start, end, size, group_size, count_lines)
    if start == 0 and end >= size:
        return _whole_file_chunks(path, compression, threads, read_size, group_size, count_lines)
    return _bgzf_range_chunks(path, start, end, size, threads, read_size, group_size,
                              count_lines)


def split_byte_ranges(path, target_size: int = 64 << 20) -> list[tuple[int, int]]:
    """Cut a file into ``[start, end)`` ranges of about ``target_size`` compressed bytes.

    BGZF ranges start at data blocks (found from block headers alone, nothing
    is inflated); a plain gzip file is one range (it cannot be split); an
    uncompressed file is cut at byte offsets.  The ranges cover the file, in
    order, and with :func:`iter_fragment_chunks` they partition its lines.
    """
    path = os.fspath(path)
    target_size = int(target_size)
    if target_size < 1:
        raise ValueError(f"target_size must be positive, got {target_size}")
    compression, size = _file_compression(path)
    if compression == "gzip" or size == 0:
        return [(0, size)]
    if compression == "plain":
        cuts = list(range(0, size, target_size)) + [size]
        return list(zip(cuts[:-1], cuts[1:]))
    import numpy as np

    from ..bgzf.blocks import scan_file

    table = scan_file(path)
    data = table.coffset[table.usize > 0]
    if len(data) == 0:
        return [(0, size)]
    wanted = np.arange(target_size, size, target_size, dtype=np.int64)
    idx = np.searchsorted(data, wanted)
    cuts = sorted({int(c) for c in data[idx[idx < len(data)]]})  # np.unique imports numpy.ma
    bounds = [0] + [c for c in cuts if c > 0] + [size]
    return list(zip(bounds[:-1], bounds[1:]))


class HeaderLines(NamedTuple):
    """The leading header lines of a text file and where its data starts."""

    #: the header lines, newlines included
    text: bytes
    #: number of header lines
    lines: int
    #: uncompressed offset of the first data line (``len(text)``)
    uoffset: int
    #: BGZF virtual offset of the first data line (``None`` unless BGZF)
    voffset: int | None


def read_header_lines(path, prefix: bytes = b"#") -> HeaderLines:
    """Read the lines at the top of ``path`` that start with ``prefix``, and no further.

    Inflates only the blocks that hold the header (plus the first data block).

    Examples
    --------
    >>> import os, tempfile
    >>> import genomicframe as gf
    >>> path = os.path.join(tempfile.mkdtemp(), "x.vcf.gz")
    >>> with gf.bgzf.Writer(path) as w:
    ...     _ = w.write(b"##fileformat=VCFv4.2\\n#CHROM\\tPOS\\nchr1\\t5\\n")
    >>> h = read_header_lines(path)
    >>> h.lines, h.uoffset, h.voffset
    (2, 32, 32)
    """
    path = os.fspath(path)
    plen = len(prefix)
    buf = bytearray()
    blocks: list[tuple[int, int, int]] = []  # (coffset, start in buf, length)
    pos = 0
    data_start = None
    next_coff = None
    with Reader(path, threads=1, read_size=1 << 20, group_size=1 << 16, check_eof=False) as r:
        bgzf = r.compression == "bgzf"
        it = r.blocks()
        for coff, d in it:
            blocks.append((coff, len(buf), len(d)))
            buf += d
            while True:
                rest = len(buf) - pos
                if rest < plen:
                    if not prefix.startswith(bytes(buf[pos:])):
                        data_start = pos
                    break
                if buf[pos:pos + plen] != prefix:
                    data_start = pos
                    break
                k = buf.find(_NL, pos)
                if k < 0:
                    break
                pos = k + 1
            if data_start is not None:
                break
        else:
            tail = bytes(buf[pos:])
            data_start = len(buf) if (not tail or tail.startswith(prefix)) else pos
        if bgzf and data_start == len(buf):
            for coff, _ in it:
                next_coff = coff
                break
    text = bytes(buf[:data_start])
    lines = text.count(_NL) + (1 if text and not text.endswith(_NL) else 0)
    voffset = None
    if bgzf:
        if next_coff is not None:
            voffset = next_coff << 16
        elif blocks:
            for coff, s, n in blocks:  # noqa: B007 -- the match is used after the loop
                if s <= data_start < s + n:
                    break
            voffset = (coff << 16) | (data_start - s)
        else:
            voffset = 0
    return HeaderLines(text, lines, data_start, voffset)
