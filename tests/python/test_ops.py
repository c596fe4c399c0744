"""Every op of the op table from Python, against OpenCV or NumPy on random
arrays with odd sizes, with the tolerances of the C++ suite."""
import math

import cv2
import numpy as np
import pytest

import tandem

BORDERS = {"reflect101": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}
SHAPES = [(37, 53), (41, 29, 3), (23, 67, 4)]
IMAGE_DTYPES = [np.uint8, np.uint16, np.float32]


def image(rng, shape, dtype):
    if dtype == np.float32:
        return rng.random(shape, dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True, dtype=dtype)


def assert_near(got, want, tol_int, rel_f32=1e-4):
    """Integers within tol_int; floats within rel_f32 of max(1, |want|max)."""
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    if np.issubdtype(got.dtype, np.floating):
        scale = max(1.0, float(np.nanmax(np.abs(want.astype(np.float64)))))
        np.testing.assert_allclose(got, want, rtol=0, atol=rel_f32 * scale, equal_nan=True)
    else:
        diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
        assert diff.max() <= tol_int, f"max difference {diff.max()} > {tol_int}"


def int_tol(dtype, u8=1, u16=2):
    return u8 if dtype == np.uint8 else u16


def cv_border_value(img, value):
    return (value,) * 4


# --- image ops --------------------------------------------------------------
def check_gaussian(rng):
    for shape in SHAPES:
        for dtype in IMAGE_DTYPES:
            for border in BORDERS:
                img = image(rng, shape, dtype)
                value = 0.0 if dtype == np.float32 else 7
                got = tandem.gaussian(img, sigma=1.7, border=border, value=value)
                want = cv2.GaussianBlur(img, (0, 0), 1.7, borderType=BORDERS[border]) if border != "constant" else \
                    cv2.GaussianBlur(cv2.copyMakeBorder(img, 9, 9, 9, 9, cv2.BORDER_CONSTANT, value=cv_border_value(img, value)),
                                     (0, 0), 1.7, borderType=cv2.BORDER_REFLECT_101)[9:-9, 9:-9]
                assert_near(got, want, int_tol(dtype))


def check_box(rng):
    for shape in SHAPES:
        for dtype in IMAGE_DTYPES:
            for border in ("reflect101", "replicate"):
                img = image(rng, shape, dtype)
                got = tandem.box(img, size=5, border=border)
                assert_near(got, cv2.blur(img, (5, 5), borderType=BORDERS[border]), 1)


def check_filter(rng):
    k = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)
    for shape in SHAPES:
        for dtype in IMAGE_DTYPES:
            img = image(rng, shape, dtype)
            got = tandem.filter(img, kernel=k, border="replicate")
            want = cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REPLICATE)
            assert_near(got, want, 1)
    # A list of lists works as well as an array.
    img = image(rng, (19, 21), np.uint8)
    np.testing.assert_array_equal(tandem.filter(img, kernel=k.tolist()), tandem.filter(img, kernel=k))


def sobel_reference(img, border, value):
    pad = cv2.copyMakeBorder(img, 1, 1, 1, 1, BORDERS[border], value=(value,) * 4).astype(np.float64)
    gx = cv2.Sobel(pad, cv2.CV_64F, 1, 0, ksize=3)[1:-1, 1:-1]
    gy = cv2.Sobel(pad, cv2.CV_64F, 0, 1, ksize=3)[1:-1, 1:-1]
    mag = np.sqrt(gx * gx + gy * gy)
    if img.dtype == np.float32:
        return mag.astype(np.float32)
    return np.clip(np.rint(mag), 0, np.iinfo(img.dtype).max).astype(img.dtype)


def check_sobel(rng):
    for shape in SHAPES:
        for dtype in IMAGE_DTYPES:
            for border in BORDERS:
                img = image(rng, shape, dtype)
                got = tandem.sobel(img, border=border, value=3)
                tol = {np.uint8: 0, np.uint16: 1, np.float32: 0}[dtype]
                assert_near(got, sobel_reference(img, border, 3), tol, rel_f32=1e-5)


