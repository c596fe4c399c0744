# The op stems.  Each stem NAME has host/ops/NAME.cpp (parameters, dispatch and the
# OpenMP implementation), kernels/NAME.cuh (per-pixel / per-element math shared
# by both devices), kernels/NAME.cu (CUDA launch) and tests/NAME_test.cpp.
# `tandem ops` lists the ops in this order.
set(TANDEM_OPS
  # image ops
  grayscale
  gaussian
  box
  filter
  sobel
  median
  resize
  threshold
  invert
  equalize
  # array ops
  elementwise
  stats
  histogram
  sort
  cumsum
  matmul
)
