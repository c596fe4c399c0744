/// @file op_table.hpp
/// @brief The one declaration of every op: name, parameters, dtypes, doc, and
///        a generic entry point. The pipeline parser, `tandem ops`, `--help`
///        and docs/ops.md all read this table.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tandem/device.hpp"
#include "tandem/dtype.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief The type of an op parameter as written in a pipeline (`key=value`).
enum class ParamType : unsigned char {
  integer,  ///< "5"
  number,   ///< "2.5"
  choice,   ///< one of ParamSpec::choices, e.g. "reflect101"
  matrix,   ///< "a,b,c;d,e,f;g,h,i" — rows separated by ';'
  path,     ///< a file name, e.g. "B.npy"
};

const char* param_type_name(ParamType t) noexcept;

/// @brief A small dense matrix of doubles (filter kernels).
struct Matrix {
  int rows = 0;
  int cols = 0;
  std::vector<double> values;  ///< row-major
  friend bool operator==(const Matrix&, const Matrix&) = default;
};

/// @brief A path parameter's file, read once when the pipeline is parsed.
struct LoadedFile {
  std::string path;                      ///< as written
  std::shared_ptr<const Tensor> tensor;  ///< its contents, on the host
};

using ParamValue = std::variant<std::int64_t, double, std::string, Matrix, LoadedFile>;

/// @brief One parameter of an op, bound to a field of the op's Params struct
///        (host/ops/op_decl.hpp builds these from member pointers). Name, type,
///        range, doc and the default (read from a default-constructed Params)
///        come from that one declaration.
struct ParamSpec {
  std::string_view name;
  ParamType type = ParamType::number;
  std::string default_value;  ///< as text; empty = required (unless `optional`)
  double min = -1e300;        ///< inclusive bounds for integer / number
  double max = 1e300;
  std::vector<std::string_view> choices;  ///< for ParamType::choice
  std::string_view doc;
  bool optional = false;  ///< may be absent even with no default (e.g. histogram min/max)
  /// Writes a parsed value into its field of a Params struct (type-erased: `params`
  /// points to the op's Params).
  std::function<void(void* params, const ParamValue& value)> store;
  /// Reads the field back, so a Params struct given in C++ is checked against the
  /// same range; nullopt when an optional field is unset.
  std::function<std::optional<ParamValue>(const void* params)> load;
  /// For ParamType::path: reads the file into `file.tensor` once, when the
  /// pipeline is parsed (so a missing file is a parse error and items share it);
  /// when `file.tensor` is already set (contents given in memory), prepares
  /// those as it would a file's (e.g. widening integers).
  std::function<Status(LoadedFile& file)> open;
};

/// @brief Parsed, validated parameter values of one op instance.
class OpArgs {
 public:
  [[nodiscard]] bool has(std::string_view name) const;
  [[nodiscard]] std::int64_t integer(std::string_view name) const;
  [[nodiscard]] double number(std::string_view name) const;  ///< integer or number
  [[nodiscard]] const std::string& text(std::string_view name) const;  ///< choice or path
  [[nodiscard]] const Matrix& matrix(std::string_view name) const;
  void set(std::string name, ParamValue value) { values_[std::move(name)] = std::move(value); }
  [[nodiscard]] const std::map<std::string, ParamValue, std::less<>>& values() const { return values_; }

 private:
  std::map<std::string, ParamValue, std::less<>> values_;
};

/// @brief What an op produces.
enum class OpKind : unsigned char {
  image,      ///< image in, image out (also H x W [x C] arrays of image dtypes)
  array,      ///< N-d array in, N-d array out (elementwise, sort, cumsum, matmul)
  reduction,  ///< array/image in, a few named numbers out (stats)
  histogram,  ///< array/image in, 1-d i64 counts out (+ bin edges)
};

/// @brief One input layout an op accepts: a dtype and, for image ops, a channel
///        count (0 = any shape, for array ops).
struct Layout {
  DType dtype = DType::u8;
  int channels = 0;
  friend bool operator==(const Layout&, const Layout&) = default;
};

