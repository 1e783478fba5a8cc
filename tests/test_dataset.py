"""The dataset layer (Dataset, Fragment, Scanner) on the toy format, then on VCF."""
from __future__ import annotations

import pickle

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pytest

import _toyformat as toy
import genomicframe as gf
from genomicframe.dataset import Dataset, Fragment, Scanner
from genomicframe.expressions import FilterSyntaxError
from genomicframe.formats.base import FragmentSpec

f = pc.field


@pytest.fixture(scope="module")
def toy_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("toy")
    return toy.write_toy(d / "calls.toy", toy.sample_rows(), index=True)


@pytest.fixture(scope="module")
def oracle(toy_path):
    """The whole file read by the format directly: no dataset layer involved."""
    fmt = toy.ToyFormat()
    return pa.Table.from_batches(list(fmt.read_batches(FragmentSpec(toy_path, "toy"))),
                                 schema=fmt.inspect(toy_path))


@pytest.fixture
def ds(toy_path):
    return gf.dataset(toy_path)


@pytest.fixture(autouse=True)
def _clear_calls():
    toy.CALLS.clear()


FILTERS = [
    f("qual") >= 30,
    (f("chrom") == "chr2") & (f("pos") >= 100) & (f("pos") < 400),
    f("chrom").isin(["chr1", "chrX"]) & (f("end") > 200) & (f("start") <= 900),
    ((f("chrom") == "chr1") | (f("chrom") == "chr2")) & f("name").is_valid(),
    ~(f("qual") > 20) | f("qual").is_null(),
    f("info", "AF") > 0.5,
    f("info", "DB") & (f("chrom") != "chr1"),
    (f("pos") > 500) & (f("pos") < 100),
    f("name").isin(["rs1", "rs500", "rs97"]),
    (f("chrom") == "chrX") & (f("pos") == 40),
]


# -- pyarrow compatibility -----------------------------------------------------------------------
def test_is_a_pyarrow_dataset(ds):
    assert isinstance(ds, pads.Dataset)
    with pytest.raises(TypeError, match="genomicframe.dataset"):
        Dataset()


def _inherited_members():
    return sorted(m for m in dir(pads.Dataset) if not (m.startswith("__") and m in dir(object)))


def test_every_inherited_member_is_overridden():
    for name in _inherited_members():
        if name == "__pyx_vtable__":  # a C capsule, read only by Cython code, never called
            continue
        assert name in Dataset.__dict__, f"Dataset does not override {name}"


def test_every_inherited_member_works(ds, oracle, toy_path):
    """Call each member pyarrow's Dataset defines: none may crash or reach a NULL C++ pointer."""
    flat = ds.replace_schema(pa.schema([x for x in oracle.schema if x.name != "info"]))
    calls = {
        "count_rows": lambda: ds.count_rows() == oracle.num_rows,
        "filter": lambda: ds.filter(f("qual") > 10).count_rows()
        == oracle.filter(f("qual") > 10).num_rows,
        "get_fragments": lambda: all(isinstance(x, Fragment) for x in ds.get_fragments()),
        "_get_fragments": lambda: all(isinstance(x, Fragment) for x in ds._get_fragments(None)),
        "head": lambda: ds.head(3).equals(oracle.slice(0, 3)),
        # (pyarrow joins cannot carry struct columns, so the joins use a schema without info)
        "join": lambda: flat.join(pa.table({"name": ["rs97"], "tag": [1]}), "name")
        .to_table().filter(f("tag") == 1).num_rows == oracle.filter(f("name") == "rs97").num_rows,
        "join_asof": lambda: flat.filter(f("chrom") == "chr1").join_asof(
            pads.dataset(pa.table({"chrom": ["chr1"], "pos": [100], "x": [7]})),
            on="pos", by="chrom", tolerance=1000).to_table().filter(f("x") == 7).num_rows
        == oracle.filter((f("chrom") == "chr1") & (f("pos") <= 100)).num_rows,
        "partition_expression": lambda: ds.partition_expression.equals(pc.scalar(True)),
        "replace_schema": lambda: ds.replace_schema(
            oracle.schema.set(1, pa.field("pos", pa.float64()))).to_table().column("pos").type
        == pa.float64(),
        "scanner": lambda: isinstance(ds.scanner(), Scanner),
        "schema": lambda: ds.schema.equals(oracle.schema),
        "sort_by": lambda: ds.sort_by([("qual", "descending")]).to_table().column("qual").equals(
            oracle.sort_by([("qual", "descending")]).column("qual")),
        "take": lambda: ds.take([3, 0]).equals(oracle.take([3, 0])),
        "to_batches": lambda: pa.Table.from_batches(list(ds.to_batches())).equals(oracle),
        "to_table": lambda: ds.to_table().equals(oracle),
        "__setstate__": lambda: pickle.loads(pickle.dumps(ds)).to_table().equals(oracle),
        "_scan_options": lambda: ds._scan_options == {}
        and ds.filter("qual > 1")._scan_options["filter"].equals(f("qual") > 1),
        "_scanner_options": lambda: ds._scanner_options({"columns": ["a"]}) == {"columns": ["a"]}
        and ds.filter("qual > 1")._scanner_options({"filter": f("pos") < 5})["filter"].equals(
            (f("qual") > 1) & (f("pos") < 5)),
    }
    for name in _inherited_members():
        if name == "__pyx_vtable__":
            continue
        assert name in calls, f"no check for {name}"
        assert calls[name](), name


