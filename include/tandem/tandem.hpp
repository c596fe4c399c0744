/// @file tandem.hpp
/// @brief Umbrella header: tandem's public C++ API except the typed op calls.
///
/// It brings tensors, views, dtypes, devices and Exec, Status, the topology and
/// placement plan, the codecs and files (tandem::io), the op table (find_op,
/// parse_args, run_op: every op by name), pipelines and the batch engine
/// (run_batch). The typed call of each op (tandem::gaussian, tandem::sobel, ...)
/// is in its own header, tandem/ops/<op>.hpp, included for the ops a program
/// calls directly.
#pragma once

#include "tandem/border.hpp"
#include "tandem/config.hpp"
#include "tandem/device.hpp"
#include "tandem/dtype.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/file.hpp"
#include "tandem/io/npy.hpp"
#include "tandem/engine.hpp"
#include "tandem/op_table.hpp"
#include "tandem/pipeline.hpp"
#include "tandem/placement.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"
#include "tandem/topology.hpp"
