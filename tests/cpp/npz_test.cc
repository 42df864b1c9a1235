#include "runtime/npz.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "tests/cpp/test_util.h"

namespace theanine {
namespace {

namespace fs = std::filesystem;
using namespace testing;

// Archives numpy 2.4 wrote (np.savez / np.savez_compressed into a BytesIO), as
// hex: the reader must take what numpy writes, ZIP64 extras included.
//   kSavez:           a = arange(6, dtype='<i4').reshape(2, 3),
//                     b = array([1.5, -2.25], dtype='>f8')       (big-endian)
//   kSavezCompressed: c = asfortranarray(arange(6, dtype=float32).reshape(2, 3) / 4),
//                     flag = array([True, False])                (deflated)
//   kSavezComplex:    z = zeros(2, complex64)                    (unsupported dtype)
const char* const kSavez =
    "504b03042d00000000000000210050b44d84ffffffffffffffff05001400612e6e70790100100098"
    "000000000000009800000000000000934e554d5059010076007b276465736372273a20273c693427"
    "2c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033"
    "292c207d202020202020202020202020202020202020202020202020202020202020202020202020"
    "202020202020202020202020202020202020202020200a0000000001000000020000000300000004"
    "00000005000000504b03042d0000000000000021007e120a88ffffffffffffffff05001400622e6e"
    "70790100100090000000000000009000000000000000934e554d5059010076007b27646573637227"
    "3a20273e6638272c2027666f727472616e5f6f72646572273a2046616c73652c2027736861706527"
    "3a2028322c292c207d20202020202020202020202020202020202020202020202020202020202020"
    "20202020202020202020202020202020202020202020202020202020200a3ff8000000000000c002"
    "000000000000504b01022d032d00000000000000210050b44d849800000098000000050000000000"
    "000000000000800100000000612e6e7079504b01022d032d0000000000000021007e120a88900000"
    "00900000000500000000000000000000008001cf000000622e6e7079504b05060000000002000200"
    "66000000960100000000";
const char* const kSavezCompressed =
    "504b03042d0000000800000021005a1f6238ffffffffffffffff05001400632e6e70790100100098"
    "0000000000000055000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a2"
    "aea3a09e965f54529498179f5f94920a120f292a4d050a17672416a402b91a463a0ac69a3a0ab50a"
    "e4032e063070b0676068b0036220cd00c40bec01504b03042d000000080000002100ee19bb5dffff"
    "ffffffffffff08001400666c61672e6e707901001000820000000000000046000000000000009bec"
    "17ea1b10c9c850c650ad9e925a9c5ca46ea5a05e9364a8aea3a09e965f54529498179f5f94920a12"
    "774bcc294e058a17672416a402f91a463a9a3a0ab50a14002e460600504b01022d032d0000000800"
    "000021005a1f62385500000098000000050000000000000000000000800100000000632e6e707950"
    "4b01022d032d000000080000002100ee19bb5d460000008200000008000000000000000000000080"
    "018c000000666c61672e6e7079504b05060000000002000200690000000c0100000000";
const char* const kSavezComplex =
    "504b03042d0000000000000021002bca3c85ffffffffffffffff050014007a2e6e70790100100090"
    "000000000000009000000000000000934e554d5059010076007b276465736372273a20273c633827"
    "2c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c"
    "207d2020202020202020202020202020202020202020202020202020202020202020202020202020"
    "202020202020202020202020202020202020202020200a0000000000000000000000000000000050"
    "4b01022d032d0000000000000021002bca3c85900000009000000005000000000000000000000080"
    "01000000007a2e6e7079504b0506000000000100010033000000c70000000000";

std::string from_hex(const char* hex) {
  std::string out;
  for (const char* p = hex; p[0] && p[1]; p += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(p, 2), nullptr, 16)));
  return out;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const IOError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no IOError";
  return "";
}

class NpzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("npz_test_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    return out;
  }
  fs::path dir_;
};

void expect_same(const NDArray& got, const NDArray& want) {
  EXPECT_EQ(got.dtype(), want.dtype());
  EXPECT_EQ(got.shape(), want.shape());
  EXPECT_TRUE(got.is_contiguous());
  EXPECT_EQ(values(got), values(want));
}

TEST_F(NpzTest, RoundTripsEveryDtypeAndShape) {
  for (NpzCompression c : {NpzCompression::kStored, NpzCompression::kDeflate}) {
    std::vector<NamedArray> arrays;
    uint32_t seed = 1;
    for (DType d : kAllDTypes)
      for (const Shape& s : {Shape{}, Shape{7}, Shape{0, 4}, Shape{3, 1, 5}})
        arrays.push_back({std::string(dtype_name(d)) + "_" + std::to_string(seed),
                          random_array(d, s, seed++, 100.0)});
    save_npz(path("a.npz"), arrays, c);
    const NpzFile f = load_npz(path("a.npz"));
    ASSERT_EQ(f.arrays().size(), arrays.size());
    for (size_t i = 0; i < arrays.size(); ++i) {
      SCOPED_TRACE(arrays[i].name);
      EXPECT_EQ(f.arrays()[i].name, arrays[i].name);
      expect_same(f.at(arrays[i].name), arrays[i].array);
    }
  }
}

TEST_F(NpzTest, NonContiguousArraysAreSavedInCOrder) {
  const NDArray a = random_array(DType::Float32, {4, 6}, 3);
  const NDArray view = a.transpose({1, 0}).slice(0, 1, 6, 2);  // (3, 4), strided
  save_npz(path("v.npz"), {{"v", view}});
  expect_same(load_npz(path("v.npz")).at("v"), view.copy());
}

TEST_F(NpzTest, ReadsWhatNumpySavezWrote) {
  const NpzFile f = parse_npz(from_hex(kSavez), "savez.npz");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "b"}));
  expect_same(f.at("a"), arr<int32_t>({0, 1, 2, 3, 4, 5}, {2, 3}));
  expect_same(f.at("b"), arr<double>({1.5, -2.25}, {2}));  // swapped from big-endian
}

TEST_F(NpzTest, ReadsWhatNumpySavezCompressedWrote) {
  const NpzFile f = parse_npz(from_hex(kSavezCompressed), "z.npz");
  // Fortran order on disk, C order in memory.
  expect_same(f.at("c"), arr<float>({0, .25, .5, .75, 1, 1.25}, {2, 3}));
  expect_same(f.at("flag"), arr<bool>({true, false}, {2}));
}

TEST_F(NpzTest, OutputIsDeterministicAndStartsWithAZipHeader) {
  const std::vector<NamedArray> arrays = {{"W", random_array(DType::Float32, {3, 2}, 5)}};
  for (NpzCompression c : {NpzCompression::kStored, NpzCompression::kDeflate}) {
    const std::string a = npz_bytes(arrays, c), b = npz_bytes(arrays, c);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.substr(0, 4), std::string("PK\x03\x04", 4));
  }
  EXPECT_LT(
      npz_bytes({{"z", NDArray::zeros(DType::Float64, {1000})}}, NpzCompression::kDeflate)
          .size(),
      1000u);
}

TEST_F(NpzTest, SaveReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  write("p.npz", "old contents");
  save_npz(path("p.npz"), {{"x", arr<int64_t>({7}, {1})}});
  EXPECT_EQ(values(load_npz(path("p.npz")).at("x")), std::vector<double>{7});
  EXPECT_EQ(files(), std::vector<std::string>{"p.npz"});
}

TEST_F(NpzTest, SaveIntoAMissingFolderIsAnIOErrorNamingThePath) {
  const std::string target = path("no/such/dir/p.npz");
  const std::string msg = error_of([&] {
    save_npz(target, {{"x", arr<int32_t>({1}, {1})}});
  });
  EXPECT_NE(msg.find(target), std::string::npos) << msg;
  EXPECT_TRUE(files().empty());
}

