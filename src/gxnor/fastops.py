"""Faster CPU kernels for the GXNOR nets, with exactly the math of the Theano ops they replace.

Theano 0.8.2's CPU pooling, reductions and convolutions are generic and mostly
single-threaded; the released MNIST net spends most of a training step in them
(batch 10000: the first conv output alone is 10000 x 32 x 24 x 24 floats). These C ops
do the same arithmetic with simpler loops, OpenMP threads and bigger BLAS calls:

* :func:`max_pool_2x2` -- 2x2 max pooling, stride 2, borders dropped (Lasagne's
  ``MaxPool2DLayer(pool_size=2)``). Forward and gradient are bit-identical to Theano's
  ``Pool``/``MaxPoolGrad``: the gradient of a window goes to EVERY element equal to the
  window's maximum. Ties are the rule here (integer-valued conv outputs).
* :class:`ChannelSum` -- the sum over every axis but 1 with float64 accumulation, what
  ``x.sum(axis=(0, 2, 3))`` of a float32 tensor computes (Theano's default ``acc_dtype``
  for float32 is float64). A graph optimisation (:func:`local_channel_sum`, tag
  ``gxnor_channel_sum``) puts it in place of every such ``Sum`` (any number of dims), so
  the batch-norm statistics and the bias/batch-norm gradients all use it. Only the order
  of the float64 additions changes, to one fixed by the shape.
* :func:`conv2d` -- ``T.nnet.conv2d`` (true convolution, filters flipped) for
  ``border_mode='valid'`` and stride 1, as im2col over a chunk of images and one BLAS
  gemm per chunk (Theano's ``CorrMM`` does one small gemm per image and a slow im2col).
  Gradients with respect to the inputs and the filters use the same scheme. Results equal
  ``CorrMM``'s up to the order of the float32 additions inside the gemms (and are exact
  when the operands are integer-valued with sums below 2^24, as ternary ones are).
* :class:`ConvPool2x2` -- convolution + tied bias + 2x2 max pooling in one pass, which
  never writes the full-size conv output: each chunk's conv output is pooled while in
  cache, and a uint8 mask of the window elements equal to the maximum (the ties Theano's
  ``MaxPoolGrad`` gives the gradient to) replaces it in the backward pass.
  ``layers.MaxPool2x2Layer`` uses it when its input is such a conv layer.

OpenMP: the pooling and convolution ops use threads when Theano's ``openmp`` flag is on
(``THEANO_FLAGS=openmp=True``, which gxnor.tuning sets; the thread count is
``OMP_NUM_THREADS``); each thread runs whole chunks. BLAS is always called with one
thread inside these ops (OpenBLAS's own split among threads changes the last bits), so
results depend neither on the number of threads nor on the openmp flag.
"""
from __future__ import absolute_import, division, print_function

import hashlib
import os

import theano
import theano.tensor as T
from theano import Apply
from theano.gof import OpenMPOp, local_optimizer
from theano.tensor.blas import ldflags
from theano.tensor.elemwise import Sum
from theano.tensor.blas_headers import blas_header_text
from theano.tensor.opt import register_specialize

from .settings import KERNEL, KERNELS, POOL_GRAD, POOL_GRAD_RULES, check_choice

__all__ = ['MaxPool2x2', 'MaxPool2x2Grad', 'max_pool_2x2', 'ChannelSum', 'channel_sum',
           'local_channel_sum', 'Corr2dValid', 'Corr2dValidGradWeights',
           'Corr2dValidGradInputs', 'ConvPool2x2', 'ConvPool2x2GradWeights',
           'ConvPool2x2GradInputs', 'conv2d', 'corr2d_valid', 'conv_pool_2x2', 'fuse_bias_pool',
           'POOL_GRAD_RULES', 'KERNELS', 'check_pool_grad', 'check_kernels', 'compile_mode',
           'MultiStep', 'multi_step']

# Floats per im2col buffer (a chunk of whole images, at least one): big enough for an
# efficient gemm, small enough for a core's L2 cache (1 MB; measured best of 64K..4M on
# the MNIST net: 1M floats ~15% slower per epoch, 4M ~25%).
DEFAULT_CHUNK_FLOATS = 1 << 18


_C_TYPES = {'float32': 'float', 'float64': 'double'}


# ----------------------------------------------------------------------------- C code

_COMMON_C = r"""
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
"""

