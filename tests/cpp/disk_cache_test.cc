// The disk cache: SHA-256 against published and sha256sum digests, where entries
// live, round trips, entries that are corrupt, truncated, foreign or half-written,
// folders that take no writes, and writers racing in threads and processes.
#include "codegen/disk_cache.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "tests/cpp/scoped_env.h"

namespace theanine {
namespace {

namespace fs = std::filesystem;
using testing::ScopedEnv;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A payload with every byte value, zeros included.
std::string binary_payload(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = char((i * 131 + size_t(seed) * 7 + i / 256) & 0xff);
  return s;
}

class DiskCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/theanine-disk-cache-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    env_ = std::make_unique<ScopedEnv>("THEANINE_CACHE_DIR", root_);
  }
  void TearDown() override {
    env_.reset();
    DiskCache::set_enabled(true);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  // Files in the cache folder whose names start with prefix.
  std::vector<std::string> files(const DiskCache& c, const std::string& prefix = "") {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(c.dir(), ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) == 0) out.push_back(name);
    }
    return out;
  }
  std::string root_;
  std::unique_ptr<ScopedEnv> env_;
};

TEST(Sha256Test, MatchesPublishedAndSha256sumDigests) {
  EXPECT_EQ(sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the padding boundaries (one or two final blocks), from sha256sum.
  const std::pair<size_t, const char*> by_length[] = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
  };
  for (const auto& [n, digest] : by_length) {
    EXPECT_EQ(sha256_hex(std::string(n, 'a')), digest) << n << " bytes";
  }
}

TEST_F(DiskCacheTest, FolderComesFromTheEnvironment) {
  DiskCache c("llvm-test");
  EXPECT_EQ(c.dir(), root_ + "/llvm-test");
  EXPECT_EQ(c.path_for("k"), root_ + "/llvm-test/" + sha256_hex("k"));
  {
    ScopedEnv unset("THEANINE_CACHE_DIR", std::nullopt);
    ScopedEnv xdg("XDG_CACHE_HOME", "/some/xdg");
    EXPECT_EQ(c.dir(), "/some/xdg/theanine/llvm-test");
    ScopedEnv no_xdg("XDG_CACHE_HOME", std::nullopt);
    ScopedEnv home("HOME", "/some/home");
    EXPECT_EQ(c.dir(), "/some/home/.cache/theanine/llvm-test");
  }
  {
    ScopedEnv off("THEANINE_CACHE_DIR", "");
    EXPECT_EQ(c.dir(), "");
    c.store("k", "v");  // a no-op
    EXPECT_EQ(c.load("k"), std::nullopt);
  }
  DiskCache::set_enabled(false);
  EXPECT_EQ(c.dir(), "");
  c.store("k2", "v");
  DiskCache::set_enabled(true);
  EXPECT_EQ(c.load("k2"), std::nullopt);
  EXPECT_FALSE(fs::exists(c.path_for("k2")));
}

TEST_F(DiskCacheTest, RoundTripsBinaryPayloads) {
  DiskCache c("rt");
  EXPECT_EQ(c.load("missing"), std::nullopt);
  for (size_t n : {size_t(0), size_t(1), size_t(100), size_t(70000)}) {
    std::string key = "key " + std::to_string(n);
    std::string payload = binary_payload(n, int(n));
    c.store(key, payload);
    std::optional<std::string> got = c.load(key);
    ASSERT_TRUE(got.has_value()) << n;
    EXPECT_EQ(*got, payload) << n;
  }
  // A store replaces the entry; namespaces do not see each other's entries.
  c.store("key 1", "replaced");
  EXPECT_EQ(c.load("key 1"), "replaced");
  EXPECT_EQ(DiskCache("other").load("key 1"), std::nullopt);
  EXPECT_TRUE(files(c, ".tmp").empty());
}

