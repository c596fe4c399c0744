// tandem.run (the batch engine on files), tandem.info (the hardware report),
// tandem.read / tandem.write (the codecs). run and info return what
// `tandem run --json` and `tandem info --json` print, from the same emitters.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cli/tools/format.hpp"
#include "cli/tools/json.hpp"
#include "python/src/arrays.hpp"
#include "python/src/module.hpp"
#include "tandem/engine.hpp"
#include "tandem/io/codec.hpp"

namespace tandem::python {

namespace {

nb::object from_json(const std::string& text) { return nb::module_::import_("json").attr("loads")(text); }

std::string fspath(nb::handle v) { return nb::cast<std::string>(nb::module_::import_("os").attr("fspath")(v)); }

// A path, or an iterable of paths.
std::vector<std::string> paths(nb::handle v, const char* what) {
  if (nb::isinstance<nb::str>(v) || nb::hasattr(v, "__fspath__")) return {fspath(v)};
  std::vector<std::string> out;
  try {
    for (nb::handle item : v) out.push_back(fspath(item));
  } catch (nb::python_error&) {
    throw nb::type_error((std::string(what) + ": expected a path or a list of paths").c_str());
  }
  return out;
}

DeviceChoice device_choice(const std::string& device) {
  if (device == "cpu") return DeviceChoice::cpu;
  if (device == "gpu") return DeviceChoice::gpu;
  if (device == "auto") return DeviceChoice::auto_select;
  throw nb::value_error(("device must be 'cpu', 'gpu' or 'auto'; got '" + device + "'").c_str());
}

// What the engine's threads report, for the calling thread to pass on.
struct Watch {
  std::mutex mu;
  std::condition_variable changed;
  std::size_t done = 0, total = 0;
  bool finished = false;
};

const char* const kRunDoc =
    "Runs `pipeline` (text or a Pipeline) over files: the batch engine of `tandem run`.\n\n"
    "Args:\n"
    "    pipeline: 'gaussian sigma=2 | sobel' or a tandem.Pipeline\n"
    "    inputs: a file or directory, or a list of them (directories are searched recursively)\n"
    "    output: the output directory (created if missing); outputs keep their relative paths\n"
    "    glob: only files whose name matches this pattern (or any of a list), e.g. '*.png'\n"
    "    device: 'cpu', 'gpu', or 'auto' (every GPU and CPU team share the batch)\n"
    "    resume: skip inputs whose output is already complete\n"
    "    io_memory: bound on bytes in flight, as an int or text ('512M', '2G'); None = 1/8 of RAM, at most 4 GiB\n"
    "    progress: called as progress(done, total) from the calling thread while the run goes on\n"
    "    threads: CPU compute threads in all (0 = every core the placement plan gives the CPU teams)\n"
    "    format: output format (png, jpg, pgm, ppm, npy) instead of each input's own\n\n"
    "Returns the summary `tandem run --json` prints (counts, stages, items per device, every item).\n"
    "The GIL is released while the engine runs. Ctrl-C (KeyboardInterrupt) stops taking new items,\n"
    "finishes those in flight (outputs are only ever complete) and re-raises; the exception's\n"
    "`summary` attribute holds the summary so far. Per-item failures do not raise: they are in\n"
    "the summary ('failed', items[i]['error']).";

nb::object run(nb::handle pipeline, nb::handle inputs, nb::handle output, nb::handle glob, const std::string& device,
               bool resume, nb::handle io_memory, nb::handle progress, int threads,
               const std::optional<std::string>& format) {
  Pipeline parsed;
  const Pipeline* p = as_pipeline(pipeline);
  if (!p) {
    const std::string text = nb::cast<std::string>(pipeline);
    ParseError error;
    if (!Pipeline::parse(text, parsed, &error).ok()) throw nb::value_error(error.format(text).c_str());
    p = &parsed;
  }
  RunOptions o;
  o.inputs = paths(inputs, "inputs");
  o.output_dir = fspath(output);
  if (!glob.is_none()) {
    if (nb::isinstance<nb::str>(glob)) o.globs.push_back(nb::cast<std::string>(glob));
    else
      for (nb::handle g : glob) o.globs.push_back(nb::cast<std::string>(g));
  }
  o.device = device_choice(device);
  o.resume = resume;
  o.threads = threads;
  if (threads < 0) throw nb::value_error(("threads must be >= 0; got " + std::to_string(threads)).c_str());
  if (format) o.format = *format;
  if (!io_memory.is_none()) {
    if (nb::isinstance<nb::str>(io_memory)) {
      const std::string text = nb::cast<std::string>(io_memory);
      if (!tools::parse_bytes(text, o.io_memory))
        throw nb::value_error(("io_memory: not a byte count: '" + text + "' (e.g. 512M, 2G)").c_str());
    } else {
      const long long bytes = nb::cast<long long>(io_memory);
      if (bytes <= 0) throw nb::value_error(("io_memory must be > 0; got " + std::to_string(bytes)).c_str());
      o.io_memory = std::size_t(bytes);
    }
  }

  Watch watch;
  std::atomic<bool> cancel{false};
  o.cancel = &cancel;
  o.on_item = [&](const ItemResult&) {
    std::lock_guard lock(watch.mu);
    ++watch.done;
    watch.changed.notify_one();
  };
  o.on_progress = [&](const Progress& pr) {
    std::lock_guard lock(watch.mu);
    watch.total = pr.total;
    watch.changed.notify_one();
  };
  RunSummary summary;
  Status status;
  std::thread engine([&] {
    status = run_batch(*p, o, summary);
    std::lock_guard lock(watch.mu);
    watch.finished = true;
    watch.changed.notify_one();
  });

  // The calling thread waits with the GIL released, and wakes to pass progress
  // on and to notice Ctrl-C (Python runs signal handlers in the main thread).
  std::optional<nb::python_error> raised;
  std::size_t shown_done = ~std::size_t(0), shown_total = 0;
  for (bool finished = false; !finished;) {
    std::size_t done = 0, total = 0;
    {
      nb::gil_scoped_release unlocked;
      std::unique_lock lock(watch.mu);
      watch.changed.wait_for(lock, std::chrono::milliseconds(50), [&] {
        return watch.finished || watch.done != shown_done || watch.total != shown_total;
      });
      finished = watch.finished;
      done = watch.done;
      total = std::max(watch.total, watch.done);
    }
    if (!raised && PyErr_CheckSignals() != 0) {
      raised.emplace();
      cancel.store(true);
    }
    if (!raised && !progress.is_none() && (done != shown_done || total != shown_total)) {
      try {
        progress(done, total);
      } catch (nb::python_error& e) {
        raised.emplace(std::move(e));
        cancel.store(true);
      }
    }
    shown_done = done;
    shown_total = total;
  }
  engine.join();
  if (!status.ok()) {
    if (raised) throw std::move(*raised);
    raise(status);
  }
  nb::object result = from_json(tools::run_json(*p, summary).dump());
  if (raised) {
    nb::setattr(raised->value(), "summary", result);
    throw std::move(*raised);
  }
  return result;
}

nb::object info() {
  MachineReport report;
  {
    nb::gil_scoped_release unlocked;
    check(build_report(ReportRequest{}, report));
  }
  return from_json(tools::report_json(report, nullptr).dump());
}

nb::object read(nb::handle path, std::int64_t max_pixels) {
  const std::string name = fspath(path);
  Tensor image;
  Status s;
  {
    nb::gil_scoped_release unlocked;
    io::DecodeOptions options;
    options.max_pixels = max_pixels;
    s = io::read_image(name, image, options);
  }
  check(s);
  return to_python(std::move(image));
}

void write(nb::handle path, nb::handle array, int quality, int png_compression, const std::optional<std::string>& format) {
  const std::string name = fspath(path);
  std::optional<io::Format> f;
  if (format) {
    f = io::parse_format(*format);
    if (!f) throw nb::value_error(("format must be png, jpg, pgm, ppm or npy; got '" + *format + "'").c_str());
  }
  if (quality < 1 || quality > 100) throw nb::value_error(("quality must be in [1, 100]; got " + std::to_string(quality)).c_str());
  if (png_compression < 0 || png_compression > 9)
    throw nb::value_error(("png_compression must be in [0, 9]; got " + std::to_string(png_compression)).c_str());
  const bool npy = f ? *f == io::Format::npy : io::format_from_path(name) == io::Format::npy;
  const Input input = as_input(array, npy ? Need::contiguous : Need::image, ("writing '" + name + "'").c_str(),
                               "u8, u16, i32, i64, f32, f64");
  if (!input.view.device.is_cpu()) throw nb::value_error(("writing '" + name + "': the array must be on the host").c_str());
  io::EncodeOptions options;
  options.jpeg_quality = quality;
  options.png_compression = png_compression;
  Status s;
  {
    nb::gil_scoped_release unlocked;
    s = io::write_image(name, input.view, options, f);
  }
  check(s);
}

}  // namespace

void add_batch(nb::module_& m) {
  m.def("run", &run, nb::arg("pipeline"), nb::arg("inputs"), nb::arg("output"), nb::kw_only(),
        nb::arg("glob") = nb::none(), nb::arg("device") = "auto", nb::arg("resume") = false,
        nb::arg("io_memory") = nb::none(), nb::arg("progress") = nb::none(), nb::arg("threads") = 0,
        nb::arg("format") = nb::none(),
        nb::sig("def run(pipeline: str | Pipeline, inputs: str | os.PathLike[str] | collections.abc.Sequence[str | "
                "os.PathLike[str]], output: str | os.PathLike[str], *, glob: str | collections.abc.Sequence[str] | "
                "None = None, device: typing.Literal['cpu', 'gpu', 'auto'] = 'auto', resume: bool = False, "
                "io_memory: int | str | None = None, progress: collections.abc.Callable[[int, int], object] | None = "
                "None, threads: int = 0, format: str | None = None) -> dict[str, typing.Any]"),
        kRunDoc);
  m.def("info", &info,
        "This machine's CPUs, caches, GPUs, OpenMP and placement plan: what `tandem info --json`\n"
        "prints (schema: docs/info.md).");
}

void add_io(nb::module_& m) {
  m.def("read", &read, nb::arg("path"), nb::kw_only(), nb::arg("max_pixels") = std::int64_t(1) << 30,
        nb::sig("def read(path: str | os.PathLike[str], *, max_pixels: int = 1073741824) -> numpy.typing.NDArray"),
        "Reads a PNG, JPEG, PGM/PPM or NPY file (the format from its first bytes) into a NumPy array:\n"
        "H x W or H x W x C (RGB, RGBA) u8/u16 for images, the stored dtype and shape for NPY.\n"
        "A corrupt or truncated file raises ValueError, a missing one OSError; each names the file.");
  m.def("write", &write, nb::arg("path"), nb::arg("array"), nb::kw_only(), nb::arg("quality") = 90,
        nb::arg("png_compression") = 1, nb::arg("format") = nb::none(),
        nb::sig("def write(path: str | os.PathLike[str], array: numpy.typing.ArrayLike, *, quality: int = 90, "
                "png_compression: int = 1, format: str | None = None) -> None"),
        "Writes `array` as PNG, JPEG, PGM/PPM or NPY (the format from `format`, else the extension).\n"
        "The file appears complete or not at all (written under a temporary name, then renamed).");
}

}  // namespace tandem::python
