/* ---- a dense layer's forward product in integers (ternary.c) ----
   out (N, M) = x (N, K) . w (K, M) when both hold only -1, 0 and +1: the rows of x are
   the positions of gx_ternary_product (one tap, K channels), the columns of w its filters.
   Returns 0 when done, -1 when the float path must compute it (a kernel turned off, a
   fan-in above GX_TERNARY_MAX_K, an operand that is not ternary), 1 out of memory, 3 when
   GXNOR_INT_KERNEL names no kernel this CPU has, 4 a GXNOR_INT_STRICT error. Runs without
   the GIL. */

/* Rows of x per chunk of the OpenMP loop. */
#define GX_DENSE_ROWS 64

static int gx_dense_TYPE(const TYPE* x, const TYPE* w, TYPE* out, npy_intp N, npy_intp K,
                         npy_intp M)
{
    const int kernel = gx_int_kernel();
    if (kernel == GX_INT_ERROR)
        return 3;
    const npy_intp cp = (K + 3) / 4 * 4;
    if (kernel == GX_INT_OFF || cp > GX_TERNARY_MAX_K || N == 0 || M == 0)
        return -1;
    const npy_intp fp = gx_ternary_fpad(kernel, M);
    npy_int8* wp = (npy_int8*)malloc(cp * fp);
    npy_int32* rowsum = (npy_int32*)malloc(M * sizeof(npy_int32));
    if (!wp || !rowsum) {
        free(wp); free(rowsum);
        return 1;
    }
    if (!gx_ternary_weights_TYPE(w, M, K, 1, 1, M, cp, fp, wp, rowsum)) {
        free(wp); free(rowsum);
        return -1;
    }
    const npy_intp taps[1] = {0};
    const int strict = gx_int_strict();
    const npy_intp chunks = (N + GX_DENSE_ROWS - 1) / GX_DENSE_ROWS;
    int status = 0;
    #pragma omp parallel
    {
        npy_uint8* xs = (npy_uint8*)malloc(GX_DENSE_ROWS * cp);
        npy_intp* base = (npy_intp*)malloc(GX_DENSE_ROWS * sizeof(npy_intp));
        npy_int32* yi = (npy_int32*)malloc(GX_DENSE_ROWS * fp * sizeof(npy_int32));
        if (!xs || !base || !yi) {
            #pragma omp atomic write
            status = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (npy_intp c = 0; c < chunks; ++c) {
            int seen;
            #pragma omp atomic read
            seen = status;
            if (seen)
                continue;
            const npy_intp n0 = c * GX_DENSE_ROWS;
            const npy_intp rows = N - n0 < GX_DENSE_ROWS ? N - n0 : GX_DENSE_ROWS;
            int bad = 0;
            for (npy_intp r = 0; r < rows; ++r) {
                npy_uint8* d = xs + r * cp;
                bad |= !gx_ternary_bytes_TYPE(x + (n0 + r) * K, d, K);
                for (npy_intp k = K; k < cp; ++k)
                    d[k] = 0;
                base[r] = r * cp;
            }
            if (bad) {
                #pragma omp atomic write
                status = strict ? 4 : -1;
                continue;
            }
            gx_ternary_product(kernel, xs, base, rows, taps, 1, (int)(cp / 4), wp, fp, yi);
            for (npy_intp r = 0; r < rows; ++r) {
                TYPE* o = out + (n0 + r) * M;
                const npy_int32* y = yi + r * fp;
                for (npy_intp m = 0; m < M; ++m)
                    o[m] = (TYPE)(y[m] - rowsum[m]);
            }
        }
        free(xs);
        free(base);
        free(yi);
    }
    free(wp);
    free(rowsum);
    return status;
}
