"""Deterministic benchmark data, shared by the asv benchmarks and ``asv_bench/compare.py``.

Every generator is a pure function of its arguments (sizes and a seed): the same
call writes the same bytes on every machine, so timings from different runs and
different tools refer to the same input.  Files are cached in a data directory
and only regenerated when missing:

* ``$GENOMICFRAME_BENCH_DATA`` when set, else ``asv_bench/.data/`` (gitignored).

Cache names encode every argument (``protein_n1000000_w0_s20240601.fa``), so
changing a parameter never returns a stale file.  Files are written to a
temporary name and renamed, so an interrupted run never leaves a truncated file
behind.

Generators
----------
protein_fasta(path, n_records, wrap, seed)
    Protein FASTA with ``>sample_<uuid4>_<n>`` headers.
bgzip_file(src, dst, level, threads)
    BGZF-compress with :class:`genomicframe.bgzf.Writer`.
bgzip_file_htslib(src, dst, level, threads)
    The same with htslib's ``bgzip`` (``None`` when it is not installed).
cached_protein_fasta / cached_protein_fasta_gz
    The cached variants the benchmarks use.

VCF generators
--------------
vcf_sites(path, n_variants, n_contigs, seed)
    Sites-only VCF resembling 1000 Genomes sites (INFO Number=A/R/1, flags,
    strings; ~5 % multi-allelic; SNPs, indels, MNPs, SVs; QUAL with some '.').
vcf_genotypes(path, n_variants, n_samples, seed)
    VCF with FORMAT GT:DP:GQ:AD (issue 4: 100 000 variants x 200 samples).
cached_vcf_sites / cached_vcf_sites_gz / cached_vcf_genotypes / cached_vcf_genotypes_gz
    Cached variants; the ``_gz`` ones are BGZF (our Writer, level 6) and
    tabix-indexed (:func:`tabix_index`); ``cached_vcf_sites_gz(repeat=10)`` is
    the same records ten times over, for peak-memory scaling.
"""
from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess

import numpy as np

__all__ = [
    "SEED", "AMINO_ACIDS", "AMINO_FREQUENCIES", "data_dir", "cached", "atomic_output",
    "protein_fasta", "bgzip_file", "bgzip_file_htslib", "cached_protein_fasta",
    "cached_protein_fasta_gz", "SIZES", "vcf_sites", "vcf_genotypes", "tabix_index",
    "cached_vcf_sites", "cached_vcf_sites_gz", "cached_vcf_genotypes", "cached_vcf_genotypes_gz",
]

#: default seed of every generator
SEED = 20240601

#: amino acids and their frequencies in UniProtKB/Swiss-Prot (percent), the
#: usual background composition of real protein databases
AMINO_ACIDS = b"ARNDCQEGHILKMFPSTWYV"
AMINO_FREQUENCIES = (8.25, 5.53, 4.06, 5.45, 1.37, 3.93, 6.75, 7.07, 2.27, 5.96,
                     9.66, 5.84, 2.42, 3.86, 4.70, 6.56, 5.34, 1.08, 2.92, 6.87)

#: lognormal protein lengths (natural-log mean and sd), clipped to LENGTH_RANGE;
#: the clipped mean is about 272 aa, which makes 1 M unwrapped records ~324 MB
LENGTH_MU, LENGTH_SIGMA = 5.43, 0.6
LENGTH_RANGE = (30, 3000)

#: record counts of the shared sizes: asv uses "medium", compare.py "small"/"full"
SIZES = {"tiny": 2_000, "small": 100_000, "medium": 250_000, "full": 1_000_000}

_BATCH = 65_536  # records generated per vectorised batch (bounds memory, keeps output stable)


# -- cache ------------------------------------------------------------------------------------
def data_dir() -> str:
    """Directory for generated files (created on first use)."""
    d = os.environ.get("GENOMICFRAME_BENCH_DATA")
    if not d:
        d = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".data")
    os.makedirs(d, exist_ok=True)
    return d


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cached(name: str, make) -> str:
    """Path of ``name`` in :func:`data_dir`; ``make(tmp_path)`` creates it when missing."""
    path = os.path.join(data_dir(), name)
    if not os.path.exists(path):
        with atomic_output(path) as tmp:
            make(tmp)
    return path


