"""BGZF peer comparison (a topic of ``compare.py``).

Input: the protein FASTA of :mod:`benchmarks.datagen` (``--size full``: 1 M
records on one line each, ~325 MB), BGZF-compressed by our Writer at level 6.

* in-process inflate: ``Reader.pieces()`` / ``.chunks()`` at 1 and 2 threads
  against the bare ISA-L loop (file in memory) at 1 and 2 threads;
* whole processes, start-up included, output to /dev/null:
  ``genomicframe bgzip -d -@N -c`` vs htslib ``bgzip -d -@N -c`` and Python's
  ``gzip`` module; ``genomicframe bgzip -@N -c`` vs ``bgzip -@N -c``;
* start-up: decompressing an empty BGZF file.

Targets (DESIGN.md): Reader >= 0.9x bare isal at 1 thread, >= 1.7x going to
2 threads; CLI >= 1.25x faster than ``bgzip -d -@2``; CLI start-up < 0.15 s.
"""
from __future__ import annotations

import os
import sys

import genomicframe as gf

from benchmarks import datagen
from benchmarks.baselines import BareIsalInflater
from compare import Context, Row

# the gzip-module contender: stream a (multi-member) gzip file to stdout
GZIP_MODULE = ("import gzip, shutil, sys\n"
               "with gzip.open(sys.argv[1], 'rb') as f:\n"
               "    shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)\n")


def _drain_reader(path: str, threads: int, method: str) -> None:
    with gf.bgzf.Reader(path, threads=threads) as r:
        for _ in getattr(r, method)():
            pass


def _in_process(ctx: Context, gz: str, usize: int) -> list[Row]:
    bare = {t: BareIsalInflater(gz, t) for t in (1, 2)}
    try:
        fns = {}
        for t in (1, 2):
            fns[("pieces", t)] = lambda t=t: _drain_reader(gz, t, "pieces")
            fns[("chunks", t)] = lambda t=t: _drain_reader(gz, t, "chunks")
            fns[("bare", t)] = bare[t]
        ctx.log(f"in-process inflate, {len(fns)} contenders x {ctx.repeat}")
        m = ctx.measure_calls(fns)
    finally:
        for b in bare.values():
            b.close()
    rows = []
    for t in (1, 2):
        task = f"inflate in-process, {t} thread{'s' if t > 1 else ''}"
        rows += [
            Row.measured(task, f"gf Reader.pieces() t={t}", m[("pieces", t)], usize, ours=True),
            Row.measured(task, f"gf Reader.chunks() t={t}", m[("chunks", t)], usize,
                         note="line-aligned"),
            Row.measured(task, f"bare isal loop t={t}", m[("bare", t)], usize,
                         note="file in memory; speed of light"),
        ]
    wall = {k: v.seconds for k, v in m.items()}
    ctx.check("Reader.pieces 1t / bare isal 1t (throughput)",
              wall[("bare", 1)] / wall[("pieces", 1)], 0.9)
    ctx.check("Reader.pieces 2t / Reader.pieces 1t (throughput)",
              wall[("pieces", 1)] / wall[("pieces", 2)], 1.7)
    ctx.check("  same, CPU time: bare isal 1t / Reader.pieces 1t",
              m[("bare", 1)].cpu_s / m[("pieces", 1)].cpu_s)
    ctx.check("Reader.chunks 1t / bare isal 1t (throughput)",
              wall[("bare", 1)] / wall[("chunks", 1)])
    ctx.check("Reader.chunks 2t / Reader.chunks 1t (throughput)",
              wall[("chunks", 1)] / wall[("chunks", 2)])
    ctx.check("bare isal 2t / bare isal 1t (throughput)",
              wall[("bare", 1)] / wall[("bare", 2)])
    return rows