def test_pyarrow_functions_that_take_a_dataset(ds, oracle, tmp_path):
    pads.write_dataset(ds, tmp_path / "out", format="parquet")
    assert pads.dataset(tmp_path / "out").to_table().equals(oracle)
    assert pads.InMemoryDataset(pa.RecordBatchReader.from_stream(ds)).to_table().equals(oracle)


def test_arrow_c_stream_is_fresh_per_call(ds, oracle):
    for _ in range(2):
        assert pa.RecordBatchReader.from_stream(ds).read_all().equals(oracle)
    assert pa.table(ds).equals(oracle)
    assert pa.schema(ds).equals(oracle.schema)
    sc = ds.scanner(columns=["pos"], filter=f("qual") > 50)
    for _ in range(2):
        got = pa.RecordBatchReader.from_stream(sc).read_all()
        assert got.equals(oracle.filter(f("qual") > 50).select(["pos"]))


# -- results ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("flt", FILTERS, ids=str)
def test_filter_equals_post_filter(ds, oracle, flt):
    assert ds.to_table(filter=flt).equals(oracle.filter(flt))
    assert ds.count_rows(filter=flt) == oracle.filter(flt).num_rows


@pytest.mark.parametrize("use_threads", [False, True], ids=["serial", "threaded"])
def test_columns_order_and_batch_size(ds, oracle, use_threads):
    got = ds.to_table(columns=["qual", "chrom"], filter=f("pos") > 100, batch_size=7,
                      use_threads=use_threads)
    assert got.column_names == ["qual", "chrom"]
    assert got.equals(oracle.filter(f("pos") > 100).select(["qual", "chrom"]))
    assert max(b.num_rows for b in ds.to_batches(batch_size=7)) <= 7


def test_projection_reads_only_needed_columns(ds):
    ds.to_table(columns=["name"], filter=f("qual") >= 30)
    assert {tuple(c["columns"]) for c in toy.CALLS} == {("qual", "name")}
    pd = toy.CALLS[0]["pushdown"]
    assert set(pd.ranges) == {"qual"} and pd.ranges["qual"].contains(30.0)
    assert not pd.ranges["qual"].contains(29.0)


def test_struct_child_projection(ds, oracle):
    got = ds.to_table(columns=["pos", "info.AF"])
    assert got.column(1).to_pylist() == [None if r is None else r["AF"]
                                         for r in oracle.column("info").to_pylist()]
    assert {tuple(c["columns"]) for c in toy.CALLS} == {("pos", "info")}
    got = ds.to_table(columns={"af": f("info", "AF"), "p": f("pos")})
    assert got.column_names == ["af", "p"]


def test_only_the_struct_children_used_are_decoded(ds, oracle):
    got = ds.to_table(columns=["pos", "info.AF"], filter="info.AF > 0.5")
    want = oracle.filter(f("info", "AF") > 0.5)
    assert got.column(1).to_pylist() == [r["AF"] for r in want.column("info").to_pylist()]
    assert [c["spec"].option("info_fields") for c in toy.CALLS] == [("AF",)]
    toy.CALLS.clear()
    assert ds.to_table(columns=["pos"], filter="info.DB").equals(
        oracle.filter(f("info", "DB")).select(["pos"]))
    assert [c["spec"].option("info_fields") for c in toy.CALLS] == [("DB",)]
    toy.CALLS.clear()
    assert ds.to_table(columns=["info"], filter="info.DB").equals(
        oracle.filter(f("info", "DB")).select(["info"]))
    assert [c["spec"].option("info_fields") for c in toy.CALLS] == [None]


