"""The ``.gfi`` name index: a memory-mapped, sorted hash table of FASTA record names.

Resolving a batch of names touches a few pages per name, whatever the number of
records, and never parses text (the ``.fai`` is written for samtools, not read).
Everything a fetch needs about a record sits in its hash-table entry, and a
batch of queries is resolved in hash order, so the table is read front to back.

Layout (little-endian; every section starts on an 8-byte boundary)::

    header   128 bytes, see HEADER below
    keys     n_keys entries of 48 bytes, ascending by hash:
               hash u64, seq_off u64, length u64, name_off u64,
               name_len u32, line_bases u32, line_width u32, flags u32
    dir      (2**dir_bits + 1) x u64: entries whose hash has top bits b are
             keys[dir[b]:dir[b+1]]   (empty when dir_bits == 0)
    blob     the names, in file order (entry k's name is blob[name_off:name_off+name_len])
    spans    n_keys x (hdr_off u64, rec_end u64): the record's bytes from its '>'
             to the next record (the .loc columns)
    forder   n_keys x u64: key numbers of the records in file order
    blocks   (n_blocks + 1) x u64 compressed offsets, then (n_blocks + 1) x u64
             uncompressed offsets of the BGZF blocks that hold data; the last entry
             of each is the end (0 blocks for an uncompressed file)

``seq_off`` is the uncompressed offset of the first base, ``line_bases`` and
``line_width`` are the ``.fai`` LINEBASES/LINEWIDTH, ``flags`` bit 1 marks
sequence lines holding non-base bytes (spaces...).  The hash is FNV-1a 64
followed by a 64-bit mixing finaliser; a lookup compares the name bytes too,
so hash collisions cannot return a wrong record.  Only records in the ``.fai``
are keys: a repeated name keeps its first record, header-only records are left
out, as samtools does.  The header records the data file's size and
modification time, so a stale index is refused.
"""
from __future__ import annotations

import mmap
import os
import struct

from ..errors import FormatError, StaleIndexError

MAGIC = b"GFFASTA\x00"
VERSION = 2
#: magic, version, key_size, n_records (records scanned), n_keys, dir_bits, flags,
#: data_size, file_size, file_mtime_ns, n_blocks, then the offsets of keys, dir,
#: blob, spans, forder, blocks, and the blob size
HEADER = struct.Struct("<8sIIQQIIQQqQ7Q")
assert HEADER.size == 128
FLAG_BGZF = 1
KEY_SIZE = 48
#: numpy dtype of one key entry
KEY_FIELDS = [("hash", "<u8"), ("seq_off", "<u8"), ("length", "<u8"), ("name_off", "<u8"),
              ("name_len", "<u4"), ("line_bases", "<u4"), ("line_width", "<u4"),
              ("flags", "<u4")]


class Chunked:
    """A section given as its size in bytes and an iterable of its pieces (so the
    whole section need not be in memory at once); it can be iterated once."""

    __slots__ = ("size", "pieces")

    def __init__(self, size: int, pieces) -> None:
        self.size = size
        self.pieces = pieces

    def __len__(self) -> int:
        return self.size


def iter_parts(parts):
    """The buffers of ``parts`` (as :func:`encode` returns them) in file order."""
    for p in parts:
        if isinstance(p, Chunked):
            yield from p.pieces
        else:
            yield p


def _align(n: int) -> int:
    return (n + 7) & ~7


class GfiHeader:
    """The decoded header of a ``.gfi`` file."""

    __slots__ = ("version", "key_size", "n_records", "n_keys", "dir_bits", "flags",
                 "data_size", "file_size", "file_mtime_ns", "n_blocks", "offsets", "blob_size")

    def __init__(self, raw: bytes, path) -> None:
        if len(raw) < HEADER.size:
            raise FormatError(".gfi index is too short; rebuild it with `genomicframe index`",
                              path=path)
        f = HEADER.unpack_from(raw)
        if f[0] != MAGIC:
            raise FormatError("not a genomicframe .gfi index (bad magic); rebuild it with "
                              "`genomicframe index`", path=path)
        (_, self.version, self.key_size, self.n_records, self.n_keys, self.dir_bits,
         self.flags, self.data_size, self.file_size, self.file_mtime_ns, self.n_blocks) = f[:11]
        self.offsets = f[11:17]
        self.blob_size = f[17]
        if self.version != VERSION:
            raise FormatError(f".gfi index version {self.version} is not supported (this "
                              f"genomicframe reads version {VERSION}); rebuild it with "
                              "`genomicframe index`", path=path)
        if self.key_size != KEY_SIZE or self.dir_bits > 40:
            raise FormatError(".gfi header is damaged; rebuild it with `genomicframe index`",
                              path=path)

    def section_ends(self):
        """Expected end of every section, for bounds checking."""
        o = self.offsets
        nd = (1 << self.dir_bits) + 1 if self.dir_bits else 0
        return [o[0] + KEY_SIZE * self.n_keys, o[1] + 8 * nd, o[2] + self.blob_size,
                o[3] + 16 * self.n_keys, o[4] + 8 * self.n_keys, o[5] + 16 * (self.n_blocks + 1)]