# -- protein FASTA ----------------------------------------------------------------------------
def _residue_table() -> np.ndarray:
    """65 536-entry lookup: a uniform uint16 maps to one residue with the target frequency."""
    p = np.asarray(AMINO_FREQUENCIES, dtype=np.float64)
    edges = np.round(np.cumsum(p / p.sum()) * 65536).astype(np.int64)
    edges[-1] = 65536
    counts = np.diff(np.concatenate(([0], edges)))
    return np.repeat(np.frombuffer(AMINO_ACIDS, dtype=np.uint8), counts)


def _uuid4_strings(rng: random.Random, n: int) -> list[str]:
    """``n`` RFC 4122 version-4 UUID strings drawn from ``rng``."""
    out = []
    for _ in range(n):
        h = "%032x" % rng.getrandbits(128)
        variant = "89ab"[int(h[16], 16) & 3]
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")
    return out


def protein_lengths(n_records: int, seed: int = SEED) -> np.ndarray:
    """The sequence lengths :func:`protein_fasta` uses (int64, clipped lognormal)."""
    rng = np.random.default_rng([seed, 0])
    lengths = rng.lognormal(LENGTH_MU, LENGTH_SIGMA, n_records)
    return np.clip(lengths, *LENGTH_RANGE).astype(np.int64)


def _fasta_batch(names: list[str], lengths: np.ndarray, wrap: int | None,
                 rng: np.random.Generator, table: np.ndarray) -> np.ndarray:
    """One batch of records as a uint8 array, assembled without a per-record loop.

    The non-sequence bytes (``>name\\n`` and the newline ending each sequence)
    come from one joined string; sequence regions are marked with a mask and
    filled with residues; line breaks inside wrapped sequences are then written.
    """
    heads = ("\n".join(f">{n}\n" for n in names) + "\n").encode()
    hlen = np.fromiter((len(n) + 2 for n in names), dtype=np.int64, count=len(names))
    if wrap:
        n_breaks = (lengths - 1) // wrap  # newlines inside a sequence
    else:
        n_breaks = np.zeros_like(lengths)
    body = lengths + n_breaks  # sequence text without its final newline
    rec = hlen + body + 1
    rec_start = np.concatenate(([0], np.cumsum(rec)[:-1]))
    seq_start = rec_start + hlen
    total = int(rec.sum())
    assert total == len(heads) + int(body.sum())

    edge = np.zeros(total + 1, dtype=np.int8)
    edge[seq_start] = 1
    edge[seq_start + body] = -1
    in_seq = np.cumsum(edge[:-1], dtype=np.int8).view(np.bool_)

    out = np.empty(total, dtype=np.uint8)
    out[~in_seq] = np.frombuffer(heads, dtype=np.uint8)
    draws = rng.integers(0, 65536, size=int(body.sum()), dtype=np.uint16)
    out[in_seq] = table[draws]
    first = seq_start[lengths > 0]
    out[first] = ord("M")  # proteins start with methionine
    if wrap:
        nb = int(n_breaks.sum())
        if nb:
            owner_start = np.repeat(seq_start, n_breaks)
            k = np.arange(nb, dtype=np.int64) - np.repeat(np.cumsum(n_breaks) - n_breaks, n_breaks)
            out[owner_start + wrap + k * (wrap + 1)] = ord("\n")
    return out


