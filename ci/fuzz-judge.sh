#!/usr/bin/env bash
# Judges one sanitizer report of a replayed fuzz input (ci/fuzz.sh) by where it points:
#   ours                          a frame of our code, a UBSan report, or nothing to go by;
#   library FUNCTION (LIBRARY)    the first frame that counts is inside HDF5, OpenCV or FFmpeg;
#   unreproduced                  no report: the replay ran clean (libFuzzer's fork mode
#                                 sometimes records an empty input for a job that crashed).
# The report must print every frame's module: ci/fuzz.sh replays with
# stack_trace_format="    #%n %p in %f %S <%m>" (FUZZ_STACK_FORMAT below), so each frame line
# ends in <module> whatever debug information the machine has. Of each stack, frames are
# skipped that belong to the sanitizer runtime, libFuzzer or an interceptor (in the fuzz
# binary, built without debug information: no source file), and frames inside the C and C++
# runtimes (libc, libm, libstdc++, libgcc_s, the loader): a memcpy or a throw is judged by its
# caller (a SEGV inside libc's memcpy called by HDF5 is HDF5's; CI counted one as ours on
# 2026-12-06, when libc's debug symbols gave the frame a source file). Any other frame outside
# the libraries is ours.
#   ci/fuzz-judge.sh REPORT
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: ci/fuzz-judge.sh REPORT" >&2; exit 2; }
[ -r "$1" ] || { echo "fuzz-judge: cannot read report '$1'" >&2; exit 2; }
grep -q '^SUMMARY: \|runtime error: \|^==[0-9]*== *ERROR' "$1" || { echo unreproduced; exit 0; }
libraries='(^|/)lib(hdf5|opencv|avcodec|avformat|avutil|swscale|swresample|png|jpeg|z|tiff|webp|openjp2|dav1d)[^/]*\.so[^/]*$'
runtimes='(^|/)(libc|libm|libstdc\+\+|libgcc_s|libpthread|ld-linux-x86-64)\.so[^/]*$'
awk -v libs="$libraries" -v runtimes="$runtimes" '
  function module_of(line) { return match(line, /<[^<>]*>$/) ? substr(line, RSTART + 1, RLENGTH - 2) : "" }
  function function_of(line) { return match(line, / in [^ ]+/) ? substr(line, RSTART + 4, RLENGTH - 4) : "<null>" }
  /runtime error: / { ubsan = 1 }
  /^ *#0 / { if (naming != "") first = "? (" libname ")"; fresh = 1; naming = "" }
  /^ *#[0-9]+ / {
    module = module_of($0)
    # An unnamed library frame: its function is the next named frame of the same library.
    if (naming != "") {
      if (module == naming && function_of($0) != "<null>") { first = function_of($0) " (" libname ")"; naming = "" }
      else if (module != naming) { first = "? (" libname ")"; naming = "" }
    }
    if (!fresh) next
    if (module == "") { ours = 1; fresh = 0; next }     # not the format we asked for
    if (module ~ /(^|\/)fuzz_[a-z_]+$/ && ($NF == "<" module ">") && ($(NF - 1) == "<null>")) next
    if (module ~ runtimes) next
    fresh = 0
    if (match(module, libs)) {
      lib = substr(module, RSTART + 1)
      sub(/\.so.*/, ".so", lib)
      if (first == "" && naming == "") {
        if (function_of($0) != "<null>") first = function_of($0) " (" lib ")"
        else { naming = module; libname = lib }
      }
    }
    else ours = 1
  }
  /^SUMMARY: / { exit }
  END {
    if (naming != "") first = "? (" libname ")"
    if (ours || ubsan || first == "") print "ours"; else print "library " first
  }' "$1"