def test_string_filters(ds, oracle):
    got = ds.to_table(filter="qual >= 30 and chrom == 'chr2'")
    assert got.equals(oracle.filter((f("qual") >= 30) & (f("chrom") == "chr2")))
    with pytest.raises(FilterSyntaxError, match="unknown column 'qaul'"):
        ds.to_table(filter="qaul >= 30")


def test_unknown_column_and_missing_file(ds, tmp_path):
    with pytest.raises(KeyError, match="no column 'nope'"):
        ds.to_table(columns=["nope"])
    with pytest.raises(FileNotFoundError):
        gf.dataset(tmp_path / "missing.toy")


def test_head_take_count(ds, oracle):
    assert ds.head(0).num_rows == 0
    assert ds.head(5, columns=["pos"], filter=f("qual") > 40).equals(
        oracle.filter(f("qual") > 40).select(["pos"]).slice(0, 5))
    assert ds.take([10, 2, 10, 299]).equals(oracle.take([10, 2, 10, 299]))
    with pytest.raises(IndexError):
        ds.take([300])
    assert ds.count_rows() == 300


def test_empty_filter_reads_nothing(ds):
    assert ds.to_table(filter=(f("pos") > 500) & (f("pos") < 100)).num_rows == 0
    assert toy.CALLS == []


# -- index pruning and fragments -------------------------------------------------------------------
def test_or_of_regions_reads_each_region(ds, oracle):
    flt = gf.region("chr1:100-200") | gf.region("chr1:3000-3100") | gf.region("chrX:50-60")
    frags = list(ds.get_fragments(filter=flt))
    assert [x.spec.region for x in frags] == [("chr1", 99, 200), ("chr1", 2999, 3100),
                                              ("chrX", 49, 60)]
    assert ds.to_table(filter=flt).equals(oracle.filter(flt))
    assert "index:    chr1:[99, 200), chr1:[2999, 3100), chrX:[49, 60)" in \
        gf.scan(ds).filter(flt).explain()


def test_index_regions_prune_fragments(ds, oracle):
    flt = (f("chrom") == "chr2") & (f("pos") >= 100) & (f("pos") <= 400)
    frags = list(ds.get_fragments(filter=flt))
    assert [x.spec.region for x in frags] == [("chr2", 98, 400)]
    assert str(frags[0].partition_expression) == \
        '(((chrom == "chr2") and (start < 400)) and (end > 98))'
    got = ds.to_table(filter=flt)
    assert got.equals(oracle.filter(flt))
    # the fragment yields only rows of its partition expression
    part = frags[0].to_table()
    assert part.equals(oracle.filter(frags[0].partition_expression))
    assert all(c["spec"].region == ("chr2", 98, 400) for c in toy.CALLS)


def test_no_index_means_whole_file(tmp_path, oracle):
    path = toy.write_toy(tmp_path / "x.toy", toy.sample_rows(), index=False)
    d = gf.dataset(path, target_size=700)
    frags = list(d.get_fragments(filter=f("chrom") == "chr1"))
    assert len(frags) > 3 and all(x.spec.region is None for x in frags)
    assert pa.concat_tables(x.to_table() for x in frags).equals(oracle)
    assert d.to_table(filter=f("chrom") == "chr1").equals(oracle.filter(f("chrom") == "chr1"))


def test_records_spanning_two_regions_are_returned_once(toy_path, oracle):
    d = gf.dataset(toy_path, split_regions=True)
    flt = f("chrom").isin(["chr1", "chr2"]) & (f("pos") > 50) & (f("pos") < 800)
    frags = list(d.get_fragments(filter=flt))
    assert len(frags) == 4  # two halves per chromosome, each holding the whole chromosome
    got = d.to_table(filter=flt)
    assert got.equals(oracle.filter(flt))
    # long records straddle the halves: both fragments see them, one owns them
    assert sum(x.count_rows(filter=flt) for x in frags) == got.num_rows


