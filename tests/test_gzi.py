""".gzi indexes: byte-identical to htslib's, read back, and used to map uncompressed offsets.

htslib's rule: a little-endian uint64 count equal to (number of blocks holding data) - 1,
wrapping to 2**64 - 1 when there is no data at all, then one (coffset, uoffset) uint64 pair
for every data block except the first; empty blocks (the EOF marker, or the ones left in
the middle by concatenating files) are never listed.  The oracle is htslib itself through
``pysam.faidx`` on a bgzipped FASTA (it writes ``.fai`` and ``.gzi``) and pysam's
``BGZFile(..., index=)``; both were checked against ``bgzip -r`` when these tests were written.
"""
from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pysam
import pytest

import genomicframe as gf
from genomicframe.errors import (FormatError, GenomicFrameError, MissingIndexError,
                                 StaleIndexError)

EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def fasta_bytes(n: int = 300, seed: int = 5) -> bytes:
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        seq = "".join(rng.choice("ACGT") for _ in range(rng.randint(10, 1500)))
        out.append(f">seq{i} sample\n")
        out.extend(seq[j:j + 60] + "\n" for j in range(0, len(seq), 60))
    return "".join(out).encode()


def write_bgzf(path, data: bytes, block_size: int = 65280) -> None:
    with gf.bgzf.Writer(path, threads=1, block_size=block_size) as w:
        w.write(data)


def htslib_gzi(path) -> bytes:
    """.gzi that htslib builds for a bgzipped FASTA (via faidx)."""
    pysam.faidx(str(path))
    return open(f"{path}.gzi", "rb").read()


def expected_gzi(blocks: list[tuple[int, int]]) -> bytes:
    """The rule written out independently: ``blocks`` is [(coffset, usize), ...] in order."""
    pairs = []
    u = 0
    for c, size in blocks:
        if size:
            pairs.append((c, u))
        u += size
    out = struct.pack("<Q", (len(pairs) - 1) % 2**64)
    for c, uu in pairs[1:]:
        out += struct.pack("<QQ", c, uu)
    return out


# -- byte-identical to htslib -----------------------------------------------------------------
@pytest.mark.parametrize("block_size", [500, 4096, 65280])
def test_scan_gzi_equals_htslib(tmp_path, block_size):
    path = tmp_path / "a.fa.gz"
    write_bgzf(path, fasta_bytes(), block_size)
    table = gf.bgzf.scan_file(path)
    ours = gf.bgzf.gzi_bytes(table)
    assert ours == htslib_gzi(path)
    assert ours == expected_gzi(list(zip(table.coffset.tolist(), table.usize.tolist())))
    assert len(ours) == 8 + 16 * (int((table.usize > 0).sum()) - 1)


def test_htslib_written_file(tmp_path):
    """A file written by htslib (pysam.BGZFile with index=) gets the same .gzi from our scan."""
    path = tmp_path / "h.fa.gz"
    with pysam.BGZFile(str(path), "wb", index=str(tmp_path / "h.gzi")) as fh:
        fh.write(fasta_bytes(600))
    assert gf.bgzf.gzi_bytes(gf.bgzf.scan_file(path)) == (tmp_path / "h.gzi").read_bytes()


def test_concatenated_files_skip_empty_blocks(tmp_path):
    one = tmp_path / "one.fa.gz"
    two = tmp_path / "two.fa.gz"
    write_bgzf(one, fasta_bytes(100, seed=1), 3000)
    write_bgzf(two, fasta_bytes(100, seed=2), 2000)
    both = tmp_path / "both.fa.gz"
    # leading EOF marker, EOF markers in the middle and at the end
    both.write_bytes(EOF_BLOCK + one.read_bytes() + EOF_BLOCK + two.read_bytes())
    table = gf.bgzf.scan_file(both)
    assert int((table.usize == 0).sum()) == 4
    ours = gf.bgzf.gzi_bytes(table)
    assert ours == htslib_gzi(both)
    idx = gf.bgzf.GziIndex.from_blocks(table)
    assert ours == idx.to_bytes()


def test_single_block_file_has_zero_entries(tmp_path):
    path = tmp_path / "small.fa.gz"
    write_bgzf(path, b">a\nACGT\n")
    ours = gf.bgzf.gzi_bytes(gf.bgzf.scan_file(path))
    assert ours == b"\0" * 8 == htslib_gzi(path)


