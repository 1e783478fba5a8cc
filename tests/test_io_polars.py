"""polars over a Dataset: LazyFrame pushdown (projection, predicate, n_rows) and exact results."""
from __future__ import annotations

import pyarrow.compute as pc
import pytest

import _toyformat as toy
import genomicframe as gf
from genomicframe.io.polars import to_arrow_filter

pl = pytest.importorskip("polars")
f = pc.field


@pytest.fixture(scope="module")
def toy_path(tmp_path_factory):
    return toy.write_toy(tmp_path_factory.mktemp("pl") / "calls.toy", toy.sample_rows(), index=True)


@pytest.fixture(scope="module")
def full(toy_path):
    return pl.from_arrow(gf.dataset(toy_path).to_table())


PREDICATES = [
    pl.col("qual") >= 30,
    (pl.col("chrom") == "chr2") & (pl.col("pos") < 500) & (pl.col("info").struct.field("AF") > 0.5),
    (pl.col("chrom") == "chr1") | pl.col("name").is_null(),
    ~(pl.col("qual") < 10),
    pl.col("chrom").is_in(["chr1", "chrX"]) & (pl.col("end") - pl.col("start") > 3),
    pl.col("name").str.starts_with("rs1"),
    (pl.lit(100) < pl.col("pos")) & pl.col("info").struct.field("DB"),
]


@pytest.mark.parametrize("pred", PREDICATES, ids=str)
def test_lazy_filter_is_exact(toy_path, full, pred):
    lf = gf.scan(toy_path).to_polars(lazy=True)
    got = lf.filter(pred).select("chrom", "pos", "qual").collect()
    assert got.equals(full.filter(pred).select("chrom", "pos", "qual"))


def test_lazy_pushdown_reaches_the_parser(toy_path, full):
    lf = gf.scan(toy_path).to_polars(lazy=True)
    toy.CALLS.clear()
    got = lf.filter((pl.col("chrom") == "chr2") & (pl.col("qual") >= 30)).select("pos").collect()
    assert got.height == full.filter((pl.col("chrom") == "chr2") & (pl.col("qual") >= 30)).height
    assert [c["spec"].region for c in toy.CALLS] == [("chr2", 0, None)]
    call = toy.CALLS[0]
    assert call["columns"] == ["chrom", "pos", "qual"]
    assert call["pushdown"].isin == {"chrom": frozenset({"chr2"})}
    assert not call["pushdown"].ranges["qual"].contains(29.0)


def test_lazy_is_in_uses_the_index(toy_path, full):
    lf = gf.scan(toy_path).to_polars(lazy=True)
    toy.CALLS.clear()
    pred = pl.col("chrom").is_in(["chr1", "chrX"]) & (pl.col("pos") < 300)
    assert lf.filter(pred).collect().equals(full.filter(pred))
    assert sorted(c["spec"].region[0] for c in toy.CALLS) == ["chr1", "chrX"]


def test_lazy_limit_stops_early(toy_path, full):
    lf = gf.scan(toy_path, target_size=600).to_polars(lazy=True)
    toy.CALLS.clear()
    assert lf.head(3).collect().equals(full.head(3))
    assert len(toy.CALLS) == 1  # the first fragment was enough
    assert lf.filter(pl.col("qual") > 50).head(2).collect().equals(
        full.filter(pl.col("qual") > 50).head(2))


def test_lazy_plan_keeps_its_filter_and_columns(toy_path, full):
    plan = gf.scan(toy_path).filter("chrom == 'chrX'").select("chrom", "pos", "name")
    lf = plan.to_polars(lazy=True)
    assert lf.collect_schema().names() == ["chrom", "pos", "name"]
    assert lf.select(pl.len()).collect().item() == full.filter(pl.col("chrom") == "chrX").height
    eager = gf.scan(toy_path).filter("chrom == 'chrX'").to_polars()
    assert eager.equals(full.filter(pl.col("chrom") == "chrX"))


def test_polars_predicate_translation(toy_path):
    schema = gf.dataset(toy_path).schema
    e = to_arrow_filter((pl.col("chrom") == "chr1") & (pl.col("pos") < 5), schema)
    assert e.equals((f("chrom") == "chr1") & (f("pos") < 5))
    # polars sorts NaN above every number: > and >= keep NaN
    nan_aware = (f("qual") > 3) | (f("qual") != f("qual"))
    assert to_arrow_filter(pl.col("qual") > 3, schema).equals(nan_aware)
    # an untranslatable part of an AND is dropped, of an OR gives up
    e = to_arrow_filter((pl.col("pos") < 5) & pl.col("name").str.starts_with("x"), schema)
    assert e.equals(f("pos") < 5)
    either = (pl.col("pos") < 5) | pl.col("name").str.starts_with("x")
    assert to_arrow_filter(either, schema) is None
    assert to_arrow_filter(pl.col("chrom").is_in(["chr1", "chrX"]), schema).equals(
        f("chrom").isin(["chr1", "chrX"]))
    assert to_arrow_filter(pl.col("pos").is_in([1, None]), schema) is None
    assert to_arrow_filter(pl.col("info").struct.field("AF") >= 0.5, schema).equals(
        (f("info", "AF") >= 0.5) | (f("info", "AF") != f("info", "AF")))


def test_scan_pyarrow_dataset(toy_path, full):
    ds = gf.dataset(toy_path)
    toy.CALLS.clear()
    got = pl.scan_pyarrow_dataset(ds).filter(pl.col("pos") < 50).select("name").collect()
    assert got.equals(full.filter(pl.col("pos") < 50).select("name"))
    assert all(c["columns"] == ["pos", "name"] for c in toy.CALLS)
    assert all(c["pushdown"].ranges["pos"].hi == 50 for c in toy.CALLS)
