// `tandem summary merge`: the --json summaries of a run's shards as one.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/tools/summary_merge.hpp"

namespace tandem::cli {

namespace {

struct MergeArgs {
  std::vector<std::string> files;
  std::string output;
  bool quiet = false;
};

int merge_command(const MergeArgs& a) {
  std::vector<tools::SummaryPart> parts;
  int count = 0;
  for (const auto& f : a.files) {
    std::ifstream in(f);
    if (!in) {
      std::cerr << "tandem summary merge: cannot read " << f << "\n";
      return 2;
    }
    tools::SummaryPart part;
    part.origin = f;
    part.summary = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    const auto& shard = part.summary.is_object() ? part.summary.value("shard", nlohmann::json()) : nlohmann::json();
    if (part.summary.is_discarded() || !shard.is_object() || !shard.contains("index") || !shard.contains("count")) {
      std::cerr << "tandem summary merge: " << f << ": not a 'tandem run --json' summary"
                << (part.summary.is_discarded() ? " (not JSON)" : " (no shard field)") << "\n";
      return 2;
    }
    part.id = shard["index"].get<int>();
    const int n = shard["count"].get<int>();
    if (count != 0 && n != count) {
      std::cerr << "tandem summary merge: " << f << " is a shard of " << n << ", " << a.files.front()
                << " of " << count << "\n";
      return 2;
    }
    count = n;
    parts.push_back(std::move(part));
  }
  nlohmann::json merged;
  if (const Status s = tools::merge_summaries(parts, "shard", merged); !s.ok()) {
    std::cerr << "tandem summary merge: " << s.message() << "\n";
    return 2;
  }
  std::vector<int> missing;
  for (int k = 0; k < count; ++k)
    if (std::none_of(parts.begin(), parts.end(), [&](const tools::SummaryPart& p) { return p.id == k; }))
      missing.push_back(k);
  merged["shard"] = {{"count", count}, {"missing", missing}};
  if (!a.output.empty()) {
    std::ofstream out(a.output);
    out << merged.dump(2) << "\n";
    if (!out.flush()) {
      std::cerr << "tandem summary merge: cannot write " << a.output << "\n";
      return 1;
    }
  } else {
    std::cout << merged.dump(2) << "\n";
  }
  if (!a.quiet) {
    tools::print_merged(std::cerr, merged, "shard");
    if (!missing.empty())
      std::cerr << "tandem summary merge: " << missing.size() << " of " << count << " shards missing:"
                << [&] {
                     std::string s;
                     for (int k : missing) s += " " + std::to_string(k);
                     return s;
                   }()
                << "\n";
  }
  return merged["failed"].get<std::uint64_t>() > 0 || merged["cancelled"].get<bool>() || !missing.empty() ? 1 : 0;
}

}  // namespace

void add_summary_command(CLI::App& app, Commands& commands) {
  auto* cmd = app.add_subcommand("summary", "Work with 'tandem run --json' summaries");
  cmd->require_subcommand(1);
  auto* merge = cmd->add_subcommand("merge", "Merge the --json summaries of the shards of one run (--shard K/N) into one");
  auto a = std::make_shared<MergeArgs>();
  merge->add_option("files", a->files, "The shards' summaries")->required()->check(CLI::ExistingFile);
  merge->add_option("-o,--output", a->output, "Write the merged JSON here instead of stdout");
  merge->add_flag("-q,--quiet", a->quiet, "No totals on stderr");
  merge->footer(
      "The merged summary has the fields of one run's (totals; the wall time is the longest shard's), every\n"
      "item with its shard, and 'shards': each shard's counts, wall and busy seconds and items per device.\n"
      "Exit status: 0 all items ok, 1 some items failed or a shard is missing, 2 unreadable or mismatched input.\n"
      "Example:\n"
      "  for k in 0 1 2 3; do tandem run -p sobel -o out/ --shard $k/4 --json photos/ > s$k.json; done\n"
      "  tandem summary merge s*.json > all.json");
  merge->callback([a, &commands] { commands.run = [a] { return merge_command(*a); }; });
}

}  // namespace tandem::cli
