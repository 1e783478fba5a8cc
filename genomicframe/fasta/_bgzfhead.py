"""The size of a BGZF block from its header (shared by the index build and retrieval,
so that the build does not import the retrieval code)."""
from __future__ import annotations

from ..errors import CorruptBlockError


def bsize(blk: memoryview, path, coffset: int) -> int:
    """Total size of the BGZF block that starts ``blk`` (from its BC extra subfield)."""
    if len(blk) < 18 or blk[0] != 31 or blk[1] != 139:
        raise CorruptBlockError("no BGZF block where the index says one starts; the index "
                                "does not match the file: rebuild it with `genomicframe index`",
                                path=path, offset=coffset)
    xlen = blk[10] | (blk[11] << 8)
    q, end = 12, min(12 + xlen, len(blk))
    while q + 6 <= end:
        slen = blk[q + 2] | (blk[q + 3] << 8)
        if blk[q] == 66 and blk[q + 1] == 67 and slen == 2:
            return (blk[q + 4] | (blk[q + 5] << 8)) + 1
        q += 4 + slen
    raise CorruptBlockError("bad BGZF block header (no BC subfield)", path=path, offset=coffset)
