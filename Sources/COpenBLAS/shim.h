// Debian's libopenblas-dev (pthread build) installs its CBLAS header under the multiarch triplet.
#if defined(__x86_64__)
#include <x86_64-linux-gnu/openblas-pthread/cblas.h>
#elif defined(__aarch64__)
#include <aarch64-linux-gnu/openblas-pthread/cblas.h>
#else
#include <cblas.h>
#endif
