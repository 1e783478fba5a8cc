"""VCF peer comparison (a topic of ``compare.py``; issue 4).

Inputs (:mod:`benchmarks.datagen`, seeded): a sites-only VCF resembling 1000
Genomes sites (``--size full``: 1 M variants; ``small``: 100 000) and a
genotype VCF with GT:DP:GQ:AD for 200 samples (``full``: 100 000 variants;
``small``: 10 000), both BGZF (our Writer, level 6) and tabix-indexed.

* sites to Arrow, in-process: ``gf.dataset(p).to_table()`` (all columns, and
  chrom/pos/ref/alt/qual only) against our inflate alone (``Reader.pieces``);
* sites to Arrow, whole processes (start-up included): ours, a cyvcf2 loop,
  a pysam loop, oxbow to Arrow, polars-bio, and the ``bgzip -d -@2`` floor;
* genotypes: ``genotype_array`` against cyvcf2 (``genotype.array()`` per
  variant; ``gt_types``);
* peak RSS streaming ``to_batches`` over the sites file at 1x and 10x size;
* a tabix query over 1 % of the genome: blocks inflated, the same rows as a
  full scan + filter, against pysam ``fetch``, ``tabix`` and ``bcftools view -r``.

Targets (issue 4): in-process <= 2x our inflate; as processes <= 2.5x
``bgzip -d``; faster than every peer and >= 2x faster than oxbow; genotype
array faster than cyvcf2; RSS 10x within 10 % of 1x; the 1 % query inflates
<= 5 % of the blocks and returns exactly the full scan + filter.
"""
from __future__ import annotations

import os
import sys

from benchmarks import datagen
from compare import Context, Row

SITES = {"small": 100_000, "full": 1_000_000}
GENOTYPES = {"small": 10_000, "full": 100_000}
N_SAMPLES = 200
THREADS = 2
MINIMAL = ["chrom", "pos", "ref", "alt", "qual"]

GF_TABLE = ("import sys, genomicframe as gf\n"
            "cols = sys.argv[2].split(',') if len(sys.argv) > 2 else None\n"
            "t = gf.dataset(sys.argv[1]).to_table(columns=cols)\n"
            "print(t.num_rows)\n")
GF_STREAM = ("import sys, genomicframe as gf\n"
             "n = 0\n"
             "for b in gf.dataset(sys.argv[1]).to_batches():\n"
             "    n += b.num_rows\n"
             "print(n)\n")
CYVCF2_ALL = ("import sys\nfrom cyvcf2 import VCF\n"
              "cols = [[] for _ in range(8)]\n"
              "for v in VCF(sys.argv[1]):\n"
              "    cols[0].append(v.CHROM); cols[1].append(v.POS); cols[2].append(v.ID)\n"
              "    cols[3].append(v.REF); cols[4].append(v.ALT); cols[5].append(v.QUAL)\n"
              "    cols[6].append(v.FILTER); cols[7].append(dict(v.INFO))\n"
              "print(len(cols[0]))\n")
CYVCF2_MIN = ("import sys\nfrom cyvcf2 import VCF\n"
              "cols = [[] for _ in range(5)]\n"
              "for v in VCF(sys.argv[1]):\n"
              "    cols[0].append(v.CHROM); cols[1].append(v.POS); cols[2].append(v.REF)\n"
              "    cols[3].append(v.ALT); cols[4].append(v.QUAL)\n"
              "print(len(cols[0]))\n")
PYSAM_ALL = ("import sys, pysam\n"
             "cols = [[] for _ in range(8)]\n"
             "with pysam.VariantFile(sys.argv[1]) as vf:\n"
             "    for r in vf:\n"
             "        cols[0].append(r.chrom); cols[1].append(r.pos); cols[2].append(r.id)\n"
             "        cols[3].append(r.ref); cols[4].append(r.alts); cols[5].append(r.qual)\n"
             "        cols[6].append(list(r.filter)); cols[7].append(dict(r.info))\n"
             "print(len(cols[0]))\n")
PYSAM_MIN = ("import sys, pysam\n"
             "cols = [[] for _ in range(5)]\n"
             "with pysam.VariantFile(sys.argv[1]) as vf:\n"
             "    for r in vf:\n"
             "        cols[0].append(r.chrom); cols[1].append(r.pos); cols[2].append(r.ref)\n"
             "        cols[3].append(r.alts); cols[4].append(r.qual)\n"
             "print(len(cols[0]))\n")