/// @brief "u8 x1/3/4, u16 x1/3, f32 x1" (image layouts) or "u8, u16, f64" (arrays).
std::string layouts_text(std::span<const Layout> layouts);

/// @brief Which channel counts an image op accepts (bit c set = c channels).
using ChannelMask = unsigned;
inline constexpr ChannelMask kChannels1 = 1u << 1;
inline constexpr ChannelMask kChannels134 = (1u << 1) | (1u << 3) | (1u << 4);
inline constexpr ChannelMask kChannels3 = 1u << 3;
inline constexpr ChannelMask kAnyChannels = ~0u;

/// @brief Runs the op on `src`, allocating `dst` on the same device. CUDA ops
///        queue work on exec.stream and return without synchronizing.
using OpRunFn = std::function<Status(const OpArgs& args, const View& src, Tensor& dst, const Exec& exec)>;

/// @brief Folds the result of one chunk of a streamed input into the running
///        result (`acc` is empty for the first chunk). Both are on the host.
using OpCombineFn = std::function<Status(Tensor& acc, const View& chunk_result)>;
/// @brief Turns the folded chunk results into the op's result.
using OpFinishFn = std::function<Status(Tensor& acc)>;

/// @brief The declaration of one op.
struct OpSpec {
  std::string_view name;
  OpKind kind = OpKind::image;
  std::string_view doc;                ///< one line
  std::string_view semantics;          ///< the reference it equals, e.g. "cv2.blur(img, (K,K))"
  std::vector<ParamSpec> params;
  /// The exact input layouts the op accepts: check_input, `tandem ops` and
  /// docs/ops.md all read this list.
  std::vector<Layout> layouts;
  std::vector<DType> dtypes;           ///< the dtypes of `layouts` (derived, for filtering)
  ChannelMask channels = kAnyChannels; ///< the channel counts of `layouts` (derived)
  OpRunFn run;
  /// The data-independent checks of parsed arguments (ranges, and relations
  /// between parameters); run when a pipeline is parsed.
  std::function<Status(const OpArgs& args)> check;
  /// Names of the values a reduction produces, in order (e.g. count sum min max mean std).
  std::vector<std::string_view> outputs;
  /// True when each output element depends only on the same input element
  /// (affine, abs, ...): such ops can stream a file through in chunks.
  bool elementwise = false;
  /// Streaming (a file cut into chunks): folds each chunk's result into one,
  /// then `finish` makes the op's result of the whole input. Set by the ops
  /// that may end a streamed pipeline (stats, histogram).
  OpCombineFn combine;
  OpFinishFn finish;
  /// Streaming: when the op's arguments depend on the whole input (histogram's
  /// default range), the op whose streamed result completes them (else nullptr),
  /// and how it completes them.
  std::function<const OpSpec*(const OpArgs& args)> first_pass;
  std::function<void(OpArgs& args, const View& first_pass_result)> complete;
};

/// @brief Every op, in the order `tandem ops` lists them.
std::span<const OpSpec* const> op_table();
/// @brief The op called `name`, or nullptr.
const OpSpec* find_op(std::string_view name) noexcept;

/// @brief "sigma (number in [0, 10000], default 0)": a parameter as the error
///        messages and the Python docstrings describe it.
std::string describe_param(const ParamSpec& p);

/// @brief Parses and validates raw `key=value` pairs against `spec`, filling in
///        defaults. Errors name the op, the parameter and the accepted values.
///        `given` holds values already made that `raw` does not repeat: a path
///        parameter's contents handed over in memory (the Python package passes
///        an array as matmul's B), opened by the parameter's `open`.
Status parse_args(const OpSpec& spec, const std::map<std::string, std::string, std::less<>>& raw,
                  OpArgs& out, OpArgs given = {});

/// @brief Checks that `src` is an input `spec` accepts (dtype, rank, channels).
Status check_input(const OpSpec& spec, const View& src);

/// @brief Validates and runs one op through the table (the generic path the pipeline uses).
Status run_op(const OpSpec& spec, const OpArgs& args, const View& src, Tensor& dst,
              const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
