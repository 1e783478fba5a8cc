"""Regenerate the example files shipped in genomicframe/examples (deterministic).

    python tools/make_examples.py
"""
import os
import random

import genomicframe as gf

HERE = os.path.join(os.path.dirname(__file__), "..", "genomicframe", "examples")
AMINO = "ACDEFGHIKLMNPQRSTVWY"


def proteins(n=400, seed=7):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        length = max(30, min(3000, int(rng.lognormvariate(5.5, 0.6))))
        seq = "".join(rng.choice(AMINO) for _ in range(length))
        uid = "%032x" % rng.getrandbits(128)
        name = f"sample_{uid[:8]}-{uid[8:12]}-4{uid[13:16]}-a{uid[17:20]}-{uid[20:]}_{i}"
        wrapped = "\n".join(seq[j:j + 60] for j in range(0, len(seq), 60))
        out.append(f">{name} len={length}\n{wrapped}\n")
    return "".join(out).encode()


SAMPLES = ("HG00096", "HG00097", "NA12878")
CONTIGS = (("chr1", 2_000_000), ("chr2", 1_500_000), ("chrX", 1_000_000))


def variants(n_per_contig=700, seed=11):
    """A small multi-sample VCF 4.2 with INFO AC/AN/AF/DP/DB and FORMAT GT:DP:GQ."""
    rng = random.Random(seed)
    header = [
        "##fileformat=VCFv4.2",
        "##source=genomicframe tools/make_examples.py",
        *(f"##contig=<ID={c},length={n}>" for c, n in CONTIGS),
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=q10,Description="Quality below 10">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Combined depth">',
        '##INFO=<ID=DB,Number=0,Type=Flag,Description="In dbSNP">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES),
    ]
    lines = []
    bases = "ACGT"
    transition = {"A": "G", "G": "A", "C": "T", "T": "C"}
    for chrom, length in CONTIGS:
        positions = sorted(rng.sample(range(1, length), n_per_contig))
        for pos in positions:
            ref = rng.choice(bases)
            kind = rng.random()
            if kind < 0.6:
                alts = [transition[ref]]
            elif kind < 0.85:
                alts = [rng.choice([b for b in bases if b != ref])]
            elif kind < 0.93:
                alts = [ref + "".join(rng.choice(bases) for _ in range(rng.randint(1, 4)))]
            elif kind < 0.97:
                ref = ref + "".join(rng.choice(bases) for _ in range(rng.randint(1, 4)))
                alts = [ref[0]]
            else:
                alts = [b for b in bases if b != ref][:2]
            gts = []
            for _ in SAMPLES:
                a, b = rng.randint(0, len(alts)), rng.randint(0, len(alts))
                sep = "|" if rng.random() < 0.7 else "/"
                gt = "./." if rng.random() < 0.03 else f"{min(a, b)}{sep}{max(a, b)}"
                gts.append(f"{gt}:{rng.randint(3, 60)}:{rng.randint(1, 99)}")
            called = [g.split(":")[0] for g in gts]
            an = sum(2 for g in called if g != "./.")
            ac = [sum(g.replace("|", "/").split("/").count(str(i + 1)) for g in called)
                  for i in range(len(alts))]
            af = ",".join(f"{c / an:.3g}" if an else "." for c in ac)
            qual = "." if rng.random() < 0.02 else f"{rng.uniform(2, 200):.1f}"
            filt = "PASS" if qual == "." or float(qual) >= 10 else "q10"
            vid = f"rs{rng.randint(1000, 99999999)}" if rng.random() < 0.4 else "."
            info = f"AC={','.join(map(str, ac))};AN={an};AF={af};DP={rng.randint(10, 400)}"
            if vid != ".":
                info += ";DB"
            lines.append("\t".join([chrom, str(pos), vid, ref, ",".join(alts), qual, filt, info,
                                    "GT:DP:GQ", *gts]))
    return ("\n".join(header + lines) + "\n").encode()


if __name__ == "__main__":
    path = os.path.join(HERE, "proteins.fa.gz")
    with gf.bgzf.Writer(path, level=6, threads=1) as w:
        w.write(proteins())
    print(path, os.path.getsize(path))
    path = os.path.join(HERE, "calls.vcf.gz")
    with gf.bgzf.Writer(path, level=6, threads=1, block_size=16384) as w:
        w.write(variants())
    from genomicframe.index import write_index

    print(path, os.path.getsize(path), write_index(path, preset="vcf"))
