/// @file tandem.hpp
/// @brief Umbrella header: everything in tandem's public C++ API.
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
