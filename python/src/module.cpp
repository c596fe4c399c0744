// tandem._tandem: the native half of the `tandem` Python package.
#include "python/src/module.hpp"

#include "tandem/config.hpp"

NB_MODULE(_tandem, m) {
  m.doc() = "tandem's native module: every op of the op table, Pipeline, run, info, read, write.";
  m.attr("__version__") = TANDEM_VERSION_STRING;
  m.attr("cuda_compiled") = bool(TANDEM_WITH_CUDA);
  tandem::python::add_ops(m);
  nanobind::list names;
  for (const tandem::OpSpec* op : tandem::op_table()) names.append(nanobind::str(op->name.data(), op->name.size()));
  m.attr("_op_names") = nanobind::tuple(names);
  tandem::python::add_pipeline(m);
  tandem::python::add_batch(m);
  tandem::python::add_io(m);
}
