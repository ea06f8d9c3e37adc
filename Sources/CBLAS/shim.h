// OpenBLAS's C interface (Debian: libopenblas-dev puts cblas.h on the default include path).
#include <cblas.h>

// OpenBLAS extensions used to pin its thread count and report the kernel set it chose.
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
