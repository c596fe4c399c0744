"""Arrays in and out (views, strides, no copies), dtypes, and the errors:
ValueError with the command line's message, TypeError naming the dtypes."""
import subprocess
import tracemalloc

import numpy as np
import pytest

import tandem


def cli_message(cli, tmp_path, pipeline):
    """What `tandem run -p PIPELINE` says about a bad pipeline (stderr, first line after 'pipeline:')."""
    np.save(tmp_path / "x.npy", np.zeros((4, 4), np.uint8))
    r = subprocess.run([cli, "run", "-p", pipeline, "-o", str(tmp_path / "out"), str(tmp_path / "x.npy")],
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    return r.stderr


@pytest.mark.parametrize("pipeline,call", [
    ("gaussian sigma=-1", lambda a: tandem.gaussian(a, sigma=-1)),
    ("median size=4", lambda a: tandem.median(a, size=4)),
    ("gaussian sigma=abc", lambda a: tandem.gaussian(a, sigma="abc")),
    ("median size=2.5", lambda a: tandem.median(a, size=2.5)),
    ("gaussian border=mirror", lambda a: tandem.gaussian(a, border="mirror")),
    ("resize width=10", lambda a: tandem.resize(a, width=10)),
    ("gaussian sigma=0", lambda a: tandem.gaussian(a, sigma=0)),
])
def test_bad_values_raise_value_error_with_the_cli_message(pipeline, call, cli, tmp_path):
    img = np.zeros((8, 8), np.uint8)
    with pytest.raises(ValueError) as e:
        call(img)
    message = str(e.value)
    assert message, pipeline
    # The CLI prints the same sentence (after the stage text it names).
    op = pipeline.split()[0]
    assert message.startswith(op), message
    assert message[len(op):].lstrip(":") in cli_message(cli, tmp_path, pipeline), (message, pipeline)


def test_unknown_parameter_is_a_type_error_listing_the_valid_ones():
    with pytest.raises(TypeError, match=r"gaussian has no parameter 'sigm'; valid: sigma \(number"):
        tandem.gaussian(np.zeros((4, 4), np.uint8), sigm=2)


@pytest.mark.parametrize("dtype", [np.int8, np.float16, np.bool_, np.complex64])
def test_dtypes_tandem_lacks_raise_type_error_naming_the_accepted_ones(dtype):
    with pytest.raises(TypeError, match=r"gaussian does not accept .* \(accepts u8 x1/3/4, u16 x1/3/4, f32 x1/3/4\)"):
        tandem.gaussian(np.zeros((4, 4), dtype))


def test_a_dtype_the_op_does_not_take_raises_type_error_naming_the_accepted_ones():
    with pytest.raises(TypeError, match=r"equalize does not accept .*i32.* \(accepts u8 x1\)"):
        tandem.equalize(np.zeros((4, 4), np.int32))
    with pytest.raises(TypeError, match=r"matmul does not accept u8 input \(accepts f32, f64\)"):
        tandem.matmul(np.zeros((4, 4), np.uint8), np.zeros((4, 4)))


def test_shapes_and_arguments_are_checked():
    with pytest.raises(ValueError, match="needs an image"):
        tandem.gaussian(np.zeros((4, 4, 3, 2), np.uint8))
    with pytest.raises(TypeError, match="takes 1 positional argument"):
        tandem.gaussian(np.zeros((4, 4), np.uint8), 2)
    with pytest.raises(TypeError, match=r"takes 2 positional arguments \(array, with_\)"):
        tandem.matmul(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="device must be 'cpu', 'gpu' or 'auto'"):
        tandem.invert(np.zeros((4, 4), np.uint8), device="tpu")
    with pytest.raises(ValueError, match="threads must be >= 0"):
        tandem.invert(np.zeros((4, 4), np.uint8), threads=-1)
    with pytest.raises(TypeError, match="expected an array"):
        tandem.invert(object())
    with pytest.raises(TypeError, match="device must be"):
        tandem.invert(np.zeros((4, 4), np.uint8), device=1)
    with pytest.raises(TypeError, match="threads must be an int"):
        tandem.invert(np.zeros((4, 4), np.uint8), threads=1.5)


def test_gpu_without_a_gpu_says_why():
    if tandem.cuda_compiled and tandem.info()["gpus"]:
        pytest.skip("this machine has a GPU")
    with pytest.raises(RuntimeError, match="device='gpu'"):
        tandem.invert(np.zeros((4, 4), np.uint8), device="gpu")


def test_strided_views_give_what_their_copies_give(rng):
    base = rng.integers(0, 256, size=(101, 87, 4), dtype=np.uint8)
    views = {
        "row-strided (crop)": base[5:90, 3:70],
        "every other row": base[::2],
        "a channel slice (pixels not packed)": base[:, :, :3],
        "transposed": base[:, :, 0].T,
        "reversed rows": base[::-1, :, 1],
        "every other column": base[:, ::2, 2],
    }
    for name, v in views.items():
        assert not v.flags.c_contiguous, name
        c = np.ascontiguousarray(v)
        np.testing.assert_array_equal(tandem.gaussian(v, sigma=1.3), tandem.gaussian(c, sigma=1.3), err_msg=name)
        np.testing.assert_array_equal(tandem.sort(v), np.sort(c, axis=-1), err_msg=name)
    # Lists are taken as NumPy takes them.
    np.testing.assert_array_equal(tandem.abs([[-1.5, 2.0], [3.0, -4.0]]), np.abs(np.array([[-1.5, 2.0], [3.0, -4.0]])))


def test_row_strided_images_and_contiguous_arrays_are_not_copied(rng):
    # NumPy reports its allocations to tracemalloc; tandem's results come from its own allocator.
    big = rng.integers(0, 256, size=(2048, 2048 + 64), dtype=np.uint8)
    crop = big[:, 32:-32]  # rows padded: taken as is
    a = rng.standard_normal(1 << 20)
    for call in (lambda: tandem.gaussian(crop, sigma=1), lambda: tandem.invert(crop), lambda: tandem.sqrt(a),
                 lambda: tandem.stats(a)):
        call()
        tracemalloc.start()
        call()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 1 << 20, f"{peak} bytes allocated through NumPy: the input was copied"
    # A view tandem cannot follow is copied once (and the test above would see it).
    tracemalloc.start()
    tandem.invert(big[:, ::2])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak >= big[:, ::2].nbytes


def test_results_own_their_memory_and_outlive_the_input(rng):
    img = rng.integers(0, 256, size=(64, 48, 3), dtype=np.uint8)
    out = tandem.invert(img)
    assert out.flags.c_contiguous and out.flags.writeable and out.base is not None
    del img
    out[0, 0, 0] = 7  # writable, and still valid after the input is gone
    assert out[0, 0, 0] == 7
    read_only = np.zeros((5, 5), np.float32)
    read_only.flags.writeable = False
    assert tandem.invert(read_only).sum() == 25


def test_numpy_scalars_and_bools_are_taken_as_values():
    img = np.arange(64, dtype=np.uint8).reshape(8, 8)
    np.testing.assert_array_equal(tandem.median(img, size=np.int64(3)), tandem.median(img, size=3))
    np.testing.assert_array_equal(tandem.gaussian(img, sigma=np.float32(1.5)), tandem.gaussian(img, sigma=1.5))
    np.testing.assert_array_equal(tandem.clamp(img, min=None, max=10), np.clip(img, None, 10))
