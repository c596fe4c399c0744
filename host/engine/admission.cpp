// Admission: an item's peak bytes, from its header and the pipeline.
#include "host/engine/admission.hpp"

#include <algorithm>
#include <vector>

namespace tandem::engine {

namespace {

using u128 = unsigned __int128;

u128 elements(const std::vector<std::int64_t>& shape) {
  u128 n = 1;
  for (const auto d : shape) n *= static_cast<u128>(std::max<std::int64_t>(d, 0));
  return n;
}

std::uint64_t saturate(u128 v) { return v > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(v); }

// The shape and element size a stage's output will have, from its input's.
struct Shape {
  std::vector<std::int64_t> dims;
  std::size_t element = 1;
  [[nodiscard]] u128 bytes() const { return elements(dims) * element; }
};

Shape stage_output(const PipelineStage& st, const Shape& in) {
  const OpSpec& op = *st.op;
  const std::string_view name = op.name;
  Shape out = in;
  switch (op.kind) {
    case OpKind::image:
      if (name == "resize" && in.dims.size() >= 2) {
        out.dims[0] = st.args.integer("height");
        out.dims[1] = st.args.integer("width");
      } else if (name == "grayscale" && in.dims.size() == 3) {
        out.dims.resize(2);
      }
      return out;
    case OpKind::array:
      out.element = 8;
      if (name == "cumsum") out.dims = {static_cast<std::int64_t>(saturate(elements(in.dims)))};
      if (name == "matmul" && in.dims.size() == 2 && st.args.values().count("with")) {
        const auto& f = std::get<LoadedFile>(st.args.values().find("with")->second);
        if (f.tensor && f.tensor->view().ndim == 2) out.dims[1] = f.tensor->view().shape[1];
      }
      return out;
    case OpKind::histogram:
      out.dims = {st.args.has("bins") ? st.args.integer("bins") + 1 : 257, 2};
      out.element = 8;
      return out;
    case OpKind::reduction:
      out.dims = {64};
      out.element = 8;
      return out;
  }
  return out;
}

}  // namespace

Status check_npy_dtype(const std::string& path, const io::NpyHeader& h) {
  if (!h.widened()) return {};
  return {Errc::unsupported, "'" + path + "': NPY dtype '" + h.descr + "' has no tandem dtype; ops would run on it widened to " +
                                 dtype_name(h.dtype) + ", where NumPy keeps '" + h.descr +
                                 "' (abs of int8 -128 is -128 there): convert the array first, e.g. a.astype(np." +
                                 (h.dtype == DType::f32 ? "float32" : h.dtype == DType::u8 ? "uint8" : h.dtype == DType::i64 ? "int64" : "int32") + ")"};
}

ItemEstimate estimate_item(const Pipeline& pipeline, const std::optional<io::ImageInfo>& info,
                           std::uint64_t file_bytes, bool keeps_metadata) {
  ItemEstimate e;
  if (!info) {
    // Decoding will fail (no header could be read): the file and its copy.
    e.peak = 2 * file_bytes + 4096;
    return e;
  }
  Shape cur{info->shape, dtype_size(info->dtype)};
  const u128 decoded = cur.bytes();
  // A JPEG with an EXIF orientation, or a TIFF page with an Orientation tag,
  // is decoded into scratch rows, then turned.
  const bool turned = info->format == io::Format::jpeg || (info->format == io::Format::tiff && info->tiff_turned);
  // The ICC profile and EXIF kept for the output are held from decode to write.
  const u128 meta = keeps_metadata ? info->metadata_bytes : 0;
  u128 peak = file_bytes + decoded * (turned ? 2 : 1) + meta;
  for (std::size_t k = 0; k < pipeline.stages().size(); ++k) {
    const Shape next = stage_output(pipeline.stages()[k], cur);
    // The decoded input stays held until the item is written.
    peak = std::max(peak, decoded + (k > 0 ? cur.bytes() : 0) + next.bytes() + meta);
    cur = next;
  }
  // Encoding: the result and its bytes (a little more than raw for noise in PNG).
  const u128 result = cur.bytes();
  peak = std::max(peak, result + result + result / 64 + 4096 + meta);
  e.decoded = saturate(decoded);
  e.peak = saturate(peak + 4096);
  return e;
}

std::uint64_t stream_footprint(std::size_t chunk_bytes, std::size_t element_size) {
  // The reader's queue (2) and the chunk it reads, the one computing; the
  // writer's queue (2), the one it writes and the result being made.
  const std::uint64_t in = chunk_bytes;
  const std::uint64_t out = chunk_bytes / std::max<std::size_t>(element_size, 1) * 8;
  return 4 * in + 4 * out;
}

}  // namespace tandem::engine
