"""Whole-line chunks of text fragments (genomicframe.formats.text).

The oracle is the inflated file itself: any set of split points must give
fragments whose concatenation is the file, and index chunks must give exactly
the lines that start inside them.
"""
from __future__ import annotations

import gzip
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genomicframe as gf
from genomicframe.errors import NotBgzfError
from genomicframe.formats.base import FragmentSpec
from genomicframe.formats.text import (iter_fragment_chunks, merge_voffset_ranges,
                                       read_header_lines, split_byte_ranges)

from conftest import make_text

FIXTURE_OK = [HealthCheck.function_scoped_fixture]  # module-scoped files, reused by every example
HEADER = b"".join(b"##meta=%d%s\n" % (i, b"x" * (i * 37 % 300)) for i in range(400)) + \
    b"#CHROM\tPOS\n"


def write_bgzf(path, data: bytes, block_size: int) -> str:
    with gf.bgzf.Writer(path, block_size=block_size, threads=1) as w:
        w.write(data)
    return str(path)


BODY = make_text(3000, seed=7)


@pytest.fixture(scope="module")
def body() -> bytes:
    return BODY


@pytest.fixture(scope="module")
def files(tmp_path_factory, body):
    d = tmp_path_factory.mktemp("text")
    out = {
        "bgzf_small": write_bgzf(d / "small.txt.gz", body, 997),
        "bgzf_tiny": write_bgzf(d / "tiny.txt.gz", body, 13),
        "bgzf_big": write_bgzf(d / "big.txt.gz", body, gf.bgzf.MAX_BLOCK_DATA),
        "plain": str(d / "plain.txt"),
        "gzip": str(d / "plain.txt.gz.gz"),
    }
    (d / "plain.txt").write_bytes(body)
    with gzip.open(out["gzip"], "wb") as f:
        f.write(body)
    return out


def read(spec, **kw) -> bytes:
    return b"".join(bytes(c.data) for c in iter_fragment_chunks(spec, **kw))


def spec(path, compression="bgzf", **kw) -> FragmentSpec:
    return FragmentSpec(path, "text", compression, **kw)


def check_whole_lines(chunks, last_may_be_partial=True):
    for i, c in enumerate(chunks):
        assert len(c.data) > 0
        if i < len(chunks) - 1 or not last_may_be_partial:
            assert bytes(c.data[-1:]) == b"\n"


@pytest.mark.parametrize("kind", ["bgzf_small", "bgzf_tiny", "bgzf_big", "plain", "gzip"])
def test_whole_file_lines_offsets(files, body, kind, threads):
    chunks = list(iter_fragment_chunks(spec(files[kind]), threads=threads, group_size=4096,
                                       count_lines=True))
    check_whole_lines(chunks)
    plain = list(iter_fragment_chunks(spec(files[kind]), threads=threads, group_size=4096))
    assert [c.line for c in plain] == [1] + [None] * (len(plain) - 1)
    assert b"".join(bytes(c.data) for c in chunks) == body
    for c in chunks:
        assert body[c.uoffset:c.uoffset + len(c.data)] == bytes(c.data)
        assert c.line == body[:c.uoffset].count(b"\n") + 1
    if kind.startswith("bgzf"):
        table = gf.bgzf.scan_file(files[kind])
        want = table.virtual_offset([c.uoffset for c in chunks]).tolist()
        assert [c.voffset for c in chunks] == want
    else:
        assert all(c.voffset is None for c in chunks)


def test_last_line_without_newline(tmp_path, threads):
    data = b"a\tb\n" * 5000 + b"last\tline"
    path = write_bgzf(tmp_path / "x.gz", data, 1000)
    chunks = list(iter_fragment_chunks(spec(path), threads=threads, group_size=3000))
    assert bytes(chunks[-1].data).endswith(b"last\tline")
    assert b"".join(bytes(c.data) for c in chunks) == data
    ranges = split_byte_ranges(path, 2500)
    assert b"".join(read(spec(path, byte_range=r)) for r in ranges) == data


def test_empty_and_newline_only_files(tmp_path):
    empty = write_bgzf(tmp_path / "e.gz", b"", 100)
    assert list(iter_fragment_chunks(spec(empty))) == []
    assert split_byte_ranges(empty, 10) == [(0, len(gf.bgzf.EOF_MARKER))]
    nl = write_bgzf(tmp_path / "n.gz", b"\n" * 50, 7)
    ranges = split_byte_ranges(nl, 30)
    assert len(ranges) > 1
    assert b"".join(read(spec(nl, byte_range=r)) for r in ranges) == b"\n" * 50


