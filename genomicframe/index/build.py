"""Build a tabix (``.tbi``) or CSI (``.csi``) index for a position-sorted BGZF VCF or BED file.

One pass over the file: whole-line chunks are inflated on threads, newlines
and tabs are found with numpy, and each record's contig, start, end and
virtual offset come out as arrays; bins, chunks and the linear index are then
computed vectorised.  The result is read by htslib (``tabix``, pysam) and by
:func:`genomicframe.index.read_index`.

Record extents follow tabix: VCF ``[POS-1, POS-1+len(REF))``, or up to INFO
``END`` when it is larger; BED ``[start, end)`` from columns 2 and 3.  Lines
starting with ``#`` (and, for BED, ``track``/``browser`` lines) are skipped.

htslib additionally folds bins whose chunks all sit in one 64 KiB stretch of
the file into their parent ("compressed binning"), which only makes its index
smaller; queries return the same records.
"""
from __future__ import annotations

import os
import re
import struct

import numpy as np

from ..errors import FormatError
from . import binning

__all__ = ["write_index", "PRESETS"]

#: preset -> (format field, col_seq, col_beg, col_end, meta character)
PRESETS = {"vcf": (2, 1, 2, 0, "#"), "bed": (0x10000, 1, 2, 3, "#")}

_END = re.compile(rb"END=(\d+)")  # a literal prefix: re scans with a fast search
_DIGITS = np.arange(20, dtype=np.int64)


