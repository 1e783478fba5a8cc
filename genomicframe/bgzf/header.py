"""Where a BGZF block ends, from its header alone (the BC extra subfield).

Kept free of numpy and of the reader so that the FASTA index build and the
region readers can use it without their imports.
"""
from __future__ import annotations

import os

from ..errors import CorruptBlockError, NotBgzfError


def block_size(blk: memoryview, path, coffset: int) -> int:
    """Total size of the BGZF block that starts ``blk`` (from its BC extra subfield).

    Examples
    --------
    >>> from genomicframe.bgzf import EOF_MARKER
    >>> block_size(memoryview(EOF_MARKER), None, 0)
    28
    """
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
    raise NotBgzfError("gzip member without a BGZF size (BC) field where the index points",
                       path=path, offset=coffset)


def block_end(fd: int, coffset: int, path) -> int:
    """Compressed offset just past the BGZF block that starts at ``coffset`` of ``fd``."""
    head = os.pread(fd, 512, coffset)
    return coffset + block_size(memoryview(head), path, coffset)
