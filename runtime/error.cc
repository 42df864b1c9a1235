#include "runtime/error.h"

namespace theanine {

namespace {
template <class E>
[[noreturn]] void again(const E& e, const std::string& prefix) {
  throw E(prefix + e.what());
}
}  // namespace

void rethrow_with_prefix(const std::string& prefix) {
  // Most derived classes first, so the type the caller catches is kept.
  try {
    throw;
  } catch (const DisconnectedInputError& e) {
    again(e, prefix);
  } catch (const TypeError& e) {
    again(e, prefix);
  } catch (const ShapeError& e) {
    again(e, prefix);
  } catch (const ValueError& e) {
    again(e, prefix);
  } catch (const IndexError& e) {
    again(e, prefix);
  } catch (const UnusedInputError& e) {
    again(e, prefix);
  } catch (const MissingInputError& e) {
    again(e, prefix);
  } catch (const IOError& e) {
    again(e, prefix);
  } catch (const CaptureUnsupported& e) {
    again(e, prefix);
  } catch (const Error& e) {
    again(e, prefix);
  }
}

}  // namespace theanine
