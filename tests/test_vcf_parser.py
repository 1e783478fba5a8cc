"""VCF reader: schema typing, value decoding, errors, pushdown, projection, block stitching.

The oracle for generated files is a slow pure-Python reading of the same text
(``_reference``); pysam checks genotypes where htslib is the authority.
"""
from __future__ import annotations

import gzip
import json
import math
import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings, strategies as st

import genomicframe as gf
from genomicframe.errors import BcfNotSupportedError, FormatError, VcfFormatError
from genomicframe.formats import FragmentSpec, Pushdown, Range, get
from genomicframe.formats.vcf import GT_TYPE, VcfFormat, genotype_array

HEADER = """##fileformat=VCFv4.3
##FILTER=<ID=q10,Description="Quality below 10">
##FILTER=<ID=s50,Description="Less than 50% of samples">
##INFO=<ID=NS,Number=1,Type=Integer,Description="Number of samples">
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">
##INFO=<ID=AD,Number=R,Type=Integer,Description="Allele depths">
##INFO=<ID=GP,Number=G,Type=Float,Description="Genotype probabilities">
##INFO=<ID=CI,Number=2,Type=Integer,Description="Confidence interval">
##INFO=<ID=ANN,Number=.,Type=String,Description="Annotations, \\"quoted\\"">
##INFO=<ID=AA,Number=1,Type=String,Description="Ancestral allele">
##INFO=<ID=CH,Number=1,Type=Character,Description="A character">
##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP membership">
##INFO=<ID=END,Number=1,Type=Integer,Description="End position">
##INFO=<ID=Q,Number=1,Type=Float,Description="A float">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">
##FORMAT=<ID=FT,Number=1,Type=String,Description="Sample filter">
##FORMAT=<ID=GL,Number=G,Type=Float,Description="Likelihoods">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3
"""


def _write(tmp_path, text, name="x.vcf", mode="plain", block_size=None):
    data = text.encode() if isinstance(text, str) else text
    path = tmp_path / name
    if mode == "plain":
        path.write_bytes(data)
    elif mode == "gzip":
        path.write_bytes(gzip.compress(data))
    else:
        kw = {"block_size": block_size} if block_size else {}
        with gf.bgzf.Writer(str(path), threads=1, **kw) as w:
            w.write(data)
    return str(path)


def _table(path, threads=1, **kw):
    fmt = VcfFormat(**{k: kw.pop(k) for k in ("samples", "info_fields", "format_fields")
                       if k in kw})
    frag = fmt.make_fragments(path)[0]
    schema = fmt.schema_for(frag)
    if kw.get("columns") is not None:
        schema = pa.schema([schema.field(c) for c in kw["columns"]], metadata=schema.metadata)
    return pa.Table.from_batches(list(fmt.read_batches(frag, threads=threads, **kw)),
                                 schema=schema)


def _rows(path, **kw):
    return _table(path, **kw).to_pylist()


# -- schema ----------------------------------------------------------------------------------

def test_schema_is_typed_from_the_header(tmp_path):
    path = _write(tmp_path, HEADER)
    schema = get("vcf").inspect(path)
    s = pa.string()
    info = pa.struct([
        ("NS", pa.int32()), ("AF", pa.list_(pa.float32())), ("AD", pa.list_(pa.int32())),
        ("GP", pa.list_(pa.float32())), ("CI", pa.list_(pa.int32())), ("ANN", pa.list_(s)),
        ("AA", s), ("CH", s), pa.field("DB", pa.bool_(), nullable=False), ("END", pa.int32()),
        ("Q", pa.float32())])
    fmt = pa.struct([
        ("GT", pa.list_(GT_TYPE)), ("DP", pa.list_(pa.int32())),
        ("AD", pa.list_(pa.list_(pa.int32()))), ("FT", pa.list_(s)),
        ("GL", pa.list_(pa.list_(pa.float32())))])
    expected = pa.schema([
        pa.field("chrom", s, nullable=False), pa.field("pos", pa.int64(), nullable=False),
        pa.field("start", pa.int64(), nullable=False), pa.field("end", pa.int64(), nullable=False),
        ("id", s), pa.field("ref", s, nullable=False),
        pa.field("alt", pa.list_(s), nullable=False), ("qual", pa.float32()),
        pa.field("filter", pa.list_(s), nullable=False), ("info", info), ("format", fmt)])
    assert schema.equals(expected)  # types and nullability (metadata checked below)
    assert [f.name for f in schema] == [f.name for f in expected]
    assert schema.metadata[b"genomicframe.coords"] == b"0-based half-open"
    assert json.loads(schema.metadata[b"genomicframe.vcf.samples"]) == ["S1", "S2", "S3"]
    ann = schema.field("info").type.field("ANN")
    assert ann.metadata[b"Description"] == b'Annotations, "quoted"'
    assert ann.metadata[b"Number"] == b"."


def test_sample_selection_changes_the_schema(tmp_path):
    path = _write(tmp_path, HEADER)
    assert "format" not in VcfFormat(samples=()).inspect(path).names
    meta = VcfFormat(samples=["S3", "S1"]).inspect(path).metadata
    assert json.loads(meta[b"genomicframe.vcf.samples"]) == ["S1", "S3"]  # file order
    with pytest.raises(KeyError, match="NOPE"):
        VcfFormat(samples=["NOPE"]).inspect(path)
    sub = VcfFormat(info_fields=["AF"], format_fields=["GT"]).inspect(path)
    assert sub.field("info").type.names == ["AF"] and sub.field("format").type.names == ["GT"]