# Kernels written once for TYPE (float/double); GEMM is sgemm_/dgemm_.
_TYPED_C = r"""
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

/* ---- the multi-step activation phi_r, forward: the expression of
   gxnor.discretization.multi_step, operation for operation in TYPE:
   above = |x| - r; above >= 0 ? sgn(x) * minimum(1, d (floor(above / d) + 1)) : 0.
   d is a power of two, so dividing by it (here: multiplying by 1/d) and multiplying
   by it are exact, and the result is fixed by above. Theano's sgn and minimum send NaN
   to NaN, but a NaN x (the only source of a NaN above) fails above >= 0 and gives 0
   there as here, so the selects below need no NaN branches: the loop vectorises. */
static void gx_multi_step_TYPE(const TYPE* x, TYPE* z, npy_intp n, TYPE r, TYPE d)
{
    const TYPE inv_d = (TYPE)1 / d, one = 1, zero = 0;
    #pragma omp parallel for schedule(static) if (n >= GX_PARALLEL_FLOATS)
    for (npy_intp k = 0; k < n; ++k) {
        const TYPE v = x[k];
        const TYPE above = GX_FABS_TYPE(v) - r;
        const TYPE level = d * (GX_FLOOR_TYPE(above * inv_d) + one);
        const TYPE capped = level < one ? level : one;
        const TYPE sign = v > zero ? one : (v < zero ? -one : zero);
        z[k] = above >= zero ? sign * capped : zero;
    }
}

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

/* One chunk of nb images starting at image n0 (see gx_conv_TYPE); acc receives the
   filter gradient of the chunk (direction 1, added to it). */
static void gx_conv_chunk_TYPE(int direction, int pooled, int first_only, const TYPE* x,
                               const TYPE* w,
                               const TYPE* bias, const TYPE* gy, npy_uint8* mask, TYPE* out,
                               TYPE* acc, npy_intp n0, npy_intp nb, npy_intp C, npy_intp H,
                               npy_intp W, npy_intp F, npy_intp kh, npy_intp kw, npy_intp ph,
                               npy_intp pw, TYPE* col, TYPE* buf)
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
        gx_im2col_TYPE(x + n0 * C * H * W, col, nb, C, H, W, kh, kw, ph, pw);
        gx_gemm_TYPE('N', 'N', (int)F, ld, (int)K, 1, w, (int)K, col, ld, 0, buf, ld);
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
}

/* The chunked im2col + gemm driver.
   direction 0: forward; 1: gradient of the filters (and of the bias when pooled);
   2: gradient of the input. pooled = 0: plain correlation, gy is dL/dy (N, F, oh, ow)
   and out is y / gw / gx. pooled = 1: conv + bias + pool, gy is dL/dz (N, F, oh/2, ow/2)
   with the forward mask; forward writes out = z and mask, direction 1 also gb.
   Chunks are fixed by `target` alone. With OpenMP, threads take whole chunks and call a
   single-threaded BLAS; the filter gradient is summed per lane (a number of groups of
   consecutive chunks fixed by the shapes) and the lanes are added in order, so the
   result does not depend on the number of threads. Runs without the GIL: returns 0, 1 (out of memory) or 2
   (a chunk too large for BLAS's int sizes). */
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
        if (!col || !buf) {
            #pragma omp atomic write
            failed = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (npy_intp lane = 0; lane < lanes; ++lane) {
            if (!col || !buf)
                continue;
            const npy_intp c0 = lane * chunks / lanes, c1 = (lane + 1) * chunks / lanes;
            TYPE* acc = direction != 1 ? NULL : (partial ? partial + lane * F * K : out);
            for (npy_intp c = c0; c < c1; ++c) {
                const npy_intp n0 = c * B, nb = (N - n0 < B) ? N - n0 : B;
                gx_conv_chunk_TYPE(direction, pooled, first_only, x, w, bias, gy, mask, out, acc,
                                   n0, nb, C, H, W, F, kh, kw, ph, pw, col, buf);
            }
        }
        free(col);
        free(buf);
    }
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
"""


def _typed_support_code():
    parts = [_COMMON_C]
    for ctype, gemm in (('float', 'sgemm_'), ('double', 'dgemm_')):
        parts.append(_TYPED_C.replace('TYPE', ctype).replace('GEMM', gemm))
    return '\n'.join(parts)


def _source_version():
    """A hash of this file (C code and the Python that writes C): Theano's module cache
    key, so that any edit recompiles the ops."""
    try:
        with open(os.path.splitext(os.path.abspath(__file__))[0] + '.py', 'rb') as handle:
            return hashlib.md5(handle.read()).hexdigest()
    except (IOError, OSError):
        return hashlib.md5(_SUPPORT_C.encode('utf-8')).hexdigest()


_SUPPORT_C = _typed_support_code()
_SOURCE_VERSION = _source_version()