def protein_fasta(path, n_records: int = 1_000_000, wrap: int | None = None,
                  seed: int = SEED) -> str:
    """Write a synthetic protein FASTA file; returns ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (uncompressed).
    n_records : int
        Number of records; 1 000 000 unwrapped records make about 324 MB.
    wrap : int, optional
        Residues per sequence line (60 as in UniProt); ``None`` writes each
        sequence on one line.
    seed : int
        Seed of every random draw; equal arguments give byte-identical files.

    Notes
    -----
    Headers are ``>sample_<uuid4>_<n>`` (``n`` counts from 0; the UUIDs come
    from a ``random.Random(seed)``).  Lengths are lognormal (median ~230 aa,
    mean ~272 aa, clipped to 30..3000); residues follow Swiss-Prot amino-acid
    frequencies and every sequence starts with ``M``.  Records are generated
    in fixed batches, so a file with fewer records is a prefix of a larger one
    made with the same seed and ``wrap``.
    """
    if wrap is not None and wrap < 1:
        raise ValueError("wrap must be a positive line width or None")
    lengths = protein_lengths(n_records, seed)
    ids = random.Random(seed)
    table = _residue_table()
    with open(path, "wb") as fh:
        for b, lo in enumerate(range(0, n_records, _BATCH)):
            hi = min(lo + _BATCH, n_records)
            names = [f"sample_{u}_{i}" for i, u in zip(range(lo, hi), _uuid4_strings(ids, hi - lo))]
            rng = np.random.default_rng([seed, 1, b])
            fh.write(_fasta_batch(names, lengths[lo:hi], wrap, rng, table).data)
    return os.fspath(path)


# -- BGZF compression -------------------------------------------------------------------------
def bgzip_file(src, dst, level: int = 6, threads: int | None = None) -> str:
    """BGZF-compress ``src`` into ``dst`` with genomicframe's :class:`~genomicframe.bgzf.Writer`.

    ``level`` is htslib's scale (6 = zlib's default); the writer maps it onto ISA-L.
    """
    from genomicframe.bgzf import Writer

    with open(src, "rb") as fin, Writer(dst, level=level, threads=threads) as w:
        while True:
            data = fin.read(8 << 20)
            if not data:
                break
            w.write(data)
    return os.fspath(dst)


def bgzip_file_htslib(src, dst, level: int = 6, threads: int = 2) -> str | None:
    """Compress with htslib's ``bgzip``; ``None`` (nothing written) when it is not installed."""
    exe = shutil.which("bgzip")
    if exe is None:
        return None
    with open(dst, "wb") as out:
        subprocess.run([exe, "-c", f"-l{level}", f"-@{threads}", os.fspath(src)], stdout=out,
                       check=True)
    return os.fspath(dst)


def _protein_name(n_records: int, wrap: int | None, seed: int) -> str:
    return f"protein_n{n_records}_w{wrap or 0}_s{seed}.fa"


def cached_protein_fasta(n_records: int = 1_000_000, wrap: int | None = None,
                         seed: int = SEED) -> str:
    """Path of the cached uncompressed protein FASTA (generated when missing)."""
    return cached(_protein_name(n_records, wrap, seed),
                  lambda tmp: protein_fasta(tmp, n_records, wrap, seed))


def cached_protein_fasta_gz(n_records: int = 1_000_000, wrap: int | None = None,
                            seed: int = SEED, compressor: str = "genomicframe") -> str:
    """Path of the cached BGZF protein FASTA (level 6).

    ``compressor`` is ``"genomicframe"`` (our Writer) or ``"htslib"`` (``bgzip``;
    raises ``FileNotFoundError`` when it is not installed).
    """
    src = cached_protein_fasta(n_records, wrap, seed)
    if compressor == "genomicframe":
        return cached(_protein_name(n_records, wrap, seed) + ".gz",
                      lambda tmp: bgzip_file(src, tmp))
    if compressor == "htslib":
        def make(tmp):
            if bgzip_file_htslib(src, tmp) is None:
                raise FileNotFoundError("htslib bgzip is not installed")
        return cached(_protein_name(n_records, wrap, seed) + ".htslib.gz", make)
    raise ValueError(f"unknown compressor {compressor!r}")


