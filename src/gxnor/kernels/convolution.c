/* ---- valid correlation, stride 1, by im2col over chunks of images + gemm ----
   x: (N, C, H, W); w: (F, C, kh, kw), K = C kh kw; y: (N, F, oh, ow), P = oh ow.
   A chunk of nb images is unfolded into col (K x nb P): row k = (c, i, j), column
   b P + (u ow + v) holds x[b, c, u + i, v + j]. The helpers below work on one chunk and
   run inside one thread; the threads share the chunks. */

/* Row-major C (M x N) = alpha op(A) op(B) + beta C through the column-major BLAS. */
static void gx_gemm_TYPE(char ta, char tb, int M, int N, int K, TYPE alpha, const TYPE* A,
                         int lda, const TYPE* B, int ldb, TYPE beta, TYPE* Cm, int ldc)
{
    GEMM(&tb, &ta, &N, &M, &K, &alpha, (TYPE*)B, &ldb, (TYPE*)A, &lda, &beta, Cm, &ldc);
}

static void gx_im2col_TYPE(const TYPE* x, TYPE* col, npy_intp nb, npy_intp C, npy_intp H,
                           npy_intp W, npy_intp kh, npy_intp kw, npy_intp ph, npy_intp pw)
{
    const npy_intp oh = H + 2 * ph - kh + 1, ow = W + 2 * pw - kw + 1, P = oh * ow, ld = nb * P;
    for (npy_intp bc = 0; bc < nb * C; ++bc) {
        const npy_intp b = bc / C, c = bc - b * C;
        const TYPE* xp = x + bc * H * W;
        for (npy_intp i = 0; i < kh; ++i)
            for (npy_intp j = 0; j < kw; ++j) {
                TYPE* dst = col + ((c * kh + i) * kw + j) * ld + b * P;
                if (ph == 0 && pw == 0) {
                    const TYPE* src = xp + i * W + j;
                    /* oh rows of ow floats; the usual widths get copies of constant size */
                    switch (ow) {
                    GX_ROWS_CASE(4) GX_ROWS_CASE(8) GX_ROWS_CASE(12) GX_ROWS_CASE(16)
                    GX_ROWS_CASE(24) GX_ROWS_CASE(32)
                    default:
                        for (npy_intp u = 0; u < oh; ++u)
                            memcpy(dst + u * ow, src + u * W, ow * sizeof(TYPE));
                    }
                    continue;
                }
                /* zero padding: output column v reads input column v + j - pw, valid for
                   v in [v0, v1); rows outside the input are zeros */
                const npy_intp v0 = pw - j > 0 ? pw - j : 0;
                const npy_intp v1 = W + pw - j < ow ? W + pw - j : ow;
                for (npy_intp u = 0; u < oh; ++u) {
                    TYPE* d = dst + u * ow;
                    const npy_intp row = u + i - ph;
                    if (row < 0 || row >= H || v1 <= v0) {
                        memset(d, 0, ow * sizeof(TYPE));
                        continue;
                    }
                    if (v0 > 0) memset(d, 0, v0 * sizeof(TYPE));
                    memcpy(d + v0, xp + row * W + (v0 + j - pw), (v1 - v0) * sizeof(TYPE));
                    if (v1 < ow) memset(d + v1, 0, (ow - v1) * sizeof(TYPE));
                }
            }
    }
}

/* gx (nb, C, H, W) = fold of col (K x nb P), taps added in the order k = (c, i, j);
   with padding, the taps that fall on the zero border are dropped (what the gradient of
   an explicitly padded input, cropped, would hold: the same additions in the same order). */
static void gx_col2im_TYPE(const TYPE* col, TYPE* gx, npy_intp nb, npy_intp C, npy_intp H,
                           npy_intp W, npy_intp kh, npy_intp kw, npy_intp ph, npy_intp pw)
{
    const npy_intp oh = H + 2 * ph - kh + 1, ow = W + 2 * pw - kw + 1, P = oh * ow, ld = nb * P;
    for (npy_intp bc = 0; bc < nb * C; ++bc) {
        const npy_intp b = bc / C, c = bc - b * C;
        TYPE* gp = gx + bc * H * W;
        memset(gp, 0, H * W * sizeof(TYPE));
        for (npy_intp i = 0; i < kh; ++i)
            for (npy_intp j = 0; j < kw; ++j) {
                const TYPE* src = col + ((c * kh + i) * kw + j) * ld + b * P;
                const npy_intp v0 = pw - j > 0 ? pw - j : 0;
                const npy_intp v1 = W + pw - j < ow ? W + pw - j : ow;
                for (npy_intp u = 0; u < oh; ++u) {
                    const npy_intp row = u + i - ph;
                    if (row < 0 || row >= H)
                        continue;
                    TYPE* d = gp + row * W + (v0 + j - pw);
                    const TYPE* s = src + u * ow + v0;
                    for (npy_intp v = 0; v < v1 - v0; ++v)
                        d[v] += s[v];
                }
            }
    }
}

