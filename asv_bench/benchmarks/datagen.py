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

VCF generators (reserved; to be added by the VCF benchmarks)
-------------------------------------------------------------
The VCF benchmarks add their generators to this module, below the marked
section at the end, with these signatures and the same rules (seeded
``numpy.random.default_rng`` / ``random.Random`` only, vectorised, written
through :func:`atomic_output`, cached through :func:`cached`)::

    def vcf_sites(path, n_variants=1_000_000, n_contigs=3, seed=SEED) -> str:
        '''Sites-only VCF 4.2 (8 columns, no FORMAT/samples): header with
        ##contig lines and typed ##INFO (DP Integer 1, AF Float A, DB Flag,
        ANN String .), sorted positions per contig, ~5 % multi-allelic, QUAL
        with ~2 % '.', FILTER PASS/q10/'.'.  Returns ``path``.'''

    def vcf_genotypes(path, n_variants=100_000, n_samples=250, seed=SEED) -> str:
        '''VCF 4.2 with FORMAT GT:DP:GQ for ``n_samples`` samples; GT diploid,
        ~90 % unphased '/', ~1 % missing './.', allele frequencies from a
        beta distribution.  Returns ``path``.'''

    def cached_vcf_sites(**kw) -> str          # plain-text path in data_dir()
    def cached_vcf_sites_gz(**kw) -> str       # BGZF (ours); tabix it if needed
    def cached_vcf_genotypes(**kw) -> str
    def cached_vcf_genotypes_gz(**kw) -> str
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
    "cached_protein_fasta_gz", "SIZES",
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
