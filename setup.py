"""Build the Cython kernels in genomicframe/_parsers.

All metadata lives in pyproject.toml.  Set GENOMICFRAME_DEBUG=1 to compile with
bounds checks, wraparound and line tracing turned back on.
"""
import os
import sysconfig
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("GENOMICFRAME_DEBUG", "") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}
macros = []
if DEBUG:
    directives["linetrace"] = True
    macros.append(("CYTHON_TRACE_NOGIL", "1"))

compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
# the VCF table kernel inlines its small per-value helpers into one large function; GCC's
# default growth limits leave some of them as calls (about 3 % of its time)
# (GCC's --param names; other compilers get the defaults)
GCC = "gcc" in (sysconfig.get_config_var("CC") or "") and "clang" not in (
    sysconfig.get_config_var("CC") or "")
extra_args = {"vcf": ["--param", "large-function-growth=1000", "--param",
                      "inline-unit-growth=200"]} if GCC and not DEBUG else {}

extensions = [
    Extension(
        f"genomicframe._parsers.{pyx.stem}",
        [str(pyx)],
        define_macros=macros,
        extra_compile_args=compile_args + extra_args.get(pyx.stem, []),
    )
    for pyx in sorted(Path("genomicframe/_parsers").glob("*.pyx"))
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
