"""VcfStats against ``bcftools stats`` numbers recorded in tests/data/vcf_stats_golden.json.

The expectations were written by bcftools (see tests/data/README.md); these
tests never run it.  Batches are built by a small pure-Python VCF reader, so
the statistics are tested independently of the Cython parser; when the VCF
format is available, whole files are read through it too.
"""
from __future__ import annotations

import gzip
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from genomicframe.formats.vcf_stats import (DEL, INDEL, INS, MNP, OTHER, OVERLAP, SNP, BND,
                                            VcfStats, classify_alleles)

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = json.loads((DATA / "vcf_stats_golden.json").read_text())


def read_text(path) -> str:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        return fh.read()


def batch_from_lines(lines, alt_dot="empty") -> pa.RecordBatch:
    """Reference reader: the five VcfStats columns from VCF text lines."""
    rows = [x.rstrip("\r").split("\t") for x in lines
            if x.strip("\r") and not x.startswith("#")]

    def alt(v):
        if v == ".":
            return {"empty": [], "null": None, "list_of_null": [None]}[alt_dot]
        return [None if a == "." else a for a in v.split(",")]

    return pa.record_batch({
        "chrom": pa.array([r[0] for r in rows], pa.string()),
        "ref": pa.array([r[3] for r in rows], pa.string()),
        "alt": pa.array([alt(r[4]) for r in rows], pa.list_(pa.string())),
        "qual": pa.array([None if r[5] == "." else float(r[5]) for r in rows], pa.float32()),
        "filter": pa.array([[] if r[6] == "." else r[6].split(";") for r in rows],
                           pa.list_(pa.string())),
    })


def check_against(stats: VcfStats, expected: dict, blank_lines: int = 0) -> None:
    sn = dict(expected["sn"])
    sn.pop("number of samples", None)
    # bcftools counts an empty line as a record without ALT; genomicframe has no such row
    sn["number of records"] -= blank_lines
    sn["number of no-ALTs"] -= blank_lines
    assert stats.bcftools_sn() == sn
    assert list(stats.bcftools_tstv()) == expected["tstv"]
    assert [stats.insertions, stats.deletions] == expected["idd"]


@pytest.mark.parametrize("alt_dot", ["empty", "null", "list_of_null"])
@pytest.mark.parametrize("name", ["vcf_stats_edge_cases.vcf", "vcf_stats_generated.vcf.gz"])
def test_files_equal_bcftools(name, alt_dot):
    lines = read_text(DATA / name).split("\n")
    check_against(VcfStats().update(batch_from_lines(lines, alt_dot)), GOLDEN["files"][name])


def test_each_edge_record_equals_bcftools():
    lines = (DATA / "vcf_stats_edge_cases.vcf").read_text().splitlines()
    records = [x for x in lines if not x.startswith("#")]
    assert len(records) == len(GOLDEN["edge_records"])
    for rec in records:
        s = VcfStats().update(batch_from_lines([rec]))
        expected = GOLDEN["edge_records"][rec.split("\t")[2]]
        try:
            check_against(s, expected)
        except AssertionError as exc:
            raise AssertionError(f"record {rec!r}: {exc}") from None


def test_batches_merge_in_any_split():
    lines = read_text(DATA / "vcf_stats_generated.vcf.gz").split("\n")
    whole = VcfStats().update(batch_from_lines(lines))
    body = [x for x in lines if x and not x.startswith("#")]
    parts = [VcfStats().update(batch_from_lines(body[a:b]))
             for a, b in ((0, 1), (1, 700), (700, 701), (701, 3999), (3999, 4000))]
    merged = parts[4] + parts[2] + parts[0] + parts[3] + parts[1]
    assert merged.summary() == whole.summary()
    assert merged.filters == whole.filters and merged.qual_hist == whole.qual_hist
    assert merged.chrom == whole.chrom
    # slices of one batch (non-zero array offsets) give the same numbers
    b = batch_from_lines(lines)
    sliced = VcfStats().update(b.slice(0, 1234)).update(b.slice(1234))
    assert sliced.summary() == whole.summary() and sliced.chrom == whole.chrom
    # a table with several chunks and large_string columns
    big = pa.Table.from_batches([b.slice(0, 10), b.slice(10)]).cast(pa.schema([
        ("chrom", pa.large_string()), ("ref", pa.large_string()),
        ("alt", pa.large_list(pa.large_string())), ("qual", pa.float32()),
        ("filter", pa.list_(pa.string()))]))
    assert VcfStats().update(big).summary() == whole.summary()


