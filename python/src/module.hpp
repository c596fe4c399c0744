// The parts of the tandem._tandem module, one function each.
#pragma once

#include <nanobind/nanobind.h>

#include "tandem/pipeline.hpp"

namespace tandem::python {

namespace nb = nanobind;

void add_ops(nb::module_& m);       ///< tandem.<op> for every op of the table (ops.cpp)
void add_pipeline(nb::module_& m);  ///< tandem.Pipeline (ops.cpp)
void add_batch(nb::module_& m);     ///< tandem.run, tandem.info (batch.cpp)
void add_io(nb::module_& m);        ///< tandem.read, tandem.write (batch.cpp)

/// The parsed pipeline of a tandem.Pipeline object, or nullptr for anything else.
const Pipeline* as_pipeline(nb::handle obj);

}  // namespace tandem::python
