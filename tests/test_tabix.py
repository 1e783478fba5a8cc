"""Tabix / CSI indexes (genomicframe.index) against htslib through pysam.

pysam.tabix_index builds the indexes and pysam.VariantFile.fetch is the
region oracle: the records in our chunks must include every record it
returns, and after an exact overlap filter the two sets must be equal.
"""
from __future__ import annotations

import os
import random
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import genomicframe as gf
from genomicframe.errors import IndexFileError, StaleIndexError
from genomicframe.formats.base import FragmentSpec
from genomicframe.formats.text import iter_fragment_chunks
from genomicframe.index import binning
from genomicframe.index.plan import find_index, index_fragments
from genomicframe.index.tabix import merge_chunks, parse_index, read_index

pysam = pytest.importorskip("pysam")

CONTIGS = {f"chr{i}": n for i, n in enumerate(
    [3_000_000, 250_000, 40_000_000, 1_000, 7_000_000, 120_000_000, 600_000, 16_384 * 3], 1)}
BIG = {"chrBig": 900_000_000}  # beyond the tabix limit (2**29): CSI only


def make_vcf(contigs: dict, seed: int, per_contig: int = 1500) -> bytes:
    rnd = random.Random(seed)
    head = ["##fileformat=VCFv4.2"]
    head += [f"##contig=<ID={c},length={n}>" for c, n in contigs.items()]
    head.append('##INFO=<ID=END,Number=1,Type=Integer,Description="End position">')
    head.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    rows = []
    k = 0
    for c, length in contigs.items():
        n = min(per_contig, max(5, length // 50))
        # clustered and uniform positions, some repeated
        pos = sorted(rnd.randrange(1, length) for _ in range(n))
        for p in pos:
            k += 1
            roll = rnd.random()
            ref = "".join(rnd.choice("ACGT") for _ in range(rnd.choice([1, 1, 1, 2, 5, 30])))
            info = "."
            if roll < 0.04:  # long structural variants land in coarse bins
                end = min(length, p + rnd.choice([20_000, 300_000, 5_000_000]))
                if end > p:
                    info = f"END={end}"
                    ref = ref[0]
            rows.append(f"{c}\t{p}\tr{k}\t{ref}\t<DEL>\t50\tPASS\t{info}")
    return ("\n".join(head + rows) + "\n").encode()


def record_interval(line: bytes):
    f = line.split(b"\t")
    beg = int(f[1]) - 1
    end = beg + len(f[3])
    if f[7].startswith(b"END="):
        end = int(f[7][4:].split(b";")[0])
    return f[0].decode(), beg, end, f[2].decode()


def records_in_chunks(path, chunks):
    if not chunks:
        return []
    spec = FragmentSpec(str(path), "vcf", "bgzf", voffset_ranges=tuple(chunks))
    out = []
    for c in iter_fragment_chunks(spec, threads=1):
        out += [record_interval(x) for x in bytes(c.data).splitlines() if x]
    return out


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """``{"tbi": path, "csi": path, "csi_big": path}`` of indexed copies of generated VCFs."""
    d = tmp_path_factory.mktemp("tabix")
    data = make_vcf(CONTIGS, seed=3)
    out = {}
    for kind, block in (("tbi", 4000), ("csi", gf.bgzf.MAX_BLOCK_DATA)):
        p = d / f"calls_{kind}.vcf.gz"
        with gf.bgzf.Writer(p, block_size=block, threads=1) as w:
            w.write(data)
        pysam.tabix_index(str(p), preset="vcf", force=True, csi=(kind == "csi"))
        out[kind] = str(p)
    big = d / "big.vcf.gz"
    with gf.bgzf.Writer(big, threads=1) as w:
        w.write(make_vcf({**dict(list(CONTIGS.items())[:2]), **BIG}, seed=5, per_contig=4000))
    pysam.tabix_index(str(big), preset="vcf", force=True, csi=True)
    out["csi_big"] = str(big)
    return out


def oracle(path, chrom, start, end):
    with pysam.VariantFile(path) as vf:
        if chrom not in vf.index:
            return set()
        return {r.id for r in vf.fetch(chrom, start, end)}


def random_regions(contigs: dict, n: int, seed: int):
    rnd = random.Random(seed)
    names = list(contigs) + ["chrMissing"]
    for _ in range(n):
        c = rnd.choice(names)
        length = contigs.get(c, 10_000)
        start = rnd.randrange(0, length)
        end = start + rnd.choice([1, 2, 100, 16_384, 50_000, 2_000_000])
        yield c, start, end


@pytest.mark.parametrize("kind", ["tbi", "csi", "csi_big"])
def test_queries_match_htslib(indexed, kind):
    path = indexed[kind]
    idx = read_index(path + (".tbi" if kind == "tbi" else ".csi"))
    contigs = {**CONTIGS, **BIG} if kind == "csi_big" else CONTIGS
    assert idx.kind == kind[:3] and idx.preset == "vcf" and idx.meta == "#"
    assert set(idx.names) <= set(contigs)
    total_records = 0
    for chrom, start, end in random_regions(contigs, 120, seed=len(kind)):
        want = oracle(path, chrom, start, end)
        got = records_in_chunks(path, idx.query(chrom, start, end))
        ids = [r[3] for r in got]
        assert len(ids) == len(set(ids)), "a record was listed twice"
        assert want <= set(ids)
        exact = {r[3] for r in got if r[0] == chrom and r[1] < end and r[2] > start}
        assert exact == want, (chrom, start, end)
        total_records += len(want)
    assert total_records > 100  # the regions really hit records


def test_whole_contig_and_counts(indexed):
    path = indexed["tbi"]
    idx = read_index(path + ".tbi")
    with pysam.VariantFile(path) as vf:
        for chrom in idx.names:
            got = records_in_chunks(path, idx.query(chrom))
            assert {r[3] for r in got} == {r.id for r in vf.fetch(chrom)}
            assert all(r[0] == chrom for r in got)
            assert idx.record_count(chrom) == len(got)


def test_query_edges(indexed):
    idx = read_index(indexed["csi"] + ".csi")
    assert idx.query("chrMissing", 0, 100) == []
    assert idx.query("chr1", 500, 500) == []
    assert idx.query("chr1", 500, 100) == []
    assert idx.query("chr1", -10, 5) == idx.query("chr1", 0, 5)
    many = idx.query_many([("chr1", 0, 1000), ("chr1", 500, 20_000), ("chr2", 0, 10)])
    assert many == merge_chunks(
        *[np.concatenate(x) for x in zip(idx.query_arrays("chr1", 0, 1000),
                                         idx.query_arrays("chr1", 500, 20_000),
                                         idx.query_arrays("chr2", 0, 10))])


def test_tbi_and_csi_agree(indexed):
    tbi = read_index(indexed["tbi"] + ".tbi")
    assert tbi.min_shift == 14 and tbi.depth == 5 and tbi.col_seq == 1 and tbi.col_beg == 2
    for chrom, start, end in random_regions(CONTIGS, 40, seed=11):
        a = {r[3] for r in records_in_chunks(indexed["tbi"], tbi.query(chrom, start, end))
             if r[1] < end and r[2] > start}
        csi = read_index(indexed["csi"] + ".csi")
        b = {r[3] for r in records_in_chunks(indexed["csi"], csi.query(chrom, start, end))
             if r[1] < end and r[2] > start}
        assert a == b


def brute_bins(beg, end, min_shift, depth):
    out = []
    for level in range(depth + 1):
        size = 1 << (min_shift + 3 * (depth - level))
        for k in range(1 << (3 * level)):
            if k * size < end and (k + 1) * size > beg:
                out.append(binning.first_bin(level) + k)
    return out


@settings(max_examples=200, deadline=None)
@given(beg=st.integers(0, 2**13), length=st.integers(1, 2**13), min_shift=st.integers(2, 6),
       depth=st.integers(1, 3))
def test_reg2bins_is_the_set_of_overlapping_bins(beg, length, min_shift, depth):
    limit = binning.max_span(min_shift, depth)
    end = min(beg + length, limit)
    if beg >= limit:
        assert binning.reg2bins(beg, end, min_shift, depth).size == 0
        return
    assert binning.reg2bins(beg, end, min_shift, depth).tolist() == \
        brute_bins(beg, end, min_shift, depth)


def test_bin_helpers():
    assert binning.pseudo_bin(5) == 37450
    for b in (0, 1, 8, 9, 72, 73, 584, 585, 4680, 4681, 37448):
        level = binning.bin_level(b, 5)
        assert binning.first_bin(level) <= b < binning.first_bin(level + 1)
    assert binning.bottom_window(585 + 3, 5) == 3 * 8  # level 4: 8 windows per bin
    assert binning.bottom_window(73 + 3, 5) == 3 * 64
    assert binning.bottom_window(4681 + 7, 5) == 7


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 50)), max_size=30))
def test_merge_chunks_is_the_union(pairs):
    beg = np.array([b for b, _ in pairs], dtype=np.int64)
    end = np.array([b + n for b, n in pairs], dtype=np.int64)
    covered = set()
    for b, e in zip(beg.tolist(), end.tolist()):
        covered.update(range(b, e))
    merged = merge_chunks(beg, end)
    got = set()
    for b, e in merged:
        got.update(range(b, e))
    assert got == covered
    assert all(merged[i][1] < merged[i + 1][0] for i in range(len(merged) - 1))


