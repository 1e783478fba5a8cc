"""FASTA indexing and batch retrieval peer comparison (a topic of ``compare.py``).

Input: the protein FASTA of :mod:`benchmarks.datagen` (``--size full``: 1 M
records, ``>sample_<uuid4>_<n>`` headers, lognormal lengths, ~325 MB), one
sequence line per record and wrapped at 60, BGZF-compressed by our Writer.

Whole processes, start-up included, output to /dev/null, files in the page cache:

* index build: ``genomicframe index -@2`` vs ``samtools faidx`` and pyfastx
  (``Fasta(build_index=True)``), each on its own copy of the file, old index
  files removed before every run;
* retrieval of 3 000 and 20 000 random names (same names for every tool, in a
  random order): ``genomicframe fetch -r`` vs ``samtools faidx -r``, pyfastx and
  pyfaidx by name, and a ``bgzip -b OFFSET -s SIZE`` loop over the ``.loc`` (the
  users' workflow) run on 300 names and extrapolated.  pyfaidx needs Biopython
  to read BGZF; without it, it reads the uncompressed file (noted).

Checks (issue "Rapid retrieval from very large BGZF FASTA files", DESIGN.md):
index build >= 4x faster than samtools faidx; 3 000 and 20 000 names >= 5x
faster than ``samtools faidx -r`` and faster than pyfastx; peak RSS for 20 000
names < 150 MB; every needed block inflated once; our FASTA output identical
to samtools'.
"""
from __future__ import annotations

import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

from benchmarks import datagen
from compare import Context, Row

WRAPS = (None, 60)
BATCHES = (3000, 20000)
LOOP_NAMES = 300

PYFASTX_INDEX = ("import os, sys, pyfastx\n"
                 "p = sys.argv[1]\n"
                 "if os.path.exists(p + '.fxi'): os.unlink(p + '.fxi')\n"
                 "pyfastx.Fasta(p, build_index=True)\n")
PYFASTX_FETCH = ("import sys, pyfastx\n"
                 "fa = pyfastx.Fasta(sys.argv[1])\n"
                 "out = sys.stdout\n"
                 "for n in open(sys.argv[2]).read().split():\n"
                 "    out.write('>' + n + '\\n' + fa[n].seq + '\\n')\n")
PYFAIDX_FETCH = ("import sys, pyfaidx\n"
                 "fa = pyfaidx.Fasta(sys.argv[1], read_ahead=None, as_raw=True)\n"
                 "out = sys.stdout\n"
                 "for n in open(sys.argv[2]).read().split():\n"
                 "    out.write('>' + n + '\\n' + fa[n][:] + '\\n')\n")
SAMTOOLS_INDEX = "rm -f \"$1.fai\" \"$1.gzi\"; exec samtools faidx \"$1\""
GF_INDEX = "rm -f \"$1.fai\" \"$1.gzi\" \"$1.gfi\"; exec \"$0\" index -@ 2 \"$1\""
BGZIP_LOOP = ("while IFS=$'\\t' read -r name off size; do bgzip -b \"$off\" -s \"$size\" \"$1\"; "
              "done < \"$2\"")


def _copy(src: str, dst_dir: str, tag: str) -> str:
    dst = os.path.join(dst_dir, f"{tag}_{os.path.basename(src)}")
    if not os.path.exists(dst) or os.path.getsize(dst) != os.path.getsize(src):
        shutil.copyfile(src, dst)
    return dst


def _names(fai: str, n: int, seed: int) -> list[str]:
    with open(fai) as fh:
        names = [line.split("\t", 1)[0] for line in fh]
    return random.Random(seed).sample(names, min(n, len(names)))