def test_fragment_is_a_value(ds, oracle):
    frags = list(ds.get_fragments())
    again = pickle.loads(pickle.dumps(frags))
    assert again == frags and hash(again[0]) == hash(frags[0])
    assert again[0].__dask_tokenize__() == frags[0].__dask_tokenize__()
    assert pa.concat_tables(x.to_table() for x in again).equals(oracle)
    fr = frags[0]
    assert fr.physical_schema.equals(oracle.schema)
    assert fr.head(2).num_rows == 2
    assert fr.count_rows() == oracle.num_rows
    assert fr.take([1]).equals(oracle.take([1]))
    assert fr.scanner(columns=["pos"]).projected_schema.names == ["pos"]
    assert Scanner.from_fragment(fr, columns=["chrom"]).to_table().num_rows == oracle.num_rows


def test_scanner_api(ds, oracle):
    sc = Scanner.from_dataset(ds, columns=["chrom", "qual"], filter="qual > 45")
    want = oracle.filter(f("qual") > 45).select(["chrom", "qual"])
    assert sc.dataset_schema.equals(oracle.schema)
    assert sc.projected_schema.names == ["chrom", "qual"]
    assert sc.to_table().equals(want)
    assert sc.to_reader().read_all().equals(want)
    assert sc.count_rows() == want.num_rows
    assert sc.head(3).equals(want.slice(0, 3))
    tagged = list(sc.scan_batches())
    assert all(isinstance(t.fragment, Fragment) for t in tagged)
    assert pa.Table.from_batches([t.record_batch for t in tagged]).equals(want)
    one_shot = Scanner.from_batches(iter(want.to_batches()), schema=want.schema)
    assert one_shot.to_table().equals(want)


def test_filtered_view(ds, oracle):
    view = ds.filter("chrom == 'chrX'").filter(f("qual") < 20)
    want = oracle.filter((f("chrom") == "chrX") & (f("qual") < 20))
    assert view.to_table().equals(want)
    assert view.count_rows() == want.num_rows
    assert pa.concat_tables(x.to_table() for x in view.get_fragments()).equals(want)
    assert pickle.loads(pickle.dumps(view)).to_table().equals(want)


# -- several files ---------------------------------------------------------------------------------
def test_multi_file_schema_union(tmp_path):
    a = toy.write_toy(tmp_path / "a.toy", [("chr1", 5, 6, 10.0, "x", "AF=0.5;DB")],
                      info="AF:double,DB:bool")
    b = toy.write_toy(tmp_path / "b.toy", [("chr2", 7, 8, None, None, "AF=0.1;NOTE=hi")],
                      info="AF:double,NOTE:string")
    d = gf.dataset([a, b])
    assert d.schema.field("info").type == pa.struct(
        [("AF", pa.float64()), ("DB", pa.bool_()), ("NOTE", pa.string())])
    t = d.to_table(columns=["chrom", "info"])
    assert t.column("info").to_pylist() == [{"AF": 0.5, "DB": True, "NOTE": None},
                                            {"AF": 0.1, "DB": None, "NOTE": "hi"}]
    assert d.to_table(filter="info.NOTE == 'hi'").column("chrom").to_pylist() == ["chr2"]
    assert d.files == [a, b]


def test_glob_patterns(tmp_path):
    for i, chrom in enumerate(["chr1", "chr2", "chr3"]):
        toy.write_toy(tmp_path / f"part{i}.toy", [(chrom, 10, 11, 1.0, None, "")])
    d = gf.dataset(str(tmp_path / "part*.toy"))
    assert d.to_table().column("chrom").to_pylist() == ["chr1", "chr2", "chr3"]
    with pytest.raises(FileNotFoundError):
        gf.dataset(str(tmp_path / "nothing*.toy"))


def test_lazy_top_level_names():
    assert gf.dataset is gf.dataset  # resolved once, then cached
    assert gf.Dataset is Dataset and gf.Fragment is Fragment and gf.Scanner is Scanner
    assert str(gf.field("qual") >= gf.scalar(3)) == "(qual >= 3)"
    assert str(gf.region("c:2-3")) == '(((chrom == "c") and (start < 3)) and (end > 1))'


