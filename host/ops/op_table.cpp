#include "tandem/op_table.hpp"

#include <vector>

// One TANDEM_OP_STEM(name) line per stem in cmake/TandemOps.cmake; each stem's
// host/<stem>.cpp defines tandem::detail::<stem>_ops() returning its OpSpecs.
namespace tandem::detail {
#define TANDEM_OP_STEM(stem) std::span<const OpSpec* const> stem##_ops();
#include "tandem_op_stems.inc"
#undef TANDEM_OP_STEM
}  // namespace tandem::detail

namespace tandem {

std::span<const OpSpec* const> op_table() {
  static const std::vector<const OpSpec*> all = [] {
    std::vector<const OpSpec*> v;
#define TANDEM_OP_STEM(stem) \
  for (const OpSpec* s : detail::stem##_ops()) v.push_back(s);
#include "tandem_op_stems.inc"
#undef TANDEM_OP_STEM
    return v;
  }();
  return all;
}

const OpSpec* find_op(std::string_view name) noexcept {
  for (const OpSpec* s : op_table())
    if (s->name == name) return s;
  return nullptr;
}

}  // namespace tandem
