// Subcommands of the `bgw` command. Each takes the subcommand's own argv
// (argv[0] = the subcommand name) and returns the process exit status.
#pragma once

namespace bgw::cli {

// Exit statuses, documented in `bgw --help` and docs/cli.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotRunning = 3;
inline constexpr int kExitNoDataDir = 4;

const char* MainHelp();
int Init(int argc, char** argv);
int Run(int argc, char** argv);
int Start(int argc, char** argv);
int Stop(int argc, char** argv);
int StatusCmd(int argc, char** argv);
int Reload(int argc, char** argv);
int Config(int argc, char** argv);

}  // namespace bgw::cli
