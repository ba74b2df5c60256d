// Produces items 0 … count-1 of a job on worker threads, at most `capacity`
// ahead of the consumer, and hands them out in order. Each item is a pure
// function of its index, so what comes out does not depend on the number of
// threads. With 0 workers the consumer's thread makes each item when asked.
// An exception thrown while making an item is rethrown by next() for that
// item.
//
// Workers run at idle priority (Linux SCHED_IDLE): they use what the
// training thread leaves free and never preempt it. The ranks of a group
// meet at every synchronised batch norm, so a loader that interrupted one
// rank at a random moment made the other wait; measured on the small preset
// (2 ranks, one core each), idle-priority loaders raised 2-rank throughput
// by ~3% at equal 1-rank speed.
#pragma once

#include <sched.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

namespace cir::datasets {

template <typename T>
class Prefetcher {
 public:
  using Make = std::function<T(std::int64_t)>;

  Prefetcher(int workers, int capacity) : capacity_(capacity < 1 ? 1 : capacity) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~Prefetcher() {
    {
      std::unique_lock lock(mutex_);
      stop_ = true;
    }
    wake_workers_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Starts a new job, dropping what is left of the previous one (items being
  // made are finished and thrown away).
  void start(std::int64_t count, Make make) {
    std::unique_lock lock(mutex_);
    ++generation_;
    wake_consumer_.wait(lock, [this] { return busy_ == 0; });
    make_ = std::move(make);
    count_ = count;
    claimed_ = delivered_ = 0;
    ready_.clear();
    lock.unlock();
    wake_workers_.notify_all();
  }

  // The next item in order, or nothing at the end of the job.
  std::optional<T> next() {
    std::unique_lock lock(mutex_);
    if (delivered_ >= count_) return std::nullopt;
    if (threads_.empty()) {
      const std::int64_t index = delivered_++;
      ++claimed_;
      Make make = make_;
      lock.unlock();
      return make(index);
    }
    wake_consumer_.wait(lock, [this] { return ready_.count(delivered_) > 0; });
    auto node = ready_.extract(delivered_);
    ++delivered_;
    lock.unlock();
    wake_workers_.notify_all();
    if (auto* error = std::get_if<std::exception_ptr>(&node.mapped())) std::rethrow_exception(*error);
    return std::move(std::get<T>(node.mapped()));
  }

  // Items made or being made and not yet handed out (the memory bound:
  // never more than the capacity).
  std::int64_t pending() const {
    std::unique_lock lock(mutex_);
    return claimed_ - delivered_;
  }
  int capacity() const { return capacity_; }

 private:
  void work() {
#ifdef SCHED_IDLE
    const sched_param idle{};
    sched_setscheduler(0, SCHED_IDLE, &idle);  // this thread only; best effort
#endif
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_workers_.wait(
          lock, [this] { return stop_ || (claimed_ < count_ && claimed_ < delivered_ + capacity_); });
      if (stop_) return;
      const std::int64_t index = claimed_++;
      const std::uint64_t generation = generation_;
      Make make = make_;
      ++busy_;
      lock.unlock();
      std::variant<T, std::exception_ptr> result{std::exception_ptr{}};
      try {
        result.template emplace<T>(make(index));
      } catch (...) {
        result.template emplace<std::exception_ptr>(std::current_exception());
      }
      lock.lock();
      --busy_;
      if (generation == generation_) ready_.emplace(index, std::move(result));
      wake_consumer_.notify_all();
    }
  }

  const int capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_workers_, wake_consumer_;
  std::vector<std::thread> threads_;
  Make make_;
  std::int64_t count_ = 0, claimed_ = 0, delivered_ = 0;
  std::uint64_t generation_ = 0;
  int busy_ = 0;
  bool stop_ = false;
  std::map<std::int64_t, std::variant<T, std::exception_ptr>> ready_;
};

}  // namespace cir::datasets
