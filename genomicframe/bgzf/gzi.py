"""The ``.gzi`` index of a BGZF file (htslib's format, byte-identical to ``bgzip -r``).

Layout, all little-endian uint64: the number of entries, then one
``(compressed offset, uncompressed offset)`` pair for the start of every block
that holds data, except the first such block (its pair, ``(0, 0)`` for a normal
file, is implied).  A file without any data gives a count of ``2**64 - 1``,
which is what htslib writes; readers treat it as zero entries.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError, MissingIndexError, StaleIndexError

__all__ = ["GziIndex", "read_gzi", "write_gzi", "gzi_bytes"]


@dataclass(frozen=True)
class GziIndex:
    """Block starts of a BGZF file: ``coffset[i]`` holds uncompressed byte ``uoffset[i]``.

    The implied first entry ``(0, 0)`` is included, so both arrays are never empty.

    Examples
    --------
    >>> import genomicframe as gf
    >>> idx = gf.bgzf.GziIndex.from_blocks(gf.bgzf.scan_file(gf.examples.path("proteins.fa.gz")))
    >>> int(idx.coffset[0]), int(idx.uoffset[0])
    (0, 0)
    """

    coffset: np.ndarray
    uoffset: np.ndarray

    @classmethod
    def from_blocks(cls, table) -> "GziIndex":
        """Build from a :class:`~genomicframe.bgzf.BlockTable` (header scan, nothing inflated)."""
        data = np.flatnonzero(table.usize > 0)
        c = np.concatenate([[0], table.coffset[data[1:]]]).astype(np.int64)
        u = np.concatenate([[0], table.uoffset[data[1:]]]).astype(np.int64)
        return cls(c, u)

    def locate(self, uoffset):
        """``(coffset, within)`` of the block holding each uncompressed offset (vectorised)."""
        i = np.searchsorted(self.uoffset, uoffset, side="right") - 1
        i = np.maximum(i, 0)
        return self.coffset[i], np.asarray(uoffset, dtype=np.int64) - self.uoffset[i]

    def virtual_offset(self, uoffset):
        """BGZF virtual offsets of uncompressed offsets."""
        c, w = self.locate(uoffset)
        return (c << 16) | w

    def to_bytes(self) -> bytes:
        n = len(self.coffset) - 1
        body = np.empty((n, 2), dtype="<u8")
        body[:, 0] = self.coffset[1:]
        body[:, 1] = self.uoffset[1:]
        return np.array([n], dtype="<u8").tobytes() + body.tobytes()


def gzi_bytes(table=None, *, csize=None, usize=None) -> bytes:
    """Encode the ``.gzi`` of a block table (or of parallel block-size lists)."""
    if table is None:
        from .blocks import BlockTable

        csize = np.asarray(csize, dtype=np.int64)
        coffset = np.zeros(len(csize), dtype=np.int64)
        np.cumsum(csize[:-1], out=coffset[1:])
        table = BlockTable.from_arrays(coffset, csize, usize)
    data = np.flatnonzero(table.usize > 0)
    count = np.array([len(data) - 1], dtype=np.int64).astype("<u8")  # -1 wraps, as htslib
    body = np.empty((max(len(data) - 1, 0), 2), dtype="<u8")
    body[:, 0] = table.coffset[data[1:]]
    body[:, 1] = table.uoffset[data[1:]]
    return count.tobytes() + body.tobytes()


def write_gzi(path, table) -> None:
    """Write the ``.gzi`` for ``table`` (a BlockTable or ``(csize, usize)`` lists)."""
    if isinstance(table, tuple):
        blob = gzi_bytes(csize=table[0], usize=table[1])
    else:
        blob = gzi_bytes(table)
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(blob)
    os.replace(tmp, path)


def read_gzi(path, data_path=None) -> GziIndex:
    """Read a ``.gzi`` file.

    When ``data_path`` is given, refuse an index older than the data file or one
    whose offsets run past its end (:class:`StaleIndexError`).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise MissingIndexError("no .gzi index; build one with `genomicframe bgzip -r`",
                                path=path) from None
    if len(raw) < 8:
        raise FormatError(".gzi index is too short to hold its entry count", path=path, offset=0)
    n = int(np.frombuffer(raw[:8], dtype="<u8")[0])
    if n == 2**64 - 1:
        n = 0
    if len(raw) != 8 + 16 * n:
        raise FormatError(f".gzi index says {n} entries but holds {(len(raw) - 8) / 16:g}; "
                          "rebuild it with `genomicframe bgzip -r`", path=path, offset=0)
    pairs = np.frombuffer(raw, dtype="<u8", offset=8).reshape(-1, 2).astype(np.int64)
    c = np.concatenate([[0], pairs[:, 0]])
    u = np.concatenate([[0], pairs[:, 1]])
    if np.any(np.diff(c) <= 0) or np.any(np.diff(u) <= 0):
        raise FormatError(".gzi offsets are not increasing; rebuild it with "
                          "`genomicframe bgzip -r`", path=path)
    if data_path is not None:
        st = os.stat(data_path)
        if os.stat(path).st_mtime < st.st_mtime:
            raise StaleIndexError("index is older than its data file; rebuild it with "
                                  "`genomicframe bgzip -r`", path=path)
        if n and c[-1] >= st.st_size:
            raise StaleIndexError("index points past the end of its data file; rebuild it "
                                  "with `genomicframe bgzip -r`", path=path)
    return GziIndex(c, u)
