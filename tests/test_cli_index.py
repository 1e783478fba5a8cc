"""``genomicframe index`` on VCF and BED: tabix/CSI indexes htslib can use, format detection, errors."""
import shutil

import pysam
import pytest

import genomicframe as gf
from genomicframe.cli import main


@pytest.fixture
def calls(tmp_path):
    p = tmp_path / "calls.vcf.gz"
    shutil.copy(gf.examples.path("calls.vcf.gz"), p)
    return p


def _htslib_rows(path, region, index=None):
    with pysam.TabixFile(str(path), index=index) as t:
        return list(t.fetch(region))


@pytest.mark.parametrize("extra, suffix", [([], ".tbi"), (["--csi"], ".csi"),
                                           (["-p", "vcf", "--csi", "-m", "12"], ".csi")])
def test_vcf_index_is_read_by_htslib(calls, extra, suffix, capsys):
    assert main(["index", str(calls), "-v", *extra]) == 0
    assert (calls.parent / (calls.name + suffix)).exists()
    assert "VCF indexed" in capsys.readouterr().err
    ours = _htslib_rows(calls, "chr1:1000-50000", str(calls) + suffix)
    ref = calls.parent / "ref.vcf.gz"
    shutil.copy(calls, ref)
    pysam.tabix_index(str(ref), preset="vcf", force=True, keep_original=True)
    assert ours == _htslib_rows(ref, "chr1:1000-50000") and ours
    # our own reader uses it too
    t = gf.dataset(str(calls)).to_table(filter="chrom == 'chr1' and pos >= 1000 and pos <= 50000")
    assert t.num_rows == len(ours)


def test_bed_is_detected(tmp_path):
    rows = [f"chr{c}\t{s}\t{s + 50}\tf{s}\n" for c in (1, 2) for s in range(0, 5000, 100)]
    plain = tmp_path / "x.bed"
    plain.write_text("track name=x\n" + "".join(rows))
    gz = tmp_path / "x.bed.gz"
    pysam.tabix_compress(str(plain), str(gz))
    assert main(["index", str(gz)]) == 0
    with pysam.TabixFile(str(gz)) as t:
        assert len(list(t.fetch("chr2", 1000, 1200))) == 2


def test_errors(calls, tmp_path, capsys):
    assert main(["index", str(calls), "--loc"]) != 0
    assert "--loc" in capsys.readouterr().err
    assert main(["index", str(calls), "--csi", "-m", "40"]) != 0
    unsorted = tmp_path / "u.vcf"
    text = gf.bgzf.decompress(calls.read_bytes()).decode().splitlines(keepends=True)
    body = [x for x in text if not x.startswith("#")]
    unsorted.write_text("".join(x for x in text if x.startswith("#")) + "".join(body[::-1]))
    gz = tmp_path / "u.vcf.gz"
    pysam.tabix_compress(str(unsorted), str(gz))
    assert main(["index", str(gz)]) != 0
    err = capsys.readouterr().err
    assert "sorted" in err and "u.vcf.gz" in err
    fa = tmp_path / "x.fa"
    fa.write_text(">a\nACGT\n")
    assert main(["index", str(fa), "--csi"]) != 0
