// Parsing a pipeline against the op table, and applying it stage by stage.
#include "tandem/pipeline.hpp"

#include <cctype>
#include <map>

namespace tandem {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string ops_hint() {
  std::string names;
  for (const OpSpec* s : op_table()) names += (names.empty() ? "" : ", ") + std::string(s->name);
  return "ops: " + names + " (see 'tandem ops')";
}

std::string params_hint(const OpSpec& spec) {
  if (spec.params.empty()) return std::string(spec.name) + " takes no parameters";
  std::string h = std::string(spec.name) + " parameters:";
  for (const auto& p : spec.params) {
    // Appended piece by piece (GCC 12 warns falsely on "literal" + std::string&&).
    h.append(" ").append(p.name).append("=<").append(param_type_name(p.type)).append(">");
    if (!p.default_value.empty()) h.append(" (default ").append(p.default_value).append(")");
    else if (!p.optional) h.append(" (required)");
  }
  return h;
}

struct Token {
  std::string text;
  std::size_t column;
};

// Splits one stage into whitespace-separated tokens; a value may be quoted
// ('...' or "...") to hold spaces, e.g. kernel="1, 2, 1; 2, 4, 2; 1, 2, 1".
bool tokenize(std::string_view text, std::size_t begin, std::size_t end, std::vector<Token>& out,
              ParseError& err) {
  std::size_t i = begin;
  while (i < end) {
    while (i < end && is_space(text[i])) ++i;
    if (i >= end) break;
    Token t{"", i};
    while (i < end && !is_space(text[i])) {
      if (text[i] == '"' || text[i] == '\'') {
        const char q = text[i];
        const std::size_t open = i++;
        while (i < end && text[i] != q) t.text += text[i++];
        if (i >= end) {
          err = {"unterminated quote", open, "close the quote or drop it"};
          return false;
        }
        ++i;
      } else {
        t.text += text[i++];
      }
    }
    out.push_back(std::move(t));
  }
  return true;
}

// Names the stage in an op's error. The op's messages start with its name
// ("sobel: ...", "gaussian does not accept ..."): that name becomes the stage
// as written, rather than a second prefix ("sobel: sobel: ...").
Status in_stage(const PipelineStage& stage, const Status& s) {
  if (s.ok()) return s;
  const std::string_view op = stage.op->name;
  const std::string& m = s.message();
  if (m.compare(0, op.size(), op) == 0 && (m.size() == op.size() || m[op.size()] == ':' || m[op.size()] == ' '))
    return {s.code(), stage.text + m.substr(op.size())};
  return s.with_context(stage.text);
}

}  // namespace

std::string ParseError::format(std::string_view text) const {
  const std::string prefix = "pipeline: ";
  std::string s = prefix + std::string(text) + "\n" + std::string(prefix.size() + column, ' ') + "^ " + message;
  if (!hint.empty()) s += "\n" + hint;
  return s;
}

