// OpenBLAS's C interface (Debian: libopenblas-dev puts cblas.h on the default include path).
#include <cblas.h>

// OpenBLAS extensions used to pin its thread count and report the kernel set it chose.
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

// LAPACK's symmetric eigensolver (OpenBLAS bundles LAPACK; Fortran calling convention, column-major).
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
            const int *lwork, int *info);
