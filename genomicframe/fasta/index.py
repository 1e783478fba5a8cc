"""Build the indexes of a FASTA file in one block-parallel pass.

One pass over the data gives everything: BGZF blocks are inflated on a thread
pool, and each block is summarised line by line on the thread that inflated it
(:func:`~genomicframe._parsers.fastaidx.prescan`), so that the
:class:`~genomicframe._parsers.fastaidx.FaiScanner` only stitches the summaries
in file order:

* ``FILE.fai`` — byte-identical to ``samtools faidx`` (htslib's rules, including
  its quirks: duplicate names keep the first record, header-only records are
  left out, CRLF lines count their ``\\r`` in LINEWIDTH);
* ``FILE.gzi`` — byte-identical to ``bgzip -r`` (BGZF input only);
* ``FILE.gfi`` — the memory-mapped name lookup (see :mod:`genomicframe.fasta.gfi`);
* ``FILE.loc`` (optional) — ``NAME<TAB>OFFSET<TAB>SIZE``: uncompressed offset of
  the ``>`` and the record's size in bytes, header and newlines included (what
  ``bgzip -b OFFSET -s SIZE`` takes).
"""
from __future__ import annotations

import os
import warnings
from array import array
from itertools import accumulate

from ..errors import (DuplicateNameWarning, EmptyRecordWarning, FastaFormatError,
                      NotBgzfError)
from . import gfi as _gfi

__all__ = ["build_index", "IndexResult", "index_paths"]

# scanner status codes (genomicframe/_parsers/fastaidx.pyx)
ST_OK, ST_UNEXPECTED, ST_DIFF_LEN, ST_CR, ST_NO_SEQ_LAST, ST_EMPTY, ST_FASTQ, ST_NOMEM = range(8)
WHY_START, WHY_SHORT, WHY_BLANK = range(3)
FLAG_NO_SEQ, FLAG_ODD_BYTES, FLAG_CRLF = 1, 2, 4


def index_paths(path) -> dict:
    """Paths of the index files of ``path``: keys ``fai``, ``gzi``, ``gfi``, ``loc``."""
    p = os.fspath(path)
    return {k: f"{p}.{k}" for k in ("fai", "gzi", "gfi", "loc")}


def gzip_advice(path) -> str:
    p = os.fspath(path)
    return ("this file is plain gzip, which cannot be read at random; recompress it as BGZF: "
            f"`genomicframe bgzip -dc {p} | genomicframe bgzip -c > OUT.fa.gz` "
            f"(or `zcat {p} | bgzip > OUT.fa.gz`)")


class IndexResult:
    """What :func:`build_index` produced.

    Attributes
    ----------
    gfi : bytes or str
        The ``.gfi`` (a path when written, else the encoded bytes).
    n_records : int
        Records indexed (duplicates and header-only records excluded).
    n_blocks : int
        BGZF blocks holding data (0 for an uncompressed file).
    data_size : int
        Uncompressed size in bytes.
    written : list of str
        Index files written.
    """

    def __init__(self, gfi, n_records, n_blocks, data_size, written):
        self.gfi = gfi
        self.n_records = n_records
        self.n_blocks = n_blocks
        self.data_size = data_size
        self.written = written

    def __repr__(self) -> str:
        return (f"IndexResult(n_records={self.n_records}, n_blocks={self.n_blocks}, "
                f"data_size={self.data_size}, written={self.written})")


