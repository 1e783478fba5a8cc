"""``genomicframe index`` and ``genomicframe fetch``: exit codes, output bytes (pysam's samtools as oracle)."""
from __future__ import annotations

import io
import random
import shutil
import subprocess
import sys

import pytest

import genomicframe as gf
from genomicframe.cli import main

pysam = pytest.importorskip("pysam")

AA = "ACDEFGHIKLMNPQRSTVWY"


def _fasta(n=120, seed=4, wrap=60):
    rng = random.Random(seed)
    parts = []
    for i in range(n):
        seq = "".join(rng.choice(AA) for _ in range(rng.randint(1, 500)))
        lines = [seq[j:j + wrap] for j in range(0, len(seq), wrap)]
        parts.append(f">sample_{rng.getrandbits(48):012x}_{i} len={len(seq)}\n" + "\n".join(lines) + "\n")
    return "".join(parts).encode()


@pytest.fixture()
def bgzf_fasta(tmp_path):
    data = _fasta()
    buf = io.BytesIO()
    with gf.bgzf.Writer(buf, block_size=5000, threads=1) as w:
        w.write(data)
    path = tmp_path / "prot.fa.gz"
    path.write_bytes(buf.getvalue())
    ref = tmp_path / "ref" / "prot.fa.gz"
    ref.parent.mkdir()
    shutil.copyfile(path, ref)
    pysam.faidx(str(ref))
    return path, ref, data


def _run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "genomicframe", *map(str, args)],
                          capture_output=True, input=stdin)


def test_index_writes_samtools_identical_files(bgzf_fasta, capsys):
    path, ref, _ = bgzf_fasta
    assert main(["index", str(path), "--loc", "-@", "2", "-v"]) == 0
    err = capsys.readouterr().err
    assert "120 records" in err and ".gfi" in err
    for ext in (".fai", ".gzi"):
        assert (path.parent / (path.name + ext)).read_bytes() == \
            (ref.parent / (ref.name + ext)).read_bytes()
    loc = (path.parent / (path.name + ".loc")).read_text().splitlines()
    assert len(loc) == 120 and loc[0].split("\t")[1] == "0"


def test_fetch_matches_samtools_r(bgzf_fasta, tmp_path):
    path, ref, _ = bgzf_fasta
    names = [ln.split("\t")[0] for ln in (ref.parent / (ref.name + ".fai")).read_text().splitlines()]
    rng = random.Random(2)
    reqs = [rng.choice(names) for _ in range(40)] + [f"{names[3]}:10-70", f"{names[9]}:5"]
    rfile = tmp_path / "names.txt"
    rfile.write_text("\n".join(reqs) + "\n")
    out = tmp_path / "expected.fa"
    pysam.faidx(str(ref), "-n", "60", "-o", str(out), "-r", str(rfile))
    res = _run("fetch", path, "-r", rfile, "-v")
    assert res.returncode == 0, res.stderr
    assert res.stdout == out.read_bytes()
    assert b"BGZF blocks inflated once each" in res.stderr
    # names on the command line and from standard input give the same bytes
    res2 = _run("fetch", path, "-r", "-", stdin=rfile.read_bytes())
    assert res2.stdout == res.stdout
    res3 = _run("fetch", path, *reqs[:3])
    assert res3.stdout == res.stdout[:len(res3.stdout)]


def test_fetch_missing_names(bgzf_fasta, tmp_path):
    path, ref, _ = bgzf_fasta
    name = (ref.parent / (ref.name + ".fai")).read_text().split("\t")[0]
    res = _run("fetch", path, name, "not_there")
    assert res.returncode == 1 and res.stdout == b""
    assert b"not_there" in res.stderr
    res = _run("fetch", path, name, "not_there", "--missing", "skip")
    assert res.returncode == 0 and res.stdout.startswith(f">{name}\n".encode())
    res = _run("fetch", path, "not_there", name, "--missing", "warn")
    assert res.returncode == 0 and b"not_there" in res.stderr


def test_fetch_loc_raw_mode_equals_byte_ranges(bgzf_fasta, tmp_path):
    path, _, data = bgzf_fasta
    assert main(["index", str(path), "--loc"]) == 0
    rows = (path.parent / (path.name + ".loc")).read_text().splitlines()
    query = tmp_path / "q.loc"
    query.write_text("\n".join(rows[5:9] + rows[:2]) + "\n")
    res = _run("fetch", path, "--loc", query)
    assert res.returncode == 0, res.stderr
    expect = b""
    for row in rows[5:9] + rows[:2]:
        _, off, size = row.split("\t")
        expect += data[int(off):int(off) + int(size)]
    assert res.stdout == expect


def test_fetch_tsv_and_parquet(bgzf_fasta, tmp_path):
    path, ref, _ = bgzf_fasta
    name = (ref.parent / (ref.name + ".fai")).read_text().split("\t")[0]
    with pysam.FastaFile(str(ref)) as fa:
        seq = fa.fetch(name)
    res = _run("fetch", path, name, f"{name}:2-4", "--output-format", "tsv")
    assert res.stdout.decode().splitlines() == [
        "name\tstart\tend\tsequence", f"{name}\t0\t{len(seq)}\t{seq}", f"{name}\t1\t4\t{seq[1:4]}"]
    res = _run("fetch", path, name, "--output-format", "parquet")
    assert res.returncode == 1 and b"needs -o" in res.stderr
    out = tmp_path / "o.parquet"
    assert main(["fetch", str(path), name, "--output-format", "parquet", "-o", str(out)]) == 0
    import pyarrow.parquet as pq

    t = pq.read_table(out)
    assert t.column("sequence").to_pylist() == [seq]


def test_cli_errors_are_one_line(tmp_path):
    plain_gz = tmp_path / "plain.fa.gz"
    import gzip

    plain_gz.write_bytes(gzip.compress(b">a\nACGT\n"))
    res = _run("index", plain_gz)
    assert res.returncode == 1 and b"genomicframe bgzip" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.fa"
    bad.write_bytes(b">a\nACGT\nAC\nACGT\n")
    res = _run("index", bad)
    assert res.returncode == 1 and b"irregular line wrapping in record 'a'" in res.stderr
    assert b"line 4" in res.stderr
    res = _run("fetch", bad)
    assert res.returncode == 1 and b"nothing to fetch" in res.stderr


def test_fetch_does_not_import_numpy_or_pyarrow(bgzf_fasta):
    path, _, _ = bgzf_fasta
    assert main(["index", str(path)]) == 0
    code = ("import sys, io; import genomicframe.fasta.file as f;"
            f"fa = f.FastaFile({str(path)!r}); fa.fetch_many([fa.name(0)], out=io.BytesIO());"
            "print('numpy' in sys.modules, 'pyarrow' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]
