// Parsing and validation of op parameters against the op table.
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "host/ops/op_decl.hpp"
#include "tandem/op_table.hpp"

namespace tandem {

const char* param_type_name(ParamType t) noexcept {
  switch (t) {
    case ParamType::integer: return "integer";
    case ParamType::number: return "number";
    case ParamType::choice: return "choice";
    case ParamType::matrix: return "matrix";
    case ParamType::path: return "path";
  }
  return "?";
}

std::string describe_param(const ParamSpec& p) {
  std::ostringstream os;
  os << p.name << " (" << param_type_name(p.type);
  if (p.type == ParamType::choice) {
    os << ": ";
    for (std::size_t i = 0; i < p.choices.size(); ++i) os << (i ? "|" : "") << p.choices[i];
  } else if ((p.type == ParamType::integer || p.type == ParamType::number) && (p.min > -1e299 || p.max < 1e299)) {
    os << " in [" << (p.min > -1e299 ? detail::format_number(p.min) : "-inf") << ", "
       << (p.max < 1e299 ? detail::format_number(p.max) : "inf") << "]";
  }
  if (!p.default_value.empty()) os << ", default " << p.default_value;
  else if (!p.optional) os << ", required";
  os << ")";
  return os.str();
}

bool OpArgs::has(std::string_view name) const { return values_.find(name) != values_.end(); }

std::int64_t OpArgs::integer(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw Error({Errc::internal, "missing integer parameter " + std::string(name)});
  if (const auto* d = std::get_if<double>(&it->second)) return static_cast<std::int64_t>(*d);
  return std::get<std::int64_t>(it->second);
}

double OpArgs::number(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw Error({Errc::internal, "missing number parameter " + std::string(name)});
  if (const auto* i = std::get_if<std::int64_t>(&it->second)) return static_cast<double>(*i);
  return std::get<double>(it->second);
}

const std::string& OpArgs::text(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw Error({Errc::internal, "missing parameter " + std::string(name)});
  if (const auto* f = std::get_if<LoadedFile>(&it->second)) return f->path;
  return std::get<std::string>(it->second);
}

const Matrix& OpArgs::matrix(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw Error({Errc::internal, "missing matrix parameter " + std::string(name)});
  return std::get<Matrix>(it->second);
}

namespace {

bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtod(tmp.c_str(), &end);
  return end == tmp.c_str() + tmp.size() && errno == 0 && std::isfinite(out);
}

bool parse_int(std::string_view s, std::int64_t& out) {
  const auto* b = s.data();
  const auto* e = s.data() + s.size();
  if (b != e && *b == '+') ++b;
  const auto r = std::from_chars(b, e, out);
  return !s.empty() && r.ec == std::errc() && r.ptr == e;
}

Status bad(const OpSpec& spec, const ParamSpec& p, const std::string& why) {
  return {Errc::invalid_argument,
          std::string(spec.name) + ": parameter '" + std::string(p.name) + "' " + why + "; expected " + describe_param(p)};
}

Status parse_one(const OpSpec& spec, const ParamSpec& p, std::string_view text, ParamValue& out) {
  switch (p.type) {
    case ParamType::integer: {
      std::int64_t v = 0;
      if (!parse_int(text, v)) return bad(spec, p, "is not an integer: '" + std::string(text) + "'");
      out = v;
      return detail::check_value(spec.name, p, out, text);
    }
    case ParamType::number: {
      double v = 0;
      if (!parse_double(text, v)) return bad(spec, p, "is not a number: '" + std::string(text) + "'");
      out = v;
      return detail::check_value(spec.name, p, out, text);
    }
    case ParamType::choice:
      out = std::string(text);
      return detail::check_value(spec.name, p, out, text);
    case ParamType::path: {
      if (text.empty()) return bad(spec, p, "is empty");
      LoadedFile f{std::string(text), nullptr};
      if (p.open) {
        if (Status s = p.open(f); !s.ok())
          return {s.code(), std::string(spec.name) + ": parameter '" + std::string(p.name) + "': " + s.message()};
      }
      out = std::move(f);
      return {};
    }
    case ParamType::matrix: {
      Matrix m;
      std::size_t row_start = 0;
      while (row_start <= text.size()) {
        std::size_t row_end = text.find(';', row_start);
        if (row_end == std::string_view::npos) row_end = text.size();
        const std::string_view row = text.substr(row_start, row_end - row_start);
        int cols = 0;
        std::size_t cs = 0;
        while (cs <= row.size()) {
          std::size_t ce = row.find(',', cs);
          if (ce == std::string_view::npos) ce = row.size();
          std::string_view cell = row.substr(cs, ce - cs);
          while (!cell.empty() && cell.front() == ' ') cell.remove_prefix(1);
          while (!cell.empty() && cell.back() == ' ') cell.remove_suffix(1);
          double v = 0;
          if (!parse_double(cell, v))
            return bad(spec, p, "has a bad entry '" + std::string(cell) + "' in row " + std::to_string(m.rows + 1));
          m.values.push_back(v);
          ++cols;
          cs = ce + 1;
        }
        if (m.rows == 0) m.cols = cols;
        else if (cols != m.cols)
          return bad(spec, p, "has rows of different lengths (" + std::to_string(m.cols) + " and " + std::to_string(cols) + ")");
        ++m.rows;
        row_start = row_end + 1;
      }
      out = std::move(m);
      return {};
    }
  }
  return {Errc::internal, "unknown parameter type"};
}

}  // namespace

