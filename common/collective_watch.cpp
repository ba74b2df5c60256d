#include "common/collective_watch.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/mpi.hpp"

namespace cir::mpi {

namespace {

using Clock = std::chrono::steady_clock;

// A wait spins on MPI_Test like MPI_Wait does; one that lasts longer than
// this (a rank is late) sleeps briefly between tests, leaving the core to
// data loading.
constexpr auto kSpin = std::chrono::milliseconds(10);
constexpr auto kPause = std::chrono::microseconds(100);

struct State {
  std::atomic<std::int64_t> trial{0}, started{0}, waiting_for{0}, wait_start_ns{0}, step{-1};
  std::atomic<std::int32_t> epoch{-1};
  std::atomic<bool> left{false}, abandoned{false};
  std::atomic<const char*> call{""}, phase{nullptr};
  std::mutex mutex;  // guards reason and kept
  std::string reason;
  std::vector<std::shared_ptr<const void>> kept;
};

// Never destroyed: what it keeps may hold tensors, and MPI may write into
// them until the process is gone.
State& state() {
  static State& s = *new State;
  return s;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

[[noreturn]] void throw_abandoned() {
  State& s = state();
  std::string reason;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    reason = s.reason;
  }
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  throw Error(reason, Where{.rank = rank});
}

template <std::size_t N>
void copy_text(char (&to)[N], const char* from) {
  if (from == nullptr) return;
  std::size_t i = 0;
  for (; i + 1 < N && from[i] != '\0'; ++i) to[i] = from[i];
  to[i] = '\0';
}

}  // namespace

void begin_trial() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.started = 0;
  s.waiting_for = 0;
  s.epoch = -1;
  s.step = -1;
  s.left = false;
  s.abandoned = false;
  s.phase = nullptr;
  s.reason.clear();
  ++s.trial;
}

void leave_trial() { state().left = true; }

bool abandon(std::int64_t trial, const std::string& reason) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.trial != trial || s.abandoned) return false;
  s.reason = reason;
  s.abandoned = true;
  return true;
}

bool abandoned() { return state().abandoned; }

Snapshot snapshot() {
  State& s = state();
  Snapshot out;
  out.trial = s.trial;
  out.started = s.started;
  out.waiting_for = s.waiting_for;
  if (out.waiting_for > 0) out.waited_ms = std::max<std::int64_t>(0, (now_ns() - s.wait_start_ns) / 1000000);
  out.step = s.step;
  out.epoch = s.epoch;
  out.left = s.left ? 1 : 0;
  copy_text(out.call, s.call.load());
  copy_text(out.phase, s.phase.load());
  return out;
}

void position(std::int32_t epoch, std::int64_t step) {
  state().epoch.store(epoch, std::memory_order_relaxed);
  state().step.store(step, std::memory_order_relaxed);
}

LongPhase::LongPhase(const char* what) : previous_(state().phase.exchange(what)) {}
LongPhase::~LongPhase() { state().phase = previous_; }

std::int64_t begin_collective() {
  State& s = state();
  if (s.abandoned.load(std::memory_order_relaxed)) throw_abandoned();
  return ++s.started;
}

void wait_requests(std::span<MPI_Request> requests, std::int64_t number, const char* call, MPI_Comm comm) {
  State& s = state();
  int done = 0;
  check(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE), call,
        comm);
  if (done != 0) return;
  const auto start = Clock::now();
  s.call = call;
  s.wait_start_ns = now_ns();
  s.waiting_for = number;
  struct Done {
    State& s;
    ~Done() { s.waiting_for = 0; }
  } clear{s};
  while (true) {
    if (s.abandoned.load(std::memory_order_relaxed)) throw_abandoned();
    if (Clock::now() - start > kSpin) std::this_thread::sleep_for(kPause);
    check(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE), call,
          comm);
    if (done != 0) return;
  }
}

void keep_forever(std::shared_ptr<const void> what) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.kept.push_back(std::move(what));
}

}  // namespace cir::mpi