def test_header_only_and_sites_only(tmp_path):
    path = _write(tmp_path, "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    t = _table(path)
    assert t.num_rows == 0
    assert t.schema.names == ["chrom", "pos", "start", "end", "id", "ref", "alt", "qual",
                              "filter"]


# -- values ----------------------------------------------------------------------------------

LINES = [
    "chr1\t100\trs1;rs2\tA\tG,T\t29.5\tPASS\tNS=3;AF=0.5,.;AD=1,2,3;DB;ANN=x,.,y;AA=.;CH=c;Q=1e-3"
    "\tGT:DP:AD:FT:GL\t0|1:7:1,2,.:PASS:-0.1,-1,-10\t1/2:.:.:.:.\t./.",
    "chr1\t200\t.\tAC\t<DEL>\t.\tq10;s50\tEND=500;CI=-10,20\tGT\t.\t0\t1|.",
    "chr2\t5\t.\tACGT\tC,G\t3\t.\t.\tGT:DP\t0/1/2:4\t|1\t0",
    "chr2\t6\t.\tA\tG,*,<NON_REF>\t.\t.\tNS=2147483648;AD=5\tGT:AD\t2|1:\t1|0:1,2",
    "chr2\t7\t.\tC\tC[2:321682[\t1000\tPASS\t.",
    "chr3\t1\t.\tN\t.\t.\t.\t.\tGT\t0\t1\t0/0",
]


def test_values_and_missing(tmp_path):
    path = _write(tmp_path, HEADER + "\n".join(LINES) + "\n")
    r = _rows(path)
    assert [x["pos"] for x in r] == [100, 200, 5, 6, 7, 1]
    assert [x["start"] for x in r] == [99, 199, 4, 5, 6, 0]
    # end: REF length, INFO/END for the symbolic deletion
    assert [x["end"] for x in r] == [100, 500, 8, 6, 7, 1]
    assert r[0]["id"] == "rs1;rs2" and r[1]["id"] is None
    assert r[0]["alt"] == ["G", "T"] and r[5]["alt"] == []
    assert r[3]["alt"] == ["G", "*", "<NON_REF>"] and r[4]["alt"] == ["C[2:321682["]
    assert r[0]["qual"] == 29.5 and r[1]["qual"] is None and r[4]["qual"] == 1000.0
    assert r[0]["filter"] == ["PASS"] and r[1]["filter"] == ["q10", "s50"] and r[2]["filter"] == []
    i0 = r[0]["info"]
    assert i0["NS"] == 3 and i0["AF"] == [0.5, None] and i0["AD"] == [1, 2, 3]
    assert i0["DB"] is True and i0["ANN"] == ["x", None, "y"] and i0["AA"] is None
    assert i0["CH"] == "c" and i0["Q"] == pytest.approx(1e-3) and i0["END"] is None
    assert r[1]["info"]["DB"] is False and r[1]["info"]["CI"] == [-10, 20]
    assert r[1]["info"]["AF"] is None and r[1]["info"]["END"] == 500
    assert all(v in (None, False) for v in r[2]["info"].values())  # INFO '.'
    assert r[3]["info"]["NS"] is None  # beyond int32: missing, as htslib reads it
    f0 = r[0]["format"]
    assert f0["DP"] == [7, None, None]
    assert f0["AD"] == [[1, 2, None], [None], None]
    assert f0["FT"] == ["PASS", None, None]
    assert f0["GL"][0] == pytest.approx([-0.1, -1, -10])
    assert r[1]["format"]["DP"] is None  # key not in this record's FORMAT
    assert r[4]["format"] is None or r[4]["format"]["GT"] is None  # no FORMAT column


def test_genotypes(tmp_path):
    path = _write(tmp_path, HEADER + "\n".join(LINES) + "\n")
    gts = [x["format"]["GT"] for x in _rows(path)]
    g = lambda a, p: {"alleles": a, "phased": p}  # noqa: E731
    assert gts[0] == [g([0, 1], True), g([1, 2], False), g([-1, -1], False)]
    assert gts[1] == [g([-1], False), g([0], False), g([1, -1], True)]
    # triploid, VCF 4.4 explicit phase on a haploid call, haploid
    assert gts[2] == [g([0, 1, 2], False), g([1], True), g([0], False)]
    # the third sample is absent from the line
    assert gts[3] == [g([2, 1], True), g([1, 0], True), None]
    arr = genotype_array(path)
    assert arr.dtype == np.int8 and arr.shape == (6, 3, 3)
    assert arr[0].tolist() == [[0, 1, -2], [1, 2, -2], [-1, -1, -2]]
    assert arr[1].tolist() == [[-1, -2, -2], [0, -2, -2], [1, -1, -2]]
    assert arr[2].tolist() == [[0, 1, 2], [1, -2, -2], [0, -2, -2]]
    assert arr[3].tolist() == [[2, 1, -2], [1, 0, -2], [-1, -1, -1]]
    assert arr[4].tolist() == [[-1, -1, -1]] * 3  # no FORMAT: no genotypes
    # ALT '.': allele 1 is beyond the record's alleles and reads as missing (htslib)
    assert arr[5].tolist() == [[0, -2, -2], [-1, -2, -2], [0, 0, -2]]
    assert genotype_array(path, samples=["S2"])[:, 0, :2].tolist() == arr[:, 1, :2].tolist()


def test_genotypes_match_pysam(tmp_path):
    pysam = pytest.importorskip("pysam")
    rng = random.Random(5)
    lines = []
    for i in range(300):
        n_alt = rng.randint(1, 3)
        calls = []
        for _ in range(3):
            ploidy = rng.choice([1, 2, 2, 2, 3])
            alleles = [rng.choice(["."] + [str(a) for a in range(n_alt + 1)])
                       for _ in range(ploidy)]
            sep = rng.choice("/|")
            calls.append(sep.join(alleles))
        alts = ",".join("ACGT"[1 + a % 3] for a in range(n_alt))
        lines.append(f"chr1\t{i + 1}\t.\tA\t{alts}\t.\t.\t.\tGT\t" + "\t".join(calls))
    path = _write(tmp_path, HEADER + "\n".join(lines) + "\n")
    ours = genotype_array(path)
    table = _rows(path)
    with pysam.VariantFile(path) as vf:
        for i, rec in enumerate(vf):
            for j, s in enumerate(rec.samples.values()):
                want = [-1 if a is None else a for a in s["GT"]]
                assert ours[i, j, :len(want)].tolist() == want
                assert (ours[i, j, len(want):] == -2).all()
                got = table[i]["format"]["GT"][j]
                assert got["alleles"] == want
                if len(want) > 1:
                    assert got["phased"] == s.phased


def test_crlf_and_no_final_newline(tmp_path):
    text = HEADER + "\n".join(LINES) + "\n"
    lf = _rows(_write(tmp_path, text))
    crlf = _rows(_write(tmp_path, text.replace("\n", "\r\n"), "crlf.vcf"))
    assert crlf == lf
    no_nl = _rows(_write(tmp_path, text.rstrip("\n"), "nonl.vcf"))
    assert no_nl == lf


def test_non_ascii_and_unknown_keys(tmp_path):
    text = HEADER + "chr1\t1\tÄ\tA\tG\t.\t.\tNEW=ü,x;FLAGGY;NS=1\tGT\t0|1\t0\t1\n"
    r = _rows(_write(tmp_path, text))
    assert r[0]["id"] == "Ä"
    assert r[0]["info"]["NEW"] == ["ü", "x"]  # undeclared: list of strings (htslib: String)
    assert r[0]["info"]["FLAGGY"] is None and r[0]["info"]["NS"] == 1


def test_text_that_is_not_utf8_is_refused(tmp_path):
    text = (HEADER + "chr1\t1\t.\tA\tG\t.\t.\tAA=x\n").encode() + \
        b"chr1\t2\tcaf\xe9\tA\tG\t.\t.\t.\n"
    with pytest.raises(VcfFormatError, match="not valid UTF-8"):
        _table(_write(tmp_path, text))


def test_float_parsing_matches_float32_of_strtod(tmp_path):
    rng = random.Random(3)
    texts = ["0", "-0", "1", "0.1", "1e-45", "3.4028235e38", "1e39", "-1e39", "nan", "inf",
             "-inf", "1.5E+3", "123456789012345678901234", "0.000000000000000000000001",
             ".5", "5.", "+2.5"]
    texts += [f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 12)}g}" for _ in range(300)]
    texts += [f"{rng.random():.{rng.randint(1, 20)}f}" for _ in range(300)]
    lines = [f"chr1\t{i + 1}\t.\tA\tG\t{t}\t.\tQ={t}" for i, t in enumerate(texts)]
    t = _table(_write(tmp_path, HEADER + "\n".join(lines) + "\n"), samples=())
    with np.errstate(over="ignore"):  # 1e39 rounds to inf in float32, as in htslib
        want = np.array([np.float32(float(x)) for x in texts], dtype=np.float32)
    for col in (t.column("qual").to_numpy(), np.array([i["Q"] for i in
                                                      t.column("info").to_pylist()],
                                                     dtype=np.float32)):
        same = (col == want) | (np.isnan(col) & np.isnan(want))
        assert same.all(), [texts[i] for i in np.flatnonzero(~same)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-2**31 + 8, 2**31 - 1), min_size=1, max_size=5))
