// tandem.<op>(array, **params) for every op of the op table, and
// tandem.Pipeline: generated from the table at import, so a new op appears in
// Python with no Python code written. Parameters reach the op as the text a
// pipeline would give it and go through the same parser, so a bad value
// raises ValueError with the message the command line prints.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <deque>
#include <map>
#include <memory>

#include "python/src/arrays.hpp"
#include "python/src/module.hpp"
#include "tandem/pipeline.hpp"

namespace tandem::python {

namespace {

using RawArgs = std::map<std::string, std::string, std::less<>>;

// A parameter's name in Python: a keyword ("with") gets a trailing underscore.
std::string python_name(std::string_view name) {
  static const char* const keywords[] = {
      "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
      "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
      "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield"};
  for (const char* k : keywords)
    if (name == k) return std::string(name) + "_";
  return std::string(name);
}

std::string python_type(const ParamSpec& p) {
  switch (p.type) {
    case ParamType::integer: return "int";
    case ParamType::number: return "float";
    case ParamType::matrix: return "numpy.typing.ArrayLike";
    case ParamType::path: return "numpy.typing.ArrayLike | str | os.PathLike[str]";
    case ParamType::choice: {
      std::string t = "typing.Literal[";
      for (std::size_t i = 0; i < p.choices.size(); ++i) t += (i ? ", '" : "'") + std::string(p.choices[i]) + "'";
      return t + "]";
    }
  }
  return "object";
}

std::string python_default(const ParamSpec& p) {
  if (p.default_value.empty()) return p.optional ? " = None" : "";
  return p.type == ParamType::choice ? " = '" + p.default_value + "'" : " = " + p.default_value;
}

const char* result_type(const OpSpec& op) {
  return op.kind == OpKind::reduction ? "dict[str, float]" : "numpy.typing.NDArray";
}

// One op as Python sees it: its signature and docstring (kept alive here:
// nanobind keeps pointers to both), the parameters given positionally (files,
// e.g. matmul's B), and the parsed defaults for the common call without keywords.
struct OpBinding {
  const OpSpec* op = nullptr;
  std::string signature, doc, accepts;
  std::vector<const ParamSpec*> positional;
  std::optional<OpArgs> defaults;
};

std::deque<OpBinding>& bindings() {
  static std::deque<OpBinding> all;
  return all;
}

void describe(OpBinding& b) {
  const OpSpec& op = *b.op;
  b.accepts = layouts_text(op.layouts);
  std::string sig = "def " + std::string(op.name) + "(array: numpy.typing.ArrayLike";
  std::string keywords;
  std::string args_doc = "    array: the input (" + std::string(op.kind == OpKind::image ? "H x W or H x W x C" : "any shape") +
                         "): " + b.accepts + "\n";
  for (const ParamSpec& p : op.params) {
    const std::string name = python_name(p.name);
    args_doc += "    " + name + ": " + describe_param(p).substr(p.name.size() + 1) + " " + std::string(p.doc) + "\n";
    if (p.type == ParamType::path) {
      b.positional.push_back(&p);
      sig += ", " + name + ": " + python_type(p);
    } else {
      keywords += ", " + name + ": " + python_type(p) + (p.optional && p.default_value.empty() ? " | None" : "") +
                  python_default(p);
    }
  }
  sig += ", /, *" + keywords +
         ", device: typing.Literal['cpu', 'gpu', 'auto'] = 'auto', threads: int | None = None) -> " + result_type(op);
  b.signature = std::move(sig);
  b.doc = std::string(op.doc) + ".\n\n";
  if (!op.semantics.empty()) b.doc += "Equals " + std::string(op.semantics) + ".\n\n";
  b.doc += "Args:\n" + args_doc +
           "    device: 'cpu', 'gpu', or 'auto' (where the array lives: NumPy on the CPU, CuPy/PyTorch CUDA "
           "arrays on their GPU)\n"
           "    threads: CPU threads; None shares the cores among the tandem calls running at once, 0 = all\n";
  if (op.kind == OpKind::reduction) {
    b.doc += "\nReturns:\n    {";
    for (std::size_t i = 0; i < op.outputs.size(); ++i) b.doc += (i ? ", '" : "'") + std::string(op.outputs[i]) + "': float";
    b.doc += "}\n";
  }
  OpArgs defaults;
  if (parse_args(op, {}, defaults).ok()) b.defaults = std::move(defaults);
}

// A keyword value as a pipeline would spell it, for the pipeline's parser.
std::string value_text(nb::handle v, const ParamSpec& p) {
  if (nb::isinstance<nb::str>(v)) return nb::cast<std::string>(v);  // as a pipeline writes it
  if (p.type == ParamType::matrix) {
    nb::object rows = nb::hasattr(v, "tolist") ? v.attr("tolist")() : nb::borrow(v);
    std::string text;
    bool first_row = true;
    for (nb::handle row : rows) {
      text += first_row ? "" : ";";
      first_row = false;
      bool first = true;
      if (!nb::hasattr(row, "__iter__")) {  // a flat list: one row
        text += nb::cast<std::string>(nb::repr(nb::float_(row)));
        continue;
      }
      for (nb::handle cell : row) {
        text += (first ? "" : ",") + nb::cast<std::string>(nb::repr(nb::float_(cell)));
        first = false;
      }
    }
    return text;
  }
  if (PyBool_Check(v.ptr())) return v.ptr() == Py_True ? "1" : "0";
  if (PyLong_Check(v.ptr()) || (!PyFloat_Check(v.ptr()) && PyIndex_Check(v.ptr()))) {
    nb::object i = nb::steal(PyNumber_Index(v.ptr()));
    if (!i.is_valid()) throw nb::python_error();
    return nb::cast<std::string>(nb::str(i));
  }
  if (PyFloat_Check(v.ptr()) || nb::hasattr(v, "__float__")) return nb::cast<std::string>(nb::repr(nb::float_(v)));
  return nb::cast<std::string>(nb::str(v));
}

// The message parse_args gives for a name the op does not have (as the CLI says it).
[[noreturn]] void no_such_parameter(const OpSpec& op, const std::string& name) {
  OpArgs unused;
  const Status s = parse_args(op, RawArgs{{name, ""}}, unused);
  throw nb::type_error((s.ok() ? std::string(op.name) + " has no parameter '" + name + "'" : s.message()).c_str());
}

const ParamSpec* keyword_param(const OpSpec& op, std::string_view name) {
  for (const ParamSpec& p : op.params)
    if (p.type != ParamType::path && python_name(p.name) == name) return &p;
  return nullptr;
}

bool is_path(nb::handle v) { return nb::isinstance<nb::str>(v) || nb::hasattr(v, "__fspath__"); }

nb::object call_op(const OpBinding& b, nb::args args, nb::kwargs kwargs) {
  const OpSpec& op = *b.op;
  const std::size_t expected = 1 + b.positional.size();
  if (args.size() != expected) {
    std::string names = "array";
    for (const ParamSpec* p : b.positional) names += ", " + python_name(p->name);
    throw nb::type_error((std::string(op.name) + "() takes " + std::to_string(expected) + " positional argument" +
                          (expected > 1 ? "s" : "") + " (" + names + "); got " + std::to_string(args.size()))
                             .c_str());
  }
  std::string device = "auto";
  std::optional<int> threads;
  RawArgs raw;
  for (auto [key, value] : kwargs) {
    const std::string name = nb::cast<std::string>(key);
    if (name == "device") {
      if (!nb::isinstance<nb::str>(value)) throw nb::type_error("device must be 'cpu', 'gpu' or 'auto'");
      device = nb::cast<std::string>(value);
    } else if (name == "threads") {
      if (!value.is_none() && !(PyLong_Check(value.ptr()) && !PyBool_Check(value.ptr())))
        throw nb::type_error("threads must be an int or None");
      if (!value.is_none()) threads = nb::cast<int>(value);
    } else if (const ParamSpec* p = keyword_param(op, name)) {
      if (!value.is_none()) raw[std::string(p->name)] = value_text(value, *p);
    } else {
      no_such_parameter(op, name);
    }
  }
  const Input input = as_input(args[0], op.kind == OpKind::image ? Need::image : Need::contiguous,
                               std::string(op.name).c_str(), b.accepts);
  // Files given positionally: a path is read as the pipeline would read it; an
  // array is handed over in memory (no copy).
  OpArgs given;
  std::vector<Input> held;
  for (std::size_t i = 0; i < b.positional.size(); ++i) {
    const ParamSpec& p = *b.positional[i];
    nb::handle v = args[1 + i];
    if (is_path(v)) {
      raw[std::string(p.name)] = nb::cast<std::string>(nb::module_::import_("os").attr("fspath")(v));
      continue;
    }
    held.push_back(as_input(v, Need::contiguous, (std::string(op.name) + " " + python_name(p.name)).c_str(),
                            "u8, u16, i32, i64, f32, f64"));
    auto contents = std::make_shared<Tensor>();
    contents->view() = held.back().view;
    given.set(std::string(p.name), LoadedFile{"<array>", std::move(contents)});
  }
  OpArgs parsed;
  const OpArgs* use = b.defaults && raw.empty() && b.positional.empty() ? &*b.defaults : &parsed;
  if (use == &parsed) check(parse_args(op, raw, parsed, std::move(given)));

  const ActiveCall active;
  const Placement placement = place(device, threads, input.view.device, active.count());
  Tensor result = run_placed(
      input, placement,
      [&](const View& src, Tensor& dst, const Exec& exec) { return run_op(op, *use, src, dst, exec); },
      op.kind == OpKind::reduction);
  return result_to_python(op, std::move(result), input);
}

// tandem.Pipeline
struct PyPipeline {
  Pipeline pipeline;
};

const char* const kPipelineDoc =
    "A pipeline of ops, parsed once: Pipeline('gaussian sigma=2 | sobel').\n\n"
    "The text is what `tandem run -p` takes; a syntax error raises ValueError with the\n"
    "pipeline and a caret under the fault. Call it on an array (as the ops take them)\n"
    "to run every stage; the GIL is released while it runs.";

nb::object call_pipeline(const PyPipeline& self, nb::handle array, const std::string& device,
                         std::optional<int> threads) {
  const auto& stages = self.pipeline.stages();
  const OpSpec& first = *stages.front().op;
  const Input input = as_input(array, first.kind == OpKind::image ? Need::image : Need::contiguous,
                               stages.front().text.c_str(), layouts_text(first.layouts));
  const ActiveCall active;
  const Placement placement = place(device, threads, input.view.device, active.count());
  Tensor result = run_placed(
      input, placement,
      [&](const View& src, Tensor& dst, const Exec& exec) { return self.pipeline.apply(src, dst, exec); },
      self.pipeline.result_kind() == OpKind::reduction);
  return result_to_python(*stages.back().op, std::move(result), input);
}

}  // namespace

void add_ops(nb::module_& m) {
  for (const OpSpec* op : op_table()) {
    OpBinding& b = bindings().emplace_back();
    b.op = op;
    describe(b);
    m.def(
        std::string(op->name).c_str(),
        [&b](nb::args args, nb::kwargs kwargs) { return call_op(b, std::move(args), std::move(kwargs)); },
        nb::sig(b.signature.c_str()), b.doc.c_str());
  }
}

void add_pipeline(nb::module_& m) {
  nb::class_<PyPipeline>(m, "Pipeline", kPipelineDoc)
      .def(
          "__init__",
          [](PyPipeline* self, const std::string& text) {
            Pipeline parsed;
            ParseError error;
            if (!Pipeline::parse(text, parsed, &error).ok()) throw nb::value_error(error.format(text).c_str());
            new (self) PyPipeline{std::move(parsed)};
          },
          nb::arg("text"), "Parses `text` against the op table.")
      .def("__call__", &call_pipeline, nb::arg("array"), nb::kw_only(), nb::arg("device") = "auto",
           nb::arg("threads") = nb::none(),
           nb::sig("def __call__(self, array: numpy.typing.ArrayLike, *, device: typing.Literal['cpu', 'gpu', "
                   "'auto'] = 'auto', threads: int | None = None) -> numpy.typing.NDArray | dict[str, float]"),
           "Runs every stage on `array`; a pipeline ending in stats returns {name: value}.")
      .def_prop_ro(
          "ops",
          [](const PyPipeline& self) {
            std::vector<std::string> names;
            for (const PipelineStage& s : self.pipeline.stages()) names.emplace_back(s.op->name);
            return names;
          },
          "The op of each stage, in order: ['gaussian', 'sobel'].")
      .def_prop_ro(
          "stages",
          [](const PyPipeline& self) {
            std::vector<std::string> texts;
            for (const PipelineStage& s : self.pipeline.stages()) texts.push_back(s.text);
            return texts;
          },
          "Each stage as written: ['gaussian sigma=2', 'sobel'].")
      .def_prop_ro(
          "text", [](const PyPipeline& self) { return self.pipeline.text(); }, "The pipeline as given.")
      .def("__repr__",
           [](const PyPipeline& self) { return "tandem.Pipeline(" + nb::cast<std::string>(nb::repr(nb::str(self.pipeline.text().c_str()))) + ")"; });
}

const Pipeline* as_pipeline(nb::handle obj) {
  PyPipeline* p = nullptr;
  if (nb::try_cast(obj, p, false) && p) return &p->pipeline;
  return nullptr;
}

}  // namespace tandem::python
