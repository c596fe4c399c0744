// The CPU team stage.
#include "host/engine/cpu_team.hpp"

#include <algorithm>

namespace tandem::engine {

CpuTeams::CpuTeams(Context& ctx, WorkQueue<Item>& work, ItemSink on_done)
    : ctx_(ctx), work_(work), on_done_(std::move(on_done)) {}

void CpuTeams::start() {
  ctx_.compute_cpu.threads = static_cast<int>(ctx_.plan.teams.size());
  for (const auto& t : ctx_.plan.teams) threads_.emplace_back([this, &t] { loop(t); });
}

void CpuTeams::stop() { threads_.clear(); }  // joins

void CpuTeams::compute(Context& ctx, Item& item, int threads, const std::string& device) {
  const auto t0 = Clock::now();
  Tensor out;
  const Status s = ctx.pipeline.apply(item.input_view(), out, Exec::cpu(threads));
  const double secs = seconds_since(t0);
  ctx.compute_cpu.add(secs);
  if (s.ok()) ctx.model.observe(ThroughputModel::cpu, item.input_bytes, secs);
  item.result = std::move(out);
  item.info.status = s;
  item.info.device = device;
  item.info.seconds += secs;
}

void CpuTeams::loop(const EngineTeam& team) {
  const int n = std::max<int>(1, static_cast<int>(team.slots.size()));
  const std::string device = "cpu:" + std::to_string(team.index);
  const int track = ctx_.trace.track("cpu team " + std::to_string(team.index) + " (numa " +
                                     std::to_string(team.numa_node) + ", " + std::to_string(n) + " threads)");
  // The team leader and each of its OpenMP threads bind to one PU of the team;
  // libgomp keeps this thread's pool, so the binding holds for every later region.
  bind_team(team);
  while (ItemPtr item = work_.pop_cpu(team.numa_node)) {
    {
      TraceScope scope(ctx_.trace, track, "compute", "cpu", item->input);
      compute(ctx_, *item, n, device);
    }
    on_done_(std::move(item));
  }
}

}  // namespace tandem::engine
