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

#: blocks fed to the scanner between two hand-overs of finished records
_TAKE_EVERY = 512


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


def _scan(path, threads):
    """Inflate and scan the whole file -> (rows bytes, names, name ends, blocks, sizes)."""
    from .._parsers.fastaidx import FaiScanner
    from ..bgzf.reader import Reader

    scanner = FaiScanner()
    rows, names, ends = [], [], []
    coffs, usizes = [], []
    u = 0
    with Reader(path, threads=threads, check_eof=True) as r:
        compression = r.compression
        if compression == "gzip":
            raise NotBgzfError(gzip_advice(path), path=path, offset=0)
        if compression == "bgzf":
            it = r.blocks()
        else:
            it = r.pieces()
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
                a, b, c = scanner.take()
                rows.append(a)
                names.append(b)
                ends.append(c)
    code = scanner.finish(u)
    if code:
        _raise_scan(code, scanner, path)
    a, b, c = scanner.take()
    rows.append(a)
    names.append(b)
    ends.append(c)
    return rows, names, ends, compression, coffs, usizes, u


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
    from ..bgzf.gzi import gzi_bytes

    if duplicates not in ("warn", "error"):
        raise ValueError("duplicates must be 'warn' or 'error'")
    path = os.fspath(path)
    st = os.stat(path)
    rows_b, names_b, ends_b, compression, coffs, usizes, data_size = _scan(path, threads)
    rows = np.frombuffer(b"".join(rows_b), dtype=np.int64).reshape(-1, K.NCOL)
    # name ends are relative to each hand-over's blob: make them global
    parts, shift = [], 0
    for blob_part, e in zip(names_b, ends_b):
        parts.append(np.frombuffer(e, dtype=np.int64) + shift)
        shift += len(blob_part)
    blob = b"".join(names_b)
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

    hashes = np.empty(n, dtype=np.uint64)
    K.hash_blob(blob, name_start, name_end, hashes)
    cand = np.flatnonzero(valid)
    order = cand[np.argsort(hashes[cand], kind="stable")]
    sh = hashes[order]
    keep = np.ones(len(order), dtype=bool)
    same = np.flatnonzero(sh[1:] == sh[:-1])
    dups = []
    if len(same):
        # equal hashes: compare the names themselves (first record wins, as in htslib)
        seen_groups = {}
        for j in np.unique(np.concatenate([same, same + 1])):
            r = int(order[j])
            nm = blob[name_start[r]:name_end[r]]
            first = seen_groups.setdefault((int(sh[j]), nm), r)
            if first != r:
                keep[j] = False
                dups.append(r)
    if dups:
        dups.sort()
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
        valid[np.asarray(dups)] = False
    order = order[keep]
    sh = sh[keep]
    dir_bits = _gfi.dir_bits_for(len(sh))
    if dir_bits:
        top = (sh >> np.uint64(64 - dir_bits)).astype(np.int64)
        dirs = np.searchsorted(top, np.arange((1 << dir_bits) + 1), side="left")
    else:
        dirs = np.zeros(0, dtype=np.uint64)
    selected = np.flatnonzero(valid).astype(np.int64)

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
    name_off = np.concatenate([np.zeros(1, np.int64), name_end])
    gfi_parts = _gfi.encode(
        rows=rows, name_off=name_off, blob=blob, hashes=sh, order=order, dirs=dirs,
        dir_bits=dir_bits, coff=coff_s, uoff=uoff, data_size=data_size, file_size=st.st_size,
        file_mtime_ns=st.st_mtime_ns, bgzf=compression == "bgzf")
    written = []
    paths = index_paths(path)
    rows_c = np.ascontiguousarray(rows)
    if not write:
        return IndexResult(b"".join(bytes(p) for p in gfi_parts), len(selected),
                           len(coffs), data_size, written)
    fai = K.format_index(blob, name_start, name_end, rows_c, selected, 0)
    _gfi.write(paths["fai"], [fai])
    written.append(paths["fai"])
    if compression == "bgzf":
        from ..bgzf.blocks import BlockTable

        table = BlockTable.from_arrays(coff, np.zeros(len(coff), np.int32), usz)
        _gfi.write(paths["gzi"], [gzi_bytes(table)])
        written.append(paths["gzi"])
    if loc:
        _gfi.write(paths["loc"], [K.format_index(blob, name_start, name_end, rows_c,
                                                 selected, 1)])
        written.append(paths["loc"])
    _gfi.write(paths["gfi"], gfi_parts)  # last: its mtime marks a complete index
    written.append(paths["gfi"])
    return IndexResult(paths["gfi"], len(selected), len(coffs), data_size, written)