# -- gf.scan ---------------------------------------------------------------------------------------
def test_scan_plan(toy_path, oracle):
    q = gf.scan(toy_path).filter("qual >= 30").filter(f("chrom") == "chr2").select("pos", "info.AF")
    want = oracle.filter((f("qual") >= 30) & (f("chrom") == "chr2"))
    got = q.to_arrow()
    assert got.column_names == ["pos", "AF"]
    assert got.column("pos").equals(want.column("pos"))
    assert q.count() == want.num_rows
    assert q.limit(4).to_arrow().equals(got.slice(0, 4))
    assert q.limit(4).limit(2).to_arrow().num_rows == 2
    assert q.limit(0).to_arrow().num_rows == 0
    assert q.head(3).num_rows == 3
    assert pa.RecordBatchReader.from_stream(q).read_all().equals(got)
    named = gf.scan(toy_path).select("pos", af=f("info", "AF") * 2).to_arrow()
    assert named.column_names == ["pos", "af"]


def test_scan_filter_after_limit_filters_the_limited_rows(toy_path, oracle):
    q = gf.scan(toy_path).limit(10).filter("qual > 20")
    assert q.to_arrow().equals(oracle.slice(0, 10).filter(f("qual") > 20))
    assert "limited plan" in q.explain()


def test_scan_explain(toy_path):
    text = gf.scan(toy_path).filter(
        "qual >= 30 and chrom == 'chr2' and info.AF > 0.1 and pos >= 1000").select("pos").limit(5
                                                                                        ).explain()
    assert "columns:  pos" in text
    assert "read:     chrom, pos, qual, info(AF)" in text
    assert "index:    chr2:[998, end)" in text
    assert "parser:   chrom in {chr2}; 1000 <= pos; 30 <= qual" in text
    assert "term (info.AF > 0.1) -> residual" in text
    assert '(chrom == "chr2") -> index + parser' in text
    assert "limit:    5" in text
    never = gf.scan(toy_path).filter("pos > 5 and pos < 2").explain()
    assert "filter:   can never be true" in never


def test_scan_to_pandas_and_parquet(toy_path, oracle, tmp_path):
    pd = pytest.importorskip("pandas")
    df = gf.scan(toy_path).filter("chrom == 'chrX'").select("chrom", "pos").to_pandas()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["chrom", "pos"]
    assert len(df) == oracle.filter(f("chrom") == "chrX").num_rows
    import pyarrow.parquet as pq

    gf.scan(toy_path).to_parquet(tmp_path / "all.parquet")
    assert pq.read_table(tmp_path / "all.parquet").equals(oracle)
    gf.scan(toy_path).select("chrom", "pos").to_parquet(tmp_path / "parts", partition_by="chrom")
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [
        "chrom=chr1", "chrom=chr2", "chrom=chrX"]
    back = pads.dataset(tmp_path / "parts", partitioning="hive").to_table()
    assert back.num_rows == oracle.num_rows


def test_nothing_is_read_ahead(ds, oracle):
    """head() and a partly consumed to_batches() pull only the batches they use."""
    assert ds.head(3, batch_size=10, filter=f("qual").is_valid()).equals(
        oracle.filter(f("qual").is_valid()).slice(0, 3))
    assert [c["batches"] for c in toy.CALLS] == [1]
    toy.CALLS.clear()
    it = ds.to_batches(columns={"p": f("pos") + 1}, batch_size=10)
    next(it)
    assert [c["batches"] for c in toy.CALLS] == [1]


# -- VCF with a tabix index ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def indexed_vcf(tmp_path_factory):
    pytest.importorskip("genomicframe.formats.vcf")
    pysam = pytest.importorskip("pysam")
    import _vcfgen

    path = _vcfgen.write_vcf(tmp_path_factory.mktemp("tbi") / "calls.vcf.gz",
                             _vcfgen.records(n=6000, seed=9))
    pysam.tabix_index(path, preset="vcf", force=True)
    return path


@pytest.fixture
def index_planning(monkeypatch):
    """VcfFormat.make_fragments through the tabix planner, in small fragments (several a contig)."""
    from genomicframe.formats.vcf import VcfFormat
    from genomicframe.index.plan import index_fragments

    asked = []

    def make_fragments(self, path, *, regions=None, target_size=64 << 20, options=()):
        asked.append(regions)
        return index_fragments(path, regions, options, format="vcf", target_size=8 << 10)

    monkeypatch.setattr(VcfFormat, "make_fragments", make_fragments)
    return asked