def test_integer_lists_round_trip(tmp_path_factory, values):
    tmp = tmp_path_factory.mktemp("ints")
    text = HEADER + f"chr1\t1\t.\tA\tG\t.\t.\tAD={','.join(map(str, values))}\n"
    assert _rows(_write(tmp, text), samples=())[0]["info"]["AD"] == values


# -- errors ----------------------------------------------------------------------------------

def test_seven_columns_names_the_line(tmp_path):
    text = HEADER + LINES[0] + "\nchr1\t5\t.\tA\tG\t.\t.\n"
    path = _write(tmp_path, text)
    n = HEADER.count("\n") + 2
    with pytest.raises(VcfFormatError) as ei:
        _table(path)
    assert f"{path}, line {n}:" in str(ei.value)
    assert "7 tab-separated columns" in str(ei.value)
    assert ei.value.line == n and isinstance(ei.value, ValueError)


@pytest.mark.parametrize("line, message", [
    ("chr1\tx12\t.\tA\tG\t.\t.\t.", "POS 'x12'"),
    ("chr1\t-1\t.\tA\tG\t.\t.\t.", "POS '-1'"),
    ("chr1\t1\t.\tA\tG\tbad\t.\t.", "QUAL 'bad'"),
    ("chr1\t1\t.\tA\tG\t.\t.\tNS=abc", "Type=Integer for NS"),
    ("chr1\t1\t.\tA\tG\t.\t.\tNS=1,2", "Number=1"),
    ("chr1\t1\t.\tA\tG\t.\t.\t.\tGT\t0/x\t0\t0", "genotype '0/x'"),
    ("chr1\t1\t.\tA\tG\t.\t.\t.\tDP:GT\t1:0\t1:0\t1:0", "GT must be the first"),
    ("chr1\t1\t.\tA\tG\t.\t.\t.\tGT:GT\t0:0\t0:0\t0:0", "repeats a key"),
    ("chr1\t1\t.\tA\tG\t.\t.\t.\tGT\t0:1\t0\t0", "more ':'-separated"),
    ("chr1\t1\t.\tA\tG\t.\t.\t.\tGT\t0\t0\t0\t0", "more sample columns"),
    ("chr1\t1\t.\tA\tG\t.\t.\t.\tDP\tx\t1\t1", "FORMAT DP value 'x'"),
    ("chr,1\t1\t.\tA\tG\t.\t.\t.", "CHROM 'chr,1'"),
    ("", "blank line"),
])
def test_malformed_data_lines(tmp_path, line, message):
    text = HEADER + LINES[1] + "\n" + line + "\n" + LINES[2] + "\n"
    path = _write(tmp_path, text)
    with pytest.raises(VcfFormatError) as ei:
        _table(path)
    assert message in str(ei.value)
    assert ei.value.line == HEADER.count("\n") + 2


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("##fileformat=\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", "##fileformat is empty"),
    ("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", "first line"),
    ("##fileformat=VCFv4.2\n##INFO=<ID=X>\n", "no #CHROM line"),
    ("##fileformat=VCFv4.2\njunk\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", "'##'"),
    ("##fileformat=VCFv4.2\n#CHROM\tPOSITION\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", "POSITION"),
    ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\n",
     "no sample columns"),
    ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tA\n",
     "repeated: A"),
])
def test_malformed_headers(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(VcfFormatError, match=message):
        get("vcf").inspect(path)


def test_bcf_is_refused_clearly(tmp_path):
    path = _write(tmp_path, b"BCF\x02\x02" + b"\0" * 40, "x.bcf", mode="bgzf")
    assert get("vcf").sniff(b"BCF\x02\x02")
    with pytest.raises(BcfNotSupportedError, match="bcftools view"):
        get("vcf").inspect(path)
    assert issubclass(BcfNotSupportedError, FormatError)


# -- generated files: projection, pushdown, blocks, threads -----------------------------------

def _generated(n=3000, seed=11):
    rng = random.Random(seed)
    lines = []
    pos = {"chr1": 0, "chr2": 0, "chrX": 0}
    for _ in range(n):
        chrom = rng.choice(list(pos))
        pos[chrom] += rng.randint(1, 500)
        n_alt = rng.choice([1, 1, 1, 2])
        ref = rng.choice(["A", "C", "G", "T", "AT", "GCC"])
        alts = ",".join(rng.choice(["A", "C", "G", "T", "<DEL>", "GA"]) for _ in range(n_alt))
        qual = rng.choice([".", f"{rng.uniform(0, 100):.2f}", str(rng.randint(0, 60))])
        filt = rng.choice(["PASS", ".", "q10", "q10;s50"])
        info = [f"NS={rng.randint(0, 3)}", "AF=" + ",".join(f"{rng.random():.3f}"
                                                          for _ in range(n_alt))]
        if alts.startswith("<DEL>") or rng.random() < 0.1:
            info.append(f"END={pos[chrom] + rng.randint(0, 900)}")
        if rng.random() < 0.3:
            info.append("DB")
        rng.shuffle(info)
        gts = "\t".join(f"{rng.randint(0, n_alt)}{rng.choice('/|')}{rng.randint(0, n_alt)}"
                        f":{rng.randint(0, 50)}" for _ in range(3))
        lines.append(f"{chrom}\t{pos[chrom]}\t.\t{ref}\t{alts}\t{qual}\t{filt}\t"
                     f"{';'.join(info)}\tGT:DP\t{gts}")
    return HEADER + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gen")
    text = _generated()
    return {"text": text, "plain": _write(tmp, text, "g.vcf"),
            "bgzf": _write(tmp, text, "g.vcf.gz", mode="bgzf"),
            "tiny": _write(tmp, text, "tiny.vcf.gz", mode="bgzf", block_size=100),
            "gzip": _write(tmp, text, "plain.vcf.gz", mode="gzip")}


def test_compressions_and_tiny_blocks_agree(generated, threads):
    want = _table(generated["plain"], threads=1)
    assert want.num_rows == 3000
    for key in ("bgzf", "tiny", "gzip"):
        assert _table(generated[key], threads=threads).equals(want), key


def test_small_groups_and_batches(generated, monkeypatch, threads):
    """Groups of a few chunks, batches cut to batch_size: same rows in the same order."""
    from genomicframe.formats import vcf as vcf_mod

    want = _table(generated["plain"])
    monkeypatch.setattr(vcf_mod, "GROUP_BYTES", 1000)
    fmt = VcfFormat()
    frag = fmt.make_fragments(generated["tiny"])[0]
    batches = list(fmt.read_batches(frag, threads=threads, batch_size=77))
    assert max(b.num_rows for b in batches) <= 77
    assert pa.Table.from_batches(batches).equals(want)
    arr = genotype_array(generated["tiny"], threads=threads)
    assert np.array_equal(arr, genotype_array(generated["plain"]))


def test_error_line_numbers_across_blocks(tmp_path, threads):
    text = _generated(1500)
    lines = text.split("\n")
    bad = 1200
    lines[bad] = "\t".join(lines[bad].split("\t")[:7])
    path = _write(tmp_path, "\n".join(lines), "bad.vcf.gz", mode="bgzf", block_size=100)
    with pytest.raises(VcfFormatError) as ei:
        _table(path, threads=threads)
    assert ei.value.line == bad + 1


def test_projection_returns_the_same_values(generated):
    full = _table(generated["bgzf"])
    for cols in (["pos"], ["start"], ["end"], ["chrom", "qual"], ["info", "id"],
                 ["format", "filter", "alt"], ["ref", "end", "start", "pos"]):
        part = _table(generated["bgzf"], columns=cols)
        assert part.column_names == cols
        for c in cols:
            assert part.column(c).equals(full.column(c)), c
    assert _table(generated["bgzf"], columns=[]).num_rows == 3000
    assert get("vcf").count_rows(get("vcf").make_fragments(generated["bgzf"])[0]) == 3000
    with pytest.raises(KeyError, match="nope"):
        _table(generated["bgzf"], columns=["nope"])


def _expected_rows(full: pa.Table, pd: Pushdown) -> pa.Table:
    keep = np.ones(full.num_rows, bool)
    rows = full.select(["chrom", "pos", "start", "end", "qual", "filter"]).to_pylist()
    for i, r in enumerate(rows):
        for col, values in pd.isin.items():
            if col == "filter":
                keep[i] &= any(f in values for f in r["filter"])
            else:
                keep[i] &= r[col] in values
        for col, rng in pd.ranges.items():
            keep[i] &= rng.contains(r[col])
    return full.filter(pa.array(keep))


pushdowns = st.builds(
    lambda chroms, filters, lo, width, qlo, which: Pushdown(
        isin={k: v for k, v in (("chrom", chroms), ("filter", filters)) if v is not None},
        ranges={which: Range(lo, lo % 2 == 0, lo + width, width % 2 == 0),
                **({"qual": Range(qlo, True)} if qlo is not None else {})}),
    st.one_of(st.none(), st.frozensets(st.sampled_from(["chr1", "chr2", "chrX", "chrY"]))),
    st.one_of(st.none(), st.frozensets(st.sampled_from(["PASS", "q10", "s50"]), min_size=1)),
    st.integers(0, 400_000), st.integers(0, 300_000),
    st.one_of(st.none(), st.floats(0, 100)),
    st.sampled_from(["pos", "start", "end"]))


@settings(max_examples=40, deadline=None)
@given(pd=pushdowns)
def test_pushdown_drops_exactly_the_failing_rows(generated, pd):
    path = generated["bgzf"]
    full = _table(path)
    got = _table(path, pushdown=pd)
    assert got.equals(_expected_rows(full, pd))


def test_pushdown_with_projection_and_nulls(generated):
    path = generated["bgzf"]
    full = _table(path)
    pd = Pushdown(not_null=frozenset({"qual"}))
    got = _table(path, columns=["pos"], pushdown=pd)
    assert got.column("pos").equals(full.filter(pc.is_valid(full.column("qual"))).column("pos"))
    assert _table(path, pushdown=Pushdown(isin={"chrom": frozenset()})).num_rows == 0


def test_samples_option(generated):
    full = _table(generated["bgzf"])
    none = _table(generated["bgzf"], samples=())
    assert "format" not in none.column_names
    assert none.equals(full.drop_columns(["format"]))
    two = _table(generated["bgzf"], samples=["S3", "S2"])
    gt_full = full.column("format").to_pylist()
    gt_two = two.column("format").to_pylist()
    assert all(b["GT"] == a["GT"][1:] and b["DP"] == a["DP"][1:] for a, b in zip(gt_full, gt_two))
    frag = FragmentSpec(generated["bgzf"], "vcf", "bgzf", options=(("samples", ("S1",)),))
    t = pa.Table.from_batches(list(VcfFormat().read_batches(frag, columns=["format"])))
    assert [r["GT"] for r in t.column("format").to_pylist()] == [a["GT"][:1] for a in gt_full]


def test_records_match_a_plain_python_reading(generated):
    """A slow str.split reading of the generated text is the oracle for the fixed columns."""
    got = _table(generated["plain"]).to_pylist()
    data = [x for x in generated["text"].split("\n") if x and not x.startswith("#")]
    for line, row in zip(data, got):
        f = line.split("\t")
        assert row["chrom"] == f[0] and row["pos"] == int(f[1]) and row["ref"] == f[3]
        assert row["alt"] == f[4].split(",")
        assert row["filter"] == ([] if f[6] == "." else f[6].split(";"))
        assert (row["qual"] is None) if f[5] == "." else math.isclose(
            row["qual"], np.float32(float(f[5])), rel_tol=1e-7)
        info = dict(kv.partition("=")[::2] for kv in f[7].split(";"))
        end = int(info["END"]) if "END" in info and int(info["END"]) >= int(f[1]) - 1 \
            else int(f[1]) - 1 + len(f[3])
        assert row["end"] == end
        assert row["info"]["DB"] == ("DB" in info)
        assert row["info"]["NS"] == int(info["NS"])


def test_byte_range_fragments_partition_the_records(generated, threads):
    """Fragments over BGZF block ranges (text.iter_fragment_chunks) give the whole table."""
    text_mod = pytest.importorskip("genomicframe.formats.text")
    want = _table(generated["tiny"])
    ranges = text_mod.split_byte_ranges(generated["tiny"], 4000)
    assert len(ranges) > 5
    fmt = VcfFormat()
    parts = []
    for r in ranges:
        frag = FragmentSpec(generated["tiny"], "vcf", "bgzf", byte_range=r)
        parts.extend(fmt.read_batches(frag, threads=threads))
    assert pa.Table.from_batches(parts, schema=want.schema).equals(want)


def test_error_in_a_mid_file_fragment_names_the_offset(tmp_path):
    text_mod = pytest.importorskip("genomicframe.formats.text")
    lines = _generated(1500).split("\n")
    lines[1400] = "\t".join(lines[1400].split("\t")[:7])
    data = "\n".join(lines).encode()
    path = _write(tmp_path, data, "bad.vcf.gz", mode="bgzf", block_size=1000)
    errors = []
    for r in text_mod.split_byte_ranges(path, 3000):
        try:
            list(VcfFormat().read_batches(FragmentSpec(path, "vcf", "bgzf", byte_range=r)))
        except VcfFormatError as exc:
            errors.append((r, exc))
    assert len(errors) == 1
    r, exc = errors[0]
    assert r[0] > 0 and exc.line is None
    u = data.index(("\n" + lines[1400] + "\n").encode()) + 1
    assert f"uncompressed byte {u}," in str(exc)
    table = gf.bgzf.scan_file(path)
    v = int(table.virtual_offset(u))
    assert f"virtual offset {v};" in str(exc) and exc.offset == v >> 16
    with gf.bgzf.open(path) as fh:  # the virtual offset finds the line
        fh.seek(v)
        assert fh.readline().rstrip(b"\n") == lines[1400].encode()


def test_end_beyond_int32_is_honoured_whatever_the_columns(tmp_path):
    """INFO/END above 2**31 is null in info.END (int32, as htslib's INFO) but still the end."""
    text = HEADER + "chr1\t10\t.\tA\t<DEL>\t.\t.\tEND=3000000000\n" \
                    "chr1\t20\t.\tA\t<DEL>\t.\t.\tEND=30\n"
    path = _write(tmp_path, text)
    full = _table(path, samples=())
    assert full.column("end").to_pylist() == [3_000_000_000, 30]
    assert [i["END"] for i in full.column("info").to_pylist()] == [None, 30]
    assert _table(path, columns=["end"]).column("end").to_pylist() == [3_000_000_000, 30]
    pd = Pushdown(ranges={"end": Range(2**31, True)})
    assert _table(path, columns=["pos", "info"], pushdown=pd).column("pos").to_pylist() == [10]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(LINES) - 1), st.integers(0, 400),
                          st.sampled_from(list("\t;:,.=|/019-+eACGT<>[]*#\r\n")),
                          st.sampled_from(["ins", "del", "sub"])), min_size=1, max_size=6))