OXBOW_ALL = ("import sys, oxbow as ox\n"
             "t = ox.from_vcf(sys.argv[1]).dataset().to_table()\n"
             "print(t.num_rows)\n")
OXBOW_MIN = ("import sys, oxbow as ox\n"
             "f = ox.from_vcf(sys.argv[1], fields=['chrom', 'pos', 'ref', 'alt', 'qual'],\n"
             "                info_fields=None, genotype_fields=None)\n"
             "print(f.dataset().to_table().num_rows)\n")
POLARS_BIO_ALL = ("import sys, polars_bio as pb\n"
                  "print(pb.read_vcf(sys.argv[1]).height)\n")
POLARS_BIO_MIN = ("import sys, polars_bio as pb\n"
                  "print(pb.read_vcf(sys.argv[1], info_fields=[]).select("
                  "['chrom', 'start', 'ref', 'alt', 'qual']).height)\n")


def _drain_inflate(path: str) -> None:
    import genomicframe as gf

    with gf.bgzf.Reader(path, threads=THREADS) as r:
        for _ in r.pieces():
            pass


def _sites_in_process(ctx: Context, gz: str, usize: int) -> list[Row]:
    import genomicframe as gf

    fns = {
        "all": lambda: gf.dataset(gz).to_table(),
        "min": lambda: gf.dataset(gz).to_table(columns=MINIMAL),
        "inflate": lambda: _drain_inflate(gz),
    }
    ctx.log(f"sites in-process: {', '.join(fns)} x {ctx.repeat}")
    m = ctx.measure_calls(fns)
    task = f"sites -> Arrow, in-process, {THREADS} threads"
    rows = [
        Row.measured(task, "gf dataset.to_table() all columns", m["all"], usize, ours=True),
        Row.measured(task, "gf to_table(chrom,pos,ref,alt,qual)", m["min"], usize),
        Row.measured(task, "gf Reader.pieces() inflate only", m["inflate"], usize,
                     note="speed of light"),
    ]
    ctx.check("to_table all / our inflate (time)", m["all"].seconds / m["inflate"].seconds, 2.0,
              higher_is_better=False)
    ctx.check("to_table minimal / our inflate (time)", m["min"].seconds / m["inflate"].seconds)
    return rows


def _sites_processes(ctx: Context, gz: str, usize: int) -> list[Row]:
    py = sys.executable
    rows = []
    bgzip = ctx.which("bgzip", "the decompression floor")
    peers_all = {"gf": [py, "-c", GF_TABLE, gz]}
    peers_min = {"gf": [py, "-c", GF_TABLE, gz, ",".join(MINIMAL)]}
    labels = {"gf": "genomicframe to_table", "cyvcf2": "cyvcf2 loop", "pysam": "pysam loop",
              "oxbow": "oxbow -> Arrow", "polars_bio": "polars-bio read_vcf",
              "bgzip": f"bgzip -d -@{THREADS} (floor)"}
    for mod, snip_all, snip_min, key in (("cyvcf2", CYVCF2_ALL, CYVCF2_MIN, "cyvcf2"),
                                         ("pysam", PYSAM_ALL, PYSAM_MIN, "pysam"),
                                         ("oxbow", OXBOW_ALL, OXBOW_MIN, "oxbow"),
                                         ("polars_bio", POLARS_BIO_ALL, POLARS_BIO_MIN,
                                          "polars_bio")):
        if ctx.importable(mod):
            peers_all[key] = [py, "-c", snip_all, gz]
            peers_min[key] = [py, "-c", snip_min, gz]
    if bgzip:
        peers_all["bgzip"] = [bgzip, "-d", f"-@{THREADS}", "-c", gz]
    for task, cmds in (("sites -> Arrow, whole process, all columns", peers_all),
                       ("sites -> Arrow, whole process, chrom/pos/ref/alt/qual", peers_min)):
        ctx.log(f"{task}: {', '.join(cmds)} x {ctx.repeat}")
        m = ctx.measure_processes(cmds)
        for k in cmds:
            rows.append(Row.measured(task, labels[k], m[k], usize, ours=(k == "gf"),
                                     note="Python loop, no Arrow" if k in ("cyvcf2", "pysam")
                                     else ""))
        ours = m["gf"].seconds
        if "bgzip" in m:
            ctx.check("whole process: gf to_table all / bgzip -d (time)",
                      ours / m["bgzip"].seconds, 2.5, higher_is_better=False)
        for k in cmds:
            if k in ("gf", "bgzip"):
                continue
            target = 2.0 if k == "oxbow" else 1.0
            ctx.check(f"{'all' if cmds is peers_all else 'minimal'}: {labels[k]} / gf (time)",
                      m[k].seconds / ours, target)
    return rows


