"""Shared fixtures.

* ``real_data`` — the folder of real-world files with oracle expectations
  (``../shared/data/real`` beside the repository, or ``$GENOMICFRAME_REAL_DATA``).
* ``threads`` — parametrised 1 and 2, for serial/threaded twin tests.
* ``text_bytes`` — deterministic line-oriented text (about 300 kB).
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def real_data_dir() -> Path | None:
    env = os.environ.get("GENOMICFRAME_REAL_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data" / "real")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session", autouse=True)
def _run_outside_source_tree(tmp_path_factory):
    """Run every test (and the subprocesses it starts) outside the repository.

    ``python -m genomicframe`` puts the working directory first on ``sys.path``;
    from the repository root that would import the uncompiled source tree
    instead of the installed package.
    """
    old = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(old)


@pytest.fixture(scope="session")
def real_data() -> Path:
    d = real_data_dir()
    if d is None:
        pytest.skip("real-world data folder (../shared/data/real) not found")
    return d


@pytest.fixture(params=[1, 2], ids=["serial", "threaded"])
def threads(request) -> int:
    return request.param


def make_text(n_lines: int = 6000, seed: int = 1) -> bytes:
    """Deterministic lines of varying length, some long, some empty."""
    rng = random.Random(seed)
    alphabet = "ACGTNacgtn\t;=,."
    lines = []
    for i in range(n_lines):
        k = rng.choice([0, 1, 5, 40, 80, 200, 1000]) if i % 97 else 5000
        lines.append(f"{i}\t" + "".join(rng.choice(alphabet) for _ in range(k)))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="session")
def text_bytes() -> bytes:
    return make_text()