/* buf (F x nb P) <-> y (nb, F, P): gather = 1 copies y into buf, 0 scatters buf into y. */
static void gx_shuffle_TYPE(TYPE* y, TYPE* buf, npy_intp nb, npy_intp F, npy_intp P, int gather)
{
    const npy_intp ld = nb * P;
    for (npy_intp bf = 0; bf < nb * F; ++bf) {
        const npy_intp b = bf / F, f = bf - b * F;
        TYPE* yp = y + bf * P;
        TYPE* bp = buf + f * ld + b * P;
        if (gather)
            memcpy(bp, yp, P * sizeof(TYPE));
        else
            memcpy(yp, bp, P * sizeof(TYPE));
    }
}

/* ---- conv + bias + 2x2 max pool in one pass ----
   A chunk's conv output y (in buf) gets the bias added and is pooled; the window's mask
   has bit (2 a + c) set for every element (a, c) equal to the window's maximum, or only
   for the first of them in row-major order (first_only). Trailing odd rows/columns of y
   are dropped. */
static void gx_bias_pool_TYPE(const TYPE* buf, const TYPE* bias, TYPE* z, npy_uint8* mask,
                              npy_intp nb, npy_intp F, npy_intp oh, npy_intp ow,
                              int first_only)
{
    const npy_intp P = oh * ow, ld = nb * P, ph = oh / 2, pw = ow / 2, Q = ph * pw;
    for (npy_intp bf = 0; bf < nb * F; ++bf) {
        const npy_intp b = bf / F, f = bf - b * F;
        const TYPE* yp = buf + f * ld + b * P;
        const TYPE shift = bias[f];
        TYPE* zp = z + bf * Q;
        npy_uint8* mp = mask + bf * Q;
        for (npy_intp i = 0; i < ph; ++i) {
            const TYPE* r0 = yp + 2 * i * ow;
            const TYPE* r1 = r0 + ow;
            for (npy_intp j = 0; j < pw; ++j) {
                const TYPE a = r0[2 * j] + shift, c = r0[2 * j + 1] + shift;
                const TYPE d = r1[2 * j] + shift, e = r1[2 * j + 1] + shift;
                const TYPE top = a > c ? a : c;
                const TYPE bottom = d > e ? d : e;
                const TYPE m = top > bottom ? top : bottom;
                zp[i * pw + j] = m;
                mp[i * pw + j] = (npy_uint8)gx_window_bits_TYPE(a, c, d, e, m, first_only);
            }
        }
    }
}

/* buf (F x nb P) = dL/dy for a chunk: a window's gradient on each element its mask marks. */
static void gx_unpool_TYPE(const TYPE* gz, const npy_uint8* mask, TYPE* buf, npy_intp nb,
                           npy_intp F, npy_intp oh, npy_intp ow)
{
    const npy_intp P = oh * ow, ld = nb * P, ph = oh / 2, pw = ow / 2, Q = ph * pw;
    for (npy_intp bf = 0; bf < nb * F; ++bf) {
        const npy_intp b = bf / F, f = bf - b * F;
        TYPE* gp = buf + f * ld + b * P;
        const TYPE* gq = gz + bf * Q;
        const npy_uint8* mp = mask + bf * Q;
        if ((oh | ow) & 1)
            memset(gp, 0, P * sizeof(TYPE));
        for (npy_intp i = 0; i < ph; ++i) {
            TYPE* r0 = gp + 2 * i * ow;
            TYPE* r1 = r0 + ow;
            for (npy_intp j = 0; j < pw; ++j) {
                const TYPE v = gq[i * pw + j];
                const unsigned k = mp[i * pw + j];
                r0[2 * j] = gx_keep_TYPE(v, k & 1);
                r0[2 * j + 1] = gx_keep_TYPE(v, k & 2);
                r1[2 * j] = gx_keep_TYPE(v, k & 4);
                r1[2 * j + 1] = gx_keep_TYPE(v, k & 8);
            }
        }
    }
}

