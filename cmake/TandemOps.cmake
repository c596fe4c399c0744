# The op stems.  Each stem NAME has host/NAME.cpp (parameters, dispatch and the
# OpenMP implementation), kernels/NAME.cuh (per-pixel / per-element math shared
# by both devices), kernels/NAME.cu (CUDA launch) and tests/NAME_test.cpp.
set(TANDEM_OPS
  sobel
  median
  resize
)
