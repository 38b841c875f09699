#include "kernels/heap_reuse.hpp"

#include <climits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ffn {

void reuse_freed_memory() {
#if defined(__GLIBC__)
  // No mmap'd chunks at all (a thread arena that cannot hold a block retries in the main
  // arena, which grows with brk), and no trimming of the heap's free top below 2 GiB.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

}  // namespace ffn