@pytest.mark.parametrize("text", [
    "chrom == 'chr2' and pos >= 100000 and pos < 120000",
    "chrom in ('chr1', 'chrX') and start < 30000 and end > 29000",
    "chrom == 'chrX' and pos > 500000",
    "(chrom == 'chr1' and pos < 5000) or (chrom == 'chr2' and pos > 590000)",
    "chrom == 'chr2' and end > 300000 and end <= 300400",
    "chrom == 'chr9' and pos > 1",
])
def test_tabix_regions_are_exact(indexed_vcf, index_planning, text):
    ds = gf.dataset(indexed_vcf)
    expr = gf.expressions.parse(text, ds.schema)
    full = ds.to_table()
    assert ds.to_table(filter=expr).equals(full.filter(expr))
    assert ds.count_rows(filter=expr) == full.filter(expr).num_rows


def test_tabix_two_regions_are_asked_separately(indexed_vcf, index_planning):
    ds = gf.dataset(indexed_vcf)
    two = gf.region("chr2:20,000-21,000") | gf.region("chr2:280,000-281,000")
    got = ds.to_table(filter=two)
    assert index_planning[-1] == [("chr2", 19999, 21000), ("chr2", 279999, 281000)]
    full = ds.to_table()
    assert got.equals(full.filter(two)) and got.num_rows > 0


def test_tabix_reads_only_the_region(indexed_vcf, index_planning):
    import os

    ds = gf.dataset(indexed_vcf)
    whole = list(ds.get_fragments())
    assert all(fr.spec.region is None for fr in whole) and len(whole) > 3
    frags = list(ds.get_fragments(filter="chrom == 'chr2' and pos >= 100000 and pos < 110000"))
    assert frags and {fr.spec.region for fr in frags} == {("chr2", 99998, 109999)}
    # a small part of one of three contigs: the index chunks cover well under half the file
    compressed = sum((e >> 16) - (b >> 16) for fr in frags for b, e in fr.spec.voffset_ranges)
    assert compressed < 0.5 * os.path.getsize(indexed_vcf)


def test_vcf_format_options_reach_schema_and_fragments(real_data):
    pytest.importorskip("genomicframe.formats.vcf")
    path = real_data / "vcf" / "oxbow" / "sample.vcf.gz"
    if not path.exists():
        pytest.skip("sample.vcf.gz not in the real-data folder")
    full = gf.dataset(path)
    sites = gf.dataset(path, samples=())
    assert "format" in full.schema.names and "format" not in sites.schema.names
    assert all(fr.spec.option("samples") == () for fr in sites.get_fragments())
    assert sites.to_table().equals(full.to_table().drop_columns(["format"]))


def test_vcf_multi_file_info_union(tmp_path):
    pytest.importorskip("genomicframe.formats.vcf")
    head = "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
    cols = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    a = tmp_path / "a.vcf"
    a.write_text(head + '##INFO=<ID=DP,Number=1,Type=Integer,Description="d">\n'
                 + '##INFO=<ID=DB,Number=0,Type=Flag,Description="f">\n' + cols
                 + "1\t10\t.\tA\tG\t50\tPASS\tDP=7;DB\n")
    b = tmp_path / "b.vcf"
    b.write_text(head + '##INFO=<ID=XX,Number=1,Type=String,Description="x">\n' + cols
                 + "1\t20\t.\tC\tT\t.\tPASS\tXX=hi\n")
    ds = gf.dataset([a, b])
    info = ds.schema.field("info").type
    assert [info.field(i).name for i in range(info.num_fields)] == ["DP", "DB", "XX"]
    # a flag is never null in its own file, but b.vcf has no DB: null there, so nullable
    assert not gf.dataset(a).schema.field("info").type.field("DB").nullable
    assert info.field("DB").nullable
    t = ds.to_table(columns=["pos", "info"])
    assert t.column("info").to_pylist() == [{"DP": 7, "DB": True, "XX": None},
                                            {"DP": None, "DB": None, "XX": "hi"}]
    t.validate(full=True)
    assert ds.to_table(filter="info.XX == 'hi'").column("pos").to_pylist() == [20]


