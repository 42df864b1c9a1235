#pragma once
// Writing a file so that readers see either the old contents or the new ones,
// never a half-written file: the bytes go to a temporary file in the same folder,
// which is then renamed over the destination.
#include <string>
#include <string_view>

namespace theanine {

// Writes `bytes` to `path` atomically (see above). On any failure the temporary
// file is removed, `path` is left as it was, and IOError names `path` and the
// system's reason (a missing folder, no permission, a full disk).
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace theanine
