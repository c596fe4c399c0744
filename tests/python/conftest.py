"""Shared fixtures of the Python suite: the bundled photos, a seeded random
generator, the tandem CLI (for comparing messages and JSON with it)."""
import os
import pathlib
import shutil

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def rng():
    return np.random.default_rng(20261206)


@pytest.fixture(scope="session")
def photos():
    return pathlib.Path(os.environ.get("TANDEM_DATA_DIR", REPO / "data")) / "images"


@pytest.fixture(scope="session")
def cli():
    """The `tandem` executable of the same build (ctest sets TANDEM_CLI)."""
    path = os.environ.get("TANDEM_CLI") or shutil.which("tandem")
    if not path:
        pytest.skip("no tandem executable (set TANDEM_CLI)")
    return path


def cuda_available():
    import tandem

    return tandem.cuda_compiled and any(g for g in tandem.info()["gpus"])
