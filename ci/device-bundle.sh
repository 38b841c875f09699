#!/usr/bin/env bash
# Packs the full `ffn-parity` (run --dump-inputs, --comm nccl, golden check, the nightly job)
# for the bare GPU machine, which cannot build it (no OpenCV, HDF5, CLI11 or JSON -dev packages,
# no network; DESIGN section 7). Here, on the build machine: builds it with the CUDA backend for
# sm_90 (nvcc needs no GPU) in build-bundle/, then packs into .device-deps/full.tar.xz (ignored
# by git, carried to the device with .device-deps):
#   bin/ffn-parity                 the binary
#   lib/                           every shared library it loads that is not glibc's and not
#                                  CUDA's (the device has CUDA 13; NCCL comes from its toolkit
#                                  or PyTorch's nvidia-nccl wheel, see device-check.sh)
#   usr/...                        OpenMPI (mpirun, orted, the MCA plugins, help files) in
#                                  Debian's layout, relocated on the device with OPAL_PREFIX
# ci/device-check.sh unpacks it when present. The working tree and everything carried must stay
# under the device tool's 64 MiB: this prints the size and fails above MAX_MIB (default 48).
#
#   ci/device-bundle.sh            (needs the Debian packages of ci/install-deps.sh and nvcc)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-bundle"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
out="$root/.device-deps/full.tar.xz"
say() { printf 'device-bundle: %s\n' "$*"; }
die() { printf 'device-bundle: error: %s\n' "$1" >&2; exit 2; }

export PATH="/usr/local/cuda/bin:$PATH"
command -v nvcc >/dev/null || die "nvcc not found: the bundle carries the CUDA backend"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DFFN_PARITY_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DBUILD_TESTING=OFF -DFFN_PARITY_VIDEO_IO=OFF >"$stage/configure.log" 2>&1 ||
  { cat "$stage/configure.log" >&2; die "configure failed"; }
cmake --build "$build" --target ffn-parity -j "${JOBS:-$(nproc)}" >"$stage/build.log" 2>&1 ||
  { tail -n 30 "$stage/build.log" >&2; die "build failed"; }

# What the device provides: glibc, and CUDA's runtime, cuBLAS and NCCL.
provided='^(linux-vdso|ld-linux|libc\.|libm\.|libpthread|libdl\.|librt\.|libresolv|libutil|libanl|libnsl|libcuda|libcudart|libcublas|libnccl)'
closure() {  # the shared libraries of the files given, resolved here, minus what the device has
  ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u |
    while read -r name path; do [[ $name =~ $provided ]] || echo "$path"; done
}
mkdir -p "$stage/full/bin" "$stage/full/lib"
cp "$build/harness/ffn-parity" "$stage/full/bin/"
# OpenMPI in Debian's layout under usr/, for OPAL_PREFIX; its plugins are loaded at run time and
# one whose own libraries are missing is skipped, so only the launcher's libraries are packed.
mpi_dirs=(/usr/lib/x86_64-linux-gnu/openmpi /usr/lib/x86_64-linux-gnu/pmix2 /usr/share/openmpi /etc/openmpi)
for d in "${mpi_dirs[@]}"; do
  [[ -e $d ]] && mkdir -p "$stage/full$(dirname "$d")" && cp -a "$d" "$stage/full$(dirname "$d")/"
done
mkdir -p "$stage/full/usr/bin"
for b in orterun orted; do cp "/usr/bin/$b" "$stage/full/usr/bin/"; done
ln -s orterun "$stage/full/usr/bin/mpirun"
closure "$build/harness/ffn-parity" /usr/bin/orterun /usr/bin/orted \
  /usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3/mca_{ess,plm,rmaps,odls,schizo,state,routed,grpcomm,pmix}_*.so |
  while read -r lib; do cp -L "$lib" "$stage/full/lib/"; done
mkdir -p "$(dirname "$out")"
tar -C "$stage" -cJf "$out" full
mib=$(( $(stat -c %s "$out") / 1048576 ))
say "$out: $(ls "$stage/full/lib" | wc -l) libraries, ${mib} MiB"
(( mib <= ${MAX_MIB:-48} )) || die "$out is ${mib} MiB, over ${MAX_MIB:-48} MiB: it would not travel to the device with the working tree (64 MiB in all)"
