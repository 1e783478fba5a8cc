"""Filter strings, pushdown planning, and the property to_table(filter=f) == post-filter."""
from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _toyformat as toy
import genomicframe as gf
from genomicframe.expressions import FilterSyntaxError, parse, plan, referenced_columns
from genomicframe.formats.base import Pushdown, Range

f = pc.field

SCHEMA = pa.schema([
    ("chrom", pa.string()), ("pos", pa.int64()), ("start", pa.int64()), ("end", pa.int64()),
    ("qual", pa.float32()), ("name", pa.string()), ("filter", pa.list_(pa.string())),
    ("info", pa.struct([("AF", pa.float64()), ("DB", pa.bool_())])),
])
PUSH = frozenset({"chrom", "pos", "start", "end", "qual", "filter"})


# -- the string grammar ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("qual >= 30 and chrom == 'chr22'", (f("qual") >= 30) & (f("chrom") == "chr22")),
    ("qual >= 30 AND chrom = \"chr22\"", (f("qual") >= 30) & (f("chrom") == "chr22")),
    ("not (pos < 5 or pos > 10)", ~((f("pos") < 5) | (f("pos") > 10))),
    ("chrom in ('a', 'b')", f("chrom").isin(["a", "b"])),
    ("chrom not in ('a')", ~f("chrom").isin(["a"])),
    ("qual is null", f("qual").is_null()),
    ("qual is not null", f("qual").is_valid()),
    ("info.AF > 0.01", f("info", "AF") > 0.01),
    ("info.DB", f("info", "DB")),
    ("not info.DB and pos <> 3", ~f("info", "DB") & (f("pos") != 3)),
    ("30 <= qual", pc.scalar(30) <= f("qual")),
    ("pos > -5 and pos < 1e3", (f("pos") > -5) & (f("pos") < 1000.0)),
    ("name == 'it\\'s'", f("name") == "it's"),
    ("`pos` == 1", f("pos") == 1),
    ("a or b and c", None),  # precedence: and binds tighter (checked below without a schema)
])
def test_parse(text, expected):
    if expected is None:
        got = parse(text)
        assert got.equals(f("a") | (f("b") & f("c")))
        return
    assert parse(text, SCHEMA).equals(expected)


@pytest.mark.parametrize("text, column, message", [
    ("qaul >= 30", 1, "unknown column 'qaul'"),
    ("qual >= 30 and chorm == 'x'", 16, "unknown column 'chorm'"),
    ("info.XX > 1", 1, "'info' has no field 'XX'"),
    ("pos.x > 1", 1, "'pos' is not a struct"),
    ("qual >=", 8, "expected a value but found end of filter"),
    ("qual >= 30 chrom", 12, "expected 'and', 'or' or the end"),
    ("(qual >= 30", 12, "expected ')'"),
    ("chrom in 'a'", 10, "expected '('"),
    ("qual == null", 9, "using 'is null'"),
    ("qual ~ 3", 6, "unexpected character '~'"),
    ("1 < 2", 1, "needs a column"),
    ("", 1, "empty filter"),
    ("chrom in (1, 'a')", 10, "must not mix"),
])
def test_parse_errors_name_the_column(text, column, message):
    with pytest.raises(FilterSyntaxError) as info:
        parse(text, SCHEMA)
    assert f"at column {column}:" in str(info.value)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_region():
    from genomicframe.expressions import region

    want = (f("chrom") == "chr1") & (f("start") < 2000) & (f("end") > 999)
    assert region("chr1:1,000-2,000").equals(want)
    assert region("chr1", 999, 2000).equals(want)
    assert region("chr1:1000").equals((f("chrom") == "chr1") & (f("end") > 999))
    assert region("chr1").equals(f("chrom") == "chr1")
    for bad in ("chr1:0-5", "chr1:9-3"):
        with pytest.raises(FilterSyntaxError):
            region(bad)
    # not chrom:begin-end, so a contig name with a colon (as samtools reads it)
    assert region("HLA:x-3").equals(f("chrom") == "HLA:x-3")
    p = plan(region("chr1:1,000-2,000"), SCHEMA, PUSH)
    assert p.regions == [("chr1", 999, 2000)]


