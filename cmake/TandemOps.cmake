# The op stems.  Each stem NAME has host/NAME.cpp (parameters, dispatch and the
# OpenMP implementation), kernels/NAME.cuh (per-pixel / per-element math shared
# by both devices), kernels/NAME.cu (CUDA launch) and tests/NAME_test.cpp.
# `tandem ops` lists the ops in this order.
set(TANDEM_OPS
  # image ops
  grayscale
  gaussian
  box
  filter
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

# The elementwise loops call sqrt; GCC vectorises it only when it need not set
# errno, which tandem never reads.
set_source_files_properties(host/elementwise.cpp PROPERTIES COMPILE_OPTIONS -fno-math-errno)
