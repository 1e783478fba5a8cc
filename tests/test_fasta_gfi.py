"""The ``.gfi`` name index holds hashes, not names: every name is checked against
its record's header line in the data.

* a hash that matches a record of another name (a collision) never returns that
  record, in a batch fetch, ``in``, ``length`` or ``record_spans``;
* two keys with the same hash: the one whose header line matches is found;
* names after spaces on the header line, or after more spaces than a fetch
  reads ahead, are found;
* an index written by an older version of the format is rebuilt on open.
"""
from __future__ import annotations

import random
import struct

import pytest

import genomicframe as gf
from genomicframe.errors import FormatError, MissingRecordWarning, RecordNotFoundError
from genomicframe.fasta import build_index
from genomicframe.fasta import gfi as G

pysam = pytest.importorskip("pysam")

AA = "ACDEFGHIKLMNPQRSTVWY"


def _fasta(n, *, seed=3, wrap=50, lead=""):
    rng = random.Random(seed)
    names, out = [], []
    for i in range(n):
        name = f"r{i}_{rng.getrandbits(40):010x}"
        seq = "".join(rng.choice(AA) for _ in range(rng.randint(20, 300)))
        names.append(name)
        out.append(f">{lead}{name} d{i}\n"
                   + "".join(seq[j:j + wrap] + "\n" for j in range(0, len(seq), wrap)))
    return names, "".join(out).encode()


def _write(tmp_path, data, bgzf):
    path = tmp_path / ("t.fa.gz" if bgzf else "t.fa")
    if bgzf:
        import io

        buf = io.BytesIO()
        with gf.bgzf.Writer(buf, block_size=1500, threads=1) as w:
            w.write(data)
        path.write_bytes(buf.getvalue())
    else:
        path.write_bytes(data)
    build_index(path)
    return path


def _hash(name: bytes) -> int:
    from genomicframe._parsers import fastaidx as K

    return K.name_hash(name)


class _Table:
    """The slots of a .gfi, to change in place (as a damaged or colliding index)."""

    def __init__(self, path):
        self.path = str(path) + ".gfi"
        self.raw = bytearray(open(self.path, "rb").read())
        self.h = G.GfiHeader(bytes(self.raw[:G.HEADER.size]), self.path)

    def hash(self, s):
        return struct.unpack_from("<Q", self.raw, self.h.offsets[0] + 32 * s)[0]

    def set_hash(self, s, h):
        struct.pack_into("<Q", self.raw, self.h.offsets[0] + 32 * s, h)

    def copy_slot(self, src, dst):
        o = self.h.offsets[0]
        self.raw[o + 32 * dst:o + 32 * dst + 32] = self.raw[o + 32 * src:o + 32 * src + 32]
        e = self.h.offsets[1]
        self.raw[e + 8 * dst:e + 8 * dst + 8] = self.raw[e + 8 * src:e + 8 * src + 8]

    def home(self, h):
        return (h * self.h.n_home) >> 64

    def probe(self, h):
        """The slot a lookup of hash ``h`` stops at."""
        p = self.home(h)
        while p < self.h.n_slots and self.hash(p) and self.hash(p) < h:
            p += 1
        return p

    def save(self):
        with open(self.path, "wb") as fh:
            fh.write(self.raw)


@pytest.mark.parametrize("bgzf", [False, True], ids=["plain", "bgzf"])
def test_hash_of_an_absent_name_on_another_record_is_not_a_match(tmp_path, bgzf):
    names, data = _fasta(300)
    path = _write(tmp_path, data, bgzf)
    t = _Table(path)
    h = _hash(b"bogus")
    p = t.probe(h)
    if p < t.h.n_slots and t.hash(p):
        t.set_hash(p, h)  # the record there now seems to be called "bogus"
    else:
        other = next(s for s in range(t.h.n_slots) if t.hash(s))
        t.copy_slot(other, p)
        t.set_hash(p, h)
    t.save()
    ref = pysam.FastaFile(str(path))
    with gf.FastaFile(path) as fa:
        assert fa._lookup([b"bogus"])[0][0] == p  # the table offers the candidate...
        assert "bogus" not in fa  # ...which its header line refutes
        with pytest.raises(RecordNotFoundError, match="bogus"):
            fa.length("bogus")
        with pytest.raises(RecordNotFoundError, match="bogus"):
            fa.fetch("bogus")
        with pytest.raises(RecordNotFoundError, match="bogus"):
            fa.fetch_many(["bogus", names[0]])
        keep = [n for n in names[:40] if n in fa]  # the record whose hash was changed is lost
        assert len(keep) >= 39
        t2 = fa.fetch_many(keep[:20] + ["bogus"] + keep[20:], missing="skip")
        assert t2.column("name").to_pylist() == keep
        assert t2.column("sequence").to_pylist() == [ref.fetch(n) for n in keep]
        with pytest.warns(MissingRecordWarning, match="bogus"):
            fa.fetch_many(["bogus:1-5", keep[0]], missing="warn")
        got, _, _ = fa.record_spans(["bogus", keep[1]], missing="skip")
        assert got == [keep[1]]


