"""The ``.gfi`` name index: a memory-mapped hash table of FASTA record names.

Resolving a batch of names touches about one cache line per name, whatever the
number of records, and never parses text (the ``.fai`` is written for samtools,
not read).  Everything a fetch needs about a record sits in its slot, and a
batch of queries is resolved in hash order, so the table is read front to back.

Layout (little-endian; every section starts on an 8-byte boundary)::

    header   128 bytes, see HEADER below
    slots    n_slots slots of 32 bytes, in hash order with empty slots between:
               hash u64          name hash; 0 marks an empty slot
               seq_off u64       bits 0-55 offset of the first base, bits 56-63 flags
               length u64        bits 0-47 bases, bits 48-63 line width - line bases
               line_bases u32
               hdr_len u32       bytes from the '>' to the first base
    ends     n_slots x u64: offset just past each record (the next '>' or the end
             of the data; 0 for an empty slot)
    forder   n_keys x u64: the slots of the records in file order
    blocks   (n_blocks + 1) x u64 compressed offsets, then (n_blocks + 1) x u64
             uncompressed offsets of the BGZF blocks that hold data; the last entry
             of each is the end (0 blocks for an uncompressed file)

The hash (``genomicframe/_parsers/_namehash.pxd``, 0 mapped to 1) of a key
decides its home slot, ``hash * n_home >> 64``: the keys in hash order fill
the first free slot from their home on, so a lookup reads from the home slot
forward, past smaller hashes, until it meets its hash, a larger one or an
empty slot.  With ``n_home = 1.25 n_keys`` a key sits two slots past its home
on average.  ``n_slots`` is ``n_home`` plus the keys that spill past the last
home slot.  The offset of the ``>`` is ``seq_off - hdr_len``; ``line_bases``
and line width are the ``.fai`` LINEBASES/LINEWIDTH; flag bit 1 marks sequence
lines holding non-base bytes (spaces...).

The index holds no names: a hash match is a candidate, and the name is
checked against the record's header line, which a fetch reads from the data
with the record's bases (it is usually in a block inflated anyway).  A
mismatch (a 64-bit hash collision) tries the next slot of the same hash, if
any, so a wrong record is never returned.  Only records in the ``.fai`` are
keys: a repeated name keeps its first record, header-only records are left
out, as samtools does.  The header records the data file's size and
modification time, so a stale index is refused.
"""
from __future__ import annotations

import mmap
import os
import struct

from ..errors import FormatError, StaleIndexError

MAGIC = b"GFFASTA\x00"
VERSION = 3
#: magic, version, slot size, n_records (records scanned), n_keys, n_home, n_slots,
#: flags, data_size, file_size, file_mtime_ns, n_blocks, then the offsets of the
#: slots, ends, forder and blocks sections, and 8 reserved bytes
HEADER = struct.Struct("<8sIIQQQQQQQqQ4QQ")
assert HEADER.size == 128
FLAG_BGZF = 1
KEY_SIZE = 32
#: numpy dtype of one slot
KEY_FIELDS = [("hash", "<u8"), ("seq_off", "<u8"), ("length", "<u8"),
              ("line_bases", "<u4"), ("hdr_len", "<u4")]


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

    __slots__ = ("version", "key_size", "n_records", "n_keys", "n_home", "n_slots", "flags",
                 "data_size", "file_size", "file_mtime_ns", "n_blocks", "offsets")

    def __init__(self, raw: bytes, path) -> None:
        if len(raw) < HEADER.size:
            raise FormatError(".gfi index is too short; rebuild it with `genomicframe index`",
                              path=path)
        f = HEADER.unpack_from(raw)
        if f[0] != MAGIC:
            raise FormatError("not a genomicframe .gfi index (bad magic); rebuild it with "
                              "`genomicframe index`", path=path)
        (_, self.version, self.key_size, self.n_records, self.n_keys, self.n_home,
         self.n_slots, self.flags, self.data_size, self.file_size, self.file_mtime_ns,
         self.n_blocks) = f[:12]
        self.offsets = f[12:16]
        if self.version != VERSION:
            raise FormatError(f".gfi index version {self.version} is not supported (this "
                              f"genomicframe reads version {VERSION}); rebuild it with "
                              "`genomicframe index`", path=path)
        if (self.key_size != KEY_SIZE or self.n_keys > self.n_home or self.n_home > self.n_slots
                or self.n_slots > self.n_home + self.n_keys):
            raise FormatError(".gfi header is damaged; rebuild it with `genomicframe index`",
                              path=path)

    def section_ends(self):
        """Expected end of every section, for bounds checking."""
        o = self.offsets
        return [o[0] + KEY_SIZE * self.n_slots, o[1] + 8 * self.n_slots, o[2] + 8 * self.n_keys,
                o[3] + 16 * (self.n_blocks + 1)]


def encode(*, slots, ends, n_keys, n_home, n_slots, forder, coff, uoff, n_records, data_size,
           file_size, file_mtime_ns, bgzf: bool):
    """Return ``(header, parts)``: the ``.gfi`` is ``header`` followed by ``parts``.

    ``slots``, ``ends`` and ``forder`` are the encoded sections (bytes, or
    :class:`Chunked`, from ``genomicframe._parsers.fastaidx.build_table``);
    write ``parts`` with :func:`iter_parts`.
    """
    from array import array

    parts = []
    pos = HEADER.size
    offsets = {}

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

    add("slots", slots)
    add("ends", ends)
    add("forder", forder)
    blocks = array("q", coff)
    blocks.extend(uoff)
    add("blocks", blocks)
    header = HEADER.pack(MAGIC, VERSION, KEY_SIZE, n_records, n_keys, n_home, n_slots,
                         FLAG_BGZF if bgzf else 0, data_size, file_size, file_mtime_ns,
                         len(coff) - 1, offsets["slots"], offsets["ends"], offsets["forder"],
                         offsets["blocks"], 0)
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


def outdated(path) -> bool:
    """Whether ``path`` is a ``.gfi`` written by another version of the format."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return (len(head) == 12 and head[:8] == MAGIC
            and struct.unpack_from("<I", head, 8)[0] != VERSION)


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
    view = GfiView(buf, hdr.n_keys, hdr.n_home, hdr.n_slots, hdr.n_blocks, *hdr.offsets)
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
