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
    """Streams .fai/.loc lines while the scan runs, and hashes the names.

    Each batch of finished records is hashed (for the .gfi table) and formatted
    as .fai/.loc text straight from the scanner's buffers, GIL released, before
    the next block moves them; a writer thread writes the text, so those writes
    overlap the inflate and the scan.  Header-only records are left out as they
    come; repeated names are only known at the end, when the text is rewritten
    in the (rare) case there are any.
    """

    def __init__(self, fai_fh, loc_fh):
        self.fai_fh = fai_fh
        self.loc_fh = loc_fh
        self.blob_len = 0
        self.hashes = array("Q")  # name hash of every record
        self._pending = []
        self._pool = None
        if fai_fh is not None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="gf-index-writer")

    def __call__(self, scanner, lo, hi):
        from .._parsers import fastaidx as K

        if hi <= lo:
            return
        rows, names, ends = scanner.views(lo, hi)
        first = self.blob_len
        self.blob_len = ends[len(ends) - 1]
        self.hashes.extend(K.hash_names(names, ends, first))
        if self._pool is None:
            return
        loc = None
        st, en = K.rebased_names(ends, first)
        sel = K.valid_rows(rows)
        fai = K.format_index(names, st, en, rows, sel, 0)
        if self.loc_fh is not None:
            loc = K.format_index(names, st, en, rows, sel, 1)
        # batches are submitted in file order to this single thread
        self._pending.append(self._pool.submit(self._write, fai, loc))

    def _write(self, fai, loc):
        self.fai_fh.write(fai)
        if loc is not None:
            self.loc_fh.write(loc)

    def finish(self) -> None:
        """Wait for the writer (re-raising its errors)."""
        try:
            for f in self._pending:
                f.result()
        finally:
            self._pending = []
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None


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
    fai_fh = open(tmp["fai"], "wb") if write else None
    loc_fh = open(tmp["loc"], "wb") if write and loc else None
    old = [paths[k] for k in ("fai", "gzi", "gfi", "loc") if k != "loc" or loc]
    discard = _discard_old(old) if write else None
    try:
        sink = _Collector(fai_fh, loc_fh)
        try:
            scanner, compression, coffs, usizes, data_size = _scan(path, threads, sink)
            # the writer may still be writing the last texts: _finish waits for it
            result = _finish(path, st, scanner, sink, compression, coffs, usizes, data_size,
                             write, duplicates, paths, tmp, K)
        finally:
            sink.finish()
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


def _finish(path, st, scanner, sink, compression, coffs, usizes, data_size, write, duplicates,
            paths, tmp, K):
    """Hash table, .gzi and .gfi from the scanned records; rename the files into place."""
    rows, blob, name_end = scanner.views()
    n = len(rows)

    def name_of(i):
        a = name_end[i - 1] if i else 0
        return bytes(blob[a:name_end[i]]).decode("utf-8", "replace")

    valid = K.valid_mask(rows)
    n_valid = valid.count(1)
    if n_valid < n:
        dropped = [i for i, v in enumerate(valid) if not v]
        shown = ", ".join(f"'{name_of(i)}' (line {rows[i, 6]})" for i in dropped[:5])
        more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        warnings.warn(EmptyRecordWarning(
            f"{path}: {len(dropped)} header(s) without a sequence line are not indexed, as "
            f"samtools faidx does: {shown}{more}"), stacklevel=3)

    # the writer's last texts are freed before the table is made (peak memory)
    sink.finish()
    try:
        table, forder, dups = K.build_table(
            rows, blob, name_end, valid,
            sink.hashes if len(sink.hashes) == n else None)  # the hashes are overwritten
    except ValueError as exc:
        raise FastaFormatError(str(exc), path=path) from None
    sink.hashes = None
    if dups:
        shown = ", ".join(f"'{name_of(r)}' (line {rows[r, 6]})" for r in dups[:5])
        more = f" and {len(dups) - 5} more" if len(dups) > 5 else ""
        msg = (f"{len(dups)} record(s) repeat an earlier name: {shown}{more}")
        if duplicates == "error":
            raise FastaFormatError(msg + "; names must be unique to fetch by name",
                                   path=path)
        warnings.warn(DuplicateNameWarning(
            f"{path}: {msg}; only the first record of each name is indexed, as samtools "
            "faidx does"), stacklevel=3)
    n_keys = table.n_keys
    # the slots and ends are made a slice at a time as they are written
    slots = _gfi.Chunked(table.n_slots * _gfi.KEY_SIZE, table.chunks("slots"))
    ends = _gfi.Chunked(table.n_slots * 8, table.chunks("ends"))

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
    if dups:  # the streamed text listed repeated names: write it again without them
        selected = K.valid_rows(rows, valid)
        name_start = K.starts_of(name_end)
        sink.fai_fh.seek(0)
        sink.fai_fh.truncate()
        sink.fai_fh.write(K.format_index(blob, name_start, name_end, rows, selected, 0))
        if sink.loc_fh is not None:
            sink.loc_fh.seek(0)
            sink.loc_fh.truncate()
            sink.loc_fh.write(K.format_index(blob, name_start, name_end, rows, selected, 1))
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
                        {id(slots): "slots", id(ends): "ends"})
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

    The slots and ends (``chunked`` maps their parts to ``"slots"``/``"ends"``)
    are made from the hash table a slice at a time (GIL released) and written
    where they belong; a helper thread takes slices from the front of the list,
    this thread from the back, so both finish together.
    """
    import threading
    from collections import deque

    from .._parsers.fastaidx import TABLE_CHUNK

    jobs = deque()
    for part in parts:
        kind = chunked.get(id(part))
        if kind is None:
            jobs.append((pos, part, None, 0, 0))
        else:
            width = len(part) // table.n_slots if table.n_slots else 0
            for lo in range(0, table.n_slots, TABLE_CHUNK):
                jobs.append((pos + lo * width, None, kind, lo,
                             min(lo + TABLE_CHUNK, table.n_slots)))
        pos += len(part)
    errors = []

    def drain(pop):
        try:
            while True:
                try:
                    off, buf, kind, lo, hi = pop()
                except IndexError:
                    return
                if kind is not None:
                    buf = table.slots(lo, hi) if kind == "slots" else table.ends(lo, hi)
                _pwrite_all(fd, buf, off)
        except BaseException as exc:  # re-raised by the caller
            jobs.clear()
            errors.append(exc)

    helper = threading.Thread(target=drain, args=(jobs.popleft,), name="gf-index-gfi")
    helper.start()
    drain(jobs.pop)
    helper.join()
    if errors:
        raise errors[0]
