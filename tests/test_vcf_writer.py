"""The VCF writer: read -> write -> read gives the same table; htslib (pysam) reads what we write.

Oracles: our own reader (the round trip must give equal tables, schema and field metadata
included) on every real VCF the reader accepts and on generated edge cases, and pysam,
which must read the same records from our output as from the original file.
"""
from __future__ import annotations

import io
import json
import math

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import _vcfgen
import genomicframe as gf
from conftest import real_data_dir
from genomicframe.formats.vcf_writer import VcfWriteError, VcfWriter, write_vcf

_ROOT = real_data_dir()
FILES = sorted(str(p.relative_to(_ROOT)) for p in (_ROOT / "vcf").rglob("*")
               if p.is_file() and p.name.endswith((".vcf", ".vcf.gz"))) if _ROOT else []

#: malformed files htslib reads one way and our reader (so also our output) another
ORACLE_DIFFERS = {
    "failed_body_info_029.vcf": "a Flag given a value: we read the flag as set",
    "failed_body_info_033.vcf": "INFO key repeated: we keep the first value, htslib the last",
    "failed_meta_info_023.vcf": "Flag declared Number=1 with a value: we read the flag as set",
    "failed_meta_info_029.vcf": "Flag declared Number=1 with a value: we read the flag as set",
    "failed_meta_info_031.vcf": "Flag declared Number=1 with a value: we read the flag as set",
    "failed_meta_info_038.vcf": "Flag declared Number=1 with a value: we read the flag as set",
    "failed_meta_info_040.vcf": "Flag declared Number=1 with a value: we read the flag as set",
    "failed_meta_info_042.vcf": "Flag declared Number=1 with a value: we read the flag as set",
}


def _read_or_skip(path) -> pa.Table:
    """The table of a real file; skips the test for files the reader refuses."""
    with path.with_name(path.name + ".expected.jsonl").open() as fh:
        meta = json.loads(fh.readline())["_meta"]
    if meta["status"] != "ok":
        pytest.skip("htslib refuses this file")
    try:
        return gf.dataset(str(path)).to_table()
    except gf.errors.FormatError:  # refused on purpose (test_vcf_real.REJECTED)
        pytest.skip("the reader refuses this file")


