"""Build the Cython kernels in genomicframe/_parsers.

All metadata lives in pyproject.toml.  Set GENOMICFRAME_DEBUG=1 to compile with
bounds checks, wraparound and line tracing turned back on.
"""
import os
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

extensions = [
    Extension(
        f"genomicframe._parsers.{pyx.stem}",
        [str(pyx)],
        define_macros=macros,
        extra_compile_args=compile_args,
    )
    for pyx in sorted(Path("genomicframe/_parsers").glob("*.pyx"))
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
