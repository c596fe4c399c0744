// libFuzzer harness for the hwloc XML loader behind `tandem info --topology`:
// each input is written to a file and loaded as Topology::load_xml does it
// (hwloc first sees it in a child process, so hwloc's own crashes on
// malformed XML end as a refusal, and what is loaded here has loaded there).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "tandem/topology.hpp"

using namespace tandem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/tandem-fuzz-topology-" + std::to_string(::getpid()) + ".xml";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  Topology t;
  if (Topology::load_xml(path, t).ok()) {
    (void)t.numa_nodes();
    (void)t.topology_gpus();
  }
  return 0;
}
