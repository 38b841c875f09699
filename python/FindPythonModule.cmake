# Decides FFN_PARITY_WITH_PYTHON: pybind11 (Debian pybind11-dev) and Python's development headers
# found. Nothing is downloaded. The interpreter defaults to Debian's /usr/bin/python3, where
# python3-numpy, python3-pytest and python3-torch are installed (a pyenv shim on PATH would
# otherwise win); -DPython_EXECUTABLE=... picks another.
option(FFN_PARITY_PYTHON "Build the ffn_parity Python module when pybind11 is found" ON)
set(FFN_PARITY_WITH_PYTHON OFF)
if(FFN_PARITY_PYTHON)
  if(NOT DEFINED Python_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python the ffn_parity module is built for")
  endif()
  find_package(Python 3.8 COMPONENTS Interpreter Development.Module)
  if(Python_FOUND)
    set(PYBIND11_FINDPYTHON ON)
    find_package(pybind11 2.6 CONFIG QUIET)
  endif()
  if(Python_FOUND AND pybind11_FOUND)
    set(FFN_PARITY_WITH_PYTHON ON)
    set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  endif()
endif()
message(STATUS "ffn-parity: Python module ${FFN_PARITY_WITH_PYTHON} (pybind11 ${pybind11_VERSION}, ${Python_EXECUTABLE})")
