"""FASTA indexing and batch retrieval (``genomicframe.fasta``).

Input: the "medium" protein FASTA of :mod:`.datagen` (250 000 records,
``>sample_<uuid4>_<n>`` headers, ~81 MB), unwrapped and wrapped at 60,
BGZF-compressed by our Writer.  Names are drawn with a fixed seed.

Issue "Rapid retrieval from very large BGZF FASTA files": index build in one
block-parallel pass (>= 4x faster than ``samtools faidx``, see
``asv_bench/compare_fasta.py`` for the whole-process comparison); retrieval of
3 000 / 20 000 names inflating every needed block once; name lookup under 10 ms
whatever the number of records; peak RSS for 20 000 names < 150 MB.  Each
retrieval benchmark sits next to its speed of light, :class:`InflateNeededBlocks`
(ISA-L alone over exactly the blocks the batch needs, file in memory).
"""
from __future__ import annotations

import bisect
import os
import random
import shutil
import tempfile
from array import array
from concurrent.futures import ThreadPoolExecutor

import genomicframe as gf
from genomicframe.fasta import build_index

from . import datagen
from .baselines import block_boundaries, group_blocks, inflate_serial

MEDIUM = datagen.SIZES["medium"]
WRAPS = [0, 60]
THREADS = [1, 2]
BATCHES = [3000, 20000]


def _indexed_copy(wrap: int) -> str:
    """A private copy of the BGZF FASTA with its index files (the cache stays clean)."""
    src = datagen.cached_protein_fasta_gz(MEDIUM, wrap=wrap or None)
    d = tempfile.mkdtemp(prefix="gf-asv-fasta-")
    dst = os.path.join(d, os.path.basename(src))
    shutil.copyfile(src, dst)
    build_index(dst, threads=2)
    return dst


def _names(path: str, n: int) -> list[str]:
    with open(path + ".fai") as fh:
        names = [line.split("\t", 1)[0] for line in fh]
    return random.Random(n).sample(names, n)


class IndexBuild:
    """Time ``build_index`` (.fai + .gzi + .gfi written) on 1 and 2 threads.

    Issue: index build >= 4x faster than ``samtools faidx`` (whole process, 2 threads).
    """

    params = (WRAPS, THREADS)
    param_names = ["wrap", "threads"]
    timeout = 300

    def setup_cache(self):
        return {w: datagen.cached_protein_fasta_gz(MEDIUM, wrap=w or None) for w in WRAPS}

    def setup(self, paths, wrap, threads):
        self.dir = tempfile.mkdtemp(prefix="gf-asv-index-")
        self.path = os.path.join(self.dir, "p.fa.gz")
        shutil.copyfile(paths[wrap], self.path)

    def teardown(self, paths, wrap, threads):
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_build_index(self, paths, wrap, threads):
        build_index(self.path, threads=threads)

    def peakmem_build_index(self, paths, wrap, threads):
        build_index(self.path, threads=threads)


class FetchMany:
    """Time ``FastaFile.fetch_many(names, out=sink)`` for 3 000 and 20 000 names.

    Issue: >= 5x faster than ``samtools faidx -r`` and faster than pyfastx (whole
    process, in compare_fasta.py); every needed block inflated once
    (``track_blocks_inflated_per_needed`` must stay 1.0).
    """

    params = (WRAPS, BATCHES, THREADS)
    param_names = ["wrap", "names", "threads"]
    timeout = 300

    def setup_cache(self):
        return {w: _indexed_copy(w) for w in WRAPS}

    def setup(self, paths, wrap, names, threads):
        self.fa = gf.FastaFile(paths[wrap], threads=threads)
        self.names = _names(paths[wrap], names)
        self.sink = open(os.devnull, "wb")

    def teardown(self, paths, wrap, names, threads):
        self.fa.close()
        self.sink.close()

    def time_fetch_many_fasta(self, paths, wrap, names, threads):
        self.fa.fetch_many(self.names, out=self.sink)

    def time_fetch_many_arrow(self, paths, wrap, names, threads):
        self.fa.fetch_many(self.names)

    def peakmem_fetch_many(self, paths, wrap, names, threads):
        with gf.FastaFile(paths[wrap], threads=threads) as fa:
            fa.fetch_many(self.names, out=self.sink)

    def track_blocks_inflated_per_needed(self, paths, wrap, names, threads):
        self.fa.fetch_many(self.names, out=self.sink)
        st = self.fa.last_fetch_stats
        return st.blocks_inflated / max(st.blocks_needed, 1)


class NameLookup:
    """Resolve names through the memory-mapped ``.gfi`` (no text parse).

    Issue: name lookup for a call under 10 ms whatever the number of records.
    """

    params = BATCHES
    param_names = ["names"]

    def setup_cache(self):
        return _indexed_copy(0)

    def setup(self, path, names):
        self.fa = gf.FastaFile(path)
        self.text = _names(path, names)
        self.keys = [n.encode() for n in self.text]

    def teardown(self, path, names):
        self.fa.close()

    def time_lookup(self, path, names):
        self.fa._view.lookup(self.keys)

    def time_lookup_str(self, path, names):
        # names as str, as fetch_many and the CLI pass them (no encoding step)
        self.fa._view.lookup(self.text)

    def time_open_and_lookup(self, path, names):
        with gf.FastaFile(path) as fa:
            fa._view.lookup(self.keys)


class InflateNeededBlocks:
    """Speed of light of :class:`FetchMany`: ISA-L over exactly the needed blocks.

    The blocks holding the batch's sequences are found once (untimed); the
    compressed file is held in memory; each needed block is inflated once, on
    ``threads`` threads, output dropped.
    """

    params = (BATCHES, THREADS)
    param_names = ["names", "threads"]
    timeout = 300

    def setup_cache(self):
        return _indexed_copy(0)

    def setup(self, path, names, threads):
        with open(path, "rb") as fh:
            self.buf = fh.read()
        blocks = block_boundaries(self.buf)
        starts, u = [], 0
        for _, _, isize in blocks:
            starts.append(u)
            u += isize
        wanted = set()
        with gf.FastaFile(path) as fa:
            recs, entries, _, _ = fa._lookup([n.encode() for n in _names(path, names)])
            m = len(recs)
            s, e = array("q", bytes(8 * m)), array("q", [-1]) * m
            ub, ue = array("q", bytes(8 * m)), array("q", bytes(8 * m))
            fa._view.ranges(entries, s, e, ub, ue)
        for b, x in zip(ub, ue):
            if x > b:
                i0 = bisect.bisect_right(starts, b) - 1
                i1 = bisect.bisect_right(starts, x - 1) - 1
                wanted.update(range(i0, i1 + 1))
        self.blocks = [blocks[i] for i in sorted(wanted)]
        self.groups = group_blocks(self.blocks)
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def teardown(self, path, names, threads):
        if self.pool is not None:
            self.pool.shutdown()

    def time_inflate_needed(self, path, names, threads):
        if self.pool is None:
            inflate_serial(self.buf, self.blocks)
        else:
            list(self.pool.map(lambda g: inflate_serial(self.buf, g), self.groups))
