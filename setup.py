"""`pip install .`: the ffn_parity Python package, built by the project's own CMake.

setuptools drives CMake (the project's CMakeLists.txt, target _core: the same libraries as the
`ffn-parity` command); nothing is downloaded at build time. Debian has no scikit-build-core, and
pip's build isolation would fetch setuptools from PyPI, so install with the system's setuptools:

    python3 -m pip install --no-build-isolation .

(Debian's system Python refuses pip installs outside a virtual environment: use
`python3 -m venv --system-site-packages ENV` first.) It needs what the build needs
(ci/install-deps.sh, pybind11-dev among them). FFN_PARITY_CMAKE_ARGS adds CMake options.
"""
import os
import re
import shlex
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(ffn_parity VERSION ([0-9.]+)", f.read()).group(1)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = os.path.abspath(os.path.join(self.build_temp, "cmake"))
        configure = ["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DFFN_PARITY_CUDA=OFF",
                     "-DBUILD_TESTING=OFF", f"-DPython_EXECUTABLE={sys.executable}"]
        configure += shlex.split(os.environ.get("FFN_PARITY_CMAKE_ARGS", ""))
        subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", build, "--target", "_core", "-j", jobs], check=True)
        built = [f for f in os.listdir(os.path.join(build, "python", "ffn_parity")) if f.startswith("_core")]
        if len(built) != 1:
            raise RuntimeError(f"{build}/python/ffn_parity: expected one _core module, found {built}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        self.copy_file(os.path.join(build, "python", "ffn_parity", built[0]), target)
        # Video and PNG files go through a module loaded on first use (metrics/frame_codecs.hpp),
        # looked for beside the module that loads it: _core.
        codecs = os.path.join(build, "metrics", "libffn_frame_codecs.so")
        if os.path.exists(codecs):
            self.copy_file(codecs, os.path.join(os.path.dirname(target), os.path.basename(codecs)))


setup(
    version=project_version(),
    packages=["ffn_parity"],
    package_dir={"": "python"},
    ext_modules=[CMakeExtension("ffn_parity._core")],
    cmdclass={"build_ext": CMakeBuild},
)