def check_median(rng):
    for shape in SHAPES[:2]:
        img = image(rng, shape, np.uint8)
        for size in (3, 5, 7):
            np.testing.assert_array_equal(tandem.median(img, size=size), cv2.medianBlur(img, size))
        for dtype in (np.uint16, np.float32):
            img = image(rng, shape, dtype)
            np.testing.assert_array_equal(tandem.median(img, size=5), cv2.medianBlur(img, 5))


def check_resize(rng):
    for shape in SHAPES:
        for dtype in IMAGE_DTYPES:
            img = image(rng, shape, dtype)
            for w, h in ((17, 30), (101, 77)):
                got = tandem.resize(img, width=w, height=h)
                assert_near(got, cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR), 1)


def check_grayscale(rng):
    for dtype in (np.uint8, np.uint16):
        img = image(rng, (31, 45, 3), dtype)
        np.testing.assert_array_equal(tandem.grayscale(img), cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
    img = image(rng, (31, 45, 4), np.float32)
    assert_near(tandem.grayscale(img), cv2.cvtColor(img, cv2.COLOR_RGBA2GRAY), 0, rel_f32=3e-7)


def check_threshold(rng):
    img = image(rng, (33, 47), np.uint8)
    np.testing.assert_array_equal(tandem.threshold(img, value=100), cv2.threshold(img, 100, 255, cv2.THRESH_BINARY)[1])
    img = image(rng, (33, 47, 3), np.float32)
    np.testing.assert_array_equal(tandem.threshold(img, value=0.5), np.where(img > 0.5, 1.0, 0.0).astype(np.float32))


def check_invert(rng):
    for dtype in IMAGE_DTYPES:
        img = image(rng, (29, 31, 3), dtype)
        maxval = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
        np.testing.assert_array_equal(tandem.invert(img), (maxval - img).astype(dtype))


def check_equalize(rng):
    img = image(rng, (61, 43), np.uint8) // 3
    np.testing.assert_array_equal(tandem.equalize(img), cv2.equalizeHist(img))


# --- array ops --------------------------------------------------------------
ARRAY_DTYPES = [np.uint8, np.uint16, np.int32, np.int64, np.float32, np.float64]


def array(rng, shape, dtype):
    if np.issubdtype(dtype, np.floating):
        return (rng.standard_normal(shape) * 10).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -1000), min(info.max, 1000), size=shape, dtype=dtype)


def float_result(a):
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)


def check_elementwise(rng):
    for dtype in ARRAY_DTYPES:
        a = array(rng, (7, 13, 5), dtype)
        f = float_result(a)
        assert_near(tandem.affine(a, scale=1.5, offset=-2), (f * f.dtype.type(1.5) + f.dtype.type(-2)), 0, 1e-6)
        np.testing.assert_array_equal(tandem.clamp(a, min=3, max=50), np.clip(a, 3, 50))
        np.testing.assert_array_equal(tandem.abs(a), np.abs(a))
        with np.errstate(invalid="ignore", divide="ignore"):
            assert_near(tandem.sqrt(a), np.sqrt(f), 0, 1e-6)
            assert_near(tandem.log(a), np.log(f), 0, 1e-6)
            assert_near(tandem.exp(a / 100 if a.dtype.kind == "f" else a % 5), np.exp(float_result(a / 100 if a.dtype.kind == "f" else a % 5)), 0, 1e-6)
            assert_near(tandem.pow(a, p=2), np.power(f, 2.0), 0, 1e-6)
        lo, hi = f.min(), f.max()
        assert_near(tandem.normalize(a), (f - lo) / (hi - lo), 0, 1e-6)


def check_stats(rng):
    for dtype in ARRAY_DTYPES:
        a = array(rng, (11, 17), dtype)
        s = tandem.stats(a)
        f = a.astype(np.float64)
        assert list(s) == ["count", "sum", "min", "max", "mean", "std"]
        want = {"count": f.size, "sum": f.sum(), "min": f.min(), "max": f.max(), "mean": f.mean(), "std": f.std()}
        for k, v in want.items():
            assert math.isclose(s[k], v, rel_tol=1e-5, abs_tol=1e-9), (dtype, k, s[k], v)


