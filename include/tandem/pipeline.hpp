/// @file pipeline.hpp
/// @brief A pipeline of ops ("gaussian sigma=2 | sobel"), parsed against the op
///        table and applied to images or arrays on any device.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/op_table.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Where and why a pipeline failed to parse.
struct ParseError {
  std::string message;  ///< one line: what is wrong
  std::size_t column = 0;  ///< 0-based offset into the pipeline text
  std::string hint;     ///< the op's valid parameters, or the list of ops
  /// @brief "pipeline: <text>\n          ^ <message>\n<hint>" for the terminal.
  [[nodiscard]] std::string format(std::string_view text) const;
};

/// @brief One op of a pipeline with its validated arguments.
struct PipelineStage {
  const OpSpec* op = nullptr;
  OpArgs args;
  std::string text;  ///< the stage as written, trimmed
};

/// @brief A parsed pipeline. Stages run one after another; a reduction
///        (stats) or histogram may only be the last stage.
class Pipeline {
 public:
  /// @brief Parses "op key=value ... | op ...". On failure fills `error` (if given).
  static Status parse(std::string_view text, Pipeline& out, ParseError* error = nullptr);
  /// @brief Builds a pipeline from ready stages (the C++ way, without text).
  static Status from_stages(std::vector<PipelineStage> stages, Pipeline& out);

  [[nodiscard]] const std::vector<PipelineStage>& stages() const noexcept { return stages_; }
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  /// @brief The kind of the final result (image, array, reduction, histogram).
  [[nodiscard]] OpKind result_kind() const noexcept;
  /// @brief True when every stage is elementwise on arrays (so a file can be
  ///        processed in independent chunks), optionally ending in an op whose
  ///        chunk results combine (OpSpec::combine: stats, histogram).
  [[nodiscard]] bool streamable() const noexcept;

  /// @brief Runs every stage on `src` (on exec.device), leaving the last result in `out`.
  ///        CUDA: queued on exec.stream, not synchronized.
  Status apply(const View& src, Tensor& out, const Exec& exec) const;

 private:
  std::vector<PipelineStage> stages_;
  std::string text_;
};

}  // namespace tandem

#pragma GCC visibility pop