def _index_rows(ctx: Context, gz: str, work: str, usize: int, label: str) -> list[Row]:
    gf = ctx.gf_cli()
    cmds = {"gf": ["bash", "-c", GF_INDEX, gf, _copy(gz, work, "gf")]}
    if ctx.which("samtools", "samtools faidx rows"):
        cmds["samtools"] = ["bash", "-c", SAMTOOLS_INDEX, "samtools", _copy(gz, work, "st")]
    if ctx.importable("pyfastx"):
        cmds["pyfastx"] = [sys.executable, "-c", PYFASTX_INDEX, _copy(gz, work, "px")]
    ctx.log(f"index build ({label}): {', '.join(cmds)} x {ctx.repeat}")
    m = ctx.measure_processes(cmds)
    task = f"index build, {label}"
    rows = [Row.measured(task, "genomicframe index -@2", m["gf"], usize, ours=True,
                         note=".fai + .gzi + .gfi")]
    if "samtools" in m:
        rows.append(Row.measured(task, "samtools faidx", m["samtools"], usize, note=".fai + .gzi"))
        ctx.check(f"index build ({label}): samtools faidx / genomicframe index (time)",
                  m["samtools"].seconds / m["gf"].seconds, 4.0)
    if "pyfastx" in m:
        rows.append(Row.measured(task, "pyfastx Fasta(build_index=True)", m["pyfastx"], usize,
                                 note=".fxi"))
    # correctness of what we wrote
    gf_copy, st_copy = cmds["gf"][-1], cmds.get("samtools", [None])[-1]
    if st_copy:
        for ext in (".fai", ".gzi"):
            same = _same_file(gf_copy + ext, st_copy + ext)
            ctx.check(f"index build ({label}): our {ext} byte-identical to samtools' (1 = yes)",
                      1.0 if same else 0.0, 1.0)
    return rows


def _same_file(a: str, b: str) -> bool:
    if os.path.getsize(a) != os.path.getsize(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 22), fb.read(1 << 22)
            if x != y:
                return False
            if not x:
                return True


def _fetch_rows(ctx: Context, gz: str, plain: str, work: str, label: str) -> list[Row]:
    gf = ctx.gf_cli()
    ours = _copy(gz, work, "gf")
    subprocess.run([gf, "index", "--loc", ours], check=True)
    samtools = shutil.which("samtools")
    st = _copy(gz, work, "st")
    if samtools:
        subprocess.run([samtools, "faidx", st], check=True)
    have_pyfastx = ctx.importable("pyfastx")
    px = _copy(gz, work, "px")
    if have_pyfastx:
        subprocess.run([sys.executable, "-c", "import sys, pyfastx; pyfastx.Fasta(sys.argv[1])",
                        px], check=True)
    have_pyfaidx = ctx.importable("pyfaidx")
    try:
        import Bio  # noqa: F401  (pyfaidx reads BGZF through Biopython)
        pf, pf_note = _copy(gz, work, "pf"), "BGZF"
    except ImportError:
        pf = _copy(plain, work, "pf")
        pf_note = "reads the uncompressed file (no Biopython for BGZF)"
    if have_pyfaidx:
        subprocess.run([sys.executable, "-c", "import sys, pyfaidx; pyfaidx.Fasta(sys.argv[1])",
                        pf], check=True)
    bgzip = ctx.which("bgzip", "the bgzip -b/-s loop")
    ctx.warm(ours, st, px, pf)
    rows = []
    for n in BATCHES:
        names = _names(ours + ".fai", n, seed=n)
        nfile = os.path.join(work, f"names_{label}_{n}.txt")
        with open(nfile, "w") as fh:
            fh.write("\n".join(names) + "\n")
        cmds = {"gf": [gf, "fetch", ours, "-r", nfile]}
        if samtools:
            cmds["samtools"] = [samtools, "faidx", "-r", nfile, st]
        if have_pyfastx:
            cmds["pyfastx"] = [sys.executable, "-c", PYFASTX_FETCH, px, nfile]
        if have_pyfaidx:
            cmds["pyfaidx"] = [sys.executable, "-c", PYFAIDX_FETCH, pf, nfile]
        ctx.log(f"fetch {n} names ({label}): {', '.join(cmds)} x {ctx.repeat}")
        # every contender's data and index files start in the page cache (files idle for
        # a minute may have been paged out since they were written)
        ctx.warm(*_with_indexes(ours, st, px, pf))
        m = ctx.measure_processes(cmds)
        task = f"fetch {n:,} names, {label}"
        ctx.warm(*_with_indexes(ours))
        stats = _verbose_stats(gf, ours, nfile, runs=3)
        _drop_from_cache(ours + ".gfi")
        cold = _verbose_stats(gf, ours, nfile)
        rows.append(Row.measured(task, "genomicframe fetch -r", m["gf"], ours=True,
                                 note=f"{stats['inflated']} blocks inflated once, "
                                      f"lookup {stats['lookup_ms']:.1f} ms (median of 3) "
                                      f"({cold['lookup_ms']:.0f} ms with the .gfi out of "
                                      f"the page cache)"))
        ctx.check(f"fetch {n} ({label}): blocks inflated / blocks needed (1 = each once)",
                  stats["inflated"] / max(stats["needed"], 1), 1.0, higher_is_better=False)
        ctx.check(f"fetch {n} ({label}): name lookup (index in page cache), ms",
                  stats["lookup_ms"], 10.0,
                  higher_is_better=False)
        if n == 20000:
            ctx.check(f"fetch {n} ({label}): genomicframe peak RSS, MB", m["gf"].rss_mb, 150.0,
                      higher_is_better=False)
        if samtools:
            rows.append(Row.measured(task, "samtools faidx -r", m["samtools"]))
            ctx.check(f"fetch {n} ({label}): samtools faidx -r / genomicframe fetch (time)",
                      m["samtools"].seconds / m["gf"].seconds, 5.0)
            same = _same_output([gf, "fetch", ours, "-r", nfile],
                                [samtools, "faidx", "-r", nfile, st])
            ctx.check(f"fetch {n} ({label}): output byte-identical to samtools (1 = yes)",
                      1.0 if same else 0.0, 1.0)
        if have_pyfastx:
            rows.append(Row.measured(task, "pyfastx fa[name].seq", m["pyfastx"]))
            ctx.check(f"fetch {n} ({label}): pyfastx / genomicframe fetch (time)",
                      m["pyfastx"].seconds / m["gf"].seconds, 1.0)
        if have_pyfaidx:
            rows.append(Row.measured(task, "pyfaidx fa[name][:]", m["pyfaidx"], note=pf_note))
        if bgzip:
            rows.append(_bgzip_loop(ctx, bgzip, ours, names, n, work, task))
    return rows