def _genotypes(ctx: Context, gz: str, usize: int) -> list[Row]:
    import numpy as np

    from genomicframe.formats.vcf import genotype_array

    fns = {"gf": lambda: genotype_array(gz, threads=THREADS)}
    if ctx.importable("cyvcf2"):
        from cyvcf2 import VCF

        fns["cyvcf2_array"] = lambda: np.stack([v.genotype.array()[:, :2] for v in VCF(gz)])
        fns["cyvcf2_types"] = lambda: np.stack([v.gt_types for v in VCF(gz)])
    ctx.log(f"genotypes: {', '.join(fns)} x {ctx.repeat}")
    m = ctx.measure_calls(fns)
    task = f"genotypes -> numpy ({N_SAMPLES} samples)"
    rows = [Row.measured(task, f"gf genotype_array t={THREADS}", m["gf"], usize, ours=True,
                         note="int8 (variants, samples, ploidy)")]
    if "cyvcf2_array" in m:
        rows.append(Row.measured(task, "cyvcf2 genotype.array() loop", m["cyvcf2_array"], usize,
                                 note="int16, stacked"))
        rows.append(Row.measured(task, "cyvcf2 gt_types loop", m["cyvcf2_types"], usize,
                                 note="genotype classes only"))
        ctx.check("genotype array: cyvcf2 genotype.array() / gf (time)",
                  m["cyvcf2_array"].seconds / m["gf"].seconds, 1.0)
        ctx.check("genotype array: cyvcf2 gt_types / gf (time)",
                  m["cyvcf2_types"].seconds / m["gf"].seconds, 1.0)
    return rows


def _peak_rss(ctx: Context, n: int) -> list[Row]:
    one = datagen.cached_vcf_sites_gz(n)
    ten = datagen.cached_vcf_sites_gz(n, repeat=10)
    ctx.warm(one, ten)
    cmds = {"1x": [sys.executable, "-c", GF_STREAM, one],
            "10x": [sys.executable, "-c", GF_STREAM, ten]}
    ctx.log(f"peak RSS: to_batches at 1x and 10x x {min(ctx.repeat, 3)}")
    m = ctx.measure_processes(cmds, repeat=min(ctx.repeat, 3))
    task = "stream to_batches(), peak RSS"
    rows = [Row.measured(task, f"gf to_batches {k} ({os.path.getsize(p) / 1e6:.0f} MB gz)",
                         m[k], ours=(k == "1x"))
            for k, p in (("1x", one), ("10x", ten))]
    if m["1x"].rss_mb and m["10x"].rss_mb:
        ctx.check("peak RSS 10x / 1x", m["10x"].rss_mb / m["1x"].rss_mb, 1.10,
                  higher_is_better=False)
    return rows