/* gb[f] = sum over images and windows of gz * (number of marked elements), in double:
   the sum of dL/dy over channel f, by blocks of images as gx_channel_sum (threads take
   whole blocks; the result does not depend on their number).
   Returns 0, or 1 when out of memory (no Python call: may run without the GIL). */
static int gx_unpool_bias_TYPE(const TYPE* gz, const npy_uint8* mask, TYPE* gb, npy_intp N,
                               npy_intp F, npy_intp Q)
{
    const npy_intp blocks = (N + GX_SUM_BLOCK - 1) / GX_SUM_BLOCK;
    double* part = (double*)calloc((blocks > 0 ? blocks : 1) * (F > 0 ? F : 1), sizeof(double));
    if (!part)
        return 1;
    #pragma omp parallel for schedule(dynamic, 1)
    for (npy_intp k = 0; k < blocks; ++k) {
        double* acc = part + k * F;
        const npy_intp n1 = (k + 1) * GX_SUM_BLOCK < N ? (k + 1) * GX_SUM_BLOCK : N;
        for (npy_intp n = k * GX_SUM_BLOCK; n < n1; ++n)
            for (npy_intp f = 0; f < F; ++f) {
                const TYPE* g = gz + (n * F + f) * Q;
                const npy_uint8* m = mask + (n * F + f) * Q;
                double s = 0;
                for (npy_intp q = 0; q < Q; ++q) {
                    const unsigned bits = m[q];
                    s += (double)g[q] * (double)((bits & 1) + ((bits >> 1) & 1)
                                                 + ((bits >> 2) & 1) + ((bits >> 3) & 1));
                }
                acc[f] += s;
            }
    }
    for (npy_intp f = 0; f < F; ++f) {
        double total = 0;
        for (npy_intp k = 0; k < blocks; ++k)
            total += part[k * F + f];
        gb[f] = (TYPE)total;
    }
    free(part);
    return 0;
}

/* ---- the forward product in integers (ternary.c), when both operands are ternary ---- */

static inline int gx_is_ternary_TYPE(TYPE v)
{
    return (v == 0) | (v == 1) | (v == -1);
}

/* Packs ternary filters for gx_ternary_product: wp (taps, cp/4, fp, 4) signed bytes, zero
   where padded, and rowsum[f] = sum of filter f. Weight (f, c, t) is w[f sf + c sc + t]
   (correlation filters (F, C, kh, kw): sf = C taps, sc = taps; a dense layer's (K, M):
   sf = 1, sc = M, one tap). Returns 0 (and leaves the rest unspecified) when some weight
   is not -1, 0 or +1. */
static int gx_ternary_weights_TYPE(const TYPE* w, npy_intp F, npy_intp C, npy_intp taps,
                                   npy_intp sf, npy_intp sc, npy_intp cp, npy_intp fp,
                                   npy_int8* wp, npy_int32* rowsum)
{
    memset(wp, 0, taps * cp * fp * sizeof(npy_int8));
    for (npy_intp f = 0; f < F; ++f) {
        npy_int32 s = 0;
        for (npy_intp c = 0; c < C; ++c)
            for (npy_intp t = 0; t < taps; ++t) {
                const TYPE v = w[f * sf + c * sc + t];
                if (!gx_is_ternary_TYPE(v))
                    return 0;
                const npy_int8 b = (npy_int8)(v > 0) - (npy_int8)(v < 0);
                wp[((t * (cp / 4) + c / 4) * fp + f) * 4 + (c & 3)] = b;
                s += b;
            }
        rowsum[f] = s;
    }
    return 1;
}

/* out[i] = x[i] + 1 as a byte (0, 1, 2) for the n values of x; returns 1 when every
   value is -1, 0 or +1, 0 otherwise (out then holds nothing of use). Branch-free, so
   it vectorises. */
static int gx_ternary_bytes_TYPE(const TYPE* x, npy_uint8* out, npy_intp n)
{
    int bad = 0;
    for (npy_intp i = 0; i < n; ++i) {
        const TYPE v = x[i];
        bad |= (v != 0) & (v != 1) & (v != -1);
        out[i] = (npy_uint8)(1 + (v > 0) - (v < 0));
    }
    return !bad;
}

