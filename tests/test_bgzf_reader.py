"""BGZF reader: htslib-made files, block-edge stress, gzip/plain input, ranges, and bad input.

The same text (``conftest.make_text``) is re-compressed with tiny blocks so that lines,
reads and inflate groups straddle block boundaries, and is read back through every
entry point (``chunks``, ``blocks``, ``pieces``, the file object) serially and threaded.
Oracles: the original bytes, pysam (htslib) for files written by htslib, and stdlib
``gzip`` for plain gzip.
"""
from __future__ import annotations

import gzip
import io
import struct
import warnings
import zlib

import pysam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genomicframe as gf
from conftest import make_text
from genomicframe.errors import (CorruptBlockError, FormatError, GenomicFrameError,
                                 MissingEofMarkerWarning, NotBgzfError, TruncatedFileError,
                                 UnsupportedCompressionError)

EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
BLOCK_SIZES = [17, 100, 1000]


def bgzf_bytes(data: bytes, block_size: int = 65280, level: int = -1) -> bytes:
    buf = io.BytesIO()
    with gf.bgzf.Writer(buf, threads=1, block_size=block_size, level=level) as w:
        w.write(data)
    return buf.getvalue()


def read_chunks(path, **kw):
    with gf.bgzf.Reader(path, **kw) as r:
        return list(r.chunks())


def check_chunks(chunks, expected: bytes, start: int = 0) -> None:
    """Chunks end on newlines (but the last), concatenate to ``expected``, carry uoffsets."""
    u = start
    for i, c in enumerate(chunks):
        b = bytes(c)
        assert len(c) == len(b) > 0
        assert c.uoffset == u, f"chunk {i}"
        if i < len(chunks) - 1 or expected.endswith(b"\n"):
            assert b.endswith(b"\n"), f"chunk {i} does not end a line"
        u += len(b)
    assert b"".join(bytes(c) for c in chunks) == expected


@pytest.fixture(scope="module")
def text() -> bytes:
    return make_text()


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory, text):
    """``{block_size: path}``: the text re-compressed with tiny blocks."""
    d = tmp_path_factory.mktemp("tiny")
    out = {}
    for bs in BLOCK_SIZES:
        p = d / f"text.{bs}.gz"
        p.write_bytes(bgzf_bytes(text, bs))
        out[bs] = p
    return out


# -- files written by htslib -----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["wb"] + [f"wb{level}" for level in range(10)] + ["wu"])
def test_read_pysam_bgzfile(tmp_path, text, mode, threads):
    """htslib's default level (-1), every level 0-9, and 'wu' (htslib's uncompressed output)."""
    path = tmp_path / "h.gz"
    with pysam.BGZFile(str(path), mode) as fh:
        fh.write(text)
    with gf.bgzf.Reader(path, threads=threads) as r:
        assert r.compression == ("plain" if mode == "wu" else "bgzf")
        assert r.read_all() == text
    assert gf.bgzf.open(path, threads=threads).read() == text


def test_read_tabix_compress(tmp_path, text, threads):
    src = tmp_path / "plain.txt"
    src.write_bytes(text)
    dst = tmp_path / "plain.txt.gz"
    pysam.tabix_compress(str(src), str(dst))
    check_chunks(read_chunks(dst, threads=threads), text)
    with open(dst, "rb") as fh:
        table = gf.bgzf.scan_bytes(fh.read())
    assert table.has_eof_marker
    assert table.uncompressed_size == len(text)
    assert gf.bgzf.scan_file(dst).coffset.tolist() == table.coffset.tolist()


@pytest.mark.parametrize("name", ["bgzip_htslib.tsv.gz", "bgzip_concat.tsv.gz"])
def test_read_committed_bgzip_files(name, threads):
    """Golden files written by htslib's bgzip binary (tests/data/README.md)."""
    from pathlib import Path

    from test_gzi import htslib_lines

    path = Path(__file__).resolve().parent / "data" / name
    want = htslib_lines()
    with gf.bgzf.Reader(path, threads=threads, group_size=10_000) as r:
        check_chunks(list(r.chunks()), want)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # both have their EOF marker
        with gf.bgzf.Reader(path, threads=threads) as r:
            assert [len(d) for _, d in r.blocks()] == [
                int(u) for u in gf.bgzf.scan_file(path).usize if u]


