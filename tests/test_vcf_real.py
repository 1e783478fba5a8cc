"""Every VCF in the real-data folder against its htslib (pysam) expectation.

Rules (the folder's README): chrom, pos, id, ref, alts, qual (float32
tolerance), filters, INFO values and GT strings of the first 10 samples must
equal what htslib read.  A file htslib refused must raise our clear error.  A
file htslib read leniently may be refused, but only if it is listed in
``REJECTED`` below with the reason; any other difference fails.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pytest

from conftest import real_data_dir
from genomicframe.errors import BcfNotSupportedError, FormatError, VcfFormatError
from genomicframe.formats import get
from genomicframe.formats.vcf import genotype_array

_ROOT = real_data_dir()
FILES = sorted(str(p.relative_to(_ROOT)) for p in (_ROOT / "vcf").rglob("*")
               if p.is_file() and p.name.endswith((".vcf", ".vcf.gz", ".bcf"))) if _ROOT else []

#: files htslib parsed (with warnings) that we refuse on purpose
REJECTED = {
    "failed_body_qual_000.vcf": "QUAL 'quality' is not a number (htslib reads 0)",
    "failed_body_info_030.vcf": "INFO MY is Number=1 but has two values",
    "failed_body_sample_004.vcf": "FORMAT DS is Number=1 but has two values",
}

#: malformed files where htslib's reading of some INFO keys differs from ours on purpose:
#: file -> {key: reason}; every other value is still compared
LENIENT: dict = {}


def _expected(path):
    lines = path.with_name(path.name + ".expected.jsonl").read_text().splitlines()
    meta = json.loads(lines[0])["_meta"]
    return meta, [json.loads(x) for x in lines[1:]]


def _read(path, **kw):
    fmt = get("vcf")
    frag = fmt.make_fragments(str(path))[0]
    batches = list(fmt.read_batches(frag, threads=1, **kw))
    schema = fmt.schema_for(frag)
    if "columns" in kw:
        schema = pa.schema([schema.field(c) for c in kw["columns"]], metadata=schema.metadata)
    return pa.Table.from_batches(batches, schema=schema)


def _gt_string(g):
    if g is None:
        return None
    sep = "|" if g["phased"] else "/"
    return sep.join("." if a < 0 else str(a) for a in g["alleles"])


def _same(a, b):
    """Expected ``a`` (htslib) equals ours ``b``: floats to float32, '.' strings as null."""
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(_same(x, y) for x, y in zip(a, b))
    if a == "." and b is None:
        return True
    if a in ("inf", "-inf", "nan") and isinstance(b, float):  # JSON has no infinities
        return _same(float(a), b)
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return np.float32(a) == np.float32(b)
    if isinstance(a, float) and isinstance(b, int) or isinstance(a, int) and isinstance(b, float):
        return np.float32(a) == np.float32(b)
    return a == b


def _compare(name, exp, got, hdr):
    assert got["chrom"] == exp["chrom"]
    assert got["pos"] == exp["pos"]
    assert got["start"] == exp["pos"] - 1
    assert got["id"] == exp["id"]
    assert got["ref"] == exp["ref"]
    assert got["alt"] == exp["alts"]
    if exp["qual"] is None:
        assert got["qual"] is None
    else:
        assert _same(exp["qual"], got["qual"]), (exp["qual"], got["qual"])
    assert got["filter"] == exp["filters"]
    info = got.get("info") or {}
    for key, value in exp["info"].items():
        if isinstance(value, dict) and "_error" in value:
            continue
        assert key in info, f"INFO {key} missing from our schema"
        if key not in hdr["info"] and value is not None and not isinstance(value, list):
            value = [value]  # undeclared keys are list<string> (htslib: Type=String)
        if hdr["info"].get(key) == [1, "String"] and isinstance(value, list):
            value = ",".join(value)  # pysam splits strings on ','; htslib keeps the text
        assert _same(value, info[key]), (key, value, info[key])
    for key, value in info.items():
        if key == "END":  # pysam hides INFO/END: it is the record's end
            if hdr["info"].get("END") == [1, "Integer"] and value is not None:
                # htslib ignores an END before POS (translocations): REF length then
                assert got["end"] == (value if value >= got["pos"] else got["pos"] - 1
                                      + len(got["ref"]))
        elif key not in exp["info"]:
            assert value in (None, False), (key, value)
    if "gt" in exp:
        fmt = got.get("format") or {}
        gts = fmt.get("GT")
        ours = [_gt_string(g) for g in gts] if gts is not None else [None] * hdr["n_samples"]
        assert ours[:len(exp["gt"])] == exp["gt"]


@pytest.mark.parametrize("rel", FILES)
def test_real_vcf(real_data, rel):
    path = real_data / rel
    meta, records = _expected(path)
    name = path.name
    if name.endswith(".bcf"):
        with pytest.raises(FormatError) as ei:
            _read(path)
        if meta["status"] == "ok":
            assert isinstance(ei.value, BcfNotSupportedError)
            assert "bcftools view" in str(ei.value)
        return
    if meta["status"] == "error" or name in REJECTED:
        with pytest.raises(VcfFormatError) as ei:
            _read(path)
        assert str(path) in str(ei.value)
        assert "line" in str(ei.value)
        return
    table = _read(path)
    rows = table.to_pylist()
    assert len(rows) == meta["n_records"]
    hdr = meta["header"]
    assert json.loads(table.schema.metadata[b"genomicframe.vcf.samples"]) == hdr["samples"]
    for exp, got in zip(records, rows):
        if name in LENIENT:
            exp = dict(exp, info={k: v for k, v in exp["info"].items() if k not in LENIENT[name]})
        _compare(name, exp, got, hdr)


@pytest.mark.parametrize("rel", [f for f in FILES if f.endswith((".vcf", ".vcf.gz"))])
def test_real_vcf_genotype_array(real_data, rel):
    """The genotype fast path agrees with the Arrow table's GT column."""
    path = real_data / rel
    meta, _ = _expected(path)
    if meta["status"] != "ok" or path.name in REJECTED or not meta["header"]["samples"]:
        return
    table = _read(path, columns=["format"]) if "GT" in meta["header"]["format"] else None
    try:
        arr = genotype_array(str(path), threads=1)
    except VcfFormatError as exc:  # only for sites with > 127 alleles
        assert "dtype=numpy.int16" in str(exc)
        arr = genotype_array(str(path), threads=1, dtype=np.int16)
        assert arr.max() > 127
    assert arr.shape[:2] == (meta["n_records"], meta["header"]["n_samples"])
    if table is None or "format" not in table.column_names:
        return
    for i, row in enumerate(table.column("format").to_pylist()):
        gts = row["GT"] if row is not None else None
        for j in range(arr.shape[1]):
            g = gts[j] if gts is not None else None
            if g is None:
                continue
            alleles = g["alleles"]
            want = list(alleles) + [-2] * (arr.shape[2] - len(alleles))
            assert arr[i, j].tolist() == want, (i, j)