class _FastOp(OpenMPOp):
    """Common plumbing: OpenMP per Theano's flag, the support code, BLAS linkage."""

    __props__ = ('openmp',)
    c_code_version = 3   # raise when the generated code changes in a way the hash misses

    def __init__(self, openmp=None):
        super(_FastOp, self).__init__(openmp=openmp)

    def c_support_code(self):
        return blas_header_text() + _SUPPORT_C

    def c_headers(self):
        return super(_FastOp, self).c_headers() + ['<string.h>', '<stdlib.h>']

    def c_libraries(self):
        return ldflags()

    def c_compile_args(self):
        return super(_FastOp, self).c_compile_args() + ldflags(libs=False, flags=True)

    def c_lib_dirs(self):
        return ldflags(libs=False, libs_dir=True)

    def c_header_dirs(self):
        return ldflags(libs=False, include_dir=True)

    def c_code_cache_version(self):
        return (1, _SOURCE_VERSION, self.c_code_version)

    def perform(self, node, inputs, outputs):
        raise NotImplementedError("%s has C code only (needs a C compiler and BLAS)"
                                  % type(self).__name__)


def _float_tensor(x, ndim, what):
    x = T.as_tensor_variable(x)
    if x.ndim != ndim:
        raise TypeError("%s must be a %d-d tensor, got %d-d" % (what, ndim, x.ndim))
    if x.dtype not in _C_TYPES:
        raise TypeError("%s must be float32 or float64, got %s" % (what, x.dtype))
    return x


# ----------------------------------------------------------------------------- pooling

def check_pool_grad(pool_grad):
    """Raise ValueError unless ``pool_grad`` names a tie rule of the max-pool gradient
    (gxnor.settings: 'one', the default, or 'all')."""
    check_choice('pool_grad', pool_grad)


class _PoolOp(_FastOp):
    """A pooling op with a tie rule for its gradient (``pool_grad``, see the module doc)."""

    __props__ = ('openmp', 'pool_grad')

    def __init__(self, openmp=None, pool_grad=POOL_GRAD):
        super(_PoolOp, self).__init__(openmp=openmp)
        check_pool_grad(pool_grad)
        self.pool_grad = pool_grad


