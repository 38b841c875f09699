#include "harness/cli/ssim_option.hpp"

#include <fmt/format.h>

namespace ffn::cli {

CLI::Option* add_ssim_option(CLI::App* cmd, std::string& name, const std::string& help_default, CLI::Option* needs) {
  CLI::Option* o =
      cmd->add_option("--ssim", name,
                      fmt::format("SSIM definition: gaussian ({}) or skimage ({}: what the serving stack's CI "
                                  "computes); {}",
                                  ssim_kind_description(SsimKind::gaussian), ssim_kind_description(SsimKind::skimage),
                                  help_default))
          ->check(CLI::IsMember({std::string(ssim_kind_name(SsimKind::gaussian)),
                                 std::string(ssim_kind_name(SsimKind::skimage))}));
  if (needs) o->needs(needs);
  return o;
}

std::optional<SsimKind> ssim_kind_of(const std::string& name) {
  if (name.empty()) return std::nullopt;
  return parse_ssim_kind(name);  // IsMember checked the name
}

}  // namespace ffn::cli
