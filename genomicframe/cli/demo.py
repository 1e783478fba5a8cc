"""``genomicframe demo``: a short tour on the example files that ship with the package."""
from __future__ import annotations

import argparse
import time

HELP = "run a short tour of genomicframe on the bundled example files"


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help=HELP, description=HELP + ".")
    p.add_argument("-@", "--threads", type=int, default=None, metavar="N",
                   help="threads to use (default: one per core)")
    p.set_defaults(func=run)


def _section(title: str) -> None:
    print(f"\n== {title} ==")


def run(args: argparse.Namespace) -> int:
    import genomicframe as gf

    path = gf.examples.path("proteins.fa.gz")
    print(f"genomicframe {gf.__version__} demo — example files in {path.rsplit('/', 1)[0]}")

    _section("BGZF block table (read from block headers only, nothing inflated)")
    table = gf.bgzf.scan_file(path)
    print(f"proteins.fa.gz: {len(table)} blocks, {table.compressed_end:,} bytes compressed -> "
          f"{table.uncompressed_size:,} bytes; EOF marker: {table.has_eof_marker}")
    for i in range(len(table)):
        print(f"  block {i}: coffset={int(table.coffset[i]):>7,}  csize={int(table.csize[i]):>6,}"
              f"  usize={int(table.usize[i]):>6,}  uoffset={int(table.uoffset[i]):>8,}")

    _section("Parallel inflate into line-aligned chunks")
    t0 = time.perf_counter()
    with gf.bgzf.Reader(path, threads=args.threads) as r:
        chunks = list(r.chunks())
    dt = time.perf_counter() - t0
    records = sum(bytes(c.data).count(b">") for c in chunks)
    print(f"{len(chunks)} chunks, {sum(len(c) for c in chunks):,} bytes, {records} FASTA records "
          f"in {dt * 1e3:.1f} ms on {r.threads} thread(s)")

    _section("Random access through the .gzi index (virtual offsets)")
    gzi = gf.bgzf.GziIndex.from_blocks(table)
    target = table.uncompressed_size // 2
    voff = int(gzi.virtual_offset(target))
    with gf.bgzf.open(path) as fh:
        fh.seek(voff)
        line = fh.readline()
    coff, within = gf.bgzf.split_voffset(voff)
    print(f"uncompressed offset {target:,} = virtual offset {voff:#x} "
          f"(block at {coff:,}, +{within}); the rest of that line: {line[:50]!r}...")
    _fasta_demo(path, args.threads)
    _vcf_demo(gf.examples.path("calls.vcf.gz"), args.threads)
    print("\nMore: `genomicframe --help`")
    return 0


def _fasta_demo(path: str, threads) -> None:
    """Index a copy of the example FASTA in a temporary folder and fetch a few records."""
    import io
    import shutil
    import tempfile

    import genomicframe as gf

    _section("FASTA: one-pass index, then batch fetch by name (each block inflated once)")
    with tempfile.TemporaryDirectory(prefix="gf-demo-") as d:
        copy = shutil.copy(path, d)
        t0 = time.perf_counter()
        res = gf.fasta.build_index(copy, threads=threads, loc=True)
        dt = time.perf_counter() - t0
        print(f"indexed {res.n_records} records ({res.n_blocks} BGZF blocks) in {dt * 1e3:.1f} ms: "
              + ", ".join(p.rsplit("/", 1)[-1] for p in res.written))
        with gf.FastaFile(copy, threads=threads) as fa:
            names = [fa.name(i) for i in (0, len(fa) // 2, len(fa) - 1)]
            table = fa.fetch_many(names + [f"{names[1]}:1-12"])
            for row in table.to_pylist():
                print(f"  {row['name']}[{row['start']}:{row['end']}]  {row['sequence'][:40]}"
                      f"{'...' if len(row['sequence']) > 40 else ''}")
            print(f"  {fa.last_fetch_stats.summary()}")
            out = io.BytesIO()
            fa.fetch_many(names[:1], out=out)
            print("  as `samtools faidx` prints it:")
            for line in out.getvalue().decode().splitlines()[:3]:
                print(f"    {line}")
    print("More: `genomicframe index --help`, `genomicframe fetch --help`, docs/fasta.md")


def _vcf_demo(path: str, threads) -> None:
    """VCF end to end: schema, a filtered lazy scan with its plan, statistics, genotypes, SQL."""
    import genomicframe as gf

    _section("VCF as Arrow: typed schema from the header")
    ds = gf.dataset(path, threads=threads) if threads else gf.dataset(path)
    schema = ds.schema
    info = schema.field("info").type
    print(f"calls.vcf.gz: {len(schema)} columns; info has {info.num_fields} typed fields "
          f"({', '.join(f'{info.field(i).name}: {info.field(i).type}' for i in range(info.num_fields))})")

    _section("A lazy scan: the filter goes to the tabix index and into the parser")
    plan = (gf.scan(path)
            .filter("chrom == 'chr2' and pos >= 200000 and pos < 600000 and qual >= 30")
            .select("chrom", "pos", "ref", "alt", "qual", "info"))
    print(plan.explain())
    table = plan.to_arrow()
    print(f"-> {table.num_rows} rows; first three:")
    for row in table.slice(0, 3).to_pylist():
        print(f"  {row['chrom']}:{row['pos']} {row['ref']}>{','.join(row['alt'])} "
              f"qual={row['qual']:.1f} AF={[round(a, 3) for a in row['info']['AF']]}")

    _section("One-pass statistics (the numbers bcftools stats reports)")
    summary = gf.scan(path).stats().to_dict()["summary"]
    keys = ("records", "snps", "mnps", "indels", "multiallelic", "ts", "tv", "ts_tv", "qual_mean")
    print("  " + ", ".join(f"{k}={summary[k]:.2f}" if isinstance(summary[k], float)
                           else f"{k}={summary[k]}" for k in keys))

    _section("Genotypes as a numpy array (variants x samples x ploidy)")
    from genomicframe.formats.vcf import genotype_array

    gt = genotype_array(path)
    print(f"  shape {gt.shape}, dtype {gt.dtype}; first variant: {gt[0].tolist()} (-1 = missing)")

    try:
        import duckdb
    except ImportError:
        print("\n(install duckdb to see the same dataset queried with SQL)")
        return
    _section("DuckDB: SQL over the dataset, columns and filter pushed into the parser")
    con = duckdb.connect()
    gf.io.duckdb.register(con, "calls", ds)
    rows = con.sql("SELECT chrom, count(*) AS n FROM calls WHERE qual >= 30 "
                   "GROUP BY chrom ORDER BY chrom").fetchall()
    print("  " + ", ".join(f"{c}: {n}" for c, n in rows))
