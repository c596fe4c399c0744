"""tandem: every op of tandem's op table on NumPy arrays (and CuPy/PyTorch GPU
arrays through DLPack), the batch engine, the hardware report and the codecs.

    import tandem
    blurred = tandem.gaussian(img, sigma=2)           # any op: tandem.<op>(array, **params)
    edges = tandem.Pipeline("gaussian sigma=2 | sobel")(img)
    summary = tandem.run("gaussian sigma=2 | sobel", "photos/", "out/")

The GIL is released while an op, a pipeline or a run works, so a
ThreadPoolExecutor of tandem calls uses every core. See docs/python.md.
"""

from ._tandem import *  # noqa: F401,F403  (every op, generated from the op table)
from ._tandem import Pipeline, __version__, cuda_compiled, info, read, run, write  # noqa: F401
from . import _tandem


def ops() -> list[str]:
    """The names of every op, in the order `tandem ops` lists them."""
    return list(_tandem._op_names)


__all__ = ["Pipeline", "info", "ops", "read", "run", "write", "cuda_compiled", "__version__", *_tandem._op_names]