# -- planning --------------------------------------------------------------------------------------
def test_plan_splits_terms():
    p = plan(parse("qual >= 30 and chrom == 'chr22' and info.AF > 0.01 and pos >= 1000 "
                   "and pos < 2000", SCHEMA), SCHEMA, PUSH)
    assert p.pushdown.isin == {"chrom": frozenset({"chr22"})}
    assert p.pushdown.ranges["pos"] == Range(1000, True, 2000, False)
    q = p.pushdown.ranges["qual"]
    assert q.contains(30.0) and not q.contains(29.9)
    # pos >= 1000 -> start >= 999, one base of slack for zero-length records;
    # pos < 2000 -> start < 1999
    assert p.regions == [("chr22", 998, 1999)]
    where = {str(t.expression): (t.index, t.parser) for t in p.terms}
    assert where['(chrom == "chr22")'] == (True, True)
    assert where["(qual >= 30)"] == (False, True)
    af = "(FieldRef.Nested(FieldRef.Name(info) FieldRef.Name(AF)) > 0.01)"
    assert where[af] == (False, False)


def test_or_of_regions_stays_separate():
    from genomicframe.expressions import region

    e = (region("chr1:100-200") | region("chr1:150-300") | region("chr1:1000-2000")
         | region("chr2:5-6"))
    p = plan(e, SCHEMA, PUSH)
    # overlapping regions merge, distant ones stay apart (the hull would read 99..2000)
    assert p.regions == [("chr1", 99, 300), ("chr1", 999, 2000), ("chr2", 4, 6)]
    # an always-false branch adds nothing; an unbounded branch needs the whole file
    e = parse("(chrom == 'a' and pos < 10) or (chrom == 'b' and pos > 100 and pos < 50)", SCHEMA)
    assert plan(e, SCHEMA, PUSH).regions == [("a", 0, 9)]
    assert plan(parse("chrom == 'a' or pos < 10", SCHEMA), SCHEMA, PUSH).regions is None
    e = parse("chrom == 'a' and (pos < 10 or pos > 100)", SCHEMA)
    assert plan(e, SCHEMA, PUSH).regions == [("a", 0, 9), ("a", 99, None)]


def test_long_or_chains_are_understood():
    """Thousands of OR'ed regions: the tree is read without deep recursion."""
    import functools
    import operator

    from genomicframe.expressions import region

    regs = [region("chr1", i * 1000, i * 1000 + 10) for i in range(1500)]
    p = plan(functools.reduce(operator.or_, regs), SCHEMA, PUSH)
    assert p.understood and len(p.regions) == 1500
    assert p.regions[7] == ("chr1", 7000, 7010)


def test_plan_position_offsets():
    expr = parse("chrom == 'c' and pos >= 100 and pos <= 200", SCHEMA)
    assert plan(expr, SCHEMA, PUSH).regions == [("c", 98, 200)]  # pos is 1-based by default
    # a format whose pos is 0-based declares it; without any position column, no bounds
    assert plan(expr, SCHEMA, PUSH, {"start": 0, "pos": 0}).regions == [("c", 99, 201)]
    assert plan(expr, SCHEMA, PUSH, {"start": 0}).regions == [("c", 0, None)]


def test_plan_or_and_not():
    p = plan(((f("chrom") == "a") | f("chrom").isin(["b", "c"])) & ~(f("pos") > 10), SCHEMA, PUSH)
    assert p.pushdown.isin == {"chrom": frozenset("abc")}
    assert p.pushdown.ranges["pos"] == Range(hi=10, hi_inclusive=True)
    assert p.regions == [("a", 0, 10), ("b", 0, 10), ("c", 0, 10)]
    # an OR across columns implies nothing about either
    p = plan((f("chrom") == "a") | (f("pos") > 3), SCHEMA, PUSH)
    assert not p.pushdown and p.regions is None


@pytest.mark.parametrize("expr", [
    f("chrom") == b"chr1",                             # binary literal: text form is hex
    f("qual").is_null() | (f("qual") > 3),
    f("chrom").isin(["a", None]),                      # null in the set matches null rows
    f("pos") != 3,
    f("chrom") > "chr1",
    pc.field(0) == 1,                                  # field by index: not serialisable
    f("pos").cast(pa.float64()) > 3,
])
def test_plan_pushes_nothing_it_cannot_prove(expr):
    p = plan(expr, SCHEMA, PUSH)
    assert not p.pushdown.isin and not p.pushdown.ranges and p.regions is None


