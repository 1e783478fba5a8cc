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


if __name__ == "__main__":
    path = os.path.join(HERE, "proteins.fa.gz")
    with gf.bgzf.Writer(path, level=6, threads=1) as w:
        w.write(proteins())
    print(path, os.path.getsize(path))