def check_histogram(rng):
    for dtype in ARRAY_DTYPES:
        a = array(rng, (1001,), dtype)
        np.testing.assert_array_equal(tandem.histogram(a, bins=17), np.histogram(a, bins=17)[0])
        np.testing.assert_array_equal(tandem.histogram(a, bins=8, min=0, max=100),
                                      np.histogram(a, bins=8, range=(0, 100))[0])


def check_sort(rng):
    for dtype in ARRAY_DTYPES:
        a = array(rng, (9, 131), dtype)
        np.testing.assert_array_equal(tandem.sort(a), np.sort(a, axis=-1))


def check_cumsum(rng):
    for dtype in ARRAY_DTYPES:
        a = array(rng, (5, 77), dtype)
        want = np.cumsum(a) if a.dtype.kind == "f" else np.cumsum(a.astype(np.int64))
        assert_near(tandem.cumsum(a), want.astype(tandem.cumsum(a).dtype), 0, 1e-5)


def check_matmul(rng, tmp_path):
    for dtype in (np.float32, np.float64):
        a = rng.standard_normal((37, 19)).astype(dtype)
        b = rng.standard_normal((19, 23)).astype(dtype)
        got = tandem.matmul(a, b)
        assert got.dtype == dtype
        assert_near(got, a @ b, 0, 1e-5)
    # B as a .npy path, as the pipeline takes it; integer B is read as f64.
    a = rng.standard_normal((8, 5))
    b = rng.integers(-5, 5, size=(5, 6)).astype(np.int32)
    np.save(tmp_path / "b.npy", b)
    np.testing.assert_allclose(tandem.matmul(a, tmp_path / "b.npy"), a @ b, rtol=1e-12)
    np.testing.assert_allclose(tandem.matmul(a, b), a @ b, rtol=1e-12)


CHECKS = {
    "grayscale": check_grayscale, "gaussian": check_gaussian, "box": check_box, "filter": check_filter,
    "sobel": check_sobel, "median": check_median, "resize": check_resize, "threshold": check_threshold,
    "invert": check_invert, "equalize": check_equalize, "affine": check_elementwise, "clamp": check_elementwise,
    "abs": check_elementwise, "sqrt": check_elementwise, "exp": check_elementwise, "log": check_elementwise,
    "pow": check_elementwise, "normalize": check_elementwise, "stats": check_stats, "histogram": check_histogram,
    "sort": check_sort, "cumsum": check_cumsum, "matmul": check_matmul,
}


def test_every_op_is_a_function_and_has_a_reference_check():
    # A new op appears in Python by itself; this suite must then learn to check it.
    assert set(tandem.ops()) == set(CHECKS), set(tandem.ops()) ^ set(CHECKS)
    for name in tandem.ops():
        assert callable(getattr(tandem, name))


@pytest.mark.parametrize("name", sorted(set(CHECKS.values()), key=lambda f: f.__name__), ids=lambda f: f.__name__[6:])
def test_op_matches_reference(name, rng, tmp_path):
    check = name
    if check is check_matmul:
        check(rng, tmp_path)
    else:
        check(rng)


def test_docstrings_and_signatures_come_from_the_op_table():
    assert "\n\nGaussian blur (separable" in tandem.gaussian.__doc__
    assert "sigma" in tandem.gaussian.__doc__ and "Equals" in tandem.gaussian.__doc__
    sig = tandem.gaussian.__nb_signature__[0][0]
    assert "sigma: float = 1, radius: int = 0" in sig and "border: typing.Literal['reflect101', 'replicate', 'constant']" in sig
    assert "device: typing.Literal['cpu', 'gpu', 'auto'] = 'auto'" in sig
    assert "with_: numpy.typing.ArrayLike" in tandem.matmul.__nb_signature__[0][0]
    assert "-> dict[str, float]" in tandem.stats.__nb_signature__[0][0]


def test_type_stubs_hold_every_op():
    import pathlib

    stub = pathlib.Path(tandem.__file__).with_name("_tandem.pyi").read_text()
    for name in tandem.ops():
        assert f"\ndef {name}(array: numpy.typing.ArrayLike" in stub, name
    assert "border: Literal['reflect101', 'replicate', 'constant'] = 'reflect101'" in stub
    assert "class Pipeline:" in stub and "\ndef run(pipeline: str | Pipeline" in stub
