"""FASTA indexing and retrieval (genomicframe.fasta) against pysam/htslib as the oracle.

* every real file in ../shared/data/real/fasta: .fai (and .gzi) bytes as pysam.faidx
  writes them, or an error where pysam errors; every record fetched as pysam fetches it;
* generated files, wrapped/unwrapped/CRLF, BGZF with tiny blocks so records straddle
  blocks, on 1 and 2 threads; region strings; FASTA output as `samtools faidx -r`;
* bad input: unknown names, repeated names, stale index, plain gzip, truncated files,
  CRLF, empty sequences, irregular wrapping, a name requested twice;
* the memory-mapped name lookup on a large-ish index.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import os
import random
import shutil
import warnings

import pytest

import genomicframe as gf
from genomicframe.errors import (DuplicateNameWarning, EmptyRecordWarning, FastaFormatError,
                                 GenomicFrameError, InvalidRegionError, MissingRecordWarning,
                                 NotBgzfError, RecordNotFoundError, StaleIndexError,
                                 TruncatedFileError)
from genomicframe.fasta import build_index

pysam = pytest.importorskip("pysam")

AA = "ACDEFGHIKLMNPQRSTVWY"


# -- helpers -----------------------------------------------------------------------------------
def pysam_faidx(src, tmp_path):
    """Copy src into its own folder, index it with pysam -> (copy path, .fai bytes or None, error)."""
    d = tmp_path / "pysam"
    d.mkdir(exist_ok=True)
    dst = d / os.path.basename(src)
    shutil.copyfile(src, dst)
    try:
        pysam.faidx(str(dst))
    except pysam.SamtoolsError as exc:
        return dst, None, str(exc)
    return dst, (dst.parent / (dst.name + ".fai")).read_bytes(), None


def ours(src, tmp_path, **kw):
    d = tmp_path / "ours"
    d.mkdir(exist_ok=True)
    dst = d / os.path.basename(src)
    shutil.copyfile(src, dst)
    return dst


def samtools_text(path, *args, tmp_path):
    """What ``samtools faidx PATH ARGS`` prints (pysam's samtools writes to stdout, so use -o)."""
    out = tmp_path / "samtools_out.fa"
    if out.exists():
        out.unlink()
    pysam.faidx(str(path), "-o", str(out), *args)
    return out.read_bytes()


def make_fasta(n, *, seed=1, wrap=None, crlf=False, min_len=0, max_len=400, desc=True):
    rng = random.Random(seed)
    out = []
    nl = "\r\n" if crlf else "\n"
    for i in range(n):
        k = rng.randint(min_len, max_len)
        seq = "".join(rng.choice(AA) for _ in range(k))
        head = f">rec_{i}_{rng.getrandbits(32):08x}" + (f" some description {i}" if desc and i % 3 else "")
        if wrap and seq:
            lines = [seq[j:j + wrap] for j in range(0, len(seq), wrap)]
        else:
            lines = [seq]
        if not seq:
            lines = [" "]  # a line without bases keeps the record in the .fai (length 0)
        out.append(head + nl + nl.join(lines) + nl)
    return "".join(out).encode()


def bgzip_bytes(data: bytes, block_size: int) -> bytes:
    buf = io.BytesIO()
    with gf.bgzf.Writer(buf, block_size=block_size, threads=1) as w:
        w.write(data)
    return buf.getvalue()


def real_fasta_files(real_dir):
    out = []
    for root, _, files in os.walk(real_dir / "fasta"):
        for f in sorted(files):
            if f.endswith((".jsonl", ".fai", ".gzi")):
                continue
            out.append(os.path.join(root, f))
    return sorted(out)


def _real_dir():
    from conftest import real_data_dir

    return real_data_dir()


REAL = real_fasta_files(_real_dir()) if _real_dir() else []


# -- real files ----------------------------------------------------------------------------------
@pytest.mark.parametrize("src", REAL, ids=[os.path.relpath(p, os.path.dirname(os.path.dirname(p)))
                                          for p in REAL])
def test_real_file_index_and_fetch(src, tmp_path, real_data):
    ref_path, ref_fai, ref_err = pysam_faidx(src, tmp_path)
    mine = ours(src, tmp_path)
    if ref_err is not None:
        with pytest.raises((FastaFormatError, NotBgzfError)):
            build_index(mine)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DuplicateNameWarning)
        build_index(mine)
    assert (mine.parent / (mine.name + ".fai")).read_bytes() == ref_fai
    ref_gzi = ref_path.parent / (ref_path.name + ".gzi")
    if ref_gzi.exists():
        assert (mine.parent / (mine.name + ".gzi")).read_bytes() == ref_gzi.read_bytes()
    names = [line.split(b"\t")[0].decode() for line in ref_fai.splitlines()]
    with pysam.FastaFile(str(ref_path)) as ref, gf.FastaFile(mine, threads=2) as fa:
        table = fa.fetch_many(names)
        assert table.column("name").to_pylist() == names
        for name, seq in zip(names, table.column("sequence").to_pylist()):
            assert seq == ref.fetch(name), name
        for name in names[:3]:
            n = ref.get_reference_length(name)
            for s, e in ((0, 1), (n // 3, n // 2 + 1), (n - 1, n)):
                assert fa.fetch(name, s, e) == ref.fetch(name, s, e)

    # the oracle's expectations: pysam faidx names/lengths, Biopython md5 of each sequence
    exp_path = src + ".expected.jsonl"
    if os.path.exists(exp_path):
        with open(exp_path) as fh:
            meta = json.loads(fh.readline())["_meta"]
            records = [json.loads(line) for line in fh]
        faidx = meta.get("faidx")
        with gf.FastaFile(mine) as fa:
            if faidx:
                assert [[n, fa.length(n)] for n, _ in faidx["references"]] == faidx["references"]
                assert [fa.name(i) for i in range(len(fa))] == [n for n, _ in faidx["references"]]
            first = {}
            for r in records:
                first.setdefault(r["name"], r)
            crlf = b"\r" in open(src, "rb").read()
            compared = 0
            for name in names:
                r = first.get(name)
                if r is None or crlf:
                    continue
                seq = fa.fetch(name)
                if len(seq) == r["length"]:  # Biopython and htslib agree on the record
                    assert hashlib.md5(seq.encode()).hexdigest() == r["md5"], name
                    compared += 1
            if meta.get("status") == "ok" and records and not crlf:
                assert compared > 0


# -- generated files, serial and threaded -------------------------------------------------------
@pytest.mark.parametrize("wrap", [None, 60, 7], ids=["unwrapped", "w60", "w7"])
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "bgzf"])
def test_generated_matches_pysam(tmp_path, wrap, compress, threads):
    data = make_fasta(300, seed=7, wrap=wrap, min_len=1)
    name = "gen.fa.gz" if compress else "gen.fa"
    src = tmp_path / ("src_" + name)
    src.write_bytes(bgzip_bytes(data, 997) if compress else data)  # tiny blocks
    ref_path, ref_fai, err = pysam_faidx(src, tmp_path)
    assert err is None
    mine = ours(src, tmp_path)
    res = build_index(mine, threads=threads)
    assert (mine.parent / (mine.name + ".fai")).read_bytes() == ref_fai
    if compress:
        assert res.n_blocks >= len(data) // 997
        assert (mine.parent / (mine.name + ".gzi")).read_bytes() == \
            (ref_path.parent / (ref_path.name + ".gzi")).read_bytes()
    names = [line.split(b"\t")[0].decode() for line in ref_fai.splitlines()]
    rng = random.Random(3)
    picks = [rng.choice(names) for _ in range(120)]
    with pysam.FastaFile(str(ref_path)) as ref, gf.FastaFile(mine, threads=threads) as fa:
        table = fa.fetch_many(picks)
        assert table.column("sequence").to_pylist() == [ref.fetch(n) for n in picks]
        # regions: 0-based tuples and 1-based samtools strings agree with pysam
        reqs, expect = [], []
        for n in picks[:60]:
            ln = ref.get_reference_length(n)
            s = rng.randint(0, ln - 1)
            e = rng.randint(s + 1, ln)
            reqs += [(n, s, e), f"{n}:{s + 1}-{e}"]
            expect += [ref.fetch(n, s, e)] * 2
        assert fa.fetch_many(reqs).column("sequence").to_pylist() == expect
        st = fa.last_fetch_stats
        if compress:
            assert st.blocks_inflated == st.blocks_needed > 0


