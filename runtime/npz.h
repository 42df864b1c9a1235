#pragma once
// NumPy's .npz format: a zip archive holding one .npy file per named array, as
// numpy.savez (entries stored) and numpy.savez_compressed (entries deflated)
// write it. Files written here load with numpy.load, and the reverse.
#include <string>
#include <vector>

#include "runtime/ndarray.h"

namespace theanine {

struct NamedArray {
  std::string name;  // the entry is "<name>.npy"
  NDArray array;
};

// The arrays of one .npz file, in archive order.
class NpzFile {
 public:
  NpzFile(std::string path, std::vector<NamedArray> arrays)
      : path_(std::move(path)), arrays_(std::move(arrays)) {}

  const std::string& path() const { return path_; }
  const std::vector<NamedArray>& arrays() const { return arrays_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  // IOError naming the file, the array and the names the file does hold when
  // there is no array `name`.
  const NDArray& at(const std::string& name) const;

 private:
  std::string path_;
  std::vector<NamedArray> arrays_;
};

enum class NpzCompression { kStored, kDeflate };

// The bytes of an .npz archive of `arrays` (any dtype theanine has, any layout;
// the file holds C order). Deterministic: the same arrays give the same bytes.
// ValueError for an empty or repeated name, or an archive too large for a zip
// without the ZIP64 extension (4 GiB).
std::string npz_bytes(const std::vector<NamedArray>& arrays,
                      NpzCompression compression = NpzCompression::kStored);

// Writes npz_bytes(arrays) to `path` atomically (a temporary file renamed over
// it: an existing file is replaced whole or not at all). IOError when the file
// cannot be written.
void save_npz(const std::string& path, const std::vector<NamedArray>& arrays,
              NpzCompression compression = NpzCompression::kStored);

// Reads every .npy entry of an .npz archive (stored or deflated; CRCs checked;
// ZIP64 records as numpy writes them). Entries not ending in ".npy" are skipped.
// IOError naming the file for one that is missing, truncated or corrupt, and
// naming the array for an unsupported dtype (complex, float16, structured,
// object arrays, ...) or a bad .npy header.
NpzFile load_npz(const std::string& path);
// The same from the bytes of an archive; `path` only names it in errors.
NpzFile parse_npz(const std::string& bytes, const std::string& path);

}  // namespace theanine
