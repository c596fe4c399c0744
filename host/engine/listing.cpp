// Input listing: paths, directories, glob patterns, TIFF pages, output paths,
// --resume; made once (as bytes a shared run hands to every process) and read.
#include "host/engine/listing.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "host/engine/stream.hpp"
#include "tandem/io/codec.hpp"
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

// One item of the listing as make_listing writes it and read_listing reads it.
struct Entry {
  enum Kind : std::uint8_t { todo, refused, skipped };
  std::string input, shown, output;  // shown: the name in the summary ("a.tif (page 2)")
  io::Format format = io::Format::png;
  Kind kind = todo;
  int page = 0;
  std::uint64_t bytes = 0;
  std::uint8_t code = 0;  // refused: the status
  std::string message;
};

// The listing as bytes: a tag, then counts and length-prefixed strings in
// this machine's byte order (every process of a shared run has the same).
constexpr std::string_view kListingTag = "tandem listing 1\n";

void put_u64(std::string& b, std::uint64_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& b, const std::string& s) {
  put_u64(b, s.size());
  b += s;
}

std::string encode(const std::vector<Entry>& entries, const std::vector<std::string>& notices) {
  std::string b(kListingTag);
  put_u64(b, notices.size());
  for (const auto& n : notices) put_str(b, n);
  put_u64(b, entries.size());
  for (const Entry& e : entries) {
    put_str(b, e.input);
    put_str(b, e.shown == e.input ? std::string() : e.shown);
    put_str(b, e.output);
    put_u64(b, (std::uint64_t(e.kind) << 56) | (std::uint64_t(e.format) << 48) | (std::uint64_t(e.code) << 40) |
                   std::uint64_t(std::uint32_t(e.page)));
    put_u64(b, e.bytes);
    if (e.kind == Entry::refused) put_str(b, e.message);
  }
  return b;
}

class Reader {
 public:
  explicit Reader(const std::string& b) : b_(b) {}
  bool u64(std::uint64_t& v) {
    if (b_.size() - at_ < sizeof v) return false;
    std::memcpy(&v, b_.data() + at_, sizeof v);
    at_ += sizeof v;
    return true;
  }
  bool str(std::string& s) {
    std::uint64_t n = 0;
    if (!u64(n) || b_.size() - at_ < n) return false;
    s.assign(b_, at_, n);
    at_ += n;
    return true;
  }
  bool tag() {
    if (b_.compare(0, kListingTag.size(), kListingTag) != 0) return false;
    at_ = kListingTag.size();
    return true;
  }
  [[nodiscard]] std::size_t left() const { return b_.size() - at_; }

 private:
  const std::string& b_;
  std::size_t at_ = 0;
};

Status decode(const std::string& bytes, std::vector<Entry>& entries, std::vector<std::string>& notices) {
  const Status bad{Errc::internal, "the listing received is malformed (" + std::to_string(bytes.size()) +
                                       " bytes; every process must run the same tandem)"};
  Reader r(bytes);
  std::uint64_t n = 0;
  if (!r.tag() || !r.u64(n) || n > r.left()) return bad;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string s;
    if (!r.str(s)) return bad;
    notices.push_back(std::move(s));
  }
  // Each entry takes at least 5 words: a count beyond that is corrupt, not a reason to allocate.
  if (!r.u64(n) || n > r.left() / (5 * sizeof(std::uint64_t))) return bad;
  entries.resize(n);
  for (Entry& e : entries) {
    std::uint64_t packed = 0;
    if (!r.str(e.input) || !r.str(e.shown) || !r.str(e.output) || !r.u64(packed) || !r.u64(e.bytes)) return bad;
    if (e.shown.empty()) e.shown = e.input;
    e.kind = static_cast<Entry::Kind>(packed >> 56);
    e.format = static_cast<io::Format>((packed >> 48) & 0xff);
    e.code = static_cast<std::uint8_t>((packed >> 40) & 0xff);
    e.page = static_cast<int>(std::uint32_t(packed));
    if (e.kind > Entry::skipped || e.format > io::Format::tiff || e.code > std::uint8_t(Errc::internal) ||
        (e.kind == Entry::refused && !r.str(e.message)))
      return bad;
  }
  if (r.left() != 0) return bad;
  return {};
}

}  // namespace

