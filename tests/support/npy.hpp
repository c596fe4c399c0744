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
  std::ifstream f(path, std::ios::binary);
  if (!f) return {Errc::io_error, "cannot open " + path};
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string& why) { return Status(Errc::format_error, path + ": " + why); };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return bad("not an .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (std::size_t(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return bad("truncated header");
    for (int i = 0; i < 4; ++i) header_len |= std::size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    return bad("unknown .npy version " + std::to_string(major));
  }
  if (bytes.size() < offset + header_len) return bad("truncated header");
  const std::string header = bytes.substr(offset, header_len);
  auto field = [&](const std::string& key) -> std::string {
    const auto k = header.find("'" + key + "'");
    if (k == std::string::npos) return {};
    auto v = header.find(':', k) + 1;
    while (v < header.size() && header[v] == ' ') ++v;
    if (header[v] == '\'') return header.substr(v + 1, header.find('\'', v + 1) - v - 1);
    if (header[v] == '(') return header.substr(v + 1, header.find(')', v) - v - 1);
    return header.substr(v, header.find_first_of(",}", v) - v);
  };
  const std::string descr = field("descr");
  DType dtype;
  if (descr == "|u1" || descr == "<u1") dtype = DType::u8;
  else if (descr == "<u2") dtype = DType::u16;
  else if (descr == "<i4") dtype = DType::i32;
  else if (descr == "<f4") dtype = DType::f32;
  else if (descr == "<f8") dtype = DType::f64;
  else return bad("unsupported dtype '" + descr + "'");
  if (field("fortran_order") != "False") return bad("Fortran order is not supported");
  std::vector<std::int64_t> shape;
  const std::string dims = field("shape");
  for (std::size_t i = 0; i < dims.size();) {
    while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
    if (i >= dims.size()) break;
    std::size_t end = i;
    while (end < dims.size() && dims[end] >= '0' && dims[end] <= '9') ++end;
    if (end == i) return bad("bad shape '" + dims + "'");
    shape.push_back(std::stoll(dims.substr(i, end - i)));
    i = end;
  }
  Tensor t;
  TANDEM_TRY(Tensor::create(dtype, shape, Device::cpu(), t));
  const std::size_t data_at = offset + header_len;
  if (bytes.size() - data_at != t.view().nbytes()) return bad("data size does not match the shape");
  std::memcpy(t.view().data, bytes.data() + data_at, t.view().nbytes());
  out = std::move(t);
  return {};
}

/// The path of a committed golden file.
inline std::string golden_path(const std::string& name) {
  return std::string(TANDEM_SOURCE_DIR) + "/tests/golden/" + name;
}

}  // namespace tandem::test