TEST_F(DiskCacheTest, CorruptOrTruncatedEntriesAreDroppedNotLoaded) {
  DiskCache c("corrupt");
  const std::string payload = binary_payload(5000, 3);
  c.store("k", payload);
  const std::string path = c.path_for("k");
  const std::string good = read_bytes(path);
  ASSERT_GT(good.size(), payload.size());
  const size_t header = good.size() - payload.size();

  std::vector<std::pair<std::string, std::string>> bad;
  for (size_t pos : {size_t(0), size_t(9), size_t(20), size_t(45), size_t(60), header,
                     header + 2500, good.size() - 1}) {
    std::string b = good;
    b[pos] = char(b[pos] ^ 0x10);
    bad.emplace_back("byte " + std::to_string(pos) + " flipped", b);
  }
  for (size_t len :
       {size_t(0), size_t(7), header - 1, header, header + 100, good.size() - 1}) {
    bad.emplace_back("truncated to " + std::to_string(len), good.substr(0, len));
  }
  bad.emplace_back("trailing bytes", good + "xx");
  for (const auto& [what, bytes] : bad) {
    write_bytes(path, bytes);
    EXPECT_EQ(c.load("k"), std::nullopt) << what;
    EXPECT_FALSE(fs::exists(path)) << what << ": a bad entry is deleted";
  }
  // An entry of another key renamed to this key's name is refused too.
  c.store("other", payload);
  fs::copy_file(c.path_for("other"), path);
  EXPECT_EQ(c.load("k"), std::nullopt);
  // And a good entry still loads.
  write_bytes(path, good);
  EXPECT_EQ(c.load("k"), payload);
}

TEST_F(DiskCacheTest, UnwritableFolderWarnsOnceAndNeverThrows) {
  // Tests run as root, where permissions do not stop writes: a folder under a
  // regular file can never be created.
  const std::string file = root_ + "/a-file";
  write_bytes(file, "x");
  ScopedEnv env("THEANINE_CACHE_DIR", file + "/sub");
  DiskCache::rearm_warning();
  DiskCache c("llvm-test");
  ::testing::internal::CaptureStderr();
  EXPECT_NO_THROW(c.store("k", "v"));
  EXPECT_NO_THROW(c.store("k2", "v"));
  EXPECT_NO_THROW(DiskCache("again").store("k3", "v"));
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(c.load("k"), std::nullopt);
  EXPECT_NE(err.find("warning: cannot write the compile cache"), std::string::npos)
      << err;
  EXPECT_NE(err.find(file + "/sub/llvm-test"), std::string::npos) << err;
  // One warning per process.
  EXPECT_EQ(err.find("warning", err.find("warning") + 1), std::string::npos) << err;
}

TEST_F(DiskCacheTest, ThreadsStoringTheSameKeyLeaveOneValidEntry) {
  DiskCache c("threads");
  const std::string a = binary_payload(30000, 1), b = binary_payload(30000, 2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        c.store("same", (t + i) % 2 ? a : b);
        std::optional<std::string> got = c.load("same");
        // A reader sees a whole entry, or (just after a racing delete) none.
        if (got) {
          EXPECT_TRUE(*got == a || *got == b);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::optional<std::string> got = c.load("same");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(*got == a || *got == b);
  EXPECT_TRUE(files(c, ".tmp").empty());
  EXPECT_EQ(files(c).size(), 1u);
}

TEST_F(DiskCacheTest, ProcessesStoringWhileAnotherLoadsNeverShowATornEntry) {
  DiskCache c("procs");
  const std::string a = binary_payload(200000, 1), b = binary_payload(200000, 2);
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0; i < 40; ++i) c.store("shared", (i + p) % 2 ? a : b);
      _exit(0);
    }
    children.push_back(pid);
  }
  int seen = 0;
  for (int i = 0; i < 200; ++i) {
    if (std::optional<std::string> got = c.load("shared")) {
      ++seen;
      ASSERT_TRUE(*got == a || *got == b) << "a torn or mixed entry was returned";
    }
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::optional<std::string> got = c.load("shared");
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(*got == a || *got == b);
  EXPECT_TRUE(files(c, ".tmp").empty());
  (void)seen;
}

}  // namespace
}  // namespace theanine