@pytest.mark.parametrize("bgzf", [False, True], ids=["plain", "bgzf"])
def test_two_keys_with_one_hash_the_header_line_decides(tmp_path, bgzf):
    names, data = _fasta(600, seed=8)
    path = _write(tmp_path, data, bgzf)
    t = _Table(path)
    with gf.FastaFile(path) as fa:
        name_at = {fa._view.file_slot(i): n for i, n in enumerate(names)}
    # a key sitting past its home, right after another key: give the one before it the
    # same hash, so a lookup meets that one first
    s = next(s for s in range(1, t.h.n_slots)
             if t.hash(s) and t.hash(s - 1) and t.home(t.hash(s)) <= s - 1)
    t.set_hash(s - 1, t.hash(s))
    t.save()
    ref = pysam.FastaFile(str(path))
    want, first = name_at[s], name_at[s - 1]
    with gf.FastaFile(path) as fa:
        assert fa._lookup([want])[0][0] == s - 1
        assert want in fa and first not in fa
        assert fa.length(want) == ref.get_reference_length(want)
        assert fa.fetch(want) == ref.fetch(want)
        assert fa.fetch(want, 3, 9) == ref.fetch(want, 3, 9)
        batch = [names[0], want, f"{want}:2-7", names[5], want]
        tab = fa.fetch_many(batch)
        assert tab.column("name").to_pylist() == [names[0], want, want, names[5], want]
        assert tab.column("sequence").to_pylist() == [
            ref.fetch(names[0]), ref.fetch(want), ref.fetch(want, 1, 7), ref.fetch(names[5]),
            ref.fetch(want)]
        assert fa.last_fetch_stats.requests == len(batch)
        got, offs, sizes = fa.record_spans([want])
        assert got == [want] and data[offs[0]:offs[0] + sizes[0]].startswith(f">{want} ".encode())


@pytest.mark.parametrize("lead", [" ", "\t \t", " " * 200], ids=["space", "tabs", "long"])
def test_names_after_spaces_on_the_header_line(tmp_path, lead):
    names, data = _fasta(50, seed=2, lead=lead)
    path = _write(tmp_path, data, True)
    ref = pysam.FastaFile(str(path))
    with gf.FastaFile(path) as fa:
        assert fa.name(7) == names[7]
        tab = fa.fetch_many(names[::3])
        assert tab.column("sequence").to_pylist() == [ref.fetch(n) for n in names[::3]]
        assert names[4] in fa


def test_index_of_an_older_format_is_rebuilt(tmp_path):
    names, data = _fasta(30)
    path = _write(tmp_path, data, True)
    gfi = str(path) + ".gfi"
    raw = bytearray(open(gfi, "rb").read())
    struct.pack_into("<I", raw, 8, 2)  # as version 2 wrote it
    open(gfi, "wb").write(raw)
    assert G.outdated(gfi)
    with pytest.raises(FormatError, match="version 2"):
        gf.FastaFile(path, build=False)
    with gf.FastaFile(path) as fa:
        assert fa.fetch(names[3]) == pysam.FastaFile(str(path)).fetch(names[3])
    assert not G.outdated(gfi)


def test_lookup_takes_str_and_bytes_and_surrogates(tmp_path):
    raw_name = b"s\xff\xfe_1"
    data = b">" + raw_name + b" x\nMKV\n>plain\nACD\n"
    path = tmp_path / "u.fa"
    path.write_bytes(data)
    build_index(path)
    with gf.FastaFile(path) as fa:
        text = raw_name.decode("utf-8", "surrogateescape")
        a = fa._lookup([raw_name, text, "plain", b"plain"])[0]
        assert a[0] == a[1] >= 0 and a[2] == a[3] >= 0
        assert fa.fetch(text) == "MKV"
        tab = fa.fetch_many([text, "plain"])
        assert tab.column("sequence").to_pylist() == ["MKV", "ACD"]
        assert tab.column("name").to_pylist() == ["s\ufffd\ufffd_1", "plain"]
        with pytest.raises(TypeError):
            fa._lookup([3])


def test_older_index_that_cannot_be_replaced_is_built_in_memory(tmp_path, monkeypatch):
    import os

    import genomicframe.fasta.file as F

    names, data = _fasta(30)
    path = _write(tmp_path, data, True)
    gfi = str(path) + ".gfi"
    raw = bytearray(open(gfi, "rb").read())
    struct.pack_into("<I", raw, 8, 2)
    open(gfi, "wb").write(raw)
    real_build = F.build_index

    def read_only(p, **kw):
        if kw.get("write", True):
            raise PermissionError(f"{p}: read-only folder")
        return real_build(p, **kw)

    def no_unlink(p, *a, **kw):
        raise PermissionError(f"{p}: read-only folder")

    monkeypatch.setattr(F, "build_index", read_only)
    monkeypatch.setattr(os, "unlink", no_unlink)
    with pytest.warns(UserWarning, match="in memory"):
        fa = gf.FastaFile(path)
    monkeypatch.undo()
    with fa:
        assert fa.fetch(names[2]) == pysam.FastaFile(str(path)).fetch(names[2])
    assert G.outdated(gfi)  # left as it was
