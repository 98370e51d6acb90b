
/* ---- 2x2 max pooling, stride 2, trailing odd row/column dropped ---- */
static void gx_pool_fwd_TYPE(const TYPE* x, TYPE* z, npy_intp planes, npy_intp H, npy_intp W)
{
    const npy_intp oh = H / 2, ow = W / 2;
    #pragma omp parallel for schedule(dynamic, 64)
    for (npy_intp p = 0; p < planes; ++p) {
        const TYPE* xp = x + p * H * W;
        TYPE* zp = z + p * oh * ow;
        for (npy_intp i = 0; i < oh; ++i) {
            const TYPE* r0 = xp + 2 * i * W;
            const TYPE* r1 = r0 + W;
            TYPE* zr = zp + i * ow;
            for (npy_intp j = 0; j < ow; ++j) {
                TYPE a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
                TYPE top = a > b ? a : b;
                TYPE bottom = c > d ? c : d;
                zr[j] = top > bottom ? top : bottom;
            }
        }
    }
}

/* Window elements (a, b / c, d) equal to the maximum m as bits 1, 2, 4, 8 (row-major);
   first_only keeps the lowest set bit: the first maximum in row-major order. */
static inline unsigned gx_window_bits_TYPE(TYPE a, TYPE b, TYPE c, TYPE d, TYPE m,
                                           int first_only)
{
    const unsigned bits = (unsigned)(a == m) | ((unsigned)(b == m) << 1)
                          | ((unsigned)(c == m) << 2) | ((unsigned)(d == m) << 3);
    return first_only ? bits & (0u - bits) : bits;
}

/* Gradient: the window's gradient goes to every element equal to its maximum
   (first_only = 0, Theano's MaxPoolGrad) or to the first of them (first_only = 1). */
static void gx_pool_bwd_TYPE(const TYPE* x, const TYPE* gz, TYPE* gx, npy_intp planes,
                             npy_intp H, npy_intp W, int first_only)
{
    const npy_intp oh = H / 2, ow = W / 2;
    #pragma omp parallel for schedule(dynamic, 64)
    for (npy_intp p = 0; p < planes; ++p) {
        const TYPE* xp = x + p * H * W;
        const TYPE* gp = gz + p * oh * ow;
        TYPE* op = gx + p * H * W;
        for (npy_intp i = 0; i < oh; ++i) {
            const TYPE* r0 = xp + 2 * i * W;
            const TYPE* r1 = r0 + W;
            TYPE* o0 = op + 2 * i * W;
            TYPE* o1 = o0 + W;
            const TYPE* gr = gp + i * ow;
            for (npy_intp j = 0; j < ow; ++j) {
                TYPE a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
                TYPE top = a > b ? a : b;
                TYPE bottom = c > d ? c : d;
                TYPE m = top > bottom ? top : bottom;
                TYPE g = gr[j];
                const unsigned k = gx_window_bits_TYPE(a, b, c, d, m, first_only);
                o0[2 * j] = gx_keep_TYPE(g, k & 1);
                o0[2 * j + 1] = gx_keep_TYPE(g, k & 2);
                o1[2 * j] = gx_keep_TYPE(g, k & 4);
                o1[2 * j + 1] = gx_keep_TYPE(g, k & 8);
            }
            if (W & 1) { o0[W - 1] = 0; o1[W - 1] = 0; }
        }
        if (H & 1)
            memset(op + (H - 1) * W, 0, W * sizeof(TYPE));
    }
}