def _tabix_query(ctx: Context, gz: str) -> list[Row]:
    import pyarrow.compute as pc

    import genomicframe as gf
    from genomicframe.formats import get
    from genomicframe.formats.text import iter_fragment_chunks

    lengths = datagen._CONTIG_LENGTHS[:3]
    span = sum(lengths) // 100  # 1 % of the genome
    chrom, start = "chr2", 50_000_000
    end = start + span
    fmt = get("vcf")
    frags = fmt.make_fragments(gz, regions=[(chrom, start, end)])
    counters: dict = {}
    for f in frags:
        for _ in iter_fragment_chunks(f, threads=1, counters=counters):
            pass
    table = gf.bgzf.scan_file(gz)
    total = int((table.usize > 0).sum())
    inflated = counters.get("blocks_inflated", 0)
    expr = (pc.field("chrom") == chrom) & (pc.field("start") < end) & (pc.field("end") > start)
    ds = gf.dataset(gz)
    got = ds.to_table(filter=expr)
    want = ds.to_table().filter(expr)
    same = got.equals(want)
    ctx.check("1 % query: blocks inflated / all blocks", inflated / total, 0.05,
              higher_is_better=False)
    ctx.check("1 % query equals full scan + filter (1 = yes)", 1.0 if same else 0.0, 1.0)
    ctx.note(f"1 % query {chrom}:{start + 1}-{end}: {got.num_rows} rows, {inflated} of {total} "
             f"blocks inflated")

    fns = {"gf": lambda: gf.dataset(gz).to_table(filter=expr)}
    if ctx.importable("pysam"):
        import pysam

        def fetch():
            with pysam.VariantFile(gz) as vf:
                return sum(1 for _ in vf.fetch(chrom, start, end))

        fns["pysam"] = fetch
    m = ctx.measure_calls(fns)
    task = "tabix query, 1 % of the genome, in-process"
    rows = [Row.measured(task, "gf to_table(filter=region)", m["gf"], ours=True,
                         note=f"{got.num_rows} rows, all columns")]
    if "pysam" in m:
        rows.append(Row.measured(task, "pysam VariantFile.fetch loop", m["pysam"],
                                 note="records only, no columns"))
    procs = {}
    region = f"{chrom}:{start + 1}-{end}"
    tabix = ctx.which("tabix", "tabix query contender")
    if tabix:
        procs["tabix"] = [tabix, gz, region]
    bcftools = ctx.which("bcftools", "bcftools view -r contender")
    if bcftools:
        procs["bcftools"] = [bcftools, "view", "-H", "-r", region, gz]
    procs["gf"] = [sys.executable, "-c",
                   "import sys, genomicframe as gf, pyarrow.compute as pc\n"
                   "c, s, e = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])\n"
                   "f = ((pc.field('chrom') == c) & (pc.field('start') < e)\n"
                   "     & (pc.field('end') > s))\n"
                   "print(gf.dataset(sys.argv[1]).to_table(filter=f).num_rows)\n",
                   gz, chrom, str(start), str(end)]
    mp = ctx.measure_processes(procs)
    task = "tabix query, 1 % of the genome, whole process"
    rows.append(Row.measured(task, "genomicframe to_table(filter=region)", mp["gf"], ours=True))
    if "tabix" in mp:
        rows.append(Row.measured(task, "tabix FILE REGION", mp["tabix"], note="text lines"))
    if "bcftools" in mp:
        rows.append(Row.measured(task, "bcftools view -H -r", mp["bcftools"], note="text lines"))
    return rows


def run(ctx: Context) -> list[Row]:
    n_sites = SITES[ctx.size]
    n_gt = GENOTYPES[ctx.size]
    ctx.log(f"data: sites VCF {n_sites:,} variants; genotypes {n_gt:,} x {N_SAMPLES} "
            f"(generated once, cached in {ctx.data_dir})")
    sites = datagen.cached_vcf_sites(n_sites)
    sites_gz = datagen.cached_vcf_sites_gz(n_sites)
    gt = datagen.cached_vcf_genotypes(n_gt, N_SAMPLES)
    gt_gz = datagen.cached_vcf_genotypes_gz(n_gt, N_SAMPLES)
    s_size, g_size = os.path.getsize(sites), os.path.getsize(gt)
    ctx.note(f"sites: {s_size / 1e6:.0f} MB -> {os.path.getsize(sites_gz) / 1e6:.0f} MB BGZF; "
             f"genotypes: {g_size / 1e6:.0f} MB -> {os.path.getsize(gt_gz) / 1e6:.0f} MB BGZF; "
             "MB/s counts uncompressed bytes")
    ctx.warm(sites_gz, gt_gz)
    rows = _sites_in_process(ctx, sites_gz, s_size)
    rows += _sites_processes(ctx, sites_gz, s_size)
    rows += _genotypes(ctx, gt_gz, g_size)
    rows += _peak_rss(ctx, n_sites)
    rows += _tabix_query(ctx, sites_gz)
    return rows
