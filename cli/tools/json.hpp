// The JSON emitters of `tandem info --json` and `tandem run --json`, shared by
// the command line and the Python package (tandem.info(), tandem.run()), so
// both speak one schema (docs/info.md; docs/python.md for run).
#pragma once

#include <utility>

#include <nlohmann/json.hpp>

#include "cli/tools/bench.hpp"
#include "cli/tools/report.hpp"
#include "tandem/engine.hpp"

namespace tandem::tools {

/// The machine report; `measured` adds the measured ceilings (--measure).
/// Keys keep the order docs/info.md lists them in.
nlohmann::ordered_json report_json(const MachineReport& report, const bench::Roof* measured);

/// The summary of a batch run: counts, stages, items per device, every item.
nlohmann::json run_json(const Pipeline& pipeline, const RunSummary& summary, std::pair<int, int> shard = {0, 1});

/// A stage's busy time as a share of what its threads could have done.
double busy_percent(const RunSummary& summary, const StageReport& stage);

}  // namespace tandem::tools
