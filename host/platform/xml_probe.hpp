// Untrusted hwloc XML is first loaded in a child process: hwloc 2.9's XML
// import dereferences NULL (and leaks) on some malformed files, and a crash
// there must not take the caller with it.
#pragma once

#include <string>

#include "tandem/status.hpp"

namespace tandem::detail {

/// Loads `xml` (the file's bytes) with hwloc in a forked child. OK when hwloc
/// loads it there; Errc::format_error naming `origin` when hwloc refuses it,
/// crashes on it or takes longer than `timeout_ms`.
Status probe_hwloc_xml(const std::string& xml, const std::string& origin, int timeout_ms = 20000);

}  // namespace tandem::detail
