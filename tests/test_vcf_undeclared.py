"""INFO keys the header does not declare: found near the top, warned about later, readable on request."""
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


@pytest.fixture(scope="module", params=["vcf", "vcf.gz"])
def late_keys(tmp_path_factory, request):
    d = tmp_path_factory.mktemp("undeclared")
    plain = d / "late.vcf"
    plain.write_text(HEADER + "".join(f"1\t{i + 1}\t.\tA\tC\t50\tPASS\t{_info(i)}\n"
                                      for i in range(N)))
    if request.param == "vcf":
        return plain
    gz = d / "late.vcf.gz"
    pysam.tabix_compress(str(plain), str(gz))
    return gz


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


def test_a_typo_in_format_fields_is_still_an_error(late_keys):
    with pytest.raises(KeyError):
        _ = gf.dataset(late_keys, format_fields=["NOPE"]).schema