# -- VCF generators (see the module docstring for the reserved signatures) ---------------------
#: GRCh38 lengths of chr1..chr22, the contigs of the generated VCFs
_CONTIG_LENGTHS = (248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973,
                   145138636, 138394717, 133797422, 135086622, 133275309, 114364328, 107043718,
                   101991189, 90338345, 83257441, 80373285, 58617616, 64444167, 46709983,
                   50818468)
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
#: transition partner of A, C, G, T (by index)
_TRANSITION = np.array([2, 3, 0, 1])
#: samples in 1000 Genomes phase 3: AN of the generated sites
_N_1KG = 2504

_SITES_HEADER = """##fileformat=VCFv4.2
##source=genomicframe.asv_bench.datagen
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=q10,Description="Quality below 10">
{contigs}##INFO=<ID=AC,Number=A,Type=Integer,Description="Alternate allele count in genotypes">
##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles in called genotypes">
##INFO=<ID=AF,Number=A,Type=Float,Description="Estimated allele frequency">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Total read depth">
##INFO=<ID=RC,Number=R,Type=Integer,Description="Reads supporting each allele, REF first">
##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP membership">
##INFO=<ID=H2,Number=0,Type=Flag,Description="HapMap2 membership">
##INFO=<ID=VT,Number=1,Type=String,Description="Variant type: SNP, INDEL, MNP or SV">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Structural variant type">
##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the variant">
##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: Allele|Effect|Gene">
"""

_EFFECTS = ("missense_variant", "synonymous_variant", "intron_variant", "upstream_gene_variant",
            "3_prime_UTR_variant", "stop_gained")


def _contig_lines(n_contigs: int) -> str:
    return "".join(f"##contig=<ID=chr{i + 1},length={_CONTIG_LENGTHS[i]}>\n"
                   for i in range(n_contigs))


def _positions(rng, n: int, length: int) -> np.ndarray:
    """``n`` strictly increasing 1-based positions spread over ``[1, length)``."""
    gaps = rng.geometric(min(1.0, n / (length * 0.95)), n)
    pos = np.cumsum(gaps)
    return np.minimum(pos, length - n + np.arange(n))