Status parse_args(const OpSpec& spec, const std::map<std::string, std::string, std::less<>>& raw, OpArgs& out,
                  OpArgs given) {
  OpArgs args;
  for (const auto& [name, value] : given.values()) {
    const ParamSpec* p = nullptr;
    for (const auto& cand : spec.params)
      if (cand.name == name) p = &cand;
    const auto* file = std::get_if<LoadedFile>(&value);
    if (!p || !file || !file->tensor)
      return {Errc::internal, std::string(spec.name) + ": '" + name + "' is not a path parameter with its contents"};
    LoadedFile f = *file;
    if (p->open) {
      if (Status s = p->open(f); !s.ok())
        return {s.code(), std::string(spec.name) + ": parameter '" + name + "': " + s.message()};
    }
    args.set(name, std::move(f));
  }
  for (const auto& [key, value] : raw) {
    const ParamSpec* p = nullptr;
    for (const auto& cand : spec.params)
      if (cand.name == key) p = &cand;
    if (!p) {
      std::string valid;
      for (const auto& cand : spec.params) valid += (valid.empty() ? "" : ", ") + describe_param(cand);
      return {Errc::invalid_argument, std::string(spec.name) + " has no parameter '" + key + "'" +
                                          (valid.empty() ? "; it takes none" : "; valid: " + valid)};
    }
    ParamValue v;
    TANDEM_TRY(parse_one(spec, *p, value, v));
    args.set(key, std::move(v));
  }
  for (const auto& p : spec.params) {
    if (args.has(p.name)) continue;
    if (!p.default_value.empty()) {
      ParamValue v;
      TANDEM_TRY(parse_one(spec, p, p.default_value, v));
      args.set(std::string(p.name), std::move(v));
    } else if (!p.optional) {
      return {Errc::invalid_argument, std::string(spec.name) + " needs parameter " + describe_param(p)};
    }
  }
  if (spec.check) TANDEM_TRY(spec.check(args));
  out = std::move(args);
  return {};
}

Status check_input(const OpSpec& spec, const View& src) {
  if (spec.kind == OpKind::image && !src.is_image())
    return {Errc::invalid_argument, std::string(spec.name) + " needs an image (H x W or H x W x C, packed pixels); got " + src.describe()};
  const int c = spec.kind == OpKind::image ? static_cast<int>(src.channels()) : 0;
  bool ok = false;
  for (const Layout& l : spec.layouts) ok = ok || (l.dtype == src.dtype && (l.channels == 0 || l.channels == c));
  if (!ok) {
    std::string what = spec.kind == OpKind::image ? std::to_string(c) + "-channel " + dtype_name(src.dtype) + " images"
                                                  : std::string(dtype_name(src.dtype)) + " input";
    return {Errc::unsupported, std::string(spec.name) + " does not accept " + what + " (accepts " +
                                   layouts_text(spec.layouts) + "); got " + src.describe()};
  }
  if (src.numel() == 0) return {Errc::invalid_argument, std::string(spec.name) + ": input is empty (" + src.describe() + ")"};
  return {};
}

