// Merging `tandem run --json` summaries: the N shards of a job array
// (`tandem summary merge`), or the ranks of an MPI run (rank 0). One merged
// summary with the same fields as one run's, plus a part per shard or rank.
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "tandem/status.hpp"

namespace tandem::tools {

/// One summary to merge: its JSON, the shard or rank it came from, and where
/// it was read (for messages; "rank 3" for a rank).
struct SummaryPart {
  nlohmann::json summary;
  int id = 0;
  std::string origin;
};

/// Merges `parts` (all of one pipeline) into `out`. `label` is "shard" or
/// "rank": every item gets that field, and `out[label + "s"]` lists each
/// part's counts, wall and busy seconds and items per device. Totals are
/// summed, the wall time is the longest part's, items are in listing order.
/// An error names the part at fault: not a run summary, another pipeline, a
/// repeated id, an item in two parts.
Status merge_summaries(const std::vector<SummaryPart>& parts, const std::string& label, nlohmann::json& out);

/// The merged summary for people: totals, one line per part, each failure.
void print_merged(std::ostream& os, const nlohmann::json& merged, const std::string& label);

}  // namespace tandem::tools
