// Entry point of the `bgw` command: dispatches to a subcommand.
#include <cstdio>
#include <cstring>

#include "cli/commands.h"
#include "port/process_title.h"

int main(int argc, char** argv) {
  // Before anything reads argv: the server reuses the argv area for titles.
  argv = bgw::process_title::Init(argc, argv);
  // Run as pg_config (a link named so, which PGXS Makefiles call).
  const char* self = std::strrchr(argv[0], '/');
  self = self != nullptr ? self + 1 : argv[0];
  if (std::strcmp(self, "pg_config") == 0 || std::strcmp(self, "bgw_pg_config") == 0) {
    return bgw::cli::Config(argc, argv);
  }
  if (argc < 2) {
    std::fprintf(stderr, "%s", bgw::cli::MainHelp());
    return bgw::cli::kExitUsage;
  }
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "--help") == 0 || std::strcmp(cmd, "-h") == 0 ||
      std::strcmp(cmd, "help") == 0) {
    std::printf("%s", bgw::cli::MainHelp());
    return bgw::cli::kExitOk;
  }
  if (std::strcmp(cmd, "--version") == 0 || std::strcmp(cmd, "-V") == 0) {
    std::printf("bgw (bgworker) %s\n", BGW_VERSION_STRING);
    return bgw::cli::kExitOk;
  }
  struct {
    const char* name;
    int (*fn)(int, char**);
  } const kCommands[] = {
      {"init", bgw::cli::Init},     {"run", bgw::cli::Run},          {"start", bgw::cli::Start},
      {"stop", bgw::cli::Stop},     {"status", bgw::cli::StatusCmd}, {"reload", bgw::cli::Reload},
      {"config", bgw::cli::Config},
  };
  for (const auto& c : kCommands) {
    if (std::strcmp(cmd, c.name) == 0) return c.fn(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "bgw: unknown command \"%s\"\nTry \"bgw --help\" for more information.\n",
               cmd);
  return bgw::cli::kExitUsage;
}
