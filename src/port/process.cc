// Process facts from /proc; see process.h.
#include "port/process.h"

#include <signal.h>

#include <cerrno>
#include <fstream>
#include <string>

namespace bgw {

bool ProcessIsRunning(pid_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!stat || !std::getline(stat, content)) return true;  // cannot tell: assume running
  // Format: "pid (comm) S ...": the state follows the last ')'.
  size_t paren = content.rfind(')');
  if (paren == std::string::npos || paren + 2 >= content.size()) return true;
  char state = content[paren + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace bgw
