"""The ``.gfi`` name index: a memory-mapped, sorted hash table of FASTA record names.

Resolving a batch of names touches a few pages per name, whatever the number of
records, and never parses text (the ``.fai`` is written for samtools, not read).

Layout (little-endian; every section starts on an 8-byte boundary)::

    header      128 bytes, see HEADER below
    rows        n_records x 8 int64: hdr_off, seq_off, length, rec_end,
                line_width, line_bases, line_no, flags    (file order)
    name_off    (n_records + 1) x uint64: record r's name is blob[name_off[r]:name_off[r+1]]
    blob        the names, concatenated
    hashes      n_keys x uint64, ascending: hash of each indexed name
    order       n_keys x uint32 (order_width 4) or int64 (8): record number of hashes[k]
    dir         (2**dir_bits + 1) x uint64: hashes with top dir_bits bits == b are
                hashes[dir[b]:dir[b+1]]  (absent when dir_bits == 0)
    blocks      (n_blocks + 1) x uint64 compressed offsets, then (n_blocks + 1) x uint64
                uncompressed offsets of the BGZF blocks that hold data; the last entry
                of each is the end (0 blocks for an uncompressed file)

The hash is FNV-1a 64 followed by a 64-bit mixing finaliser.  ``n_keys`` counts
distinct names: a repeated name points at its first record, as in the ``.fai``.
The header also records the data file's size and modification time, so a stale
index is refused.
"""
from __future__ import annotations

import mmap
import os
import struct

from ..errors import FormatError, StaleIndexError

MAGIC = b"GFFASTA\x00"
VERSION = 1
#: magic, version, order_width, n_records, n_keys, dir_bits, flags, data_size,
#: file_size, file_mtime_ns, n_blocks, then the offsets of rows, name_off, blob,
#: hashes, order, dir, blocks
HEADER = struct.Struct("<8sIIQQIIQQqQ7Q")
assert HEADER.size == 128
FLAG_BGZF = 1
NCOL = 8


def _align(n: int) -> int:
    return (n + 7) & ~7


class GfiHeader:
    """The decoded header of a ``.gfi`` file."""

    __slots__ = ("version", "order_width", "n_records", "n_keys", "dir_bits", "flags",
                 "data_size", "file_size", "file_mtime_ns", "n_blocks", "offsets")

    def __init__(self, raw: bytes, path) -> None:
        if len(raw) < HEADER.size:
            raise FormatError(".gfi index is too short; rebuild it with `genomicframe index`",
                              path=path)
        f = HEADER.unpack_from(raw)
        if f[0] != MAGIC:
            raise FormatError("not a genomicframe .gfi index (bad magic); rebuild it with "
                              "`genomicframe index`", path=path)
        (_, self.version, self.order_width, self.n_records, self.n_keys, self.dir_bits,
         self.flags, self.data_size, self.file_size, self.file_mtime_ns, self.n_blocks) = f[:11]
        self.offsets = f[11:]
        if self.version != VERSION:
            raise FormatError(f".gfi index version {self.version} is not supported (this "
                              f"genomicframe reads version {VERSION}); rebuild it with "
                              "`genomicframe index`", path=path)
        if self.order_width not in (4, 8) or self.dir_bits > 40:
            raise FormatError(".gfi header is damaged; rebuild it with `genomicframe index`",
                              path=path)

    def section_ends(self):
        """Expected end of every section, for bounds checking."""
        o = self.offsets
        nd = (1 << self.dir_bits) + 1 if self.dir_bits else 0
        return [o[0] + 8 * NCOL * self.n_records, o[1] + 8 * (self.n_records + 1), o[2],
                o[3] + 8 * self.n_keys, o[4] + self.order_width * self.n_keys, o[5] + 8 * nd,
                o[6] + 16 * (self.n_blocks + 1)]


def dir_bits_for(n_keys: int) -> int:
    """Directory size: about 8 names per bucket, at most 2**26 buckets."""
    bits = 0
    while (8 << bits) < n_keys and bits < 26:
        bits += 1
    return bits


def encode(*, rows, name_off, blob, hashes, order, dirs, dir_bits, coff, uoff, data_size,
           file_size, file_mtime_ns, bgzf: bool):
    """Return the ``.gfi`` as a list of buffers to write in order (numpy inputs)."""
    import numpy as np

    n_records = len(name_off) - 1
    n_keys = len(hashes)
    order_width = 4 if n_records < 2**32 else 8
    order = np.ascontiguousarray(order, dtype="<u4" if order_width == 4 else "<i8")
    parts = []
    offsets = []
    pos = HEADER.size

    def add(buf):
        nonlocal pos
        buf = memoryview(buf).cast("B")
        offsets.append(pos)
        parts.append(buf)
        pos += len(buf)
        pad = _align(pos) - pos
        if pad:
            parts.append(b"\x00" * pad)
            pos += pad

    add(np.ascontiguousarray(rows, dtype="<i8"))
    add(np.ascontiguousarray(name_off, dtype="<u8"))
    add(blob)
    add(np.ascontiguousarray(hashes, dtype="<u8"))
    add(order)
    add(np.ascontiguousarray(dirs, dtype="<u8"))
    add(np.concatenate([np.asarray(coff, dtype="<u8"), np.asarray(uoff, dtype="<u8")]))
    header = HEADER.pack(MAGIC, VERSION, order_width, n_records, n_keys, dir_bits,
                         FLAG_BGZF if bgzf else 0, data_size, file_size, file_mtime_ns,
                         len(coff) - 1, *offsets)
    return [header, *parts]


def write(path, parts) -> None:
    """Write buffers to ``path`` atomically (temporary file + rename)."""
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            for p in parts:
                fh.write(p)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def open_view(source, data_path, *, check: bool = True):
    """Map a ``.gfi`` (a path, or the bytes of one) -> ``(GfiHeader, GfiView)``.

    With ``check``, refuse an index older than ``data_path`` or one recorded
    for a data file of another size (:class:`StaleIndexError`).
    """
    from .._parsers.fastafetch import GfiView

    if isinstance(source, (bytes, bytearray, memoryview)):
        buf = memoryview(source)
        path = "<in-memory .gfi>"
    else:
        path = os.fspath(source)
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < HEADER.size:
                raise FormatError(".gfi index is too short; rebuild it with "
                                  "`genomicframe index`", path=path)
            buf = memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
    hdr = GfiHeader(bytes(buf[:HEADER.size]), path)
    if max(hdr.section_ends()) > len(buf):
        raise FormatError(".gfi index is truncated; rebuild it with `genomicframe index`",
                          path=path)
    if check and data_path is not None:
        st = os.stat(data_path)
        if st.st_size != hdr.file_size:
            raise StaleIndexError(
                f"index was built for a data file of {hdr.file_size:,} bytes but "
                f"{os.fspath(data_path)} has {st.st_size:,}: it is stale; rebuild it with "
                f"`genomicframe index {os.fspath(data_path)}`", path=path)
        if not isinstance(source, (bytes, bytearray, memoryview)):
            if os.stat(path).st_mtime_ns < st.st_mtime_ns:
                raise StaleIndexError(
                    f"index is older than its data file {os.fspath(data_path)}: rebuild it "
                    f"with `genomicframe index {os.fspath(data_path)}`", path=path)
    o = hdr.offsets
    view = GfiView(buf, hdr.n_records, hdr.n_keys, hdr.dir_bits, hdr.order_width,
                   hdr.n_blocks, *o)
    return hdr, view
