// Links the installed tandem, blurs a small image through the op table and
// checks the result, so a broken package (headers, library, exported target)
// fails loudly.
#include <tandem/tandem.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

int main() {
  using namespace tandem;
  std::printf("tandem %s, CUDA compiled: %s, %s\n", TANDEM_VERSION_STRING, TANDEM_WITH_CUDA ? "yes" : "no",
              cuda_status().c_str());

  // A 5x4 u8 image with a single bright pixel.
  Tensor img;
  throw_if_error(Tensor::create_image(DType::u8, 5, 4, 1, Device::cpu(), img));
  auto* p = img.view().ptr<std::uint8_t>();
  for (int i = 0; i < 20; ++i) p[i] = 0;
  p[2 * 4 + 1] = 90;

  const OpSpec* box = find_op("box");
  if (!box) {
    std::fprintf(stderr, "op table has no 'box' op (%zu ops)\n", op_table().size());
    return 1;
  }
  OpArgs args;
  throw_if_error(parse_args(*box, {{"size", "3"}}, args));
  Tensor out;
  throw_if_error(run_op(*box, args, img.view(), out, Exec::cpu()));
  // A 3x3 mean spreads 90 into 10 on the pixel and its 8 neighbours; at the
  // left edge the reflect-101 border mirrors column 1 onto column -1, so the
  // pixel counts twice there.
  const auto* q = out.view().ptr<std::uint8_t>();
  if (q[2 * 4 + 1] != 10 || q[3 * 4 + 2] != 10 || q[1 * 4 + 0] != 20 || q[0] != 0) {
    std::fprintf(stderr, "unexpected box result\n");
    return 1;
  }
  std::printf("box 3x3 ok over %zu ops\n", op_table().size());
  return 0;
}
