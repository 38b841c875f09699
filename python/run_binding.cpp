#include <fmt/format.h>

#include <sstream>

#include "harness/report/table_json_report.hpp"
#include "python/arrays.hpp"
#include "python/bindings.hpp"
#include "python/command_options.hpp"

namespace ffn::python {

py::tuple run_sweep(const std::vector<std::string>& args, const std::string& backend_name) {
  const std::string prefix = "ffn-parity run";
  const CommandOptions o = parse_run_options(args, prefix);
  const Backend backend = open_backend(backend_name, prefix);
  const PlannedSweep plan = plan_sweep(o, prefix);
  std::vector<CaseResult> results;
  try {
    py::gil_scoped_release release;  // minutes of arithmetic that touch no Python object
    results = run_cases(plan.runnable.cases, {}, plan.source, nullptr, {}, backend);
  } catch (const RealInputError& e) {
    throw usage_error(prefix, e.what());
  } catch (const std::invalid_argument& e) {  // inputs no sound budget exists for (BudgetOverflow)
    throw usage_error(prefix, e.what());
  } catch (const std::bad_alloc&) {
    throw usage_error(prefix, fmt::format("--tokens: {} tokens of shape {} (dim {}, inner {}) do not fit in memory",
                                          plan.sweep.tokens, plan.sweep.shape.name, plan.sweep.shape.dim,
                                          plan.sweep.shape.inner));
  }
  std::ostringstream json;
  print_json(json, plan.sweep, results, plan.runnable.not_run);
  py::list outputs;
  for (const CaseResult& r : results)
    outputs.append(r.applicable() ? py::make_tuple(to_numpy(r.allgather_out), to_numpy(r.sharded_out),
                                                   to_numpy(*r.reference_out))
                                  : py::make_tuple(py::none(), py::none(), py::none()));
  return py::make_tuple(json.str(), outputs);
}

}  // namespace ffn::python
