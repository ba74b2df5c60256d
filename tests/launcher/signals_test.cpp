// SIGTERM and SIGUSR1 only raise the stop flag; the process goes on.
#include <gtest/gtest.h>

#include <csignal>

#include "launcher/signals.hpp"

TEST(Signals, StopSignalsRaiseTheFlag) {
  cir::launcher::install_stop_handlers();
  EXPECT_FALSE(cir::launcher::stop_signalled());
  std::raise(SIGUSR1);
  EXPECT_TRUE(cir::launcher::stop_signalled());
  EXPECT_EQ(cir::launcher::stop_signal(), SIGUSR1);
  std::raise(SIGTERM);
  EXPECT_EQ(cir::launcher::stop_signal(), SIGTERM);
}
