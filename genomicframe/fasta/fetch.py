"""Retrieval planning and execution: byte ranges -> blocks inflated once -> sequences.

A batch of requests is served in five steps:

1. every request is an uncompressed byte range (``GfiView.ranges``);
2. ranges are sorted by offset (``argsort_int64``);
3. sorted ranges are grouped into tasks of adjacent BGZF blocks; a block wanted
   by two requests always falls in one task, so it is inflated once
   (``GfiView.plan``);
4. tasks run on a thread pool (ISA-L releases the GIL): ``pread`` the task's
   compressed bytes, inflate each block, copy the bases out with line ends
   removed (``extract``), drop the blocks;
5. results are handed back in request order (buffer, start, length per request).

Memory is bounded by the outputs of the batch plus a few tasks in flight
(``threads * 2`` tasks of at most ``MAX_TASK_BLOCKS`` blocks), never by the
file size.  Nothing here imports numpy.
"""
from __future__ import annotations

import os
import zlib
from array import array
from dataclasses import dataclass, field

from isal import igzip_lib

from .. import _threads
from ..errors import CorruptBlockError, TruncatedFileError
from ..bgzf.header import block_size as _bsize

__all__ = ["FetchStats", "retrieve", "MAX_TASK_BLOCKS"]

#: most blocks one inflate task covers (it may grow to finish a block shared by requests)
MAX_TASK_BLOCKS = 32

_DEFLATE = igzip_lib.DECOMP_DEFLATE
_decompress = igzip_lib.decompress
_IsalError = igzip_lib.IsalError
_Zlib = zlib.decompressobj
_ZlibError = zlib.error

#: inflate only the front of a block (zlib, stopping early) when less than this
#: fraction of it is wanted; otherwise inflate it whole with ISA-L
PARTIAL_FRACTION = 0.55

@dataclass
class FetchStats:
    """What one retrieval did (``FastaFile.last_fetch_stats``).

    Attributes
    ----------
    requests : int
        Requests served (after dropping missing names).
    blocks_needed : int
        Distinct BGZF blocks holding at least one wanted byte.
    blocks_inflated : int
        Blocks inflated; equals ``blocks_needed`` (each block is inflated once).
    blocks_partial : int
        Blocks inflated only up to the last byte wanted (zlib stops there).
    bytes_inflated : int
        Uncompressed bytes produced by the inflater.
    bytes_read : int
        Compressed bytes read from the file.
    tasks : int
        Inflate tasks run on the thread pool.
    threads : int
        Threads used.
    seconds : float
        Wall time of the retrieval (lookup excluded).
    lookup_seconds : float
        Wall time of resolving names to records.
    """

    requests: int = 0
    blocks_needed: int = 0
    blocks_inflated: int = 0
    blocks_partial: int = 0
    bytes_inflated: int = 0
    bytes_read: int = 0
    tasks: int = 0
    threads: int = 1
    seconds: float = 0.0
    lookup_seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def summary(self) -> str:
        return (f"{self.requests} requests: {self.blocks_inflated} of {self.blocks_needed} needed "
                f"BGZF blocks inflated once each ({self.blocks_partial} only up to the "
                f"last byte wanted), "
                f"{self.bytes_read:,} bytes read, {self.bytes_inflated:,} inflated, "
                f"{self.tasks} tasks on {self.threads} thread(s); lookup "
                f"{self.lookup_seconds * 1e3:.1f} ms, retrieval {self.seconds * 1e3:.1f} ms")


def _payload(blk: memoryview, path, coffset: int) -> memoryview:
    """The raw deflate data of one BGZF block (header and trailer cut off)."""
    bsize = _bsize(blk, path, coffset)
    if bsize > len(blk) or bsize < 28:
        raise CorruptBlockError("bad BGZF block header", path=path, offset=coffset)
    return blk[12 + (blk[10] | (blk[11] << 8)):bsize - 8]


