"""Speed-of-light baselines: inflating BGZF with nothing but ISA-L.

These are what genomicframe's reader is measured against (STYLE principle 10).
They deliberately do not use genomicframe: block boundaries come from a few
lines of header parsing over the file held in memory, and each block goes
straight to ``isal.igzip_lib.decompress`` with its ISIZE as the output size.
The inflated data is dropped, so the baseline pays for nothing but inflation.
"""
from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor

from isal import igzip_lib

__all__ = ["block_boundaries", "group_blocks", "inflate_serial", "inflate_threaded",
           "BareIsalInflater"]

_decompress = igzip_lib.decompress
_GZIP = igzip_lib.DECOMP_GZIP
_le16 = struct.Struct("<H").unpack_from
_le32 = struct.Struct("<I").unpack_from


def block_boundaries(buf) -> list[tuple[int, int, int]]:
    """``(offset, size, isize)`` of every block of a complete BGZF file in memory."""
    mv = memoryview(buf)
    n = len(mv)
    out = []
    pos = 0
    while pos < n:
        if mv[pos] != 0x1F or mv[pos + 1] != 0x8B or not mv[pos + 3] & 4:
            raise ValueError(f"not a BGZF block at offset {pos}")
        xlen = _le16(mv, pos + 10)[0]
        q, end, bsize = pos + 12, pos + 12 + xlen, None
        while q + 4 <= end:
            slen = _le16(mv, q + 2)[0]
            if mv[q] == 66 and mv[q + 1] == 67 and slen == 2:
                bsize = _le16(mv, q + 4)[0] + 1
                break
            q += 4 + slen
        if bsize is None:
            raise ValueError(f"gzip member without a BGZF BC field at offset {pos}")
        out.append((pos, bsize, _le32(mv, pos + bsize - 4)[0]))
        pos += bsize
    return out


def group_blocks(blocks, group_bytes: int = 1 << 20) -> list[list[tuple[int, int, int]]]:
    """Split blocks into runs of about ``group_bytes`` uncompressed bytes (one task each)."""
    groups, cur, acc = [], [], 0
    for b in blocks:
        cur.append(b)
        acc += b[2]
        if acc >= group_bytes:
            groups.append(cur)
            cur, acc = [], 0
    if cur:
        groups.append(cur)
    return groups


def _inflate_blocks(mv, blocks) -> int:
    total = 0
    for off, size, isize in blocks:
        total += len(_decompress(mv[off:off + size], flag=_GZIP, bufsize=isize or 1))
    return total


def inflate_serial(buf, blocks) -> int:
    """Inflate every block in order on this thread; returns the uncompressed size."""
    return _inflate_blocks(memoryview(buf), blocks)


def inflate_threaded(pool: ThreadPoolExecutor, buf, groups) -> int:
    """Inflate groups of blocks on ``pool`` (results consumed in file order)."""
    mv = memoryview(buf)
    return sum(pool.map(_inflate_blocks, [mv] * len(groups), groups))


class BareIsalInflater:
    """A BGZF file held in memory, ready to be inflated by the bare loop.

    Parameters
    ----------
    path : str
        A BGZF file; it is read whole and its block table built up front.
    threads : int
        1 inflates inline; more uses a thread pool created here, not per call.
    """

    def __init__(self, path, threads: int = 1) -> None:
        with open(path, "rb") as fh:
            self.buf = fh.read()
        self.blocks = block_boundaries(self.buf)
        self.groups = group_blocks(self.blocks)
        self.size = sum(b[2] for b in self.blocks)
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def __call__(self) -> int:
        if self.pool is None:
            return inflate_serial(self.buf, self.blocks)
        return inflate_threaded(self.pool, self.buf, self.groups)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
