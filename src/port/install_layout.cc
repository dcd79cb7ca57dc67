#include "port/install_layout.h"

#include <limits.h>
#include <unistd.h>

namespace bgw {
namespace {

std::string ExecutableDir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string exe(buf, static_cast<size_t>(n));
  const size_t slash = exe.rfind('/');
  return slash == std::string::npos ? "." : exe.substr(0, slash);
}

InstallLayout Compute() {
  InstallLayout l;
  const std::string exe_dir = ExecutableDir();
  l.build_tree = access((exe_dir + "/CMakeCache.txt").c_str(), F_OK) == 0;
  if (l.build_tree) {
    const std::string src = BGW_SOURCE_DIR;
    l.bindir = exe_dir;
    l.includedir = src + "/include";
    l.includedir_server = src + "/include/postgres";
    l.libdir = exe_dir;
    l.pkglibdir = exe_dir + "/modules";
    l.sharedir = exe_dir + "/share";
    l.pgxs = src + "/pgxs/pgxs.mk";
    l.cmakedir = src + "/cmake";
  } else {
    l.bindir = BGW_INSTALL_BINDIR;
    l.includedir = BGW_INSTALL_INCLUDEDIR;
    l.includedir_server = std::string(BGW_INSTALL_INCLUDEDIR) + "/postgres";
    l.libdir = BGW_INSTALL_LIBDIR;
    l.pkglibdir = BGW_PKGLIBDIR;
    l.sharedir = BGW_INSTALL_SHAREDIR;
    l.pgxs = std::string(BGW_PKGLIBDIR) + "/pgxs/src/makefiles/pgxs.mk";
    l.cmakedir = BGW_INSTALL_CMAKEDIR;
  }
  return l;
}

}  // namespace

const InstallLayout& Layout() {
  static const InstallLayout layout = Compute();
  return layout;
}

}  // namespace bgw