def test_mutated_lines_parse_or_raise(tmp_path_factory, edits):
    """Damaged data lines give rows or a VcfFormatError, never a crash or another error."""
    lines = list(LINES)
    for i, at, ch, op in edits:
        s = lines[i]
        at = at % (len(s) + 1)
        if op == "ins":
            s = s[:at] + ch + s[at:]
        elif op == "del":
            s = s[:at] + s[at + 1:]
        else:
            s = s[:at] + ch + s[at + 1:]
        lines[i] = s
    path = _write(tmp_path_factory.mktemp("fuzz"), HEADER + "\n".join(lines) + "\n")
    for threads in (1, 2):
        try:
            t = _table(path, threads=threads)
        except VcfFormatError:
            continue
        t.validate(full=True)
    try:
        arr = genotype_array(path)
    except VcfFormatError:
        return
    assert arr.ndim == 3 and arr.dtype == np.int8


# -- dataset integration ---------------------------------------------------------------------

def _spy_options(monkeypatch):
    seen = []
    original = VcfFormat.read_batches

    def spy(self, fragment, **kw):
        seen.append((fragment.option("info_fields"), fragment.option("format_fields")))
        return original(self, fragment, **kw)

    monkeypatch.setattr(VcfFormat, "read_batches", spy)
    return seen