def test_plan_empty_and_nan():
    assert plan((f("pos") > 5) & (f("pos") < 3), SCHEMA, PUSH).empty
    assert plan(f("chrom").isin([]), SCHEMA, PUSH).empty
    # a float range can be empty and still pass NaN (Range keeps NaN), so it is not "empty"
    p = plan(((f("qual") > 5) | (f("qual") != f("qual"))) & (f("qual") < 3), SCHEMA, PUSH)
    assert not p.empty and "qual" not in p.pushdown.ranges
    # DuckDB's NaN-aware form keeps the range: Range.contains(nan) is true
    p = plan((f("qual") >= 30) | (f("qual") != f("qual")), SCHEMA, PUSH)
    assert p.pushdown.ranges["qual"].contains(math.nan)
    assert not p.pushdown.ranges["qual"].contains(3.0)


def test_plan_reads_duckdb_in_lists():
    null = pa.scalar(None, pa.bool_())
    expr = pc.if_else(f("chrom").is_valid(), f("chrom").isin(["x", "y"]), null)
    p = plan(expr, SCHEMA, PUSH)
    assert p.pushdown.isin == {"chrom": frozenset({"x", "y"})}


def test_float32_literals_are_widened_not_narrowed():
    lit = pa.scalar(0.1, pa.float32())  # 0.100000001490116...
    p = plan(f("qual") >= lit, SCHEMA, PUSH)
    assert p.pushdown.ranges["qual"].contains(float(lit.as_py()))


def test_referenced_columns():
    assert referenced_columns(parse("info.AF > 1 and qual < 3", SCHEMA), SCHEMA) == ["qual", "info"]
    assert referenced_columns(None, SCHEMA) == []


# -- the exactness property on the toy format ------------------------------------------------------
@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("prop")
    path = toy.write_toy(d / "p.toy", toy.sample_rows(n=240, seed=3), index=True)
    ds = gf.dataset(path)
    split = gf.dataset(path, split_regions=True)
    return ds, split, ds.to_table()


_cols_num = st.sampled_from(["pos", "start", "end", "qual"])
_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
# constants are mostly values that occur in the data, so boundaries (==, <= vs <) are hit
_ROWS = toy.sample_rows(n=240, seed=3) + toy.sample_rows(n=90, seed=11)
_DATA_VALUES = sorted({v for r in _ROWS for v in (r[1], r[1] - 1, r[2])}) + sorted(
    {r[3] for r in _ROWS if r[3] is not None})


def _isin_text(negate: bool, values) -> str:
    return f"chrom {'not ' if negate else ''}in ({', '.join(repr(v) for v in values)})"


def _atom():
    num = st.builds(lambda c, o, v: f"{c} {o} {v}", _cols_num, _ops,
                    st.one_of(st.sampled_from(_DATA_VALUES), st.sampled_from(_DATA_VALUES),
                              st.integers(-5, 1500), st.floats(-5, 70, allow_nan=False).map(
                                  lambda x: repr(round(x, 2)))))
    chrom = st.builds(lambda o, v: f"chrom {o} '{v}'", st.sampled_from(["==", "!="]),
                      st.sampled_from(["chr1", "chr2", "chrX", "chrY"]))
    isin = st.builds(_isin_text,
                     st.booleans(), st.lists(st.sampled_from(["chr1", "chr2", "chrX", "zz"]),
                                             min_size=1, max_size=3))
    nulls = st.builds(lambda c, neg: f"{c} is {'not ' if neg else ''}null",
                      st.sampled_from(["qual", "name", "info"]), st.booleans())
    af = st.builds(lambda o, v: f"info.AF {o} {v}", _ops, st.sampled_from(["0.1", "0.5", "0.9"]))
    return st.one_of(num, chrom, isin, nulls, af, st.just("info.DB"))


_filters = st.recursive(
    _atom(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    ),
    max_leaves=6,
)


def test_every_comparison_at_data_boundaries(toy_data):
    """Each column, operator and negation, at values that occur in the data (off-by-one hunting)."""
    ds, split, table = toy_data
    rows = table.slice(37, 3).to_pylist()
    for col in ("pos", "start", "end", "qual"):
        for value in sorted({r[col] for r in rows if r[col] is not None}):
            for op in ("==", "!=", "<", "<=", ">", ">="):
                for text in (f"{col} {op} {value!r}", f"not ({col} {op} {value!r})",
                             f"chrom == 'chr1' and not ({col} {op} {value!r})"):
                    expr = parse(text, ds.schema)
                    want = table.filter(expr)
                    assert ds.to_table(filter=expr).equals(want), text
                    assert split.to_table(filter=expr).equals(want), text


