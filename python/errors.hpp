#pragma once
// How a failure reaches Python: the one line the command line prints (`ffn-parity run: error:
// --tp: ...`), in an exception whose class is the CLI's exit status: UsageError (2: bad usage,
// unusable input, nothing to check; a ValueError), NoDeviceError (3; a RuntimeError),
// InternalError (4: a bug; a RuntimeError). A failed check is not an exception: it is a verdict.
#include <stdexcept>
#include <string>

namespace ffn::python {

class CommandError : public std::runtime_error {
 public:
  CommandError(int status, const std::string& line) : std::runtime_error(line), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// "<prefix>: error: <what>", exit status 2.
inline CommandError usage_error(const std::string& prefix, const std::string& what) {
  return CommandError(2, prefix + ": error: " + what);
}

}  // namespace ffn::python
