#include "harness/cli/list_command.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <memory>
#include <string>

#include "harness/tp/allreduce_model.hpp"
#include "harness/tp/model_catalog.hpp"
#include "harness/tp/precision.hpp"
#include "harness/tp/shape.hpp"
#include "harness/verdict/fault.hpp"

namespace ffn::cli {

void print_fault_catalog() {
  for (const FaultInfo& f : fault_catalog())
    fmt::print("{:<24} {:<9} {}\n", f.name, f.path == FaultedPath::sharded ? "sharded" : "allgather",
               f.description);
}

namespace {

void print_shapes() {
  fmt::print("# {:<18} {:>6} {:>6} {:>7} {:<10} {}\n", "shape", "dim", "inner", "tokens", "act", "bias");
  for (const FfnShape& s : shape_presets())
    fmt::print("  {:<18} {:>6} {:>6} {:>7} {:<10} {}\n", s.name, s.dim, s.inner, s.default_tokens,
               activation_name(s.activation), s.bias ? "yes" : "no");
}

void print_precisions() {
  for (const Precision& p : precision_presets()) fmt::print("{:<20} {}\n", p.name, p.description);
}

void print_models() {
  fmt::print("# {:<18} {:>6} {:>6} {:<10} {:<5} {:<4} {:<8} {}\n", "model", "hidden", "inner", "act", "gated", "bias",
             "tp", "--tensor-map of block {N}; source");
  for (const ModelFfn& m : model_catalog())
    fmt::print("  {:<18} {:>6} {:>6} {:<10} {:<5} {:<4} {:<8} {}\n    {}; source{}: {}\n", m.id, m.hidden, m.inner,
               activation_name(m.activation), m.activation.gated ? "yes" : "no", m.bias ? "yes" : "no",
               fmt::format("{}", fmt::join(m.tps, ",")), fmt::join(m.tensor_map, " "), m.name, m.verified ? "" : " (partly verified)",
               m.source);
}

void print_allreduce() {
  for (AllReduceModel m : allreduce_models())
    fmt::print("{:<15} {}\n{:<15} source: {}\n", allreduce_model_name(m), allreduce_model_description(m), "",
               allreduce_model_source(m));
  for (const AllReduceAlias& a : allreduce_aliases())
    fmt::print("{:<15} alias of {}\n", a.name, allreduce_model_name(a.model));
}

}  // namespace

void add_list_command(CLI::App& app, int* exit_code) {
  auto what = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "list", "What the values of --shape, --precision, --allreduce and --inject mean: shapes with their dims "
              "and default tokens, the model catalog (every MLP of the serving stack's DiT models, with its "
              "source), precisions, AllReduce models, faults");
  cmd->add_option("what", *what, "shapes, models, precisions, allreduce or faults")
      ->check(CLI::IsMember({"shapes", "models", "precisions", "allreduce", "faults"}));
  cmd->callback([what, exit_code] {
    if (what->empty()) {
      std::cerr << "ffn-parity list: error: nothing to list (expected one of: shapes, models, precisions, allreduce, "
                   "faults)\n";
      *exit_code = 2;
      return;
    }
    if (*what == "shapes") print_shapes();
    if (*what == "models") print_models();
    if (*what == "precisions") print_precisions();
    if (*what == "allreduce") print_allreduce();
    if (*what == "faults") print_fault_catalog();
    *exit_code = 0;
  });
}

}  // namespace ffn::cli
