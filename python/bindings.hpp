#pragma once
// The functions of the extension module `ffn_parity._core`, one file each; module.cpp registers
// them. The Python package (ffn_parity/__init__.py) wraps them with keyword arguments,
// docstrings and result objects.
#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

namespace ffn::python {

namespace py = pybind11;

// run_binding.cpp: `ffn-parity run ARGS --format json` in process: (the JSON text, per case
// (allgather output, sharded output, fp64 reference)).
py::tuple run_sweep(const std::vector<std::string>& args, const std::string& backend);

// judge_binding.cpp: captured outputs judged against the harness's budgets:
// (JSON text of the verdicts and the harness's case, (allgather, sharded, reference)).
py::tuple judge_outputs(const std::vector<std::string>& args, py::object x, py::object w_in, py::object b_in,
                        py::object w_out, py::object b_out, py::object old_output, py::object new_output,
                        const std::optional<std::string>& dtype, const std::string& backend, std::size_t worst_k);

// frames_binding.cpp: two frame sequences (uint8 arrays [frames, height, width, 3] or paths)
// scored per frame: a dict of lists and summaries.
py::dict compare_frames(py::object a, py::object b, const std::string& ssim);

// golden_binding.cpp: a golden file read and validated: provenance, input sets (with their
// tensors when `with_inputs`: stored, or generated again and checked against the digests), cases.
py::dict read_golden_file(const std::string& path, bool with_inputs);

}  // namespace ffn::python
