#include "host/engine/stream.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "host/engine/queue.hpp"
#include "host/ops/reduction.hpp"
#include "tandem/io/npy.hpp"

namespace tandem {

namespace {

using Clock = std::chrono::steady_clock;

struct Chunk {
  std::int64_t offset = 0;  // first element
  Buffer buffer;            // host (pinned for a device) memory holding the chunk
  View view;                // 1-D view of the chunk's elements
  Tensor result;            // host result on the CPU path
  Buffer out_buffer;        // pinned memory the device path downloads the result into
  View out;                 // the result, in `result` or in `out_buffer`
  Status status;
};

// Pinned buffers reused from chunk to chunk (allocating pinned memory
// synchronises the device): a buffer large enough is taken from the free
// list, else one is allocated; given back when its chunk is done.
class BufferPool {
 public:
  BufferPool(MemKind kind, Device device) : kind_(kind), device_(device) {}
  Status take(std::size_t bytes, Buffer& out) {
    {
      std::lock_guard lock(mu_);
      for (auto it = free_.begin(); it != free_.end(); ++it)
        if (it->size() >= bytes) {
          out = std::move(*it);
          free_.erase(it);
          return {};
        }
    }
    return Buffer::allocate(std::max<std::size_t>(bytes, 1), kind_, out, device_);
  }
  void give(Buffer b) {
    if (!b.data()) return;
    std::lock_guard lock(mu_);
    free_.push_back(std::move(b));
  }

 private:
  const MemKind kind_;
  const Device device_;
  std::mutex mu_;
  std::vector<Buffer> free_;
};

Status make_prefix(const Pipeline& p, std::size_t n, Pipeline& out) {
  std::vector<PipelineStage> stages(p.stages().begin(), p.stages().begin() + static_cast<std::ptrdiff_t>(n));
  if (stages.empty()) {
    out = Pipeline();
    return {};
  }
  return Pipeline::from_stages(std::move(stages), out);
}

// Applies `pipeline` to a host chunk on the CPU (or copies it through when
// the pipeline is empty); the result is ch.result.
Status compute_on_host(const Pipeline& pipeline, Chunk& ch, const StreamConfig& cfg) {
  if (pipeline.stages().empty()) {
    TANDEM_TRY(Tensor::create_like(ch.view, Device::cpu(), ch.result));
    TANDEM_TRY(copy(ch.view, ch.result.view()));
  } else {
    TANDEM_TRY(pipeline.apply(ch.view, ch.result, cfg.exec));
  }
  ch.out = ch.result.view();
  return {};
}

// Queues `pipeline` on a chunk on `exec`'s device: upload, the ops, and the
// download into a pinned buffer from `pool` (ch.out); done once the stream is synchronised.
Status launch_on_device(const Pipeline& pipeline, Chunk& ch, const Exec& exec, BufferPool& pool) {
  // Stream-ordered: the device tensors are freed behind the work that uses them.
  StreamAllocScope alloc(exec);
  Tensor dev_in, dev_out;
  TANDEM_TRY(Tensor::create_like(ch.view, exec.device, dev_in));
  TANDEM_TRY(copy(ch.view, dev_in.view(), exec.stream));
  TANDEM_TRY(pipeline.apply(dev_in.view(), dev_out, exec));
  const View& r = dev_out.view();
  TANDEM_TRY(pool.take(static_cast<std::size_t>(r.nbytes()), ch.out_buffer));
  ch.out = View::array(ch.out_buffer.data(), r.dtype, std::span<const std::int64_t>(r.shape.data(), std::size_t(r.ndim)));
  return copy(r, ch.out, exec.stream);
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
  const bool on_device = !cfg.exec.device.is_cpu() && !pipeline.stages().empty();
  BufferPool in_pool(on_device ? MemKind::pinned : MemKind::host, cfg.exec.device);
  BufferPool out_pool(MemKind::pinned, cfg.exec.device);

  std::thread rd([&] {
    for (std::int64_t off = 0; off < h.numel && !stop.load(); off += per_chunk) {
      auto c = std::make_unique<Chunk>();
      c->offset = off;
      const std::int64_t n = std::min(per_chunk, h.numel - off);
      c->status = in_pool.take(static_cast<std::size_t>(n) * es, c->buffer);
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
      out_pool.give(std::move((*c)->out_buffer));
      c->reset();
    }
  });

  // On a device, two streams take turns: chunk i+1 uploads and computes
  // while chunk i downloads; a chunk is handed on once its stream is synchronised.
  Status status;
  Stream streams[2];
  std::unique_ptr<Chunk> in_flight[2];
  for (int i = 0; on_device && i < 2 && status.ok(); ++i) status = Stream::create(cfg.exec.device, streams[i]);
  const auto land = [&](int k) {
    if (!in_flight[k]) return;
    std::unique_ptr<Chunk> c = std::move(in_flight[k]);
    const Status s = streams[k].synchronize();
    in_pool.give(std::move(c->buffer));  // the upload is over
    if (!s.ok()) {
      if (status.ok()) status = s;
      stop = true;
      out_pool.give(std::move(c->out_buffer));
      return;
    }
    done_q.push(std::move(c));
  };
  std::size_t n = 0;
  while (auto c = read_q.pop()) {
    if (!status.ok() || stop.load()) continue;  // drain
    Chunk& ch = **c;
    if (!ch.status.ok()) {
      status = ch.status;
      stop = true;
      continue;
    }
    if (!on_device) {
      status = compute_on_host(pipeline, ch, cfg);
      in_pool.give(std::move(ch.buffer));  // the input is no longer needed
      if (!status.ok()) stop = true;
      else done_q.push(std::move(*c));
      continue;
    }
    const int k = static_cast<int>(n++ % 2);
    land(k);  // the chunk this stream carried before
    if (!status.ok()) continue;
    status = launch_on_device(pipeline, ch, Exec::on(streams[k]), out_pool);
    if (!status.ok()) {
      (void)streams[k].synchronize();
      stop = true;
      continue;
    }
    in_flight[k] = std::move(*c);
  }
  land(static_cast<int>(n % 2));  // the older one first: chunks reach the consumer in order
  land(static_cast<int>((n + 1) % 2));
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
      const View& r = c.out;
      if (!opened) {
        TANDEM_TRY(writer.open(output, r.dtype, h.shape, cfg.write));
        opened = true;
      }
      TANDEM_TRY(writer.append(r));
      info.bytes_out += r.nbytes();
      return {};
    }));
    if (!opened) {  // empty array: nothing flowed; keep the input dtype
      TANDEM_TRY(writer.open(output, h.dtype, h.shape, cfg.write));
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
    TANDEM_TRY(one_pass(reader, with_op, cfg, [&](Chunk& c) { return op.combine(result, c.out); }));
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
  TANDEM_TRY(io::write_npy(output, result.view(), cfg.write));
  info.bytes_out = result.view().nbytes();
  return {};
}

}  // namespace tandem