def _with_indexes(*paths: str) -> list:
    """``paths`` and the index files beside each (``PATH.*``)."""
    out = []
    for p in paths:
        out.append(p)
        out += sorted(glob.glob(glob.escape(p) + ".*"))
    return [p for p in out if os.path.isfile(p)]


def _drop_from_cache(path: str) -> None:
    """Ask the kernel to drop ``path``'s pages from the page cache (a cold index)."""
    with open(path, "rb") as fh:
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def _verbose_stats(gf: str, path: str, nfile: str, runs: int = 1) -> dict:
    """Blocks needed and inflated, and the name lookup's time (the median of ``runs``
    fresh processes)."""
    looks = []
    for _ in range(runs):
        err = subprocess.run([gf, "fetch", "-v", path, "-r", nfile], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, check=True).stderr
        m = re.search(r"(\d+) of (\d+) needed BGZF blocks inflated once each", err)
        lk = re.search(r"lookup ([\d.]+) ms", err)
        looks.append(float(lk.group(1)) if lk else float("nan"))
    return {"inflated": int(m.group(1)) if m else 0, "needed": int(m.group(2)) if m else 0,
            "lookup_ms": sorted(looks)[len(looks) // 2]}


def _same_output(a: list, b: list) -> bool:
    with tempfile.TemporaryFile() as fa, tempfile.TemporaryFile() as fb:
        subprocess.run(a, stdout=fa, check=True)
        subprocess.run(b, stdout=fb, check=True, stderr=subprocess.DEVNULL)
        fa.seek(0)
        fb.seek(0)
        return fa.read() == fb.read()


def _bgzip_loop(ctx: Context, bgzip: str, path: str, names: list, n: int, work: str,
                task: str) -> Row:
    wanted = set(names[:LOOP_NAMES])
    q = os.path.join(work, f"loop_{os.path.basename(path)}_{n}.loc")
    with open(path + ".loc") as fin, open(q, "w") as fout:
        for line in fin:
            if line.split("\t", 1)[0] in wanted:
                fout.write(line)
    m = ctx.measure_processes({"loop": ["bash", "-c", BGZIP_LOOP, bgzip, path, q]},
                              repeat=1)["loop"]
    scale = n / LOOP_NAMES
    m.seconds *= scale
    if m.cpu_s is not None:
        m.cpu_s *= scale
    return Row.measured(task, "bgzip -b -s loop over .loc", m,
                        note=f"{LOOP_NAMES} names timed, x{scale:g}")


def run(ctx: Context) -> list[Row]:
    n = ctx.protein_records
    work = os.path.join(ctx.data_dir, f"compare_fasta_{n}")
    os.makedirs(work, exist_ok=True)
    rows = []
    for wrap in WRAPS:
        label = f"{'unwrapped' if wrap is None else f'wrapped {wrap}'}, {n:,} records"
        plain = datagen.cached_protein_fasta(n, wrap=wrap)
        gz = datagen.cached_protein_fasta_gz(n, wrap=wrap)
        usize = os.path.getsize(plain)
        ctx.warm(gz)
        rows += _index_rows(ctx, gz, work, usize, label)
        rows += _fetch_rows(ctx, gz, plain, work, label)
    return rows
