"""Tabix (``.tbi``) and CSI (``.csi``) indexes of BGZF-compressed, position-sorted text files.

Both map a region to the BGZF virtual-offset chunks that can hold records
overlapping it.  A ``.tbi`` fixes the binning (16 kb windows, 5 levels) and
carries a linear index; a ``.csi`` stores its binning parameters and a
per-bin lowest offset (``loffset``) instead, and keeps the tabix header
(columns, comment character, sequence names) in its auxiliary field.

:meth:`TabixIndex.query` follows htslib's iterator: the chunks of every bin that can overlap the region, minus
those that end before the first record that can overlap it (found through the
linear index / ``loffset``) and those that start after the first record known
to start past the region.  For tabix the lower bound is also taken from the
linear index at the region's first window (as htslib before 1.10 did), which
is never looser and often much tighter, so the candidates are htslib's or
fewer, and always include every overlapping record.  Chunks are merged, so
each record is listed once.

All coordinates are 0-based, half-open.

Examples
--------
>>> import genomicframe as gf
>>> idx = read_index("calls.vcf.gz.tbi")                      # doctest: +SKIP
>>> idx.names[:2], idx.preset                                 # doctest: +SKIP
(['chr1', 'chr2'], 'vcf')
>>> idx.query("chr1", 1_000_000, 1_010_000)                    # doctest: +SKIP
[(1834226, 2424832)]
"""
from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass

import numpy as np

from ..errors import IndexFileError
from . import binning

__all__ = ["TabixIndex", "RefIndex", "read_index", "parse_index"]

_TBI_MAGIC = b"TBI\x01"
_CSI_MAGIC = b"CSI\x01"
_PRESETS = {0: "generic", 1: "sam", 2: "vcf"}
_UCSC = 0x10000  # format flag: coordinates are 0-based half-open (BED-like)
_NO_OFFSET = np.iinfo(np.int64).max