/* xs (nb, H + 2 ph, W + 2 pw, cp) = x + 1 as bytes, channels last, the zero border as 1,
   for the chunk x (nb, C, H, W), through planes (an image's C H W bytes, channels first,
   in `planes`): the conversion runs over contiguous values (it vectorises), the
   transposition over bytes. Returns 0 as soon as an image holds a value other than -1, 0
   or +1 (the chunk then takes the float path). */
static int gx_ternary_images_TYPE(const TYPE* x, npy_uint8* xs, npy_uint8* planes, npy_intp nb,
                                  npy_intp C, npy_intp H, npy_intp W, npy_intp ph,
                                  npy_intp pw, npy_intp cp)
{
    const npy_intp Hp = H + 2 * ph, Wp = W + 2 * pw, image = C * H * W;
    memset(xs, 1, nb * Hp * Wp * cp);
    for (npy_intp b = 0; b < nb; ++b) {
        if (!gx_ternary_bytes_TYPE(x + b * image, planes, image))
            return 0;
        for (npy_intp h = 0; h < H; ++h)
            for (npy_intp v = 0; v < W; ++v) {
                npy_uint8* d = xs + ((b * Hp + h + ph) * Wp + v + pw) * cp;
                const npy_uint8* s = planes + h * W + v;
                for (npy_intp c = 0; c < C; ++c)
                    d[c] = s[c * H * W];
            }
    }
    return 1;
}

/* The forward product of a chunk in integers: buf (F x nb P) = conv of the chunk, from
   its bytes xs. base receives each position's offset in xs. */
static void gx_ternary_conv_chunk_TYPE(const gx_ternary_plan* plan, const npy_uint8* xs,
                                       npy_intp* base, npy_int32* yi, TYPE* buf, npy_intp nb,
                                       npy_intp Hp, npy_intp Wp, npy_intp F, npy_intp oh,
                                       npy_intp ow)
{
    const npy_intp P = oh * ow, Q = nb * P, cp = plan->cp, fp = plan->fp;
    for (npy_intp q = 0; q < Q; ++q) {
        const npy_intp b = q / P, p = q - b * P, u = p / ow, v = p - u * ow;
        base[q] = ((b * Hp + u) * Wp + v) * cp;
    }
    gx_ternary_product(plan->kernel, xs, base, Q, plan->taps, plan->ntaps, (int)(cp / 4),
                       plan->wp, fp, yi);
    for (npy_intp f = 0; f < F; ++f) {
        const npy_int32 shift = plan->rowsum[f];
        TYPE* row = buf + f * Q;
        for (npy_intp q = 0; q < Q; ++q)
            row[q] = (TYPE)(yi[q * fp + f] - shift);
    }
}

/* One chunk of nb images starting at image n0 (see gx_conv_TYPE); acc receives the
   filter gradient of the chunk (direction 1, added to it). */
