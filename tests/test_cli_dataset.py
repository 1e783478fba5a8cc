"""``genomicframe view``, ``schema`` and ``convert`` on the toy format and on VCF."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import _toyformat as toy
import genomicframe as gf
from genomicframe.cli import main

f = pc.field


@pytest.fixture(scope="module")
def toy_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    return toy.write_toy(d / "calls.toy", toy.sample_rows(), index=True)


@pytest.fixture(scope="module")
def table(toy_path):
    return gf.dataset(toy_path).to_table()


def test_view_tsv_filter_columns_limit(toy_path, table, capsys):
    assert main(["view", toy_path, "--filter", "qual >= 30 and chrom == 'chr2'",
                 "--columns", "chrom,pos,qual,name", "--limit", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    want = table.filter((f("qual") >= 30) & (f("chrom") == "chr2")).slice(0, 5)
    assert lines[0] == "chrom\tpos\tqual\tname"
    assert len(lines) == 6
    for line, row in zip(lines[1:], want.to_pylist()):
        chrom, pos, qual, name = line.split("\t")
        assert (chrom, int(pos)) == (row["chrom"], row["pos"])
        assert float(qual) == pytest.approx(row["qual"], rel=1e-6)
        assert name == (row["name"] or ".")


def test_view_jsonl_and_csv(toy_path, table, capsys):
    assert main(["view", toy_path, "-O", "jsonl", "-c", "pos,qual,info", "-n", "20"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["pos"] for r in rows] == table.column("pos").to_pylist()[:20]
    assert rows[0]["info"] == table.column("info")[0].as_py()
    # float32 values print as written in the file, not as their widened double
    written = {r[1]: r[3] for r in toy.sample_rows()[:20] if r[0] == "chr1"}
    assert all(r["qual"] == written[r["pos"]] for r in rows)
    assert main(["view", toy_path, "-O", "csv", "-c", "chrom,info.AF", "-n", "2",
                 "--no-header"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith('"chr1",')
    assert main(["view", toy_path, "-c", "name,info", "-n", "3", "--no-header"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for line, row in zip(lines, table.slice(0, 3).to_pylist()):
        name, info = line.split("\t")
        assert name == (row["name"] or ".")
        want = [f"AF={row['info']['AF']}"] if row["info"]["AF"] is not None else []
        want += ["DB"] if row["info"]["DB"] else []
        assert info == (";".join(want) or ".")


def test_view_binary_outputs(toy_path, table, tmp_path):
    assert main(["view", toy_path, "-o", str(tmp_path / "x.parquet"), "-f", "pos < 100"]) == 0
    assert pq.read_table(tmp_path / "x.parquet").equals(table.filter(f("pos") < 100))
    assert main(["view", toy_path, "-O", "arrow", "-o", str(tmp_path / "x.arrows")]) == 0
    with pa.ipc.open_stream(tmp_path / "x.arrows") as r:
        assert r.read_all().equals(table)


def test_user_errors_exit_1_with_one_message(toy_path, capsys, tmp_path):
    assert main(["view", toy_path, "--filter", "qaul > 3"]) == 1
    err = capsys.readouterr().err
    assert "genomicframe view: error: filter syntax error at column 1: unknown column 'qaul'" in err
    assert main(["view", toy_path, "--columns", "pos,nope"]) == 1
    assert "no column 'nope'" in capsys.readouterr().err
    assert main(["view", str(tmp_path / "missing.toy")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["convert", toy_path, str(tmp_path / "o"), "--partition-by", "nope"]) == 1
    assert "--partition-by: no column 'nope'" in capsys.readouterr().err


def test_schema(toy_path, capsys):
    assert main(["schema", toy_path]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# format: toy\nchrom: string\npos: int64\n")
    assert main(["schema", toy_path, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "toy"
    assert [c["name"] for c in doc["columns"]] == ["chrom", "pos", "start", "end", "qual", "name",
                                                   "info"]


def test_convert_parquet_partitioned(toy_path, table, tmp_path):
    out = tmp_path / "parts"
    assert main(["convert", toy_path, str(out), "--partition-by", "chrom", "-c", "chrom,pos"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["chrom=chr1", "chrom=chr2", "chrom=chrX"]
    import pyarrow.dataset as pads

    back = pads.dataset(out, partitioning="hive").to_table()
    assert sorted(back.column("pos").to_pylist()) == sorted(table.column("pos").to_pylist())
    assert main(["convert", toy_path, str(tmp_path / "one.parquet"), "-f", "name is null"]) == 0
    assert pq.read_table(tmp_path / "one.parquet").equals(table.filter(f("name").is_null()))
    assert main(["convert", toy_path, str(tmp_path / "one.arrow")]) == 0
    with pa.ipc.open_file(tmp_path / "one.arrow") as r:
        assert r.read_all().equals(table)


def _run(args, stdin=None):
    env = dict(os.environ)
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    code = "import _toyformat, sys; from genomicframe.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True,
                          env=env, timeout=60)


def test_stdin_and_no_progress_when_not_a_terminal(toy_path, table):
    with open(toy_path, "rb") as fh:
        r = _run(["view", "-", "-c", "pos", "--no-header"], stdin=fh.read())
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""  # stderr is a pipe here: no progress bar
    assert [int(x) for x in r.stdout.split()] == table.column("pos").to_pylist()


def test_progress_bar_draws_when_enabled(capsys):
    from genomicframe.cli.view import Progress

    p = Progress(3, enabled=True)
    p.update(10, object())
    p.close()
    err = capsys.readouterr().err
    assert "10 rows" in err and "fragment" in err and err.endswith("\n")
    quiet = Progress(3, enabled=False)
    quiet.update(10)
    quiet.close()
    assert capsys.readouterr().err == ""


def test_vcf_view_and_convert(tmp_path, capsys):
    pytest.importorskip("genomicframe.formats.vcf")
    import _vcfgen

    recs = _vcfgen.records(n=120)
    path = _vcfgen.write_vcf(tmp_path / "v.vcf.gz", recs)
    assert main(["view", path, "-f", "qual >= 30", "-c", "chrom,pos,qual,filter",
                 "--no-header"]) == 0
    got = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    want = [r for r in recs if r["qual"] is not None and r["qual"] >= 30]
    assert [(c, int(p), float(q)) for c, p, q, _ in got] == [(r["chrom"], r["pos"], r["qual"])
                                                             for r in want]
    assert main(["convert", path, str(tmp_path / "v.parquet")]) == 0
    assert pq.read_table(tmp_path / "v.parquet").num_rows == len(recs)
    assert main(["schema", path]) == 0
    assert "# format: vcf" in capsys.readouterr().out


def test_binary_output_to_a_pipe(toy_path, table):
    r = _run(["view", toy_path, "-O", "parquet", "-c", "chrom,pos"])
    assert r.returncode == 0, r.stderr
    assert pq.read_table(pa.BufferReader(r.stdout)).equals(table.select(["chrom", "pos"]))
    r = _run(["view", toy_path, "-O", "arrow", "-n", "7"])
    assert r.returncode == 0, r.stderr
    assert pa.ipc.open_stream(r.stdout).read_all().equals(table.slice(0, 7))


def test_view_region(toy_path, table, capsys):
    assert main(["view", toy_path, "-r", "chr2:100-300", "-r", "chrX:1-50", "-c", "chrom,pos",
                 "--no-header", "-f", "qual is not null"]) == 0
    got = [(c, int(p)) for c, p in (x.split("\t") for x in capsys.readouterr().out.splitlines())]
    flt = (gf.region("chr2", 99, 300) | gf.region("chrX", 0, 50)) & f("qual").is_valid()
    assert got == [(r["chrom"], r["pos"]) for r in table.filter(flt).to_pylist()]
    assert got
    assert main(["view", toy_path, "-r", "chr2:9-3"]) == 1
    assert "the end is before the beginning" in capsys.readouterr().err


# -- VCF output ------------------------------------------------------------------------------

def _vcf_input(tmp_path, n=150):
    import _vcfgen

    recs = _vcfgen.records(n=n)
    return _vcfgen.write_vcf(tmp_path / "in.vcf.gz", recs), recs


def test_view_vcf_to_stdout(tmp_path, capsys):
    path, recs = _vcf_input(tmp_path)
    assert main(["view", path, "--format", "vcf", "-f", "qual >= 30", "-n", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "##fileformat=VCFv4.3"
    assert out[-7].startswith("##genomicframe_command=genomicframe view ")
    assert "--filter 'qual >= 30'" in out[-7]
    assert out[-6] == "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    want = [r for r in recs if r["qual"] is not None and r["qual"] >= 30][:5]
    got = [x.split("\t") for x in out[-5:]]
    assert [(c, int(p), float(q)) for c, p, _, _, _, q, *_ in got] == [
        (r["chrom"], r["pos"], r["qual"]) for r in want]
    # --columns: chrom, pos and ref are always written; info.KEY picks one INFO key
    assert main(["view", path, "-O", "vcf", "-c", "info.DP", "--no-header", "-n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [x.split("\t")[7] for x in lines] == [f"DP={r['dp']}" for r in recs[:2]]
    assert [x.split("\t")[4:7] for x in lines] == [[".", ".", "."]] * 2
    assert main(["view", path, "-O", "vcf", "--header-only"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("#CHROM")
    assert main(["view", path, "--header-only"]) == 1
    assert "--header-only is for --format vcf" in capsys.readouterr().err


def test_view_and_convert_vcf_gz_are_bgzf_and_indexable(tmp_path):
    pysam = pytest.importorskip("pysam")
    path, recs = _vcf_input(tmp_path)
    table = gf.dataset(path).to_table()
    for args in (["view", path, "-o", str(tmp_path / "v.vcf.gz")],
                 ["convert", path, str(tmp_path / "c.vcf.gz")]):
        assert main(args) == 0
        out = args[-1]
        with open(out, "rb") as fh:
            assert fh.read(4) == b"\x1f\x8b\x08\x04"  # BGZF: gzip with the extra field
        assert gf.dataset(out).to_table().equals(table)
        pysam.tabix_index(out, preset="vcf", force=True, keep_original=True)
        with pysam.TabixFile(out) as tbx:
            n = sum(1 for _ in tbx.fetch("chr2"))
        assert n == sum(r["chrom"] == "chr2" for r in recs)
    assert main(["convert", path, str(tmp_path / "p.vcf"), "--partition-by", "chrom"]) == 1


def test_view_vcf_pipe_reads_back(tmp_path):
    path, _ = _vcf_input(tmp_path, n=60)
    r = _run(["view", path, "-O", "vcf", "-r", "chr1:1-5000"])
    assert r.returncode == 0, r.stderr
    out = tmp_path / "piped.vcf"
    out.write_bytes(r.stdout)
    want = gf.dataset(path).to_table(filter=gf.region("chr1", 0, 5000))
    assert gf.dataset(str(out)).to_table().equals(want)
    assert b"--region chr1:1-5000" in r.stdout


def test_tsv_info_rows_with_every_key_missing(tmp_path, capsys):
    p = tmp_path / "few.vcf"
    p.write_text("##fileformat=VCFv4.3\n"
                 '##INFO=<ID=DP,Number=1,Type=Integer,Description="d">\n'
                 '##INFO=<ID=DB,Number=0,Type=Flag,Description="f">\n'
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                 "1\t1\t.\tA\tC\t.\t.\tDP=3;DB\n1\t2\t.\tA\tC\t.\t.\t.\n1\t3\t.\tA\tC\t.\t.\tDB\n")
    assert main(["view", str(p), "-c", "pos,info", "--no-header"]) == 0
    assert capsys.readouterr().out.splitlines() == ["1\tDP=3;DB", "2\t.", "3\tDB"]
