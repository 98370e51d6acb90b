/* ---- per-channel sums of an (N, C, R) array, accumulated in double ----
   Fixed blocks of GX_SUM_BLOCK images each give a partial sum per channel (each image
   row of R with four interleaved partial sums); the blocks are then added in order.
   Threads take whole blocks (the result does not depend on their number), when the
   array is large enough to pay for waking the team (GX_PARALLEL_FLOATS elements). */
static int gx_channel_sum_TYPE(const TYPE* x, TYPE* out, npy_intp N, npy_intp C, npy_intp R)
{
    const npy_intp blocks = (N + GX_SUM_BLOCK - 1) / GX_SUM_BLOCK;
    double* part = (double*)calloc((blocks > 0 ? blocks : 1) * (C > 0 ? C : 1), sizeof(double));
    if (!part) {
        PyErr_NoMemory();
        return 1;
    }
    #pragma omp parallel for schedule(dynamic, 1) if (N * C * R >= GX_PARALLEL_FLOATS)
    for (npy_intp k = 0; k < blocks; ++k) {
        double* acc = part + k * C;
        const npy_intp n1 = (k + 1) * GX_SUM_BLOCK < N ? (k + 1) * GX_SUM_BLOCK : N;
        for (npy_intp n = k * GX_SUM_BLOCK; n < n1; ++n) {
            const TYPE* image = x + n * C * R;
            if (R == 1) {
                for (npy_intp c = 0; c < C; ++c)
                    acc[c] += image[c];
                continue;
            }
            for (npy_intp c = 0; c < C; ++c) {
                const TYPE* row = image + c * R;
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                npy_intp r = 0;
                for (; r + 4 <= R; r += 4) {
                    s0 += row[r]; s1 += row[r + 1]; s2 += row[r + 2]; s3 += row[r + 3];
                }
                for (; r < R; ++r)
                    s0 += row[r];
                acc[c] += (s0 + s1) + (s2 + s3);
            }
        }
    }
    for (npy_intp c = 0; c < C; ++c) {
        double total = 0;
        for (npy_intp k = 0; k < blocks; ++k)
            total += part[k * C + c];
        out[c] = (TYPE)total;
    }
    free(part);
    return 0;
}


/* The number of the n values of x equal to zero (+0 or -0; NaN is not), as the sum of
   T.eq(x, 0) in int64 counts them: an exact integer, in any order. */
static npy_int64 gx_count_zeros_TYPE(const TYPE* x, npy_intp n)
{
    npy_int64 total = 0;
    #pragma omp parallel for reduction(+:total) schedule(static) if (n >= GX_PARALLEL_FLOATS)
    for (npy_intp i = 0; i < n; ++i)
        total += (x[i] == 0);
    return total;
}