def _raise_scan(code: int, scanner, path) -> None:
    name = scanner.current_name().decode("utf-8", "replace")
    line = scanner.err_line
    if code == ST_DIFF_LEN:
        raise FastaFormatError(
            f"irregular line wrapping in record '{name}': line {line} is longer than the "
            f"record's first sequence line ({scanner.line_len} bytes with its line end); every "
            "sequence line but the last must have the same length for a .fai index "
            "(samtools refuses this file too): rewrap it, e.g. `seqkit seq -w 60`",
            path=path, line=line)
    if code == ST_UNEXPECTED:
        c = scanner.err_char
        shown = repr(chr(c)) if 32 <= c < 127 else f"byte 0x{c:02x}"
        if scanner.why == WHY_SHORT:
            raise FastaFormatError(
                f"irregular line wrapping in record '{name}': sequence line {line} follows "
                f"the shorter line {scanner.why_line}; every sequence line but the last must "
                "have the same length for a .fai index (samtools refuses this file too): "
                "rewrap it, e.g. `seqkit seq -w 60`", path=path, line=line)
        if scanner.why == WHY_BLANK:
            raise FastaFormatError(
                f"record '{name}': a blank line (line {scanner.why_line}) inside its sequence "
                f"is followed by more sequence at line {line}; remove the blank line "
                "(samtools refuses this file too)", path=path, line=line)
        raise FastaFormatError(
            f"expected a '>' header line, found {shown}: this is not a FASTA file",
            path=path, line=line)
    if code == ST_CR:
        raise FastaFormatError("carriage return not followed by a newline", path=path,
                               line=line)
    if code == ST_NO_SEQ_LAST:
        raise FastaFormatError(
            f"the last record '{name}' (line {line}) has no sequence; samtools refuses such "
            "a file too: remove the header or add its sequence (is the file truncated?)",
            path=path, line=line)
    if code == ST_EMPTY:
        raise FastaFormatError("no FASTA record in the file (it is empty or only blank lines)",
                               path=path)
    if code == ST_FASTQ:
        raise FastaFormatError("this looks like FASTQ ('@' header), not FASTA; FastaFile "
                               "indexes FASTA only", path=path, line=line)
    if code == ST_NOMEM:
        raise MemoryError("out of memory while indexing " + os.fspath(path))
    raise FastaFormatError(f"FASTA scan failed (status {code})", path=path)


#: blocks scanned between two hand-overs of finished records to the text writers
_TAKE_EVERY = 256
#: compressed bytes read per system call
_READ_SIZE = 2 << 20


def _scan(path, threads, on_chunk):
    """Inflate and scan the whole file; finished records go to ``on_chunk`` in file order.

    ``on_chunk(scanner, lo, hi)`` is told when records ``lo:hi`` are finished.
    Returns ``(scanner, compression, block coffsets, block usizes, uncompressed size)``.
    """
    from .._parsers.fastaidx import FaiScanner, prescan
    from ..bgzf.reader import Reader

    scanner = FaiScanner()
    coffs, usizes = [], []
    u = done = 0
    # 2 MiB reads: the read buffers are reused by malloc instead of being mapped
    # (and page-faulted) afresh for every read
    with Reader(path, threads=threads, check_eof=True, read_size=_READ_SIZE) as r:
        compression = r.compression
        if compression == "gzip":
            raise NotBgzfError(gzip_advice(path), path=path, offset=0)
        k = 0
        feed = scanner.feed_summary
        # each block is summarised (line ends, base counts) on the thread that inflated
        # it; this thread only walks the summaries, line by line, in file order
        for key, data, summary in r.blocks(prescan):
            code = feed(data, summary, u)
            if code:
                _raise_scan(code, scanner, path)
            if compression == "bgzf":
                coffs.append(key)
                usizes.append(len(data))
            u += len(data)
            k += 1
            if k % _TAKE_EVERY == 0 and scanner.n_records > done:
                on_chunk(scanner, done, scanner.n_records)
                done = scanner.n_records
    code = scanner.finish(u)
    if code:
        _raise_scan(code, scanner, path)
    on_chunk(scanner, done, scanner.n_records)
    return scanner, compression, coffs, usizes, u