def _bgzf_cut_points(path, k, rnd):
    table = gf.bgzf.scan_file(path)
    starts = table.coffset[table.usize > 0].tolist()
    return sorted(rnd.sample(starts[1:], min(k, len(starts) - 1)))


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(0, 12),
       kind=st.sampled_from(["bgzf_small", "bgzf_tiny"]))
def test_any_block_split_partitions_lines(files, seed, k, kind):
    body = BODY
    path = files[kind]
    cuts = _bgzf_cut_points(path, k, random.Random(seed))
    size = len(open(path, "rb").read())
    bounds = [0] + cuts + [size]
    parts = [read(spec(path, byte_range=(a, b)), threads=1, group_size=2048)
             for a, b in zip(bounds[:-1], bounds[1:])]
    assert b"".join(parts) == body
    for p in parts:
        assert p == b"" or p.endswith(b"\n")


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(cuts=st.lists(st.integers(1, 10**6), max_size=15))
def test_any_byte_split_partitions_plain_lines(files, cuts):
    body = BODY
    cuts = sorted({c % len(body) for c in cuts} - {0})
    bounds = [0] + cuts + [len(body)]
    parts = [read(spec(files["plain"], "plain", byte_range=(a, b)), group_size=1000)
             for a, b in zip(bounds[:-1], bounds[1:])]
    assert b"".join(parts) == body


def test_range_chunk_offsets(files, body):
    path = files["bgzf_small"]
    table = gf.bgzf.scan_file(path)
    for a, b in split_byte_ranges(path, 20000):
        for c in iter_fragment_chunks(spec(path, byte_range=(a, b)), group_size=3000,
                                      count_lines=True):
            coff, within = c.voffset >> 16, c.voffset & 0xFFFF
            i = int(np.searchsorted(table.coffset, coff))
            u = int(table.uoffset[i]) + within
            assert body[u:u + len(c.data)] == bytes(c.data)
            if a == 0:
                assert c.uoffset == u and c.line == body[:u].count(b"\n") + 1
            else:
                assert c.uoffset is None and c.line is None


@pytest.mark.parametrize("kind,target", [("bgzf_small", 5000), ("bgzf_big", 10**4), ("plain", 7777),
                                         ("gzip", 100)])
def test_split_byte_ranges_cover_file(files, body, kind, target, threads):
    path = files[kind]
    ranges = split_byte_ranges(path, target)
    size = len(open(path, "rb").read())
    assert ranges[0][0] == 0 and ranges[-1][1] == size
    assert all(a < b for a, b in ranges)
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    if kind == "gzip":
        assert ranges == [(0, size)]
    else:
        assert len(ranges) > 2
    comp = {"plain": "plain", "gzip": "gzip"}.get(kind, "bgzf")
    assert b"".join(read(spec(path, comp, byte_range=r), threads=threads) for r in ranges) == body


def test_gzip_cannot_be_split(files):
    with pytest.raises(NotBgzfError, match="cannot be split"):
        iter_fragment_chunks(spec(files["gzip"], "gzip", byte_range=(10, 20)))
    with pytest.raises(NotBgzfError, match="BGZF"):
        iter_fragment_chunks(spec(files["plain"], "plain", voffset_ranges=((0, 10),)))


# -- virtual-offset chunks -----------------------------------------------------------------

def line_starts(body: bytes) -> np.ndarray:
    arr = np.frombuffer(body, dtype=np.uint8)
    return np.concatenate([[0], np.flatnonzero(arr == 10) + 1])[:-1] if body.endswith(b"\n") else \
        np.concatenate([[0], np.flatnonzero(arr == 10) + 1])


def test_merge_voffset_ranges():
    assert merge_voffset_ranges([]) == []
    assert merge_voffset_ranges([(5, 9), (1, 3), (3, 4), (8, 12), (20, 20)]) == [(1, 4), (5, 12)]


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8),
       kind=st.sampled_from(["bgzf_small", "bgzf_tiny", "bgzf_big"]))
