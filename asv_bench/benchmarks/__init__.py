"""asv benchmarks for genomicframe (see ``asv_bench/README.md``).

Shared, seeded input data comes from :mod:`.datagen`; each topic has one module
(``bgzf.py``, and ``fasta.py`` / ``vcf.py`` from the format benchmarks).
"""