class _Collector:
    """Takes each batch of finished records from the scanner, in file order.

    With ``fai_fh`` (files being written) the batch's ``.fai`` (and ``.loc``) lines
    are formatted straight from the scanner's buffers, GIL released, into one
    reused buffer and written; then the scanner drops the batch's names, so the
    scan keeps only its 40-byte rows.  Header-only records are left out of the
    text as they come; repeated names are only known at the end, when the text
    is rewritten without them in the (rare) case there are any.  Without files
    the scanner keeps the names and nothing is formatted.
    """

    #: header-only records named in the warning
    SHOWN = 5

    def __init__(self, fai_fh, loc_fh):
        self.fai_fh = fai_fh
        self.loc_fh = loc_fh
        self.buf = bytearray()
        # per batch written: (first .fai line, lines, .fai offset, .fai bytes,
        # .loc offset, .loc bytes)
        self.batches = []
        self.lines = self.fai_pos = self.loc_pos = 0
        self.n_header_only = 0
        self.header_only = []  # (name, line) of the first SHOWN header-only records

    def __call__(self, scanner, lo, hi):
        from .._parsers import fastaidx as K

        if hi <= lo:
            return
        rows, names, ends = scanner.views(lo, hi)
        count, first = K.header_only(rows, self.SHOWN - len(self.header_only))
        for i in first:
            a = ends[i - 1] if i else 0
            self.header_only.append((bytes(names[a:ends[i]]),
                                     K.row_fields(rows, i)["line_no"]))
        self.n_header_only += count
        if self.fai_fh is None:
            return
        last = scanner.last_end
        n_fai = K.format_index(rows, names, ends, last, 0, self.buf)
        self.fai_fh.write(memoryview(self.buf)[:n_fai])
        n_loc = 0
        if self.loc_fh is not None:
            n_loc = K.format_index(rows, names, ends, last, 1, self.buf)
            self.loc_fh.write(memoryview(self.buf)[:n_loc])
        n_lines = len(rows) - count
        self.batches.append((self.lines, n_lines, self.fai_pos, n_fai, self.loc_pos, n_loc))
        self.lines += n_lines
        self.fai_pos += n_fai
        self.loc_pos += n_loc
        scanner.release()

    def names_of(self, scanner, records, valid) -> dict:
        """Names (bytes) of valid ``records`` (ascending): from the scanner when it
        kept them, else from the ``.fai`` lines written."""
        from bisect import bisect_right

        from .._parsers import fastaidx as K

        if self.fai_fh is None:
            _, names, ends = scanner.views(0)
            return {r: bytes(names[(ends[r - 1] if r else 0):ends[r]]) for r in records}
        self.fai_fh.flush()
        fd = self.fai_fh.fileno()
        starts = [b[0] for b in self.batches]
        out, cached = {}, {}
        for r, line in zip(records, K.ranks(valid, records)):
            k = bisect_right(starts, line) - 1
            if k not in cached:
                _, _, pos, size, _, _ = self.batches[k]
                cached.clear()  # records are ascending: one batch at a time
                cached[k] = os.pread(fd, size, pos).split(b"\n")
            out[r] = cached[k][line - starts[k]].split(b"\t", 1)[0]
        return out

    def drop_lines(self, drop: list) -> None:
        """Remove the lines numbered ``drop`` (ascending) from the ``.fai`` and ``.loc``
        written, in place (the text only moves towards the start)."""
        for fh, col in ((self.fai_fh, 2), (self.loc_fh, 4)):
            if fh is None:
                continue
            fh.flush()
            fd = fh.fileno()
            j = out = 0
            for b in self.batches:
                first, n, pos, size = b[0], b[1], b[col], b[col + 1]
                lo = j
                while j < len(drop) and drop[j] < first + n:
                    j += 1
                if lo == j and out == pos:
                    out += size  # nothing dropped yet: the batch stays where it is
                    continue
                text = os.pread(fd, size, pos)
                if lo < j:
                    cut = {d - first for d in drop[lo:j]}
                    text = b"\n".join([ln for i, ln in enumerate(text.split(b"\n"))
                                       if i not in cut])
                _pwrite_all(fd, text, out)
                out += len(text)
            os.ftruncate(fd, out)
            fh.seek(out)


def _block_end(path, last_coffset: int) -> int:
    """Compressed offset just past the BGZF block that starts at ``last_coffset``."""
    from ..bgzf.header import block_end

    with open(path, "rb") as fh:
        return block_end(fh.fileno(), last_coffset, path)


def _gzi_bytes(coffs, uoffs) -> bytes:
    """``.gzi`` of the data blocks (as ``bgzip -r``): count, then (coffset, uoffset) pairs
    of every data block but the first."""
    n = len(coffs) - 1
    body = array("Q", [0]) * (2 * max(n, 0))
    if n > 0:
        body[0::2] = array("Q", coffs[1:])
        body[1::2] = array("Q", uoffs[1:n + 1])
    count = array("Q", [n % (1 << 64)])  # no data at all: 2**64 - 1, as htslib writes
    return count.tobytes() + body.tobytes()


