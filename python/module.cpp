// The extension module ffn_parity._core: the library's entry points for the Python package
// (python/ffn_parity/__init__.py documents each one for users).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <new>

#include "harness/version.hpp"
#include "python/bindings.hpp"
#include "python/errors.hpp"

namespace py = pybind11;
using namespace ffn::python;

PYBIND11_MODULE(_core, m) {
  m.doc() = "ffn-parity's C++ library for Python; use the package ffn_parity, which documents every function.";
  static py::exception<CommandError> usage_error_class(m, "UsageError", PyExc_ValueError);
  static py::exception<CommandError> no_device_class(m, "NoDeviceError", PyExc_RuntimeError);
  static py::exception<CommandError> internal_class(m, "InternalError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    // An instance of the class with the line as its message and the CLI's exit status.
    const auto raise = [](const py::exception<CommandError>& cls, const std::string& line, int status) {
      py::object ex = py::reinterpret_borrow<py::object>(cls)(line);
      ex.attr("exit_status") = status;
      PyErr_SetObject(cls.ptr(), ex.ptr());
    };
    try {
      if (p) std::rethrow_exception(p);
    } catch (const CommandError& e) {
      raise(e.status() == 3 ? no_device_class : e.status() == 2 ? usage_error_class : internal_class, e.what(),
            e.status());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "ffn_parity: out of memory");
    } catch (const py::error_already_set&) {
      throw;
    } catch (const py::builtin_exception&) {
      throw;
    } catch (const std::exception& e) {
      // Every expected failure is a CommandError where it happens; what arrives here is a bug.
      raise(internal_class, std::string("ffn_parity: internal error: ") + e.what(), 4);
    }
  });
  m.def("run_sweep", &run_sweep, py::arg("args"), py::arg("backend"),
        "`ffn-parity run ARGS --format json` in process: (JSON text, [(allgather, sharded, reference)] per case).");
  m.def("judge_outputs", &judge_outputs, py::arg("args"), py::arg("x"), py::arg("w_in"), py::arg("b_in"),
        py::arg("w_out"), py::arg("b_out"), py::arg("old"), py::arg("new"), py::arg("dtype"), py::arg("backend"),
        py::arg("worst_k"), "Captured outputs judged with the harness's budgets: (JSON text, (allgather, sharded, reference)).");
  m.def("compare_frames", &compare_frames, py::arg("a"), py::arg("b"), py::arg("ssim"),
        "Two frame sequences scored per frame (PSNR, SSIM, MAD): a dict.");
  m.def("read_golden", &read_golden_file, py::arg("path"), py::arg("with_inputs"),
        "A golden file read and validated: a dict of provenance, input sets and cases.");
  m.attr("version") = ffn::k_version;
}
