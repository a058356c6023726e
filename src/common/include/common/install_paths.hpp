#pragma once

// Where the data files of an installed Order Service are (schemas, default topology).
//
// `cmake --install` puts the executables in <prefix>/bin and the data files in
// <prefix>/share/order-service/ (docs/architecture.md, "Installing"). An installed executable
// finds its data there; an executable run from the build tree finds them in the source tree,
// whose path was compiled in.

#include <string>
#include <string_view>

namespace orders {

/// The installed data directory: <prefix>/share/order-service, where <prefix> is the parent of
/// the directory holding the running executable (/proc/self/exe). Empty when the executable's
/// location cannot be read.
std::string installedDataDir();

/// `relative` under installedDataDir() when that path exists; otherwise `buildTreePath`.
/// Never fails: a missing file is reported by whoever opens the returned path, with that path.
std::string installedOr(std::string_view relative, std::string_view buildTreePath);

}  // namespace orders
