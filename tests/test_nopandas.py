"""pyarrow must not import pandas on our behalf, and must work normally once pandas is imported.

Each check runs in a fresh interpreter: the state under test is process-wide.
"""
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("pandas")


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, check=True)
    return out.stdout.split()


def test_reading_a_dataset_leaves_pandas_unimported():
    assert _run("""
        import sys, genomicframe as gf
        t = gf.dataset(gf.examples.path("calls.vcf.gz")).to_table(filter="qual >= 30")
        print("pandas" in sys.modules, t.num_rows > 0)
    """) == ["False", "True"]


@pytest.mark.parametrize("first", ["import genomicframe as gf, pyarrow.compute as pc",
                                   "import pyarrow.compute as pc, genomicframe as gf"])
def test_expressions_built_before_the_dataset(first):
    # pyarrow imported after or before genomicframe; a scalar made before any dataset
    assert _run(f"""
        import sys
        {first}
        f = pc.field("chrom") == "chr2"
        print("pandas" in sys.modules)
        print(gf.dataset(gf.examples.path("calls.vcf.gz")).to_table(filter=f).num_rows > 0)
        print("pandas" in sys.modules)
    """) == ["False", "True", "False"]


def test_cli_view_leaves_pandas_unimported():
    assert _run("""
        import sys, contextlib, io, genomicframe as gf
        from genomicframe.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            main(["view", gf.examples.path("calls.vcf.gz"), "--limit", "3"])
        print("pandas" in sys.modules)
    """) == ["False"]


def test_pyarrow_recognises_pandas_objects_imported_later():
    assert _run("""
        import genomicframe as gf, pyarrow as pa
        gf.dataset(gf.examples.path("calls.vcf.gz")).head(1)
        import pandas as pd
        print(pa.lib._pandas_api.have_pandas)
        print(pa.types.is_dictionary(pa.array(pd.Series(["a", "b", "a"], dtype="category")).type))
        print(pa.Table.from_pandas(pd.DataFrame({"x": [1, 2]})).num_rows)
        t = gf.dataset(gf.examples.path("calls.vcf.gz")).head(3)
        print(type(t.to_pandas()).__name__)
    """) == ["True", "True", "2", "DataFrame"]


def test_other_threads_may_import_pandas_meanwhile():
    # the hiding applies to the probing thread only
    assert _run("""
        import threading
        import pyarrow as pa
        seen = []
        orig = pa.scalar
        def scalar(v, *a, **k):
            t = threading.Thread(target=lambda: seen.append(__import__("pandas").__name__))
            t.start(); t.join()
            return orig(v, *a, **k)
        pa.scalar = scalar
        import genomicframe  # pyarrow is imported: probes now
        pa.scalar = orig
        print(seen)
    """) == ["['pandas']"]


def test_pandas_already_imported_is_left_alone():
    assert _run("""
        import sys, pandas, genomicframe._nopandas as nop
        before = list(sys.meta_path)
        nop.probe()
        import pyarrow as pa
        print(sys.meta_path == before, pa.lib._pandas_api.have_pandas)
    """) == ["True", "True"]
