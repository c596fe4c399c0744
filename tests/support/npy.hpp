// A tiny reader for the NumPy .npy files the golden tests commit (format 1.0 /
// 2.0, little-endian u8 / u16 / i32 / f32 / f64, C order). Test-only.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tandem/tandem.hpp"

namespace tandem::test {

/// Reads `path` into a host tensor; returns an error Status naming the problem.
inline Status read_npy(const std::string& path, Tensor& out) {
  // The project's reader, itself checked against NumPy in io_test.
  return io::read_npy(path, out);
}

/// The path of a committed golden file.
inline std::string golden_path(const std::string& name) {
  return std::string(TANDEM_SOURCE_DIR) + "/tests/golden/" + name;
}

}  // namespace tandem::test
