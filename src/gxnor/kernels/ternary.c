/* ---- exact integer products of ternary operands ----
   When both operands of a forward product hold only -1, 0 and +1 (every layer after the
   first: ternary activations times ternary weights), every product is -1, 0 or +1 and
   every sum an integer far below 2^24. The float32 gemm then computes exact integers, in
   any order, and so does an integer kernel: the results are the same bits (an integer
   sum s converts to the float the gemm held, and zero converts to +0, as the gemm's
   sums of signed zeros give). The kernels below compute such products in 8-bit
   operands with 16- or 32-bit sums.

   Layout. The product sums, for each output position q and filter f, over taps t (the
   filter's kh x kw offsets; one tap for a dense layer) and channels c:
       s[q, f] = sum_t sum_c x[q + off(t), c] w[t, c, f].
   The input is stored with its channels last, as bytes x' = x + 1 (0, 1, 2: the unsigned
   operand of the instructions), channels padded to Cp (a multiple of 4; the padding's
   weights are 0). The weights are stored as signed bytes, in groups of 4 channels:
   wp[((t Cp/4 + c4) Fp + f) 4 + e] = w[t, 4 c4 + e, f], filters padded to Fp (a multiple
   of 16, zero weights). Then
       sum x' w = s + rowsum[f],  rowsum[f] = sum_t sum_c w[t, c, f],
   and the caller subtracts rowsum. A block kernel takes R positions (a pointer to each
   position's tap 0) and G groups of filters, broadcasts 4 input bytes and multiplies them
   with 4 bytes of each filter of the group in one instruction:
   AVX-512 VNNI vpdpbusd (16 filters, 32-bit sums) or AVX2 vpmaddubsw (8 filters, 16-bit
   sums of at most 4 per group of 4 channels: exact for Cp x taps <= GX_TERNARY_MAX_K,
   widened to 32 bits at the end). The portable kernel is plain C on the same layout. */

#include <immintrin.h>

enum { GX_INT_ERROR = -1, GX_INT_OFF = 0, GX_INT_PORTABLE = 1, GX_INT_AVX2 = 2,
       GX_INT_AVX512VNNI = 3 };

/* Channels x taps of one sum, at most: the AVX2 kernel's 16-bit sums stay exact. */
#define GX_TERNARY_MAX_K 32000

static int gx_cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

static int gx_cpu_has_avx512vnni(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512vnni");
}

/* The integer kernel to use, from GXNOR_INT_KERNEL: unset, empty or "auto" the best this
   CPU has; "off" none (the float path); "portable", "avx2", "avx512vnni" that one.
   GX_INT_ERROR for another name or a kernel this CPU lacks. */
static int gx_int_kernel(void)
{
    const char* name = getenv("GXNOR_INT_KERNEL");
    if (!name || !*name || !strcmp(name, "auto"))
        return gx_cpu_has_avx512vnni() ? GX_INT_AVX512VNNI
               : gx_cpu_has_avx2() ? GX_INT_AVX2 : GX_INT_PORTABLE;
    if (!strcmp(name, "off"))
        return GX_INT_OFF;
    if (!strcmp(name, "portable"))
        return GX_INT_PORTABLE;
    if (!strcmp(name, "avx2"))
        return gx_cpu_has_avx2() ? GX_INT_AVX2 : GX_INT_ERROR;
    if (!strcmp(name, "avx512vnni"))
        return gx_cpu_has_avx512vnni() ? GX_INT_AVX512VNNI : GX_INT_ERROR;
    return GX_INT_ERROR;
}

/* GXNOR_INT_STRICT=1: where the filters are ternary, an input that is not is an error
   instead of taking the float path (to check that a net's products take the integer
   path). */
static int gx_int_strict(void)
{
    const char* value = getenv("GXNOR_INT_STRICT");
    return value && !strcmp(value, "1");
}

static inline npy_int32 gx_load4(const npy_uint8* p)
{
    npy_int32 v;
    memcpy(&v, p, 4);
    return v;
}

/* The block kernels keep their accumulators in named registers (GCC spills arrays of
   vectors to the stack on every step). A block is R positions (6 or 1 for VNNI, 4 or 1
   for AVX2) by one group of filters (64 for VNNI: 4 zmm; 16 for AVX2: 2 ymm): R G
   accumulators, G weights and a broadcast stay within the register file. */