Status Pipeline::parse(std::string_view text, Pipeline& out, ParseError* error) {
  ParseError local;
  ParseError& err = error ? *error : local;
  auto fail = [&](ParseError e) {
    err = std::move(e);
    return Status(Errc::invalid_argument, err.format(text));
  };

  std::vector<PipelineStage> stages;
  std::size_t start = 0;
  // Split on '|' outside quotes.
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  char quote = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && quote) {
      if (text[i] == quote) quote = 0;
      continue;
    }
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) {
      quote = text[i];
      continue;
    }
    if (i == text.size() || text[i] == '|') {
      spans.emplace_back(start, i);
      start = i + 1;
    }
  }

  for (std::size_t si = 0; si < spans.size(); ++si) {
    const auto [b, e] = spans[si];
    std::vector<Token> tokens;
    if (!tokenize(text, b, e, tokens, err)) return fail(err);
    if (tokens.empty()) {
      std::size_t col = b;
      while (col < e && is_space(text[col])) ++col;
      return fail({spans.size() == 1 ? "empty pipeline" : "empty stage between '|'", col, ops_hint()});
    }
    const Token& name = tokens.front();
    const OpSpec* spec = find_op(name.text);
    if (!spec) return fail({"unknown op '" + name.text + "'", name.column, ops_hint()});

    std::map<std::string, std::string, std::less<>> raw;
    std::map<std::string, std::size_t, std::less<>> where;
    for (std::size_t ti = 1; ti < tokens.size(); ++ti) {
      const Token& t = tokens[ti];
      const auto eq = t.text.find('=');
      if (eq == std::string::npos || eq == 0)
        return fail({"expected key=value, got '" + t.text + "'", t.column, params_hint(*spec)});
      std::string key = t.text.substr(0, eq);
      if (raw.count(key)) return fail({"parameter '" + key + "' given twice", t.column, params_hint(*spec)});
      where[key] = t.column;
      raw[key] = t.text.substr(eq + 1);
    }
    OpArgs args;
    const Status s = parse_args(*spec, raw, args);
    if (!s.ok()) {
      // Point at the offending key when the message names one, else at the op.
      std::size_t col = name.column;
      for (const auto& [key, c] : where)
        if (s.message().find("'" + key + "'") != std::string::npos) col = c;
      return fail({s.message(), col, params_hint(*spec)});
    }
    const bool last = si + 1 == spans.size();
    if (!last && (spec->kind == OpKind::reduction || spec->kind == OpKind::histogram))
      return fail({std::string(spec->name) + " produces " +
                       (spec->kind == OpKind::reduction ? "numbers" : "a histogram") +
                       ", so it must be the last op of the pipeline",
                   name.column, ""});
    std::string stage_text(text.substr(b, e - b));
    while (!stage_text.empty() && is_space(stage_text.front())) stage_text.erase(stage_text.begin());
    while (!stage_text.empty() && is_space(stage_text.back())) stage_text.pop_back();
    stages.push_back({spec, std::move(args), std::move(stage_text)});
  }
  Pipeline p;
  p.stages_ = std::move(stages);
  p.text_ = std::string(text);
  out = std::move(p);
  return {};
}

Status Pipeline::from_stages(std::vector<PipelineStage> stages, Pipeline& out) {
  if (stages.empty()) return {Errc::invalid_argument, "a pipeline needs at least one op"};
  std::string text;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (!stages[i].op) return {Errc::invalid_argument, "pipeline stage " + std::to_string(i + 1) + " has no op"};
    const OpKind k = stages[i].op->kind;
    if (i + 1 < stages.size() && (k == OpKind::reduction || k == OpKind::histogram))
      return {Errc::invalid_argument, std::string(stages[i].op->name) + " must be the last op of the pipeline"};
    if (stages[i].text.empty()) stages[i].text = std::string(stages[i].op->name);
    text += (i ? " | " : "") + stages[i].text;
  }
  out.stages_ = std::move(stages);
  out.text_ = std::move(text);
  return {};
}

OpKind Pipeline::result_kind() const noexcept {
  return stages_.empty() ? OpKind::image : stages_.back().op->kind;
}

bool Pipeline::streamable() const noexcept {
  if (stages_.empty()) return false;
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    const OpSpec& op = *stages_[i].op;
    const bool elementwise = op.kind == OpKind::array && op.elementwise;
    const bool folds = i + 1 == stages_.size() && op.combine && op.finish;  // chunk results combine
    if (!elementwise && !folds) return false;
  }
  return true;
}

Status Pipeline::apply(const View& src, Tensor& out, const Exec& exec) const {
  if (stages_.empty()) return {Errc::invalid_argument, "empty pipeline"};
  Tensor current;
  const View* in = &src;
  for (const auto& stage : stages_) {
    Tensor next;
    TANDEM_TRY(in_stage(stage, run_op(*stage.op, stage.args, *in, next, exec)));
    current = std::move(next);
    in = &current.view();
  }
  out = std::move(current);
  return {};
}

}  // namespace tandem
