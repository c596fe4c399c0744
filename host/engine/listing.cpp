// Input listing: paths, directories, glob patterns, output paths, --resume.
#include "host/engine/listing.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <unordered_map>

#include "host/engine/stream.hpp"
#include "tandem/io/file.hpp"

namespace tandem::engine {

namespace fs = std::filesystem;

namespace {

bool matches_any(const std::vector<std::string>& globs, const std::string& name, const std::string& rel) {
  if (globs.empty()) return true;
  for (const auto& g : globs)
    if (::fnmatch(g.c_str(), name.c_str(), 0) == 0 || ::fnmatch(g.c_str(), rel.c_str(), FNM_PATHNAME) == 0)
      return true;
  return false;
}

struct Listed {
  std::string input;
  fs::path rel;  // relative output path before the extension is decided
  Status error;
};

// One directory of a walk, its entries sorted; subdirectories are walked in
// turn. The output tree is left out (its files are the outputs of earlier
// runs), and every entry that cannot be read is reported with its path.
void walk(const RunOptions& o, const fs::path& root, const fs::path& dir, const std::string& outdir,
          std::vector<Listed>& found, std::size_t& ignored) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) entries.push_back(*it);
  if (ec) {
    found.push_back({dir.string(), dir.lexically_relative(root), {Errc::io_error, "cannot list " + dir.string() + ": " + ec.message()}});
    return;
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& e : entries) {
    const std::string name = e.path().filename().string();
    if (io::is_temporary_name(name) || name.starts_with('.')) continue;
    // The link's own path: a symlink's output sits where the link is, not where it points.
    const fs::path rel = e.path().lexically_relative(root);
    std::error_code sec;
    const fs::file_status st = e.status(sec);  // follows symlinks
    if (sec || !fs::exists(st)) {
      std::error_code lec;
      const bool dangling = e.is_symlink(lec) && !fs::exists(st);
      const std::string why = dangling ? "dangling symbolic link (to " + fs::read_symlink(e.path(), lec).string() + ")"
                                       : (sec ? sec.message() : std::string("no such file"));
      found.push_back({e.path().string(), rel, {Errc::io_error, "cannot read " + e.path().string() + ": " + why}});
      continue;
    }
    if (fs::is_directory(st)) {
      if (e.is_symlink(sec)) continue;  // not followed: no loops, nothing listed twice
      if (fs::equivalent(e.path(), outdir, sec)) continue;
      walk(o, root, e.path(), outdir, found, ignored);
      continue;
    }
    if (!fs::is_regular_file(st)) continue;  // FIFOs, sockets, devices found in a walk
    if (!matches_any(o.globs, name, rel.string())) continue;
    if (o.globs.empty() && !io::format_from_path(name)) {
      ++ignored;
      continue;
    }
    found.push_back({e.path().string(), rel, {}});
  }
}

// Files found by walking a directory without glob patterns are kept only when
// their name says a format tandem reads (a README next to the photos is not
// an input); `ignored` counts them. Files named directly always count; a file
// named twice (or named and found in a directory) is listed once.
void list_inputs(const RunOptions& o, const std::string& outdir, std::vector<Listed>& out, std::size_t& ignored,
                 std::vector<std::string>& notices) {
  std::set<std::string> seen;
  std::size_t twice = 0;
  auto add = [&](Listed l) {
    std::error_code ec;
    // By the path as named: a symlink to another input is an input of its own.
    if (l.error.ok() && !seen.insert(fs::absolute(l.input, ec).lexically_normal().string()).second) {
      ++twice;
      return;
    }
    out.push_back(std::move(l));
  };
  for (const auto& arg : o.inputs) {
    std::error_code ec;
    const fs::file_status st = fs::status(arg, ec);
    if (ec || !fs::exists(st)) {
      add({arg, fs::path(arg).filename(), {Errc::io_error, "cannot read " + arg + ": no such file or directory"}});
      continue;
    }
    if (!fs::is_directory(st)) {
      add({arg, fs::path(arg).filename(), {}});
      continue;
    }
    std::vector<Listed> found;
    walk(o, arg, arg, outdir, found, ignored);
    for (auto& f : found) add(std::move(f));
  }
  if (twice)
    notices.push_back(std::to_string(twice) + " input" + (twice == 1 ? " was" : "s were") +
                      " named more than once; each is processed once");
}