def build_index(path, *, threads: int | None = None, loc: bool = False, write: bool = True,
                duplicates: str = "warn") -> IndexResult:
    """Index a FASTA file (plain or BGZF) in one pass; write ``.fai``, ``.gzi``, ``.gfi``.

    Parameters
    ----------
    path : str or os.PathLike
        The FASTA file.  Plain gzip is refused (it cannot be read at random).
    threads : int, optional
        Inflate threads (default: one per core).
    loc : bool
        Also write ``FILE.loc`` (name, offset of ``>``, record size).
    write : bool
        Write the index files beside ``path``; with ``False`` nothing is written
        and :attr:`IndexResult.gfi` holds the ``.gfi`` bytes.
    duplicates : {"warn", "error"}
        A repeated record name keeps its first record (as samtools does) with a
        :class:`DuplicateNameWarning`, or raises :class:`FastaFormatError`.

    Raises
    ------
    FastaFormatError
        Irregular line wrapping, a blank line inside a sequence, a last record
        without sequence, FASTQ input... (the same files samtools refuses).
    NotBgzfError
        The file is plain gzip.
    """
    from .._parsers import fastaidx as K

    if duplicates not in ("warn", "error"):
        raise ValueError("duplicates must be 'warn' or 'error'")
    path = os.fspath(path)
    st = os.stat(path)
    paths = index_paths(path)
    tmp = {k: f"{v}.tmp{os.getpid()}" for k, v in paths.items()}
    # read back (pread) for repeated names
    fai_fh = open(tmp["fai"], "w+b") if write else None
    loc_fh = open(tmp["loc"], "w+b") if write and loc else None
    old = [paths[k] for k in ("fai", "gzi", "gfi", "loc") if k != "loc" or loc]
    discard = _discard_old(old) if write else None
    try:
        sink = _Collector(fai_fh, loc_fh)
        scanner, compression, coffs, usizes, data_size = _scan(path, threads, sink)
        result = _finish(path, st, scanner, sink, compression, coffs, usizes, data_size,
                         write, duplicates, paths, tmp, K)
    finally:
        for fh in (fai_fh, loc_fh):
            if fh is not None:
                fh.close()
        for t in tmp.values():
            if os.path.exists(t):
                os.unlink(t)
        if discard is not None:
            discard.join()
    return result


def _discard_old(paths):
    """Delete the previous index files on a background thread, during the scan.

    Freeing a large file's pages and blocks takes tens of milliseconds, which
    replacing it at the end would spend after all other work.  The index is
    rebuilt anyway: if the build fails, no index is left rather than an old one.
    """
    import threading

    old = []
    for p in paths:
        dead = f"{p}.old{os.getpid()}"
        try:
            os.rename(p, dead)
        except OSError:
            continue
        old.append(dead)

    def run():
        for d in old:
            try:
                os.unlink(d)
            except OSError:
                pass

    t = threading.Thread(target=run, name="gf-index-discard", daemon=True)
    t.start()
    return t


def _shown(items) -> str:
    return ", ".join(f"'{name.decode('utf-8', 'replace')}' (line {line})"
                     for name, line in items)


def _repeats(scanner, sink, table, valid) -> tuple[list, dict]:
    """Records that repeat an earlier record's name (ascending), and the names of
    the records compared.  Only records whose name hashes are equal are compared."""
    runs = table.equal_hash_runs()
    if not runs:
        return [], {}
    names = sink.names_of(scanner, sorted({r for run in runs for r in run}), valid)
    dups = []
    for run in runs:
        seen = set()
        for r in run:
            if names[r] in seen:
                dups.append(r)
            else:
                seen.add(names[r])
    dups.sort()
    return dups, names


