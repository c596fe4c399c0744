// grayscale: RGB(A) -> luma (cv2.COLOR_RGB2GRAY / COLOR_RGBA2GRAY). Validation, dispatch,
// the OpenMP implementation and the op-table entry.
#include "tandem/ops/grayscale.hpp"

#include <cstring>
#include <span>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TANDEM_GRAY_AVX2 1
#endif

#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/ops/pointops_common.hpp"
#include "kernels/grayscale.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {

namespace {

constexpr std::string_view kOp = "grayscale";

// One row of n pixels. Written as plain indexed loads so GCC vectorises the strided
// deinterleave (check with -fopt-info-vec-optimized).
template <class T, int C>
TANDEM_POINTOPS_CLONES void gray_row(const T* __restrict s, T* __restrict d, std::int64_t n) {
  const kern::GrayOp<T, C> op;
  for (std::int64_t i = 0; i < n; ++i) d[i] = op(s + C * i);
}

#if TANDEM_GRAY_AVX2

// 8 pixels: 4 in each 128-bit lane (C = 3: bytes 0-11 of each lane).
template <int C>
TANDEM_AVX2_INLINE __m256i load8(const std::uint8_t* p) {
  if constexpr (C == 4) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  } else {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 12)), 1);
  }
}

// Luma of the 8 pixels load8 gave, as int32.
TANDEM_AVX2_INLINE __m256i luma8(__m256i px, __m256i rg_mask, __m256i b_mask, __m256i w_rg, __m256i w_b,
                                 __m256i half) {
  const __m256i rg = _mm256_madd_epi16(_mm256_shuffle_epi8(px, rg_mask), w_rg);
  const __m256i b = _mm256_madd_epi16(_mm256_shuffle_epi8(px, b_mask), w_b);
  return _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(rg, b), half), kern::kGrayShift);
}

// u8 RGB(A) -> luma with AVX2, bit-exact with gray_pixel: each pixel's (R, G) and (B, 0)
// byte pairs are shuffled into 16-bit lanes and multiplied by (9798, 19235) and (3735, 0)
// with vpmaddwd, so one instruction does two taps of four pixels per 128-bit lane.
// Processes whole blocks of 32 pixels and returns how many it did (the caller finishes
// the tail); C = 3 stops two pixels early because its 16-byte loads read 4 bytes past
// the last 4-pixel group.
template <int C>
__attribute__((target("avx2"))) std::int64_t gray_u8_avx2(const std::uint8_t* __restrict s,
                                                           std::uint8_t* __restrict d, std::int64_t n) {
  static_assert(C == 3 || C == 4);
  constexpr char z = char(0x80);  // vpshufb: zero this byte
  constexpr char c1 = C, c2 = 2 * C, c3 = 3 * C;
  const __m256i rg_mask = _mm256_setr_epi8(0, z, 1, z, c1, z, c1 + 1, z, c2, z, c2 + 1, z, c3, z, c3 + 1, z,  //
                                           0, z, 1, z, c1, z, c1 + 1, z, c2, z, c2 + 1, z, c3, z, c3 + 1, z);
  const __m256i b_mask = _mm256_setr_epi8(2, z, z, z, c1 + 2, z, z, z, c2 + 2, z, z, z, c3 + 2, z, z, z,  //
                                          2, z, z, z, c1 + 2, z, z, z, c2 + 2, z, z, z, c3 + 2, z, z, z);
  const __m256i w_rg = _mm256_set1_epi32(int(kern::kGrayR15 | (kern::kGrayG15 << 16)));
  const __m256i w_b = _mm256_set1_epi32(int(kern::kGrayB15));
  const __m256i half = _mm256_set1_epi32(1 << (kern::kGrayShift - 1));
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  constexpr std::int64_t slack = C == 3 ? 2 : 0;
  std::int64_t i = 0;
  for (; i + 32 + slack <= n; i += 32) {
    const std::uint8_t* p = s + C * i;
    const __m256i y0 = luma8(load8<C>(p), rg_mask, b_mask, w_rg, w_b, half);
    const __m256i y1 = luma8(load8<C>(p + 8 * C), rg_mask, b_mask, w_rg, w_b, half);
    const __m256i y2 = luma8(load8<C>(p + 16 * C), rg_mask, b_mask, w_rg, w_b, half);
    const __m256i y3 = luma8(load8<C>(p + 24 * C), rg_mask, b_mask, w_rg, w_b, half);
    // packs/packus work per 128-bit lane: dwords come out as pixel quads 0,2,4,6,1,3,5,7.
    const __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(y0, y1), _mm256_packs_epi32(y2, y3));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), _mm256_permutevar8x32_epi32(bytes, order));
  }
  return i;
}

