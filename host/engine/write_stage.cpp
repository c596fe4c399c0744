// The encode+write stage.
#include "host/engine/write_stage.hpp"

#include <filesystem>

#include "host/ops/reduction.hpp"
#include "tandem/io/file.hpp"

namespace tandem::engine {

WriteStage::WriteStage(Context& ctx, ItemSink on_written) : ctx_(ctx), on_written_(std::move(on_written)) {}

void WriteStage::start() {
  ctx_.write.threads = kWriters;
  workers_.start(kWriters, [this](std::size_t w) { loop(w); });
}

void WriteStage::write(Context& ctx, Item& item, int track) {
  TraceScope scope(ctx.trace, track, "encode+write", "io", item.input);
  const auto t0 = Clock::now();
  std::vector<std::byte> bytes;
  Status s;
  const View& r = item.result.view();
  if (ctx.pipeline.result_kind() == OpKind::reduction) {
    item.info.values = detail::reduction_values(ctx.pipeline, r);
    bytes = detail::reduction_json(item.info.values);
  } else {
    io::EncodeOptions eo;
    eo.jpeg_quality = ctx.opts.jpeg_quality;
    eo.png_compression = ctx.opts.png_compression;
    eo.tiff_compression = static_cast<io::TiffCompression>(item.tiff_compression);
    eo.metadata = &item.metadata;
    eo.dropped = &item.info.notes;
    s = io::encode(r, item.out_format, eo, bytes);
    if (!s.ok()) s = s.with_context("cannot write " + item.output);
  }
  if (s.ok()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(item.output).parent_path(), ec);
    s = io::write_file_atomic(item.output, bytes, {.fsync = ctx.opts.fsync});
  }
  if (s.ok()) item.info.bytes_out = bytes.size();
  else item.info.output.clear();
  item.info.status = s;
  ctx.write.add(seconds_since(t0));
}

void WriteStage::loop(std::size_t w) {
  bind_thread_best_effort(ctx_.plan.codec_pus);
  const int track = ctx_.trace.track("writer " + std::to_string(w));
  while (auto item = workers_.pop()) {
    write(ctx_, **item, track);
    on_written_(std::move(*item));
  }
}

}  // namespace tandem::engine