# -- discovery, staleness, damage ------------------------------------------------------------

def test_find_index_and_staleness(indexed, tmp_path):
    p = tmp_path / "x.vcf.gz"
    shutil.copy(indexed["tbi"], p)
    assert find_index(p) is None
    shutil.copy(indexed["tbi"] + ".tbi", str(p) + ".tbi")
    assert find_index(p) == str(p) + ".tbi"
    st_idx = os.stat(str(p) + ".tbi")
    os.utime(p, ns=(st_idx.st_atime_ns, st_idx.st_mtime_ns + 10**9))  # data newer than index
    with pytest.raises(StaleIndexError, match="older than the data file"):
        find_index(p)
    with pytest.raises(ValueError):  # StaleIndexError is a ValueError too
        index_fragments(p, [("chr1", 0, 10)])


def test_damaged_index(tmp_path, indexed):
    raw = gf.bgzf.decompress(open(indexed["tbi"] + ".tbi", "rb").read())
    with pytest.raises(IndexFileError, match="truncated"):
        parse_index(raw[: len(raw) // 2])
    with pytest.raises(IndexFileError, match="magic"):
        parse_index(b"BAI\x01" + raw[4:])
    bad = tmp_path / "bad.tbi"
    bad.write_bytes(gf.bgzf.compress(raw[:40]))
    with pytest.raises(IndexFileError):
        read_index(bad)


# -- fragment planning -----------------------------------------------------------------------

def read_fragments(frags):
    out = []
    for f in frags:
        for c in iter_fragment_chunks(f, threads=1):
            out += [x for x in bytes(c.data).splitlines() if x and not x.startswith(b"#")]
    return out


def test_index_fragments_regions(indexed):
    path = indexed["tbi"]
    regions = [("chr1", 100_000, 400_000), ("chr1", 300_000, 900_000), ("chr3", 5_000_000, None),
               ("chrMissing", 0, 100)]
    frags = index_fragments(path, regions, (("samples", ()),), target_size=1)
    assert frags and all(f.voffset_ranges and f.byte_range is None for f in frags)
    assert {f.region for f in frags} == {("chr1", 100_000, 900_000), ("chr3", 5_000_000, None)}
    assert all(f.option("samples") == () and f.format == "vcf" for f in frags)
    assert len(frags) > 2  # chunks split by target_size
    lines = read_fragments(frags)
    ids = [record_interval(x)[3] for x in lines]
    assert len(ids) == len(set(ids))  # overlapping regions give each record once
    want = set()
    for c, s, e in regions:
        want |= oracle(path, c, s, e)
    got = {r[3] for r in map(record_interval, lines)
           if any(r[0] == c and r[1] < (e or 1 << 40) and r[2] > s for c, s, e in regions)}
    assert got == want
    assert index_fragments(path, [("chrMissing", 0, 10)]) == []


def test_index_fragments_without_index_or_regions(indexed, tmp_path):
    p = tmp_path / "noidx.vcf.gz"
    shutil.copy(indexed["tbi"], p)
    frags = index_fragments(p, [("chr1", 0, 10)], target_size=30_000)
    assert len(frags) > 1 and all(f.byte_range and f.region is None for f in frags)
    body = gf.bgzf.decompress(open(p, "rb").read())
    assert read_fragments(frags) == [x for x in body.splitlines() if not x.startswith(b"#")]
    whole = index_fragments(indexed["tbi"], None, target_size=10**9)
    assert len(whole) == 1 and whole[0].byte_range[0] == 0


def _vcf_format():
    try:
        from genomicframe.formats import get

        return get("vcf")
    except (ImportError, ValueError):
        return None


def test_vcf_format_reads_planned_fragments(indexed):
    """Through the VCF reader: block-split fragments equal one whole read; region
    fragments hold every record pysam fetches."""
    fmt = _vcf_format()
    if fmt is None:
        pytest.skip("the VCF format is not available")
    import pyarrow as pa

    path = indexed["tbi"]
    cols = ["chrom", "pos", "id", "ref", "alt", "end"]
    whole = pa.Table.from_batches(list(fmt.read_batches(
        fmt.make_fragments(path, target_size=10**9)[0], columns=cols)))
    frags = fmt.make_fragments(path, target_size=5_000)
    assert len(frags) > 5 and all(f.byte_range for f in frags)
    parts = [b for f in frags for b in fmt.read_batches(f, columns=cols)]
    assert pa.Table.from_batches(parts, schema=whole.schema).equals(whole)
    region = ("chr3", 10_000_000, 12_000_000)
    got = {r for f in fmt.make_fragments(path, regions=[region])
           for b in fmt.read_batches(f, columns=["id"]) for r in b.column("id").to_pylist()}
    assert oracle(path, *region) <= got


# -- writing indexes ---------------------------------------------------------------------------

def test_written_tbi_matches_htslib(indexed, tmp_path):
    """Our .tbi holds htslib's names, counts and spans, and answers queries like htslib's.

    (The bytes differ: htslib folds small bins into their parents and writes bins in
    hash-table order.)"""
    from genomicframe.index.build import write_index

    p = tmp_path / "x.vcf.gz"
    shutil.copy(indexed["tbi"], p)
    out = write_index(p)
    assert out == str(p) + ".tbi"
    ours = read_index(out)
    theirs = read_index(indexed["tbi"] + ".tbi")
    assert ours.names == theirs.names and ours.preset == "vcf"
    for a, b in zip(ours.refs, theirs.refs):
        assert a.counts == b.counts and a.span == b.span
    for chrom, start, end in random_regions(CONTIGS, 60, seed=21):
        assert {r[3] for r in records_in_chunks(p, ours.query(chrom, start, end))
                if r[1] < end and r[2] > start} == oracle(indexed["tbi"], chrom, start, end)


@pytest.mark.parametrize("kind", ["tbi", "csi"])
def test_htslib_reads_our_index(indexed, tmp_path, kind):
    from genomicframe.index.build import write_index

    src = indexed["csi_big"] if kind == "csi" else indexed["tbi"]
    contigs = {**dict(list(CONTIGS.items())[:2]), **BIG} if kind == "csi" else CONTIGS
    p = tmp_path / "y.vcf.gz"
    shutil.copy(src, p)
    idx = write_index(p, csi=kind == "csi", threads=2)
    with pysam.VariantFile(str(p), index_filename=idx) as vf:
        for chrom, start, end in random_regions(contigs, 60, seed=5):
            got = {r.id for r in vf.fetch(chrom, start, end)} if chrom in vf.index else set()
            assert got == oracle(src, chrom, start, end), (chrom, start, end)


def test_bed_index(tmp_path):
    from genomicframe.index.build import write_index

    rnd = random.Random(8)
    rows = ["track name=x", "browser position chr1:1-100", "# comment"]
    truth = []
    for c in ("chr1", "chr2", "chrX"):
        starts = sorted(rnd.randrange(0, 5_000_000) for _ in range(800))
        for i, s in enumerate(starts):
            e = s + rnd.choice([1, 50, 2_000, 400_000])
            rows.append(f"{c}\t{s}\t{e}\tf{c}{i}\t0\t+")
            truth.append((c, s, e, f"f{c}{i}"))
    p = tmp_path / "a.bed.gz"
    with gf.bgzf.Writer(p, block_size=3000, threads=1) as w:
        w.write(("\n".join(rows) + "\n").encode())
    idx = write_index(p, preset="bed")
    ours = read_index(idx)
    assert ours.zero_based and ours.col_end == 3
    with pysam.TabixFile(str(p), index=idx) as tf:
        for chrom, start, end in random_regions({"chr1": 5_000_000, "chrX": 5_000_000}, 40, 3):
            want = {n for c, s, e, n in truth if c == chrom and s < end and e > start}
            got = {x.split("\t")[3] for x in tf.fetch(chrom, start, end)} \
                if chrom in tf.contigs else set()
            assert got == want
            spec = FragmentSpec(str(p), "bed", "bgzf",
                                voffset_ranges=tuple(ours.query(chrom, start, end)) or None)
            mine = set()
            if spec.voffset_ranges:
                for c in iter_fragment_chunks(spec, threads=1):
                    for x in bytes(c.data).decode().splitlines():
                        f = x.split("\t")
                        if f[0] == chrom and int(f[1]) < end and int(f[2]) > start:
                            mine.add(f[3])
            assert mine == want


def test_write_index_errors(tmp_path):
    from genomicframe.errors import FormatError, NotBgzfError
    from genomicframe.index.build import write_index

    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    bad = tmp_path / "unsorted.vcf.gz"
    bad.write_bytes(gf.bgzf.compress((head + "1\t50\t.\tA\tG\t.\t.\t.\n"
                                      "1\t40\t.\tA\tG\t.\t.\t.\n").encode()))
    with pytest.raises(FormatError, match="not sorted") as exc:
        write_index(bad)
    assert exc.value.line == 4
    split = tmp_path / "split.vcf.gz"
    split.write_bytes(gf.bgzf.compress((head + "1\t5\t.\tA\tG\t.\t.\t.\n2\t1\t.\tA\tG\t.\t.\t.\n"
                                        "1\t9\t.\tA\tG\t.\t.\t.\n").encode()))
    with pytest.raises(FormatError, match="appears again"):
        write_index(split)
    short = tmp_path / "short.vcf.gz"
    short.write_bytes(gf.bgzf.compress((head + "1\t5\t.\n").encode()))
    with pytest.raises(FormatError, match="too few"):
        write_index(short)
    far = tmp_path / "far.vcf.gz"
    far.write_bytes(gf.bgzf.compress((head + f"1\t{2**29 + 10}\t.\tA\tG\t.\t.\t.\n").encode()))
    with pytest.raises(FormatError, match="CSI"):
        write_index(far)
    assert read_index(write_index(far, csi=True)).query("1", 2**29, 2**29 + 20)
    plain = tmp_path / "plain.vcf.gz"
    import gzip as _gzip

    plain.write_bytes(_gzip.compress(head.encode()))
    with pytest.raises(NotBgzfError):
        write_index(plain)
    with pytest.raises(ValueError, match="preset"):
        write_index(far, preset="gff")