def _parse_ints(data: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decimal integers in ``data[lo:hi]`` for every pair; also a per-field ok mask."""
    width = hi - lo
    ok = (width > 0) & (width <= 18)
    out = np.zeros(len(lo), dtype=np.int64)
    w = int(width[ok].max()) if ok.any() else 0
    for k in range(w):
        take = ok & (k < width)
        c = data[lo[take] + k].astype(np.int64) - 48
        bad = (c < 0) | (c > 9)
        if bad.any():
            idx = np.flatnonzero(take)[bad]
            ok[idx] = False
            take[idx] = False
            c = data[lo[take] + k].astype(np.int64) - 48
        out[take] = out[take] * 10 + c
    return out, ok


class _Records:
    """Accumulates per-record arrays over the chunks of a file."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.tid: list[np.ndarray] = []
        self.beg: list[np.ndarray] = []
        self.end: list[np.ndarray] = []
        self.ustart: list[np.ndarray] = []
        self.uend: list[np.ndarray] = []
        self.lines: list[np.ndarray] = []
        self._tids: dict[bytes, int] = {}


def _scan_chunk(rec: _Records, buf: bytes, base_u: int, first_line: int, preset: str, path):
    arr = np.frombuffer(buf, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.append(nl, len(arr))  # exclusive of the newline
    if starts[-1] >= len(arr):
        starts, ends = starts[:-1], ends[:-1]
    line_no = first_line + np.arange(len(starts))
    first = arr[np.minimum(starts, len(arr) - 1)] if len(arr) else np.zeros(0, np.uint8)
    keep = (ends > starts) & (first != ord("#"))
    if preset == "bed":  # UCSC track and browser lines are not records
        maybe = np.flatnonzero(keep & ((first == ord("t")) | (first == ord("b"))))
        for i in maybe.tolist():
            if buf.startswith((b"track", b"browser"), int(starts[i])):
                keep[i] = False
    # a CR before the newline is not part of the last field
    cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == 13)
    ends = ends - cr
    s, e, ln = starts[keep], ends[keep], line_no[keep]
    if not len(s):
        return
    tabs = np.flatnonzero(arr == 9)
    t0 = np.searchsorted(tabs, s)
    need = 5 if preset == "vcf" else 3
    n_tabs = np.searchsorted(tabs, e) - t0
    short = n_tabs < need - (0 if preset == "vcf" else 1)
    if short.any():
        i = int(np.flatnonzero(short)[0])
        raise FormatError(f"record has too few tab-separated columns for a {preset.upper()} "
                          "index", path=path, line=int(ln[i]))
    tab = lambda j: tabs[np.minimum(t0 + j, len(tabs) - 1)]  # noqa: E731
    c_end = tab(0)
    pos, ok = _parse_ints(arr, tab(0) + 1, tab(1))
    if preset == "vcf":
        beg = pos - 1
        end = beg + (tab(4) - tab(3) - 1)
        info_lo = tab(6) + 1
        info_hi = np.where(n_tabs > 7, tab(7), e)
        found = [(m.start() - 1, int(m.group(1))) for m in _END.finditer(buf)]
        if found:
            at, value = np.array(found, dtype=np.int64).T
            key_start = (at >= 0) & ((arr[np.maximum(at, 0)] == 59) | (arr[np.maximum(at, 0)] == 9))
            at, value = at[key_start], value[key_start]
            i = np.searchsorted(s, at, side="right") - 1
            ok_at = i >= 0
            i = np.maximum(i, 0)
            # the match must lie in the record's INFO column (its ';' or tab included)
            ok_at &= (n_tabs[i] >= 7) & (info_lo[i] - 1 <= at) & (at < info_hi[i])
            np.maximum.at(end, i[ok_at], value[ok_at])
    else:
        beg = pos
        end_hi = np.where(n_tabs > 2, tab(2), e)
        end, ok2 = _parse_ints(arr, tab(1) + 1, end_hi)
        ok &= ok2
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise FormatError("position is not a non-negative integer", path=path, line=int(ln[i]))
    end = np.maximum(end, beg + 1)
    # the contig name changes rarely: find the lines whose name differs from the line before
    width = c_end - s
    same = np.zeros(len(s), dtype=bool)
    same[1:] = width[1:] == width[:-1]
    for k in range(int(width.max()) if len(width) else 0):
        idx = np.flatnonzero(same[1:] & (k < width[1:])) + 1
        if not len(idx):
            break
        differ = arr[s[idx] + k] != arr[s[idx - 1] + k]
        same[idx[differ]] = False
    runs = np.flatnonzero(~same)
    run_tid = np.empty(len(runs), dtype=np.int64)
    for j, i in enumerate(runs.tolist()):
        nm = buf[int(s[i]):int(c_end[i])]
        t = rec._tids.get(nm)
        if t is None:
            t = rec._tids[nm] = len(rec.names)
            rec.names.append(nm.decode("utf-8", "replace"))
        run_tid[j] = t
    tid = np.repeat(run_tid, np.diff(np.append(runs, len(s))))
    # a record ends where the next line starts (or at the end of the chunk)
    line_next = np.searchsorted(starts, s, side="right")
    uend = np.where(line_next < len(starts), starts[np.minimum(line_next, len(starts) - 1)],
                    len(arr))
    rec.tid.append(tid)
    rec.beg.append(beg)
    rec.end.append(end)
    rec.ustart.append(base_u + s)
    rec.uend.append(base_u + uend)
    rec.lines.append(ln)


def _check_sorted(tid, beg, lines, names, path) -> None:
    if not len(tid):
        return
    change = np.flatnonzero(tid[1:] != tid[:-1]) + 1
    run_tids = tid[np.concatenate(([0], change))]
    if len(np.unique(run_tids)) != len(run_tids):
        seen = set()
        for k, t in enumerate(run_tids.tolist()):
            if t in seen:
                at = int(np.concatenate(([0], change))[k])
                raise FormatError(f"not sorted: {names[t]} appears again after other contigs; "
                                  "sort the file (e.g. `bcftools sort`) before indexing",
                                  path=path, line=int(lines[at]))
            seen.add(t)
    same = tid[1:] == tid[:-1]
    down = np.flatnonzero(same & (beg[1:] < beg[:-1]))
    if len(down):
        i = int(down[0]) + 1
        raise FormatError(f"not sorted: position goes down on {names[int(tid[i])]}; sort the "
                          "file before indexing", path=path, line=int(lines[i]))


def _reg2bin(beg: np.ndarray, end: np.ndarray, min_shift: int, depth: int) -> np.ndarray:
    """Smallest bin holding each ``[beg, end)`` (vectorised)."""
    last = end - 1
    out = np.zeros(len(beg), dtype=np.int64)
    done = np.zeros(len(beg), dtype=bool)
    for level in range(depth, 0, -1):
        shift = min_shift + 3 * (depth - level)
        fits = ~done & ((beg >> shift) == (last >> shift))
        out[fits] = binning.first_bin(level) + (beg[fits] >> shift)
        done |= fits
    return out


def _ref_blob(csi: bool, bins, vstart, vend, beg, end, min_shift, depth) -> bytes:
    """Serialise one reference: bins (+ pseudo-bin) and, for tabix, the linear index."""
    n = len(bins)
    # chunks: runs of consecutive records in the same bin
    cut = np.concatenate(([0], np.flatnonzero(bins[1:] != bins[:-1]) + 1))
    run_bin = bins[cut]
    run_beg = vstart[cut]
    run_end = vend[np.append(cut[1:], n) - 1]
    # linear index: lowest start offset of a record overlapping each window
    w0 = beg >> min_shift
    w1 = (end - 1) >> min_shift
    n_win = int(w1.max()) + 1
    linear = np.full(n_win, np.iinfo(np.int64).max, dtype=np.int64)
    span = w1 - w0 + 1
    np.minimum.at(linear, np.repeat(w0, span) + (np.arange(int(span.sum()))
                                                 - np.repeat(np.cumsum(span) - span, span)),
                  np.repeat(vstart, span))
    unset = linear == np.iinfo(np.int64).max
    if unset.any():  # an empty window takes the bound of the window to its left (0 at the start)
        idx = np.where(~unset, np.arange(n_win), -1)
        np.maximum.accumulate(idx, out=idx)
        linear = np.where(idx >= 0, linear[np.maximum(idx, 0)], 0)
    order = np.argsort(run_bin, kind="stable")
    ubins, first = np.unique(run_bin[order], return_index=True)
    counts = np.diff(np.append(first, len(order)))
    parts = []
    firsts = np.array([binning.first_bin(lv) for lv in range(depth + 2)], dtype=np.int64)
    for b, f, c in zip(ubins.tolist(), first.tolist(), counts.tolist()):
        sel = order[f:f + c]
        pairs = np.empty((c, 2), dtype="<u8")
        pairs[:, 0] = run_beg[sel]
        pairs[:, 1] = run_end[sel]
        if csi:
            level = int(np.searchsorted(firsts, b, side="right")) - 1
            win = (b - binning.first_bin(level)) << (3 * (depth - level))
            loff = int(linear[win]) if win < n_win else 0
            parts.append(struct.pack("<IQi", b, loff, c))
        else:
            parts.append(struct.pack("<Ii", b, c))
        parts.append(pairs.tobytes())
    pseudo = binning.pseudo_bin(depth)
    meta = np.array([[int(vstart[0]), int(vend[-1])], [n, 0]], dtype="<u8").tobytes()
    parts.append(struct.pack("<IQi", pseudo, 0, 2) if csi else struct.pack("<Ii", pseudo, 2))
    parts.append(meta)
    head = struct.pack("<i", len(ubins) + 1)
    out = head + b"".join(parts)
    if not csi:
        out += struct.pack("<i", n_win) + linear.astype("<u8").tobytes()
    return out


def write_index(path, *, preset: str = "vcf", csi: bool = False, min_shift: int = 14,
                out=None, threads: int | None = None) -> str:
    """Index a position-sorted BGZF file; returns the index path (``<path>.tbi``/``.csi``).

    Parameters
    ----------
    path : str or os.PathLike
        BGZF-compressed VCF or BED, sorted by contig (each contig in one run) and start.
    preset : {"vcf", "bed"}
    csi : bool
        Write CSI (any contig length) instead of tabix (contigs up to 2**29 bases).
    min_shift : int
        CSI window size as a power of two (tabix: always 14).
    out : str, optional
        Where to write the index.
    threads : int, optional
        Inflate threads.

    Raises
    ------
    NotBgzfError
        The file is not BGZF (plain gzip cannot be indexed).
    FormatError
        The file is not sorted, or a record lacks the columns the preset needs
        (the message names the line).
    """
    from ..bgzf.blocks import scan_file
    from ..bgzf.reader import Reader
    from ..bgzf.writer import Writer

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    path = os.fspath(path)
    rec = _Records()
    line = 1
    with Reader(path, threads=threads, require_bgzf=True) as r:
        for chunk in r.chunks():
            buf = bytes(chunk.data)
            _scan_chunk(rec, buf, chunk.uoffset, line, preset, path)
            line += buf.count(b"\n")
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64))  # noqa: E731
    tid, beg, end = cat(rec.tid), cat(rec.beg), cat(rec.end)
    lines = cat(rec.lines)
    _check_sorted(tid, beg, lines, rec.names, path)
    table = scan_file(path)
    vstart = table.virtual_offset(cat(rec.ustart)) if len(tid) else tid
    vend = _end_voffsets(table, cat(rec.uend)) if len(tid) else tid
    depth = 5
    if csi:
        need = int(end.max()) if len(end) else 1
        while binning.max_span(min_shift, depth) < need:
            depth += 1
    else:
        min_shift = 14
        if len(end) and int(end.max()) > binning.max_span(14, 5):
            raise FormatError(f"a record ends at {int(end.max())}, beyond the tabix limit of "
                              f"{binning.max_span(14, 5)}; write a CSI index (csi=True)",
                              path=path)
    fmt, col_seq, col_beg, col_end, meta = PRESETS[preset]
    names = b"".join(n.encode() + b"\0" for n in rec.names)
    header = struct.pack("<7i", fmt, col_seq, col_beg, col_end, ord(meta), 0, len(names)) + names
    bins = _reg2bin(beg, end, min_shift, depth)
    change = np.concatenate(([0], np.flatnonzero(tid[1:] != tid[:-1]) + 1, [len(tid)]))
    refs = [_ref_blob(csi, bins[a:b], vstart[a:b], vend[a:b], beg[a:b], end[a:b], min_shift,
                      depth) for a, b in zip(change[:-1].tolist(), change[1:].tolist())]
    if csi:
        blob = (b"CSI\x01" + struct.pack("<3i", min_shift, depth, len(header)) + header
                + struct.pack("<i", len(refs)) + b"".join(refs) + struct.pack("<Q", 0))
    else:
        blob = (b"TBI\x01" + struct.pack("<i", len(refs)) + header + b"".join(refs)
                + struct.pack("<Q", 0))
    target = os.fspath(out) if out is not None else path + (".csi" if csi else ".tbi")
    tmp = f"{target}.tmp{os.getpid()}"
    try:
        with Writer(tmp, threads=1) as w:
            w.write(blob)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _end_voffsets(table, uend: np.ndarray) -> np.ndarray:
    """Virtual offsets just past each record; the file's end maps past the last data block."""
    total = table.uncompressed_size
    inside = uend < total
    out = np.empty(len(uend), dtype=np.int64)
    out[inside] = table.virtual_offset(uend[inside])
    if (~inside).any():
        data = np.flatnonzero(table.usize > 0)
        last = int(data[-1]) if len(data) else 0
        nxt = last + 1
        out[~inside] = (int(table.coffset[nxt]) << 16) if nxt < len(table) else \
            (int(table.coffset[last]) << 16) | int(table.usize[last])
    return out