def test_fasta_output_matches_samtools_r(tmp_path):
    data = make_fasta(80, seed=11, wrap=50, min_len=1, max_len=300)
    src = tmp_path / "r.fa.gz"
    src.write_bytes(bgzip_bytes(data, 4000))
    ref_path, _, _ = pysam_faidx(src, tmp_path)
    with pysam.FastaFile(str(ref_path)) as ref:
        names = list(ref.references)
        lens = dict(zip(ref.references, ref.lengths))
    reqs = names[::3] + [f"{names[1]}:5-40", f"{names[2]}:3", f"{names[4]}:1-1,000,000",
                         f"{names[5]}:-7", f"{names[7]}:12-", names[0], names[0]]
    reqs.append(f"{names[6]}:{lens[names[6]] + 5}-{lens[names[6]] + 9}")  # past the end
    rfile = tmp_path / "names.txt"
    rfile.write_text("\n".join(reqs) + "\n")
    mine = ours(src, tmp_path)
    with gf.FastaFile(mine) as fa:
        for width, args in ((60, ["-n", "60"]), (17, ["-n", "17"]), (0, ["-n", "0"]),
                            (None, [])):
            out = io.BytesIO()
            fa.fetch_many(reqs, out=out, line_width=width)
            assert out.getvalue() == samtools_text(ref_path, *args, "-r", str(rfile),
                                                   tmp_path=tmp_path), width


