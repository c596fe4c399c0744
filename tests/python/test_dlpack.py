"""GPU arrays from CuPy and PyTorch through DLPack: they stay on the device and
come back as arrays of the same library on the same device. Skipped without a
CUDA build, a GPU, or the library."""
import numpy as np
import pytest

import tandem

pytestmark = pytest.mark.skipif(not (tandem.cuda_compiled and tandem.info()["gpus"]),
                                reason="needs a CUDA build of tandem and a GPU")


def test_cupy_arrays_stay_on_the_gpu():
    cp = pytest.importorskip("cupy")
    rng = np.random.default_rng(3)
    host = rng.integers(0, 256, size=(301, 257, 3), dtype=np.uint8)
    dev = cp.asarray(host)
    out = tandem.gaussian(dev, sigma=2)
    assert isinstance(out, cp.ndarray) and out.device.id == dev.device.id
    np.testing.assert_array_equal(cp.asnumpy(out), tandem.gaussian(host, sigma=2, device="cpu"))
    s = tandem.stats(cp.asarray(rng.standard_normal(1000)))
    assert s["count"] == 1000
    with pytest.raises(ValueError, match="device='cpu' needs a host array"):
        tandem.invert(dev, device="cpu")


def test_torch_cuda_tensors_stay_on_the_gpu():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    host = rng.standard_normal((129, 65)).astype(np.float32)
    dev = torch.from_numpy(host).cuda()
    out = tandem.sort(dev)
    assert isinstance(out, torch.Tensor) and out.is_cuda
    np.testing.assert_array_equal(out.cpu().numpy(), np.sort(host, axis=-1))


def test_numpy_arrays_run_on_the_gpu_on_request():
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, size=(123, 77), dtype=np.uint8)
    out = tandem.median(img, size=5, device="gpu")
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, tandem.median(img, size=5, device="cpu"))
