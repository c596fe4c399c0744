"""tandem.Pipeline, tandem.run on the bundled photos (against the CLI),
tandem.info (against `tandem info --json`), read/write, and Ctrl-C."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import threading

import cv2
import numpy as np
import pytest

import tandem


def test_pipeline_is_parsed_once_and_equals_its_ops(rng):
    p = tandem.Pipeline("gaussian sigma=2 | sobel")
    assert p.ops == ["gaussian", "sobel"]
    assert p.stages == ["gaussian sigma=2", "sobel"]
    assert p.text == "gaussian sigma=2 | sobel"
    assert repr(p) == "tandem.Pipeline('gaussian sigma=2 | sobel')"
    img = rng.integers(0, 256, size=(71, 53, 3), dtype=np.uint8)
    np.testing.assert_array_equal(p(img), tandem.sobel(tandem.gaussian(img, sigma=2)))
    np.testing.assert_array_equal(p(img[::-1]), tandem.sobel(tandem.gaussian(img[::-1].copy(), sigma=2)))
    s = tandem.Pipeline("abs | stats")(rng.standard_normal((40, 3)))
    assert set(s) == {"count", "sum", "min", "max", "mean", "std"} and s["min"] >= 0


def test_pipeline_syntax_errors_raise_value_error_with_the_caret():
    with pytest.raises(ValueError) as e:
        tandem.Pipeline("gaussian sigma=2 | sobl")
    lines = str(e.value).splitlines()
    assert lines[0] == "pipeline: gaussian sigma=2 | sobl"
    assert lines[1] == " " * lines[0].index("sobl") + "^ unknown op 'sobl'"
    with pytest.raises(ValueError, match="stats"):
        tandem.Pipeline("stats | gaussian")
    with pytest.raises(TypeError, match="gaussian does not accept"):
        tandem.Pipeline("gaussian")(np.zeros((4, 4), np.int64))


def outputs(folder):
    return sorted(p.relative_to(folder) for p in pathlib.Path(folder).rglob("*") if p.is_file())


def test_run_on_the_photos_writes_what_the_cli_writes_and_returns_its_summary(photos, cli, tmp_path):
    seen = []
    summary = tandem.run("gaussian sigma=2 | sobel", photos, tmp_path / "py", glob=["*.png", "*.jpg"],
                         progress=lambda done, total: seen.append((done, total)), io_memory="256M")
    r = subprocess.run([cli, "run", "-p", "gaussian sigma=2 | sobel", "-o", str(tmp_path / "cli"), "--glob", "*.png",
                        "--glob", "*.jpg", "--io-memory", "256M", "--json", str(photos)],
                       capture_output=True, text=True, check=True)
    want = json.loads(r.stdout)
    assert set(summary) == set(want)
    assert [set(i) for i in summary["items"]] == [set(i) for i in want["items"]]
    assert summary["ok"] == want["ok"] == len(list(photos.glob("*.png")) + list(photos.glob("*.jpg"))) > 0
    assert summary["failed"] == 0 and not summary["cancelled"]
    assert summary["pipeline"] == "gaussian sigma=2 | sobel"
    assert outputs(tmp_path / "py") == outputs(tmp_path / "cli")
    for rel in outputs(tmp_path / "py"):
        np.testing.assert_array_equal(tandem.read(tmp_path / "py" / rel), tandem.read(tmp_path / "cli" / rel))
    # The same result as the op functions on the decoded photo (PNG is lossless).
    moon = tandem.read(photos / "moon.png")
    np.testing.assert_array_equal(tandem.read(tmp_path / "py" / "moon.png"), tandem.sobel(tandem.gaussian(moon, sigma=2)))
    # Progress came from this thread, counting up to the total.
    assert seen and seen[-1] == (summary["ok"], summary["ok"])
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    # resume: nothing left to do.
    again = tandem.run(tandem.Pipeline("gaussian sigma=2 | sobel"), [photos], tmp_path / "py", glob="*.png",
                       resume=True)
    assert again["skipped"] == again["items"].__len__() > 0 and again["ok"] == 0


def test_run_reports_failed_items_and_raises_for_a_bad_run(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    cv2.imwrite(str(tmp_path / "in" / "ok.png"), np.full((9, 9), 7, np.uint8))
    s = tandem.run("invert", tmp_path / "in", tmp_path / "out")
    assert s["ok"] == 1 and s["failed"] == 1
    bad = [i for i in s["items"] if i["status"] == "failed"][0]
    assert "bad.png" in bad["path"] and bad["error"]
    with pytest.raises(ValueError, match="unknown op"):
        tandem.run("nope", tmp_path / "in", tmp_path / "out")
    with pytest.raises(ValueError, match="io_memory"):
        tandem.run("invert", tmp_path / "in", tmp_path / "out", io_memory="lots")
    # As in the CLI, a missing input is a failed item, not a failed run.
    s = tandem.run("invert", tmp_path / "missing", tmp_path / "out2")
    assert s["failed"] == 1 and "missing" in s["items"][0]["error"]


def test_ctrl_c_stops_the_run_cleanly(photos, tmp_path):
    # Many inputs, a slow pipeline: Ctrl-C arrives after the first item.
    src = tmp_path / "in"
    src.mkdir()
    for i in range(60):
        shutil.copy(photos / "astronaut.png", src / f"a{i:02}.png")
    sent = []

    def progress(done, total):
        if done >= 1 and not sent:
            sent.append(done)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt) as e:
        tandem.run("median size=15 | gaussian sigma=8", src, tmp_path / "out", progress=progress, threads=1)
    summary = e.value.summary
    assert summary["cancelled"] and summary["not_started"] > 0
    assert summary["ok"] + summary["not_started"] + summary["failed"] == 60
    # Only complete outputs, no temporary files; each one decodes.
    written = list((tmp_path / "out").iterdir())
    assert len(written) == summary["ok"] and all(not p.name.startswith(".") for p in written)
    for p in written:
        assert tandem.read(p).shape == (512, 512, 3)


def test_info_is_the_cli_report(cli):
    mine = tandem.info()
    theirs = json.loads(subprocess.run([cli, "info", "--json"], capture_output=True, text=True, check=True).stdout)
    assert list(mine) == list(theirs)
    assert mine["tandem"] == theirs["tandem"] == {"version": tandem.__version__, "cuda_compiled": tandem.cuda_compiled}
    assert mine["cpu"]["cores"] == theirs["cpu"]["cores"] == os.cpu_count() or mine["cpu"]["cores"] >= 1
    assert mine["placement"]["cpu_threads"] == theirs["placement"]["cpu_threads"]


def test_read_and_write_round_trip_as_opencv_reads(photos, tmp_path, rng):
    for name in ("astronaut.png", "camera.png", "rocket.jpg"):
        img = tandem.read(photos / name)
        want = cv2.imread(str(photos / name), cv2.IMREAD_UNCHANGED)
        if want.ndim == 3:
            want = cv2.cvtColor(want, cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(img, want) if name.endswith(".png") else \
            np.testing.assert_allclose(img, want, atol=2)
    for ext, arr in ((".png", rng.integers(0, 65536, (13, 17, 4), dtype=np.uint16)),
                     (".ppm", rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)),
                     (".npy", rng.standard_normal((3, 4, 5)))):
        tandem.write(tmp_path / f"x{ext}", arr)
        np.testing.assert_array_equal(tandem.read(tmp_path / f"x{ext}"), arr)
    tandem.write(tmp_path / "crop.png", rng.integers(0, 256, (40, 50), dtype=np.uint8)[3:30, 5:44])
    assert tandem.read(tmp_path / "crop.png").shape == (27, 39)


def test_read_and_write_errors_name_the_file(tmp_path):
    with pytest.raises(OSError, match="missing.png"):
        tandem.read(tmp_path / "missing.png")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(ValueError, match="bad.jpg"):
        tandem.read(tmp_path / "bad.jpg")
    with pytest.raises(TypeError, match="f32"):
        tandem.write(tmp_path / "x.png", np.zeros((4, 4), np.float32))
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(ValueError, match="quality"):
        tandem.write(tmp_path / "x.jpg", np.zeros((4, 4), np.uint8), quality=0)
