"""DuckDB over a Dataset: right answers; the parser gets only the needed columns and the filter."""
from __future__ import annotations

import pyarrow.compute as pc
import pytest

import _toyformat as toy
import genomicframe as gf

duckdb = pytest.importorskip("duckdb")
f = pc.field

QUERY = "SELECT chrom, count(*) AS n FROM calls WHERE qual >= 30 GROUP BY chrom ORDER BY chrom"


@pytest.fixture(scope="module")
def toy_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("duck")
    return toy.write_toy(d / "calls.toy", toy.sample_rows(), index=True)


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _expected_counts(ds, flt):
    t = ds.to_table(columns=["chrom"], filter=flt).column("chrom").to_pylist()
    return sorted((c, t.count(c)) for c in set(t))


def test_register_pushes_columns_and_qual_filter_to_the_parser(con, toy_path):
    ds = gf.dataset(toy_path)
    want = _expected_counts(ds, f("qual") >= 30)
    gf.io.duckdb.register(con, "calls", ds)
    toy.CALLS.clear()
    assert con.sql(QUERY).fetchall() == want
    assert toy.CALLS, "the format was never asked for batches"
    for call in toy.CALLS:
        assert call["columns"] == ["chrom", "qual"]
        q = call["pushdown"].ranges["qual"]
        assert q.contains(30.0) and not q.contains(29.5)


def test_where_on_chrom_and_pos_uses_the_index(con, toy_path):
    ds = gf.dataset(toy_path)
    gf.io.duckdb.register(con, "calls", ds)
    flt = f("chrom").isin(["chr2", "chrX"]) & (f("pos") >= 100) & (f("pos") <= 300) & (
        f("info", "AF") > 0.5)
    t = ds.to_table(filter=flt)
    toy.CALLS.clear()
    got = con.sql("SELECT pos, info.AF FROM calls WHERE chrom IN ('chr2', 'chrX') "
                  "AND pos BETWEEN 100 AND 300 AND info.AF > 0.5 ORDER BY chrom, pos").fetchall()
    assert got == list(zip(t.column("pos").to_pylist(),
                           [r["AF"] for r in t.column("info").to_pylist()]))
    assert sorted(c["spec"].region[0] for c in toy.CALLS) == ["chr2", "chrX"]
    for call in toy.CALLS:
        assert call["columns"] == ["chrom", "pos", "start", "end", "info"]
        assert call["pushdown"].ranges["pos"].contains(100) and not call["pushdown"].ranges[
            "pos"].contains(301)


def test_plain_con_register_still_pushes_what_duckdb_offers(con, toy_path):
    """``con.register`` sees a pyarrow Dataset: columns and non-float predicates get through."""
    ds = gf.dataset(toy_path)
    con.register("calls", ds)
    want = ds.count_rows(filter=(f("chrom") == "chr1") & (f("pos") < 400))
    toy.CALLS.clear()
    got = con.sql("SELECT count(*) FROM calls WHERE chrom = 'chr1' AND pos < 400").fetchall()
    assert got == [(want,)]
    assert toy.CALLS
    # start: for the index region's ownership test
    assert all(c["columns"] == ["chrom", "pos", "start"] for c in toy.CALLS)
    assert all(c["pushdown"].isin == {"chrom": frozenset({"chr1"})} for c in toy.CALLS)
    # float predicates are applied by DuckDB itself on this path; the answer is still right
    assert con.sql(QUERY).fetchall() == _expected_counts(ds, f("qual") >= 30)


class _StreamOnly:
    """Exposes nothing but the Arrow PyCapsule stream of the wrapped object."""

    def __init__(self, obj):
        self.obj = obj

    def __arrow_c_stream__(self, requested_schema=None):
        return self.obj.__arrow_c_stream__(requested_schema)


def test_arrow_c_stream_path(con, toy_path):
    ds = gf.dataset(toy_path)
    want = _expected_counts(ds, f("qual") >= 30)
    plan = _StreamOnly(gf.scan(toy_path).filter("qual >= 30").select("chrom"))
    got = con.from_arrow(plan).aggregate("chrom, count(*)").order("chrom").fetchall()
    assert got == want
    # a fresh stream every time DuckDB reads the object
    rel = con.from_arrow(_StreamOnly(ds))
    assert [rel.aggregate("count(*)").fetchall() for _ in range(2)] == [[(ds.count_rows(),)]] * 2


# -- the same on VCF -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vcf(tmp_path_factory):
    pytest.importorskip("genomicframe.formats.vcf")
    import _vcfgen

    recs = _vcfgen.records()
    return _vcfgen.write_vcf(tmp_path_factory.mktemp("vcf") / "calls.vcf.gz", recs), recs


@pytest.fixture
def vcf_spy(monkeypatch):
    from genomicframe.formats.vcf import VcfFormat

    calls = []
    original = VcfFormat.read_batches

    def spy(self, fragment, *, columns=None, pushdown=None, **kw):
        calls.append({"columns": None if columns is None else list(columns), "pushdown": pushdown})
        return original(self, fragment, columns=columns, pushdown=pushdown, **kw)

    monkeypatch.setattr(VcfFormat, "read_batches", spy)
    return calls


def test_vcf_qual_group_by_chrom(con, vcf, vcf_spy):
    path, recs = vcf
    want = {}
    for r in recs:  # the oracle: the records as generated, not as parsed
        if r["qual"] is not None and r["qual"] >= 30:
            want[r["chrom"]] = want.get(r["chrom"], 0) + 1
    gf.io.duckdb.register(con, "calls", gf.dataset(path))
    got = con.sql(QUERY).fetchall()
    assert got == sorted(want.items())
    assert vcf_spy and all(c["columns"] == ["chrom", "qual"] for c in vcf_spy)
    for c in vcf_spy:
        q = c["pushdown"].ranges["qual"]
        assert q.contains(30.0) and not q.contains(29.9)
        assert "qual" in c["pushdown"].not_null


def test_vcf_region_query(con, vcf, vcf_spy):
    path, recs = vcf
    want = sorted(r["pos"] for r in recs if r["chrom"] == "chr2" and r["pos"] - 1 < 20000
                  and r["end"] > 10000)
    gf.io.duckdb.register(con, "calls", gf.dataset(path))
    got = [p for (p,) in con.sql('SELECT pos FROM calls WHERE chrom = \'chr2\' AND start < 20000 '
                                 'AND "end" > 10000 ORDER BY pos').fetchall()]
    assert got == want
    for c in vcf_spy:
        assert c["pushdown"].isin["chrom"] == frozenset({"chr2"})
        assert c["pushdown"].ranges["start"].contains(19999)
        assert not c["pushdown"].ranges["start"].contains(20000)