def test_long_records_spanning_the_bounds(toy_data):
    """``end > x and start < y`` with x > y still holds records that span from before y past x."""
    ds, split, table = toy_data
    long_rows = [r for r in table.to_pylist() if r["end"] - r["start"] > 10]
    assert long_rows
    for r in long_rows[:8]:
        for text in (f"chrom == '{r['chrom']}' and end > {r['end'] - 1} and pos <= {r['pos']}",
                     f"chrom == '{r['chrom']}' and start <= {r['start']} and end >= {r['end']}",
                     f"chrom == '{r['chrom']}' and end > {r['start'] + 5} and start < "
                     f"{r['start'] + 1}"):
            expr = parse(text, ds.schema)
            want = table.filter(expr)
            assert want.num_rows >= 1
            assert ds.to_table(filter=expr).equals(want), text
            assert split.to_table(filter=expr).equals(want), text


def test_regions_never_empty_from_bounds_alone():
    p = plan(parse("chrom == 'c' and end > 500 and pos <= 100", SCHEMA), SCHEMA, PUSH)
    assert p.regions == [("c", 99, 100)] and not p.empty
    p = plan(parse("chrom == 'c' and pos < 1", SCHEMA), SCHEMA, PUSH)  # POS 0: a telomere
    assert p.regions == [("c", 0, 1)]


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_filters)
def test_filter_is_exact(toy_data, text):
    ds, split, table = toy_data
    expr = parse(text, ds.schema)
    want = table.filter(expr)
    assert ds.to_table(filter=expr).equals(want), text
    assert split.to_table(filter=expr).equals(want), text
    assert ds.count_rows(filter=text) == want.num_rows


@settings(max_examples=60, deadline=None)
@given(text=_filters)
def test_pushdown_only_drops_failing_rows(text):
    """Every row dropped by the planned Pushdown fails the filter (checked on generated rows)."""
    rows = toy.sample_rows(n=90, seed=11)
    fmt = toy.ToyFormat()
    table = pa.Table.from_pylist([fmt._row("\t".join(
        [c, str(p), str(e), "." if q is None else str(q), n or ".", i or "."]), SCHEMA_INFO)
        for c, p, e, q, n, i in rows])
    expr = parse(text, table.schema)
    p = plan(expr, table.schema, toy.ToyFormat.pushdown_columns)
    keep = table.filter(expr).to_pylist()
    for row in keep:
        assert toy.ToyFormat._passes(row, p.pushdown), (text, row)
        if p.regions is not None:
            assert any(row["chrom"] == c and row["start"] < (math.inf if e is None else e)
                       and row["end"] > s for c, s, e in p.regions), (text, row)


SCHEMA_INFO = pa.struct([("AF", pa.float64()), ("DB", pa.bool_())])


def test_pushdown_contract_type():
    assert isinstance(plan(f("pos") > 1, SCHEMA, PUSH).pushdown, Pushdown)


# -- the exactness property on VCF -----------------------------------------------------------------
@pytest.fixture(scope="module")
def vcf_data(tmp_path_factory):
    pytest.importorskip("genomicframe.formats.vcf")
    import _vcfgen

    d = tmp_path_factory.mktemp("vcfprop")
    path = _vcfgen.write_vcf(d / "p.vcf.gz", _vcfgen.records(n=300))
    ds = gf.dataset(path)
    return ds, ds.to_table()


def _vcf_atom():
    num = st.builds(lambda c, o, v: f"{c} {o} {v}", st.sampled_from(["pos", "start", "end", "qual",
                                                                        "info.DP"]),
                    _ops, st.one_of(st.integers(-5, 30000), st.floats(0, 90, allow_nan=False).map(
                        lambda x: repr(round(x, 1)))))
    chrom = st.builds(lambda o, v: f"chrom {o} '{v}'", st.sampled_from(["==", "!="]),
                      st.sampled_from(["chr1", "chr2", "chrX", "chr9"]))
    isin = st.builds(_isin_text,
                     st.booleans(), st.lists(st.sampled_from(["chr1", "chr2", "chrX"]),
                                             min_size=1, max_size=2))
    other = st.sampled_from(["qual is null", "qual is not null", "info.DB", "not info.DB",
                             "info.END is not null", "ref == 'A'", "id is null"])
    return st.one_of(num, chrom, isin, other)


_vcf_filters = st.recursive(
    _vcf_atom(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    ),
    max_leaves=5,
)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_vcf_filters)
def test_vcf_filter_is_exact(vcf_data, text):
    ds, table = vcf_data
    expr = parse(text, ds.schema)
    assert ds.to_table(filter=expr).equals(table.filter(expr)), text
    cols = ["chrom", "pos", "qual"]
    assert ds.to_table(columns=cols, filter=expr).equals(table.filter(expr).select(cols)), text