class MaxPool2x2(_PoolOp):
    """2x2 max pooling with stride 2 over the last two axes of a 4-d tensor.

    Odd trailing rows/columns are dropped (``ignore_border=True``), as in Lasagne's
    ``MaxPool2DLayer(pool_size=2)``. The forward pass is the same for both tie rules.
    """

    def make_node(self, x):
        x = _float_tensor(x, 4, 'MaxPool2x2 input')
        return Apply(self, [x], [x.type()])

    def infer_shape(self, node, shapes):
        n, c, h, w = shapes[0]
        return [(n, c, h // 2, w // 2)]

    def grad(self, inputs, output_grads):
        return [MaxPool2x2Grad(self.openmp, self.pool_grad)(inputs[0], output_grads[0])]

    def c_code(self, node, name, inputs, outputs, sub):
        x, = inputs
        z, = outputs
        ctype = _C_TYPES[node.inputs[0].dtype]
        return """
        {
            PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
            if (!xc) { %(fail)s }
            const npy_intp* d = PyArray_DIMS(xc);
            npy_intp dims[4] = {d[0], d[1], d[2] / 2, d[3] / 2};
            if (gx_prepare_output(&%(z)s, 4, dims, PyArray_TYPE(xc))) {
                Py_DECREF(xc);
                %(fail)s
            }
            gx_pool_fwd_%(ctype)s((const %(ctype)s*)PyArray_DATA(xc),
                                  (%(ctype)s*)PyArray_DATA(%(z)s), d[0] * d[1], d[2], d[3]);
            Py_DECREF(xc);
        }
        """ % dict(x=x, z=z, ctype=ctype, fail=sub['fail'])


class MaxPool2x2Grad(_PoolOp):
    """Gradient of :class:`MaxPool2x2` from its input ``x`` and the output gradient.

    Recomputes each window's maximum from ``x`` (bitwise the forward output) and gives
    the window's gradient to every element equal to it (``pool_grad='all'``, as Theano's
    ``MaxPoolGrad``) or to the first of them in row-major order (``'one'``), zero
    elsewhere.
    """

    def make_node(self, x, gz):
        x = _float_tensor(x, 4, 'MaxPool2x2Grad input')
        gz = _float_tensor(gz, 4, 'MaxPool2x2Grad output gradient')
        if gz.dtype != x.dtype:
            raise TypeError("MaxPool2x2Grad: dtypes differ (%s, %s)" % (x.dtype, gz.dtype))
        return Apply(self, [x, gz], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def c_code(self, node, name, inputs, outputs, sub):
        x, gz = inputs
        gx, = outputs
        ctype = _C_TYPES[node.inputs[0].dtype]
        return """
        {
            PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
            if (!xc) { %(fail)s }
            PyArrayObject* gc = PyArray_GETCONTIGUOUS(%(gz)s);
            if (!gc) { Py_DECREF(xc); %(fail)s }
            const npy_intp* d = PyArray_DIMS(xc);
            const npy_intp* g = PyArray_DIMS(gc);
            int bad = g[0] != d[0] || g[1] != d[1] || g[2] != d[2] / 2 || g[3] != d[3] / 2;
            if (bad)
                PyErr_SetString(PyExc_ValueError, "MaxPool2x2Grad: gradient shape mismatch");
            if (bad || gx_prepare_output(&%(gx)s, 4, d, PyArray_TYPE(xc))) {
                Py_DECREF(xc); Py_DECREF(gc);
                %(fail)s
            }
            gx_pool_bwd_%(ctype)s((const %(ctype)s*)PyArray_DATA(xc),
                                  (const %(ctype)s*)PyArray_DATA(gc),
                                  (%(ctype)s*)PyArray_DATA(%(gx)s), d[0] * d[1], d[2], d[3],
                                  %(first)d);
            Py_DECREF(xc); Py_DECREF(gc);
        }
        """ % dict(x=x, gz=gz, gx=gx, ctype=ctype, fail=sub['fail'],
                   first=int(self.pool_grad == 'one'))


def max_pool_2x2(x, pool_grad=POOL_GRAD):
    """2x2/stride-2 max pooling of a 4-d tensor (see :class:`MaxPool2x2`)."""
    return MaxPool2x2(pool_grad=pool_grad)(x)


# ------------------------------------------------------------------------ channel sums

class ChannelSum(_FastOp):
    """``x.sum(axis=all but 1, acc_dtype='float64')`` in x's dtype, for x of 2 or more dims.

    Accumulates in double, in an order fixed by the shape alone (independent of the
    number of threads): partial sums over blocks of 64 images, added in order.
    """

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        if x.ndim < 2 or x.dtype not in _C_TYPES:
            raise TypeError("ChannelSum needs a float32/float64 tensor of >= 2 dims")
        return Apply(self, [x], [T.TensorType(x.dtype, (x.broadcastable[1],))()])

    def infer_shape(self, node, shapes):
        return [(shapes[0][1],)]

    def grad(self, inputs, output_grads):
        x, = inputs
        pattern = ['x'] * x.ndim
        pattern[1] = 0
        return [T.zeros_like(x) + output_grads[0].dimshuffle(pattern)]

    def c_code(self, node, name, inputs, outputs, sub):
        x, = inputs
        z, = outputs
        ctype = _C_TYPES[node.inputs[0].dtype]
        return """
        {
            PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
            if (!xc) { %(fail)s }
            const int nd = PyArray_NDIM(xc);
            const npy_intp* d = PyArray_DIMS(xc);
            npy_intp rest = 1;
            for (int k = 2; k < nd; ++k) rest *= d[k];
            npy_intp dims[1] = {d[1]};
            if (gx_prepare_output(&%(z)s, 1, dims, PyArray_TYPE(xc))) {
                Py_DECREF(xc);
                %(fail)s
            }
            int err = gx_channel_sum_%(ctype)s((const %(ctype)s*)PyArray_DATA(xc),
                                               (%(ctype)s*)PyArray_DATA(%(z)s), d[0], d[1], rest);
            Py_DECREF(xc);
            if (err) { %(fail)s }
        }
        """ % dict(x=x, z=z, ctype=ctype, fail=sub['fail'])


def channel_sum(x):
    """Sum over every axis but 1, accumulated in float64 (see :class:`ChannelSum`)."""
    return ChannelSum()(x)


@register_specialize('gxnor_channel_sum')
@local_optimizer([Sum])
def local_channel_sum(node):
    """``Sum{axis=all but 1, acc_dtype=float64}`` of a float tensor -> ChannelSum.

    Exclude with ``THEANO_FLAGS=optimizer_excluding=gxnor_channel_sum``.
    """
    op = node.op
    if type(op) is not Sum:
        return False
    x = node.inputs[0]
    out = node.outputs[0]
    if x.ndim < 2 or x.dtype not in _C_TYPES or out.dtype != x.dtype:
        return False
    if op.acc_dtype != 'float64' or sorted(op.axis or ()) != [0] + list(range(2, x.ndim)):
        return False
    return [ChannelSum()(x)]


# ------------------------------------------------------------------------ activation

class MultiStep(_FastOp):
    """Forward value of the multi-step activation phi_r (:func:`gxnor.discretization.multi_step`)
    in one pass, bit for bit: the same float operations on each element, and only those
    whose results are exact but for ``|x| - r`` (one rounding, as in Theano; ``r`` enters
    as a float32, as ``floatX`` makes it there). Theano's
    version is two or three elementwise passes with branches on random data (the
    activation of a conv layer was the most expensive elementwise op of a train step).
    Its gradient is zero, as that of the Theano expression (floor, sign and switch); the
    layers take theirs from :class:`gxnor.discretization.PulseGradient`.
    """

    __props__ = ('openmp', 'r', 'N')

    def __init__(self, r=1.0, N=1, openmp=None):
        super(MultiStep, self).__init__(openmp=openmp)
        self.r = float(r)
        self.N = int(N)
        if self.N < 1:
            raise ValueError("MultiStep needs N >= 1, got %r" % (N,))

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        if x.dtype not in _C_TYPES:
            raise TypeError("MultiStep needs a float32/float64 tensor, got %s" % x.dtype)
        return Apply(self, [x], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def grad(self, inputs, output_grads):
        return [T.zeros_like(inputs[0])]

    def c_compile_args(self):
        # lets g++ vectorise the loop (floor and the selects); it changes no result: no
        # operation is reordered or contracted, only traps are assumed not to happen
        return super(MultiStep, self).c_compile_args() + ['-fno-trapping-math']

    def c_code(self, node, name, inputs, outputs, sub):
        x, = inputs
        z, = outputs
        ctype = _C_TYPES[node.inputs[0].dtype]
        return """
        {
            PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
            if (!xc) { %(fail)s }
            if (gx_prepare_output(&%(z)s, PyArray_NDIM(xc), PyArray_DIMS(xc), PyArray_TYPE(xc))) {
                Py_DECREF(xc);
                %(fail)s
            }
            const %(ctype)s* src = (const %(ctype)s*)PyArray_DATA(xc);
            %(ctype)s* dst = (%(ctype)s*)PyArray_DATA(%(z)s);
            const npy_intp n = PyArray_SIZE(xc);
            Py_BEGIN_ALLOW_THREADS
            gx_multi_step_%(ctype)s(src, dst, n, (%(ctype)s)(float)%(r)r, (%(ctype)s)%(d)r);
            Py_END_ALLOW_THREADS
            Py_DECREF(xc);
        }
        """ % dict(x=x, z=z, ctype=ctype, fail=sub['fail'], r=self.r,
                   d=1.0 / 2 ** (self.N - 1))


def multi_step(x, r=1.0, N=1):
    """phi_r(x) by :class:`MultiStep` (the value of gxnor.discretization.multi_step)."""
    return MultiStep(r, N)(x)


# ------------------------------------------------------------------------ convolution

class _ConvBase(_FastOp):
    """Valid correlation with stride 1 by chunked im2col + gemm (see module docstring).

    Every op of the family takes the input ``x`` and the (correlation) filters ``w``
    first, the gradient ops only for their shapes.
    """

    __props__ = ('openmp', 'chunk_floats', 'pool_grad', 'pad')
    direction = None   # 0 forward, 1 filter (and bias) gradient, 2 input gradient
    pooled = False     # True: conv + bias + 2x2 max pool
    roles = ()         # names of the inputs, among x, w, b, gy, mask

    def __init__(self, openmp=None, chunk_floats=DEFAULT_CHUNK_FLOATS, pool_grad=POOL_GRAD,
                 pad=(0, 0)):
        super(_ConvBase, self).__init__(openmp=openmp)
        check_pool_grad(pool_grad)
        self.chunk_floats = int(chunk_floats)
        self.pool_grad = pool_grad   # used by ConvPool2x2's forward mask only
        pad = tuple(int(p) for p in pad)
        if len(pad) != 2 or min(pad) < 0:
            raise ValueError("pad must be two non-negative integers, got %r" % (pad,))
        self.pad = pad               # zeros around each image (rows, columns)

    def _kwargs(self):
        return dict(openmp=self.openmp, chunk_floats=self.chunk_floats,
                    pool_grad=self.pool_grad, pad=self.pad)

    def _check_inputs(self, *inputs):
        x = _float_tensor(inputs[0], 4, '%s input' % type(self).__name__)
        checked = [x]
        for role, var in zip(self.roles[1:], inputs[1:]):
            if role == 'mask':
                var = T.as_tensor_variable(var)
                if var.ndim != 4 or var.dtype != 'uint8':
                    raise TypeError("%s: the mask must be a 4-d uint8 tensor"
                                    % type(self).__name__)
            else:
                ndim = 1 if role == 'b' else 4
                var = _float_tensor(var, ndim, '%s %s' % (type(self).__name__, role))
                if var.dtype != x.dtype:
                    raise TypeError("%s: dtypes differ (%s, %s)"
                                    % (type(self).__name__, x.dtype, var.dtype))
            checked.append(var)
        return checked

    def c_code(self, node, name, inputs, outputs, sub):
        ctype = _C_TYPES[node.inputs[0].dtype]
        local = dict(zip(self.roles, inputs))
        code = ['{',
                'PyArrayObject *x_c = NULL, *w_c = NULL, *b_c = NULL, *gy_c = NULL, '
                '*mask_c = NULL;',
                'int err = 0;']
        for role in self.roles:
            code.append('if (!err && !(%s_c = PyArray_GETCONTIGUOUS(%s))) err = 1;'
                        % (role, local[role]))
        code.append(r"""
        npy_intp N = 0, C = 0, H = 0, W = 0, F = 0, kh = 0, kw = 0, oh = 0, ow = 0;
        if (!err) {
            const npy_intp* xd = PyArray_DIMS(x_c);
            const npy_intp* wd = PyArray_DIMS(w_c);
            N = xd[0]; C = xd[1]; H = xd[2]; W = xd[3]; F = wd[0]; kh = wd[2]; kw = wd[3];
            oh = H + 2 * %(ph)d - kh + 1; ow = W + 2 * %(pw)d - kw + 1;
            if (wd[1] != C || kh < 1 || kw < 1 || oh < 1 || ow < 1) {
                PyErr_SetString(PyExc_ValueError, "%(op)s: the filters do not fit the input");
                err = 1;
            }
        }
        const npy_intp ph = %(pooled)d ? oh / 2 : oh, pw = %(pooled)d ? ow / 2 : ow;
        if (!err && b_c && PyArray_DIMS(b_c)[0] != F) {
            PyErr_SetString(PyExc_ValueError, "%(op)s: the bias does not match the filters");
            err = 1;
        }
        PyArrayObject* grads[2] = {gy_c, mask_c};
        for (int k = 0; k < 2 && !err; ++k) {
            if (!grads[k]) continue;
            const npy_intp* gd = PyArray_DIMS(grads[k]);
            if (gd[0] != N || gd[1] != F || gd[2] != ph || gd[3] != pw) {
                PyErr_SetString(PyExc_ValueError,
                                "%(op)s: the output gradient (or mask) has the wrong shape");
                err = 1;
            }
        }
        """ % dict(op=type(self).__name__, pooled=int(self.pooled), ph=self.pad[0],
                   pw=self.pad[1]))
        # Outputs: (variable, number of dims, dims, type number).
        typenum = 'PyArray_TYPE(x_c)'
        if self.direction == 0:
            outs = [(outputs[0], 4, '{N, F, ph, pw}', typenum)]
            if self.pooled:
                outs.append((outputs[1], 4, '{N, F, ph, pw}', 'NPY_UINT8'))
        elif self.direction == 1:
            outs = [(outputs[0], 4, '{F, C, kh, kw}', typenum)]
            if self.pooled:
                outs.append((outputs[1], 1, '{F, 0, 0, 0}', typenum))
        else:
            outs = [(outputs[0], 4, '{N, C, H, W}', typenum)]
        for index, (var, ndim, dims, tnum) in enumerate(outs):
            code.append('if (!err) { npy_intp dims%d[4] = %s; '
                        'err = gx_prepare_output(&%s, %d, dims%d, %s); }'
                        % (index, dims, var, ndim, index, tnum))

        def data(role, kind):
            if role not in self.roles:
                return 'NULL'
            return '(%s*)PyArray_DATA(%s_c)' % (kind, role)

        if self.direction == 0 and self.pooled:
            mask_ptr = '(npy_uint8*)PyArray_DATA(%s)' % outs[1][0]
        else:
            mask_ptr = data('mask', 'npy_uint8')
        if self.direction == 1 and self.pooled:
            gb_ptr = '(%s*)PyArray_DATA(%s)' % (ctype, outs[1][0])
        else:
            gb_ptr = 'NULL'
        const = 'const ' + ctype
        code.append(r"""
        if (!err) {
            Py_BEGIN_ALLOW_THREADS
            err = gx_conv_%(ctype)s(%(direction)d, %(pooled)d, %(first)d, %(x)s, %(w)s, %(b)s,
                                   %(gy)s,
                                   %(mask)s, (%(ctype)s*)PyArray_DATA(%(out)s), %(gb)s,
                                   N, C, H, W, F, kh, kw, %(ph)d, %(pw)d, %(chunk)d);
            Py_END_ALLOW_THREADS
            if (err == 1)
                PyErr_NoMemory();
            else if (err)
                PyErr_SetString(PyExc_ValueError,
                                "%(op)s: an im2col chunk is too large for BLAS int sizes");
        }
        Py_XDECREF(x_c); Py_XDECREF(w_c); Py_XDECREF(b_c); Py_XDECREF(gy_c); Py_XDECREF(mask_c);
        if (err) { %(fail)s }
        }""" % dict(ctype=ctype, direction=self.direction, pooled=int(self.pooled),
                    first=int(self.pool_grad == 'one'),
                    x=data('x', const), w=data('w', const), b=data('b', const),
                    gy=data('gy', const), mask=mask_ptr, out=outs[0][0], gb=gb_ptr,
                    op=type(self).__name__,
                    chunk=self.chunk_floats, fail=sub['fail'], ph=self.pad[0], pw=self.pad[1]))
        return '\n'.join(code)


def _conv_shape(x_shape, w_shape, pad=(0, 0)):
    (n, _, h, w), (f, _, kh, kw) = x_shape, w_shape
    return n, f, h + 2 * pad[0] - kh + 1, w + 2 * pad[1] - kw + 1


class Corr2dValid(_ConvBase):
    """``y[n, f] = sum_c corr_valid(x[n, c], w[f, c])`` (no filter flip), stride 1, of x
    with ``pad`` zeros around each image (read as zeros, never written: the same sums as
    an explicitly padded input, and the input gradient of the cropped border dropped)."""

    direction = 0
    roles = ('x', 'w')

    def make_node(self, x, w):
        x, w = self._check_inputs(x, w)
        out = T.TensorType(x.dtype, (x.broadcastable[0], w.broadcastable[0], False, False))
        return Apply(self, [x, w], [out()])

    def infer_shape(self, node, shapes):
        return [_conv_shape(shapes[0], shapes[1], self.pad)]

    def grad(self, inputs, output_grads):
        x, w = inputs
        gy, = output_grads
        gx = Corr2dValidGradInputs(**self._kwargs())(x, w, gy)
        gw = Corr2dValidGradWeights(**self._kwargs())(x, w, gy)
        return [T.patternbroadcast(gx, x.broadcastable), T.patternbroadcast(gw, w.broadcastable)]


class Corr2dValidGradWeights(_ConvBase):
    """Gradient of :class:`Corr2dValid` with respect to the filters: ``(x, w, dL/dy)``."""

    direction = 1
    roles = ('x', 'w', 'gy')

    def make_node(self, x, w, gy):
        x, w, gy = self._check_inputs(x, w, gy)
        return Apply(self, [x, w, gy], [w.type()])

    def infer_shape(self, node, shapes):
        return [shapes[1]]


class Corr2dValidGradInputs(_ConvBase):
    """Gradient of :class:`Corr2dValid` with respect to its input: ``(x, w, dL/dy)``."""

    direction = 2
    roles = ('x', 'w', 'gy')

    def make_node(self, x, w, gy):
        x, w, gy = self._check_inputs(x, w, gy)
        return Apply(self, [x, w, gy], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class ConvPool2x2(_ConvBase):
    """``z = max_pool_2x2(corr_valid(x, w) + b)`` and the pooling mask, in one pass.

    The same floating-point operations as the three ops in sequence (bias added in the
    input dtype, then the max), without writing the full-size conv output: ``z`` has the
    pooled shape and the uint8 ``mask`` marks, per window, every element equal to the
    maximum (bit ``2 a + c`` for the element in row ``a``, column ``c`` of the window;
    ``pool_grad='one'``: only the first such element in row-major order). Each marked
    element receives the window's gradient (``'all'``: as Theano's ``MaxPoolGrad``).
    """

    direction = 0
    pooled = True
    roles = ('x', 'w', 'b')

    def make_node(self, x, w, b):
        x, w, b = self._check_inputs(x, w, b)
        broadcastable = (x.broadcastable[0], w.broadcastable[0], False, False)
        return Apply(self, [x, w, b], [T.TensorType(x.dtype, broadcastable)(),
                                       T.TensorType('uint8', broadcastable)()])

    def infer_shape(self, node, shapes):
        n, f, oh, ow = _conv_shape(shapes[0], shapes[1], self.pad)
        pooled = (n, f, oh // 2, ow // 2)
        return [pooled, pooled]

    def connection_pattern(self, node):
        return [[True, False], [True, False], [True, False]]

    def grad(self, inputs, output_grads):
        x, w, b = inputs
        gz = output_grads[0]
        mask = self(x, w, b)[1]
        gw, gb = ConvPool2x2GradWeights(**self._kwargs())(x, w, gz, mask)
        gx = ConvPool2x2GradInputs(**self._kwargs())(x, w, gz, mask)
        return [T.patternbroadcast(gx, x.broadcastable), T.patternbroadcast(gw, w.broadcastable),
                T.patternbroadcast(gb, b.broadcastable)]


class ConvPool2x2GradWeights(_ConvBase):
    """Filter and bias gradients of :class:`ConvPool2x2` from ``(x, w, dL/dz, mask)``."""

    direction = 1
    pooled = True
    roles = ('x', 'w', 'gy', 'mask')

    def make_node(self, x, w, gz, mask):
        x, w, gz, mask = self._check_inputs(x, w, gz, mask)
        return Apply(self, [x, w, gz, mask], [w.type(), T.TensorType(x.dtype, (False,))()])

    def infer_shape(self, node, shapes):
        return [shapes[1], (shapes[1][0],)]


class ConvPool2x2GradInputs(_ConvBase):
    """Input gradient of :class:`ConvPool2x2` from ``(x, w, dL/dz, mask)``."""

    direction = 2
    pooled = True
    roles = ('x', 'w', 'gy', 'mask')

    def make_node(self, x, w, gz, mask):
        x, w, gz, mask = self._check_inputs(x, w, gz, mask)
        return Apply(self, [x, w, gz, mask], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]


def corr2d_valid(x, w, chunk_floats=DEFAULT_CHUNK_FLOATS, pad=(0, 0)):
    """Valid cross-correlation (filters not flipped), stride 1, of x zero-padded by ``pad``."""
    return Corr2dValid(chunk_floats=chunk_floats, pad=pad)(x, w)


def conv_pool_2x2(x, w, b, chunk_floats=DEFAULT_CHUNK_FLOATS, pool_grad=POOL_GRAD):
    """``max_pool_2x2(corr_valid(x, w) + b[None, :, None, None])`` as one ConvPool2x2."""
    return ConvPool2x2(chunk_floats=chunk_floats, pool_grad=pool_grad)(x, w, b)[0]


def fuse_bias_pool(y, pool_grad=POOL_GRAD):
    """``max_pool_2x2(y)`` as one :class:`ConvPool2x2` when ``y = Corr2dValid(x, w) + b``.

    ``b`` must enter as ``b.dimshuffle('x', 0, 'x', 'x')`` (a tied bias, as Lasagne's
    Conv2DLayer adds it). Returns None when ``y`` does not have that form.
    """
    node = y.owner
    if (node is None or not isinstance(node.op, T.Elemwise)
            or not isinstance(node.op.scalar_op, theano.scalar.Add) or len(node.inputs) != 2):
        return None
    for conved, shifted in (node.inputs, node.inputs[::-1]):
        conv, bias = conved.owner, shifted.owner
        if (conv is not None and isinstance(conv.op, Corr2dValid)
                and bias is not None and isinstance(bias.op, T.DimShuffle)
                and tuple(bias.op.new_order) == ('x', 0, 'x', 'x')
                and conved.dtype == y.dtype and bias.inputs[0].dtype == y.dtype):
            x, w = conv.inputs
            kwargs = dict(conv.op._kwargs(), pool_grad=pool_grad)
            return ConvPool2x2(**kwargs)(x, w, bias.inputs[0])[0]
    return None


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode='valid',
           subsample=(1, 1), filter_flip=True, image_shape=None, **kwargs):
    """Drop-in for ``T.nnet.conv2d`` as Lasagne calls it (``convolution=`` argument).

    ``border_mode='valid'`` or a padding ``(p_rows, p_cols)`` (or one int) with stride 1
    runs :class:`Corr2dValid` on the flipped filters (``filter_flip=True``: a true
    convolution, as ``T.nnet.conv2d``); anything else is passed on to ``T.nnet.conv2d``
    unchanged.
    """
    pad = (0, 0)
    if isinstance(border_mode, int) and not isinstance(border_mode, bool):
        border_mode = (border_mode, border_mode)
    if (isinstance(border_mode, tuple) and len(border_mode) == 2
            and all(isinstance(p, int) and p >= 0 for p in border_mode)):
        pad, border_mode = border_mode, 'valid'
    if border_mode != 'valid' or tuple(subsample) != (1, 1) or kwargs:
        if image_shape is not None and input_shape is None:
            input_shape = image_shape
        return T.nnet.conv2d(input, filters, input_shape=input_shape,
                             filter_shape=filter_shape, border_mode=border_mode,
                             subsample=subsample, filter_flip=filter_flip, **kwargs)
    if filter_flip:
        filters = filters[:, :, ::-1, ::-1]
    return Corr2dValid(pad=pad)(input, filters)


def check_kernels(kernels):
    """Raise ValueError unless ``kernels`` is 'fast' or 'theano' (gxnor.settings)."""
    check_choice('kernels', kernels)


def compile_mode(kernels=KERNEL):
    """The Theano mode for ``kernels``: 'theano' leaves out the ChannelSum rewrite."""
    check_kernels(kernels)
    mode = theano.compile.get_default_mode()
    return mode if kernels == 'fast' else mode.excluding('gxnor_channel_sum')