@pytest.mark.parametrize("data", [EOF_BLOCK, EOF_BLOCK * 3, b""], ids=["eof", "3eof", "empty"])
def test_no_data_gives_all_ones_count(tmp_path, data):
    """htslib writes count -1 as uint64 when no block holds data (bgzip -r does so here)."""
    path = tmp_path / "nothing.gz"
    path.write_bytes(data)
    blob = gf.bgzf.gzi_bytes(gf.bgzf.scan_file(path))
    assert blob == b"\xff" * 8
    gzi = tmp_path / "nothing.gz.gzi"
    gf.bgzf.write_gzi(gzi, gf.bgzf.scan_file(path))
    idx = gf.bgzf.read_gzi(gzi)
    assert idx.coffset.tolist() == [0] and idx.uoffset.tolist() == [0]


def test_golden_sample_fasta(real_data, tmp_path):
    src = real_data / "fasta" / "oxbow" / "sample.fasta.gz"
    golden = (real_data / "fasta" / "oxbow" / "sample.fasta.gz.gzi").read_bytes()
    assert gf.bgzf.gzi_bytes(gf.bgzf.scan_file(src)) == golden
    out = tmp_path / "sample.gzi"
    gf.bgzf.write_gzi(out, gf.bgzf.scan_file(src))
    assert out.read_bytes() == golden
    plain = (real_data / "fasta" / "oxbow" / "sample.fasta").read_bytes()
    assert gf.bgzf.open(src).read() == plain


DATA = Path(__file__).resolve().parent / "data"


def htslib_lines() -> bytes:
    """The text of the committed ``tests/data/bgzip_*`` files (see tests/data/README.md)."""
    out = []
    for i in range(6000):
        ref = "ACGT"[:1 + i % 4]
        out.append(f"chr{1 + i // 2000}\t{1000 + 37 * i}\trs{i}\t{ref}\tT\t{i % 60}\tPASS\t"
                   f"DP={i % 97};AF=0.{i % 10}\n")
    return "".join(out).encode()


@pytest.mark.parametrize("name,count", [("bgzip_htslib.tsv.gz", 4), ("bgzip_concat.tsv.gz", 5)])
def test_committed_bgzip_golden(tmp_path, name, count):
    """Files and .gzi written by htslib's bgzip (-i and -r): same index, same text."""
    path = DATA / name
    golden = (DATA / f"{name}.gzi").read_bytes()
    assert struct.unpack_from("<Q", golden)[0] == count
    table = gf.bgzf.scan_file(path)
    assert gf.bgzf.gzi_bytes(table) == golden
    assert gf.bgzf.read_gzi(DATA / f"{name}.gzi").to_bytes() == golden
    text = htslib_lines()
    assert hashlib.sha256(text).hexdigest() == \
        "a1c1b709f8dbcb16061b540b9f56b61c6a0a9d5cade47abd7114ee2b082e42a0"
    assert gf.bgzf.open(path).read() == text
    # our writer, same text, same block size: the same .gzi offsets in uncompressed space
    ours = tmp_path / "ours.gz"
    with gf.bgzf.Writer(ours, index=True, threads=2) as w:
        w.write(text)
    mine = gf.bgzf.read_gzi(f"{ours}.gzi")
    if name == "bgzip_htslib.tsv.gz":
        assert mine.uoffset.tolist() == gf.bgzf.read_gzi(DATA / f"{name}.gzi").uoffset.tolist()
    # seeking through the golden index reads the right bytes
    idx = gf.bgzf.read_gzi(DATA / f"{name}.gzi", data_path=None)
    with gf.bgzf.open(path) as fh:
        for u in (0, 65_279, 65_280, 131_000, 200_000, len(text) - 1):
            fh.seek_uncompressed(u, idx)
            assert fh.read(100) == text[u:u + 100]


def test_gzi_from_block_size_lists(tmp_path):
    path = tmp_path / "l.gz"
    with gf.bgzf.Writer(path, threads=1, block_size=100) as w:
        w.write(b"x" * 1050)
    csize, usize = w.block_sizes()
    assert gf.bgzf.gzi_bytes(csize=csize, usize=usize) == gf.bgzf.gzi_bytes(gf.bgzf.scan_file(path))
    gf.bgzf.write_gzi(tmp_path / "l.gzi", (csize, usize))
    assert (tmp_path / "l.gzi").read_bytes() == gf.bgzf.gzi_bytes(gf.bgzf.scan_file(path))


