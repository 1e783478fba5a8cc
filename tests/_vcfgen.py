"""A deterministic small VCF for dataset-layer tests; its records are the pure-Python oracle."""
from __future__ import annotations

import random

HEADER = """##fileformat=VCFv4.3
##contig=<ID=chr1,length=100000>
##contig=<ID=chr2,length=100000>
##contig=<ID=chrX,length=100000>
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=q10,Description="Quality below 10">
##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">
##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP">
##INFO=<ID=END,Number=1,Type=Integer,Description="End position">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
"""


def records(n: int = 600, seed: int = 5) -> list[dict]:
    """Sorted records: chrom, pos (1-based), ref, alt, qual (None for '.'), filter, dp, db, end."""
    rng = random.Random(seed)
    out = []
    for chrom in ("chr1", "chr2", "chrX"):
        pos = 0
        for _ in range(n // 3):
            pos += rng.randint(1, 300)
            ref = rng.choice(["A", "C", "G", "T", "AT", "GCC"])
            n_alt = rng.choice([1, 1, 1, 2])
            alts = [rng.choice(["A", "C", "G", "T", "TTA"]) for _ in range(n_alt)]
            qual = None if rng.random() < 0.1 else round(rng.uniform(0, 80), 1)
            flt = rng.choice(["PASS", "PASS", "q10", "."])
            dp = rng.randint(0, 100)
            db = rng.random() < 0.3
            end = pos - 1 + len(ref)
            if rng.random() < 0.05:  # a long symbolic deletion with INFO/END
                alts, end = ["<DEL>"], pos + rng.randint(50, 900)
            out.append({"chrom": chrom, "pos": pos, "ref": ref, "alt": alts, "qual": qual,
                        "filter": flt, "dp": dp, "db": db, "end": end,
                        "af": [round(rng.random(), 3) for _ in alts]})
    return out


def write_vcf(path, recs, bgzf: bool = True) -> str:
    lines = [HEADER]
    for r in recs:
        info = [f"AF={','.join(str(a) for a in r['af'])}", f"DP={r['dp']}"]
        if r["db"]:
            info.append("DB")
        if r["alt"] == ["<DEL>"]:
            info.append(f"END={r['end']}")
        qual = "." if r["qual"] is None else str(r["qual"])
        lines.append(f"{r['chrom']}\t{r['pos']}\t.\t{r['ref']}\t{','.join(r['alt'])}\t{qual}\t"
                     f"{r['filter']}\t{';'.join(info)}\n")
    data = "".join(lines).encode()
    path = str(path)
    if bgzf:
        from genomicframe import bgzf as _bgzf

        with _bgzf.Writer(path, block_size=4096) as w:
            w.write(data)
    else:
        with open(path, "wb") as fh:
            fh.write(data)
    return path