const char* extension_of(io::Format f) {
  switch (f) {
    case io::Format::png: return ".png";
    case io::Format::jpeg: return ".jpg";
    case io::Format::pgm: return ".pgm";
    case io::Format::ppm: return ".ppm";
    case io::Format::npy: return ".npy";
    case io::Format::tiff: return ".tif";
  }
  return "";
}

std::optional<io::Format> output_format(const Pipeline& p, const RunOptions& o, const std::string& input) {
  const OpKind kind = p.result_kind();
  if (kind == OpKind::reduction) return std::nullopt;  // JSON, written by the writers
  if (!o.format.empty()) return io::parse_format(o.format);
  if (kind == OpKind::histogram || kind == OpKind::array) return io::Format::npy;
  return io::format_from_path(input);
}

// The safety checks on one output path: inside the output directory, not an
// input of the run, not claimed by another input.
Status check_output(const fs::path& out, const std::string& outdir, const std::set<std::string>& inputs,
                    std::unordered_map<std::string, std::string>& claimed, const std::string& input) {
  std::error_code ec;
  const std::string parent = fs::weakly_canonical(out.parent_path(), ec).string();
  if (parent.compare(0, outdir.size(), outdir) != 0 || (parent.size() > outdir.size() && parent[outdir.size()] != '/'))
    return {Errc::invalid_argument, "refusing to write " + out.string() + ": outside the output directory " + outdir};
  if (inputs.count(fs::weakly_canonical(out, ec).string()))
    return {Errc::invalid_argument, "refusing to write " + out.string() + ": it is an input of this run"};
  if (auto [it, fresh] = claimed.emplace(out.string(), input); !fresh)
    return {Errc::invalid_argument, "output " + out.string() + " would be written by both " + it->second + " and " + input};
  return {};
}

}  // namespace

Status list_items(const Pipeline& pipeline, const RunOptions& opts, const std::string& outdir,
                  std::size_t stream_above, Listing& out) {
  std::vector<Listed> listed;
  std::size_t ignored = 0;
  list_inputs(opts, outdir, listed, ignored, out.notices);
  if (ignored)
    out.notices.push_back("ignored " + std::to_string(ignored) + " file" + (ignored == 1 ? "" : "s") +
                          " of no known format found in the input directories (name them, or add a glob "
                          "pattern that matches them)");
  if (listed.empty())
    return {Errc::invalid_argument,
            ignored ? "no input files of a known format found (" + std::to_string(ignored) +
                          " ignored: tandem reads .png .jpg .jpeg .jpe .pgm .ppm .tif .tiff .npy; add a glob pattern to "
                          "include others)"
                    : "no input files found (check the input paths and the glob patterns)"};
  out.listed = listed.size();

  std::error_code ec;
  std::set<std::string> input_set;
  for (const auto& l : listed)
    if (l.error.ok()) input_set.insert(fs::weakly_canonical(l.input, ec).string());
  std::unordered_map<std::string, std::string> claimed;
  const bool streams = can_stream(pipeline);
  for (std::size_t i = 0; i < listed.size(); ++i) {
    auto item = std::make_unique<Item>();
    item->index = i;
    item->info.index = i;
    item->input = listed[i].input;
    item->info.input = listed[i].input;
    Status s = listed[i].error;
    fs::path rel = listed[i].rel;
    if (s.ok()) {
      if (pipeline.result_kind() == OpKind::reduction) {
        rel.replace_extension(".json");
      } else if (auto f = output_format(pipeline, opts, item->input)) {
        item->out_format = *f;
        if (io::format_from_path(rel.string()) != f) rel.replace_extension(extension_of(*f));
      } else {
        s = {Errc::unsupported, "cannot tell the format of " + item->input + " from its name; name the output format"};
      }
    }
    if (s.ok()) {
      const fs::path o = (fs::path(outdir) / rel).lexically_normal();
      s = check_output(o, outdir, input_set, claimed, item->input);
      item->output = o.string();
      item->info.output = item->output;
    }
    if (!s.ok()) {
      item->info.status = s;
      item->info.output.clear();
      out.refused.push_back(std::move(item));
    } else if (opts.resume && fs::exists(item->output, ec)) {
      item->info.skipped = true;
      out.skipped.push_back(std::move(item));
    } else if (streams && io::format_from_path(item->input) == io::Format::npy &&
               fs::file_size(item->input, ec) > stream_above && !ec) {
      // Too large to hold within the budget: streams through in chunks
      // (elementwise ops, maybe ending in a reduction).
      out.streamed.push_back(std::move(item));
    } else {
      out.todo.push_back(std::move(item));
    }
  }
  return {};
}

}  // namespace tandem::engine