static int gx_conv_chunk_TYPE(int direction, int pooled, int first_only, const TYPE* x,
                               const TYPE* w,
                               const TYPE* bias, const TYPE* gy, npy_uint8* mask, TYPE* out,
                               TYPE* acc, npy_intp n0, npy_intp nb, npy_intp C, npy_intp H,
                               npy_intp W, npy_intp F, npy_intp kh, npy_intp kw, npy_intp ph,
                               npy_intp pw, TYPE* col, TYPE* buf, const gx_ternary_plan* plan,
                               npy_uint8* xs, npy_uint8* planes, npy_intp* base, npy_int32* yi)
{
    const npy_intp oh = H + 2 * ph - kh + 1, ow = W + 2 * pw - kw + 1, P = oh * ow;
    const npy_intp K = C * kh * kw;
    const npy_intp Q = (oh / 2) * (ow / 2);
    const npy_intp out_image = pooled ? F * Q : F * P;   /* per image, in out / gy */
    const int ld = (int)(nb * P);
    if (direction != 0) {   /* dL/dy of the chunk into buf (F x nb P) */
        if (pooled)
            gx_unpool_TYPE(gy + n0 * out_image, mask + n0 * F * Q, buf, nb, F, oh, ow);
        else
            gx_shuffle_TYPE((TYPE*)gy + n0 * out_image, buf, nb, F, P, 1);
    }
    if (direction == 0) {
        if (plan && gx_ternary_images_TYPE(x + n0 * C * H * W, xs, planes, nb, C, H, W, ph,
                                           pw, plan->cp)) {
            gx_ternary_conv_chunk_TYPE(plan, xs, base, yi, buf, nb, H + 2 * ph, W + 2 * pw, F,
                                       oh, ow);
        } else if (plan && plan->strict) {
            return 4;
        } else {
            gx_im2col_TYPE(x + n0 * C * H * W, col, nb, C, H, W, kh, kw, ph, pw);
            gx_gemm_TYPE('N', 'N', (int)F, ld, (int)K, 1, w, (int)K, col, ld, 0, buf, ld);
        }
        if (pooled)
            gx_bias_pool_TYPE(buf, bias, out + n0 * out_image, mask + n0 * F * Q, nb, F, oh, ow,
                              first_only);
        else
            gx_shuffle_TYPE(out + n0 * out_image, buf, nb, F, P, 0);
    } else if (direction == 1) {
        gx_im2col_TYPE(x + n0 * C * H * W, col, nb, C, H, W, kh, kw, ph, pw);
        gx_gemm_TYPE('N', 'T', (int)F, (int)K, ld, 1, buf, ld, col, ld, 1, acc, (int)K);
    } else {
        gx_gemm_TYPE('T', 'N', (int)K, ld, (int)F, 1, w, (int)K, buf, ld, 0, col, ld);
        gx_col2im_TYPE(col, out + n0 * C * H * W, nb, C, H, W, kh, kw, ph, pw);
    }
    return 0;
}

/* The chunked im2col + gemm driver.
   direction 0: forward; 1: gradient of the filters (and of the bias when pooled);
   2: gradient of the input. pooled = 0: plain correlation, gy is dL/dy (N, F, oh, ow)
   and out is y / gw / gx. pooled = 1: conv + bias + pool, gy is dL/dz (N, F, oh/2, ow/2)
   with the forward mask; forward writes out = z and mask, direction 1 also gb.
   The forward pass computes the product in integers where both operands are ternary
   (ternary.c; with GXNOR_INT_STRICT=1, an input that is not, under ternary filters, is
   an error, 4). Chunks are fixed by `target` alone. With OpenMP, threads take whole chunks and call a
   single-threaded BLAS; the filter gradient is summed per lane (a number of groups of
   consecutive chunks fixed by the shapes) and the lanes are added in order, so the
   result does not depend on the number of threads. Runs without the GIL: returns 0, 1 (out of memory), 2
   (a chunk too large for BLAS's int sizes), 3 (GXNOR_INT_KERNEL names no kernel this
   CPU has) or 4 (see above). */