def _plain(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def assert_same_table(a: pa.Table, b: pa.Table):
    if "format" not in a.column_names:  # sample columns without FORMAT data are not written
        key = b"genomicframe.vcf.samples"
        a = a.replace_schema_metadata({**a.schema.metadata, key: b"[]"})
        b = b.replace_schema_metadata({**b.schema.metadata, key: b"[]"})
    assert a.schema.equals(b.schema, check_metadata=True), (a.schema, b.schema)
    for f in a.schema:
        for kid in (f.type if pa.types.is_struct(f.type) else []):
            assert kid.metadata == b.schema.field(f.name).type.field(kid.name).metadata, kid.name
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if not x.equals(y):  # NaN != NaN: compare as Python values
            assert _plain(x.to_pylist()) == _plain(y.to_pylist()), name


def _roundtrip(src, tmp_path, name="out.vcf", **kw):
    out = tmp_path / name
    write_vcf(src, out, **kw)
    return out


# -- real files -----------------------------------------------------------------------------------

@pytest.mark.parametrize("rel", FILES)
def test_real_roundtrip(real_data, rel, tmp_path):
    path = real_data / rel
    table = _read_or_skip(path)
    out = _roundtrip(gf.dataset(str(path)), tmp_path)
    assert_same_table(table, gf.dataset(str(out)).to_table())


def _pysam_records(path):
    pysam = pytest.importorskip("pysam")

    def norm(v):
        if isinstance(v, tuple):
            return ",".join("." if x is None else str(norm(x)) for x in v)
        if isinstance(v, float):
            return "nan" if math.isnan(v) else repr(v)
        return v

    out = []
    pysam.set_verbosity(0)
    with pysam.VariantFile(str(path)) as f:
        samples = list(f.header.samples)
        for r in f:
            # a missing value reads as None or '.' depending on how it was written
            info = {k: norm(v) for k, v in r.info.items() if v is not None and v != "."}
            gts = []
            for s in samples:
                g = r.samples[s].get("GT")
                gts.append((g, r.samples[s].phased if g and len(g) > 1 else None))
            out.append((r.chrom, r.pos, r.id, r.ref, r.alts, norm(r.qual), tuple(r.filter.keys()),
                        info, gts))
    return out


@pytest.mark.parametrize("rel", FILES)
def test_real_pysam_reads_our_output(real_data, rel, tmp_path):
    path = real_data / rel
    _read_or_skip(path)
    if path.name in ORACLE_DIFFERS:
        pytest.skip(ORACLE_DIFFERS[path.name])
    try:
        want = _pysam_records(path)
    except (ValueError, OSError):
        pytest.skip("htslib cannot iterate the original")
    out = _roundtrip(gf.dataset(str(path)), tmp_path, "out.vcf.gz")
    assert _pysam_records(out) == want


# -- generated files and edge cases ---------------------------------------------------------------

EDGE = """##fileformat=VCFv4.4
##source=edge-cases
##contig=<ID=1,length=1000>
##contig=<ID=2,length=1000>
##FILTER=<ID=q10,Description="Quality below 10">
##ALT=<ID=DEL,Description="Deletion">
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele \\"frequency\\"">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="SV type">
##INFO=<ID=END,Number=1,Type=Integer,Description="End">
##INFO=<ID=NS,Number=.,Type=String,Description="Names">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">
##FORMAT=<ID=FT,Number=1,Type=String,Description="Sample filter">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc
1\t10\trs1;rs2\tA\tC,<DEL>\t30.5\tPASS\tAF=0.5,.;DP=7;DB;NS=x,.,y\tGT:DP:AD\t0/1:3:1,2,.\t1|1\t./.:.:.
1\t20\t.\tG\tG[2:321682[,*\t.\tq10;PASS\tAF=.,0.25\tGT:AD:FT\t.\t0/0/1:.:PASS\t|1
1\t30\t.\tT\t.\t0\t.\tSVTYPE=DEL;END=90;DB\tGT\t0\t1/.\t.|1
2\t5\t.\tACGT\t<DEL>\t1e-05\t.\t.\t.\t.\t.\t.
2\t6\t.\tC\tT\t123456.7\t.\tDP=-3;AF=1e+20\tGT:DP\t0/1:4\t1|0:.\t.
"""


def _edge_file(tmp_path, text=EDGE, name="edge.vcf"):
    p = tmp_path / name
    p.write_bytes(text.encode())
    return p


def test_edge_cases_roundtrip_and_text(tmp_path):
    src = _edge_file(tmp_path)
    ds = gf.dataset(str(src))
    out = _roundtrip(ds, tmp_path)
    assert_same_table(ds.to_table(), gf.dataset(str(out)).to_table())
    lines = out.read_text().splitlines()
    assert lines[0] == "##fileformat=VCFv4.4"
    assert "##source=edge-cases" in lines and "##ALT=<ID=DEL,Description=\"Deletion\">" in lines
    assert '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele \\"frequency\\"">' in lines
    body = [x.split("\t") for x in lines if not x.startswith("#")]
    # GT first (the header declares DP first); trailing missing values left out
    assert body[0][5:] == ["30.5", "PASS", "AF=0.5,.;DP=7;DB;NS=x,.,y", "GT:DP:AD",
                           "0/1:3:1,2,.", "1|1", "./.:.:."]  # AD '.' reads as [null]
    assert body[1][2:5] == [".", "G", "G[2:321682[,*"]
    assert body[1][5:7] == [".", "q10;PASS"]
    assert body[1][9:] == [".", "0/0/1:.:PASS", "|1"]
    assert body[2][4:8] == [".", "0", ".", "DB;SVTYPE=DEL;END=90"]
    assert body[3][5:] == ["0.00001", ".", ".", ".", ".", ".", "."]
    assert body[4][5] == "123456.7"  # shortest text that reads back to the same float32


def test_edge_cases_pysam_oracle(tmp_path):
    src = _edge_file(tmp_path)
    out = _roundtrip(gf.dataset(str(src)), tmp_path, "edge.out.vcf.gz")
    assert _pysam_records(out) == _pysam_records(src)


def test_crlf_and_header_only(tmp_path):
    src = _edge_file(tmp_path, EDGE.replace("\n", "\r\n"), "crlf.vcf")
    ds = gf.dataset(str(src))
    out = _roundtrip(ds, tmp_path)
    assert b"\r" not in out.read_bytes()
    assert_same_table(ds.to_table(), gf.dataset(str(out)).to_table())
    header = EDGE.split("#CHROM")[0] + "#CHROM" + EDGE.split("#CHROM")[1].split("\n")[0] + "\n"
    src = _edge_file(tmp_path, header, "header_only.vcf")
    ds = gf.dataset(str(src))
    out = _roundtrip(ds, tmp_path)
    assert out.read_text() == header
    assert_same_table(ds.to_table(), gf.dataset(str(out)).to_table())


def test_generated_bgzf_roundtrip_and_index(tmp_path):
    path = _vcfgen.write_vcf(tmp_path / "gen.vcf.gz", _vcfgen.records(n=900))
    ds = gf.dataset(path)
    out = _roundtrip(ds, tmp_path, "gen.out.vcf.gz", threads=2)
    assert_same_table(ds.to_table(), gf.dataset(str(out)).to_table())
    from genomicframe.index.build import write_index

    write_index(str(out))
    got = gf.dataset(str(out)).to_table(filter=gf.region("chr2", 1000, 20000))
    want = ds.to_table(filter=gf.region("chr2", 1000, 20000))
    assert got.num_rows and got.equals(want)
    pysam = pytest.importorskip("pysam")
    with pysam.TabixFile(str(out)) as tbx:
        assert len(list(tbx.fetch("chr2", 1000, 20000))) == want.num_rows


def test_projected_columns_keys_and_samples(tmp_path):
    src = _edge_file(tmp_path)
    ds = gf.dataset(str(src), samples=["c", "a"], info_fields=["AF", "DB"],
                    format_fields=["GT", "AD"])
    out = _roundtrip(ds, tmp_path)
    text = out.read_text()
    assert "##INFO=<ID=DP" not in text and "##FORMAT=<ID=DP" not in text
    assert "##INFO=<ID=AF" in text and "##FORMAT=<ID=AD" in text
    assert text.splitlines()[[x[:6] for x in text.splitlines()].index("#CHROM")].endswith(
        "FORMAT\ta\tc")
    # INFO/END was projected away, so ``end`` falls back to the REF span on reading
    cols = [c for c in ds.schema.names if c != "end"]
    assert_same_table(ds.to_table(columns=cols), gf.dataset(str(out)).to_table(columns=cols))
    # a column selection: no INFO/FORMAT at all -> '.' INFO, no sample columns
    t = gf.dataset(str(src)).to_table(columns=["chrom", "pos", "ref", "alt", "end"])
    buf = io.BytesIO()
    write_vcf(t, buf)
    lines = buf.getvalue().decode().splitlines()
    assert lines[-3].split("\t") == ["1", "30", ".", "T", ".", ".", ".", "END=90"]
    assert lines[-2].split("\t")[7] == "."  # <DEL> without END spans REF: nothing to add
    assert any(x.startswith("##INFO=<ID=END,Number=1,Type=Integer") for x in lines)
    # struct children picked as columns named info.KEY / format.KEY
    cols = ["chrom", "pos", "ref", "info.DP", "format.GT"]
    t = gf.dataset(str(src)).to_table(columns={c: pc.field(*c.split(".")) for c in cols})
    buf = io.BytesIO()
    write_vcf(t, buf, header=str(src))
    lines = buf.getvalue().decode().splitlines()
    assert lines[-1].split("\t")[7:] == ["DP=-3", "GT", "0/1", "1|0", "."]
    assert '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">' in lines


def test_end_written_when_it_is_not_the_ref_span(tmp_path):
    t = pa.table({"chrom": ["1", "1"], "start": [9, 19], "end": [10, 500], "ref": ["A", "C"],
                  "alt": [["G"], ["<DEL>"]]})
    buf = io.BytesIO()
    write_vcf(t, buf)
    lines = buf.getvalue().decode().splitlines()
    assert lines[-2].split("\t")[1:] == ["10", ".", "A", "G", ".", ".", "."]
    assert lines[-1].split("\t")[1:] == ["20", ".", "C", "<DEL>", ".", ".", "END=500"]
    p = tmp_path / "x.vcf"
    p.write_bytes(buf.getvalue())
    back = gf.dataset(str(p)).to_table()
    assert back["end"].to_pylist() == [10, 500]


def test_synthesized_header_from_a_plain_table():
    t = pa.table({
        "chrom": ["chr2", "chr1", "chr2"], "pos": [5, 7, 9], "ref": ["A", "C", "G"],
        "qual": [1.5, None, 100.0], "filter": [["PASS"], ["lowq", "x"], []],
        "info": pa.array([{"n": 1, "f": True, "tags": ["a", None]},
                          {"n": None, "f": False, "tags": []},
                          {"n": 3, "f": None, "tags": None}]),
        "format": pa.array([{"GT": [{"alleles": [0, 1], "phased": False}], "X": [[1.5, None]]}]
                           * 3),
    })
    buf = io.BytesIO()
    assert write_vcf(t, buf, samples=["s1"]) == 3
    lines = buf.getvalue().decode().splitlines()
    assert lines[0] == "##fileformat=VCFv4.3"
    assert '##FILTER=<ID=lowq,Description="lowq">' in lines
    assert '##INFO=<ID=n,Number=1,Type=Integer,Description="">' in lines
    assert '##INFO=<ID=f,Number=0,Type=Flag,Description="">' in lines
    assert '##INFO=<ID=tags,Number=.,Type=String,Description="">' in lines
    assert '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">' in lines
    assert '##FORMAT=<ID=X,Number=.,Type=Float,Description="">' in lines
    assert lines.index("##contig=<ID=chr2>") < lines.index("##contig=<ID=chr1>")
    assert lines[-4] == "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1"
    assert [x.split("\t")[5:] for x in lines[-3:]] == [
        ["1.5", "PASS", "n=1;f;tags=a,.", "GT:X", "0/1:1.5,."],
        [".", "lowq;x", "tags=", "GT:X", "0/1:1.5,."],
        ["100", ".", "n=3", "GT:X", "0/1:1.5,."]]


def test_missing_required_columns_raise():
    t = pa.table({"chrom": ["1"], "qual": [1.0]})
    with pytest.raises(VcfWriteError, match="pos \\(or start\\), ref"):
        write_vcf(t, io.BytesIO())
    assert isinstance(VcfWriteError("x"), (ValueError, gf.GenomicFrameError))
    t = pa.table({"chrom": ["1", None], "pos": [1, 2], "ref": ["A", "C"]})
    with pytest.raises(VcfWriteError, match="chrom has null"):
        write_vcf(t, io.BytesIO())


def test_inputs_streams_and_slices(tmp_path):
    path = _vcfgen.write_vcf(tmp_path / "gen.vcf.gz", _vcfgen.records(n=300))
    ds = gf.dataset(path)
    table = ds.to_table()
    want = io.BytesIO()
    write_vcf(ds, want)
    for data in (ds.scanner(), gf.scan(path), table, table.to_reader(),
                 iter(table.to_batches(max_chunksize=7))):
        got = io.BytesIO()
        write_vcf(data, got, header=path)
        assert got.getvalue() == want.getvalue()
    # slices of lists (non-zero offsets) format like the whole
    piece = io.BytesIO()
    write_vcf(table.slice(101, 50), piece, header=path, write_header=False)
    body = [x for x in want.getvalue().splitlines(keepends=True) if not x.startswith(b"#")]
    assert piece.getvalue() == b"".join(body[101:151])
    head = io.BytesIO()
    assert write_vcf(ds, head, header_only=True) == 0
    assert head.getvalue() == b"".join(x for x in want.getvalue().splitlines(keepends=True)
                                       if x.startswith(b"#"))


def test_writer_class_and_meta(tmp_path):
    path = _vcfgen.write_vcf(tmp_path / "gen.vcf.gz", _vcfgen.records(n=60))
    ds = gf.dataset(path)
    out = tmp_path / "w.vcf"
    with VcfWriter(out, ds.schema, header=path, meta=["##genomicframe_command=test"]) as w:
        for b in ds.to_batches(batch_size=16):
            w.write_batch(b)
    text = out.read_text().splitlines()
    assert text[text.index("##genomicframe_command=test") + 1].startswith("#CHROM")
    assert_same_table(ds.to_table(), gf.dataset(str(out)).to_table())


def test_float_text_reads_back_exactly():
    vals = pa.array([0.1, 1 / 3, 1e-7, 3.4e38, 123456.7, 7337.03, 5.0, -0.0, float("inf")],
                    pa.float32())
    t = pa.table({"chrom": ["1"] * len(vals), "pos": list(range(1, len(vals) + 1)),
                  "ref": ["A"] * len(vals), "qual": vals})
    buf = io.BytesIO()
    write_vcf(t, buf)
    quals = [x.split("\t")[5] for x in buf.getvalue().decode().splitlines()
             if not x.startswith("#")]
    assert quals[0] == "0.1" and quals[6] == "5" and quals[8] == "inf"
    assert pa.array([float(q) for q in quals], pa.float32()).equals(vals)
    assert all(not q.endswith("0") or q == "0" for q in quals if "e" not in q and "." in q)


def test_batches_formatted_on_threads_keep_order(tmp_path):
    path = _vcfgen.write_vcf(tmp_path / "gen.vcf.gz", _vcfgen.records(n=600))
    table = gf.dataset(path).to_table()
    one, two = io.BytesIO(), io.BytesIO()
    write_vcf(iter(table.to_batches(max_chunksize=13)), one, header=path, threads=1)
    write_vcf(iter(table.to_batches(max_chunksize=13)), two, header=path, threads=2)
    assert one.getvalue() == two.getvalue()
    assert pc.sum(table["pos"]).as_py() > 0
