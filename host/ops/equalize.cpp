// equalize: cv2.equalizeHist on 8-bit gray images. Validation, dispatch, the OpenMP
// implementation and the op-table entry.
#include "tandem/ops/equalize.hpp"

#include <array>
#include <cstring>
#include <span>
#include <vector>

#include "host/core/simd.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/equalize_hwy.hpp"
#include "host/ops/op_decl.hpp"
#include "host/ops/pointops_common.hpp"

#include "kernels/equalize.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {

namespace {

constexpr std::string_view kOp = "equalize";
constexpr int kBins = kern::kEqualizeBins;
// 64-bit totals: an image may hold more than 4 Gi pixels (a piece's own
// counts, at most 65536 pixels, stay 32-bit).
using Hist = std::array<std::uint64_t, kBins>;

// Four sub-histograms so consecutive equal pixels do not serialise on one counter; bytes
// are read eight at a time (one load, then shifts) to halve the loads per pixel.
void count_row(const std::uint8_t* s, std::int64_t n, std::uint32_t (&h)[4][kBins]) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, s + i, 8);
    ++h[0][v & 0xff];
    ++h[1][(v >> 8) & 0xff];
    ++h[2][(v >> 16) & 0xff];
    ++h[3][(v >> 24) & 0xff];
    ++h[0][(v >> 32) & 0xff];
    ++h[1][(v >> 40) & 0xff];
    ++h[2][(v >> 48) & 0xff];
    ++h[3][v >> 56];
  }
  for (; i < n; ++i) ++h[0][s[i]];
}

Hist histogram(const View& src, const Exec& exec) {
  const pointops::RowLayout l = pointops::row_layout(src, src, src.width());
  constexpr std::int64_t chunk = std::int64_t(1) << 16;
  const std::int64_t per_row = (l.cols + chunk - 1) / chunk;
  const std::int64_t pieces = l.rows * per_row;
  const int threads = pointops::piece_threads(exec, l.rows, l.cols, pieces);
  std::vector<Hist> partial(std::size_t(threads), Hist{});
  pointops::parallel_pieces(threads, pieces, [&](int slot, std::int64_t p) {
    std::uint32_t h[4][kBins] = {};
    const std::int64_t y = p / per_row;
    const std::int64_t x0 = (p % per_row) * chunk;
    count_row(pointops::row_ptr<std::uint8_t>(src, l.src_stride, y) + x0, std::min(l.cols, x0 + chunk) - x0, h);
    Hist& mine = partial[std::size_t(slot)];
    for (int b = 0; b < kBins; ++b) mine[b] += std::uint64_t(h[0][b]) + h[1][b] + h[2][b] + h[3][b];
  });
  Hist hist{};
  for (const Hist& part : partial)
    for (int b = 0; b < kBins; ++b) hist[b] += part[b];
  return hist;
}

void equalize_cpu(const View& src, const View& dst, const Exec& exec) {
  const Hist hist = histogram(src, exec);
  const auto total = static_cast<std::uint64_t>(src.height() * src.width());
  int first = 0;
  while (hist[first] == 0) ++first;  // total > 0, so some bin is non-empty
  const kern::EqualizeLutInfo info = kern::equalize_info(first, hist[first], total);
  std::array<std::uint8_t, kBins> lut{};
  std::uint64_t cdf = 0;
  for (int b = 0; b < kBins; ++b) {
    cdf += hist[b];
    lut[b] = kern::equalize_lut_entry(b, cdf, info);
  }
  pointops::map_rows<std::uint8_t>(src, dst, exec, [&lut](const std::uint8_t* s, std::uint8_t* d, std::int64_t n) {
    simd::equalize_map_row(s, d, n, lut.data());
  });
}

// After the checks: the op itself, on the host.
Status equalize_on_cpu(const View& src, const View& dst, const EqualizeParams&, const Exec& exec) {
  TANDEM_TRY(detail::simd_ready());  // the TANDEM_SIMD cap, before the first vector kernel
  equalize_cpu(src, dst, exec);
  return {};
}

// The input: a gray u8 image of fewer than 2^31 pixels (OpenCV counts in int).
Status check_src(const OpSpec& spec, const View& src, const Exec& exec) {
  if (src.is_image() && src.dtype == DType::u8 && src.channels() != 1)
    return {Errc::unsupported, pointops::cat("equalize needs a 1-channel (gray) u8 image; got ",
                                             std::to_string(src.channels()), " channels (", src.describe(),
                                             "). Convert with grayscale first, or equalize each channel separately")};
  TANDEM_TRY(pointops::check_src(spec, src, exec));
  if (src.height() * src.width() > std::int64_t(0x7fffffff))
    return pointops::invalid(kOp, pointops::cat("images of 2^31 or more pixels are not supported (", src.describe(), ")"));
  return {};
}

const detail::ImageOp<EqualizeParams>& op() {
  static const detail::ImageOp<EqualizeParams> o({
      .name = "equalize",
      .doc = "histogram equalisation of an 8-bit gray image, bit-exact with OpenCV (a constant image is "
             "returned unchanged)",
      .semantics = "cv2.equalizeHist(img): lut[i] = rint(float(cdf(i) - hist[first]) * (255.f / float(N - "
                   "hist[first]))), float arithmetic, round half to even",
      .layouts = {{DType::u8, 1}},
      .run = equalize,
  }, {.src = check_src, .dst = pointops::check_gray_dst, .out = {.channels = 1}}, equalize, equalize_on_cpu);
  return o;
}

}  // namespace

Status equalize(const View& src, const View& dst, const EqualizeParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec, [&](auto stream) { return cuda::equalize(src, dst, stream); });
}

Status equalize(const View& src, Tensor& dst, const EqualizeParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec);
}

TANDEM_OP_SPECS(equalize, &op().spec())

}  // namespace tandem