def test_voffset_ranges_give_exact_lines(files, seed, n, kind):
    body = BODY
    path = files[kind]
    table = gf.bgzf.scan_file(path)
    starts = line_starts(body)
    rnd = random.Random(seed)
    picks = []
    for _ in range(n):
        i = rnd.randrange(len(starts))
        j = min(len(starts), i + rnd.choice([1, 2, 5, 50, 400]))
        picks.append((i, j))
    bounds = np.append(starts, len(body))
    ranges = []
    for i, j in picks:
        ub, ue = int(bounds[i]), int(bounds[j])
        vb = int(table.virtual_offset(ub))
        # the end of the last line: htslib points at the next line's start
        ve = int(table.virtual_offset(ue)) if ue < len(body) else int(table.compressed_end) << 16
        ranges.append((vb, ve))
    rows = set()
    for i, j in picks:
        rows.update(range(i, j))
    want = b"".join(body[bounds[r]:bounds[r + 1]] for r in sorted(rows))
    counters = {}
    chunks = list(iter_fragment_chunks(spec(path, voffset_ranges=tuple(ranges)),
                                       threads=1, group_size=3000, counters=counters))
    assert b"".join(bytes(c.data) for c in chunks) == want
    for c in chunks:
        assert bytes(c.data).endswith(b"\n")
        coff, within = c.voffset >> 16, c.voffset & 0xFFFF
        u = int(table.uoffset[int(np.searchsorted(table.coffset, coff))]) + within
        first = bytes(c.data[:bytes(c.data).index(b"\n") + 1])  # chunks may join several ranges
        assert body[u:u + len(first)] == first
    # each needed block is inflated once
    needed = set()
    for vb, ve in merge_voffset_ranges(ranges):
        lo = int(np.searchsorted(table.coffset, vb >> 16))
        hi = int(np.searchsorted(table.coffset, ve >> 16)) + (1 if ve & 0xFFFF else 0)
        needed.update(k for k in range(lo, hi) if table.usize[k] > 0)
    assert counters["blocks_inflated"] == len(needed)


def test_voffset_range_ending_mid_line_reads_through_newline(files, body):
    path = files["bgzf_tiny"]
    table = gf.bgzf.scan_file(path)
    starts = line_starts(body)
    u0, u1 = int(starts[10]), int(starts[12])
    mid = u1 + 3  # inside line 12
    got = read(spec(path, voffset_ranges=((int(table.virtual_offset(u0)),
                                           int(table.virtual_offset(mid))),)))
    assert got == body[u0:int(starts[13])]


def test_voffset_threads_match_serial(files, body):
    path = files["bgzf_small"]
    table = gf.bgzf.scan_file(path)
    ve = int(table.compressed_end) << 16
    whole = read(spec(path, voffset_ranges=((0, ve),)), threads=2)
    assert whole == body


# -- header ----------------------------------------------------------------------------------

@pytest.mark.parametrize("block_size", [7, 500, gf.bgzf.MAX_BLOCK_DATA])
def test_read_header_lines_bgzf(tmp_path, block_size):
    data = HEADER + b"chr1\t1\n#not header\nchr1\t2\n"
    path = write_bgzf(tmp_path / "h.gz", data, block_size)
    h = read_header_lines(path)
    assert h.text == HEADER and h.uoffset == len(HEADER)
    assert h.lines == HEADER.count(b"\n")
    table = gf.bgzf.scan_file(path)
    coff, within = h.voffset >> 16, h.voffset & 0xFFFF
    i = int(np.searchsorted(table.coffset, coff))
    assert int(table.uoffset[i]) + within == len(HEADER)
    assert within < table.usize[i]
    rest = read(spec(path, voffset_ranges=((h.voffset, int(table.compressed_end) << 16),)))
    assert rest == data[len(HEADER):]


def test_read_header_lines_edge_cases(tmp_path):
    only = write_bgzf(tmp_path / "only.gz", HEADER, 1000)
    h = read_header_lines(only)
    assert h.text == HEADER and h.uoffset == len(HEADER)
    no_nl = write_bgzf(tmp_path / "nonl.gz", b"#a\n#b", 2)
    assert read_header_lines(no_nl)[:3] == (b"#a\n#b", 2, 5)
    none = write_bgzf(tmp_path / "none.gz", b"x\n#a\n", 100)
    h = read_header_lines(none)
    assert (h.text, h.lines, h.uoffset, h.voffset) == (b"", 0, 0, 0)
    empty = write_bgzf(tmp_path / "empty.gz", b"", 100)
    assert read_header_lines(empty)[:3] == (b"", 0, 0)
    plain = tmp_path / "p.txt"
    plain.write_bytes(b"##x\n##y\nrow\n")
    assert read_header_lines(plain) == (b"##x\n##y\n", 2, 8, None)
    assert read_header_lines(plain, prefix=b"##y")[:3] == (b"", 0, 0)
    gz = tmp_path / "p.txt.gz"
    gz.write_bytes(gzip.compress(b"#h\n" * 30000 + b"data\n"))
    h = read_header_lines(gz)
    assert h.uoffset == 90000 and h.lines == 30000 and h.voffset is None