Status make_listing(const Pipeline& pipeline, const RunOptions& opts, const std::string& outdir, std::string& bytes) {
  std::vector<Listed> listed;
  std::size_t ignored = 0;
  std::vector<std::string> notices;
  list_inputs(opts, outdir, listed, ignored, notices);
  if (ignored)
    notices.push_back("ignored " + std::to_string(ignored) + " file" + (ignored == 1 ? "" : "s") +
                      " of no known format found in the input directories (name them, or add a glob "
                      "pattern that matches them)");
  if (listed.empty())
    return {Errc::invalid_argument,
            ignored ? "no input files of a known format found (" + std::to_string(ignored) +
                          " ignored: tandem reads .png .jpg .jpeg .jpe .pgm .ppm .tif .tiff .npy; add a glob pattern to "
                          "include others)"
                    : "no input files found (check the input paths and the glob patterns)"};

  std::error_code ec;
  std::set<std::string> input_set;
  for (const auto& l : listed)
    if (l.error.ok()) input_set.insert(fs::weakly_canonical(l.input, ec).string());
  std::unordered_map<std::string, std::string> claimed;
  std::vector<Entry> entries;
  entries.reserve(listed.size());
  for (const Listed& l : listed) {
    Entry e;
    e.input = e.shown = l.input;
    Status s = l.error;
    fs::path rel = l.rel;
    if (s.ok()) {
      e.bytes = fs::file_size(l.input, ec);
      if (ec) e.bytes = 0;
      if (pipeline.result_kind() == OpKind::reduction) {
        rel.replace_extension(".json");
      } else if (auto f = output_format(pipeline, opts, l.input)) {
        e.format = *f;
        if (io::format_from_path(rel.string()) != f) rel.replace_extension(extension_of(*f));
      } else {
        s = {Errc::unsupported, "cannot tell the format of " + l.input + " from its name; name the output format"};
      }
    }
    // Each page of a multi-page TIFF is an item of its own, written as
    // NAME.pK.EXT. A file whose name says another format is not opened; a
    // TIFF that cannot be counted is one item (reading it says why).
    int pages = 1;
    if (s.ok()) {
      const auto named = io::format_from_path(l.input);
      if (!named || *named == io::Format::tiff) {
        const Status counted = io::count_tiff_pages(l.input, pages);
        if (counted.code() == Errc::unsupported) s = counted;
        if (!counted.ok()) pages = 1;
      }
    }
    const fs::path out = (fs::path(outdir) / rel).lexically_normal();
    for (int k = 0; k < pages; ++k) {
      Entry page = e;
      page.page = k;
      fs::path o = out;
      if (pages > 1) {
        o = out.parent_path() / (out.stem().string() + ".p" + std::to_string(k) + out.extension().string());
        if (k > 0) page.shown = l.input + " (page " + std::to_string(k) + ")";
        // The file's bytes spread over its pages (the remainder on the last).
        page.bytes = e.bytes / std::uint64_t(pages) + (k + 1 == pages ? e.bytes % std::uint64_t(pages) : 0);
      }
      Status ps = s;
      if (ps.ok()) {
        ps = check_output(o, outdir, input_set, claimed, l.input);
        page.output = o.string();
      }
      if (!ps.ok()) {
        page.kind = Entry::refused;
        page.code = static_cast<std::uint8_t>(ps.code());
        page.message = ps.message();
      } else if (opts.resume && fs::exists(page.output, ec)) {
        page.kind = Entry::skipped;
      }
      entries.push_back(std::move(page));
    }
  }
  bytes = encode(entries, notices);
  return {};
}

Status read_listing(const Pipeline& pipeline, const std::string& bytes, std::size_t stream_above, Listing& out) {
  std::vector<Entry> entries;
  TANDEM_TRY(decode(bytes, entries, out.notices));
  out.listed = entries.size();
  const bool streams = can_stream(pipeline);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    auto item = std::make_unique<Item>();
    item->index = item->info.index = i;
    item->input = std::move(e.input);
    item->info.input = std::move(e.shown);
    item->output = item->info.output = std::move(e.output);
    item->out_format = e.format;
    item->page = e.page;
    item->listed_bytes = e.bytes;
    if (e.kind == Entry::refused) {
      item->info.status = {static_cast<Errc>(e.code), std::move(e.message)};
      item->info.output.clear();
      out.refused.push_back(std::move(item));
    } else if (e.kind == Entry::skipped) {
      item->info.skipped = true;
      out.skipped.push_back(std::move(item));
    } else if (streams && io::format_from_path(item->input) == io::Format::npy && e.bytes > stream_above) {
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
