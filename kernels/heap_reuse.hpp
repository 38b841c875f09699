#pragma once
// glibc serves every allocation from 32 MiB up (a weight of the LTX-2 FFN is 256 MiB) with a
// fresh mapping and unmaps it when freed, so the next input set's tensors fault in page by page
// again, each page zeroed by the kernel: half of the default sweep's system time. With
// reuse_freed_memory() large blocks come from the heap and stay there once freed, for the next
// tensors of their size. Peak memory is unchanged: a set's tensors are freed before the next
// set's are made. Call once at the start of a process (the executables' main); elsewhere than
// glibc it does nothing.
namespace ffn {

void reuse_freed_memory();

}  // namespace ffn
