"""BGZF block tables: where every block starts, how big it is, what it inflates to.

A :class:`BlockTable` is built from block headers alone (nothing is inflated),
either from bytes already in memory (:func:`scan_bytes`) or by hopping from
header to header in a file (:func:`scan_file`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .._parsers import _bgzf
from ..errors import NotBgzfError
from .constants import (  # noqa: F401
    EOF_MARKER,
    MAX_BLOCK_DATA,
    MAX_BLOCK_SIZE,
    SCAN_FULL,
    SCAN_NEED_MORE,
    SCAN_OK,
)
from .reader import BlockScanner, _raise_scan, detect_compression


@dataclass(frozen=True)
class BlockTable:
    """Block boundaries of a BGZF file (or a part of it), as numpy arrays.

    Attributes
    ----------
    coffset : numpy.ndarray[int64]
        File offset of each block's first byte.
    csize : numpy.ndarray[int32]
        Compressed size of each block, header and trailer included.
    usize : numpy.ndarray[int32]
        Uncompressed size (ISIZE) of each block.
    uoffset : numpy.ndarray[int64]
        Uncompressed offset of each block's first byte, counted from the first
        block of the table.

    Examples
    --------
    >>> import genomicframe as gf
    >>> table = gf.bgzf.scan_file(gf.examples.path("proteins.fa.gz"))
    >>> int(table.usize.sum()) == table.uncompressed_size
    True
    """

    coffset: np.ndarray
    csize: np.ndarray
    usize: np.ndarray
    uoffset: np.ndarray

    @classmethod
    def from_arrays(cls, coffset, csize, usize, ubase: int = 0) -> "BlockTable":
        coffset = np.ascontiguousarray(coffset, dtype=np.int64)
        csize = np.ascontiguousarray(csize, dtype=np.int32)
        usize = np.ascontiguousarray(usize, dtype=np.int32)
        uoffset = np.empty(len(usize), dtype=np.int64)
        if len(usize):
            uoffset[0] = ubase
            np.cumsum(usize[:-1], out=uoffset[1:])
            uoffset[1:] += ubase
        return cls(coffset, csize, usize, uoffset)

    def __len__(self) -> int:
        return len(self.coffset)

    @property
    def uncompressed_size(self) -> int:
        """Total number of uncompressed bytes in the table's blocks."""
        if not len(self):
            return 0
        return int(self.uoffset[-1] + self.usize[-1])

    @property
    def compressed_end(self) -> int:
        """File offset just past the last block."""
        if not len(self):
            return 0
        return int(self.coffset[-1] + self.csize[-1])

    @property
    def has_eof_marker(self) -> bool:
        """True when the last block is empty (the htslib EOF marker)."""
        return bool(len(self)) and int(self.usize[-1]) == 0

    def block_for(self, uoffset) -> np.ndarray:
        """Index of the block holding each uncompressed offset (vectorised).

        Empty blocks are never returned; an offset equal to the total size maps
        to the last block.
        """
        data = np.flatnonzero(self.usize > 0)
        if len(data) == 0:
            return np.zeros(np.shape(uoffset), dtype=np.int64)
        idx = np.searchsorted(self.uoffset[data], uoffset, side="right") - 1
        return data[np.clip(idx, 0, len(data) - 1)]

    def virtual_offset(self, uoffset):
        """BGZF virtual offset (``coffset << 16 | within-block offset``) of uncompressed offsets."""
        b = self.block_for(uoffset)
        within = np.asarray(uoffset, dtype=np.int64) - self.uoffset[b]
        return (self.coffset[b] << 16) | within

    def slice(self, start: int, stop: int) -> "BlockTable":
        """Blocks ``start:stop`` (uncompressed offsets are kept, not rebased)."""
        return BlockTable(self.coffset[start:stop], self.csize[start:stop],
                          self.usize[start:stop], self.uoffset[start:stop])


def scan_bytes(data, path=None) -> BlockTable:
    """Block table of a complete BGZF file held in memory.

    Examples
    --------
    >>> import genomicframe as gf
    >>> gf.bgzf.scan_bytes(gf.bgzf.compress(b"ACGT\\n")).usize.tolist()
    [5, 0]
    """
    c, s, u, _ = BlockScanner(path).scan(memoryview(data).cast("B"), 0, final=True)
    return BlockTable.from_arrays(c, s, u)


def scan_file(path, start: int = 0, end: int | None = None) -> BlockTable:
    """Block table of a BGZF file, read from block headers only.

    Each block costs one small ``pread`` of its header, so a 235 GB file is
    mapped without reading its data.  ``start``/``end`` limit the scan to the
    blocks that start in ``[start, end)``; ``start`` must be a block boundary,
    ``end`` need not be (as with :class:`~genomicframe.bgzf.Reader`).

    Raises
    ------
    NotBgzfError
        The file is plain gzip or not compressed.
    TruncatedFileError
        The last block runs past the end of the file.
    CorruptBlockError
        A block header is damaged.
    """
    fd = os.open(os.fspath(path), os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if end is None or end > size:
            end = size
        if start == 0 and size > 0:
            head = os.pread(fd, 64, 0)
            if detect_compression(head, path) == "plain":  # raises for bzip2/xz/zstd
                raise NotBgzfError(
                    "not BGZF-compressed (no gzip magic); compress it with `genomicframe bgzip`",
                    path=path, offset=0)
        cap = max(16, min((end - start) // 28 + 1, (end - start) // 8192 + 1024))
        coffset = np.empty(cap, dtype=np.int64)
        csize = np.empty(cap, dtype=np.int32)
        usize = np.empty(cap, dtype=np.int32)
        count = 0
        pos = start
        stop = end
        while True:
            status, pos, count, err = _bgzf.scan_fd(fd, pos, stop, coffset, csize, usize, count)
            if status == SCAN_FULL:
                cap *= 2
                coffset = np.resize(coffset, cap)
                csize = np.resize(csize, cap)
                usize = np.resize(usize, cap)
                continue
            if status == SCAN_NEED_MORE and pos < end and stop < size:
                stop = min(size, pos + MAX_BLOCK_SIZE)  # the block at pos runs past ``end``
                continue
            break
        if status != SCAN_OK and pos < end:  # whatever lies past ``end`` is not ours
            _raise_scan(status, path, pos, err)
        count = int(np.searchsorted(coffset[:count], end))
    finally:
        os.close(fd)
    return BlockTable.from_arrays(coffset[:count], csize[:count], usize[:count])
