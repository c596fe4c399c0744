// Helpers shared by placement_test and topology_test: topologies loaded from
// the shipped XML files or synthetic descriptions (a failed load fails the
// test), and CPU id ranges.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

namespace tandem::test::topo {

/// tests/data/topologies/<name>, loaded as XML.
inline Topology load_xml(const std::string& name) {
  Topology t;
  const Status s = Topology::load_xml(data_dir() + "/topologies/" + name, t);
  EXPECT_TRUE(s.ok()) << s.message();
  return t;
}

/// A topology from a synthetic description.
inline Topology load_synthetic(const std::string& desc) {
  Topology t;
  const Status s = Topology::load_synthetic(desc, t);
  EXPECT_TRUE(s.ok()) << s.message();
  return t;
}

/// The ids lo, lo + 1, ..., hi (both ends included).
inline std::vector<int> range(int lo, int hi) {
  std::vector<int> v;
  for (int i = lo; i <= hi; ++i) v.push_back(i);
  return v;
}

}  // namespace tandem::test::topo