def _run_task(fd, path, view, task, need, order, ubeg, uend, want, got, raw_from):
    """Worker: read, inflate and extract one task.

    Returns ``(buffer, blocks, partial blocks, inflated bytes, read bytes)``.
    """
    from .._parsers.fastafetch import extract

    b0, b1, p0, p1 = task
    c0, c1 = view.block_coffsets(b0, b1)
    comp = os.pread(fd, c1 - c0, c0)
    if len(comp) != c1 - c0:
        raise TruncatedFileError("file ends before the blocks its index lists: it was "
                                 "truncated or replaced; rebuild the index with "
                                 "`genomicframe index`", path=path, offset=c0 + len(comp))
    mv = memoryview(comp)
    pieces = []
    u0s = array("q")
    produced = partial = 0
    for b in range(b0, b1 + 1):
        nb = need[b]
        if not nb:
            continue
        cb, cn, ub, us = view.block_info(b)
        payload = _payload(mv[cb - c0:cn - c0], path, cb)
        try:
            if nb < us * PARTIAL_FRACTION:
                # only the front of the block is wanted: zlib stops at the last byte
                # needed and is faster than a whole ISA-L inflate up to ~60 % of a block
                # (ISA-L's own streaming inflater costs ~0.1 ms per block to set up)
                data = _Zlib(-15).decompress(payload, nb)
                partial += 1
                want_len = nb
            else:
                data = _decompress(payload, flag=_DEFLATE, bufsize=us)
                want_len = us
        except (_IsalError, _ZlibError) as exc:
            raise CorruptBlockError(f"cannot inflate BGZF block ({exc})", path=path,
                                    offset=cb) from None
        if len(data) != want_len:
            raise CorruptBlockError(
                f"BGZF block inflates to {len(data)} bytes, the index says {want_len}: "
                "rebuild the index with `genomicframe index`", path=path, offset=cb)
        produced += len(data)
        pieces.append(data)
        u0s.append(ub)
    out = extract(pieces, u0s, order, p0, p1, ubeg, uend, want, got, raw_from)
    return out, len(pieces), partial, produced, c1 - c0


def retrieve(fd, path, view, bgzf: bool, ubeg: array, uend: array, want: array, *,
             threads: int = 1, raw_from: int = -1, data=None,
             stats: FetchStats | None = None):
    """Fetch many byte ranges; returns ``(bufs, buf_of, starts, lens)`` in request order.

    Request ``i`` is ``bufs[buf_of[i]][starts[i]:starts[i] + lens[i]]``: the bases
    (isgraph bytes) of ``[ubeg[i], uend[i])``, at most ``want[i]`` of them, or
    every byte for ``i >= raw_from`` (when ``raw_from >= 0``).  ``data`` is a buffer of the whole uncompressed file
    (a mapped plain FASTA); BGZF files are read through ``fd``.
    """
    from .._parsers.fastafetch import argsort_int64, extract, place

    m = len(ubeg)
    got = array("q", bytes(8 * m))
    order = argsort_int64(ubeg)
    st = stats if stats is not None else FetchStats()
    st.requests = m
    st.threads = threads
    if not bgzf:
        if m and data is not None and len(data):
            bufs = [extract([data], array("q", [0]), order, 0, m, ubeg, uend, want, got,
                            raw_from)]
        else:
            bufs = [b""]
        bounds = [(0, m)]
        st.bytes_read = sum(max(0, e - b) for b, e in zip(ubeg, uend))
    else:
        tasks, need = view.plan(order, ubeg, uend, MAX_TASK_BLOCKS)
        st.tasks = len(tasks)
        st.blocks_needed = sum(1 for x in need if x)
        args = (fd, path, view)
        tail = (need, order, ubeg, uend, want, got, raw_from)
        bufs = []
        def run(task):
            return _run_task(*args, task, *tail)

        for _, res in _threads.ordered(run, tasks, threads if len(tasks) > 1 else 1, "fetch",
                                       threads * 2):
            _account(st, res, bufs)
        bounds = [(t[2], t[3]) for t in tasks]
    buf_of, starts = place(order, bounds, want)
    if not bufs:
        bufs = [b""]
    return bufs, buf_of, starts, got


def _account(st: FetchStats, res, bufs) -> None:
    out, blocks, partial, produced, nread = res
    bufs.append(out)
    st.blocks_inflated += blocks
    st.blocks_partial += partial
    st.bytes_inflated += produced
    st.bytes_read += nread