def test_blocks_inflated_once_and_counted(tmp_path):
    data = make_fasta(400, seed=5, wrap=60, min_len=50, max_len=900)
    src = tmp_path / "b.fa.gz"
    src.write_bytes(bgzip_bytes(data, 2000))
    build_index(src)
    table = gf.bgzf.scan_file(src)
    starts = table.uoffset[table.usize > 0]
    with gf.FastaFile(src, threads=2) as fa:
        rng = random.Random(9)
        names = [fa.name(rng.randrange(400)) for _ in range(150)] * 2  # repeats share blocks
        tab = fa.fetch_many(names)
        assert tab.num_rows == 300
        # independent count of the blocks that hold the wanted bytes: the bases and
        # the record's header line (its name is checked against the request)
        import numpy as np

        need = set()
        fai = {ln.split("\t")[0]: ln.split("\t") for ln in
               (tmp_path / "b.fa.gz.fai").read_text().splitlines()}
        for n in set(names):
            _, length, off, lb, lw = fai[n]
            length, off, lb, lw = int(length), int(off), int(lb), int(lw)
            last = off + ((length - 1) // lb) * lw + (length - 1) % lb
            hdr = data.rindex(b">", 0, off)
            assert data[hdr + 1:].startswith(n.encode())
            b0 = int(np.searchsorted(starts, hdr, side="right") - 1)
            b1 = int(np.searchsorted(starts, last, side="right") - 1)
            need.update(range(b0, b1 + 1))
        st = fa.last_fetch_stats
        assert st.blocks_needed == st.blocks_inflated == len(need)


# -- bad input ---------------------------------------------------------------------------------
def test_unknown_names(tmp_path):
    src = tmp_path / "u.fa"
    src.write_bytes(make_fasta(20, seed=2))
    with gf.FastaFile(src) as fa:
        good = fa.name(3)
        with pytest.raises(RecordNotFoundError) as ei:
            fa.fetch_many([good, "nope1", "nope2"])
        assert ei.value.missing == ["nope1", "nope2"]
        assert "nope1" in str(ei.value) and isinstance(ei.value, KeyError)
        assert fa.fetch_many([good, "nope1"], missing="skip").column("name").to_pylist() == [good]
        with pytest.warns(MissingRecordWarning, match="nope1"):
            t = fa.fetch_many(["nope1", good], missing="warn")
        assert t.num_rows == 1
        with pytest.raises(KeyError):
            fa.fetch("absent")
        assert "absent" not in fa and good in fa


def test_name_given_twice(tmp_path):
    src = tmp_path / "t.fa"
    src.write_bytes(make_fasta(10, seed=3, min_len=1))
    with gf.FastaFile(src) as fa:
        n = fa.name(2)
        t = fa.fetch_many([n, fa.name(4), n])
        seqs = t.column("sequence").to_pylist()
        assert seqs[0] == seqs[2] == fa.fetch(n) and t.num_rows == 3


def test_duplicate_names_in_file(tmp_path):
    src = tmp_path / "dup.fa"
    src.write_bytes(b">a\nAC\n>b\nGG\n>a\nTTT\n")
    ref_path, ref_fai, _ = pysam_faidx(src, tmp_path)
    mine = ours(src, tmp_path)
    with pytest.warns(DuplicateNameWarning, match="'a' \\(line 5\\)"):
        build_index(mine)
    assert (mine.parent / "dup.fa.fai").read_bytes() == ref_fai  # first record wins
    with gf.FastaFile(mine) as fa:
        assert fa.fetch("a") == "AC" and len(fa) == 2
    with pytest.raises(FastaFormatError, match="repeat an earlier name"):
        build_index(mine, duplicates="error")


def test_stale_index(tmp_path):
    src = tmp_path / "s.fa"
    src.write_bytes(make_fasta(10, seed=4, min_len=1))
    gf.FastaFile(src).close()
    with open(src, "ab") as fh:
        fh.write(b">extra\nACGT\n")
    with pytest.raises(StaleIndexError, match="genomicframe index"):
        gf.FastaFile(src)
    build_index(src)
    gf.FastaFile(src).close()
    st = os.stat(src)
    os.utime(src.parent / "s.fa.gfi", ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))
    with pytest.raises(StaleIndexError, match="older than its data"):
        gf.FastaFile(src)


def test_plain_gzip_refused_with_advice(tmp_path):
    data = make_fasta(10, seed=5, min_len=1)
    src = tmp_path / "g.fa.gz"
    src.write_bytes(gzip.compress(data))
    with pytest.raises(NotBgzfError, match="genomicframe bgzip"):
        gf.FastaFile(src)
    with pytest.raises(NotBgzfError):
        build_index(src)


