#include "common/install_paths.hpp"

#include <filesystem>
#include <system_error>

namespace orders {

std::string installedDataDir() {
  std::error_code error;
  const std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return {};
  return (executable.parent_path().parent_path() / "share" / "order-service").string();
}

std::string installedOr(std::string_view relative, std::string_view buildTreePath) {
  const std::string dataDir = installedDataDir();
  if (!dataDir.empty()) {
    std::error_code error;
    const std::filesystem::path installed = std::filesystem::path(dataDir) / relative;
    if (std::filesystem::exists(installed, error)) return installed.string();
  }
  return std::string(buildTreePath);
}

}  // namespace orders
