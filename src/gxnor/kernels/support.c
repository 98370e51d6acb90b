
#include <string.h>
#include <stdlib.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Make sure *out is a C-contiguous array of the given shape and type (reuse if possible). */
static int gx_prepare_output(PyArrayObject** out, int nd, const npy_intp* dims, int typenum)
{
    int ok = (*out != NULL) && PyArray_NDIM(*out) == nd && PyArray_IS_C_CONTIGUOUS(*out)
             && PyArray_TYPE(*out) == typenum;
    for (int d = 0; ok && d < nd; ++d)
        ok = PyArray_DIMS(*out)[d] == dims[d];
    if (ok)
        return 0;
    Py_XDECREF(*out);
    *out = (PyArrayObject*)PyArray_EMPTY(nd, (npy_intp*)dims, typenum, 0);
    return *out == NULL;
}

/* v if the bit is set, else +0: a select on the bit pattern, no branch (tie patterns
   are random, branches on them mispredict). */
static inline float gx_keep_float(float v, unsigned bit)
{
    npy_uint32 u;
    memcpy(&u, &v, sizeof u);
    u &= (npy_uint32)0 - (npy_uint32)(bit != 0);
    memcpy(&v, &u, sizeof u);
    return v;
}

static inline double gx_keep_double(double v, unsigned bit)
{
    npy_uint64 u;
    memcpy(&u, &v, sizeof u);
    u &= (npy_uint64)0 - (npy_uint64)(bit != 0);
    memcpy(&v, &u, sizeof u);
    return v;
}

/* im2col: copy oh rows of a constant width n (the compiler inlines fixed-size copies). */
#define GX_ROWS_CASE(n) case n: \
    for (npy_intp u = 0; u < oh; ++u) memcpy(dst + u * (n), src + u * W, (n) * sizeof(*dst)); \
    break;

/* fabs and floor in the type at hand (the float ones vectorise; both are exact, so the
   results are those of the double ones). */
#define GX_FABS_float fabsf
#define GX_FABS_double fabs
#define GX_FLOOR_float floorf
#define GX_FLOOR_double floor

/* Images per partial sum of the channel sums (see gx_channel_sum_*). */
#define GX_SUM_BLOCK 64

/* Elements from which a one-pass kernel (channel sums, activation) wakes its OpenMP
   team: below it, waking the threads costs more than they save. */
#define GX_PARALLEL_FLOATS (1 << 18)

/* Fixed partial sums of a filter gradient (see gx_conv_*): at most GX_LANES, and at
   most GX_LANE_FLOATS floats for all of them. */
#define GX_LANES 16
#define GX_LANE_FLOATS (1 << 24)

/* Inside an OpenMP team each thread calls BLAS on its own chunk, so OpenBLAS must not
   start threads of its own meanwhile (both pools would fight for the cores). */
extern "C" {
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

static int gx_blas_threads_begin(void)
{
    /* Always one BLAS thread inside these kernels: OpenBLAS's sgemm gives other last bits
       with 1 and 2 threads (measured, 0.3.21 Haswell kernel), so a fixed count is what
       makes the results independent of OpenMP, OMP_NUM_THREADS and the machine's cores;
       the parallelism is the kernels' own (whole chunks per OpenMP thread). */
    if (openblas_set_num_threads && openblas_get_num_threads) {
        const int saved = openblas_get_num_threads();
        if (saved != 1)
            openblas_set_num_threads(1);
        return saved;
    }
    return 0;
}

static void gx_blas_threads_end(int saved)
{
    if (saved > 1 && openblas_set_num_threads)
        openblas_set_num_threads(saved);
}

/* Images per im2col chunk: about target floats, at least 1, at most N. */
static npy_intp gx_chunk(npy_intp N, npy_intp per_image, npy_intp target)
{
    npy_intp nb = per_image > 0 ? target / per_image : N;
    if (nb < 1) nb = 1;
    if (nb > N) nb = N;
    return nb;
}