def test_truncated_files(tmp_path):
    data = make_fasta(200, seed=6, wrap=60, min_len=100)
    gz = bgzip_bytes(data, 3000)
    src = tmp_path / "trunc.fa.gz"
    src.write_bytes(gz[:len(gz) // 2])
    with pytest.raises((TruncatedFileError, FastaFormatError)):
        build_index(src)
    # a plain file cut inside a header: the last record has no sequence (samtools refuses too)
    plain = tmp_path / "cut.fa"
    plain.write_bytes(b">a\nACGT\n>b des")
    with pytest.raises(FastaFormatError, match="last record 'b'"):
        build_index(plain)
    # an index built before the file was cut is refused
    whole = tmp_path / "whole.fa.gz"
    whole.write_bytes(gz)
    build_index(whole)
    with open(whole, "r+b") as fh:
        fh.truncate(len(gz) - 5000)
    with pytest.raises(StaleIndexError):
        gf.FastaFile(whole)


def test_crlf(tmp_path):
    src = tmp_path / "crlf.fa"
    src.write_bytes(make_fasta(30, seed=8, wrap=13, crlf=True, min_len=1))
    ref_path, ref_fai, _ = pysam_faidx(src, tmp_path)
    mine = ours(src, tmp_path)
    build_index(mine)
    assert (mine.parent / "crlf.fa.fai").read_bytes() == ref_fai
    with pysam.FastaFile(str(ref_path)) as ref, gf.FastaFile(mine) as fa:
        for n in ref.references:
            assert fa.fetch(n) == ref.fetch(n)
            assert "\r" not in fa.fetch(n)


def test_empty_sequences(tmp_path):
    src = tmp_path / "e.fa"
    src.write_bytes(b">a\nACGT\n>empty1\n>b\nGG\n>empty2\n\n>c\nT\n")
    ref_path, ref_fai, _ = pysam_faidx(src, tmp_path)
    mine = ours(src, tmp_path)
    with pytest.warns(EmptyRecordWarning, match="'empty1' \\(line 3\\)"):
        build_index(mine)
    assert (mine.parent / "e.fa.fai").read_bytes() == ref_fai
    with gf.FastaFile(mine) as fa:
        assert fa.fetch_many(["a", "b", "c"]).column("sequence").to_pylist() == ["ACGT", "GG", "T"]
        with pytest.raises(RecordNotFoundError):
            fa.fetch("empty1")
    last = tmp_path / "last.fa"
    last.write_bytes(b">a\nAC\n>b\n")
    with pytest.raises(FastaFormatError, match="last record 'b' \\(line 3\\) has no sequence"):
        build_index(last)
    empty = tmp_path / "empty.fa"
    empty.write_bytes(b"")
    with pytest.raises(FastaFormatError, match="no FASTA record"):
        build_index(empty)


@pytest.mark.parametrize("text,line,what", [
    (b">a\nACGT\nAC\nACGT\n>b\nA\n", 4, "follows the shorter line 3"),
    (b">a\nAC\nACGT\n", 3, "line 3 is longer"),
    (b">a\nACGT\n\nACGT\n", 4, "blank line \\(line 3\\)"),
    (b"junk\n>a\nAC\n", 1, "expected a '>' header"),
    (b"@r\nAC\n+\nII\n", 1, "FASTQ"),
])
def test_irregular_input_names_record_and_line(tmp_path, text, line, what):
    src = tmp_path / "bad.fa"
    src.write_bytes(text)
    _, _, err = pysam_faidx(src, tmp_path)
    with pytest.raises(FastaFormatError, match=what) as ei:
        build_index(src)
    assert ei.value.line == line
    if b"@" not in text:
        assert err is not None  # samtools refuses these too
    # the same file straddling tiny BGZF blocks gives the same error
    gz = tmp_path / "bad.fa.gz"
    gz.write_bytes(bgzip_bytes(text, 3))
    with pytest.raises(FastaFormatError, match=what):
        build_index(gz)


# -- regions -----------------------------------------------------------------------------------
def test_region_strings_and_colon_names(tmp_path):
    src = tmp_path / "reg.fa"
    src.write_bytes(b">a desc\nACGTACGTAC\nACGTACGTAC\nACG\n>c:1-2\nGGGGG\n>d\nA\n")
    ref_path, _, _ = pysam_faidx(src, tmp_path)
    mine = ours(src, tmp_path)
    regions = ["a:2-5", "a:3", "a:1,000-1,005", "a:-4", "a:20-", "c:1-2", "c:1-2:2-3",
               "{c:1-2}", "{c:1-2}:2-4", "d:1-1", "a"]
    with gf.FastaFile(mine) as fa:
        out = io.BytesIO()
        fa.fetch_many(regions, out=out)
        assert out.getvalue() == samtools_text(ref_path, "-n", "60", *regions, tmp_path=tmp_path)
        assert fa.fetch("a:2-5") == "CGTA" and fa.fetch("{c:1-2}:2-4") == "GGG"
        t = fa.fetch_many(["a:2-5", ("a", 1, 5), ("a", None, 3)])
        assert t.column("start").to_pylist() == [1, 1, 0]
        assert t.column("end").to_pylist() == [5, 5, 3]
        with pytest.raises(InvalidRegionError, match="1-based"):
            fa.fetch("a:0-3")
        with pytest.raises(InvalidRegionError, match="before the start"):
            fa.fetch("a:5-3")
        with pytest.raises(InvalidRegionError, match="start <= end"):
            fa.fetch("a", 5, 2)
        assert fa.fetch("a", 5, 5) == ""
        assert fa.fetch("a", 20, 100) == "ACG"


def test_ambiguous_region(tmp_path):
    src = tmp_path / "amb.fa"
    src.write_bytes(b">x\nACGT\n>x:1-2\nGG\n")
    with gf.FastaFile(src) as fa:
        with pytest.raises(InvalidRegionError, match="ambiguous"):
            fa.fetch("x:1-2")
        assert fa.fetch("{x:1-2}") == "GG"
        assert fa.fetch("{x}:1-2") == "AC"


def test_raw_loc_mode(tmp_path):
    data = make_fasta(50, seed=12, wrap=30, min_len=1)
    src = tmp_path / "loc.fa.gz"
    src.write_bytes(bgzip_bytes(data, 1500))
    build_index(src, loc=True)
    rows = [ln.split("\t") for ln in (tmp_path / "loc.fa.gz.loc").read_text().splitlines()]
    assert len(rows) == 50
    offsets = [int(r[1]) for r in rows]
    sizes = [int(r[2]) for r in rows]
    assert offsets[0] == 0 and sum(sizes) == len(data)
    with gf.FastaFile(src) as fa:
        pieces = fa.fetch_raw(offsets[::-1], sizes[::-1])
        assert b"".join(pieces[::-1]) == data
        names, offs, szs = fa.record_spans([rows[7][0]])
        assert (list(offs), list(szs)) == ([offsets[7]], [sizes[7]])
        with pytest.raises(InvalidRegionError):
            fa.fetch_raw([len(data) - 2], [10])


# -- name lookup at scale ----------------------------------------------------------------------
def test_name_lookup_large_index(tmp_path):
    n = 150_000
    rng = random.Random(21)
    names = [f"sample_{rng.getrandbits(64):016x}_{i}" for i in range(n)]
    data = "".join(f">{nm}\nMK{'A' * (i % 7 + 1)}\n" for i, nm in enumerate(names)).encode()
    src = tmp_path / "big.fa"
    src.write_bytes(data)
    build_index(src)
    with gf.FastaFile(src) as fa:
        assert len(fa) == n
        picks = rng.sample(names, 20_000)
        t = fa.fetch_many(picks + ["sample_absent"], missing="skip")
        assert t.column("name").to_pylist() == picks
        assert fa.last_fetch_stats.lookup_seconds < 0.5
        name_of = {fa._view.file_slot(i): nm for i, nm in enumerate(names)}
        recs = fa._lookup([p.encode() for p in picks])[0]
        assert [name_of[r] for r in recs] == picks
        assert list(fa._lookup(picks[:50])[0]) == list(recs[:50])  # str names too
        assert list(fa._lookup([b"sample_absent", b""])[0]) == [-1, -1]
        # a large batch (radix-sorted) mixing repeats and absent names, in any order,
        # and small batches (sorted otherwise) give the same answers
        mixed = picks[:3000] + [f"x{p}" for p in picks[:500]] + picks[:700]
        rng.shuffle(mixed)
        expect = {nm: i for i, nm in enumerate(names)}
        by_name = {}
        for small in (False, True):
            if small:
                got = [r for k in range(0, len(mixed), 100)
                       for r in fa._lookup([m.encode() for m in mixed[k:k + 100]])[0]]
            else:
                got = list(fa._lookup([m.encode() for m in mixed])[0])
            assert [name_of[r] if r >= 0 else None for r in got] == \
                [m if m in expect else None for m in mixed]
            by_name[small] = got
        assert by_name[False] == by_name[True]


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="needs posix_fadvise")
@pytest.mark.parametrize("evict", ["all", "stripes"])
def test_name_lookup_with_gfi_out_of_page_cache(tmp_path, evict):
    """The lookup's bulk read-ahead (taken when .gfi pages are not cached) gives the
    same answers; the pages are dropped from the page cache where the system allows."""
    n = 60_000
    rng = random.Random(5)
    names = [f"s{rng.getrandbits(48):012x}_{i}" for i in range(n)]
    src = tmp_path / "m.fa"
    src.write_bytes("".join(f">{nm} d\nMKV\n" for nm in names).encode())
    build_index(src)
    gfi = str(src) + ".gfi"
    picks = rng.sample(names, 4000) + ["absent_1"] + rng.sample(names, 5)
    for batch in (picks, picks[:40]):
        fd = os.open(gfi, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            step = 1 << 16 if evict == "all" else 3 << 16
            for off in range(0, size, step):
                os.posix_fadvise(fd, off, 1 << 16, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        with gf.FastaFile(src) as fa:
            got = fa._lookup([p.encode() for p in batch])[0]
            name_of = {fa._view.file_slot(i): nm for i, nm in enumerate(names)}
            assert [name_of[r] if r >= 0 else None for r in got] == \
                [p if p != "absent_1" else None for p in batch]


def test_index_in_memory_when_not_writable(tmp_path):
    src = tmp_path / "ro" / "m.fa"
    src.parent.mkdir()
    src.write_bytes(make_fasta(5, seed=1, min_len=1))
    res = build_index(src, write=False)
    assert isinstance(res.gfi, bytes) and not res.written
    assert not os.path.exists(str(src) + ".fai")


def test_errors_are_genomicframe_errors():
    assert issubclass(FastaFormatError, GenomicFrameError)
    assert issubclass(FastaFormatError, ValueError)
    assert issubclass(InvalidRegionError, ValueError)


def test_concatenated_bgzf_members(tmp_path):
    """Two BGZF files glued together (an EOF marker block in the middle) index and fetch."""
    a = make_fasta(40, seed=31, wrap=50, min_len=1)
    b = make_fasta(40, seed=32, wrap=50, min_len=1).replace(b">rec_", b">other_")
    src = tmp_path / "cat.fa.gz"
    src.write_bytes(bgzip_bytes(a, 2500) + bgzip_bytes(b, 2500))
    ref_path, ref_fai, err = pysam_faidx(src, tmp_path)
    assert err is None
    mine = ours(src, tmp_path)
    build_index(mine, threads=2)
    assert (mine.parent / "cat.fa.gz.fai").read_bytes() == ref_fai
    names = [line.split(b"\t")[0].decode() for line in ref_fai.splitlines()]
    with pysam.FastaFile(str(ref_path)) as ref, gf.FastaFile(mine, threads=2) as fa:
        got = fa.fetch_many(names[::-1]).column("sequence").to_pylist()
        assert got == [ref.fetch(n) for n in names[::-1]]


def test_batch_kernels():
    # the scanner's rows, the .fai/.loc text of a batch, the header-only records and the
    # .fai line of a record; names are dropped batch by batch, rows stay
    from genomicframe._parsers import fastaidx as K

    sc = K.FaiScanner()
    data = b">a\nAC\n>e\n>b\nG\n>a\nT\n"
    assert sc.feed(data, 0) == 0
    assert sc.finish(len(data)) == 0
    rows, names, ends = sc.views()
    assert bytes(names) == b"aeba" and list(ends) == [1, 2, 3, 4]
    assert list(K.valid_mask(rows)) == [1, 0, 1, 1]  # the header-only record 'e'
    assert K.header_only(rows, 5) == (1, [1])
    assert K.header_only(rows, 0) == (1, [])
    assert K.row_fields(rows, 2) == {
        "hash": K.name_hash(b"b"), "seq_off": 12, "hdr_off": 9, "length": 1,
        "line_width": 2, "line_bases": 1, "line_no": 4, "flags": 0}
    buf = bytearray()
    n = K.format_index(rows, names, ends, sc.last_end, 0, buf)
    assert bytes(buf[:n]) == b"a\t2\t3\t2\t3\nb\t1\t12\t1\t2\na\t1\t17\t1\t2\n"
    n = K.format_index(rows, names, ends, sc.last_end, 1, buf)
    assert bytes(buf[:n]) == b"a\t0\t6\nb\t9\t5\na\t14\t5\n"
    # a batch of the last two records only: names and ends start at that batch
    r2, n2, e2 = sc.views(2)
    assert bytes(n2) == b"ba" and list(e2) == [1, 2]
    n = K.format_index(r2, n2, e2, sc.last_end, 1, buf)
    assert bytes(buf[:n]) == b"b\t9\t5\na\t14\t5\n"
    with pytest.raises(ValueError):
        K.format_index(r2, n2, ends, sc.last_end, 0, buf)
    assert K.ranks(K.valid_mask(rows), [0, 2, 3]) == [0, 1, 2]
    with pytest.raises(ValueError):
        K.ranks(K.valid_mask(rows), [2, 0])
    sc.release()
    assert sc.names_from == 4 and len(sc.views()[0]) == 0
    assert len(sc.rows()) == 4
    with pytest.raises(IndexError):
        sc.views(0)


def test_numbers_in_index_text():
    # every digit count the .fai may hold, written by the pairwise digit formatter
    from genomicframe._parsers import fastaidx as K

    lengths = (1, 9, 10, 99, 100, 101, 12345, 1000000)
    bases = (0, 7, 96, 997, 99996, 10 ** 12 - 3, 98765432109, 2 ** 55)
    for length, base in zip(lengths, bases):
        data = b">x\n" + b"A" * length + b"\n"
        sc = K.FaiScanner()
        assert sc.feed(data, base) == 0 and sc.finish(base + len(data)) == 0
        rows, names, ends = sc.views()
        buf = bytearray()
        n = K.format_index(rows, names, ends, sc.last_end, 0, buf)
        assert bytes(buf[:n]) == f"x\t{length}\t{base + 3}\t{length}\t{length + 1}\n".encode()
        n = K.format_index(rows, names, ends, sc.last_end, 1, buf)
        assert bytes(buf[:n]) == f"x\t{base}\t{len(data)}\n".encode()


def test_gfi_same_with_names_from_the_fai(tmp_path):
    # written to disk, the scanner drops names as the .fai is written and repeated names
    # are found again in the .fai text; in memory, the scanner keeps the names: both
    # must give the same .gfi
    rng = random.Random(5)
    data = "".join(f">r{rng.getrandbits(40):x}_{i}\n{'ACGT' * (i % 5)}\n"
                   for i in range(3000)).encode() + b">dup\nA\n>r_last\nC\n>dup\nG\n"
    src = tmp_path / "h.fa"
    src.write_bytes(data)
    with pytest.warns(EmptyRecordWarning):
        with pytest.warns(DuplicateNameWarning):
            mem = build_index(src, write=False).gfi
    with pytest.warns(EmptyRecordWarning):
        with pytest.warns(DuplicateNameWarning):
            build_index(src)
    assert (tmp_path / "h.fa.gfi").read_bytes() == mem
    assert (tmp_path / "h.fa.fai").read_bytes() == pysam_faidx(src, tmp_path)[1]


@pytest.mark.parametrize("loc", [False, True])
def test_repeated_names_across_batches(tmp_path, monkeypatch, loc):
    # records handed over a block at a time: the names of earlier batches are gone when
    # the repeats are found, so they are read back from the .fai, and the lines of the
    # repeats are cut out of the .fai and .loc text of several batches
    import genomicframe.fasta.index as I

    monkeypatch.setattr(I, "_TAKE_EVERY", 1)
    rng = random.Random(11)
    names = [f"s{i}" for i in range(400)]
    order = names + [rng.choice(names) for _ in range(60)] + ["tail"]
    rng.shuffle(order)
    text = "".join(f">{nm} d\n{'ACGT' * rng.randrange(1, 30)}\n" for nm in order).encode()
    src = tmp_path / "rep.fa.gz"
    src.write_bytes(bgzip_bytes(text, 300))
    with pytest.warns(DuplicateNameWarning, match="60 record"):
        res = build_index(src, loc=loc, threads=2)
    assert res.n_records == 401 and res.n_blocks > 100
    assert (tmp_path / "rep.fa.gz.fai").read_bytes() == pysam_faidx(src, tmp_path)[1]
    with pytest.warns(DuplicateNameWarning):
        assert build_index(src, write=False).gfi == (tmp_path / "rep.fa.gz.gfi").read_bytes()
    if loc:
        first, pos = {}, 0
        for nm in order:
            size = text.index(b">", pos + 1) - pos if text.find(b">", pos + 1) > 0 \
                else len(text) - pos
            first.setdefault(nm, f"{nm}\t{pos}\t{size}\n")
            pos += size
        assert (tmp_path / "rep.fa.gz.loc").read_text() == "".join(first.values())
    with gf.FastaFile(src) as fa, pysam.FastaFile(str(pysam_faidx(src, tmp_path)[0])) as ref:
        assert fa.fetch_many(names).column("sequence").to_pylist() == \
            [ref.fetch(n) for n in names]


@pytest.mark.parametrize("n", [1, 2, 7, 300, 5001])
@pytest.mark.parametrize("spread", ["random", "clustered"])
def test_build_table_matches_a_plain_sort(n, spread):
    # the table is built on two threads (halves of the records, then of the buckets):
    # it must equal a plain sort by (hash, record), first record of each name kept,
    # also with hash collisions between different names and header-only records, each
    # key in the first free slot from its home on
    import struct
    from array import array

    from genomicframe._parsers import fastaidx as K
    from genomicframe.fasta.index import _Collector, _repeats
    rng = random.Random(n * 10 + len(spread))
    pool = [f"n{i}" for i in range(max(1, n // 3))]
    if spread == "random":
        fake = {name: rng.choice([rng.getrandbits(64), 1 << 63, 5]) for name in pool}
    else:  # runs of keys displaced far from home, and keys spilling past the last home
        fake = {name: rng.choice([rng.getrandbits(8) << 40, (1 << 64) - 1 - rng.getrandbits(6)])
                for name in pool}
    names = [rng.choice(pool) for _ in range(n)]
    seq = [rng.random() < 0.9 or i == n - 1 for i in range(n)]
    data = "".join(f">{nm}\n" + ("ACGT\n" if has else "") for nm, has in zip(names, seq))
    sc = K.FaiScanner()
    assert sc.feed(data.encode(), 0) == 0
    assert sc.finish(len(data)) == 0
    rows = sc.rows()
    fields = [K.row_fields(rows, r) for r in range(n)]
    for r, nm in enumerate(names):  # the forced hashes replace the names' own
        rows[r, 0] = fake[nm]
    valid = K.valid_mask(rows)
    table = K.build_table(rows, valid, len(data))
    dups, _ = _repeats(sc, _Collector(None, None), table, valid)
    for r in dups:
        valid[r] = 0
    table.place(valid, len(dups))
    forder = table.forder(0, table.n_keys)
    first = {}
    want_dups = []
    for r, (nm, has) in enumerate(zip(names, seq)):
        if has:
            if nm in first:
                want_dups.append(r)
            else:
                first[nm] = r
    kept = sorted(first.values(), key=lambda r: (fake[names[r]], r))
    assert dups == want_dups
    assert list(valid) == [int(seq[r] and r not in want_dups) for r in range(n)]
    assert table.n_keys == len(kept)
    n_home = len(kept) + (len(kept) + 3) // 4
    assert table.n_home == n_home
    slot_of, nxt = {}, 0
    for r in kept:
        slot_of[r] = max((fake[names[r]] * n_home) >> 64, nxt)
        nxt = slot_of[r] + 1
    assert table.n_slots == max(n_home, nxt)
    raw = table.slots(0, table.n_slots)
    slots = [struct.unpack_from("<QQQII", raw, 32 * k) for k in range(table.n_slots)]
    want = [(0, 0, 0, 0, 0)] * table.n_slots
    for r in kept:
        f = fields[r]
        want[slot_of[r]] = (fake[names[r]], f["seq_off"],
                            f["length"] | ((f["line_width"] - f["line_bases"]) << 48),
                            f["line_bases"], f["seq_off"] - f["hdr_off"])
    assert slots == want
    ends = [fields[r + 1]["hdr_off"] if r + 1 < n else len(data) for r in range(n)]
    assert list(array("Q", table.ends(0, table.n_slots))) == \
        [ends[r] if r is not None else 0
         for r in [{s: r for r, s in slot_of.items()}.get(k) for k in range(table.n_slots)]]
    assert list(array("Q", forder)) == [slot_of[r] for r in sorted(kept)]


# -- block-parallel scan: per-block summaries stitched in order ------------------------------
def _scan_state(sc, code):
    rows, names, ends = sc.views() if sc.n_records else (b"", b"", b"")
    return (code, bytes(rows), bytes(names), bytes(ends), sc.err_line, sc.err_offset,
            sc.err_char, sc.why, sc.why_line, sc.current_name(), sc.n_records)


def _scan_bytewise(data, cuts):
    from genomicframe._parsers.fastaidx import FaiScanner

    sc, code = FaiScanner(), 0
    for a, b in itertools.pairwise(cuts):
        code = sc.feed(data[a:b], a)
        if code:
            return _scan_state(sc, code)
    return _scan_state(sc, sc.finish(len(data)))


def _scan_stitched(data, cuts):
    from genomicframe._parsers.fastaidx import FaiScanner, prescan

    sc, code = FaiScanner(), 0
    for a, b in itertools.pairwise(cuts):
        piece = data[a:b]
        code = sc.feed_summary(piece, prescan(piece), a)
        if code:
            return _scan_state(sc, code)
    return _scan_state(sc, sc.finish(len(data)))


_TRICKY = [
    b">a desc\nACGT\nACGT\nAC\n>b\nACGT\r\nAC\r\n>c  \t name2 x\nA C\tG\n>d\n\n\n>e\nAAA\n",
    b">a\r\nACGT\r\nAC\r\n\r\n>b\r\nGG\r\n",
    b">a\nAC>G\n>b\n>c\nA\n",              # '>' inside a line; a header-only record
    b"\n\n>a\nACGT\nAC\nACGT\n",            # a longer line after a short one
    b">a\nAC\nACGT\n",                      # a line longer than the first
    b">a\nACGT\n\nACGT\n",                  # a blank line inside a sequence
    b"junk\n>a\nAC\n", b"@r\nAC\n+\nII\n", b"\r>a\nAC\n", b"\r\r\n>a\nA\n",
    b">a\nACGT", b">a\nAC\n>b", b">a\nAC\n>b\n", b"", b"\n\n", b">" + b"n" * 300 + b" d\nAC\n",
    b"> \x0b\x0cname\x0bx\nAC\n>\nGG\n>  \nTT\n",
]


@pytest.mark.parametrize("k", range(len(_TRICKY)))
def test_stitched_scan_equals_bytewise_on_every_split(k):
    data = _TRICKY[k]
    n = len(data)
    # every single cut, every pair of cuts (short texts), and 1-byte pieces
    cut_sets = [[0, n], list(range(n + 1))]
    cut_sets += [[0, i, n] for i in range(1, n)]
    if n <= 60:
        cut_sets += [[0, i, j, n] for i in range(1, n) for j in range(i + 1, n)]
    for cuts in cut_sets:
        assert _scan_stitched(data, cuts) == _scan_bytewise(data, cuts), (data, cuts)


@pytest.mark.parametrize("seed", range(6))
def test_stitched_scan_equals_bytewise_random(seed):
    rng = random.Random(seed)
    parts = []
    for i in range(rng.randint(5, 40)):
        parts.append(rng.choice([b">", b"> ", b">\t"]) + f"r{i}".encode()
                     + rng.choice([b"", b" desc x", b"\r"]) + b"\n")
        nl = rng.choice([b"\n", b"\r\n"])
        w = rng.randint(1, 12)
        seq = "".join(rng.choice(AA + " \t") for _ in range(rng.randint(0, 50))).encode()
        parts.append(nl.join(seq[j:j + w] for j in range(0, len(seq), w)) + nl)
        if rng.random() < 0.1:
            parts.append(rng.choice([b"\n", b"\r\n", b"x\n", b"ACG\n", b"\r"]))
    data = b"".join(parts)
    for _ in range(30):
        k = rng.randint(0, 12)
        cuts = sorted({0, len(data), *(rng.randint(0, len(data)) for _ in range(k))})
        assert _scan_stitched(data, cuts) == _scan_bytewise(data, cuts)


@pytest.mark.parametrize("seed", range(8))
def test_stitched_scan_equals_bytewise_long_lines(seed):
    # runs of plain lines are summarised 64 bytes at a time: mostly clean lines of
    # every width around 64, with rare odd bytes, CRs, '>' inside lines, blank lines
    rng = random.Random(100 + seed)
    parts = []
    for i in range(rng.randint(20, 60)):
        parts.append(b">" + f"r{i}".encode() + rng.choice([b"", b" d", b"\r"]) + b"\n")
        nl = b"\r\n" if rng.random() < 0.1 else b"\n"
        w = rng.choice([1, 2, 30, 60, 62, 63, 64, 65, 127, 128, 129, 300])
        seq = bytearray("".join(rng.choice(AA) for _ in range(rng.randint(0, 700))).encode())
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            if seq:
                seq[rng.randrange(len(seq))] = rng.choice(b" \t>\x00\x7f\xff")
        parts.append(nl.join(bytes(seq[j:j + w]) for j in range(0, len(seq), w)) + nl)
        if rng.random() < 0.05:
            parts.append(rng.choice([b"\n", b"ACG\n", b"\r"]))
    data = b"".join(parts)
    for _ in range(25):
        k = rng.randint(0, 6)
        cuts = sorted({0, len(data), *(rng.randint(0, len(data)) for _ in range(k))})
        assert _scan_stitched(data, cuts) == _scan_bytewise(data, cuts)


@pytest.mark.parametrize("block", [1, 2, 3, 5, 13, 61, 62, 64, 4096])
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_index_across_tiny_blocks(tmp_path, block, crlf):
    """Headers, names, CRLF pairs and lines split across BGZF blocks of every size."""
    data = make_fasta(40, seed=block, wrap=61, crlf=crlf, max_len=200)
    plain = tmp_path / "p.fa"
    plain.write_bytes(data)
    gz = tmp_path / "p.fa.gz"
    gz.write_bytes(bgzip_bytes(data, block))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = build_index(plain, write=False).gfi
        build_index(plain)
        build_index(gz, threads=2)
    assert (tmp_path / "p.fa.gz.fai").read_bytes() == (tmp_path / "p.fa.fai").read_bytes()
    b = build_index(gz, threads=1, write=False).gfi
    from genomicframe.fasta import gfi as G

    # same table, ends, file order and record count; the block sections differ
    ha, hb = G.GfiHeader(a, "a"), G.GfiHeader(b, "b")
    assert (ha.n_records, ha.n_keys, ha.n_slots) == (hb.n_records, hb.n_keys, hb.n_slots)
    ea, eb = ha.section_ends(), hb.section_ends()
    for s in range(3):
        assert a[ha.offsets[s]:ea[s]] == b[hb.offsets[s]:eb[s]]


@pytest.mark.parametrize("text,line", [
    (b">a\nACGT\nAC\nACGT\n>b\nA\n", 4), (b">a\nAC\nACGT\n", 3),
    (b">a\nACGT\n\nACGT\n", 4), (b">a\nAC\r\nAC\n\rAC\n", 4),
])
@pytest.mark.parametrize("block", [1, 2, 4, 7])
def test_errors_across_tiny_blocks(tmp_path, text, line, block):
    plain = tmp_path / "bad.fa"
    plain.write_bytes(text)
    gz = tmp_path / "bad.fa.gz"
    gz.write_bytes(bgzip_bytes(text, block))
    with pytest.raises(FastaFormatError) as e1:
        build_index(plain)
    with pytest.raises(FastaFormatError) as e2:
        build_index(gz, threads=2)
    assert str(e1.value).replace("bad.fa,", "bad.fa.gz,") == str(e2.value)
    assert e1.value.line == e2.value.line == line


def test_gfi_table_slices_make_the_same_sections(tmp_path):
    from genomicframe._parsers import fastaidx as K
    from genomicframe.fasta import gfi as G
    from genomicframe.fasta.index import _Collector, _repeats

    rng = random.Random(9)
    # more keys than a slice (TABLE_CHUNK): the file order starts a slice in mid-file
    n = K.TABLE_CHUNK + 4000
    data = "".join(f">q{rng.getrandbits(40):x}_{i} x\n{'ACGT' * (i % 5 + 1)}\n"
                   for i in range(n)).encode() + b">q1_dup\nA\n>q1_dup\nC\n"
    sc = K.FaiScanner()
    assert sc.feed_summary(data, K.prescan(data), 0) == 0
    assert sc.finish(len(data)) == 0
    rows = sc.rows()
    valid = K.valid_mask(rows)
    table = K.build_table(rows, valid, len(data))
    with pytest.raises(ValueError):
        table.slots(0, 1)  # not placed yet
    dups, _ = _repeats(sc, _Collector(None, None), table, valid)
    assert dups == [n + 1]
    valid[n + 1] = 0
    table.place(valid, 1)
    assert table.n_keys == n + 1
    with pytest.raises(ValueError):
        table.place(valid, 1)
    for section, size, n in (("slots", G.KEY_SIZE, table.n_slots), ("ends", 8, table.n_slots),
                             ("forder", 8, table.n_keys)):
        make = getattr(table, section)
        whole = make(0, n)
        assert len(whole) == size * n
        cuts = [0, 1, 2, 999, 4096, 5000, K.TABLE_CHUNK - 1, K.TABLE_CHUNK + 7, n]
        assert b"".join(make(a, b) for a, b in itertools.pairwise(cuts)) == whole
        assert b"".join(table.chunks(section)) == whole
    assert table.slots_and_ends(3, 4000) == (table.slots(3, 4000), table.ends(3, 4000))
    with pytest.raises(IndexError):
        table.slots(2, 1)
    with pytest.raises(IndexError):
        table.ends(0, table.n_slots + 1)