# -- reading .gzi ----------------------------------------------------------------------------
def test_read_htslib_gzi_and_locate(tmp_path):
    data = fasta_bytes()
    path = tmp_path / "r.fa.gz"
    write_bgzf(path, data, 1000)
    htslib_gzi(path)
    idx = gf.bgzf.read_gzi(f"{path}.gzi", data_path=path)
    table = gf.bgzf.scan_file(path)
    data_blocks = table.usize > 0
    assert idx.coffset.tolist() == table.coffset[data_blocks].tolist()
    assert idx.uoffset.tolist() == table.uoffset[data_blocks].tolist()
    offsets = np.array([0, 1, 999, 1000, 1001, 12345, len(data) - 1])
    assert np.array_equal(idx.virtual_offset(offsets), table.virtual_offset(offsets))
    c, within = idx.locate(offsets)
    assert within.tolist() == (offsets % 1000).tolist()
    # every offset, through the file object, against the plain bytes
    with gf.bgzf.open(path) as fh:
        for off in offsets.tolist():
            fh.seek_uncompressed(off, idx)
            assert fh.read(50) == data[off:off + 50]


def test_locate_vectorised_vs_scalar(tmp_path):
    path = tmp_path / "v.gz"
    write_bgzf(path, bytes(range(256)) * 100, 333)
    idx = gf.bgzf.GziIndex.from_blocks(gf.bgzf.scan_file(path))
    offs = np.arange(0, 25600, 37)
    vec = idx.virtual_offset(offs)
    for o, v in zip(offs.tolist(), vec.tolist()):
        assert int(idx.virtual_offset(o)) == v
        assert gf.bgzf.split_voffset(v) == (int(idx.locate(o)[0]), o % 333)


def test_missing_gzi(tmp_path):
    with pytest.raises(MissingIndexError) as info:
        gf.bgzf.read_gzi(tmp_path / "none.gz.gzi")
    assert isinstance(info.value, FileNotFoundError)
    assert "none.gz.gzi" in str(info.value) and "bgzip -r" in str(info.value)


@pytest.mark.parametrize("blob,match", [
    (b"\x01\x00", "too short"),
    (struct.pack("<Q", 2) + struct.pack("<QQ", 100, 65280), "2 entries"),
    (struct.pack("<Q", 1) + b"\0" * 15, "1 entries"),
    (struct.pack("<Q", 2) + struct.pack("<QQQQ", 100, 65280, 50, 130560), "not increasing"),
])
def test_malformed_gzi(tmp_path, blob, match):
    path = tmp_path / "bad.gzi"
    path.write_bytes(blob)
    with pytest.raises(FormatError, match=match) as info:
        gf.bgzf.read_gzi(path)
    assert isinstance(info.value, ValueError) and isinstance(info.value, GenomicFrameError)
    assert str(path) in str(info.value)


def test_stale_gzi(tmp_path):
    path = tmp_path / "s.gz"
    write_bgzf(path, b"y" * 300_000)
    gzi = tmp_path / "s.gz.gzi"
    gf.bgzf.write_gzi(gzi, gf.bgzf.scan_file(path))
    assert len(gf.bgzf.read_gzi(gzi, data_path=path).coffset) == 5
    # index older than its data file
    st = os.stat(path)
    os.utime(gzi, (st.st_atime, st.st_mtime - 100))
    with pytest.raises(StaleIndexError, match="older") as info:
        gf.bgzf.read_gzi(gzi, data_path=path)
    assert isinstance(info.value, ValueError)
    # index pointing past the end of a (shorter, newer) data file
    write_bgzf(path, b"y" * 10)
    os.utime(gzi, (st.st_atime, os.stat(path).st_mtime + 100))
    with pytest.raises(StaleIndexError, match="past the end"):
        gf.bgzf.read_gzi(gzi, data_path=path)


def test_write_gzi_replaces_atomically(tmp_path):
    path = tmp_path / "w.gz"
    write_bgzf(path, b"z" * 200_000)
    gzi = tmp_path / "w.gz.gzi"
    gzi.write_bytes(b"old")
    gf.bgzf.write_gzi(gzi, gf.bgzf.scan_file(path))
    assert gzi.read_bytes() == gf.bgzf.gzi_bytes(gf.bgzf.scan_file(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.gz", "w.gz.gzi"]