/* ---- AVX-512 VNNI: 16 filters per register, 32-bit sums ---- */
#define GX_VNNI_STEP(r) { \
    const __m512i xb = _mm512_set1_epi32(gx_load4(x##r + off + 4 * c4)); \
    a##r##0 = _mm512_dpbusd_epi32(a##r##0, xb, w0); \
    a##r##1 = _mm512_dpbusd_epi32(a##r##1, xb, w1); \
    a##r##2 = _mm512_dpbusd_epi32(a##r##2, xb, w2); \
    a##r##3 = _mm512_dpbusd_epi32(a##r##3, xb, w3); }
#define GX_VNNI_ZERO(r) __m512i a##r##0 = _mm512_setzero_si512(), a##r##1 = a##r##0, \
    a##r##2 = a##r##0, a##r##3 = a##r##0;
#define GX_VNNI_STORE(r) { npy_int32* yr = y + r * ldy + f0; \
    _mm512_storeu_si512((void*)yr, a##r##0); _mm512_storeu_si512((void*)(yr + 16), a##r##1); \
    _mm512_storeu_si512((void*)(yr + 32), a##r##2); \
    _mm512_storeu_si512((void*)(yr + 48), a##r##3); }
#define GX_VNNI_LOOP(STEPS) \
    for (int t = 0; t < ntaps; ++t) { \
        const npy_int8* wt = wp + ((npy_intp)t * c4n * fp + f0) * 4; \
        const npy_intp off = taps[t]; \
        for (int c4 = 0; c4 < c4n; ++c4) { \
            const npy_int8* wc = wt + c4 * fp * 4; \
            const __m512i w0 = _mm512_loadu_si512((const void*)wc); \
            const __m512i w1 = _mm512_loadu_si512((const void*)(wc + 64)); \
            const __m512i w2 = _mm512_loadu_si512((const void*)(wc + 128)); \
            const __m512i w3 = _mm512_loadu_si512((const void*)(wc + 192)); \
            STEPS \
        } \
    }

/* 6 positions x 64 filters from f0. */
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void gx_ternary_block6_vnni(const npy_uint8* const* xr, const npy_intp* taps, int ntaps,
                                   int c4n, const npy_int8* wp, npy_intp fp, npy_intp f0,
                                   npy_int32* y, npy_intp ldy)
{
    const npy_uint8 *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3], *x4 = xr[4],
                    *x5 = xr[5];
    GX_VNNI_ZERO(0) GX_VNNI_ZERO(1) GX_VNNI_ZERO(2) GX_VNNI_ZERO(3) GX_VNNI_ZERO(4)
    GX_VNNI_ZERO(5)
    GX_VNNI_LOOP(GX_VNNI_STEP(0) GX_VNNI_STEP(1) GX_VNNI_STEP(2) GX_VNNI_STEP(3)
                 GX_VNNI_STEP(4) GX_VNNI_STEP(5))
    GX_VNNI_STORE(0) GX_VNNI_STORE(1) GX_VNNI_STORE(2) GX_VNNI_STORE(3) GX_VNNI_STORE(4)
    GX_VNNI_STORE(5)
}

/* 1 position x 64 filters from f0. */
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void gx_ternary_block1_vnni(const npy_uint8* const* xr, const npy_intp* taps, int ntaps,
                                   int c4n, const npy_int8* wp, npy_intp fp, npy_intp f0,
                                   npy_int32* y, npy_intp ldy)
{
    const npy_uint8* x0 = xr[0];
    GX_VNNI_ZERO(0)
    GX_VNNI_LOOP(GX_VNNI_STEP(0))
    GX_VNNI_STORE(0)
}

/* ---- AVX2: 8 filters per register, 16-bit sums widened at the end ---- */
#define GX_AVX2_STEP(r) { \
    const __m256i xb = _mm256_set1_epi32(gx_load4(x##r + off + 4 * c4)); \
    a##r##0 = _mm256_add_epi16(a##r##0, _mm256_maddubs_epi16(xb, w0)); \
    a##r##1 = _mm256_add_epi16(a##r##1, _mm256_maddubs_epi16(xb, w1)); }
#define GX_AVX2_ZERO(r) __m256i a##r##0 = _mm256_setzero_si256(), a##r##1 = a##r##0;
#define GX_AVX2_STORE(r) { npy_int32* yr = y + r * ldy + f0; \
    _mm256_storeu_si256((__m256i*)yr, _mm256_madd_epi16(a##r##0, ones)); \
    _mm256_storeu_si256((__m256i*)(yr + 8), _mm256_madd_epi16(a##r##1, ones)); }
#define GX_AVX2_LOOP(STEPS) \
    for (int t = 0; t < ntaps; ++t) { \
        const npy_int8* wt = wp + ((npy_intp)t * c4n * fp + f0) * 4; \
        const npy_intp off = taps[t]; \
        for (int c4 = 0; c4 < c4n; ++c4) { \
            const npy_int8* wc = wt + c4 * fp * 4; \
            const __m256i w0 = _mm256_loadu_si256((const __m256i*)wc); \
            const __m256i w1 = _mm256_loadu_si256((const __m256i*)(wc + 32)); \
            STEPS \
        } \
    }

/* 4 positions x 16 filters from f0. */
__attribute__((target("avx2")))
static void gx_ternary_block4_avx2(const npy_uint8* const* xr, const npy_intp* taps, int ntaps,
                                   int c4n, const npy_int8* wp, npy_intp fp, npy_intp f0,
                                   npy_int32* y, npy_intp ldy)
{
    const npy_uint8 *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3];
    const __m256i ones = _mm256_set1_epi16(1);
    GX_AVX2_ZERO(0) GX_AVX2_ZERO(1) GX_AVX2_ZERO(2) GX_AVX2_ZERO(3)
    GX_AVX2_LOOP(GX_AVX2_STEP(0) GX_AVX2_STEP(1) GX_AVX2_STEP(2) GX_AVX2_STEP(3))
    GX_AVX2_STORE(0) GX_AVX2_STORE(1) GX_AVX2_STORE(2) GX_AVX2_STORE(3)
}

/* 1 position x 16 filters from f0. */
__attribute__((target("avx2")))
static void gx_ternary_block1_avx2(const npy_uint8* const* xr, const npy_intp* taps, int ntaps,
                                   int c4n, const npy_int8* wp, npy_intp fp, npy_intp f0,
                                   npy_int32* y, npy_intp ldy)
{
    const npy_uint8* x0 = xr[0];
    const __m256i ones = _mm256_set1_epi16(1);
    GX_AVX2_ZERO(0)
    GX_AVX2_LOOP(GX_AVX2_STEP(0))
    GX_AVX2_STORE(0)
}

/* ---- portable: the same sums in plain C ---- */
static void gx_ternary_row_portable(const npy_uint8* x0, const npy_intp* taps, int ntaps,
                                    int c4n, const npy_int8* wp, npy_intp fp, npy_int32* y)
{
    for (npy_intp f = 0; f < fp; ++f) {
        npy_int32 s = 0;
        for (int t = 0; t < ntaps; ++t) {
            const npy_uint8* x = x0 + taps[t];
            const npy_int8* w = wp + ((npy_intp)t * c4n * fp + f) * 4;
            for (int c4 = 0; c4 < c4n; ++c4)
                for (int e = 0; e < 4; ++e)
                    s += (npy_int32)x[4 * c4 + e] * (npy_int32)w[c4 * fp * 4 + e];
        }
        y[f] = s;
    }
}

/* Filters per block of each kernel (the padding of the filters: a multiple of it). */
static npy_intp gx_ternary_fpad(int kernel, npy_intp F)
{
    const npy_intp group = kernel == GX_INT_AVX512VNNI ? 64 : 16;
    return (F + group - 1) / group * group;
}

typedef void (*gx_ternary_block)(const npy_uint8* const*, const npy_intp*, int, int,
                                 const npy_int8*, npy_intp, npy_intp, npy_int32*, npy_intp);

/* y[q, 0:fp] = sum x' w for the Q positions whose tap-0 bytes start at xs + base[q],
   with the kernel `kernel` (not GX_INT_OFF / GX_INT_ERROR); fp = gx_ternary_fpad(kernel, F).
   Rows of y are fp apart. */
static void gx_ternary_product(int kernel, const npy_uint8* xs, const npy_intp* base,
                               npy_intp Q, const npy_intp* taps, int ntaps, int c4n,
                               const npy_int8* wp, npy_intp fp, npy_int32* y)
{
    const npy_uint8* xr[6];
    const int vnni = kernel == GX_INT_AVX512VNNI;
    const int R = kernel == GX_INT_PORTABLE ? 1 : vnni ? 6 : 4;
    const npy_intp group = vnni ? 64 : 16;
    const gx_ternary_block wide = vnni ? gx_ternary_block6_vnni : gx_ternary_block4_avx2;
    const gx_ternary_block narrow = vnni ? gx_ternary_block1_vnni : gx_ternary_block1_avx2;
    npy_intp q0 = 0;
    for (; q0 + R <= Q && R > 1; q0 += R) {
        for (int r = 0; r < R; ++r)
            xr[r] = xs + base[q0 + r];
        for (npy_intp f0 = 0; f0 < fp; f0 += group)
            wide(xr, taps, ntaps, c4n, wp, fp, f0, y + q0 * fp, fp);
    }
    for (; q0 < Q; ++q0) {
        xr[0] = xs + base[q0];
        if (kernel == GX_INT_PORTABLE)
            gx_ternary_row_portable(xr[0], taps, ntaps, c4n, wp, fp, y + q0 * fp);
        else
            for (npy_intp f0 = 0; f0 < fp; f0 += group)
                narrow(xr, taps, ntaps, c4n, wp, fp, f0, y + q0 * fp, fp);
    }
}

/* What a convolution's forward pass needs to take the integer path: the kernel, the
   packed filters (gx_ternary_weights_*), and the taps' offsets in the bytes of an image
   (channels last, padded to cp; a row holds Wp positions). */
typedef struct {
    int kernel;
    npy_intp cp, fp;
    const npy_int8* wp;
    const npy_int32* rowsum;
    const npy_intp* taps;
    int ntaps;
    int strict;   /* an input that is not ternary is an error (GXNOR_INT_STRICT=1) */
} gx_ternary_plan;