TEST_F(NpzTest, BadNamesAreValueErrors) {
  const NDArray x = arr<int32_t>({1}, {1});
  EXPECT_THROW(npz_bytes({{"", x}}), ValueError);
  EXPECT_THROW(npz_bytes({{"x", x}, {"x", x}}), ValueError);
}

TEST_F(NpzTest, MissingFileIsAnIOErrorNamingIt) {
  const std::string msg = error_of([&] { load_npz(path("absent.npz")); });
  EXPECT_NE(msg.find("absent.npz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { load_npz(dir_.string()); }).find("directory"),
            std::string::npos);
}

TEST_F(NpzTest, MissingArrayNameListsTheArraysTheFileHolds) {
  const NpzFile f = parse_npz(from_hex(kSavez), "savez.npz");
  EXPECT_FALSE(f.contains("W"));
  const std::string msg = error_of([&] { f.at("W"); });
  EXPECT_NE(msg.find("'savez.npz' has no array 'W' (it holds 'a', 'b')"),
            std::string::npos)
      << msg;
}

TEST_F(NpzTest, UnsupportedDtypeNamesTheArrayAndTheDtype) {
  const std::string msg = error_of([&] { parse_npz(from_hex(kSavezComplex), "c.npz"); });
  EXPECT_NE(msg.find("array 'z'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unsupported dtype '<c8'"), std::string::npos) << msg;
}

TEST_F(NpzTest, EveryTruncationIsAnIOError) {
  for (const char* hex : {kSavez, kSavezCompressed}) {
    const std::string bytes = from_hex(hex);
    for (size_t n = 0; n < bytes.size(); ++n)
      EXPECT_THROW(parse_npz(bytes.substr(0, n), "t.npz"), IOError) << n << " bytes";
  }
  EXPECT_NE(error_of([] {
              parse_npz(from_hex(kSavez).substr(0, 300), "t.npz");
            }).find("truncated"),
            std::string::npos);
}

TEST_F(NpzTest, CorruptDataFailsItsCrc) {
  for (const char* hex : {kSavez, kSavezCompressed}) {
    std::string bytes = from_hex(hex);
    // The last data byte of the first entry sits just before the second local
    // header.
    const size_t second = bytes.find(std::string("PK\x03\x04", 4), 4);
    bytes[second - 1] ^= 0x40;
    const std::string msg = error_of([&] { parse_npz(bytes, "bad.npz"); });
    EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
  }
}

TEST_F(NpzTest, AnyFlippedByteIsRejectedOrHarmless) {
  // Flipping bits anywhere may hit a field the reader ignores (a timestamp), but
  // must never crash or be read as other data without an error.
  for (const char* hex : {kSavez, kSavezCompressed}) {
    const std::string good = from_hex(hex);
    const NpzFile want = parse_npz(good, "g.npz");
    for (size_t i = 0; i < good.size(); ++i) {
      std::string bytes = good;
      bytes[i] ^= 0x21;
      try {
        const NpzFile got = parse_npz(bytes, "f.npz");
        ASSERT_EQ(got.names(), want.names()) << "byte " << i;
        for (const std::string& n : want.names())
          EXPECT_EQ(values(got.at(n)), values(want.at(n))) << "byte " << i;
      } catch (const IOError&) {
      }
    }
  }
}

TEST_F(NpzTest, NotAnArchive) {
  EXPECT_NE(error_of([] { parse_npz("", "e.npz"); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([] {
              parse_npz(std::string(100, 'x'), "e.npz");
            }).find("not an .npz file"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_npz(std::string("\x93NUMPY\x01\x00", 8) + "...", "e.npz");
            }).find(".npy file"),
            std::string::npos);
}

}  // namespace
}  // namespace theanine
