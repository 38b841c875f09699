#pragma once
// --ssim gaussian|skimage, one option for every command that scores frames (frames compare,
// run --frames, golden bless --frames, golden check): which SSIM definition the scores use
// (metrics/frames.hpp).
#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "metrics/frames.hpp"

namespace ffn::cli {

// Registers --ssim on `cmd`, storing the name in `name` (which keeps its default when the
// option is not given); `needs`, when given, is an option --ssim means nothing without.
CLI::Option* add_ssim_option(CLI::App* cmd, std::string& name, const std::string& help_default,
                             CLI::Option* needs = nullptr);
// The kind `name` names; nullopt for an empty name (the option's "not given").
std::optional<SsimKind> ssim_kind_of(const std::string& name);

}  // namespace ffn::cli
