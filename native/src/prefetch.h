// A cache-line prefetch the optimizer keeps. GCC drops __builtin_prefetch from a loop whose only
// effect is the prefetch (measured: -O1 and up removed the conntrack and edge prefetch passes), so
// on x86-64 it is a volatile prefetcht0; elsewhere the builtin.
#pragma once

namespace dpemu {

inline void prefetchLine(const void* p) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace dpemu
