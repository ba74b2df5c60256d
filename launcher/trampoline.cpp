// cir-sweep: blocks SIGTERM and SIGUSR1, then runs cir-sweep-main (the
// program, launcher/main.cpp) from its own folder with the same arguments.
// Loading cir-sweep-main takes half a second or more before any of its code
// runs (LibTorch's libraries and their initialisers); a stop signal in that
// time would end a rank with the signal's default action. Blocked, it stays
// pending across the exec until cir-sweep-main installs its handlers
// (common/signals.hpp), which then take it. Linked statically, so that
// nothing is loaded before this main runs.
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

int main(int, char** argv) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGUSR1);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string program =
      length > 0 ? std::string(self, static_cast<std::size_t>(length)) : std::string(argv[0]);
  program = program.substr(0, program.rfind('/') + 1) + "cir-sweep-main";
  execv(program.c_str(), argv);
  std::fprintf(stderr,
               "error: cir-sweep cannot run %s: %s\n  hint: cir-sweep-main belongs beside cir-sweep; build "
               "both with scripts/build.sh\n",
               program.c_str(), std::strerror(errno));
  return 2;
}