def _seq(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


def _site_rows(rng_np, rng: random.Random, chrom: str, pos: np.ndarray) -> list[str]:
    """Sites-only VCF lines (no newline) for one batch of positions."""
    n = len(pos)
    kind = rng_np.random(n)                  # SNP < .86 < INS < .91 < DEL < .96 < MNP < .99 < SV
    multi = rng_np.random(n) < 0.05
    ref_base = rng_np.integers(0, 4, n)
    shift = np.where(rng_np.random(n) < 0.67, 0, rng_np.integers(1, 4, n))
    alt_base = np.where(shift == 0, _TRANSITION[ref_base], (ref_base + shift) % 4)
    ac = rng_np.geometric(0.02, (n, 3))
    dp = rng_np.poisson(18_000, n)
    qual = rng_np.lognormal(5.0, 1.2, n)
    qual_missing = rng_np.random(n) < 0.02
    filt = rng_np.choice(np.array(["PASS", "q10", "."]), n, p=[0.85, 0.10, 0.05])
    has_id = rng_np.random(n) < 0.4
    rsid = rng_np.integers(1, 900_000_000, n)
    flags_db = rng_np.random(n) < 0.3
    flags_h2 = rng_np.random(n) < 0.1
    ann = rng_np.random(n) < 0.2
    rows = []
    for i in range(n):
        k = kind[i]
        rb = "ACGT"[ref_base[i]]
        info_extra = ""
        if k < 0.86:
            vt, ref = "SNP", rb
            alts = ["ACGT"[alt_base[i]]]
            if multi[i]:
                others = [b for b in "ACGT" if b != rb and b != alts[0]]
                alts += others[: rng.choice((1, 1, 1, 2))]
        elif k < 0.96:
            vt = "INDEL"
            size = 1 + int(rng.expovariate(0.5))
            if k < 0.91:
                ref, alts = rb, [rb + _seq(rng, size)]
                if multi[i]:
                    alts.append(rb + _seq(rng, size + 1))
            else:
                ref, alts = rb + _seq(rng, size), [rb]
                if multi[i] and size > 1:
                    alts.append(ref[:-1])
        elif k < 0.99:
            vt = "MNP"
            ref = rb + _seq(rng, rng.choice((1, 1, 2)))
            alts = ["".join("ACGT"[("ACGT".index(c) + 1 + rng.randrange(3)) % 4] for c in ref)]
        else:
            vt, ref = "SV", rb
            sv = rng.choice(("DEL", "DUP", "INV"))
            alts = [f"<{sv}>"]
            info_extra = f";SVTYPE={sv};END={int(pos[i]) + rng.randrange(50, 50_000)}"
        na = len(alts)
        counts = ac[i, :na]
        af = ",".join(f"{c / (2 * _N_1KG):.4g}" for c in counts)
        rc_alt = [max(1, int(dp[i] * c / (2 * _N_1KG))) for c in counts]
        rc = ",".join(map(str, [max(0, int(dp[i]) - sum(rc_alt))] + rc_alt))
        info = (f"AC={','.join(map(str, counts))};AN={2 * _N_1KG};AF={af};DP={dp[i]};RC={rc};"
                f"VT={vt}{info_extra}")
        if flags_db[i]:
            info += ";DB"
        if flags_h2[i]:
            info += ";H2"
        if ann[i]:
            info += ";ANN=" + ",".join(f"{a}|{rng.choice(_EFFECTS)}|GENE{rng.randrange(20000)}"
                                       for a in alts)
        q = "." if qual_missing[i] else f"{qual[i]:.2f}"
        vid = f"rs{rsid[i]}" if has_id[i] else "."
        rows.append(f"{chrom}\t{pos[i]}\t{vid}\t{ref}\t{','.join(alts)}\t{q}\t{filt[i]}\t{info}")
    return rows


def vcf_sites(path, n_variants: int = 1_000_000, n_contigs: int = 3, seed: int = SEED) -> str:
    """Sites-only VCF 4.2 resembling 1000 Genomes sites; returns ``path``.

    8 columns; INFO AC/AF (Number=A), RC (Number=R), AN/DP (Number=1), flags DB
    and H2, strings VT and ANN (Number=.), SVTYPE/END on structural variants.
    About 86 % SNPs (2:1 transitions), 10 % indels, 3 % MNPs, 1 % symbolic SVs;
    ~5 % multi-allelic; ~40 % with an rs ID; QUAL with ~2 % '.'; FILTER
    PASS/q10/'.'.  Positions are sorted per contig.
    """
    if not 1 <= n_contigs <= len(_CONTIG_LENGTHS):
        raise ValueError(f"n_contigs must be in 1..{len(_CONTIG_LENGTHS)}")
    per = [n_variants // n_contigs + (1 if i < n_variants % n_contigs else 0)
           for i in range(n_contigs)]
    with open(path, "w") as fh:
        fh.write(_SITES_HEADER.format(contigs=_contig_lines(n_contigs)))
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for c, n in enumerate(per):
            rng_np = np.random.default_rng([seed, 10, c])
            pos = _positions(rng_np, n, _CONTIG_LENGTHS[c])
            for b, lo in enumerate(range(0, n, _BATCH)):
                rng = random.Random(seed * 1000 + c * 100 + b)
                rows = _site_rows(np.random.default_rng([seed, 11, c, b]), rng, f"chr{c + 1}",
                                  pos[lo:lo + _BATCH])
                fh.write("\n".join(rows))
                fh.write("\n")
    return os.fspath(path)


def _genotype_batch(rng, n_samples: int, af: np.ndarray, n_alt: np.ndarray):
    """FORMAT GT:DP:GQ:AD sample columns, one tab-joined string per variant (pyarrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    nv = len(af)
    shape = (nv, n_samples)
    p = af[:, None]
    a1 = (rng.random(shape) < p).astype(np.int64)
    a2 = (rng.random(shape) < p).astype(np.int64)
    tri = (n_alt == 2)[:, None] & (rng.random(shape) < 0.3)
    a2 = np.where(tri & (a2 == 1), 2, a2)
    phased = rng.random(shape) < 0.1
    missing = rng.random(shape) < 0.01
    code = np.where(missing, 18, a1 * 3 + a2 + 9 * phased).ravel()
    table = pa.array([f"{x}{'|' if ph else '/'}{y}" for ph in (0, 1) for x in range(3)
                      for y in range(3)] + ["./."])
    gt = table.take(pa.array(code))
    dp = np.minimum(rng.poisson(30, shape), 999)
    alt_reads = rng.binomial(dp, np.where(a1 + np.minimum(a2, 1) == 0, 0.02,
                                          np.where(a1 + np.minimum(a2, 1) == 1, 0.5, 0.98)))
    ref_reads = dp - alt_reads
    gq = np.minimum(99, rng.poisson(40, shape))

    def s(x):
        return pc.cast(pa.array(x.ravel()), pa.string())

    ad = pc.binary_join_element_wise(s(ref_reads), s(alt_reads), ",")
    ad_tri = pc.binary_join_element_wise(ad, pa.scalar("0"), ",")
    ad = pc.if_else(pa.array(np.repeat(n_alt == 2, n_samples)), ad_tri, ad)
    cells = pc.binary_join_element_wise(gt, s(dp), s(gq), ad, ":")
    cells = pc.if_else(pa.array(missing.ravel()), pa.scalar("./.:.:.:."), cells)
    rows = pa.ListArray.from_arrays(pa.array(np.arange(0, nv * n_samples + 1, n_samples,
                                                       dtype=np.int32)), cells)
    return pc.binary_join(rows, "\t")


def vcf_genotypes(path, n_variants: int = 100_000, n_samples: int = 200, seed: int = SEED) -> str:
    """VCF 4.2 with FORMAT GT:DP:GQ:AD for ``n_samples`` samples; returns ``path``.

    Two contigs; SNPs, ~5 % tri-allelic; GT diploid, ~10 % phased, ~1 %
    missing (``./.:.:.:.``); alternate allele frequencies from Beta(0.4, 3);
    AD split from DP by the genotype.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    samples = "\t".join(f"S{i:05d}" for i in range(n_samples))
    header = ("##fileformat=VCFv4.2\n##source=genomicframe.asv_bench.datagen\n"
              + _contig_lines(2)
              + '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">\n'
                '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total alleles">\n'
                '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">\n'
                '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">\n'
                '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
                '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n'
                '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
              + f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{samples}\n")
    per = [n_variants // 2 + n_variants % 2, n_variants // 2]
    step = max(1, 400_000 // max(1, n_samples))  # variants per batch (bounded memory)
    with open(path, "w") as fh:
        fh.write(header)
        for c, n in enumerate(per):
            pos = _positions(np.random.default_rng([seed, 20, c]), n, _CONTIG_LENGTHS[c])
            for b, lo in enumerate(range(0, n, step)):
                rng = np.random.default_rng([seed, 21, c, b])
                p = pos[lo:lo + step]
                nv = len(p)
                ref = rng.integers(0, 4, nv)
                alt1 = np.where(rng.random(nv) < 0.67, _TRANSITION[ref],
                                (ref + rng.integers(1, 4, nv)) % 4)
                alt2 = (alt1 + np.where((alt1 + 1) % 4 == ref, 2, 1)) % 4
                n_alt = np.where(rng.random(nv) < 0.05, 2, 1)
                af = np.clip(rng.beta(0.4, 3, nv), 0.001, 0.999)
                b_ = _BASES.view("S1").astype(str)
                alt = np.where(n_alt == 2, np.char.add(np.char.add(b_[alt1], ","), b_[alt2]),
                               b_[alt1])
                dp = rng.poisson(30 * n_samples, nv)
                acount = np.maximum(1, np.round(af * 2 * n_samples)).astype(np.int64)
                info = [f"AC={a}{',1' if k == 2 else ''};AN={2 * n_samples};AF={f:.4g}"
                        f"{',0.001' if k == 2 else ''};DP={d}"
                        for a, f, d, k in zip(acount.tolist(), af.tolist(), dp.tolist(),
                                              n_alt.tolist())]
                qual = rng.lognormal(5, 1, nv)
                sites = [f"chr{c + 1}\t{q}\t.\t{r}\t{a}\t{ql:.1f}\tPASS\t{i}\tGT:DP:GQ:AD"
                         for q, r, a, ql, i in zip(p.tolist(), b_[ref].tolist(), alt.tolist(),
                                                   qual.tolist(), info)]
                gts = _genotype_batch(rng, n_samples, af, n_alt)
                lines = pc.binary_join_element_wise(pa.array(sites), gts, "\t")
                fh.write("\n".join(lines.to_pylist()))
                fh.write("\n")
    return os.fspath(path)


def tabix_index(path) -> str | None:
    """Write ``<path>.tbi`` (pysam, else htslib ``tabix``); ``None`` when neither exists."""
    if os.path.exists(f"{path}.tbi") and os.path.getmtime(f"{path}.tbi") >= os.path.getmtime(path):
        return f"{path}.tbi"
    try:
        import pysam
    except ImportError:
        exe = shutil.which("tabix")
        if exe is None:
            return None
        subprocess.run([exe, "-f", "-p", "vcf", os.fspath(path)], check=True)
    else:
        pysam.tabix_index(os.fspath(path), preset="vcf", force=True)
    return f"{path}.tbi"


def _vcf_name(kind: str, n: int, extra: int, seed: int) -> str:
    return f"vcf_{kind}_n{n}_{extra}_s{seed}.vcf"


def cached_vcf_sites(n_variants: int = 1_000_000, n_contigs: int = 3, seed: int = SEED) -> str:
    """Path of the cached plain-text sites VCF (generated when missing)."""
    return cached(_vcf_name("sites", n_variants, n_contigs, seed),
                  lambda tmp: vcf_sites(tmp, n_variants, n_contigs, seed))


def cached_vcf_sites_gz(n_variants: int = 1_000_000, n_contigs: int = 3, seed: int = SEED,
                        repeat: int = 1) -> str:
    """Path of the cached BGZF sites VCF, tabix-indexed when pysam or tabix is available.

    ``repeat > 1`` writes the header once and the records ``repeat`` times (a
    ``repeat``-times larger file with the same content, for memory scaling;
    its positions are not sorted, so it is not indexed).
    """
    src = cached_vcf_sites(n_variants, n_contigs, seed)
    name = _vcf_name("sites", n_variants, n_contigs, seed)
    if repeat == 1:
        path = cached(name + ".gz", lambda tmp: bgzip_file(src, tmp))
        tabix_index(path)
        return path

    def make(tmp):
        from genomicframe.bgzf import Writer

        with open(src, "rb") as fin:
            data = fin.read()
        body = data.index(b"\n#CHROM")
        body = data.index(b"\n", body + 1) + 1
        with Writer(tmp, level=6) as w:
            w.write(data[:body])
            view = memoryview(data)[body:]
            for _ in range(repeat):
                for i in range(0, len(view), 8 << 20):
                    w.write(view[i:i + (8 << 20)])

    return cached(f"{name}.x{repeat}.gz", make)


def cached_vcf_genotypes(n_variants: int = 100_000, n_samples: int = 200,
                         seed: int = SEED) -> str:
    """Path of the cached plain-text genotype VCF (generated when missing)."""
    return cached(_vcf_name("gt", n_variants, n_samples, seed),
                  lambda tmp: vcf_genotypes(tmp, n_variants, n_samples, seed))


def cached_vcf_genotypes_gz(n_variants: int = 100_000, n_samples: int = 200,
                            seed: int = SEED) -> str:
    """Path of the cached BGZF genotype VCF, tabix-indexed when possible."""
    src = cached_vcf_genotypes(n_variants, n_samples, seed)
    path = cached(_vcf_name("gt", n_variants, n_samples, seed) + ".gz",
                  lambda tmp: bgzip_file(src, tmp))
    tabix_index(path)
    return path