std::string layouts_text(std::span<const Layout> layouts) {
  std::string out;
  std::vector<bool> done(layouts.size());
  for (std::size_t i = 0; i < layouts.size(); ++i) {
    if (done[i]) continue;
    out += (out.empty() ? "" : ", ") + std::string(dtype_name(layouts[i].dtype));
    std::string chans;
    for (std::size_t j = i; j < layouts.size(); ++j)
      if (layouts[j].dtype == layouts[i].dtype) {
        done[j] = true;
        if (layouts[j].channels > 0) chans += (chans.empty() ? " x" : "/") + std::to_string(layouts[j].channels);
      }
    out += chans;
  }
  return out;
}

namespace detail {

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::nearbyint(v) == v && std::abs(v) < 1e15) return std::to_string(static_cast<std::int64_t>(v));
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

Status check_value(std::string_view op, const ParamSpec& p, const ParamValue& v, std::string_view as_written) {
  const auto fail = [&](const std::string& why) {
    return Status(Errc::invalid_argument, std::string(op) + ": parameter '" + std::string(p.name) + "' " + why +
                                              "; expected " + describe_param(p));
  };
  if (p.type == ParamType::choice) {
    const auto* text = std::get_if<std::string>(&v);
    for (auto c : p.choices)
      if (text && c == *text) return {};
    return fail("has no choice '" + std::string(as_written) + "'");
  }
  if (p.type != ParamType::integer && p.type != ParamType::number) return {};
  const double x = std::holds_alternative<double>(v) ? std::get<double>(v) : double(std::get<std::int64_t>(v));
  if (std::isnan(x)) return fail("is NaN, not a finite number");
  if (!(x >= p.min && x <= p.max)) return fail("is out of range: " + std::string(as_written));
  return {};
}

Status check_fields(std::string_view op, std::span<const ParamSpec> params, const void* params_object) {
  for (const ParamSpec& p : params) {
    if (!p.load) continue;
    const std::optional<ParamValue> v = p.load(params_object);
    if (!v) continue;
    std::string shown;
    if (const auto* d = std::get_if<double>(&*v)) shown = format_number(*d);
    else if (const auto* i = std::get_if<std::int64_t>(&*v)) shown = std::to_string(*i);
    else if (const auto* t = std::get_if<std::string>(&*v)) shown = *t;
    TANDEM_TRY(check_value(op, p, *v, shown));
  }
  return {};
}

std::vector<Layout> layouts_of(std::initializer_list<DType> dtypes, std::initializer_list<int> channels) {
  std::vector<Layout> out;
  for (DType t : dtypes)
    for (int c : channels) out.push_back({t, c});
  return out;
}

std::vector<Layout> array_layouts(std::span<const DType> dtypes) {
  std::vector<Layout> out;
  for (DType t : dtypes) out.push_back({t, 0});
  return out;
}

}  // namespace detail

Status run_op(const OpSpec& spec, const OpArgs& args, const View& src, Tensor& dst, const Exec& exec) {
  TANDEM_TRY(check_input(spec, src));
  if (!(src.device == exec.device))
    return {Errc::invalid_argument, std::string(spec.name) + ": input is on " + src.device.str() + " but the op runs on " + exec.device.str()};
  if (exec.device.is_cuda() && !exec.stream)
    return {Errc::invalid_argument, std::string(spec.name) + ": a CUDA stream is required to run on " + exec.device.str()};
  return spec.run(args, src, dst, exec);
}

}  // namespace tandem
