"""The file object ``gf.bgzf.open`` / ``BgzfFile``: io protocol, virtual offsets, seeking.

For BGZF, ``tell()`` must give the same virtual offsets as htslib's ``bgzf_tell``
(``pysam.BGZFile.tell``) at the same positions, and seeking to any offset either side
produced must land on the same bytes.  For gzip and plain files offsets are plain
uncompressed byte offsets.
"""
from __future__ import annotations

import gzip
import io
import random
import warnings

import pysam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genomicframe as gf
from conftest import make_text

EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def bgzf_bytes(data: bytes, block_size: int = 65280) -> bytes:
    buf = io.BytesIO()
    with gf.bgzf.Writer(buf, threads=1, block_size=block_size) as w:
        w.write(data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def text() -> bytes:
    return make_text(2500, seed=3)


@pytest.fixture(scope="module")
def files(tmp_path_factory, text):
    """BGZF layouts that make tell() interesting: tiny blocks, empty blocks, no EOF marker."""
    d = tmp_path_factory.mktemp("file")
    a = bgzf_bytes(text[:40_000], 1000)
    b = bgzf_bytes(text[40_000:], 777)
    layouts = {
        "tiny": bgzf_bytes(text, 1000),
        "big": bgzf_bytes(text),
        "empty_blocks": EOF_BLOCK + a + EOF_BLOCK + b,
        "two_eof": a + EOF_BLOCK,
        "no_eof": a[:-28] + b[:-28],
    }
    out = {}
    for name, raw in layouts.items():
        p = d / f"{name}.gz"
        p.write_bytes(raw)
        out[name] = p
    return out


# -- virtual offsets against htslib ------------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny", "big", "empty_blocks", "two_eof", "no_eof"])
def test_tell_matches_pysam_while_reading(files, text, name):
    rng = random.Random(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no_eof warns, as htslib does
        ref = pysam.BGZFile(str(files[name]), "rb")
        ours = gf.bgzf.open(files[name], threads=1)
        marks = [(ref.tell(), ours.tell())]
        while True:
            n = rng.choice([1, 13, 999, 1000, 1001, 4096, 20_000])
            got = ours.read(n)
            assert got == ref.read(n)
            marks.append((ref.tell(), ours.tell()))
            if not got:
                break
        assert [m[1] for m in marks] == [m[0] for m in marks]
        assert marks[0][1] == 0
        # seek back to every offset seen and read the same bytes as htslib
        for v, _ in marks[::2]:
            ref.seek(v)
            assert ours.seek(v) == v
            assert ours.tell() == v
            assert ours.read(1500) == ref.read(1500)
            assert ours.tell() == ref.tell()
        ref.close()
        ours.close()


@pytest.mark.parametrize("name", ["tiny", "empty_blocks"])
def test_tell_matches_pysam_line_by_line(files, text, name, threads):
    with pysam.BGZFile(str(files[name]), "rb") as ref, \
            gf.bgzf.open(files[name], threads=threads) as ours:
        for line in ours:
            assert ref.readline() + b"\n" == line
            assert ours.tell() == ref.tell()
        assert ref.readline() == b""
        assert ours.tell() == ref.tell()


def test_tell_at_eof(files):
    with gf.bgzf.open(files["tiny"]) as fh:
        fh.read()
        size = files["tiny"].stat().st_size
        assert fh.tell() == (size - 28) << 16  # the EOF marker's address, as htslib
        assert fh.read() == b"" and fh.read(10) == b"" and fh.readline() == b""
        fh.seek((size - 28) << 16)  # seeking to the (empty) EOF block is fine
        assert fh.tell() == (size - 28) << 16
        assert fh.read() == b""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with gf.bgzf.open(files["no_eof"]) as fh:
            fh.read()
            assert fh.tell() == files["no_eof"].stat().st_size << 16


def test_seek_within_blocks(files, text):
    path = files["tiny"]
    table = gf.bgzf.scan_file(path)
    with gf.bgzf.open(path) as fh:
        for i in (0, 1, 7, 30, len(table) - 2):
            for within in sorted({0, 1, 500, 999, int(table.usize[i])} & set(range(
                    int(table.usize[i]) + 1))):
                v = gf.bgzf.make_voffset(int(table.coffset[i]), within)
                fh.seek(v)
                u = int(table.uoffset[i]) + within
                assert fh.read(3000) == text[u:u + 3000]
        # the end of a block is a valid position too
        v = gf.bgzf.make_voffset(int(table.coffset[3]), 1000)
        fh.seek(v)
        assert fh.read(5) == text[4000:4005]


def test_seek_errors(files):
    table = gf.bgzf.scan_file(files["tiny"])
    with gf.bgzf.open(files["tiny"]) as fh:
        with pytest.raises(ValueError, match="past the end of its block"):
            fh.seek(gf.bgzf.make_voffset(int(table.coffset[2]), 1001))
        with pytest.raises(ValueError, match="negative"):
            fh.seek(-1)
        with pytest.raises(io.UnsupportedOperation):
            fh.seek(0, io.SEEK_END)
        with pytest.raises(gf.errors.CorruptBlockError) as info:
            fh.seek(gf.bgzf.make_voffset(int(table.coffset[2]) + 5, 0))  # not a block start
        assert info.value.offset == int(table.coffset[2]) + 5
        fh.seek(0)
        assert fh.seek(0, io.SEEK_CUR) == 0


def test_seek_uncompressed(files, text, tmp_path):
    path = files["empty_blocks"]
    idx = gf.bgzf.GziIndex.from_blocks(gf.bgzf.scan_file(path))
    with gf.bgzf.open(path) as fh:
        for u in (0, 1, 999, 1000, 39_999, 40_000, 40_776, 40_777, len(text) - 3, len(text)):
            v = fh.seek_uncompressed(u, idx)
            assert v == fh.tell()
            assert fh.read(2000) == text[u:u + 2000]
            fh.seek_uncompressed(u)  # index built by a header scan
            assert fh.read(10) == text[u:u + 10]
    with gf.bgzf.open(path) as fh:
        for bad in (len(text) + 1, len(text) + 70_000, 10**9, -1):
            with pytest.raises(ValueError, match="past the end|negative"):
                fh.seek_uncompressed(bad, idx)
    # an index written by htslib works the same
    fasta = tmp_path / "f.fa.gz"
    body = b"".join(b">s%d\n%s\n" % (i, b"ACGT" * 40) for i in range(2000))
    with gf.bgzf.Writer(fasta, threads=1, block_size=3000) as w:
        w.write(body)
    pysam.faidx(str(fasta))
    idx = gf.bgzf.read_gzi(f"{fasta}.gzi")
    with gf.bgzf.open(fasta) as fh:
        for u in range(0, len(body), 9_973):
            fh.seek_uncompressed(u, idx)
            assert fh.read(100) == body[u:u + 100]


# -- gzip and plain files: uncompressed offsets ------------------------------------------------
@pytest.mark.parametrize("kind", ["gzip", "plain"])
def test_gzip_and_plain_seek_tell(tmp_path, text, kind):
    path = tmp_path / ("x.gz" if kind == "plain" else "x.txt")  # names that lie
    path.write_bytes(gzip.compress(text[:200_000]) + gzip.compress(text[200_000:])
                     if kind == "gzip" else text)
    with gf.bgzf.open(path) as fh:
        assert fh.compression == kind
        assert fh.seekable()
        assert fh.tell() == 0
        assert fh.read(12_345) == text[:12_345]
        assert fh.tell() == 12_345
        fh.readline()
        assert fh.tell() == text.index(b"\n", 12_345) + 1
        for u in (5, 250_000, 100, len(text) - 10, 0):  # forwards and backwards
            assert fh.seek(u) == u
            assert fh.tell() == u
            assert fh.read(50) == text[u:u + 50]
        assert fh.seek_uncompressed(777) == 777
        assert fh.read(3) == text[777:780]
        fh.seek(len(text) + 100)
        assert fh.read() == b""
        assert fh.tell() == len(text)


# -- io protocol -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny", "big", "empty_blocks"])
def test_read_methods(files, text, name):
    path = files[name]
    with gf.bgzf.open(path) as fh:
        assert fh.read(0) == b""
        assert fh.read(5) == text[:5]
        assert fh.peek()[:10] == text[5:15]
        assert fh.read1(3) == text[5:8]
        pos = 8
        chunk = fh.read1()
        assert 0 < len(chunk) and chunk == text[pos:pos + len(chunk)]
        pos += len(chunk)
        buf = bytearray(2500)
        assert fh.readinto(buf) == 2500 and bytes(buf) == text[pos:pos + 2500]
        pos += 2500
        assert fh.read() == text[pos:]
        assert fh.read() == b"" and fh.read1() == b"" and fh.peek() == b""
        assert fh.readinto(bytearray(4)) == 0
    with gf.bgzf.open(path) as fh:
        assert fh.read(None) == text
    with gf.bgzf.open(path) as fh:
        assert fh.read(-1) == text


def test_readline_and_readlines(files, text):
    lines = text.splitlines(keepends=True)
    with gf.bgzf.open(files["tiny"]) as fh:
        assert fh.readline() == lines[0]
        assert fh.readline(0) == b""
        part = fh.readline(3)
        assert part == lines[1][:3]
        assert fh.readline() == lines[1][3:]
        k = next(i for i in range(2, len(lines)) if len(lines[i]) > 3000)
        long_line = lines[k]  # crosses several 1000-byte blocks
        for _ in range(2, k):
            fh.readline()
        assert fh.readline(2500) == long_line[:2500]
        assert fh.readline(None) == long_line[2500:]
        assert fh.readlines() == lines[k + 1:]
    with gf.bgzf.open(files["tiny"]) as fh:
        assert fh.readlines() == lines
    with gf.bgzf.open(files["tiny"]) as fh:
        assert list(fh) == lines


def test_text_wrapper(files, text):
    with io.TextIOWrapper(gf.bgzf.open(files["tiny"]), encoding="ascii") as fh:
        assert fh.read() == text.decode()


def test_context_manager_and_close(files):
    fh = gf.bgzf.open(files["tiny"])
    assert fh.readable() and not fh.writable() and fh.seekable()
    assert fh.name == str(files["tiny"]) and fh.compression == "bgzf"
    assert "BgzfFile" in repr(fh) and "bgzf" in repr(fh)
    with fh:
        fh.read(10)
        fh.seek(gf.bgzf.make_voffset(int(gf.bgzf.scan_file(files["tiny"]).coffset[5]), 0))
    assert fh.closed
    fh.close()  # idempotent
    for call in (fh.read, fh.readline, fh.tell, fh.peek, fh.read1, lambda: fh.seek(0)):
        with pytest.raises(ValueError, match="closed"):
            call()


def test_open_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        gf.bgzf.open(tmp_path / "missing.gz")


def test_many_seeks_do_not_leak_files(files):
    import os

    fd_dir = "/proc/self/fd"
    if not os.path.isdir(fd_dir):
        pytest.skip("needs /proc/self/fd")
    table = gf.bgzf.scan_file(files["tiny"])
    with gf.bgzf.open(files["tiny"]) as fh:
        fh.seek(int(table.coffset[1]) << 16)
        before = len(os.listdir(fd_dir))
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            for i in range(2, 40):
                fh.seek(int(table.coffset[i]) << 16)
                fh.read(10)
        assert len(os.listdir(fd_dir)) == before


# -- hypothesis: any layout, any read sizes: the same bytes and offsets as htslib ---------------
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.tuples(st.binary(max_size=600), st.integers(1, 300)), min_size=1,
                      max_size=5),
       eof_between=st.booleans(), reads=st.lists(st.integers(0, 700), min_size=1, max_size=30))
def test_offsets_agree_with_pysam(tmp_path_factory, parts, eof_between, reads):
    raw = b""
    for data, block_size in parts:
        piece = bgzf_bytes(data, block_size)
        raw += piece if eof_between else piece[:-28]
    if not eof_between:
        raw += EOF_BLOCK
    path = tmp_path_factory.mktemp("hyp") / "h.gz"
    path.write_bytes(raw)
    with pysam.BGZFile(str(path), "rb") as ref, gf.bgzf.open(path, threads=1) as ours:
        assert ours.tell() == ref.tell()
        seen = []
        for n in reads:
            seen.append(ours.tell())
            assert ours.read(n) == ref.read(n)
            assert ours.tell() == ref.tell()
        for v in seen:
            ref.seek(v)
            ours.seek(v)
            assert ours.read(200) == ref.read(200)
            assert ours.tell() == ref.tell()
