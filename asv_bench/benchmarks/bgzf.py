"""BGZF layer: parallel inflate, compression, block-table scan, memory.

Input: the "medium" protein FASTA of :mod:`.datagen` (250 000 records, one
sequence line each, ~81 MB uncompressed), BGZF-compressed by our Writer at
level 6.  Every inflate benchmark has its speed-of-light twin in
:class:`InflateBareIsal` (ISA-L alone over the same blocks, file in memory).

Foundation issue (DESIGN.md, performance targets): inflate >= 0.9x the bare
isal loop at 1 thread, >= 1.7x (2 threads vs 1) with 2 threads; peak RSS
independent of file size.
"""
from __future__ import annotations

import os
import time

import genomicframe as gf

from . import datagen
from .baselines import BareIsalInflater

MEDIUM = datagen.SIZES["medium"]
THREADS = [1, 2]


def _medium_gz() -> str:
    return datagen.cached_protein_fasta_gz(MEDIUM)


def _drain(it) -> None:
    for _ in it:
        pass


class InflateReader:
    """Time ``Reader(path, threads=t).pieces()`` / ``.chunks()`` over the whole file.

    Foundation issue: inflate >= 0.9x bare isal loop at 1 thread, >= 1.7x with
    2 threads (compare with :class:`InflateBareIsal` at the same ``threads``).
    ``chunks`` adds the line-alignment (carry of partial lines) on top of ``pieces``.
    """

    params = (THREADS, ["pieces", "chunks"])
    param_names = ["threads", "method"]
    timeout = 300

    def setup_cache(self):
        return _medium_gz()

    def setup(self, path, threads, method):
        # warm the page cache and the reader's thread pool outside the timing
        with gf.bgzf.Reader(path, threads=threads) as r:
            _drain(r.pieces())

    def time_inflate(self, path, threads, method):
        with gf.bgzf.Reader(path, threads=threads) as r:
            _drain(getattr(r, method)())


class InflateBareIsal:
    """Speed of light: ``isal.igzip_lib.decompress`` per block, file already in memory.

    Foundation issue: inflate >= 0.9x bare isal loop at 1 thread, >= 1.7x with
    2 threads.  ``threads=2`` maps ~1 MiB groups of blocks onto a plain
    ``ThreadPoolExecutor`` (created in ``setup``, not timed).
    """

    params = THREADS
    param_names = ["threads"]
    timeout = 300

    def setup_cache(self):
        return _medium_gz()

    def setup(self, path, threads):
        self.inflater = BareIsalInflater(path, threads)

    def teardown(self, path, threads):
        self.inflater.close()

    def time_inflate(self, path, threads):
        self.inflater()


class InflateRatios:
    """The two foundation ratios, measured together in one process (best of 5 each, interleaved).

    Foundation issue: inflate >= 0.9x bare isal loop at 1 thread, >= 1.7x with
    2 threads.  Ratios of throughput: ``ours_1t_vs_bare_1t`` should stay >= 0.9,
    ``ours_2t_vs_ours_1t`` >= 1.7 (a noisy 2-core machine can dip below).
    """

    unit = "ratio"
    timeout = 300
    repeat = 1
    number = 1

    def setup_cache(self):
        path = _medium_gz()
        bare = BareIsalInflater(path, 1)

        def ours(threads):
            with gf.bgzf.Reader(path, threads=threads) as r:
                _drain(r.pieces())

        contenders = {"bare_1t": bare, "ours_1t": lambda: ours(1), "ours_2t": lambda: ours(2)}
        best = {k: float("inf") for k in contenders}
        for _ in range(5):
            for name, fn in contenders.items():
                t0 = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t0)
        bare.close()
        return best

    def track_ours_1t_vs_bare_1t(self, best):
        return best["bare_1t"] / best["ours_1t"]

    def track_ours_2t_vs_ours_1t(self, best):
        return best["ours_1t"] / best["ours_2t"]


class Compress:
    """Time :class:`genomicframe.bgzf.Writer` (level 6) over the medium file, output discarded.

    Guards the compression throughput of ``genomicframe bgzip`` and of every
    writer built on the Writer (threads 1 and 2; the data is in memory and fed
    in 8 MiB writes, as the CLI does).
    """

    params = THREADS
    param_names = ["threads"]
    timeout = 300

    def setup_cache(self):
        return datagen.cached_protein_fasta(MEDIUM)

    def setup(self, path, threads):
        with open(path, "rb") as fh:
            self.data = fh.read()
        self.sink = open(os.devnull, "wb")

    def teardown(self, path, threads):
        self.sink.close()

    def time_write(self, path, threads):
        mv = memoryview(self.data)
        step = 8 << 20
        with gf.bgzf.Writer(self.sink, level=6, threads=threads) as w:
            for i in range(0, len(mv), step):
                w.write(mv[i:i + step])


class PeakmemChunks:
    """Peak memory of streaming ``Reader.chunks()`` over a 1x (32 MB) and a 10x (325 MB) file.

    Foundation issue: peak RSS independent of file size (1x vs 10x file within
    10 %), bounded by group size x threads.  The two ``size`` values should
    report (nearly) the same number.
    """

    params = (["1x", "10x"], THREADS)
    param_names = ["size", "threads"]
    timeout = 300
    # the 1x file must already exceed the reader's in-flight bound (an 8 MiB
    # compressed read buffer plus a few 1 MiB groups per thread)
    RECORDS = {"1x": datagen.SIZES["small"], "10x": datagen.SIZES["full"]}

    def setup_cache(self):
        return {k: datagen.cached_protein_fasta_gz(n) for k, n in self.RECORDS.items()}

    def peakmem_chunks(self, paths, size, threads):
        with gf.bgzf.Reader(paths[size], threads=threads) as r:
            _drain(r.chunks())


class ScanFile:
    """Time ``bgzf.scan_file``: the block table from block headers only (one pread per block).

    Guards the header-only index pass that the FASTA index build and ``bgzip -r``
    rely on (user story 2: 235 GB files mapped without inflating).
    """

    timeout = 300

    def setup_cache(self):
        return _medium_gz()

    def time_scan_file(self, path):
        gf.bgzf.scan_file(path)
