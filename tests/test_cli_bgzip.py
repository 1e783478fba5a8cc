"""``genomicframe bgzip`` as a user runs it: subprocesses, files, stdin/stdout, exit codes.

Outputs are checked with pysam (htslib) and against slices of the original bytes;
htslib's own binaries are never run here.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pysam
import pytest

import genomicframe as gf
from conftest import make_text

EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def bgzip(*args, cwd, input=None, check=True):
    """Run ``python -m genomicframe bgzip ARGS``; return the CompletedProcess (bytes)."""
    proc = subprocess.run([sys.executable, "-m", "genomicframe", "bgzip", *map(str, args)],
                          cwd=cwd, input=input, capture_output=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr.decode()
        assert b"Traceback" not in proc.stderr
    return proc


def assert_user_error(proc, *words):
    """Non-zero exit, one line on stderr naming the problem, no traceback."""
    err = proc.stderr.decode()
    assert proc.returncode != 0
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("genomicframe bgzip: error: "), err
    for w in words:
        assert w in err, err


def assert_same_bgzf(a: bytes, b: bytes) -> None:
    """Same blocks with the same content.  Not ``a == b``: at ISA-L levels 1-3 the
    deflate bits can differ between runs (see test_bgzf_writer.py); levels 0 and 1
    are compared byte for byte where it matters."""
    assert gf.bgzf.scan_bytes(a).usize.tolist() == gf.bgzf.scan_bytes(b).usize.tolist()
    assert gf.bgzf.decompress(a) == gf.bgzf.decompress(b)


def pysam_read(path) -> bytes:
    with pysam.BGZFile(str(path), "rb") as fh:
        return fh.read()


@pytest.fixture(scope="module")
def text() -> bytes:
    return make_text(4000, seed=11)


@pytest.fixture()
def src(tmp_path, text):
    p = tmp_path / "data.txt"
    p.write_bytes(text)
    return p


# -- compress / decompress -------------------------------------------------------------------
def test_compress_replaces_input(tmp_path, src, text):
    bgzip(src.name, cwd=tmp_path)
    out = tmp_path / "data.txt.gz"
    assert not src.exists()  # like htslib: the input is removed without -k
    assert pysam_read(out) == text
    assert out.read_bytes().endswith(EOF_BLOCK)
    assert_same_bgzf(out.read_bytes(), gf.bgzf.compress(text))
    bgzip("-d", out.name, cwd=tmp_path)
    assert not out.exists()
    assert src.read_bytes() == text


def test_keep(tmp_path, src, text):
    bgzip("-k", src.name, cwd=tmp_path)
    assert src.exists()
    out = tmp_path / "data.txt.gz"
    src.unlink()
    bgzip("-d", "-k", out.name, cwd=tmp_path)
    assert out.exists() and src.read_bytes() == text


def test_force(tmp_path, src, text):
    out = tmp_path / "data.txt.gz"
    out.write_bytes(b"precious")
    proc = bgzip("-k", src.name, cwd=tmp_path, check=False)
    assert_user_error(proc, "data.txt.gz", "-f")
    assert out.read_bytes() == b"precious" and src.exists()
    bgzip("-k", "-f", src.name, cwd=tmp_path)
    assert pysam_read(out) == text
    # decompressing over an existing file needs -f too
    proc = bgzip("-d", "-k", out.name, cwd=tmp_path, check=False)
    assert_user_error(proc, "data.txt", "-f")
    src.write_bytes(b"old")
    bgzip("-d", "-k", "-f", out.name, cwd=tmp_path)
    assert src.read_bytes() == text


def test_refuses_to_recompress_gz_suffix(tmp_path, text):
    p = tmp_path / "x.gz"
    p.write_bytes(text)
    assert_user_error(bgzip(p.name, cwd=tmp_path, check=False), "x.gz", "suffix")
    assert p.read_bytes() == text


def test_decompress_unknown_suffix(tmp_path, text):
    p = tmp_path / "x.dat"
    p.write_bytes(gf.bgzf.compress(text))
    assert_user_error(bgzip("-d", p.name, cwd=tmp_path, check=False), "x.dat", "-c")
    assert bgzip("-d", "-c", p.name, cwd=tmp_path).stdout == text


def test_stdout(tmp_path, src, text):
    proc = bgzip("-c", src.name, cwd=tmp_path)
    assert src.exists()  # -c keeps the input
    assert_same_bgzf(proc.stdout, gf.bgzf.compress(text))
    (tmp_path / "o.gz").write_bytes(proc.stdout)
    assert pysam_read(tmp_path / "o.gz") == text
    assert bgzip("-dc", "o.gz", cwd=tmp_path).stdout == text
    assert (tmp_path / "o.gz").exists()


def test_stdin_to_stdout(tmp_path, text):
    comp = bgzip(cwd=tmp_path, input=text).stdout
    assert_same_bgzf(comp, gf.bgzf.compress(text))
    assert_same_bgzf(bgzip("-c", "-", cwd=tmp_path, input=text).stdout, comp)
    assert bgzip("-d", cwd=tmp_path, input=comp).stdout == text
    assert bgzip("-d", "-", cwd=tmp_path, input=comp).stdout == text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("level", [-1, 0, 1, 5, 9])
def test_levels(tmp_path, text, level):
    out = bgzip("-l", level, "-c", cwd=tmp_path, input=text).stdout
    if level in (0, 1):  # reproducible bit for bit
        assert out == gf.bgzf.compress(text, level=level)
    assert_same_bgzf(out, gf.bgzf.compress(text, level=level))
    if level == 0:
        assert len(out) > len(text)  # stored
    (tmp_path / "l.gz").write_bytes(out)
    assert pysam_read(tmp_path / "l.gz") == text


def test_threads_same_output(tmp_path, text):
    data = text * 3
    one = bgzip("-@", 1, "-l", 1, "-c", cwd=tmp_path, input=data).stdout
    two = bgzip("-@", 2, "-l", 1, "-c", cwd=tmp_path, input=data).stdout
    assert one == two  # level 1 is reproducible bit for bit
    one = bgzip("-@", 1, "-c", cwd=tmp_path, input=data).stdout
    two = bgzip("-@", 2, "-c", cwd=tmp_path, input=data).stdout
    assert_same_bgzf(one, two)
    assert bgzip("-d", "-@", 2, cwd=tmp_path, input=two).stdout == data


def test_decompress_plain_gzip_and_htslib_files(tmp_path, text):
    import gzip

    (tmp_path / "g.gz").write_bytes(gzip.compress(text[:1000]) + gzip.compress(text[1000:]))
    assert bgzip("-dc", "g.gz", cwd=tmp_path).stdout == text
    with pysam.BGZFile(str(tmp_path / "h.gz"), "wb") as fh:
        fh.write(text)
    assert bgzip("-dc", "h.gz", cwd=tmp_path).stdout == text


# -- .gzi ------------------------------------------------------------------------------------
def test_index_on_compress(tmp_path, src):
    bgzip("-i", "-k", src.name, cwd=tmp_path)
    gz = tmp_path / "data.txt.gz"
    gzi = tmp_path / "data.txt.gz.gzi"
    assert gzi.read_bytes() == gf.bgzf.gzi_bytes(gf.bgzf.scan_file(gz))
    bgzip("-i", "-I", "named.gzi", "-f", "-k", src.name, cwd=tmp_path)
    assert (tmp_path / "named.gzi").read_bytes() == gf.bgzf.gzi_bytes(gf.bgzf.scan_file(gz))


def test_index_with_stdout_needs_a_name(tmp_path, text):
    assert_user_error(bgzip("-i", "-c", cwd=tmp_path, input=text, check=False), "-I")
    out = bgzip("-i", "-I", "s.gzi", "-c", cwd=tmp_path, input=text).stdout
    (tmp_path / "s.gz").write_bytes(out)
    assert (tmp_path / "s.gzi").read_bytes() == gf.bgzf.gzi_bytes(
        gf.bgzf.scan_file(tmp_path / "s.gz"))


def test_reindex_matches_htslib(tmp_path):
    fasta = b"".join(b">r%d\n%s\n" % (i, b"ACGTTGCA" * (i % 50 + 1)) for i in range(3000))
    fa = tmp_path / "ref.fa.gz"
    with gf.bgzf.Writer(fa, threads=1, block_size=5000) as w:
        w.write(fasta)
    bgzip("-r", fa.name, cwd=tmp_path)
    ours = (tmp_path / "ref.fa.gz.gzi").read_bytes()
    (tmp_path / "ref.fa.gz.gzi").unlink()
    pysam.faidx(str(fa))  # htslib writes its .gzi
    assert ours == (tmp_path / "ref.fa.gz.gzi").read_bytes()
    bgzip("-r", "-I", "other.gzi", fa.name, cwd=tmp_path)
    assert (tmp_path / "other.gzi").read_bytes() == ours
    assert_user_error(bgzip("-r", cwd=tmp_path, input=b"", check=False), "standard input")


def test_reindex_plain_gzip_fails(tmp_path, text):
    import gzip

    (tmp_path / "p.gz").write_bytes(gzip.compress(text))
    assert_user_error(bgzip("-r", "p.gz", cwd=tmp_path, check=False), "p.gz", "genomicframe bgzip")
    assert not (tmp_path / "p.gz.gzi").exists()


# -- -b / -s -----------------------------------------------------------------------------------
def bgzip_in_process(capfdbinary, *args) -> bytes:
    """Run ``main(["bgzip", ...])`` in this process; return what it wrote to fd 1."""
    import signal

    from genomicframe.cli import main

    capfdbinary.readouterr()
    saved = signal.getsignal(signal.SIGPIPE)  # main() resets SIGPIPE; keep pytest's
    try:
        assert main(["bgzip", *map(str, args)]) == 0
    finally:
        signal.signal(signal.SIGPIPE, saved)
    out = capfdbinary.readouterr()
    assert out.err == b""
    return out.out


@pytest.mark.parametrize("with_gzi", [False, True])
def test_offset_and_size(tmp_path, text, with_gzi, capfdbinary):
    data = text * 2
    gz = tmp_path / "r.gz"
    with gf.bgzf.Writer(gz, threads=1, block_size=3000, index=with_gzi) as w:
        w.write(data)
    cases = [(0, 10), (5, 100), (2999, 2), (3000, 3000), (2500, 20_000), (len(data) - 5, 100),
             (123_456, None), (0, None), (len(data), 10), (len(data) + 50, None), (10, 0)]
    for b, s in cases:  # in-process (the same main() the command runs) to keep this quick
        args = ["-b", b] + ([] if s is None else ["-s", s]) + [gz]
        want = data[b:] if s is None else data[b:b + s]
        assert bgzip_in_process(capfdbinary, *args) == want, (b, s)
    assert bgzip("-s", 77, gz.name, cwd=tmp_path).stdout == data[:77]
    assert bgzip("-b", 2999, "-s", 5, gz.name, cwd=tmp_path).stdout == data[2999:3004]


def test_offset_with_named_index(tmp_path, text):
    gz = tmp_path / "n.gz"
    with gf.bgzf.Writer(gz, threads=1, block_size=2000, index=tmp_path / "named.gzi") as w:
        w.write(text)
    out = bgzip("-b", 4321, "-s", 5000, "-I", "named.gzi", gz.name, cwd=tmp_path).stdout
    assert out == text[4321:9321]
    # a stale index is refused rather than trusted
    os.utime(tmp_path / "named.gzi", (0, 0))
    proc = bgzip("-b", 10, "-I", "named.gzi", gz.name, cwd=tmp_path, check=False)
    assert_user_error(proc, "named.gzi", "bgzip -r")


def test_decompress_and_test_from_stdin(tmp_path, text):
    comp = gf.bgzf.compress(text)
    assert bgzip("-t", cwd=tmp_path, input=comp).returncode == 0
    assert_user_error(bgzip("-t", cwd=tmp_path, input=comp[:-100], check=False), "truncated")
    # uncompressed input passes through -d unchanged
    assert bgzip("-d", cwd=tmp_path, input=text[:999]).stdout == text[:999]


def test_offset_large_blocks(tmp_path):
    """Ranges over full 64 KiB blocks (the read stops inside a later block)."""
    import random

    data = random.Random(9).randbytes(600_000)
    gz = tmp_path / "big.gz"
    with gf.bgzf.Writer(gz, threads=1) as w:
        w.write(data)
    for b, s in [(10, 100), (65_270, 30), (200_000, 150_000)]:
        assert bgzip("-b", b, "-s", s, gz.name, cwd=tmp_path).stdout == data[b:b + s]


def test_offset_needs_bgzf(tmp_path, text):
    import gzip

    (tmp_path / "p.gz").write_bytes(gzip.compress(text))
    assert_user_error(bgzip("-b", 5, "p.gz", cwd=tmp_path, check=False), "p.gz", "BGZF")
    assert_user_error(bgzip("-b", -1, "-s", 3, cwd=tmp_path, input=b"", check=False))


# -- -t ------------------------------------------------------------------------------------------
def test_test_mode(tmp_path, text):
    raw = gf.bgzf.compress(text)
    (tmp_path / "ok.gz").write_bytes(raw)
    proc = bgzip("-t", "ok.gz", cwd=tmp_path)
    assert proc.stdout == b"" and proc.stderr == b""
    # one flipped byte in the deflate data
    bad = bytearray(raw)
    bad[100] ^= 0xFF
    (tmp_path / "bad.gz").write_bytes(bytes(bad))
    assert_user_error(bgzip("-t", "bad.gz", cwd=tmp_path, check=False), "bad.gz", "byte offset 0")
    # cut in the middle of the second block
    table = gf.bgzf.scan_bytes(raw)
    cut = int(table.coffset[1]) + 10
    (tmp_path / "cut.gz").write_bytes(raw[:cut])
    assert_user_error(bgzip("-t", "cut.gz", cwd=tmp_path, check=False), "cut.gz",
                      f"byte offset {int(table.coffset[1])}", "truncated")
    # whole blocks but no EOF marker: -t fails (htslib only warns)
    (tmp_path / "noeof.gz").write_bytes(raw[:-28])
    assert_user_error(bgzip("-t", "noeof.gz", cwd=tmp_path, check=False), "noeof.gz", "EOF")
    import gzip

    (tmp_path / "plain.gz").write_bytes(gzip.compress(text))
    assert_user_error(bgzip("-t", "plain.gz", cwd=tmp_path, check=False), "plain.gz", "BGZF")


# -- errors ------------------------------------------------------------------------------------
def test_missing_input(tmp_path):
    assert_user_error(bgzip("nope.txt", cwd=tmp_path, check=False), "nope.txt")
    assert_user_error(bgzip("-d", "nope.gz", cwd=tmp_path, check=False), "nope.gz")


def test_corrupt_input_leaves_no_partial_output(tmp_path, text):
    raw = bytearray(gf.bgzf.compress(text * 2))
    table = gf.bgzf.scan_bytes(bytes(raw))
    at = int(table.coffset[2])
    raw[at:at + 2] = b"XX"
    (tmp_path / "c.txt.gz").write_bytes(bytes(raw))
    proc = bgzip("-d", "c.txt.gz", cwd=tmp_path, check=False)
    assert_user_error(proc, "c.txt.gz", f"byte offset {at}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt.gz"]


@pytest.mark.parametrize("args,words", [(["-l", "12"], ["-l"]), (["-@", "0"], ["-@"])])
def test_bad_arguments(tmp_path, src, args, words):
    assert_user_error(bgzip(*args, src.name, cwd=tmp_path, check=False), *words)
    assert src.exists()


def test_unsupported_compression(tmp_path, text):
    import bz2

    (tmp_path / "x.txt.gz").write_bytes(bz2.compress(text))
    assert_user_error(bgzip("-d", "x.txt.gz", cwd=tmp_path, check=False), "x.txt.gz", "bzip2")


def test_missing_eof_warns_on_one_line(tmp_path, text):
    (tmp_path / "n.gz").write_bytes(gf.bgzf.compress(text)[:-28])
    proc = bgzip("-dc", "n.gz", cwd=tmp_path)
    assert proc.stdout == text
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "warning" in err and "n.gz" in err and "EOF" in err


def test_quiet_on_sigpipe(tmp_path, text):
    big = tmp_path / "big.gz"
    with gf.bgzf.Writer(big, threads=1, level=1) as w:
        for _ in range(15):
            w.write(text)
    cmd = f"{sys.executable} -m genomicframe bgzip -dc big.gz | head -c 10"
    proc = subprocess.run(["/bin/sh", "-c", cmd], cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.stdout == text[:10]
    assert proc.stderr == b""
    cmd = f"{sys.executable} -m genomicframe bgzip -c -l 0 < big.gz | head -c 3"
    proc = subprocess.run(["/bin/sh", "-c", cmd], cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.stdout == b"\x1f\x8b\x08" and proc.stderr == b""


def test_version_and_help():
    out = subprocess.run([sys.executable, "-m", "genomicframe", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"genomicframe {gf.__version__}"
    out = subprocess.run([sys.executable, "-m", "genomicframe", "bgzip", "--help"],
                         capture_output=True, text=True, check=True)
    for flag in ("-b", "-c", "-d", "-f", "-i", "-I", "-k", "-l", "-r", "-s", "-t", "-@"):
        assert flag in out.stdout


def test_main_in_process(tmp_path, src, text, capsysbinary):
    """The same entry point called in-process returns the exit status."""
    import signal

    from genomicframe.cli import main

    saved = signal.getsignal(signal.SIGPIPE)  # main() resets SIGPIPE; keep pytest's
    try:
        assert main(["bgzip", "-k", str(src)]) == 0
        assert main(["bgzip", str(tmp_path / "none.txt")]) == 1
    finally:
        signal.signal(signal.SIGPIPE, saved)
    assert pysam_read(f"{src}.gz") == text
    assert b"none.txt" in capsysbinary.readouterr().err
    assert os.path.exists(src)