@dataclass(frozen=True)
class RefIndex:
    """The index of one reference sequence (arrays sorted by bin number).

    Attributes
    ----------
    bins : ndarray[int64]
        Bin numbers present (pseudo-bin excluded).
    loff : ndarray[int64]
        Lowest virtual offset of a record overlapping each bin's first window
        (CSI ``loffset``; for tabix derived from the linear index; 0 = unknown).
    chunk_start, chunk_count : ndarray[int64]
        Each bin's slice of ``chunk_beg``/``chunk_end``.
    chunk_beg, chunk_end : ndarray[int64]
        ``[begin, end)`` virtual offsets of the chunks.
    linear : ndarray[int64]
        Tabix linear index (lowest offset per 16 kb window, gaps filled); empty for CSI.
    span : tuple[int, int] or None
        ``(first, last)`` virtual offsets of the reference's records, from the pseudo-bin.
    counts : tuple[int, int] or None
        ``(mapped, unmapped)`` record counts from the pseudo-bin.
    """

    bins: np.ndarray
    loff: np.ndarray
    chunk_start: np.ndarray
    chunk_count: np.ndarray
    chunk_beg: np.ndarray
    chunk_end: np.ndarray
    linear: np.ndarray
    span: tuple | None
    counts: tuple | None

    def _find(self, b: int) -> int:
        i = int(np.searchsorted(self.bins, b))
        return i if i < len(self.bins) and int(self.bins[i]) == b else -1

    def chunks(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """``(beg, end)`` arrays of bin ``b``'s chunks (empty when absent)."""
        i = self._find(b)
        if i < 0:
            return self.chunk_beg[:0], self.chunk_end[:0]
        s, n = int(self.chunk_start[i]), int(self.chunk_count[i])
        return self.chunk_beg[s:s + n], self.chunk_end[s:s + n]


class TabixIndex:
    """A parsed ``.tbi`` or ``.csi`` index.  Build with :func:`read_index` or :func:`parse_index`.

    Attributes
    ----------
    kind : str
        ``"tbi"`` or ``"csi"``.
    min_shift, depth : int
        Binning parameters (14 and 5 for tabix).
    format : int
        Raw tabix format field (0 generic, 1 SAM, 2 VCF; ``0x10000`` = 0-based).
    col_seq, col_beg, col_end : int
        1-based columns of the sequence name, start and end (0 = none).
    meta : str
        Comment character: lines starting with it are not records.
    skip : int
        Number of leading lines to skip.
    names : list[str]
        Sequence names in index order.
    refs : list[RefIndex]
    n_no_coor : int or None
        Records without coordinates, when recorded.
    """

    def __init__(self, *, kind, min_shift, depth, format, col_seq, col_beg, col_end, meta, skip,
                 names, refs, n_no_coor, path=None) -> None:
        self.kind = kind
        self.min_shift = min_shift
        self.depth = depth
        self.format = format
        self.col_seq = col_seq
        self.col_beg = col_beg
        self.col_end = col_end
        self.meta = meta
        self.skip = skip
        self.names = names
        self.refs = refs
        self.n_no_coor = n_no_coor
        self.path = path
        self._tid = {n: i for i, n in enumerate(names)}

    def __repr__(self) -> str:
        return (f"TabixIndex(kind={self.kind!r}, preset={self.preset!r}, "
                f"n_ref={len(self.names)}, min_shift={self.min_shift}, depth={self.depth})")

    @property
    def preset(self) -> str:
        """``"vcf"``, ``"sam"`` or ``"generic"`` (BED, GFF, ... are generic)."""
        return _PRESETS.get(self.format & 0xFFFF, "generic")

    @property
    def zero_based(self) -> bool:
        """True when the indexed start column is 0-based (the ``-0``/UCSC flag, e.g. BED)."""
        return bool(self.format & _UCSC)

    @property
    def max_position(self) -> int:
        """Largest coordinate the binning scheme can index (exclusive)."""
        return binning.max_span(self.min_shift, self.depth)

    def tid(self, chrom: str) -> int:
        """Index of ``chrom``, or -1 when the index has no records for it."""
        return self._tid.get(chrom, -1)

    def record_count(self, chrom: str) -> int | None:
        """Number of records on ``chrom`` recorded in the pseudo-bin (``None`` if absent)."""
        t = self.tid(chrom)
        if t < 0:
            return 0
        counts = self.refs[t].counts
        return None if counts is None else counts[0] + counts[1]

    # -- queries -------------------------------------------------------------------------------
    def _min_offset(self, ref: RefIndex, beg: int) -> int:
        """Lowest offset a record overlapping ``beg`` can have (0 = no bound)."""
        b = binning.first_bin(self.depth) + (beg >> self.min_shift)
        while b > 0:
            if ref._find(b) >= 0:
                break
            first_sibling = (binning.parent_bin(b) << 3) + 1
            b = b - 1 if b > first_sibling else binning.parent_bin(b)
        i = ref._find(b)
        lo = int(ref.loff[i]) if i >= 0 else 0
        if len(ref.linear):
            # tabix: the linear index at the region's own window is a tighter bound than the
            # bin htslib walks to (that bin may start megabases earlier after htslib folded
            # small bins into their parents); every record overlapping ``beg`` lies after it
            lo = max(lo, int(ref.linear[min(beg >> self.min_shift, len(ref.linear) - 1)]))
        return lo

    def _max_offset(self, ref: RefIndex, end: int) -> int:
        """An offset at or after which every record starts at or past ``end``."""
        b = binning.first_bin(self.depth) + ((end - 1) >> self.min_shift) + 1
        if b >= binning.n_bins(self.depth):
            b = 0
        while True:
            while b % 8 == 1:  # a first child: everything right of here is in the parent
                b = binning.parent_bin(b)
            if b == 0:
                return _NO_OFFSET
            cb, _ = ref.chunks(b)
            if len(cb):
                return int(cb.min())
            b += 1

    def query_arrays(self, chrom: str, start: int = 0, end: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Unmerged candidate chunks ``(beg, end)`` for ``[start, end)`` on ``chrom``."""
        t = self.tid(chrom)
        empty = np.zeros(0, dtype=np.int64)
        if t < 0:
            return empty, empty
        ref = self.refs[t]
        limit = self.max_position
        start = max(0, int(start))
        end = limit if end is None else min(int(end), limit)
        if end <= start or not len(ref.bins):
            return empty, empty
        if start == 0 and end == limit:
            sel = np.arange(len(ref.bins))
        else:
            want = binning.reg2bins(start, end, self.min_shift, self.depth)
            idx = np.searchsorted(ref.bins, want)
            ok = idx < len(ref.bins)
            ok[ok] = ref.bins[idx[ok]] == want[ok]
            sel = idx[ok]
        counts = ref.chunk_count[sel]
        total = int(counts.sum())
        if total == 0:
            return empty, empty
        first = ref.chunk_start[sel]
        offs = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        flat = np.repeat(first, counts) + offs
        cb = ref.chunk_beg[flat]
        ce = ref.chunk_end[flat]
        lo = self._min_offset(ref, start) if start > 0 else 0
        hi = self._max_offset(ref, end) if end < limit else _NO_OFFSET
        keep = (ce > lo) & (cb < hi)
        return np.maximum(cb[keep], lo), np.minimum(ce[keep], hi)

    def query(self, chrom: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """Merged ``[vbeg, vend)`` chunks holding every record that overlaps ``[start, end)``.

        ``end=None`` means the end of ``chrom``.  Records in the chunks may lie
        outside the region: filter them after parsing.  An unknown ``chrom``
        gives ``[]``.
        """
        return merge_chunks(*self.query_arrays(chrom, start, end))

    def query_many(self, regions) -> list[tuple[int, int]]:
        """Merged chunks for several ``(chrom, start, end)`` regions; each record appears once."""
        begs, ends = [], []
        for chrom, start, end in regions:
            b, e = self.query_arrays(chrom, start, end)
            begs.append(b)
            ends.append(e)
        if not begs:
            return []
        return merge_chunks(np.concatenate(begs), np.concatenate(ends))


def merge_chunks(beg: np.ndarray, end: np.ndarray) -> list[tuple[int, int]]:
    """Sort chunks and merge overlapping or touching ones (vectorised).

    Examples
    --------
    >>> merge_chunks(np.array([30, 0, 10, 50]), np.array([40, 10, 20, 45]))
    [(0, 20), (30, 40)]
    """
    beg = np.asarray(beg, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    keep = end > beg
    beg, end = beg[keep], end[keep]
    if not len(beg):
        return []
    order = np.lexsort((end, beg))
    beg, end = beg[order], end[order]
    reach = np.maximum.accumulate(end)
    new = np.ones(len(beg), dtype=bool)
    new[1:] = beg[1:] > reach[:-1]
    starts = np.flatnonzero(new)
    stops = np.append(starts[1:], len(beg)) - 1
    return list(zip(beg[starts].tolist(), reach[stops].tolist()))


# -- parsing -----------------------------------------------------------------------------------

def _bad(path, what: str) -> IndexFileError:
    return IndexFileError(f"{what}; the index is damaged or not a tabix/CSI index (rebuild it "
                          "with `genomicframe index FILE` or `tabix -f -p vcf FILE`, or delete it)", path=path)


def _parse_names(blob: bytes, n_ref: int, path) -> list[str]:
    names = blob.split(b"\0")
    if names and names[-1] == b"":
        names.pop()
    if len(names) != n_ref:
        raise _bad(path, f"header names {len(names)} sequences but the index has {n_ref}")
    return [n.decode("utf-8", "replace") for n in names]


def _parse_tabix_header(buf, pos: int, path):
    fmt, col_seq, col_beg, col_end, meta, skip, l_nm = struct.unpack_from("<7i", buf, pos)
    pos += 28
    names_blob = bytes(buf[pos:pos + l_nm])
    if len(names_blob) != l_nm:
        raise _bad(path, "index ends inside the sequence names")
    return dict(format=fmt, col_seq=col_seq, col_beg=col_beg, col_end=col_end,
                meta=chr(meta) if 0 < meta < 256 else "", skip=skip), names_blob, pos + l_nm


def _parse_ref(buf, raw: np.ndarray, pos: int, csi: bool, pseudo: int, depth: int):
    """Parse one reference's bins (and linear index for tabix); return ``(RefIndex, pos)``."""
    (n_bin,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    if n_bin < 0:
        raise ValueError("negative bin count")
    bins, loffs, cpos, ccount = [], [], [], []
    span = counts = None
    unpack_bin = struct.Struct("<IQi" if csi else "<Ii").unpack_from
    head = 16 if csi else 8
    for _ in range(n_bin):
        if csi:
            b, lo, n = unpack_bin(buf, pos)
        else:
            b, n = unpack_bin(buf, pos)
            lo = 0
        pos += head
        if n < 0:
            raise ValueError("negative chunk count")
        if b == pseudo:
            if n >= 2:
                a, z, m, u = struct.unpack_from("<4Q", buf, pos)
                span, counts = (a, z), (m, u)
        else:
            bins.append(b)
            loffs.append(lo)
            cpos.append(pos)
            ccount.append(n)
        pos += 16 * n
    if pos > len(buf):
        raise ValueError("chunks run past the end")
    linear = np.zeros(0, dtype=np.int64)
    if not csi:
        (n_intv,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        if n_intv < 0 or pos + 8 * n_intv > len(buf):
            raise ValueError("bad linear index size")
        linear = np.frombuffer(buf, dtype="<u8", count=n_intv, offset=pos).astype(np.int64)
        pos += 8 * n_intv
    bins_a = np.asarray(bins, dtype=np.int64)
    order = np.argsort(bins_a, kind="stable")
    count_a = np.asarray(ccount, dtype=np.int64)
    total = int(count_a.sum())
    if total:
        starts = np.repeat(np.asarray(cpos, dtype=np.int64), count_a) + 16 * (
            np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(count_a) - count_a, count_a))
        pairs = raw[starts[:, None] + np.arange(16)].copy().view("<u8").astype(np.int64)
        cbeg, cend = pairs[:, 0].copy(), pairs[:, 1].copy()
    else:
        cbeg = cend = np.zeros(0, dtype=np.int64)
    cstart = np.cumsum(count_a) - count_a
    bins_s = bins_a[order]
    if csi:
        loff = np.asarray(loffs, dtype=np.int64)[order]
    else:
        linear = _fill_linear(linear, span)
        loff = _loff_from_linear(bins_s, linear, depth)
    ref = RefIndex(bins_s, loff, cstart[order], count_a[order], cbeg, cend, linear, span, counts)
    return ref, pos


def _fill_linear(linear: np.ndarray, span) -> np.ndarray:
    """Fill empty linear-index windows: leading ones with the first record, others forward."""
    if not len(linear):
        return linear
    out = linear.copy()
    empty = out == 0
    if not empty.any():
        return out
    idx = np.where(~empty, np.arange(len(out)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = out[idx]
    lead = ~np.maximum.accumulate(~empty)
    out[lead] = span[0] if span is not None else 0
    return out


def _loff_from_linear(bins: np.ndarray, linear: np.ndarray, depth: int) -> np.ndarray:
    """Per-bin lowest offset: the linear index at the bin's first window (0 beyond it)."""
    if not len(bins):
        return np.zeros(0, dtype=np.int64)
    firsts = np.array([binning.first_bin(level) for level in range(depth + 2)], dtype=np.int64)
    level = np.searchsorted(firsts, bins, side="right") - 1
    window = (bins - firsts[level]) << (3 * (depth - level))
    loff = np.zeros(len(bins), dtype=np.int64)
    inside = window < len(linear)
    loff[inside] = linear[window[inside]]
    return loff


def parse_index(data: bytes, path=None) -> TabixIndex:
    """Parse the inflated bytes of a ``.tbi`` or ``.csi`` file."""
    buf = memoryview(data)
    raw = np.frombuffer(data, dtype=np.uint8)
    magic = bytes(buf[:4])
    try:
        if magic == _TBI_MAGIC:
            (n_ref,) = struct.unpack_from("<i", buf, 4)
            header, names_blob, pos = _parse_tabix_header(buf, 8, path)
            kind, min_shift, depth = "tbi", 14, 5
        elif magic == _CSI_MAGIC:
            min_shift, depth, l_aux = struct.unpack_from("<3i", buf, 4)
            aux_pos = 16
            pos = aux_pos + l_aux
            (n_ref,) = struct.unpack_from("<i", buf, pos)
            pos += 4
            if l_aux >= 28:
                header, names_blob, _ = _parse_tabix_header(buf, aux_pos, path)
            else:  # a CSI without the tabix header (e.g. for BAM): no names
                header = dict(format=0, col_seq=1, col_beg=2, col_end=3, meta="#", skip=0)
                names_blob = b"\0".join(str(i).encode() for i in range(n_ref)) + b"\0"
            kind = "csi"
            if not (0 <= min_shift < 32 and 0 <= depth < 12):
                raise _bad(path, f"implausible CSI binning (min_shift={min_shift}, depth={depth})")
        else:
            raise _bad(path, f"unknown magic {magic!r}")
        if n_ref < 0:
            raise _bad(path, "negative number of sequences")
        names = _parse_names(names_blob, n_ref, path)
        pseudo = binning.pseudo_bin(depth)
        refs = []
        for _ in range(n_ref):
            ref, pos = _parse_ref(buf, raw, pos, kind == "csi", pseudo, depth)
            refs.append(ref)
        n_no_coor = None
        if pos + 8 <= len(buf):
            (n_no_coor,) = struct.unpack_from("<Q", buf, pos)
    except (struct.error, ValueError, IndexError) as exc:
        if isinstance(exc, IndexFileError):
            raise
        raise _bad(path, f"truncated or malformed index ({exc})") from None
    return TabixIndex(kind=kind, min_shift=min_shift, depth=depth, names=names, refs=refs,
                      n_no_coor=n_no_coor, path=path, **header)


def _inflate(path) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] != b"\x1f\x8b":
        return data  # an uncompressed index
    from isal import igzip

    try:
        return igzip.decompress(data)
    except (OSError, EOFError, ValueError) as exc:
        raise _bad(path, f"cannot inflate the index ({exc})") from None


@functools.lru_cache(maxsize=32)
def _cached(path: str, mtime_ns: int, size: int) -> TabixIndex:
    return parse_index(_inflate(path), path=path)


def read_index(path) -> TabixIndex:
    """Read a ``.tbi`` or ``.csi`` file (cached while the file is unchanged).

    Raises
    ------
    FileNotFoundError
        No such file.
    IndexFileError
        The file is not a valid tabix/CSI index.
    """
    path = os.fspath(path)
    st = os.stat(path)
    return _cached(os.path.abspath(path), st.st_mtime_ns, st.st_size)