def test_pysam_agrees_line_by_line(tiny_files, text):
    """htslib and us, same tiny-block file, every line."""
    path = tiny_files[100]
    with pysam.BGZFile(str(path), "rb") as ref, gf.bgzf.open(path) as ours:
        for want in text.splitlines():
            assert ref.readline() == want
            assert next(ours) == want + b"\n"
        assert ref.readline() == b"" and ours.readline() == b""


# -- block-edge stress: serial and threaded twins -------------------------------------------------
class _Stress:
    threads = 1

    @pytest.mark.parametrize("bs", BLOCK_SIZES)
    def test_chunks(self, tiny_files, text, bs):
        check_chunks(read_chunks(tiny_files[bs], threads=self.threads), text)

    @pytest.mark.parametrize("bs", BLOCK_SIZES)
    @pytest.mark.parametrize("group_size,read_size", [(1, 2000), (50, 300), (4096, 5000)])
    def test_chunks_small_groups_and_reads(self, tiny_files, text, bs, group_size, read_size):
        chunks = read_chunks(tiny_files[bs], threads=self.threads, group_size=group_size,
                             read_size=read_size)
        check_chunks(chunks, text)

    @pytest.mark.parametrize("read_size", [1, 29, 64])
    def test_read_size_below_block_size(self, tmp_path, text, read_size):
        """Reads smaller than a block grow until a whole block fits (no endless loop)."""
        path = tmp_path / "rs.gz"
        path.write_bytes(bgzf_bytes(text[:30_000], 1000))
        chunks = read_chunks(path, threads=self.threads, group_size=1, read_size=read_size)
        check_chunks(chunks, text[:30_000])

    @pytest.mark.parametrize("bs", BLOCK_SIZES)
    def test_blocks(self, tiny_files, text, bs):
        table = gf.bgzf.scan_file(tiny_files[bs])
        with gf.bgzf.Reader(tiny_files[bs], threads=self.threads, group_size=bs * 3) as r:
            blocks = list(r.blocks())
        data = table.usize > 0
        assert [c for c, _ in blocks] == table.coffset[data].tolist()
        assert [len(d) for _, d in blocks] == table.usize[data].tolist()
        assert all(len(d) == bs for _, d in blocks[:-1])
        assert b"".join(d for _, d in blocks) == text

    @pytest.mark.parametrize("bs", BLOCK_SIZES)
    def test_pieces(self, tiny_files, text, bs):
        with gf.bgzf.Reader(tiny_files[bs], threads=self.threads, group_size=5000) as r:
            pieces = list(r.pieces())
        u = 0
        for off, d in pieces:
            assert off == u and len(d) >= min(5000, len(text) - u)
            u += len(d)
        assert b"".join(d for _, d in pieces) == text

    @pytest.mark.parametrize("bs", BLOCK_SIZES)
    def test_file_iteration(self, tiny_files, text, bs):
        with gf.bgzf.BgzfFile(tiny_files[bs], threads=self.threads) as fh:
            assert list(fh) == text.splitlines(keepends=True)

    def test_no_final_newline(self, tmp_path, text):
        data = text[:-1] + b"tail without newline"
        path = tmp_path / "nofinal.gz"
        path.write_bytes(bgzf_bytes(data, 100))
        chunks = read_chunks(path, threads=self.threads, group_size=300)
        check_chunks(chunks, data)
        assert bytes(chunks[-1]).endswith(b"tail without newline")
        lines = list(gf.bgzf.BgzfFile(path, threads=self.threads))
        assert lines == data.splitlines(keepends=True)
        assert lines[-1].endswith(b"newline")

    def test_line_longer_than_many_blocks(self, tmp_path):
        data = b"short\n" + b"ACGT" * 50_000 + b"\n" + b"after\n" + b"G" * 30_000
        path = tmp_path / "long.gz"
        path.write_bytes(bgzf_bytes(data, 1000))
        for group_size in (1, 2000, 1 << 20):
            chunks = read_chunks(path, threads=self.threads, group_size=group_size)
            check_chunks(chunks, data)
        lines = list(gf.bgzf.BgzfFile(path, threads=self.threads))
        assert [len(x) for x in lines] == [6, 200_001, 6, 30_000]

    def test_empty_blocks_in_the_middle(self, tmp_path, text):
        parts = [text[:10_000], b"", text[10_000:10_013], text[10_013:]]
        raw = EOF_BLOCK + b"".join(bgzf_bytes(p, 100) for p in parts)
        path = tmp_path / "cat.gz"
        path.write_bytes(raw)
        table = gf.bgzf.scan_file(path)
        assert int((table.usize == 0).sum()) == 5
        check_chunks(read_chunks(path, threads=self.threads, group_size=250), text)
        with gf.bgzf.Reader(path, threads=self.threads) as r:
            assert all(d for _, d in r.blocks())
        assert list(gf.bgzf.BgzfFile(path, threads=self.threads)) == \
            text.splitlines(keepends=True)
        with pysam.BGZFile(str(path), "rb") as ref:
            assert ref.read() == text

    def test_start_end_ranges(self, tiny_files, text):
        path = tiny_files[1000]
        table = gf.bgzf.scan_file(path)
        n = len(table)
        for i, j in [(0, 1), (0, n), (1, 2), (3, 40), (n // 2, n - 1), (n - 2, n), (n - 1, n)]:
            start = int(table.coffset[i])
            end = int(table.coffset[j]) if j < n else None
            want = text[int(table.uoffset[i]):int(table.uoffset[j]) if j < n else None]
            with gf.bgzf.Reader(path, threads=self.threads, start=start, end=end,
                                uoffset=int(table.uoffset[i]), read_size=4096) as r:
                got = list(r.pieces())
            assert b"".join(d for _, d in got) == want, (i, j)
            if got:
                assert got[0][0] == table.uoffset[i]

    def test_end_inside_a_block_includes_it(self, tiny_files, text):
        path = tiny_files[1000]
        table = gf.bgzf.scan_file(path)
        end = int(table.coffset[5]) + 3
        with gf.bgzf.Reader(path, threads=self.threads, end=end) as r:
            assert r.read_all() == text[:6000]

    def test_big_blocks_with_range(self, tmp_path):
        """end= on a file of full 64 KiB blocks (the read stops inside a later block)."""
        import random

        data = random.Random(2).randbytes(700_000)
        path = tmp_path / "big.gz"
        path.write_bytes(bgzf_bytes(data))
        table = gf.bgzf.scan_file(path)
        for i, j in [(0, 2), (1, 3), (2, 9)]:
            with gf.bgzf.Reader(path, threads=self.threads, start=int(table.coffset[i]),
                                end=int(table.coffset[j])) as r:
                assert r.read_all() == data[65280 * i:65280 * j]

    def test_file_object_source(self, tiny_files, text):
        raw = tiny_files[100].read_bytes()
        with gf.bgzf.Reader(io.BytesIO(raw), threads=self.threads, read_size=777) as r:
            assert r.path == "<stream>"
            check_chunks(list(r.chunks()), text)
        with open(tiny_files[100], "rb") as fh, gf.bgzf.Reader(fh, threads=self.threads) as r:
            assert r.read_all() == text
            assert not fh.closed  # not ours to close

    def test_plain_gzip_multi_member(self, tmp_path, text):
        path = tmp_path / "multi.bgz"
        path.write_bytes(gzip.compress(text[:123_457]) + gzip.compress(text[123_457:]))
        with gf.bgzf.Reader(path, threads=self.threads, group_size=4000) as r:
            assert r.compression == "gzip"
            check_chunks(list(r.chunks()), text)
        with gf.bgzf.Reader(path, threads=self.threads) as r:
            assert all(c == -1 for c, _ in r.blocks())
        assert list(gf.bgzf.open(path, threads=self.threads)) == text.splitlines(keepends=True)

    def test_uncompressed(self, tmp_path, text):
        path = tmp_path / "plain.gz"  # the name says gzip; the bytes say otherwise
        path.write_bytes(text)
        with gf.bgzf.Reader(path, threads=self.threads, group_size=3000) as r:
            assert r.compression == "plain"
            check_chunks(list(r.chunks()), text)
        with gf.bgzf.Reader(io.BytesIO(text), threads=self.threads, group_size=3000) as r:
            assert r.compression == "plain"
            assert r.read_all() == text
        assert gf.bgzf.open(path).read() == text

    def test_bgzf_named_txt(self, tmp_path, text):
        path = tmp_path / "data.txt"
        path.write_bytes(bgzf_bytes(text, 1000))
        with gf.bgzf.Reader(path, threads=self.threads) as r:
            assert r.compression == "bgzf"
            assert r.read_all() == text


class TestSerial(_Stress):
    threads = 1


class TestThreaded(_Stress):
    threads = 2


def test_chunks_with_other_delimiters(tmp_path):
    data = b"".join(b"rec%d\r\n" % i for i in range(3000)) + b"end"
    path = tmp_path / "crlf.gz"
    path.write_bytes(bgzf_bytes(data, 37))
    for delim in (b"\r\n", b"\n", b"0"):
        with gf.bgzf.Reader(path, threads=1, group_size=100) as r:
            chunks = list(r.chunks(delim))
        assert b"".join(bytes(c) for c in chunks) == data
        assert all(bytes(c).endswith(delim) for c in chunks[:-1])
    with gf.bgzf.Reader(path, threads=1) as r:
        with pytest.raises(ValueError, match="delimiter"):
            next(r.chunks(b""))


def test_chunk_repr_and_uoffset_base(tiny_files, text):
    with gf.bgzf.Reader(tiny_files[1000], threads=1, uoffset=100) as r:
        first = next(r.chunks())
    assert first.uoffset == 100
    assert repr(first) == f"Chunk(uoffset=100, size={len(first)})"


def test_read_from_stdin(tiny_files, text):
    import subprocess
    import sys

    code = ("import sys, genomicframe as gf\n"
            "with gf.bgzf.Reader('-', threads=2) as r:\n"
            "    sys.stdout.buffer.write(r.read_all())\n")
    out = subprocess.run([sys.executable, "-c", code], input=tiny_files[100].read_bytes(),
                         capture_output=True, check=True)
    assert out.stdout == text


@pytest.mark.parametrize("kind", ["bgzf", "gzip", "plain"])
def test_reader_can_be_read_twice(tmp_path, text, kind):
    data = {"bgzf": bgzf_bytes(text, 1000), "gzip": gzip.compress(text), "plain": text}[kind]
    path = tmp_path / "twice"
    path.write_bytes(data)
    with gf.bgzf.Reader(path, threads=1, group_size=5000) as r:
        assert r.compression == kind
        assert r.read_all() == text
        assert b"".join(bytes(c) for c in r.chunks()) == text
        assert b"".join(d for _, d in r.blocks()) == text


def test_reader_close_is_idempotent(tiny_files):
    r = gf.bgzf.Reader(tiny_files[100], threads=1)
    r.close()
    r.close()


def test_threads_argument():
    assert gf.bgzf.resolve_threads(3) == 3
    assert gf.bgzf.resolve_threads(None) >= 1
    with pytest.raises(ValueError, match="threads"):
        gf.bgzf.resolve_threads(0)


# -- block tables ------------------------------------------------------------------------------
def test_scan_file_and_scan_bytes(tiny_files, text):
    raw = tiny_files[17].read_bytes()
    t1 = gf.bgzf.scan_file(tiny_files[17])
    t2 = gf.bgzf.scan_bytes(raw)
    for name in ("coffset", "csize", "usize", "uoffset"):
        assert getattr(t1, name).tolist() == getattr(t2, name).tolist()
    assert len(t1) == -(-len(text) // 17) + 1
    assert t1.uncompressed_size == len(text) and t1.compressed_end == len(raw)
    assert t1.has_eof_marker
    assert (t1.coffset[1:] == t1.coffset[:-1] + t1.csize[:-1]).all()
    # a sub-range of the file, starting on a block boundary
    part = gf.bgzf.scan_file(tiny_files[17], start=int(t1.coffset[10]), end=int(t1.coffset[20]))
    assert part.coffset.tolist() == t1.coffset[10:20].tolist()
    # an end inside a block keeps that block (as Reader(end=) does), and is not truncation
    for end in (int(t1.coffset[20]) + 1, int(t1.coffset[21]) - 1):
        part = gf.bgzf.scan_file(tiny_files[17], start=int(t1.coffset[10]), end=end)
        assert part.coffset.tolist() == t1.coffset[10:21].tolist()
    assert len(gf.bgzf.scan_file(tiny_files[17], end=len(raw) + 100)) == len(t1)
    # virtual offsets of uncompressed positions
    assert int(t1.virtual_offset(17 * 5 + 3)) == (int(t1.coffset[5]) << 16) | 3
    assert t1.block_for([0, 16, 17, len(text)]).tolist() == [0, 0, 1, len(t1) - 2]


def test_scan_bytes_from_pysam_file(tmp_path, text):
    path = tmp_path / "p.gz"
    with pysam.BGZFile(str(path), "wb") as fh:
        fh.write(text)
    table = gf.bgzf.scan_file(path)
    assert table.uncompressed_size == len(text)
    assert table.usize.tolist()[:-2] == [65280] * (len(table) - 2)


def test_voffset_helpers():
    assert gf.bgzf.make_voffset(5, 7) == (5 << 16) | 7
    assert gf.bgzf.split_voffset((5 << 16) | 7) == (5, 7)
    with pytest.raises(ValueError):
        gf.bgzf.make_voffset(5, 1 << 16)


def hand_block(data: bytes, before: bytes = b"", after: bytes = b"", flags: int = 4) -> bytes:
    """A BGZF block built by hand, with optional extra subfields around ``BC``."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    cdata = c.compress(data) + c.flush()
    bc = b"BC" + struct.pack("<H", 2) if flags & 4 else b""
    xlen = len(before) + (len(bc) + 2 if bc else 0) + len(after)
    total = 12 + xlen + len(cdata) + 8
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\x00\xff"
    if flags & 4:
        head += struct.pack("<H", xlen) + before + bc + struct.pack("<H", total - 1) + after
    return head + cdata + struct.pack("<II", zlib.crc32(data), len(data))


def test_extra_subfields_around_bc(tmp_path, threads):
    """The BGZF spec allows other extra subfields; BC need not come first."""
    raw = (hand_block(b"hello\n", before=b"XY\x03\x00abc") +
           hand_block(b"world\n", after=b"ZZ\x00\x00") + EOF_BLOCK)
    path = tmp_path / "extra.gz"
    path.write_bytes(raw)
    table = gf.bgzf.scan_file(path)
    assert table.csize.tolist() == [41, 38, 28]
    with gf.bgzf.Reader(path, threads=threads) as r:
        assert r.compression == "bgzf"
        assert r.read_all() == b"hello\nworld\n"
    with pysam.BGZFile(str(path), "rb") as ref:
        assert ref.read() == b"hello\nworld\n"


def test_gzip_member_without_bc_in_a_bgzf_file(tmp_path):
    """A BGZF file whose second member lacks BC cannot be mapped block by block."""
    first = hand_block(b"ok\n")
    plain = gzip.compress(b"not bgzf\n")
    path = tmp_path / "mixed.gz"
    path.write_bytes(first + plain + EOF_BLOCK)
    with pytest.raises(NotBgzfError) as info:
        gf.bgzf.scan_file(path)
    assert info.value.offset == len(first) and str(path) in str(info.value)
    with pytest.raises(NotBgzfError) as info:
        with gf.bgzf.Reader(path, threads=1) as r:
            r.read_all()
    assert info.value.offset == len(first)


# -- detection by magic bytes ----------------------------------------------------------------------
@pytest.mark.parametrize("head,kind", [
    (EOF_BLOCK, "bgzf"), (gzip.compress(b"x"), "gzip"), (b"ACGT\n", "plain"), (b"", "plain"),
    (b"\x1f\x8b\x08\x04", "bgzf"),  # a file cut inside its first BGZF header
])
def test_detect_compression(head, kind):
    assert gf.bgzf.detect_compression(head) == kind


# -- bad input ----------------------------------------------------------------------------------
@pytest.fixture()
def sample(tmp_path, text):
    """(path, raw bytes, block table) of a 1000-byte-block file."""
    raw = bgzf_bytes(text[:50_000], 1000)
    return tmp_path, raw, gf.bgzf.scan_bytes(raw)


def expect(exc_type, builtin, path, offset, *, threads=1, require_bgzf=False):
    """Read ``path`` with the Reader and the file object; both must raise the same error."""
    errors = []
    with pytest.raises(exc_type) as info:
        with gf.bgzf.Reader(path, threads=threads, require_bgzf=require_bgzf) as r:
            for _ in r.chunks():
                pass
    errors.append(info.value)
    if not require_bgzf:
        with pytest.raises(exc_type) as info:
            with gf.bgzf.open(path, threads=threads) as fh:
                fh.read()
        errors.append(info.value)
    for e in errors:
        assert isinstance(e, GenomicFrameError) and isinstance(e, builtin)
        assert e.path == str(path) and str(path) in str(e)
        assert e.offset == offset and f"byte offset {offset}" in str(e)
    return errors[0]


def test_truncated_mid_block(sample, threads):
    d, raw, table = sample
    cut = int(table.coffset[7]) + int(table.csize[7]) // 2
    path = d / "cut.gz"
    path.write_bytes(raw[:cut])
    e = expect(TruncatedFileError, EOFError, path, int(table.coffset[7]), threads=threads)
    assert "truncated" in str(e)
    with pytest.raises(TruncatedFileError):
        gf.bgzf.scan_file(path)


def test_bad_magic_mid_file(sample, threads):
    d, raw, table = sample
    at = int(table.coffset[12])
    bad = bytearray(raw)
    bad[at:at + 2] = b"PK"
    path = d / "magic.gz"
    path.write_bytes(bytes(bad))
    e = expect(CorruptBlockError, ValueError, path, at, threads=threads)
    assert "magic" in str(e)
    with pytest.raises(CorruptBlockError) as info:
        gf.bgzf.scan_file(path)
    assert info.value.offset == at


def test_corrupt_deflate_data(sample, threads):
    d, raw, table = sample
    at = int(table.coffset[3])
    bad = bytearray(raw)
    for k in range(18, 30):
        bad[at + k] ^= 0x5A
    path = d / "deflate.gz"
    path.write_bytes(bytes(bad))
    e = expect(CorruptBlockError, ValueError, path, at, threads=threads)
    assert "deflate" in str(e) or "CRC32" in str(e)


def test_crc_mismatch(sample, threads):
    d, raw, table = sample
    at = int(table.coffset[4])
    end = at + int(table.csize[4])
    bad = bytearray(raw)
    crc = struct.unpack_from("<I", bad, end - 8)[0]
    struct.pack_into("<I", bad, end - 8, crc ^ 1)
    path = d / "crc.gz"
    path.write_bytes(bytes(bad))
    e = expect(CorruptBlockError, ValueError, path, at, threads=threads)
    assert "CRC32" in str(e)


@pytest.mark.parametrize("delta", [-1, 1])
def test_isize_mismatch(sample, threads, delta):
    d, raw, table = sample
    at = int(table.coffset[5])
    end = at + int(table.csize[5])
    bad = bytearray(raw)
    struct.pack_into("<I", bad, end - 4, 1000 + delta)
    path = d / "isize.gz"
    path.write_bytes(bytes(bad))
    e = expect(CorruptBlockError, ValueError, path, at, threads=threads)
    assert "ISIZE" in str(e)


def test_bsize_that_swallows_the_next_block(tmp_path, threads):
    """BSIZE enlarged to cover the next block too: htslib's CRC32 check at the end of the
    block as BSIZE places it catches this, even when every block has the same ISIZE."""
    data = b"".join(b"line %06d\n" % i for i in range(2000))
    raw = bytearray(bgzf_bytes(data, 500))  # every block holds exactly 500 bytes
    table = gf.bgzf.scan_bytes(bytes(raw))
    at = int(table.coffset[3])
    struct.pack_into("<H", raw, at + 16, int(table.csize[3] + table.csize[4]) - 1)
    path = tmp_path / "swallow.gz"
    path.write_bytes(bytes(raw))
    assert len(gf.bgzf.scan_file(path)) == len(table) - 1  # the headers look consistent
    e = expect(CorruptBlockError, ValueError, path, at, threads=threads)
    assert "CRC32" in str(e)


def test_isize_too_large_for_a_block(sample):
    d, raw, table = sample
    at = int(table.coffset[2])
    end = at + int(table.csize[2])
    bad = bytearray(raw)
    struct.pack_into("<I", bad, end - 4, 70_000)
    path = d / "huge.gz"
    path.write_bytes(bytes(bad))
    expect(CorruptBlockError, ValueError, path, at)


def test_bsize_too_small(sample):
    d, raw, table = sample
    at = int(table.coffset[6])
    bad = bytearray(raw)
    struct.pack_into("<H", bad, at + 16, 10)
    path = d / "bsize.gz"
    path.write_bytes(bytes(bad))
    expect(CorruptBlockError, ValueError, path, at)


def test_missing_eof_marker_warns_and_reads(sample, threads, text):
    d, raw, table = sample
    path = d / "noeof.gz"
    path.write_bytes(raw[:-28])
    with pytest.warns(MissingEofMarkerWarning, match="noeof.gz"):
        with gf.bgzf.Reader(path, threads=threads) as r:
            check_chunks(list(r.chunks()), text[:50_000])
    with pytest.warns(MissingEofMarkerWarning):
        assert gf.bgzf.open(path, threads=threads).read() == text[:50_000]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with gf.bgzf.Reader(path, threads=threads, check_eof=False) as r:
            r.read_all()
        with gf.bgzf.Reader(path, end=int(table.coffset[10])) as r:  # a range: no check
            r.read_all()
    ok = d / "ok.gz"  # the same blocks with the marker: no warning
    ok.write_bytes(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with gf.bgzf.Reader(ok, threads=threads) as r:
            r.read_all()


def test_empty_file_where_bgzf_is_required(tmp_path):
    path = tmp_path / "empty.gz"
    path.write_bytes(b"")
    e = expect(FormatError, ValueError, path, 0, require_bgzf=True)
    assert "empty" in str(e)
    # without the requirement an empty file is simply empty
    assert gf.bgzf.open(path).read() == b""


def test_plain_gzip_where_bgzf_is_required(tmp_path, text):
    path = tmp_path / "plain.vcf.gz"
    path.write_bytes(gzip.compress(text[:5000]))
    e = expect(NotBgzfError, ValueError, path, 0, require_bgzf=True)
    assert "genomicframe bgzip" in str(e)
    with pytest.raises(NotBgzfError, match="genomicframe bgzip") as info:
        gf.bgzf.scan_file(path)
    assert info.value.offset == 0 and str(path) in str(info.value)
    with pytest.raises(NotBgzfError, match="start"):
        gf.bgzf.Reader(path, start=100)


def test_uncompressed_where_bgzf_is_required(tmp_path, text):
    path = tmp_path / "plain.txt"
    path.write_bytes(text[:5000])
    e = expect(NotBgzfError, ValueError, path, 0, require_bgzf=True)
    assert "genomicframe bgzip" in str(e)
    with pytest.raises(NotBgzfError, match="genomicframe bgzip"):
        gf.bgzf.scan_file(path)


@pytest.mark.parametrize("codec", ["bz2", "lzma", "zstd"])
def test_unsupported_compression(tmp_path, text, codec):
    if codec == "bz2":
        import bz2

        blob = bz2.compress(text[:1000])
    elif codec == "lzma":
        import lzma

        blob = lzma.compress(text[:1000])
    else:  # a zstd frame header (magic, descriptor) is enough to be recognised
        blob = b"\x28\xb5\x2f\xfd\x04\x58" + text[:100]
    path = tmp_path / "data.gz"
    path.write_bytes(blob)
    for require in (False, True):
        e = expect(UnsupportedCompressionError, ValueError, path, 0, require_bgzf=require)
        assert "genomicframe bgzip" in str(e)
    with pytest.raises(UnsupportedCompressionError):
        gf.bgzf.scan_file(path)


def test_corrupt_plain_gzip(tmp_path, text):
    raw = bytearray(gzip.compress(text[:20_000]))
    path = tmp_path / "cut.gz"
    path.write_bytes(bytes(raw[:len(raw) // 2]))
    with pytest.raises(TruncatedFileError) as info:
        gf.bgzf.open(path).read()
    assert str(path) in str(info.value) and info.value.offset is not None
    raw[len(raw) // 2] ^= 0xFF
    raw[len(raw) // 2 + 1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(FormatError) as info:
        gf.bgzf.open(path).read()
    assert str(path) in str(info.value)


def test_gzip_crc_error_detected(tmp_path, text):
    raw = bytearray(gzip.compress(text[:20_000]))
    struct.pack_into("<I", raw, len(raw) - 8, zlib.crc32(b"other"))
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptBlockError) as info:
        gf.bgzf.open(path).read()
    assert isinstance(info.value, ValueError) and str(path) in str(info.value)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_cut_points(tmp_path_factory, data):
    """Any prefix of a valid file: the data before the cut or TruncatedFileError, nothing else."""
    payload = data.draw(st.binary(min_size=0, max_size=3000), label="payload")
    block_size = data.draw(st.integers(1, 800), label="block_size")
    raw = bgzf_bytes(payload, block_size)
    cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
    table = gf.bgzf.scan_bytes(raw)
    bounds = table.coffset.tolist()
    path = tmp_path_factory.mktemp("cut") / "cut.gz"
    path.write_bytes(raw[:cut])
    threads = data.draw(st.sampled_from([1, 2]), label="threads")
    if cut in bounds:  # cut between blocks: every block before it is whole
        k = bounds.index(cut)
        want = payload[:int(table.uoffset[k])] if k < len(table) else payload
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingEofMarkerWarning)
            with gf.bgzf.Reader(path, threads=threads) as r:
                got = r.read_all()
        assert got == want
        return
    start = max(c for c in bounds if c < cut)
    with pytest.raises(TruncatedFileError) as info:
        with gf.bgzf.Reader(path, threads=threads) as r:
            r.read_all()
    assert info.value.offset == start
    with pytest.raises(TruncatedFileError):
        gf.bgzf.scan_file(path)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_blocks_never_give_wrong_data(tmp_path_factory, data):
    """Byte changes in any block but the first: the exact text, or a GenomicFrameError."""
    payload = make_text(120, seed=data.draw(st.integers(0, 50), label="seed"))
    raw = bytearray(bgzf_bytes(payload, data.draw(st.integers(50, 700), label="block_size")))
    table = gf.bgzf.scan_bytes(bytes(raw))
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        k = data.draw(st.integers(1, len(table) - 1), label="block")
        start, size = int(table.coffset[k]), int(table.csize[k])
        where = data.draw(st.sampled_from(["header", "trailer", "anywhere"]), label="where")
        lo, hi = {"header": (0, 18), "trailer": (size - 8, size), "anywhere": (0, size)}[where]
        i = start + data.draw(st.integers(lo, hi - 1), label="offset")
        raw[i] = data.draw(st.integers(0, 255), label="value")
    path = tmp_path_factory.mktemp("dmg") / "d.gz"
    path.write_bytes(bytes(raw))
    threads = data.draw(st.sampled_from([1, 2]), label="threads")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingEofMarkerWarning)
        try:
            with gf.bgzf.Reader(path, threads=threads) as r:
                got = r.read_all()
        except GenomicFrameError as exc:
            assert exc.path == str(path) and exc.offset is not None
        else:
            assert got == payload
