"""INFO/FORMAT keys the header does not declare: found near the top, warned about later, readable on request."""
import warnings

import pysam
import pytest

import genomicframe as gf
from genomicframe.errors import UndeclaredKeyWarning

HEADER = ("##fileformat=VCFv4.2\n##INFO=<ID=DP,Number=1,Type=Integer,Description=\"d\">\n"
          "##contig=<ID=1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
N = 60_000  # ~1.8 MB: past the first MiB the reader searches for undeclared keys


def _info(i: int) -> str:
    info = f"DP={i}"
    if i == 10:
        info += ";EARLY=x"
    if i >= 50_000 and i % 7 == 0:
        info += ";LATE=a,b"
    if i >= 55_000 and i % 11 == 0:
        info += ";LFLAG"
    return info


def _vcf_file(tmp_path_factory, name: str, text: str, kind: str):
    """``text`` written as ``name.vcf``, or bgzipped as ``name.vcf.gz`` (``kind``)."""
    plain = tmp_path_factory.mktemp(name) / f"{name}.vcf"
    plain.write_text(text)
    if kind == "vcf":
        return plain
    gz = plain.with_name(f"{name}.vcf.gz")
    pysam.tabix_compress(str(plain), str(gz))
    return gz


@pytest.fixture(scope="module", params=["vcf", "vcf.gz"])
def late_keys(tmp_path_factory, request):
    body = "".join(f"1\t{i + 1}\t.\tA\tC\t50\tPASS\t{_info(i)}\n" for i in range(N))
    return _vcf_file(tmp_path_factory, "late", HEADER + body, request.param)


def test_keys_near_the_top_are_columns(late_keys):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        ds = gf.dataset(late_keys)
    info = ds.schema.field("info").type
    assert [info.field(i).name for i in range(info.num_fields)] == ["DP", "EARLY"]
    assert info.field(1).metadata[b"Type"] == b"String"


def test_later_keys_are_named_with_their_first_line(late_keys):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = gf.dataset(late_keys).to_table()
    assert t.num_rows == N
    msgs = [str(x.message) for x in w if issubclass(x.category, UndeclaredKeyWarning)]
    assert len(msgs) == 2, msgs  # once per key per read
    late = next(m for m in msgs if "'LATE'" in m)
    flag = next(m for m in msgs if "'LFLAG'" in m)
    first_late = next(i for i in range(N) if "LATE" in _info(i))
    first_flag = next(i for i in range(N) if "LFLAG" in _info(i))
    assert str(late_keys) in late and "info_fields" in late
    if str(late_keys).endswith(".vcf"):  # a plain file is one fragment read from the top
        assert f"line {first_late + 5}:" in late and f"line {first_flag + 5}:" in flag


def test_no_warning_without_the_info_column(late_keys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gf.dataset(late_keys).to_table(columns=["chrom", "pos"]).num_rows == N


def test_named_undeclared_keys_are_read_as_htslib_reads_them(late_keys):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndeclaredKeyWarning)
        t = gf.dataset(late_keys, info_fields=["DP", "LATE", "LFLAG"]).to_table()
    info = t.column("info").combine_chunks()
    with pysam.VariantFile(str(late_keys)) as vf:
        ref = [dict(r.info).get("LATE") for r in vf]
    late = info.field("LATE").to_pylist()
    assert [tuple(x) if x is not None else None for x in late] == ref
    # a bare undeclared key has no value: null, as htslib's String reading gives None
    assert info.field("LFLAG").null_count == N


GT_HEADER = ("##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n"
             "##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"d\">\n##contig=<ID=1>\n"
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n")


def _sample_cols(i: int) -> str:
    if i >= 50_000 and i % 5 == 0:
        return f"GT:DP:LX\t0/1:{i % 90}:u{i}\t1/1:7:."
    return f"GT:DP\t0/1:{i % 90}\t./.:."


@pytest.fixture(scope="module", params=["vcf", "vcf.gz"])
def late_format(tmp_path_factory, request):
    body = "".join(f"1\t{i + 1}\t.\tA\tC\t50\tPASS\t.\t{_sample_cols(i)}\n" for i in range(N))
    return _vcf_file(tmp_path_factory, "late_fmt", GT_HEADER + body, request.param)


def test_later_format_keys_are_named_with_their_first_line(late_format):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = gf.dataset(late_format).to_table()
    assert t.num_rows == N
    fmt = t.schema.field("format").type
    assert [fmt.field(i).name for i in range(fmt.num_fields)] == ["GT", "DP"]
    msgs = [str(x.message) for x in w if issubclass(x.category, UndeclaredKeyWarning)]
    assert len(msgs) == 1, msgs  # once per read, not once per group or per line
    assert "FORMAT key 'LX'" in msgs[0] and "format_fields" in msgs[0]
    assert str(late_format) in msgs[0]
    if str(late_format).endswith(".vcf"):
        first = next(i for i in range(N) if "LX" in _sample_cols(i))
        assert f"line {first + 6}:" in msgs[0]


def test_no_format_warning_without_the_format_column_or_for_skipped_keys(late_format):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndeclaredKeyWarning)
        assert gf.dataset(late_format).to_table(columns=["chrom", "pos"]).num_rows == N
        # a declared key left out by format_fields is skipped, not unknown
        t = gf.dataset(late_format, format_fields=["GT", "LX"]).to_table(columns=["format"])
    assert t.num_rows == N


def test_named_undeclared_format_keys_are_read_as_htslib_reads_them(late_format):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndeclaredKeyWarning)
        t = gf.dataset(late_format, format_fields=["GT", "DP", "LX"]).to_table()
    lx = t.column("format").combine_chunks().field("LX").to_pylist()
    with pysam.VariantFile(str(late_format)) as vf:
        ref = [[r.samples[s].get("LX") for s in ("S1", "S2")] if "LX" in r.format else None
               for r in vf]
    ref = [row if row is None else [None if v == "." else v for v in row] for row in ref]
    # a key the row's FORMAT lacks is a null list; a sample's '.' is [null], as for declared
    # Number=. keys (pysam gives '.')
    got = [None if row is None else [None if v in (None, [None]) else ",".join(v) for v in row]
           for row in lx]
    assert got == ref
    assert sum(r is not None for r in got) == sum(1 for i in range(N) if "LX" in _sample_cols(i))