#endif

template <class T, int C>
void gray_row_best(const T* s, T* d, std::int64_t n) {
#if TANDEM_GRAY_AVX2
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    if (cpu_has_avx2()) {
      const std::int64_t done = gray_u8_avx2<C>(s, d, n);
      s += C * done;
      d += done;
      n -= done;
    }
  }
#endif
  gray_row<T, C>(s, d, n);
}

template <class T>
void gray_cpu(const View& src, const View& dst, const Exec& exec) {
  const pointops::RowLayout l = pointops::row_layout(src, dst, src.width());
  const int c = int(src.channels());
  pointops::parallel_rows(exec, l.rows, l.cols, std::int64_t(1) << 15,
                          [&](std::int64_t y, std::int64_t x0, std::int64_t x1) {
                            const T* s = pointops::row_ptr<T>(src, l.src_stride, y) + x0 * c;
                            T* d = pointops::row_ptr_mut<T>(dst, l.dst_stride, y) + x0;
                            const std::int64_t n = x1 - x0;
                            if (c == 1) {
                              if (d != s) std::memcpy(d, s, std::size_t(n) * sizeof(T));
                            } else if (c == 3) {
                              gray_row_best<T, 3>(s, d, n);
                            } else {
                              gray_row_best<T, 4>(s, d, n);
                            }
                          });
}

// After the checks: the op itself, on the host.
Status grayscale_on_cpu(const View& src, const View& dst, const GrayscaleParams&, const Exec& exec) {
  switch (src.dtype) {
    case DType::u8: gray_cpu<std::uint8_t>(src, dst, exec); break;
    case DType::u16: gray_cpu<std::uint16_t>(src, dst, exec); break;
    default: gray_cpu<float>(src, dst, exec); break;
  }
  return {};
}

const OpSpec& spec() {
  static const OpSpec s = detail::make_op<GrayscaleParams>({
      .name = "grayscale",
      .kind = OpKind::image,
      .doc = "BT.601 luma of an RGB/RGBA image (alpha ignored) -> H x W; u8/u16 in OpenCV 4's 15-bit "
             "fixed point (exact), f32 in float; a 1-channel image is copied",
      .semantics = "cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) (COLOR_RGBA2GRAY for 4 channels); "
                   "Y = (9798 R + 19235 G + 3735 B + 2^14) >> 15 for u8/u16",
      .params = {},
      .layouts = detail::standard_image_layouts(),
      .run = [](const View& src, Tensor& dst, const GrayscaleParams& p, const Exec& exec) { return grayscale(src, dst, p, exec); },
  });
  return s;
}

Status check(const View& src, const Exec& exec) {
  return pointops::check_src(spec(), src, exec);
}

}  // namespace

Status grayscale(const View& src, const View& dst, const GrayscaleParams& p, const Exec& exec) {
  TANDEM_TRY(check(src, exec));
  TANDEM_TRY(pointops::check_dst(kOp, src, dst, 1));
  return detail::on_device("grayscale", src, dst, p, exec, grayscale_on_cpu, [&](auto stream) {
    // A 1-channel image is a plain (possibly re-strided) copy.
    return src.channels() == 1 ? copy(src, dst, stream).with_context("grayscale") : cuda::grayscale(src, dst, stream);
  });
}

Status grayscale(const View& src, Tensor& dst, const GrayscaleParams& p, const Exec& exec) {
  TANDEM_TRY(check(src, exec));
  return pointops::allocate_and_run(kOp, src, 1, dst, exec,
                                    [&](const View& out) { return grayscale(src, out, p, exec); });
}

TANDEM_OP_SPECS(grayscale, &spec())

}  // namespace tandem