def test_child_projection_decodes_only_the_info_keys_a_scan_uses(tmp_path, monkeypatch):
    import _vcfgen

    assert VcfFormat.child_projection == {"info": "info_fields", "format": "format_fields"}
    path = _vcfgen.write_vcf(tmp_path / "n.vcf.gz", _vcfgen.records(n=400))
    full = gf.dataset(path).to_table()
    flt = pc.field("info", "DP") > 10
    want = full.filter(flt)
    assert 0 < want.num_rows < full.num_rows
    seen = _spy_options(monkeypatch)
    got = gf.dataset(path).to_table(columns=["pos", "info.DP"], filter=flt)
    assert seen and all(s == (("DP",), None) for s in seen)
    assert got.column("pos").equals(want.column("pos"))
    assert got.column(1).to_pylist() == [r["DP"] for r in want.column("info").to_pylist()]
    # a scan that returns the whole struct decodes every key, whatever the filter uses
    seen.clear()
    got = gf.dataset(path).to_table(columns=["info"], filter=flt)
    assert seen and all(s == (None, None) for s in seen)
    assert got.column("info").equals(want.column("info"))


def test_child_projection_narrows_format_keys(generated, monkeypatch):
    path = generated["bgzf"]
    full = gf.dataset(path).to_table()
    seen = _spy_options(monkeypatch)
    got = gf.dataset(path).to_table(columns=["pos", "format.DP"])
    assert seen and all(s == (None, ("DP",)) for s in seen)
    assert got.column(1).to_pylist() == [r["DP"] for r in full.column("format").to_pylist()]


