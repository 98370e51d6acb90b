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