def test_scan_stats(tmp_path, toy_path):
    pytest.importorskip("genomicframe.formats.vcf_stats")
    import _vcfgen
    from genomicframe.formats.vcf_stats import VcfStats

    path = _vcfgen.write_vcf(tmp_path / "s.vcf.gz", _vcfgen.records(n=300))
    assert gf.scan(path).stats().to_dict() == VcfStats.from_file(path).to_dict()
    q = gf.scan(path).filter("qual >= 30 and chrom != 'chr2'").select("pos")
    want = VcfStats.from_batches([gf.dataset(path).to_table().filter(
        (f("qual") >= 30) & (f("chrom") != "chr2"))])
    got = q.stats()
    assert got.to_dict() == want.to_dict() and 0 < got.records < 300
    assert gf.scan(path).limit(7).stats().records == 7
    with pytest.raises(ValueError, match="no statistics for toy files"):
        gf.scan(toy_path).stats()


# -- every real VCF through the dataset layer ------------------------------------------------------
def _real_vcfs():
    from conftest import real_data_dir

    root = real_data_dir()
    if root is None:
        return []
    return sorted(str(p.relative_to(root)) for p in (root / "vcf").rglob("*")
                  if p.is_file() and p.name.endswith((".vcf", ".vcf.gz")))


def _same_rows(a: pa.Table, b: pa.Table) -> bool:
    """Table equality with NaN equal to NaN (VCF QUAL may be NaN)."""
    import math

    def norm(x):
        if isinstance(x, float) and math.isnan(x):
            return "NaN"
        if isinstance(x, dict):
            return {k: norm(v) for k, v in x.items()}
        if isinstance(x, list):
            return [norm(v) for v in x]
        return x

    return a.schema.equals(b.schema) and (a.equals(b) or norm(a.to_pylist()) == norm(b.to_pylist()))


@pytest.mark.parametrize("name", _real_vcfs())
def test_real_vcf_filters_are_exact(real_data, name):
    pytest.importorskip("genomicframe.formats.vcf")
    from genomicframe.errors import GenomicFrameError

    try:
        ds = gf.dataset(real_data / name)
        table = ds.to_table()
    except (GenomicFrameError, ValueError):
        pytest.skip("a file the VCF reader refuses (tested in test_vcf_real.py)")
    if table.num_rows == 0:
        assert ds.count_rows() == 0
        return
    chrom = table.column("chrom")[0].as_py()
    mid = table.column("pos")[table.num_rows // 2].as_py()
    start0 = table.column("start")[0].as_py()
    for flt in [(f("chrom") == chrom) & (f("qual") >= 10), f("pos") > mid,
                (f("chrom") == chrom) & (f("end") > start0 + 5) & (f("pos") <= mid),
                f("qual").is_null() | (f("chrom") != chrom)]:
        assert _same_rows(ds.to_table(filter=flt), table.filter(flt)), str(flt)
        cols = ["chrom", "pos", "end"]
        assert _same_rows(ds.to_table(columns=cols, filter=flt), table.filter(flt).select(cols))


def test_vcf_native_index_fragments(indexed_vcf):
    """VcfFormat.make_fragments itself turns regions into index chunks (no planner swapped in)."""
    ds = gf.dataset(indexed_vcf)
    flt = gf.region("chrX:100,000-120,000")
    frags = list(ds.get_fragments(filter=flt))
    assert frags and all(fr.spec.region is not None and fr.spec.region[0] == "chrX"
                         for fr in frags)
    assert ds.to_table(filter=flt).equals(ds.to_table().filter(flt))


def test_vcf_info_children_narrowed(monkeypatch, tmp_path):
    """With ``child_projection`` VcfFormat decodes only the INFO keys a scan uses."""
    pytest.importorskip("genomicframe.formats.vcf")
    import _vcfgen
    from genomicframe.formats.vcf import VcfFormat

    path = _vcfgen.write_vcf(tmp_path / "n.vcf.gz", _vcfgen.records(n=300))
    full = gf.dataset(path).to_table()
    monkeypatch.setattr(VcfFormat, "child_projection", {"info": "info_fields"}, raising=False)
    seen = []
    original = VcfFormat.read_batches

    def spy(self, fragment, **kw):
        seen.append(fragment.option("info_fields"))
        return original(self, fragment, **kw)

    monkeypatch.setattr(VcfFormat, "read_batches", spy)
    ds = gf.dataset(path)
    got = ds.to_table(columns=["pos", "info.DP"], filter="info.DB and qual > 20")
    want = full.filter(f("info", "DB") & (f("qual") > 20))
    assert seen == [("DB", "DP")]
    assert got.column("pos").equals(want.column("pos"))
    assert got.column(1).to_pylist() == [r["DP"] for r in want.column("info").to_pylist()]