def test_range_pushdown_keeps_nan_as_range_contains_does(tmp_path):
    """QUAL 'nan' is legal; NaN fails no comparison in Range.contains, so the parser keeps it
    (the dataset layer's exact filter decides)."""
    text = HEADER + "chr1\t1\t.\tA\tG\tnan\t.\tQ=1\n" \
                    "chr1\t2\t.\tA\tG\t5\t.\tQ=1\n" \
                    "chr1\t3\t.\tA\tG\t50\t.\tQ=1\n" \
                    "chr1\t4\t.\tA\tG\t.\t.\tQ=1\n"
    path = _write(tmp_path, text)
    for rng in (Range(10, True), Range(hi=10, hi_inclusive=False), Range(0, False, 100, True)):
        got = _table(path, columns=["pos", "qual"], pushdown=Pushdown(ranges={"qual": rng}))
        quals = [float("nan"), 5.0, 50.0, None]
        assert got.column("pos").to_pylist() == [i + 1 for i, q in enumerate(quals)
                                                 if rng.contains(q)]
        assert math.isnan(got.column("qual")[0].as_py())
    # the full filter is still exact: NaN > 10 is false in Arrow
    ds = gf.dataset(path)
    assert ds.to_table(columns=["pos"], filter=pc.field("qual") > 10).column("pos") \
        .to_pylist() == [3]
    assert ds.to_table(columns=["pos"], filter=~(pc.field("qual") <= 10)).column("pos") \
        .to_pylist() == [1, 3]


# -- fast paths: INFO key matching, number parsing -------------------------------------------

_KEYS = {"A": "Integer", "AB": "Integer", "ABC": "Float", "ABCD": "Integer", "ABCE": "String",
         "ABCDEFG": "Integer", "AF_AFR": "Float",
         "ABCDEFGH": "Float", "AF": "Float", "AF_EAS": "Float", "X": "String", "F": "Flag"}