def dir_bits_for(n_keys: int) -> int:
    """Directory size: about 8 names per bucket, at most 2**26 buckets."""
    bits = 0
    while (8 << bits) < n_keys and bits < 26:
        bits += 1
    return bits


def encode(*, keys, dirs, dir_bits, blob, spans, forder, coff, uoff, n_records, data_size,
           file_size, file_mtime_ns, bgzf: bool, blob_len: int | None = None):
    """Return ``(header, parts)``: the ``.gfi`` is ``header`` followed by ``parts``.

    ``keys``, ``dirs``, ``spans`` and ``forder`` are the encoded sections (bytes,
    or :class:`Chunked`, from ``genomicframe._parsers.fastaidx.build_table``);
    write ``parts`` with :func:`iter_parts`.  The names blob comes
    first after the header; when ``blob`` is ``None`` the caller has already
    written ``blob_len`` bytes of it there (streamed during the scan), and
    ``parts`` starts with the padding that follows it.
    """
    from array import array

    parts = []
    pos = HEADER.size
    if blob is not None:
        parts.append(memoryview(blob).cast("B"))
        blob_len = len(blob)
    pos += blob_len
    pad = _align(pos) - pos
    if pad:
        parts.append(b"\x00" * pad)
        pos += pad
    offsets = {"blob": HEADER.size}

    def add(name, buf):
        nonlocal pos
        if not isinstance(buf, Chunked):
            buf = memoryview(buf).cast("B")
        offsets[name] = pos
        parts.append(buf)
        pos += len(buf)
        pad = _align(pos) - pos
        if pad:
            parts.append(b"\x00" * pad)
            pos += pad

    add("keys", keys)
    add("dir", dirs)
    add("spans", spans)
    add("forder", forder)
    blocks = array("q", coff)
    blocks.extend(uoff)
    add("blocks", blocks)
    header = HEADER.pack(MAGIC, VERSION, KEY_SIZE, n_records, len(keys) // KEY_SIZE, dir_bits,
                         FLAG_BGZF if bgzf else 0, data_size, file_size, file_mtime_ns,
                         len(coff) - 1, offsets["keys"], offsets["dir"], offsets["blob"],
                         offsets["spans"], offsets["forder"], offsets["blocks"], blob_len)
    return header, parts


def write(path, parts) -> None:
    """Write buffers to ``path`` atomically (temporary file + rename)."""
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            for p in iter_parts(parts):
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
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            if hasattr(mm, "madvise") and hasattr(mmap, "MADV_RANDOM"):
                mm.madvise(mmap.MADV_RANDOM)  # lookups touch scattered pages: no read-ahead
            buf = memoryview(mm)
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
    view = GfiView(buf, hdr.n_keys, hdr.dir_bits, hdr.n_blocks, *hdr.offsets)
    mapping = getattr(buf, "obj", None)
    view.mapped = isinstance(mapping, mmap.mmap)
    view.owner = mapping if view.mapped else None
    return hdr, view


def _advise(mapping, advice, start=0, length=None) -> None:
    if not isinstance(mapping, mmap.mmap) or not hasattr(mapping, "madvise"):
        return
    if length is None:
        length = len(mapping) - start
    a = start & ~(mmap.PAGESIZE - 1)
    try:
        mapping.madvise(advice, a, min(len(mapping) - a, length + start - a))
    except (OSError, ValueError):
        pass  # not supported here: the pages simply stay mapped


def release_pages(view) -> None:
    """Unmap the pages a lookup touched (they stay in the page cache), so the
    retrieval that follows does not add its memory on top of them."""
    if hasattr(mmap, "MADV_DONTNEED"):
        _advise(view.owner, mmap.MADV_DONTNEED)
