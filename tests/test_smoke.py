"""Import-level checks: the package, its compiled kernels and the CLI entry point."""
import subprocess
import sys

import genomicframe as gf


def test_version_and_lazy_import():
    assert gf.__version__
    code = "import sys, genomicframe; genomicframe.cli; print('pyarrow' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_compiled_kernel_present():
    from genomicframe._parsers import _bgzf

    assert hasattr(_bgzf, "scan_buffer")


def test_cli_version():
    out = subprocess.run([sys.executable, "-m", "genomicframe", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"genomicframe {gf.__version__}"


def test_demo_runs():
    out = subprocess.run([sys.executable, "-m", "genomicframe", "demo"], capture_output=True,
                         text=True, check=True)
    assert "BGZF block table" in out.stdout
    assert "VCF as Arrow" in out.stdout and "records=2100" in out.stdout