def _finish(path, st, scanner, sink, compression, coffs, usizes, data_size, write, duplicates,
            paths, tmp, K):
    """Hash table, .gzi and .gfi from the scanned records; rename the files into place."""
    rows = scanner.rows()
    n = len(rows)
    if sink.n_header_only:
        more = sink.n_header_only - len(sink.header_only)
        warnings.warn(EmptyRecordWarning(
            f"{path}: {sink.n_header_only} header(s) without a sequence line are not "
            f"indexed, as samtools faidx does: {_shown(sink.header_only)}"
            + (f" and {more} more" if more > 0 else "")), stacklevel=3)
    if scanner.misfit_line:
        raise FastaFormatError(
            f"the record at line {scanner.misfit_line} does not fit the .gfi index (an "
            "offset past 2**56, over 2**48 bases, a header line over 4 GiB or over 65,535 "
            "bytes after the bases of a line)", path=path)

    valid = K.valid_mask(rows)
    table = K.build_table(rows, valid, data_size)
    dups, names = _repeats(scanner, sink, table, valid)
    if dups:
        shown = _shown((names[r], K.row_fields(rows, r)["line_no"]) for r in dups[:5])
        more = f" and {len(dups) - 5} more" if len(dups) > 5 else ""
        msg = (f"{len(dups)} record(s) repeat an earlier name: {shown}{more}")
        if duplicates == "error":
            raise FastaFormatError(msg + "; names must be unique to fetch by name",
                                   path=path)
        warnings.warn(DuplicateNameWarning(
            f"{path}: {msg}; only the first record of each name is indexed, as samtools "
            "faidx does"), stacklevel=3)
        if write:  # the streamed text lists them: drop their lines
            sink.drop_lines(K.ranks(valid, dups))
        for r in dups:
            valid[r] = 0
    table.place(valid, len(dups))
    n_keys = table.n_keys
    # the slots, ends and file order are made a slice at a time as they are written
    slots = _gfi.Chunked(table.n_slots * _gfi.KEY_SIZE, table.chunks("slots"))
    ends = _gfi.Chunked(table.n_slots * 8, table.chunks("ends"))
    forder = _gfi.Chunked(n_keys * 8, table.chunks("forder"))

    if compression == "bgzf":
        uoff = array("q", accumulate(usizes, initial=0))
        coff_s = array("q", coffs)
        coff_s.append(_block_end(path, coffs[-1]) if coffs else 0)
    else:
        coff_s = array("q", [0])
        uoff = array("q", [data_size])
    header, gfi_parts = _gfi.encode(
        slots=slots, ends=ends, n_keys=n_keys, n_home=table.n_home, n_slots=table.n_slots,
        forder=forder, coff=coff_s, uoff=uoff, n_records=n, data_size=data_size,
        file_size=st.st_size, file_mtime_ns=st.st_mtime_ns, bgzf=compression == "bgzf")
    written = []
    if not write:
        return IndexResult(header + b"".join(_gfi.iter_parts(gfi_parts)), n_keys,
                           len(coffs), data_size, written)
    sink.fai_fh.close()
    os.replace(tmp["fai"], paths["fai"])
    written.append(paths["fai"])
    if compression == "bgzf":
        _gfi.write(paths["gzi"], [_gzi_bytes(coffs, uoff)])
        written.append(paths["gzi"])
    if sink.loc_fh is not None:
        sink.loc_fh.close()
        os.replace(tmp["loc"], paths["loc"])
        written.append(paths["loc"])
    with open(tmp["gfi"], "wb") as fh:
        _write_sections(fh.fileno(), _gfi.HEADER.size, gfi_parts, table,
                        {id(slots): "slots", id(ends): "ends", id(forder): "forder"})
        os.pwrite(fh.fileno(), header, 0)
    os.replace(tmp["gfi"], paths["gfi"])  # last: its mtime marks a complete index
    written.append(paths["gfi"])
    return IndexResult(paths["gfi"], n_keys, len(coffs), data_size, written)


def _pwrite_all(fd, buf, off) -> None:
    mv = memoryview(buf).cast("B")
    while len(mv):
        n = os.pwrite(fd, mv, off)
        mv = mv[n:]
        off += n


def _write_sections(fd, pos, parts, table, chunked) -> None:
    """Write the ``.gfi`` sections (``parts`` of :func:`genomicframe.fasta.gfi.encode`)
    from file offset ``pos`` on, on two threads.

    The slots, ends and file order (``chunked`` maps their parts to ``"slots"``,
    ``"ends"`` and ``"forder"``) are made from the hash table a slice at a time
    (GIL released) and written where they belong, the slots and ends of a slice
    together (one pass over its keys); a helper thread takes jobs from the front
    of the list, this thread from the back, so both finish together.
    """
    import threading
    from collections import deque

    from .._parsers.fastaidx import TABLE_CHUNK

    at = {}
    plain = []
    for part in parts:
        kind = chunked.get(id(part))
        if kind is None:
            plain.append((pos, part))
        else:
            at[kind] = pos
        pos += len(part)
    jobs = deque(("plain", off, buf) for off, buf in plain)
    for lo in range(0, table.n_slots, TABLE_CHUNK):
        jobs.append(("table", lo, min(lo + TABLE_CHUNK, table.n_slots)))
    for lo in range(0, table.n_keys, TABLE_CHUNK):
        jobs.append(("forder", lo, min(lo + TABLE_CHUNK, table.n_keys)))
    errors = []

    def drain(pop):
        try:
            while True:
                try:
                    job = pop()
                except IndexError:
                    return
                if job[0] == "plain":
                    _pwrite_all(fd, job[2], job[1])
                elif job[0] == "table":
                    lo, hi = job[1], job[2]
                    keys, ends = table.slots_and_ends(lo, hi)
                    _pwrite_all(fd, keys, at["slots"] + lo * _gfi.KEY_SIZE)
                    _pwrite_all(fd, ends, at["ends"] + lo * 8)
                else:
                    _pwrite_all(fd, table.forder(job[1], job[2]), at["forder"] + job[1] * 8)
        except BaseException as exc:  # re-raised by the caller
            jobs.clear()
            errors.append(exc)

    helper = threading.Thread(target=drain, args=(jobs.popleft,), name="gf-index-gfi")
    helper.start()
    drain(jobs.pop)
    helper.join()
    if errors:
        raise errors[0]
