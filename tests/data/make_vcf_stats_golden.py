"""Write the VcfStats test inputs and their ``bcftools stats`` expectations.

Run from the repository root (needs ``bcftools`` on PATH; the tests do not)::

    python tests/data/make_vcf_stats_golden.py [REAL_DATA_DIR]

It writes, next to this script:

* ``vcf_stats_edge_cases.vcf`` — one record per allele-classification rule;
* ``vcf_stats_generated.vcf.gz`` — 4000 seeded random records (BGZF);
* ``vcf_stats_golden.json`` — for each file the numbers of ``bcftools stats FILE``:
  the SN lines, the TSTV line, and the insertion/deletion totals of the IDD
  lines; for the edge cases also each record alone (``bcftools stats`` on a
  copy holding the header and that record); and, when ``REAL_DATA_DIR`` (the
  shared ``real`` folder) is given, every parseable VCF under its ``vcf/``
  folder (files in ``*failed*`` folders and files bcftools rejects are left
  out).  ``blank_lines`` records how many empty lines a file has: bcftools
  counts each as a record without an ALT allele, genomicframe does not.
"""
from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr1>
##contig=<ID=chr2>
##contig=<ID=chr3>
##FILTER=<ID=q10,Description="Quality below 10">
##FILTER=<ID=s50,Description="Less than 50% of samples have data">
##INFO=<ID=END,Number=1,Type=Integer,Description="End position">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO
"""

# (REF, ALT) pairs, each exercising one rule of the allele classification
EDGE = [
    ("A", "G"), ("A", "C"), ("A", "G,T"), ("AC", "GC"), ("CA", "CG"), ("AC", "A"), ("A", "AT"),
    ("AC", "GT"), ("ACG", "TT"), ("A", "<DEL>"), ("A", "*"), ("A", "<*>"), ("A", "<NON_REF>"),
    ("A", "."), ("A", "G]chr2:100]"), ("A", "]chr2:100]A"), ("A", ".A"), ("A", "A."),
    ("A", "G,AT,<DEL>"), ("a", "g"), ("a", "A"), ("A", "a"), ("N", "A"), ("A", "N"), ("A", "X"),
    ("A", "<X>"), ("AC", "AT"), ("ACGT", "ATGC"), ("ACGT", "AGT"), ("ACG", "AGCG"), ("A", "C,T"),
    ("A", "C,C"), ("A", "A"), ("AC", "GC,TT"), ("A", "<*>,G"), ("A", "*,G"), ("ac", "gc"),
    ("A", "R"), ("A", "AT,G"), ("A", "C,AT"), ("C", "T,<NON_REF>"), ("A", "*,<*>"),
    ("ACG", "A,AT"), ("ACGT", "TCGA"), ("ACGT", "TCGT"), ("ACGT", "ACGA"), ("G", "A,C,T"),
    ("A", "ACGT,AC"), ("AT", "A,ATT"), ("AGA", "ACA,AG"), ("TA", "CG"), ("A", "AA"), ("AA", "A"),
    ("CAT", "CGT,CAT"), ("A", "[chr2:1[A"), ("A", "A[chr2:1["), ("A", "<INS:ME>"), ("A", "G,*"),
    ("A", "<DEL>,<DUP>"), ("AT", "GC,GT"), ("T", "C,C,C"), ("A", "G,."), ("AC", "AC"),
    ("ACT", "AGA"), ("ACTG", "AGAG"), ("AT", "TA"), ("CTTT", "C,CT,CTT"), ("GAAAA", "GAA,GAAAAA"),
    ("ACGTACGT", "ACGAACGT"), ("ACGTACGT", "TCGTACGA"), ("AAAAA", "AAAA"), ("T", "<DUP:TANDEM>"),
]


def edge_vcf() -> str:
    rows = []
    for i, (ref, alt) in enumerate(EDGE, 1):
        qual = "." if i % 7 == 0 else str(10 * (i % 9) + 0.5)
        filt = (".", "PASS", "q10", "q10;s50")[i % 4]
        rows.append(f"chr1\t{i}\te{i}\t{ref}\t{alt}\t{qual}\t{filt}\t.")
    return HEADER + "\n".join(rows) + "\n"


def _seq(rnd, n):
    return "".join(rnd.choice("ACGT") for _ in range(n))


def random_allele(rnd, ref):
    roll = rnd.random()
    if roll < 0.55:
        return rnd.choice([b for b in "ACGT" if b != ref[0]]) + ref[1:] if len(ref) == 1 else \
            ref[0] + _seq(rnd, len(ref) - 1)
    if roll < 0.70:
        return ref[0] + _seq(rnd, rnd.randint(1, 8))            # insertion-like
    if roll < 0.75:
        return _seq(rnd, len(ref))                                # MNP-like when len(ref) > 1
    if roll < 0.80:
        return rnd.choice(["<DEL>", "<DUP>", "<INS:ME:ALU>", "<*>", "<NON_REF>", "*"])
    if roll < 0.83:
        return rnd.choice([f"{ref[0]}]chr3:{rnd.randint(1, 10**6)}]",
                           f"[chr2:{rnd.randint(1, 10**6)}[{ref[0]}", f".{ref[0]}", f"{ref[0]}."])
    if roll < 0.86:
        return rnd.choice(["N", "R", ref.lower(), ref, "X"])
    return _seq(rnd, rnd.randint(1, 4))                          # complex


def generated_vcf(n: int = 4000, seed: int = 20261121) -> str:
    rnd = random.Random(seed)
    rows = []
    pos = 0
    chrom = 1
    for i in range(n):
        if i and i % 1500 == 0:
            chrom += 1
            pos = 0
        pos += rnd.randint(1, 300)
        ref_len = rnd.choice([1] * 14 + [2, 3, 5, 12])
        ref = _seq(rnd, ref_len)
        k = 1 if rnd.random() < 0.93 else rnd.randint(2, 4)
        alts = [random_allele(rnd, ref) for _ in range(k)]
        alt = "." if rnd.random() < 0.01 else ",".join(alts)
        qual = "." if rnd.random() < 0.1 else f"{rnd.uniform(0, 300):.1f}"
        filt = rnd.choice(["PASS"] * 6 + ["q10", "s50", "q10;s50", "."])
        rows.append(f"chr{chrom}\t{pos}\tg{i}\t{ref}\t{alt}\t{qual}\t{filt}\t.")
    return HEADER + "\n".join(rows) + "\n"


def bcftools_numbers(path) -> dict:
    out = subprocess.run(["bcftools", "stats", str(path)], capture_output=True, text=True,
                         check=True).stdout
    sn, tstv, ins, dele = {}, None, 0, 0
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] == "SN":
            sn[f[2].rstrip(":")] = int(f[3])
        elif f[0] == "TSTV":
            tstv = [int(f[2]), int(f[3]), int(f[5]), int(f[6])]
        elif f[0] == "IDD":
            if int(f[2]) > 0:
                ins += int(f[3])
            else:
                dele += int(f[3])
    return {"sn": sn, "tstv": tstv, "idd": [ins, dele]}


def _text(path) -> str:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        return fh.read()


def main(argv) -> None:
    version = subprocess.run(["bcftools", "--version"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]
    edge = HERE / "vcf_stats_edge_cases.vcf"
    edge.write_text(edge_vcf())
    gen = HERE / "vcf_stats_generated.vcf.gz"
    sys.path.insert(0, str(HERE.parent.parent))
    import genomicframe as gf

    with gf.bgzf.Writer(gen, threads=1) as w:
        w.write(generated_vcf().encode())
    golden = {"bcftools": version, "files": {}, "edge_records": {}, "real": {}}
    for p in (edge, gen):
        golden["files"][p.name] = bcftools_numbers(p)
    lines = edge.read_text().splitlines()
    head = [x for x in lines if x.startswith("#")]
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.vcf"
        for rec in (x for x in lines if not x.startswith("#")):
            one.write_text("\n".join(head + [rec]) + "\n")
            golden["edge_records"][rec.split("\t")[2]] = bcftools_numbers(one)
    if len(argv) > 1:
        real = Path(argv[1])
        for p in sorted((real / "vcf").rglob("*")):
            if not (p.name.endswith(".vcf") or p.name.endswith(".vcf.gz")):
                continue
            if any("failed" in part for part in p.parts):
                continue
            try:
                numbers = bcftools_numbers(p)
            except subprocess.CalledProcessError:
                continue
            text = _text(p)
            numbers["blank_lines"] = sum(1 for x in text.split("\n")[:-1] if x.strip("\r") == "")
            golden["real"][p.relative_to(real).as_posix()] = numbers
    (HERE / "vcf_stats_golden.json").write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv)
