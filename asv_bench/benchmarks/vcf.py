"""VCF: parse to Arrow, genotype array, statistics, memory, tabix queries (issue 4).

Inputs from :mod:`.datagen` (seeded, cached): a sites-only VCF of 200 000
variants resembling 1000 Genomes sites and a genotype VCF of 10 000 variants
x 200 samples (GT:DP:GQ:AD), both BGZF level 6 and tabix-indexed.  Every parse
benchmark sits next to its speed of light, :class:`InflateSites` (our BGZF
reader draining the same file with the same threads).

Issue 4 targets: to_table <= 2x our inflate in-process; genotype array faster
than cyvcf2 (compare.py races the peers); peak RSS at 10x file size within
10 % of 1x; a 1 % tabix query inflates <= 5 % of the blocks.
"""
from __future__ import annotations

import genomicframe as gf

from . import datagen

N_SITES = 200_000
N_GT, N_SAMPLES = 10_000, 200
THREADS = [1, 2]
MINIMAL = ["chrom", "pos", "ref", "alt", "qual"]


def _drain(it) -> None:
    for _ in it:
        pass


def _sites() -> str:
    return datagen.cached_vcf_sites_gz(N_SITES)


class InflateSites:
    """Speed of light for :class:`ReadSites`: ``Reader(path, threads=t).pieces()`` over the file."""

    params = [THREADS]
    param_names = ["threads"]
    timeout = 300

    def setup_cache(self):
        return _sites()

    def time_inflate(self, path, threads):
        with gf.bgzf.Reader(path, threads=threads) as r:
            _drain(r.pieces())


class ReadSites:
    """``gf.dataset(path).to_table(columns=..., use_threads=threads > 1)`` on the sites file.

    Issue 4: in-process <= 2x :class:`InflateSites` at the same thread count;
    ``minimal`` (chrom/pos/ref/alt/qual) must not decode INFO.
    """

    params = (THREADS, ["all", "minimal"])
    param_names = ["threads", "columns"]
    timeout = 600

    def setup_cache(self):
        return _sites()

    def setup(self, path, threads, columns):
        self.ds = gf.dataset(path)
        self.columns = None if columns == "all" else MINIMAL
        self.ds.head(1)  # schema and header outside the timing

    def time_to_table(self, path, threads, columns):
        # use_threads=False parses on one thread; True on one per core (2 here)
        self.ds.to_table(columns=self.columns, use_threads=threads > 1)

    def peakmem_to_table(self, path, threads, columns):
        self.ds.to_table(columns=self.columns, use_threads=threads > 1)


class Stats:
    """``VcfStats`` over the sites file: the five columns it needs, one pass (issue 4 item 5)."""

    timeout = 600

    def setup_cache(self):
        return _sites()

    def time_vcf_stats(self, path):
        from genomicframe.formats.vcf_stats import VcfStats

        VcfStats.from_file(path)


class GenotypeArray:
    """``genotype_array(path)``: numpy int8 (variants, samples, ploidy).

    Issue 4: faster than cyvcf2's per-variant ``genotype.array()`` (see compare.py).
    """

    params = [THREADS]
    param_names = ["threads"]
    timeout = 600

    def setup_cache(self):
        return datagen.cached_vcf_genotypes_gz(N_GT, N_SAMPLES)

    def time_genotype_array(self, path, threads):
        from genomicframe.formats.vcf import genotype_array

        genotype_array(path, threads=threads)


class PeakmemStream:
    """Peak RSS streaming ``to_batches()`` over the sites file at 1x and 10x its size.

    Issue 4: peak RSS at 10x within 10 % of 1x (memory bounded by batch size x threads).
    """

    params = (["1x", "10x"],)
    param_names = ["size"]
    timeout = 900

    def setup_cache(self):
        return {"1x": _sites(), "10x": datagen.cached_vcf_sites_gz(N_SITES, repeat=10)}

    def peakmem_to_batches(self, paths, size):
        _drain(gf.dataset(paths[size]).to_batches())


class TabixQuery:
    """A region covering 1 % of the generated genome, through the .tbi beside the file.

    Issue 4: inflates <= 5 % of the blocks (``track_blocks_fraction``) and
    returns exactly what a full scan + filter returns (tested in tests/test_tabix.py).
    """

    timeout = 300

    def setup_cache(self):
        return _sites()

    def setup(self, path):
        import pyarrow.compute as pc

        span = sum(datagen._CONTIG_LENGTHS[:3]) // 100
        self.region = ("chr2", 50_000_000, 50_000_000 + span)
        c, s, e = self.region
        self.expr = (pc.field("chrom") == c) & (pc.field("start") < e) & (pc.field("end") > s)

    def time_query_to_table(self, path):
        gf.dataset(path).to_table(filter=self.expr)

    def time_plan_fragments(self, path):
        from genomicframe.index.plan import index_fragments

        index_fragments(path, [self.region])

    def track_blocks_fraction(self, path):
        from genomicframe.formats.text import iter_fragment_chunks
        from genomicframe.index.plan import index_fragments

        counters: dict = {}
        for frag in index_fragments(path, [self.region]):
            _drain(iter_fragment_chunks(frag, threads=1, counters=counters))
        table = gf.bgzf.scan_file(path)
        return counters.get("blocks_inflated", 0) / int((table.usize > 0).sum())

    track_blocks_fraction.unit = "fraction of blocks"


class WriteIndex:
    """``index.write_index``: a .tbi for the sites file in one pass (htslib's ``tabix -p vcf``
    takes ~1 s for 1 M sites here; see docs/index-files.md)."""

    timeout = 300

    def setup_cache(self):
        return _sites()

    def setup(self, path):
        import tempfile

        self.out = tempfile.mkdtemp()

    def time_write_index(self, path):
        import os

        from genomicframe.index.build import write_index

        write_index(path, out=os.path.join(self.out, "x.tbi"))
