"""examples/python: the three scripts do the same job on the bundled photos."""
import pathlib
import sys

import numpy as np

import tandem

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"))
import opencv_threadpool  # noqa: E402
import tandem_run  # noqa: E402
import tandem_threadpool  # noqa: E402


def test_the_three_scripts_do_the_same_job(photos, tmp_path):
    n = {m.__name__: m.main(str(photos), str(tmp_path / m.__name__))
         for m in (opencv_threadpool, tandem_run, tandem_threadpool)}
    assert len(set(n.values())) == 1 and n["tandem_run"] > 0, n
    for p in sorted((tmp_path / "tandem_run").rglob("*.png")):
        rel = p.relative_to(tmp_path / "tandem_run")
        ours = tandem.read(p)
        np.testing.assert_array_equal(ours, tandem.read(tmp_path / "tandem_threadpool" / rel))
        # OpenCV's Gaussian is fixed point and the gradient amplifies its rounding: close, not equal.
        theirs = tandem.read(tmp_path / "opencv_threadpool" / rel)
        assert theirs.shape == ours.shape
        diff = np.abs(theirs.astype(int) - ours.astype(int))
        assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 4, (rel, diff.mean(), np.percentile(diff, 99))
