// Compiles src/compat/testdata/all_headers.c, a module-style C file using
// every compatibility header of src/compat, with the system C compiler in
// strict C99 and C11 modes (and as C++20), warnings as errors: C modules
// must compile unmodified against our headers. Skipped without gcc.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

namespace {

std::string SourceDir() {
#ifdef BGW_SOURCE_DIR
  return BGW_SOURCE_DIR;
#else
  std::string file = __FILE__;  // .../src/compat/headers_test.cc
  return file.substr(0, file.rfind("/src/compat/"));
#endif
}

bool HaveCompiler(const char* name) {
  return system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

int Compile(const std::string& compiler, const std::string& flags) {
  const std::string dir = SourceDir();
  const std::string cmd = compiler + " " + flags + " -Wall -Wextra -Werror -c -o /dev/null -I" +
                          dir + "/include/postgres " + dir + "/src/compat/testdata/all_headers.c";
  return system(cmd.c_str());
}

TEST(CompatHeaders, ModuleStyleCFileCompilesAsC99AndC11) {
  if (!HaveCompiler("gcc")) GTEST_SKIP() << "gcc not installed";
  EXPECT_EQ(Compile("gcc", "-std=c99"), 0);
  EXPECT_EQ(Compile("gcc", "-std=c11"), 0);
  EXPECT_EQ(Compile("gcc", "-std=c11 -O2"), 0);  // -Wclobbered needs optimization
}

TEST(CompatHeaders, ModuleStyleCFileCompilesAsCxx20) {
  if (!HaveCompiler("g++")) GTEST_SKIP() << "g++ not installed";
  EXPECT_EQ(Compile("g++", "-x c++ -std=c++20 -O2"), 0);
}

}  // namespace
