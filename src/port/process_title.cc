// Process title by argv overwrite; see process_title.h.
#include "port/process_title.h"

#include <sys/prctl.h>

#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace bgw::process_title {
namespace {
char* area = nullptr;         // start of the argv area (argv[0])
char** saved_argv = nullptr;  // the copy Init returns; lives as long as the process
size_t area_size = 0;         // contiguous bytes of argv strings (+ environ strings)
}  // namespace

char** Init(int argc, char** argv) {
  // Find the contiguous span covering argv[] strings and then environ strings.
  char* end = nullptr;
  for (int i = 0; i < argc; i++) {
    if (i == 0 || argv[i] == end + 1) end = argv[i] + strlen(argv[i]);
  }
  if (argc > 0 && end != nullptr) {
    for (int i = 0; environ[i] != nullptr; i++) {
      if (environ[i] == end + 1) end = environ[i] + strlen(environ[i]);
    }
  }
  // Move environ out of the area we are going to overwrite.
  int envc = 0;
  while (environ[envc] != nullptr) envc++;
  char** new_environ = static_cast<char**>(malloc(sizeof(char*) * (envc + 1)));
  for (int i = 0; i < envc; i++) new_environ[i] = strdup(environ[i]);
  new_environ[envc] = nullptr;
  environ = new_environ;

  char** new_argv = static_cast<char**>(malloc(sizeof(char*) * (argc + 1)));
  for (int i = 0; i < argc; i++) new_argv[i] = strdup(argv[i]);
  new_argv[argc] = nullptr;
  saved_argv = new_argv;

  if (argc > 0 && end != nullptr) {
    area = argv[0];
    area_size = static_cast<size_t>(end - argv[0]);
    // Point later argv slots at the end so nothing else reads stale strings.
    for (int i = 1; i < argc; i++) argv[i] = end;
  }
  return new_argv;
}

namespace {

// The title Set last: SetActivity shows an activity after it.
std::string& Base() {
  static auto* base = new std::string();  // never destroyed: titles change until exit
  return *base;
}

void Show(std::string_view title) {
  std::string comm(title.substr(0, 15));
  prctl(PR_SET_NAME, comm.c_str());
  if (area == nullptr || area_size < 2) return;
  size_t n = title.size() < area_size - 1 ? title.size() : area_size - 1;
  memcpy(area, title.data(), n);
  // Zero the rest so ps does not show remains of the old arguments.
  memset(area + n, 0, area_size - n);
}

}  // namespace

void Set(std::string_view title) {
  Base().assign(title);
  Show(title);
}

void SetActivity(std::string_view activity) {
  if (activity.empty()) return Show(Base());
  std::string title = Base();
  title += ' ';
  title += activity;
  Show(title);
}

}  // namespace bgw::process_title