def _keys_header():
    lines = ["##fileformat=VCFv4.3"]
    for k, t in _KEYS.items():
        num = "0" if t == "Flag" else "1"
        lines.append(f'##INFO=<ID={k},Number={num},Type={t},Description="k">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    return "\n".join(lines) + "\n"


_rows_of_items = st.lists(
    st.lists(st.tuples(st.sampled_from(sorted(_KEYS) + ["AFX", "Z"]), st.integers(0, 999)),
             max_size=8, unique_by=lambda kv: kv[0]),
    min_size=1, max_size=12)


@settings(max_examples=80, deadline=None)
@given(rows=_rows_of_items, subset=st.one_of(st.none(), st.lists(st.sampled_from(sorted(_KEYS)),
                                                                   min_size=1, unique=True)))
def test_info_keys_in_any_order_and_with_shared_prefixes(tmp_path_factory, rows, subset):
    """Rows change their key order and use keys that share prefixes; the key of the
    previous row's order must never be taken for a similar one (and skipped keys stay
    skipped when only some are decoded)."""
    lines = []
    for i, items in enumerate(rows):
        parts = []
        for k, v in items:
            parts.append(k if _KEYS.get(k) == "Flag" else f"{k}={v}")
        lines.append(f"chr1\t{i + 1}\t.\tA\tG\t.\t.\t{';'.join(parts) or '.'}")
    path = _write(tmp_path_factory.mktemp("keys"), _keys_header() + "\n".join(lines) + "\n")
    got = [r["info"] for r in _rows(path, info_fields=subset)]
    for items, info in zip(rows, got):
        want = {}
        for k in (subset or _KEYS):
            t = _KEYS[k]
            v = dict(items).get(k)
            if t == "Flag":
                want[k] = k in dict(items)
            elif v is None:
                want[k] = None
            else:
                want[k] = str(v) if t == "String" else (float(v) if t == "Float" else v)
        got_known = {k: info[k] for k in want}
        assert got_known == want


_float_texts = st.one_of(
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(repr),
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(lambda x: "%g" % x),
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(lambda x: "%.3f" % x),
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(lambda x: "%.9e" % x),
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(lambda x: "%.17g" % x),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.tuples(st.integers(0, 10**12), st.integers(0, 25), st.integers(-40, 40)).map(
        lambda t: f"{str(t[0])[:max(1, len(str(t[0])) - t[1] % 8)]}.{str(t[0])[-(t[1] % 8):]}"
                  f"e{t[2]}"),
    st.text("0123456789", min_size=1, max_size=24).map(lambda d: "0." + d),
    st.text("0123456789", min_size=1, max_size=24))


@settings(max_examples=150, deadline=None)
@given(st.lists(_float_texts, min_size=1, max_size=20))
def test_float_fast_path_rounds_like_float32_of_strtod(tmp_path_factory, texts):
    """The eight-digits-at-a-time float parser (and its strtod fallback) gives exactly
    ``np.float32(float(text))`` for QUAL, scalar and list INFO floats."""
    lines = [f"chr1\t{i + 1}\t.\tA\tG,T\t{t}\t.\tQ={t};AF={t},{t}" for i, t in enumerate(texts)]
    t = _table(_write(tmp_path_factory.mktemp("floats"), HEADER + "\n".join(lines) + "\n"),
               samples=())
    with np.errstate(over="ignore"):
        want = np.array([np.float32(float(x)) for x in texts], dtype=np.float32)
    info = t.column("info").to_pylist()
    cols = [t.column("qual").to_numpy(zero_copy_only=False),
            np.array([i["Q"] for i in info], dtype=np.float32),
            np.array([i["AF"][0] for i in info], dtype=np.float32),
            np.array([i["AF"][1] for i in info], dtype=np.float32)]
    for col in cols:
        assert np.array_equal(col.view(np.uint32), want.view(np.uint32)), \
            [(texts[i], col[i], want[i]) for i in np.flatnonzero(col.view(np.uint32)
                                                                 != want.view(np.uint32))]


_FLOAT_SPECIALS = [
    "inf", "-inf", "+inf", "Inf", "INF", "infinity", "-Infinity", "INFINITY", "nan", "NaN",
    "-nan", "+NAN", "1e308", "1e309", "-1e400", "4.9e-324", "1e-400", "0e0", "0.0", "-0",
    "-0.0", "00000.00001", "3.4028235e38", "3.4028236e38", "3.5e38", "1.17549435e-38",
    "1.4e-45", "7.0e-46", "7.1e-46", ".5", "5.", "-.5e1", "+5.E-1", "9007199254740993",
    "9007199254740993.0", "0.1000000000000000055511151231257827", "123456789012345678901234"]


def _random_decimal_texts(n: int, seed: int) -> list[str]:
    """Decimal texts of every shape VCF allows: signs, 1-30 digit mantissas with the
    point anywhere (or absent), optional exponents of 1-3 digits."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice(
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 17, 19, 20, 25, 30])))
        cut = rng.randint(0, len(digits))
        if rng.random() < 0.8:
            text = digits[:cut] + "." + digits[cut:]
            if text == ".":
                text = "0."
        else:
            text = digits
        if rng.random() < 0.2:
            text = rng.choice("-+") + text
        if rng.random() < 0.3:
            text += rng.choice("eE") + rng.choice(["", "-", "+"]) + str(rng.randint(0, 350))
        out.append(text)
    return out


def test_float_parsing_matches_python_float_on_many_texts(tmp_path):
    """Every float path (QUAL, scalar and list INFO; the short fast path, the general
    fast path and strtod) gives exactly ``np.float32(float(text))`` on 20 000 random
    decimal texts and the inf/nan spellings VCF allows."""
    texts = _FLOAT_SPECIALS + _random_decimal_texts(20_000, seed=20240601)
    lines = [f"chr1\t{i + 1}\t.\tA\tG,T\t{t}\t.\tQ={t};AF={t},{t}" for i, t in enumerate(texts)]
    t = _table(_write(tmp_path, HEADER + "\n".join(lines) + "\n"), samples=(),
               columns=["qual", "info"])
    with np.errstate(over="ignore"):
        want = np.array([np.float32(float(x)) for x in texts], dtype=np.float32)
    info = t.column("info").combine_chunks()
    af = info.field("AF").flatten().to_numpy(zero_copy_only=False)
    cols = {"qual": t.column("qual").to_numpy(zero_copy_only=False),
            "Q": info.field("Q").to_numpy(zero_copy_only=False),
            "AF[0]": af[0::2], "AF[1]": af[1::2]}
    for name, col in cols.items():
        bad = np.flatnonzero((col.view(np.uint32) != want.view(np.uint32))
                             & ~(np.isnan(col) & np.isnan(want)
                                 & (np.signbit(col) == np.signbit(want))))
        assert not len(bad), (name, [(texts[i], col[i], want[i]) for i in bad[:10]])


@pytest.mark.parametrize("text, want", [
    ("0", 0), ("-0", 0), ("+7", 7), ("12345678", 12345678), ("123456789", 123456789),
    ("2147483647", 2147483647), ("2147483648", None), ("-2147483640", -2147483640),
    ("-2147483641", None), ("-2147483648", None), ("99999999999999999999", None),
    ("0000000000000000000000012", 12), ("00000000000000000002147483648", None),
    ("00000000", 0), ("000000001", 1), (".", None), ("", None)])
def test_integer_edge_cases(tmp_path, text, want):
    """INT32 limits (htslib reads its reserved values and overflows as missing), leading
    zeros past 19 digits, eight-digit boundaries of the SWAR digit parser."""
    second = text + "5" if text not in (".", "") else "5"
    body = f"chr1\t1\t.\tA\tG\t.\t.\tNS={text};AD={text},{second}\n"
    info = _rows(_write(tmp_path, HEADER + body), samples=())[0]["info"]
    assert info["NS"] == want
    tail = int(second)
    if not -2147483640 <= tail <= 2147483647:
        tail = None
    assert info["AD"] == [want, tail]


@pytest.mark.parametrize("text", ["1x", "--1", "+", "1.5", "1e3", ".5", "12345678x", "0x10",
                                  "123456789012.", "1-"])
def test_integer_garbage_is_an_error_with_the_line(tmp_path, text):
    body = "chr1\t1\t.\tA\tG\t.\t.\tNS=1\n" f"chr1\t2\t.\tA\tG\t.\t.\tNS={text}\n"
    with pytest.raises(VcfFormatError, match="line 2[0-9]") as ei:
        _table(_write(tmp_path, HEADER + body), samples=())
    assert "NS" in str(ei.value)


@pytest.mark.parametrize("pos", ["1", "1234567", "12345678", "123456789", "123456789012345",
                                 "1234567890123456", "0000000000000000042",
                                 "9223372036854775807"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", ""])
def test_numbers_at_the_end_of_the_data(tmp_path, pos, newline):
    """The eight-byte number steps read ahead only inside the line: values ending the
    file (no newline after them) and short lines parse like any other."""
    body = f"chr1\t{pos}\t.\tA\tG\t2.5\t.\tNS=7;AF=0.25,1.5" + newline
    r = _rows(_write(tmp_path, HEADER + body), samples=())[0]
    assert r["pos"] == int(pos)
    assert r["qual"] == 2.5 and r["info"]["NS"] == 7 and r["info"]["AF"] == [0.25, 1.5]
    body = f"c\t{pos}\t.\tA\tG\t9\t.\tQ=3" + newline
    r = _rows(_write(tmp_path, HEADER + body, name="short.vcf"), samples=())[0]
    assert (r["pos"], r["qual"], r["info"]["Q"]) == (int(pos), 9.0, 3.0)


def test_position_beyond_int64_is_an_error(tmp_path):
    body = "chr1\t9223372036854775808\t.\tA\tG\t.\t.\t.\n"
    with pytest.raises(VcfFormatError, match="POS"):
        _table(_write(tmp_path, HEADER + body), samples=())


@pytest.mark.parametrize("text, ann, aa", [
    ("ANN=a,bb;AA=x", ["a", "bb"], "x"),
    ("ANN=;AA=", [], None),
    ("ANN=.;AA=.", [None], None),
    ("ANN=a,,b,.;AA=seventeen_chars_x", ["a", None, "b", None], "seventeen_chars_x"),
    ("AA=ünïcödé;ANN=" + "x" * 40 + ",y", ["x" * 40, "y"], "ünïcödé"),
    ("ANN=a|b|c,d|e", ["a|b|c", "d|e"], None),
])
def test_info_strings(tmp_path, text, ann, aa):
    """String values are copied 16 bytes at a time where the line allows; '.' and empty
    items are null, ``KEY=`` is an empty list (htslib)."""
    for tail in ("\n", ""):
        body = f"chr1\t1\t.\tA\tG\t.\t.\t{text}" + tail
        info = _rows(_write(tmp_path, HEADER + body), samples=())[0]["info"]
        assert (info["ANN"], info["AA"]) == (ann, aa)


def test_reading_imports_only_numpy_and_pyarrow(generated):
    """A process that reads a VCF through the format layer pays no import of
    pyarrow.compute (batches are built with the schema's exact types, no cast),
    pandas, polars or the dataset/expression layers."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from genomicframe.formats import get\n"
            "f = get('vcf')\n"
            f"frag = f.make_fragments({generated['bgzf']!r})[0]\n"
            "n = sum(b.num_rows for b in f.read_batches(frag))\n"
            "assert n == 3000, n\n"
            "bad = [m for m in ('pyarrow.compute', 'pyarrow.dataset', 'pandas', 'polars',\n"
            "                   'genomicframe.expressions', 'genomicframe.dataset')\n"
            "       if m in sys.modules]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("first_null", [0, 1, 7, 8, 999, 1999])
def test_validity_written_lazily_back_fills_the_first_null(tmp_path, first_null):
    """The kernel writes no validity while every value is valid; the first null (at any
    row) back-fills the earlier ones: ID, QUAL, scalar and list INFO strings, INFO lists."""
    lines = []
    for i in range(2000):
        null = i == first_null
        vid = "." if null else f"rs{i}"
        qual = "." if null else "1.5"
        info = f"NS=1;AA={'.' if null else 'A'};ANN={'.' if null else 'x,y'}"
        if not null:
            info += ";AD=1,2"
        lines.append(f"chr1\t{i + 1}\t{vid}\tA\tG\t{qual}\t.\t{info}")
    rows = _rows(_write(tmp_path, HEADER + "\n".join(lines) + "\n"), samples=())
    for i, row in enumerate(rows):
        null = i == first_null
        assert row["id"] == (None if null else f"rs{i}")
        assert row["qual"] == (None if null else 1.5)
        assert row["info"]["AA"] == (None if null else "A")
        assert row["info"]["ANN"] == ([None] if null else ["x", "y"])
        assert row["info"]["AD"] == (None if null else [1, 2])


def test_sparse_info_keys_across_chunks_and_groups(tmp_path, monkeypatch, threads):
    """Keys absent for long runs of rows (filled in lazily, as one run per gap and at each
    chunk's end) read as absent in every row, whatever the block and group boundaries."""
    from genomicframe.formats import vcf as vcf_mod

    rng = random.Random(5)
    lines, want = [], []
    for i in range(2000):
        row = {}
        if i % 97 == 3:
            row["NS"] = i
        if rng.random() < 0.02:
            row["AF"] = [round(rng.random(), 3)]
        if i % 211 == 0:
            row["ANN"] = [f"a{i}", None]
        if rng.random() < 0.3:
            row["AA"] = "T" * (1 + i % 20)
        if i % 2 == 1 and rng.random() < 0.5:
            row["DB"] = True
        if i % 500 == 499:
            row["END"] = 10 * i + 5
        if i % 301 == 300:
            row["Q"] = 0.5
        items = []
        for k, v in row.items():
            if k == "DB":
                items.append("DB")
            elif k in ("AF", "ANN"):
                items.append(f"{k}=" + ",".join("." if x is None else str(x) for x in v))
            else:
                items.append(f"{k}={v}")
        lines.append(f"chr1\t{10 * i + 1}\t.\tA\tC\t.\t.\t{';'.join(items) or '.'}\n")
        want.append(row)
    text = HEADER.split("#CHROM")[0] + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    path = _write(tmp_path, text + "".join(lines), mode="bgzf", block_size=700)
    monkeypatch.setattr(vcf_mod, "GROUP_BYTES", 3000)
    t = _table(path, threads=threads)
    assert t.num_rows == 2000
    info = t.column("info").to_pylist()
    for i, (got, row) in enumerate(zip(info, want)):
        for key, value in got.items():
            exp = row.get(key, False if key == "DB" else None)
            if key == "AF" and exp is not None:
                assert value == pytest.approx(exp), (i, key)
            else:
                assert value == exp, (i, key, value, exp)
    ends = [row.get("END", 10 * i + 1) for i, row in enumerate(want)]
    assert t.column("end").to_pylist() == ends
