#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace theanine {

namespace {

int threads_from_env() {
  for (const char* var : {"THEANINE_NUM_THREADS", "OMP_NUM_THREADS"}) {
    const char* v = std::getenv(var);
    if (v && std::atoi(v) > 0) return std::atoi(v);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    done_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { work(i); });
  }

  void run(int chunks, const std::function<void(int)>& task) {
    std::lock_guard<std::mutex> one_job(job_mutex_);
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lock(m_);
      task_ = &task;
      chunks_ = chunks;
      pending_ = chunks - 1;
      error_ = nullptr;
      gen = ++generation_;
      ticket_.store(gen << 32 | 1u);  // the caller takes chunk 0
    }
    cv_.notify_all();
    run_chunk(task, 0);
    for (int c; (c = claim(gen, chunks)) >= 0;) finish(task, c);
    std::unique_lock<std::mutex> lock(m_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
    task_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // The next unclaimed chunk of job `gen`, or -1. A chunk is claimed together
  // with its job's generation, so a worker that wakes late never runs a chunk
  // of a later job with an earlier job's (destroyed) task.
  int claim(uint64_t gen, int chunks) {
    uint64_t t = ticket_.load();
    do {
      if ((t >> 32) != gen || static_cast<int>(t & 0xffffffffu) >= chunks) return -1;
    } while (!ticket_.compare_exchange_weak(t, t + 1));
    return static_cast<int>(t & 0xffffffffu);
  }
  void run_chunk(const std::function<void(int)>& task, int c) {
    try {
      task(c);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m_);
      if (!error_) error_ = std::current_exception();
    }
  }
  void finish(const std::function<void(int)>& task, int c) {
    run_chunk(task, c);
    std::lock_guard<std::mutex> lock(m_);
    if (--pending_ == 0) done_cv_.notify_all();
  }
  void work(int) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* task;
      int chunks;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return done_ || generation_ != seen; });
        if (done_) return;
        seen = generation_;
        task = task_;
        chunks = chunks_;
      }
      if (!task) continue;
      for (int c; (c = claim(seen, chunks)) >= 0;) finish(*task, c);
    }
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex job_mutex_, m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int)>* task_ = nullptr;
  int chunks_ = 0;
  std::atomic<uint64_t> ticket_{0};
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool done_ = false;
  std::exception_ptr error_;
};

std::mutex g_listeners_mutex;
std::vector<void (*)(int)>& listeners() {
  static std::vector<void (*)(int)> l;
  return l;
}
std::atomic<int> g_threads{0};

int configured_threads() {
  int n = g_threads.load();
  if (n <= 0) {
    n = threads_from_env();
    g_threads.store(n);
  }
  return n;
}

Pool& pool() {
  static Pool p(configured_threads());
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  n = std::max(1, n);
  g_threads.store(n);
  pool().resize(n);
  std::lock_guard<std::mutex> lock(g_listeners_mutex);
  for (auto* l : listeners()) l(n);
}

void add_thread_count_listener(void (*listener)(int)) {
  std::lock_guard<std::mutex> lock(g_listeners_mutex);
  listeners().push_back(listener);
  listener(configured_threads());
}

// Set while this thread runs a chunk of a pool job: a nested parallel_for then
// runs in place instead of waiting for the pool it is part of.
thread_local bool t_in_job = false;

void parallel_for(int64_t n, int64_t work,
                  const std::function<void(int64_t, int64_t)>& fn, int64_t grain) {
  if (n <= 0) return;
  const int threads = num_threads();
  int chunks = static_cast<int>(std::min<int64_t>(threads, n));
  if (work < grain || chunks <= 1 || t_in_job) {
    fn(0, n);
    return;
  }
  std::function<void(int)> task = [&](int c) {
    int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (begin >= end) return;
    const bool outer = t_in_job;
    t_in_job = true;
    try {
      fn(begin, end);
    } catch (...) {
      t_in_job = outer;
      throw;
    }
    t_in_job = outer;
  };
  pool().run(chunks, task);
}

}  // namespace theanine
