"""Build the indexes of a FASTA file in one block-parallel pass.

One pass over the data (BGZF blocks inflated on a thread pool while the
:class:`~genomicframe._parsers.fastaidx.FaiScanner` walks the inflated bytes)
gives everything:

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
    return (f"{p} is plain gzip, which cannot be read at random; recompress it as BGZF: "
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
            f"record's first sequence line ({scanner.line_len - 1} bytes + newline); every "
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


def _scan(path, threads, on_chunk):
    """Inflate and scan the whole file; finished records go to ``on_chunk`` in file order.

    ``on_chunk(rows, names, name_ends)`` receives the scanner's hand-overs (bytes).
    Returns ``(compression, block coffsets, block usizes, uncompressed size)``.
    """
    from .._parsers.fastaidx import FaiScanner
    from ..bgzf.reader import Reader

    scanner = FaiScanner()
    coffs, usizes = [], []
    u = 0
    with Reader(path, threads=threads, check_eof=True) as r:
        compression = r.compression
        if compression == "gzip":
            raise NotBgzfError(gzip_advice(path), path=path, offset=0)
        it = r.blocks() if compression == "bgzf" else r.pieces()
        k = 0
        feed = scanner.feed
        for key, data in it:
            code = feed(data, u)
            if code:
                _raise_scan(code, scanner, path)
            if compression == "bgzf":
                coffs.append(key)
                usizes.append(len(data))
            u += len(data)
            k += 1
            if k % _TAKE_EVERY == 0 and scanner.n_pending:
                on_chunk(*scanner.take())
    code = scanner.finish(u)
    if code:
        _raise_scan(code, scanner, path)
    on_chunk(*scanner.take())
    return compression, coffs, usizes, u


class _Collector:
    """Keeps the scanner's hand-overs and streams .fai/.loc lines while the scan runs.

    Header-only records are left out as they come; repeated names are only known
    at the end, when the text is rewritten in the (rare) case there are any.
    """

    def __init__(self, fai_fh, loc_fh):
        self.rows, self.names, self.ends = [], [], []
        self.fai_fh = fai_fh
        self.loc_fh = loc_fh

    def __call__(self, rows, names, ends):
        import numpy as np

        from .._parsers import fastaidx as K

        self.rows.append(rows)
        self.names.append(names)
        self.ends.append(ends)
        if self.fai_fh is None and self.loc_fh is None:
            return
        r = np.frombuffer(rows, dtype=np.int64).reshape(-1, K.NCOL)
        e = np.frombuffer(ends, dtype=np.int64)
        st = np.empty_like(e)
        if len(e):
            st[0] = 0
            st[1:] = e[:-1]
        sel = np.flatnonzero((r[:, 7] & FLAG_NO_SEQ) == 0).astype(np.int64)
        if self.fai_fh is not None:
            self.fai_fh.write(K.format_index(names, st, e, r, sel, 0))
        if self.loc_fh is not None:
            self.loc_fh.write(K.format_index(names, st, e, r, sel, 1))


def _block_end(path, last_coffset: int) -> int:
    """Compressed offset just past the block that starts at ``last_coffset``."""
    from ..bgzf.blocks import scan_file

    t = scan_file(path, start=last_coffset)
    return int(t.coffset[0] + t.csize[0])


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
    import numpy as np

    from .._parsers import fastaidx as K

    if duplicates not in ("warn", "error"):
        raise ValueError("duplicates must be 'warn' or 'error'")
    path = os.fspath(path)
    st = os.stat(path)
    paths = index_paths(path)
    tmp = {k: f"{v}.tmp{os.getpid()}" for k, v in paths.items()}
    fai_fh = open(tmp["fai"], "wb") if write else None
    loc_fh = open(tmp["loc"], "wb") if write and loc else None
    try:
        sink = _Collector(fai_fh, loc_fh)
        compression, coffs, usizes, data_size = _scan(path, threads, sink)
        result = _finish(path, st, sink, compression, coffs, usizes, data_size, loc, write,
                         duplicates, paths, tmp, np, K)
    finally:
        for fh in (fai_fh, loc_fh):
            if fh is not None:
                fh.close()
        for t in tmp.values():
            if os.path.exists(t):
                os.unlink(t)
    return result


def _finish(path, st, sink, compression, coffs, usizes, data_size, loc, write, duplicates,
            paths, tmp, np, K):
    """Hash table, .gzi and .gfi from the collected records; rename the files into place."""
    from ..bgzf.gzi import gzi_bytes

    rows = np.frombuffer(b"".join(sink.rows), dtype=np.int64).reshape(-1, K.NCOL)
    parts, shift = [], 0
    for blob_part, e in zip(sink.names, sink.ends):
        parts.append(np.frombuffer(e, dtype=np.int64) + shift)
        shift += len(blob_part)
    blob = b"".join(sink.names)
    sink.rows = sink.names = sink.ends = None
    name_end = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    name_start = np.empty_like(name_end)
    if len(name_end):
        name_start[0] = 0
        name_start[1:] = name_end[:-1]
    n = len(rows)
    flags = rows[:, 7]
    valid = (flags & FLAG_NO_SEQ) == 0
    dropped = np.flatnonzero(~valid)
    if len(dropped):
        shown = ", ".join(f"'{blob[name_start[i]:name_end[i]].decode('utf-8', 'replace')}' "
                          f"(line {rows[i, 6]})" for i in dropped[:5])
        more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        warnings.warn(EmptyRecordWarning(
            f"{path}: {len(dropped)} header(s) without a sequence line are not indexed, as "
            f"samtools faidx does: {shown}{more}"), stacklevel=2)

    valid_u8 = valid.astype(np.uint8)
    n_valid = int(valid_u8.sum())
    dir_bits = _gfi.dir_bits_for(n_valid)
    keys, dirs, spans, forder, dups = K.build_table(
        rows, blob, name_start, name_end, valid_u8, dir_bits)
    if dups:
        shown = ", ".join(f"'{blob[name_start[r]:name_end[r]].decode('utf-8', 'replace')}' "
                          f"(line {rows[r, 6]})" for r in dups[:5])
        more = f" and {len(dups) - 5} more" if len(dups) > 5 else ""
        msg = (f"{len(dups)} record(s) repeat an earlier name: {shown}{more}")
        if duplicates == "error":
            raise FastaFormatError(msg + "; names must be unique to fetch by name",
                                   path=path)
        warnings.warn(DuplicateNameWarning(
            f"{path}: {msg}; only the first record of each name is indexed, as samtools "
            "faidx does"), stacklevel=2)
    selected = np.flatnonzero(valid_u8).astype(np.int64)

    if compression == "bgzf":
        coff = np.asarray(coffs, dtype=np.int64)
        usz = np.asarray(usizes, dtype=np.int64)
        uoff = np.zeros(len(usz) + 1, dtype=np.int64)
        np.cumsum(usz, out=uoff[1:])
        end = _block_end(path, int(coff[-1])) if len(coff) else 0
        coff_s = np.append(coff, end)
    else:
        coff_s = np.zeros(1, dtype=np.int64)
        uoff = np.asarray([data_size], dtype=np.int64)
    gfi_parts = _gfi.encode(
        keys=keys, dirs=dirs, dir_bits=dir_bits, blob=blob, spans=spans, forder=forder,
        coff=coff_s, uoff=uoff, n_records=n, data_size=data_size, file_size=st.st_size,
        file_mtime_ns=st.st_mtime_ns, bgzf=compression == "bgzf")
    written = []
    if not write:
        return IndexResult(b"".join(bytes(p) for p in gfi_parts), len(selected),
                           len(coffs), data_size, written)
    if dups:  # the streamed text listed repeated names: write it again without them
        rows_c = np.ascontiguousarray(rows)
        sink.fai_fh.seek(0)
        sink.fai_fh.truncate()
        sink.fai_fh.write(K.format_index(blob, name_start, name_end, rows_c, selected, 0))
        if sink.loc_fh is not None:
            sink.loc_fh.seek(0)
            sink.loc_fh.truncate()
            sink.loc_fh.write(K.format_index(blob, name_start, name_end, rows_c, selected, 1))
    sink.fai_fh.close()
    os.replace(tmp["fai"], paths["fai"])
    written.append(paths["fai"])
    if compression == "bgzf":
        from ..bgzf.blocks import BlockTable

        table = BlockTable.from_arrays(coff, np.zeros(len(coff), np.int32), usz)
        _gfi.write(paths["gzi"], [gzi_bytes(table)])
        written.append(paths["gzi"])
    if sink.loc_fh is not None:
        sink.loc_fh.close()
        os.replace(tmp["loc"], paths["loc"])
        written.append(paths["loc"])
    _gfi.write(paths["gfi"], gfi_parts)  # last: its mtime marks a complete index
    written.append(paths["gfi"])
    return IndexResult(paths["gfi"], len(selected), len(coffs), data_size, written)
