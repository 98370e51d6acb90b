/* ---- FlatElemwise (flat_elemwise.py): whether an array runs contiguously over its
   trailing dims from `first` on, i.e. element j of that block is `j` items past its
   start (dims of length 1 may have any stride). The flat loop needs it of every input and
   output that is not broadcast over those dims; otherwise Theano's own loop runs. */
#ifndef GX_FLAT_ELEMWISE_SUPPORT
#define GX_FLAT_ELEMWISE_SUPPORT
static int gx_contiguous_from(PyArrayObject* a, int first)
{
    npy_intp expected = PyArray_ITEMSIZE(a);
    for (int d = PyArray_NDIM(a) - 1; d >= first; --d) {
        if (PyArray_DIMS(a)[d] != 1 && PyArray_STRIDES(a)[d] != expected)
            return 0;
        expected *= PyArray_DIMS(a)[d];
    }
    return 1;
}
#endif
