#pragma once
// `epoch 3/10 [#########.......] 240/390` on stderr: redrawn in place (at most
// ten times a second) on a terminal; elsewhere (logs, pipes) written once, when
// the epoch ends.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace examples {

class ProgressBar {
 public:
  ProgressBar(int epoch, int epochs, int64_t total)
      : label_("epoch " + std::to_string(epoch) + "/" + std::to_string(epochs)),
        total_(total),
        tty_(::isatty(STDERR_FILENO)) {}

  std::string text(int64_t done) const {
    const int64_t filled = kWidth * done / (total_ > 0 ? total_ : 1);
    return label_ + " [" + std::string(filled, '#') + std::string(kWidth - filled, '.') +
           "] " + std::to_string(done) + "/" + std::to_string(total_);
  }

  void update(int64_t done) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ >= std::chrono::milliseconds(100) || done == total_) {
      std::fprintf(stderr, "\r%s", text(done).c_str());
      std::fflush(stderr);
      last_draw_ = now;
    }
  }

  void finish() {
    if (tty_)
      std::fputs("\r\033[K", stderr);  // clear the bar: the epoch line replaces it
    else
      std::fprintf(stderr, "%s\n", text(total_).c_str());
    std::fflush(stderr);
  }

 private:
  static constexpr int64_t kWidth = 30;
  std::string label_;
  int64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace examples
