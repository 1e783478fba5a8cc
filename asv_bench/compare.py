"""Compare genomicframe with peer tools on the same generated files, in one run.

    python asv_bench/compare.py [bgzf|fasta|vcf|all] [--size small|full] [--repeat N]

Each topic lives in ``asv_bench/compare_<topic>.py`` and exposes

    def run(ctx: Context) -> list[Row]

The driver imports the topics asked for (a missing module is skipped with a
note), hands each a :class:`Context` (data sizes, repeat count, timing helpers),
and prints one table per topic: best wall time of ``--repeat`` runs, least CPU
time (user + system), MB/s of uncompressed data, time relative to our row of the
same task, and peak RSS where it was measured.  On a busy machine compare the CPU
column too: wall time suffers from other work, CPU time much less.  Topics may also
record named ratio checks against the DESIGN.md targets with :meth:`Context.check`; they are printed after the tables.

Input data comes from ``benchmarks/datagen.py`` (seeded, cached under
``$GENOMICFRAME_BENCH_DATA`` or ``asv_bench/.data``).  Tools that are not
installed are skipped with a note, never treated as failures.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import glob
import importlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from benchmarks import datagen  # noqa: E402

#: GNU time, for the peak RSS of subprocesses (``None``: not measured)
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
#: topics run by ``all``, in this order; any other compare_<name>.py is also accepted
KNOWN_TOPICS = ("bgzf", "fasta", "vcf")
#: the sizes a topic scales its inputs by (records of the protein FASTA; other
#: topics choose their own counts from ``ctx.size``)
SIZE_RECORDS = {"small": datagen.SIZES["small"], "full": datagen.SIZES["full"]}


@dataclass
class Row:
    """One measured contender of one task.

    Attributes
    ----------
    task : str
        What is measured; rows with the same task are compared with each other.
    tool : str
        The contender (command or API, with its thread count).
    seconds : float or None
        Best wall time over the repeats; ``None`` when the contender was skipped.
    nbytes : int or None
        Uncompressed bytes processed, for the MB/s column.
    rss_mb : float or None
        Peak resident memory of the process, MB (subprocesses only).
    ours : bool
        The reference row of its task (the "vs ours" column is relative to it).
    note : str
        Anything the reader needs to interpret the row.
    cpu_s : float or None
        Least CPU time (user + system, all threads) over the repeats; far less
        sensitive than wall time to other work on a busy machine.
    """

    task: str
    tool: str
    seconds: float | None
    nbytes: int | None = None
    rss_mb: float | None = None
    ours: bool = False
    note: str = ""
    cpu_s: float | None = None

    @classmethod
    def measured(cls, task: str, tool: str, m: "Measure", nbytes: int | None = None,
                 ours: bool = False, note: str = "") -> "Row":
        """A row from a :class:`Measure`."""
        return cls(task, tool, m.seconds, nbytes, m.rss_mb, ours, note, m.cpu_s)

    @property
    def mb_per_s(self) -> float | None:
        if not self.seconds or not self.nbytes:
            return None
        return self.nbytes / 1e6 / self.seconds


@dataclass
class Measure:
    """Best of several runs: wall seconds, CPU seconds (user + system), peak RSS MB."""

    seconds: float = float("inf")
    cpu_s: float | None = None
    rss_mb: float | None = None

    def add(self, seconds: float, cpu_s: float | None, rss_mb: float | None) -> None:
        self.seconds = min(self.seconds, seconds)
        if cpu_s is not None:
            self.cpu_s = cpu_s if self.cpu_s is None else min(self.cpu_s, cpu_s)
        if rss_mb is not None:
            self.rss_mb = rss_mb if self.rss_mb is None else max(self.rss_mb, rss_mb)


@dataclass
class Check:
    """A named ratio set against a DESIGN.md target (``None`` target: informational)."""

    name: str
    value: float | None
    target: float | None = None
    higher_is_better: bool = True

    @property
    def status(self) -> str:
        if self.value is None:
            return "n/a"
        if self.target is None:
            return "info"
        ok = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "PASS" if ok else "MISS"


@dataclass
class Context:
    """What a topic gets: sizes, repeats, and helpers for timing.

    Attributes
    ----------
    size : str
        ``"small"`` (quick check) or ``"full"`` (the sizes DESIGN.md quotes).
    repeat : int
        Runs per contender; the best is reported.
    data_dir : str
        Where generated inputs are cached.
    """

    size: str = "small"
    repeat: int = 5
    data_dir: str = field(default_factory=datagen.data_dir)
    notes: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    verbose: bool = True

    # -- environment -----------------------------------------------------------------------
    @property
    def protein_records(self) -> int:
        """Record count of the protein FASTA for this size (1 000 000 for ``full``)."""
        return SIZE_RECORDS[self.size]

    def note(self, message: str) -> None:
        """Record a note printed under the tables (skipped tools, caveats)."""
        self.notes.append(message)
        self.log(f"note: {message}")

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"  .. {message}", file=sys.stderr, flush=True)

    def which(self, tool: str, why: str = "") -> str | None:
        """Path of an installed executable, or ``None`` with a note saying what is skipped."""
        path = shutil.which(tool)
        if path is None:
            self.note(f"{tool} is not installed; skipped{': ' + why if why else ''}")
        return path

    def importable(self, module: str) -> bool:
        """True when ``module`` imports; otherwise note that its contenders are skipped."""
        try:
            importlib.import_module(module)
        except ImportError:
            self.note(f"python package {module} is not installed; skipped")
            return False
        return True

    @staticmethod
    def gf_cli() -> str:
        """The ``genomicframe`` console script of this Python (not a shim on PATH)."""
        path = os.path.join(os.path.dirname(sys.executable), "genomicframe")
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} is missing: install genomicframe into this Python "
                                    "(pip install -e .)")
        return path

    @staticmethod
    def warm(*paths: str) -> None:
        """Read files once so every contender starts from the page cache."""
        for p in paths:
            with open(p, "rb", buffering=0) as fh:
                while fh.read(16 << 20):
                    pass

    def check(self, name: str, value: float | None, target: float | None = None,
              higher_is_better: bool = True) -> Check:
        """Record a named ratio (printed after the tables with PASS/MISS against ``target``)."""
        c = Check(name, value, target, higher_is_better)
        self.checks.append(c)
        return c

    # -- timing ----------------------------------------------------------------------------
    def _run_once(self, cmd: Sequence[str], stdin, stdout, env):
        """Run ``cmd`` once; return ``(wall s, cpu s or None, peak RSS MB or None)``."""
        with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as usage:
            # ru_maxrss survives fork+exec, so a child forked from this (large)
            # process would report our RSS; /usr/bin/time forks from a small one
            full = ([TIME, "-f", "%M %U %S", "-o", usage.name] if TIME else []) + list(cmd)
            fin = open(stdin, "rb") if isinstance(stdin, (str, os.PathLike)) else stdin
            fout = open(stdout, "wb") if isinstance(stdout, (str, os.PathLike)) else stdout
            try:
                t0 = time.perf_counter()
                proc = subprocess.run(full, stdin=subprocess.DEVNULL if fin is None else fin,
                                      stdout=fout, stderr=err, env=env)
                elapsed = time.perf_counter() - t0
            finally:
                if fin is not stdin:
                    fin.close()
                if fout is not stdout:
                    fout.close()
            if proc.returncode != 0:
                err.seek(0)
                raise subprocess.CalledProcessError(proc.returncode, list(cmd),
                                                    stderr=err.read().decode(errors="replace"))
            cpu = rss = None
            if TIME:
                last = usage.read().strip().splitlines()[-1:]  # after any "Command exited" line
                try:
                    kib, user, system = last[0].split()
                    rss, cpu = int(kib) / 1024.0, float(user) + float(system)
                except (IndexError, ValueError):
                    pass
        return elapsed, cpu, rss

    def measure_processes(self, cmds: dict, stdin=None, stdout=subprocess.DEVNULL,
                          repeat: int | None = None, env=None) -> dict:
        """Run each ``{label: cmd}`` ``repeat`` times, interleaved; return ``{label: Measure}``.

        ``stdin``/``stdout`` are paths, file objects or ``subprocess.DEVNULL``
        (the default for both).  Start-up is included.  CPU time and peak RSS
        come from GNU time (``%U + %S``, ``%M``; ``None`` without ``/usr/bin/time``).
        Interleaving makes slow drift (other work, thermal) hit every contender alike.
        """
        out = {k: Measure() for k in cmds}
        for _ in range(repeat or self.repeat):
            for k, cmd in cmds.items():
                out[k].add(*self._run_once(cmd, stdin, stdout, env))
        return out

    def measure_calls(self, fns: dict, repeat: int | None = None) -> dict:
        """Call each ``{label: fn}`` ``repeat`` times, interleaved; return ``{label: Measure}``.

        CPU time is this process's user + system time (all threads) during the call.
        """
        out = {k: Measure() for k in fns}
        for _ in range(repeat or self.repeat):
            for k, fn in fns.items():
                gc.collect()
                r0 = resource.getrusage(resource.RUSAGE_SELF)
                t0 = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - t0
                r1 = resource.getrusage(resource.RUSAGE_SELF)
                cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
                out[k].add(elapsed, cpu, None)
        return out

    def time_process(self, cmd: Sequence[str], stdin=None, stdout=subprocess.DEVNULL,
                     repeat: int | None = None, env=None) -> tuple[float, float | None]:
        """Run a whole process ``repeat`` times; return ``(best seconds, peak RSS MB)``.

        See :meth:`measure_processes` (which also reports CPU time).
        """
        m = self.measure_processes({0: cmd}, stdin, stdout, repeat, env)[0]
        return m.seconds, m.rss_mb

    def time_processes(self, cmds: dict, stdin=None, stdout=subprocess.DEVNULL,
                       repeat: int | None = None, env=None) -> dict:
        """Interleaved :meth:`time_process`: ``{label: (best seconds, peak RSS MB)}``."""
        return {k: (m.seconds, m.rss_mb)
                for k, m in self.measure_processes(cmds, stdin, stdout, repeat, env).items()}

    def time_call(self, fn: Callable[[], object], repeat: int | None = None) -> float:
        """Best wall time of ``fn()`` over ``repeat`` calls in this process."""
        return self.measure_calls({0: fn}, repeat)[0].seconds

    def time_calls(self, fns: dict, repeat: int | None = None) -> dict:
        """Interleaved :meth:`time_call`: ``{label: best seconds}``."""
        return {k: m.seconds for k, m in self.measure_calls(fns, repeat).items()}


# -- output ---------------------------------------------------------------------------------------
def _fmt(x, spec: str) -> str:
    return "" if x is None else format(x, spec)


def format_table(rows: list[Row]) -> str:
    """A Markdown table; ``time/ours`` > 1 means the tool took longer than our row of the task."""
    header = ["task", "tool", "best s", "cpu s", "MB/s", "time/ours", "peak RSS MB", "note"]
    ours = {}
    for r in rows:
        if r.ours and r.seconds and r.task not in ours:
            ours[r.task] = r.seconds
    body = []
    for r in rows:
        ref = ours.get(r.task)
        ratio = r.seconds / ref if (ref and r.seconds) else None
        body.append([r.task, r.tool + (" *" if r.ours else ""),
                     _fmt(r.seconds, ".3f") if r.seconds is not None else "skipped",
                     _fmt(r.cpu_s, ".2f"), _fmt(r.mb_per_s, ".0f"), _fmt(ratio, ".2f"), _fmt(r.rss_mb, ".0f"), r.note])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(header)]
    right = {2, 3, 4, 5, 6}

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else "-" * (w + 2)
                         for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep] + [line(b) for b in body])


def format_checks(checks: list[Check]) -> str:
    out = []
    for c in checks:
        want = "" if c.target is None else f"{'>=' if c.higher_is_better else '<='} {c.target:g}"
        val = "n/a" if c.value is None else f"{c.value:.2f}"
        out.append(f"  {c.status:<4}  {c.name}: {val}" + (f"  (target {want})" if want else ""))
    return "\n".join(out)


def _tool_versions() -> str:
    parts = [f"python {platform.python_version()}"]
    try:
        import genomicframe
        import isal

        parts += [f"genomicframe {genomicframe.__version__}", f"isal {isal.__version__}"]
    except ImportError:
        pass
    bgzip = shutil.which("bgzip")
    if bgzip:
        first = subprocess.run([bgzip, "--version"], capture_output=True, text=True).stdout
        parts.append(first.splitlines()[0] if first else "bgzip")
    return ", ".join(parts)


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1/5/15 min)"
    except OSError:
        return "unknown"


def _wait_idle(timeout: float, ctx: Context, threshold: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        time.sleep(5)
    if os.getloadavg()[0] >= threshold:
        ctx.log(f"still busy after {timeout:g} s (load {os.getloadavg()[0]:.2f}); running anyway")


# -- driver ---------------------------------------------------------------------------------------
def available_topics() -> list[str]:
    found = [os.path.basename(p)[len("compare_"):-3]
             for p in glob.glob(os.path.join(HERE, "compare_*.py"))]
    return list(KNOWN_TOPICS) + sorted(t for t in found if t not in KNOWN_TOPICS)


def load_topic(topic: str):
    """The ``compare_<topic>`` module, or ``None`` when it does not exist."""
    name = f"compare_{topic}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def _compile_package() -> None:
    """Write genomicframe's bytecode, as ``pip install`` does, so that processes measure
    start-up as users have it (an in-place checkout run with PYTHONDONTWRITEBYTECODE=1
    would otherwise recompile every module in every process)."""
    import compileall

    import genomicframe

    compileall.compile_dir(os.path.dirname(genomicframe.__file__), quiet=2)
    print("# genomicframe bytecode compiled (as pip install does)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("topic", nargs="?", default="all",
                   help=f"one of {', '.join(available_topics())}, or all (default)")
    p.add_argument("--size", choices=sorted(SIZE_RECORDS), default="small",
                   help="small: quick check; full: the sizes DESIGN.md quotes (default small)")
    p.add_argument("--repeat", type=int, default=5, help="runs per contender, best kept (5)")
    p.add_argument("--json", metavar="PATH", help="also write rows and checks as JSON")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help="before each topic, wait up to SECONDS for the 1-minute load "
                        "average to fall below 0.5 (shared machines)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    topics = KNOWN_TOPICS if args.topic == "all" else (args.topic,)
    if args.topic != "all" and args.topic not in available_topics():
        p.error(f"unknown topic {args.topic!r}; choose from {', '.join(available_topics())}, all")

    print(f"# genomicframe peer comparison: {' '.join(['compare.py'] + (argv or sys.argv[1:]))}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {platform.machine()}, "
          f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}"
          f" cores; {_tool_versions()}")
    print(f"# best of {args.repeat} runs; time/ours > 1: slower than our row (*) of the task; "
          "processes include start-up, output to /dev/null; cpu s = user + system, all threads")
    if TIME is None:
        print("# /usr/bin/time not found: peak RSS of processes is not measured")
    _compile_package()
    failed = False
    report = {}
    for topic in topics:
        mod = load_topic(topic)
        if mod is None:
            print(f"\n## {topic}\n\n(skipped: asv_bench/compare_{topic}.py does not exist yet)")
            continue
        ctx = Context(size=args.size, repeat=args.repeat, verbose=not args.quiet)
        if args.wait_idle > 0:
            _wait_idle(args.wait_idle, ctx)
        print(f"\n## {topic}\n\n(load average {_load()} at start)\n", flush=True)
        try:
            rows = mod.run(ctx)
        except Exception:  # one broken topic must not hide the others
            failed = True
            print(f"(topic {topic} failed)\n```\n{traceback.format_exc()}```")
            continue
        print(format_table(rows))
        print(f"\n(load average {_load()} at end; above ~0.3 other work shared the CPUs)")
        if ctx.checks:
            print("\nRatios against DESIGN.md targets:")
            print(format_checks(ctx.checks))
        if ctx.notes:
            print("\nNotes:")
            print("\n".join(f"  - {n}" for n in ctx.notes))
        sys.stdout.flush()
        report[topic] = {"rows": [dataclasses.asdict(r) for r in rows],
                         "checks": [dataclasses.asdict(c) | {"status": c.status}
                                    for c in ctx.checks],
                         "notes": ctx.notes}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"argv": argv or sys.argv[1:], "size": args.size, "repeat": args.repeat,
                       "topics": report}, fh, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