static int gx_conv_TYPE(int direction, int pooled, int first_only, const TYPE* x,
                        const TYPE* w,
                        const TYPE* bias, const TYPE* gy, npy_uint8* mask, TYPE* out,
                        TYPE* gb, npy_intp N, npy_intp C, npy_intp H, npy_intp W, npy_intp F,
                        npy_intp kh, npy_intp kw, npy_intp ph, npy_intp pw, npy_intp target)
{
    const npy_intp oh = H + 2 * ph - kh + 1, ow = W + 2 * pw - kw + 1, P = oh * ow;
    const npy_intp K = C * kh * kw;
    const npy_intp Q = (oh / 2) * (ow / 2);
    if (direction == 1) {
        memset(out, 0, F * K * sizeof(TYPE));
        if (pooled && gx_unpool_bias_TYPE(gy, mask, gb, N, F, Q))
            return 1;
    }
    if (N == 0 || F == 0 || K == 0 || P == 0) {
        if (direction == 2)
            memset(out, 0, N * C * H * W * sizeof(TYPE));
        return 0;
    }
    const npy_intp B = gx_chunk(N, K * P, target);
    if ((double)K * B * P > 2147483647.0 || (double)F * B * P > 2147483647.0)
        return 2;
    /* The forward pass takes the integer path where both operands are ternary (see
       ternary.c): the filters are checked here, each chunk's input in its pass. */
    gx_ternary_plan plan_data;
    const gx_ternary_plan* plan = NULL;
    npy_int8* wp = NULL;
    npy_int32* rowsum = NULL;
    npy_intp* taps = NULL;
    const npy_intp Hp = H + 2 * ph, Wp = W + 2 * pw, cp = (C + 3) / 4 * 4;
    npy_intp fp = 0;
    if (direction == 0) {
        const int kernel = gx_int_kernel();
        fp = gx_ternary_fpad(kernel, F);
        if (kernel == GX_INT_ERROR)
            return 3;
        if (kernel != GX_INT_OFF && cp * kh * kw <= GX_TERNARY_MAX_K) {
            wp = (npy_int8*)malloc(kh * kw * cp * fp);
            rowsum = (npy_int32*)malloc(F * sizeof(npy_int32));
            taps = (npy_intp*)malloc(kh * kw * sizeof(npy_intp));
            if (!wp || !rowsum || !taps) {
                free(wp); free(rowsum); free(taps);
                return 1;
            }
            if (gx_ternary_weights_TYPE(w, F, C, kh * kw, C * kh * kw, kh * kw, cp, fp, wp,
                                        rowsum)) {
                for (npy_intp i = 0; i < kh; ++i)
                    for (npy_intp j = 0; j < kw; ++j)
                        taps[i * kw + j] = (i * Wp + j) * cp;
                plan_data.kernel = kernel;
                plan_data.cp = cp;
                plan_data.fp = fp;
                plan_data.wp = wp;
                plan_data.rowsum = rowsum;
                plan_data.taps = taps;
                plan_data.ntaps = (int)(kh * kw);
                plan_data.strict = gx_int_strict();
                plan = &plan_data;
            }
        }
    }
    const npy_intp chunks = (N + B - 1) / B;
    npy_intp lanes = chunks;
    if (direction == 1) {
        const npy_intp room = GX_LANE_FLOATS / (F * K);
        lanes = room < GX_LANES ? (room > 1 ? room : 1) : GX_LANES;
        if (lanes > chunks)
            lanes = chunks;
    }
    TYPE* partial = NULL;
    if (direction == 1 && lanes > 1) {
        partial = (TYPE*)calloc(lanes * F * K, sizeof(TYPE));
        if (!partial)
            return 1;
    }
    int failed = 0;
    const int saved_blas_threads = gx_blas_threads_begin();
    #pragma omp parallel
    {
        TYPE* col = (TYPE*)malloc(K * B * P * sizeof(TYPE));
        TYPE* buf = (TYPE*)malloc(F * B * P * sizeof(TYPE));
        npy_uint8* xs = plan ? (npy_uint8*)malloc(B * Hp * Wp * cp) : NULL;
        npy_uint8* planes = plan ? (npy_uint8*)malloc(C * H * W) : NULL;
        npy_intp* base = plan ? (npy_intp*)malloc(B * P * sizeof(npy_intp)) : NULL;
        npy_int32* yi = plan ? (npy_int32*)malloc(B * P * fp * sizeof(npy_int32)) : NULL;
        const int ready = col && buf && (!plan || (xs && planes && base && yi));
        if (!ready) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (npy_intp lane = 0; lane < lanes; ++lane) {
            if (!ready)
                continue;
            const npy_intp c0 = lane * chunks / lanes, c1 = (lane + 1) * chunks / lanes;
            TYPE* acc = direction != 1 ? NULL : (partial ? partial + lane * F * K : out);
            for (npy_intp c = c0; c < c1; ++c) {
                const npy_intp n0 = c * B, nb = (N - n0 < B) ? N - n0 : B;
                if (gx_conv_chunk_TYPE(direction, pooled, first_only, x, w, bias, gy, mask, out,
                                       acc, n0, nb, C, H, W, F, kh, kw, ph, pw, col, buf, plan,
                                       xs, planes, base, yi)) {
                    #pragma omp atomic write
                    failed = 4;
                }
            }
        }
        free(col);
        free(buf);
        free(xs);
        free(planes);
        free(base);
        free(yi);
    }
    free(wp);
    free(rowsum);
    free(taps);
    gx_blas_threads_end(saved_blas_threads);
    if (!failed && partial) {
        #pragma omp parallel for schedule(dynamic, 4096)
        for (npy_intp e = 0; e < F * K; ++e) {
            TYPE s = partial[e];
            for (npy_intp lane = 1; lane < lanes; ++lane)
                s += partial[lane * F * K + e];
            out[e] = s;
        }
    }
    free(partial);
    return failed;
}
