// SIGTERM and SIGUSR1 only raise the stop flag; the process goes on. One
// that arrived while they were blocked (cir-sweep blocks them before the
// program is loaded, launcher/trampoline.cpp) is taken by the handler as it
// is installed.
#include <gtest/gtest.h>
#include <signal.h>

#include "common/signals.hpp"

TEST(Signals, AStopPendingWhileBlockedIsTakenWhenTheHandlersAreInstalled) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGUSR1);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &stop, nullptr), 0);
  raise(SIGUSR1);
  EXPECT_FALSE(cir::stop_signalled());
  cir::install_stop_handlers();
  EXPECT_TRUE(cir::stop_signalled());
  EXPECT_EQ(cir::stop_signal(), SIGUSR1);
  raise(SIGTERM);
  EXPECT_EQ(cir::stop_signal(), SIGTERM);
}