def test_qual_filter_chrom_sections():
    lines = read_text(DATA / "vcf_stats_generated.vcf.gz").split("\n")
    rows = [x.split("\t") for x in lines if x and not x.startswith("#")]
    s = VcfStats().update(batch_from_lines(lines))
    quals = [float(r[5]) for r in rows if r[5] != "."]
    assert s.qual_count == len(quals) and s.qual_missing == len(rows) - len(quals)
    assert math.isclose(s.qual_mean, sum(quals) / len(quals), rel_tol=1e-6)
    assert sum(s.qual_hist.values()) == len(quals)
    assert s.qual_hist.get(0, 0) == sum(1 for q in quals if math.floor(float(pa.scalar(
        q, pa.float32()).as_py())) == 0)
    counts = {}
    for r in rows:
        for f in (["."] if r[6] == "." else r[6].split(";")):
            counts[f] = counts.get(f, 0) + 1
    assert s.filters == counts
    per_chrom = {}
    for r in rows:
        per_chrom[r[0]] = per_chrom.get(r[0], 0) + 1
    assert {c: v["records"] for c, v in s.chrom.items()} == per_chrom
    assert sum(v["snps"] for v in s.chrom.values()) == s.snps
    assert sum(v["indels"] for v in s.chrom.values()) == s.indels

    t = s.to_table()
    assert t.schema.names == ["metric", "value"]
    values = dict(zip(t["metric"].to_pylist(), t["value"].to_pylist()))
    assert values["records"] == len(rows) and values["ts_tv"] == pytest.approx(s.ts / s.tv)
    assert s.to_table("chrom").num_rows == len(per_chrom)
    assert s.to_table("qual")["records"].to_pylist() == [v for _, v in sorted(s.qual_hist.items())]
    assert dict(zip(*s.to_table("filter").to_pydict().values())) == counts
    with pytest.raises(ValueError, match="unknown section"):
        s.to_table("nope")
    d = s.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert pickle.loads(pickle.dumps(s)) == s


def test_empty_inputs():
    s = VcfStats.from_batches([batch_from_lines([])])
    assert s.records == 0 and math.isnan(s.ts_tv) and s.to_dict()["summary"]["ts_tv"] is None
    assert s.to_table("chrom").num_rows == 0
    only_alt = pa.record_batch({"ref": ["A"], "alt": pa.array([["G"]])})
    s = VcfStats().update(only_alt)
    assert (s.records, s.snps, s.ts, s.qual_count, s.chrom) == (1, 1, 1, 0, {})


def test_classify_alleles_flags():
    pairs = [("A", "G", SNP), ("AC", "GT", MNP), ("A", "AT", INDEL | INS), ("AT", "A", INDEL | DEL),
             ("A", "<DEL>", OTHER), ("A", "*", OVERLAP), ("A", "A[chr2:5[", BND),
             ("A", "<*>", 0), ("A", None, 0), ("ACG", "TT", OTHER), ("ACGT", "TCGA", MNP)]
    got = classify_alleles(pa.array([p[0] for p in pairs]), pa.array([p[1] for p in pairs]))
    assert got.tolist() == [p[2] for p in pairs]


@pytest.mark.parametrize("key", sorted(GOLDEN["real"]))
def test_real_files_equal_bcftools(real_data, key):
    path = real_data / key
    if not path.exists():
        pytest.skip(f"{key} is not in this copy of the real data")
    expected = GOLDEN["real"][key]
    s = VcfStats().update(batch_from_lines(read_text(path).split("\n")))
    check_against(s, expected, expected.get("blank_lines", 0))


def _vcf_format():
    try:
        from genomicframe.formats import get

        return get("vcf")
    except (ImportError, ValueError):
        return None


@pytest.mark.parametrize("name", ["vcf_stats_edge_cases.vcf", "vcf_stats_generated.vcf.gz"])
def test_from_file_through_the_vcf_reader(name):
    if _vcf_format() is None:
        pytest.skip("the VCF format is not available")
    check_against(VcfStats.from_file(DATA / name, threads=1), GOLDEN["files"][name])


def test_cli_stats(tmp_path):
    if _vcf_format() is None:
        pytest.skip("the VCF format is not available")
    path = DATA / "vcf_stats_generated.vcf.gz"
    out = subprocess.run([sys.executable, "-m", "genomicframe", "stats", str(path), "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    sn = GOLDEN["files"][path.name]["sn"]
    assert d["summary"]["records"] == sn["number of records"]
    assert d["summary"]["snps"] == sn["number of SNPs"]
    text = subprocess.run([sys.executable, "-m", "genomicframe", "stats", str(path)],
                          capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    assert f"number of SNPs:\t{sn['number of SNPs']}" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "genomicframe", "stats", str(tmp_path / "no.vcf")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "no such file" in bad.stderr
    other = subprocess.run([sys.executable, "-m", "genomicframe", "stats",
                            str(DATA / "bgzip_htslib.tsv.gz")], capture_output=True, text=True)
    assert other.returncode == 1 and "not a VCF file" in other.stderr
