#include "host/engine/stream.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "host/core/device_backend.hpp"
#include "host/engine/queue.hpp"
#include "host/ops/reduction.hpp"
#include "tandem/io/npy.hpp"

namespace tandem {

namespace {

using Clock = std::chrono::steady_clock;

struct Chunk {
  std::int64_t offset = 0;  // first element
  Buffer buffer;            // host (pinned for the GPU) memory
  View view;                // 1-D view of the chunk's elements
  Tensor result;            // host result of the elementwise prefix (or a reduction)
  Status status;
};

Status make_prefix(const Pipeline& p, std::size_t n, Pipeline& out) {
  std::vector<PipelineStage> stages(p.stages().begin(), p.stages().begin() + static_cast<std::ptrdiff_t>(n));
  if (stages.empty()) {
    out = Pipeline();
    return {};
  }
  return Pipeline::from_stages(std::move(stages), out);
}

// Applies `pipeline` to a host chunk on the configured device; `out` is a host tensor.
Status compute(const Pipeline& pipeline, const View& in, Tensor& out, const StreamConfig& cfg) {
  if (pipeline.stages().empty()) {
    TANDEM_TRY(Tensor::create_like(in, Device::cpu(), out));
    return copy(in, out.view());
  }
  if (cfg.exec.device.is_cpu()) return pipeline.apply(in, out, cfg.exec);
  Tensor dev_in, dev_out;
  {
    // Stream-ordered: the pipeline's intermediates are freed behind its work.
    StreamAllocScope alloc(cfg.exec);
    TANDEM_TRY(Tensor::create_like(in, cfg.exec.device, dev_in));
    TANDEM_TRY(copy(in, dev_in.view(), cfg.exec.stream));
    TANDEM_TRY(pipeline.apply(dev_in.view(), dev_out, cfg.exec));
    TANDEM_TRY(Tensor::create_like(dev_out.view(), Device::cpu(), out));
    TANDEM_TRY(copy(dev_out.view(), out.view(), cfg.exec.stream));
  }
  // The host reads `out` next: wait for the download (and surface async errors).
  return detail::backend_for(cfg.exec.device)->stream_synchronize(cfg.exec.stream);
}

// One pass over the file: reader thread -> compute (this thread) -> consumer thread.
// `consume` gets each chunk's result in order.
template <class Consume>
Status one_pass(const io::NpyReader& reader, const Pipeline& pipeline, const StreamConfig& cfg, Consume&& consume) {
  const auto& h = reader.header();
  const std::size_t es = dtype_size(h.dtype);
  const std::int64_t per_chunk = std::max<std::int64_t>(1, static_cast<std::int64_t>(cfg.chunk_bytes / es));
  BoundedQueue<std::unique_ptr<Chunk>> read_q(2), done_q(2);
  std::atomic<bool> stop{false};

  std::thread rd([&] {
    for (std::int64_t off = 0; off < h.numel && !stop.load(); off += per_chunk) {
      auto c = std::make_unique<Chunk>();
      c->offset = off;
      const std::int64_t n = std::min(per_chunk, h.numel - off);
      const MemKind kind = cfg.exec.device.is_cpu() ? MemKind::host : MemKind::pinned;
      c->status = Buffer::allocate(static_cast<std::size_t>(n) * es, kind, c->buffer, cfg.exec.device);
      if (c->status.ok()) {
        const std::int64_t shape[] = {n};
        c->view = View::array(c->buffer.data(), h.dtype, shape);
        const auto t0 = cfg.trace ? cfg.trace->now_us() : 0;
        c->status = reader.read_elements(off, n, c->buffer.data());
        if (cfg.trace) cfg.trace->span(cfg.trace_track, "read chunk", "io", t0, cfg.trace->now_us(), reader.path());
      }
      if (!read_q.push(std::move(c))) break;
    }
    read_q.close();
  });

  Status consumer_status;
  std::thread wr([&] {
    while (auto c = done_q.pop()) {
      if (consumer_status.ok()) {
        consumer_status = consume(**c);
        if (!consumer_status.ok()) stop = true;
      }
      c->reset();
    }
  });

  Status status;
  while (auto c = read_q.pop()) {
    if (!status.ok() || stop.load()) continue;  // drain
    Chunk& ch = **c;
    if (!ch.status.ok()) {
      status = ch.status;
      stop = true;
      continue;
    }
    status = compute(pipeline, ch.view, ch.result, cfg);
    if (!status.ok()) {
      stop = true;
      continue;
    }
    ch.buffer.reset();  // the input is no longer needed
    done_q.push(std::move(*c));
  }
  done_q.close();
  rd.join();
  wr.join();
  if (!status.ok()) return status;
  return consumer_status;
}

}  // namespace

bool can_stream(const Pipeline& p) { return p.streamable(); }

Status stream_npy(const Pipeline& pipeline, const std::string& input, const std::string& output,
                  const StreamConfig& cfg, ItemResult& info) {
  io::NpyReader reader;
  TANDEM_TRY(reader.open(input));
  const auto& h = reader.header();
  if (h.fortran_order && h.shape.size() > 1)
    return {Errc::unsupported, input + ": Fortran-ordered arrays are not streamed; convert it to C order"};
  if (!can_stream(pipeline)) return {Errc::unsupported, "pipeline '" + pipeline.text() + "' cannot be streamed"};
  info.bytes_in = h.data_bytes();

  const OpKind kind = pipeline.result_kind();
  const bool reduces = static_cast<bool>(pipeline.stages().back().op->combine);
  Pipeline prefix;
  TANDEM_TRY(make_prefix(pipeline, pipeline.stages().size() - (reduces ? 1 : 0), prefix));

  if (!reduces) {
    io::NpyWriter writer;
    bool opened = false;
    TANDEM_TRY(one_pass(reader, prefix, cfg, [&](Chunk& c) -> Status {
      const View& r = c.result.view();
      if (!opened) {
        TANDEM_TRY(writer.open(output, r.dtype, h.shape));
        opened = true;
      }
      TANDEM_TRY(writer.append(r));
      info.bytes_out += r.nbytes();
      return {};
    }));
    if (!opened) {  // empty array: nothing flowed; keep the input dtype
      TANDEM_TRY(writer.open(output, h.dtype, h.shape));
    }
    return writer.finish();
  }

  // The last op folds the chunk results with its combine/finish hooks; one
  // whose arguments depend on the whole input gets them from a first pass.
  const PipelineStage& last = pipeline.stages().back();
  const auto reduce = [&](const OpSpec& op, const OpArgs& args, Tensor& result) -> Status {
    Pipeline with_op;
    std::vector<PipelineStage> st(prefix.stages());
    st.push_back({&op, args, op.name == last.op->name ? last.text : std::string(op.name)});
    TANDEM_TRY(Pipeline::from_stages(std::move(st), with_op));
    TANDEM_TRY(one_pass(reader, with_op, cfg, [&](Chunk& c) { return op.combine(result, c.result.view()); }));
    return op.finish(result).with_context(input);
  };
  OpArgs args = last.args;
  if (const OpSpec* first = last.op->first_pass ? last.op->first_pass(args) : nullptr) {
    Tensor r;
    TANDEM_TRY(reduce(*first, {}, r));
    last.op->complete(args, r.view());
  }
  Tensor result;
  TANDEM_TRY(reduce(*last.op, args, result));
  if (kind == OpKind::reduction) {
    info.values = detail::reduction_values(pipeline, result.view());
    return {};
  }
  TANDEM_TRY(io::write_npy(output, result.view()));
  info.bytes_out = result.view().nbytes();
  return {};
}

}  // namespace tandem