def _decompress_processes(ctx: Context, gz: str, usize: int, gf_cli: str,
                          bgzip: str | None) -> list[Row]:
    rows = []
    for t in (1, 2):
        task = f"decompress process -@{t}"
        cmds = {"gf": [gf_cli, "bgzip", "-d", f"-@{t}", "-c", gz]}
        if bgzip:
            cmds["htslib"] = [bgzip, "-d", f"-@{t}", "-c", gz]
        if t == 1:
            cmds["gzip"] = [sys.executable, "-c", GZIP_MODULE, gz]
        ctx.log(f"{task}: {', '.join(cmds)} x {ctx.repeat}")
        m = ctx.measure_processes(cmds)
        rows.append(Row.measured(task, f"genomicframe bgzip -d -@{t} -c", m["gf"], usize,
                                 ours=True))
        if bgzip:
            rows.append(Row.measured(task, f"htslib bgzip -d -@{t} -c", m["htslib"], usize))
            ctx.check(f"htslib bgzip -d -@{t} / genomicframe bgzip -d -@{t} (time)",
                      m["htslib"].seconds / m["gf"].seconds, 1.25 if t == 2 else None)
        if "gzip" in cmds:
            rows.append(Row.measured(task, "python gzip module", m["gzip"], usize,
                                     note="single-threaded zlib"))
    return rows


def _compress_processes(ctx: Context, src: str, usize: int, gf_cli: str,
                        bgzip: str | None) -> list[Row]:
    rows = []
    sizes = {}
    for t in (1, 2):
        task = f"compress process -@{t}"
        cmds = {"gf": [gf_cli, "bgzip", f"-@{t}", "-c", src]}
        if bgzip:
            cmds["htslib"] = [bgzip, f"-@{t}", "-c", src]
        if not sizes:  # output sizes, from one untimed run each (the same at any -@)
            for k, cmd in cmds.items():
                out = os.path.join(ctx.data_dir, f"compare_bgzf_{k}.tmp.gz")
                try:
                    ctx.time_process(cmd, stdout=out, repeat=1)
                    sizes[k] = os.path.getsize(out)
                finally:
                    if os.path.exists(out):
                        os.unlink(out)
        ctx.log(f"{task}: {', '.join(cmds)} x {ctx.repeat}")
        m = ctx.measure_processes(cmds)
        rows.append(Row.measured(task, f"genomicframe bgzip -@{t} -c", m["gf"], usize, ours=True,
                                 note=f"out {sizes['gf'] / 1e6:.0f} MB (ISA-L, default level)"))
        if bgzip:
            rows.append(Row.measured(task, f"htslib bgzip -@{t} -c", m["htslib"], usize,
                                     note=f"out {sizes['htslib'] / 1e6:.0f} MB (default level)"))
            ctx.check(f"htslib bgzip -@{t} / genomicframe bgzip -@{t} (time)",
                      m["htslib"].seconds / m["gf"].seconds)
    return rows


def _startup(ctx: Context, gf_cli: str, bgzip: str | None) -> list[Row]:
    def make_empty(tmp):
        with open(tmp, "wb") as fh:
            fh.write(gf.bgzf.EOF_MARKER)

    empty = datagen.cached("empty.gz", make_empty)
    task = "start-up: decompress empty BGZF"
    cmds = {"gf": [gf_cli, "bgzip", "-d", "-c", empty]}
    if bgzip:
        cmds["htslib"] = [bgzip, "-d", "-c", empty]
    m = ctx.measure_processes(cmds, repeat=max(ctx.repeat, 10))
    rows = [Row.measured(task, "genomicframe bgzip -d -c", m["gf"], ours=True)]
    if bgzip:
        rows.append(Row.measured(task, "htslib bgzip -d -c", m["htslib"]))
    ctx.check("genomicframe CLI start-up, seconds", m["gf"].seconds, 0.15, higher_is_better=False)
    return rows


def run(ctx: Context) -> list[Row]:
    n = ctx.protein_records
    ctx.log(f"data: protein FASTA, {n:,} records, unwrapped (generated once, cached in "
            f"{ctx.data_dir})")
    src = datagen.cached_protein_fasta(n)
    gz = datagen.cached_protein_fasta_gz(n)
    usize = os.path.getsize(src)
    ctx.note(f"input: {os.path.basename(src)} {usize / 1e6:.0f} MB, BGZF by gf.bgzf.Writer "
             f"level 6 -> {os.path.getsize(gz) / 1e6:.0f} MB; MB/s counts uncompressed bytes")
    ctx.warm(src, gz)
    gf_cli = ctx.gf_cli()
    bgzip = ctx.which("bgzip", "htslib contenders")
    rows = _in_process(ctx, gz, usize)
    rows += _decompress_processes(ctx, gz, usize, gf_cli, bgzip)
    rows += _compress_processes(ctx, src, usize, gf_cli, bgzip)
    rows += _startup(ctx, gf_cli, bgzip)
    return rows
