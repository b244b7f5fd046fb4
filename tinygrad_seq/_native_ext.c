/* Compiled helpers for tinygrad_seq. Optional: `pip install` builds them when a C
 * compiler is at hand, and the engine runs the same math in NumPy when they are missing
 * (tinygrad_seq/_native.py says which is in use, and why).
 *
 * 1. An allocator for NumPy's array data that starts every large block on a 64-byte
 *    boundary. glibc's malloc aligns to 16 bytes, so most arrays of an autograd graph
 *    start mid-cache-line, and NumPy's AVX-512 loops then read and write across cache
 *    lines: on an Intel Xeon a 1024 × 128 float32 addition took ~75 µs misaligned
 *    against ~36 aligned. PyTorch's allocator aligns to 64 bytes too. Small blocks stay
 *    with NumPy's own allocator (and its cache of small blocks).
 *
 * 2. Row kernels for layer norm and softmax over the last axis, relu's backward and a
 *    bias added to every row: one pass over each row where NumPy makes one pass over the
 *    whole array per operation, and a row-broadcast pass costs NumPy ~55 ns a row of loop
 *    overhead. Softmax's exponentials are glibc's vector ones where setup.py finds them
 *    (libmvec); elsewhere NumPy's, whose SIMD exp is faster than a scalar one.
 *
 * 3. σ, σ's backward and tanh's backward, for arrays of any size: each checks its own
 *    arguments and makes its output (one C call where NumPy's path makes four), or
 *    answers None for arrays it does not take.
 *
 * 4. The exact gelu, x Φ(x) and its slope, through glibc's vector erfc (NumPy has no erf).
 *
 * 5. A call into MKL's matrix product (whose address _mkl.py hands over), without
 *    ctypes' few microseconds a call.
 *
 * The row kernels take C-contiguous float32 or float64 arrays and write into arrays the
 * caller made, which must not overlap their inputs (but that relu's, softmax's and layer
 * norm's backward may write into g itself: each element of g is read before it is
 * written); the Python side (_native.py, ops.py) makes them and checks what it sends.
 * Nothing holds state but the allocator and the MKL routines' addresses.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_22_API_VERSION
#define NPY_TARGET_VERSION NPY_1_22_API_VERSION /* PyDataMem_SetHandler is from 1.22 */
#include <numpy/arrayobject.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* ------------------------------------------------------------ the aligned allocator */
#define ALIGNMENT 64

static PyObject *numpy_handler_capsule = NULL; /* the handler we took over (kept alive) */
static PyDataMemAllocator numpy_allocator;     /* ... and its functions, for small blocks */
static size_t min_aligned_bytes = 4096;        /* blocks of at least this many bytes */

#if defined(_WIN32)
#define CAN_ALIGN 0 /* MSVC's aligned blocks need _aligned_free: not mixed with free */
#else
#define CAN_ALIGN 1
#endif

#define HUGE_PAGE_BYTES ((size_t)1 << 22) /* as NumPy: blocks of 4 MiB or more ... */

static void *
aligned_block(size_t size)
{
#if CAN_ALIGN
    void *p = NULL;
    if (posix_memalign(&p, ALIGNMENT, size ? size : 1) != 0)
        return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (size >= HUGE_PAGE_BYTES) { /* ... may use huge pages (fewer TLB misses) */
        uintptr_t page = (uintptr_t)4096, start = ((uintptr_t)p + page - 1) & ~(page - 1);
        uintptr_t end = ((uintptr_t)p + size) & ~(page - 1);
        if (end > start)
            madvise((void *)start, end - start, MADV_HUGEPAGE); /* (a hint: may fail) */
    }
#endif
    return p;
#else
    return NULL;
#endif
}

static void *
tgs_malloc(void *ctx, size_t size)
{
    if (size < min_aligned_bytes)
        return numpy_allocator.malloc(numpy_allocator.ctx, size);
    return aligned_block(size);
}

/* Zeroed blocks (np.zeros) stay NumPy's: calloc gets fresh pages from the OS already
 * zero, where an aligned block would have to be written over (np.zeros(5e7) took 0.1 ms
 * one way and 300 ms the other). Their size says nothing about who made them, so
 * freeing below cannot tell them apart: it does not need to (next comment). */
static void *
tgs_calloc(void *ctx, size_t nelem, size_t elsize)
{
    return numpy_allocator.calloc(numpy_allocator.ctx, nelem, elsize);
}

/* NumPy's default allocator (the only one we take over, see install_allocator) takes its
 * blocks from the C library's malloc, as posix_memalign does, so realloc and free take
 * any block, ours or its own. A block resized past the threshold keeps realloc's
 * alignment: correct, just not aligned (NumPy resizes in place rarely: fromiter). */
static void *
tgs_realloc(void *ctx, void *ptr, size_t new_size)
{
    return realloc(ptr, new_size ? new_size : 1);
}

static void
tgs_free(void *ctx, void *ptr, size_t size)
{
    if (size < min_aligned_bytes)
        numpy_allocator.free(numpy_allocator.ctx, ptr, size); /* (its small-block cache) */
    else
        free(ptr);
}

static PyDataMem_Handler aligned_handler = {
    "tinygrad_seq_aligned64",
    1,
    {NULL, tgs_malloc, tgs_calloc, tgs_realloc, tgs_free},
};

static PyObject *
install_allocator(PyObject *self, PyObject *arg)
{
    Py_ssize_t threshold = PyLong_AsSsize_t(arg);
    if (threshold == -1 && PyErr_Occurred())
        return NULL;
    if (!CAN_ALIGN)
        Py_RETURN_FALSE;
    /* The handler of this thread's context, checked on every call: a call after the first
     * (another thread, another context) must not replace another library's either. */
    PyObject *current = PyDataMem_GetHandler();
    if (current == NULL)
        return NULL;
    PyDataMem_Handler *h = PyCapsule_GetPointer(current, "mem_handler");
    if (h == NULL) {
        Py_DECREF(current);
        return NULL;
    }
    if (h == &aligned_handler) { /* (already ours here) */
        Py_DECREF(current);
        Py_RETURN_TRUE;
    }
    if (strcmp(h->name, "default_allocator") != 0) {
        /* another library's handler: its blocks may not be malloc's (a header before
         * each, a pool), which realloc and free above could not take. Leave it be. */
        Py_DECREF(current);
        Py_RETURN_FALSE;
    }
    if (numpy_handler_capsule == NULL) {
        numpy_allocator = h->allocator;
        numpy_handler_capsule = current; /* kept: its blocks may be freed through it */
    }
    else
        Py_DECREF(current);
    min_aligned_bytes = threshold < 1 ? 1 : (size_t)threshold;
    PyObject *capsule = PyCapsule_New(&aligned_handler, "mem_handler", NULL);
    if (capsule == NULL)
        return NULL;
    PyObject *old = PyDataMem_SetHandler(capsule);
    Py_DECREF(capsule);
    if (old == NULL)
        return NULL;
    Py_DECREF(old);
    Py_RETURN_TRUE;
}

/* ------------------------------------------------------------------ argument checks */
/* A C-contiguous, aligned, writable-if-asked float32/float64 ndarray of `typenum`. */
static int
check_array(PyObject *obj, const char *what, int typenum, int writable)
{
    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a NumPy array", what);
        return 0;
    }
    PyArrayObject *a = (PyArrayObject *)obj;
    if (PyArray_TYPE(a) != typenum || !PyArray_IS_C_CONTIGUOUS(a) || !PyArray_ISALIGNED(a) ||
        !PyArray_ISNOTSWAPPED(a)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: expected a C-contiguous, aligned, native-byte-order array of the "
                     "first argument's dtype",
                     what);
        return 0;
    }
    if (writable && !PyArray_ISWRITEABLE(a)) {
        PyErr_Format(PyExc_ValueError, "%s: read-only", what);
        return 0;
    }
    return 1;
}

/* rows × d of x (its last axis d), float32 or float64 */
static int
rows_of(PyObject *x, const char *what, Py_ssize_t *rows, Py_ssize_t *d)
{
    if (!PyArray_Check(x) || PyArray_NDIM((PyArrayObject *)x) < 1) {
        PyErr_Format(PyExc_ValueError, "%s: expected an array of at least one axis", what);
        return 0;
    }
    PyArrayObject *a = (PyArrayObject *)x;
    int t = PyArray_TYPE(a);
    if (t != NPY_FLOAT32 && t != NPY_FLOAT64) {
        PyErr_Format(PyExc_ValueError, "%s: expected float32 or float64", what);
        return 0;
    }
    *d = PyArray_DIM(a, PyArray_NDIM(a) - 1);
    *rows = *d ? PyArray_SIZE(a) / *d : 0;
    return 1;
}

static int
has_size(PyObject *obj, const char *what, Py_ssize_t n)
{
    if (PyArray_SIZE((PyArrayObject *)obj) != n) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd elements", what, n);
        return 0;
    }
    return 1;
}

/* The start of every kernel's wrapper: `nargs` as expected, and rows × d and the dtype of
 * its first argument (the arrays it is checked against), else an exception set. */
static int
begin(const char *name, Py_ssize_t nargs, Py_ssize_t expected, PyObject *first,
      const char *first_name, Py_ssize_t *rows, Py_ssize_t *d, int *typenum)
{
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arguments", name, expected);
        return 0;
    }
    if (!rows_of(first, first_name, rows, d))
        return 0;
    *typenum = PyArray_TYPE((PyArrayObject *)first);
    return 1;
}

#define DATA(obj, T) ((T *)PyArray_DATA((PyArrayObject *)(obj)))

/* Sums over a row are vectorised (`omp simd reduction`: the compiler may add in any
 * order, as NumPy's pairwise sums and BLAS do; -fopenmp-simd needs no OpenMP runtime),
 * and built by GCC on x86-64 glibc Linux each kernel is compiled for AVX-512, AVX2 and the
 * baseline, the CPU picking at load time (elsewhere: for the compiler's default target). */
#define SIMD(clauses) _Pragma(STRINGIFY(omp simd clauses))
#define STRINGIFY(x) #x
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && defined(__GNUC__) && \
    !defined(__clang__)
#define KERNEL __attribute__((target_clones("avx512f", "avx2", "default"))) static void
#else
#define KERNEL static void
#endif

/* The kernels of one array to another, or of two to a third, each a float32 and a float64
 * version taking (inputs..., output, rows, d): one wrapper each checks the arrays and
 * calls the version for their dtype. */
typedef void (*rows_1_f32)(const float *, float *, Py_ssize_t, Py_ssize_t);
typedef void (*rows_1_f64)(const double *, double *, Py_ssize_t, Py_ssize_t);
typedef void (*rows_2_f32)(const float *, const float *, float *, Py_ssize_t, Py_ssize_t);
typedef void (*rows_2_f64)(const double *, const double *, double *, Py_ssize_t, Py_ssize_t);

/* kernel(x, y): y like x */
static PyObject *
call_rows_1(const char *name, PyObject *const *args, Py_ssize_t nargs, rows_1_f32 f32,
            rows_1_f64 f64)
{
    Py_ssize_t rows, d;
    int t;
    if (!begin(name, nargs, 2, args[0], "x", &rows, &d, &t))
        return NULL;
    if (!check_array(args[0], "x", t, 0) || !check_array(args[1], "y", t, 1) ||
        !has_size(args[1], "y", rows * d))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (t == NPY_FLOAT32)
        f32(DATA(args[0], float), DATA(args[1], float), rows, d);
    else
        f64(DATA(args[0], double), DATA(args[1], double), rows, d);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* kernel(a, b, out): a and out (..., d); b like a, or one row of d if `b_is_row` */
static PyObject *
call_rows_2(const char *name, PyObject *const *args, Py_ssize_t nargs, int b_is_row,
            rows_2_f32 f32, rows_2_f64 f64)
{
    Py_ssize_t rows, d;
    int t;
    if (!begin(name, nargs, 3, args[0], "first argument", &rows, &d, &t))
        return NULL;
    if (!check_array(args[0], "first argument", t, 0) ||
        !check_array(args[1], "second argument", t, 0) || !check_array(args[2], "out", t, 1) ||
        !has_size(args[1], "second argument", b_is_row ? d : rows * d) ||
        !has_size(args[2], "out", rows * d))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (t == NPY_FLOAT32)
        f32(DATA(args[0], float), DATA(args[1], float), DATA(args[2], float), rows, d);
    else
        f64(DATA(args[0], double), DATA(args[1], double), DATA(args[2], double), rows, d);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* --------------------------------------------------------------------- layer norm */
/* y = gain ⊙ (x − μ)/√(var + ε) + bias over each row; also writes μ and 1/√(var + ε) per
 * row, from which backward makes x̂ = (x − μ)/√(var + ε) again (bit for bit: the same
 * operations), so the forward writes one array, not two. Sums in double: a float32 row of
 * many elements keeps its digits. Two passes for var (the mean first), as the NumPy path. */
#define LAYER_NORM_FORWARD(NAME, T)                                                        \
    KERNEL NAME(const T *x, const T *gain, const T *bias, double eps, T *y, T *mean,       \
                T *rstd, Py_ssize_t rows, Py_ssize_t d)                                    \
    {                                                                                      \
        const double inv_d = 1.0 / (double)d;                                              \
        for (Py_ssize_t i = 0; i < rows; i++) {                                            \
            const T *xi = x + i * d;                                                       \
            T *yi = y + i * d;                                                             \
            double sum = 0.0;                                                              \
            SIMD(reduction(+ : sum))                                                       \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                sum += xi[j];                                                              \
            const T mu = (T)(sum * inv_d);                                                 \
            double squares = 0.0;                                                          \
            SIMD(reduction(+ : squares))                                                   \
            for (Py_ssize_t j = 0; j < d; j++) {                                           \
                const T c = xi[j] - mu;                                                    \
                squares += (double)c * c;                                                  \
            }                                                                              \
            const T r = (T)(1.0 / sqrt(squares * inv_d + eps));                            \
            mean[i] = mu;                                                                  \
            rstd[i] = r;                                                                   \
            SIMD()                                                                         \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                yi[j] = (xi[j] - mu) * r * gain[j] + bias[j];                              \
        }                                                                                  \
    }
LAYER_NORM_FORWARD(layer_norm_forward_f32, float)
LAYER_NORM_FORWARD(layer_norm_forward_f64, double)

/* ∂L/∂x = (ĝ − mean ĝ − x̂ mean(ĝ ⊙ x̂)) / √(var + ε) with ĝ = g ⊙ gain, per row; and, if
 * asked (`acc`: 2d doubles, zeroed), ∂L/∂gain = Σ over rows of g ⊙ x̂ and ∂L/∂bias = Σ
 * over rows of g in the same pass, into acc[0..d) and acc[d..2d), in double. gx may be
 * g itself: each element of a row is read before it is written. */
#define LAYER_NORM_BACKWARD(NAME, T)                                                       \
    KERNEL NAME(const T *g, const T *x, const T *mean, const T *rstd, const T *gain,       \
                T *gx, double *acc, Py_ssize_t rows, Py_ssize_t d)                         \
    {                                                                                      \
        const double inv_d = 1.0 / (double)d;                                              \
        double *acc_gain = acc, *acc_bias = acc ? acc + d : NULL;                          \
        for (Py_ssize_t i = 0; i < rows; i++) {                                            \
            const T *gi = g + i * d, *xi = x + i * d;                                      \
            T *out = gx + i * d;                                                           \
            const T mu = mean[i], r = rstd[i];                                             \
            double sum_g = 0.0, sum_gh = 0.0;                                              \
            SIMD(reduction(+ : sum_g, sum_gh))                                             \
            for (Py_ssize_t j = 0; j < d; j++) {                                           \
                const T gg = gi[j] * gain[j];                                              \
                sum_g += gg;                                                               \
                sum_gh += (double)gg * ((xi[j] - mu) * r);                                 \
            }                                                                              \
            const T mean_g = (T)(sum_g * inv_d), mean_gh = (T)(sum_gh * inv_d);            \
            if (acc) { /* (before gx is written: it may be g) */                           \
                SIMD()                                                                     \
                for (Py_ssize_t j = 0; j < d; j++) {                                       \
                    acc_gain[j] += (double)gi[j] * ((xi[j] - mu) * r);                     \
                    acc_bias[j] += (double)gi[j];                                          \
                }                                                                          \
            }                                                                              \
            SIMD()                                                                         \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                out[j] = (gi[j] * gain[j] - mean_g - (xi[j] - mu) * r * mean_gh) * r;      \
        }                                                                                  \
    }
LAYER_NORM_BACKWARD(layer_norm_backward_f32, float)
LAYER_NORM_BACKWARD(layer_norm_backward_f64, double)

/* layer_norm_forward(x, gain, bias, eps, y, mean, rstd): x (..., d); gain, bias (d,);
 * y like x; mean and rstd one per row. */
static PyObject *
layer_norm_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t rows, d;
    int t;
    if (!begin("layer_norm_forward", nargs, 7, args[0], "x", &rows, &d, &t))
        return NULL;
    double eps = PyFloat_AsDouble(args[3]);
    if (eps == -1.0 && PyErr_Occurred())
        return NULL;
    if (!check_array(args[0], "x", t, 0) || !check_array(args[1], "gain", t, 0) ||
        !check_array(args[2], "bias", t, 0) || !check_array(args[4], "y", t, 1) ||
        !check_array(args[5], "mean", t, 1) || !check_array(args[6], "rstd", t, 1) ||
        !has_size(args[1], "gain", d) || !has_size(args[2], "bias", d) ||
        !has_size(args[4], "y", rows * d) || !has_size(args[5], "mean", rows) ||
        !has_size(args[6], "rstd", rows))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (t == NPY_FLOAT32)
        layer_norm_forward_f32(DATA(args[0], float), DATA(args[1], float),
                               DATA(args[2], float), eps, DATA(args[4], float),
                               DATA(args[5], float), DATA(args[6], float), rows, d);
    else
        layer_norm_forward_f64(DATA(args[0], double), DATA(args[1], double),
                               DATA(args[2], double), eps, DATA(args[4], double),
                               DATA(args[5], double), DATA(args[6], double), rows, d);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* layer_norm_backward(g, x, mean, rstd, gain, gx, g_gain or None, g_bias or None): g, x,
 * gx (..., d), gx may be g; mean and rstd one per row; gain, g_gain and g_bias (d,). */
static PyObject *
layer_norm_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t rows, d;
    int t;
    if (!begin("layer_norm_backward", nargs, 8, args[0], "g", &rows, &d, &t))
        return NULL;
    PyObject *g_gain = args[6] == Py_None ? NULL : args[6];
    PyObject *g_bias = args[7] == Py_None ? NULL : args[7];
    if (!check_array(args[0], "g", t, 0) || !check_array(args[1], "x", t, 0) ||
        !check_array(args[2], "mean", t, 0) || !check_array(args[3], "rstd", t, 0) ||
        !check_array(args[4], "gain", t, 0) || !check_array(args[5], "gx", t, 1) ||
        !has_size(args[1], "x", rows * d) || !has_size(args[2], "mean", rows) ||
        !has_size(args[3], "rstd", rows) || !has_size(args[4], "gain", d) ||
        !has_size(args[5], "gx", rows * d))
        return NULL;
    if (g_gain && (!check_array(g_gain, "g_gain", t, 1) || !has_size(g_gain, "g_gain", d)))
        return NULL;
    if (g_bias && (!check_array(g_bias, "g_bias", t, 1) || !has_size(g_bias, "g_bias", d)))
        return NULL;
    /* both sums when either is asked (one pass; the other's cost is small) */
    double *acc = NULL;
    if (g_gain || g_bias) {
        acc = PyMem_RawCalloc(2 * (d ? d : 1), sizeof(double));
        if (acc == NULL)
            return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    if (t == NPY_FLOAT32) {
        layer_norm_backward_f32(DATA(args[0], float), DATA(args[1], float),
                                DATA(args[2], float), DATA(args[3], float),
                                DATA(args[4], float), DATA(args[5], float), acc, rows, d);
        for (Py_ssize_t j = 0; acc && j < d; j++) {
            if (g_gain)
                DATA(g_gain, float)[j] = (float)acc[j];
            if (g_bias)
                DATA(g_bias, float)[j] = (float)acc[d + j];
        }
    }
    else {
        layer_norm_backward_f64(DATA(args[0], double), DATA(args[1], double),
                                DATA(args[2], double), DATA(args[3], double),
                                DATA(args[4], double), DATA(args[5], double), acc, rows,
                                d);
        if (g_gain)
            memcpy(DATA(g_gain, double), acc, d * sizeof(double));
        if (g_bias)
            memcpy(DATA(g_bias, double), acc + d, d * sizeof(double));
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(acc);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------ softmax */
/* T m = the max of row xi, of d numbers. A NaN in the row may or may not come out as m
 * (comparisons with NaN are false, in any lane order): either way the row's sum of
 * exponentials is NaN, and so is its every softmax, as NumPy's path gives. */
#define ROW_MAX(T, xi, d, m)                                                               \
    T m = (xi)[0];                                                                         \
    do {                                                                                   \
        SIMD(reduction(max : m))                                                           \
        for (Py_ssize_t j = 0; j < (d); j++)                                               \
            m = (xi)[j] > m ? (xi)[j] : m;                                                 \
    } while (0)

/* y = x − the max of its row, the first half of softmax: NumPy's exp follows, in place,
 * then softmax_normalize. */
#define SOFTMAX_SHIFT(NAME, T)                                                             \
    KERNEL NAME(const T *x, T *y, Py_ssize_t rows, Py_ssize_t d)                           \
    {                                                                                      \
        for (Py_ssize_t i = 0; i < rows; i++) {                                            \
            const T *xi = x + i * d;                                                       \
            T *yi = y + i * d;                                                             \
            ROW_MAX(T, xi, d, m);                                                          \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                yi[j] = xi[j] - m;                                                         \
        }                                                                                  \
    }
SOFTMAX_SHIFT(softmax_shift_f32, float)
SOFTMAX_SHIFT(softmax_shift_f64, double)

/* softmax_forward: the whole of softmax in one pass a row, where the C library has
 * vector exponentials (glibc's libmvec on x86-64, which setup.py links when it finds it:
 * TGS_VECTOR_EXP). Elsewhere a scalar exp would be slower than NumPy's SIMD one, and
 * softmax_shift / NumPy's exp / softmax_normalize run instead.
 *
 * libmvec's exp leaves its fast path for a vector with any lane whose exponential is
 * subnormal or 0 (x − m below about −87.3 in float32, −708.4 in float64) and works those
 * lanes out one at a time: 5-10 times slower, and every masked row has such lanes (masks
 * fill with the dtype's lowest number, nn/attention.py). So a row whose x − m goes below
 * ZERO, where exp is exactly 0 (about −103.97 and −745.13), takes a second loop: those
 * lanes go to exp as FAST (on the fast path), come out as 0, and the rest as before.
 * The results are the first loop's, bit for bit in every row tried: the exp loop has the
 * first one's shape, so each lane gets the same exp (the vector one, or the scalar one at
 * a row's end) and the sum the same order, and FAST's exp (~1e-38, ~3e-308) is lost in a
 * sum of at least 1. Lanes between ZERO and FAST keep their x − m (rare: subnormal
 * results, on the slow path as before). */
#if defined(TGS_VECTOR_EXP)
#pragma omp declare simd notinbranch
extern float expf(float);
#pragma omp declare simd notinbranch
extern double exp(double);

#define SOFTMAX_FORWARD(NAME, T, EXP, ZERO, FAST)                                          \
    KERNEL NAME(const T *x, T *y, Py_ssize_t rows, Py_ssize_t d)                           \
    {                                                                                      \
        for (Py_ssize_t i = 0; i < rows; i++) {                                            \
            const T *xi = x + i * d;                                                       \
            T *yi = y + i * d;                                                             \
            T m = xi[0], lo = xi[0]; /* (a NaN in m or lo: the first loop) */              \
            SIMD(reduction(max : m) reduction(min : lo))                                   \
            for (Py_ssize_t j = 0; j < d; j++) {                                           \
                m = xi[j] > m ? xi[j] : m;                                                 \
                lo = xi[j] < lo ? xi[j] : lo;                                              \
            }                                                                              \
            double s = 0.0;                                                                \
            if (__builtin_expect(lo - m < (ZERO), 0)) { /* a mask, or a NaN or inf */      \
                SIMD()                                                                     \
                for (Py_ssize_t j = 0; j < d; j++) {                                       \
                    const T z = xi[j] - m;                                                 \
                    yi[j] = z < (ZERO) ? (FAST) : z; /* (NaN stays NaN) */                 \
                }                                                                          \
                SIMD(reduction(+ : s))                                                     \
                for (Py_ssize_t j = 0; j < d; j++) {                                       \
                    const T e = EXP(yi[j]);                                                \
                    yi[j] = e;                                                             \
                    s += e;                                                                \
                }                                                                          \
                const T inv = (T)(1.0 / s);                                                \
                SIMD() /* 0 · inv: a NaN row stays NaN at its masked lanes too */          \
                for (Py_ssize_t j = 0; j < d; j++) {                                       \
                    const T e = yi[j];                                                     \
                    yi[j] = (xi[j] - m < (ZERO) ? (T)0 : e) * inv;                         \
                }                                                                          \
                continue;                                                                  \
            }                                                                              \
            SIMD(reduction(+ : s))                                                         \
            for (Py_ssize_t j = 0; j < d; j++) {                                           \
                const T e = EXP(xi[j] - m);                                                \
                yi[j] = e;                                                                 \
                s += e;                                                                    \
            }                                                                              \
            const T inv = (T)(1.0 / s);                                                    \
            SIMD()                                                                         \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                yi[j] *= inv;                                                              \
        }                                                                                  \
    }
SOFTMAX_FORWARD(softmax_forward_f32, float, expf, -104.0f, -87.0f)
SOFTMAX_FORWARD(softmax_forward_f64, double, exp, -746.0, -708.0)

#endif

/* y /= Σ of its row (in double), in place: softmax's second half. */
#define SOFTMAX_NORMALIZE(NAME, T)                                                         \
    KERNEL NAME(T *y, Py_ssize_t rows, Py_ssize_t d)                                       \
    {                                                                                      \
        for (Py_ssize_t i = 0; i < rows; i++) {                                            \
            T *yi = y + i * d;                                                             \
            double s = 0.0;                                                                \
            SIMD(reduction(+ : s))                                                         \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                s += yi[j];                                                                \
            const T inv = (T)(1.0 / s);                                                    \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                yi[j] *= inv;                                                              \
        }                                                                                  \
    }
SOFTMAX_NORMALIZE(softmax_normalize_f32, float)
SOFTMAX_NORMALIZE(softmax_normalize_f64, double)

/* ∂L/∂x = y ⊙ (g − Σ g ⊙ y) per row */
#define SOFTMAX_BACKWARD(NAME, T)                                                          \
    KERNEL NAME(const T *g, const T *y, T *gx, Py_ssize_t rows, Py_ssize_t d)              \
    {                                                                                      \
        for (Py_ssize_t i = 0; i < rows; i++) {                                            \
            const T *gi = g + i * d, *yi = y + i * d;                                      \
            T *out = gx + i * d;                                                           \
            double s = 0.0;                                                                \
            SIMD(reduction(+ : s))                                                         \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                s += (double)gi[j] * yi[j];                                                \
            const T dot = (T)s;                                                            \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                out[j] = yi[j] * (gi[j] - dot);                                            \
        }                                                                                  \
    }
SOFTMAX_BACKWARD(softmax_backward_f32, float)
SOFTMAX_BACKWARD(softmax_backward_f64, double)


/* softmax_normalize(y) */
static PyObject *
softmax_normalize(PyObject *self, PyObject *y)
{
    Py_ssize_t rows, d;
    if (!rows_of(y, "y", &rows, &d))
        return NULL;
    int t = PyArray_TYPE((PyArrayObject *)y);
    if (!check_array(y, "y", t, 1))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (t == NPY_FLOAT32)
        softmax_normalize_f32(DATA(y, float), rows, d);
    else
        softmax_normalize_f64(DATA(y, double), rows, d);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}


/* ------------------------------------------------------------------ adding a bias */
/* out = x + b with b (d,) added to every row of x: NumPy's broadcast runs its inner loop
 * once per row, which costs as much as the adding on rows of a few hundred numbers. */
#define ADD_ROWS(NAME, T)                                                                  \
    KERNEL NAME(const T *x, const T *b, T *out, Py_ssize_t rows, Py_ssize_t d)             \
    {                                                                                      \
        for (Py_ssize_t i = 0; i < rows; i++) {                                            \
            const T *xi = x + i * d;                                                       \
            T *oi = out + i * d;                                                           \
            SIMD()                                                                         \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                oi[j] = xi[j] + b[j];                                                      \
        }                                                                                  \
    }
ADD_ROWS(add_rows_f32, float)
ADD_ROWS(add_rows_f64, double)


/* --------------------------------------------------------------------------- relu */
/* ∂L/∂x = g where relu's output y > 0, else 0: one pass, no mask array. A select, as the
 * NumPy path's: an inf or NaN in g where y ≤ 0 gives 0, not 0 · inf = NaN; y > 0 is false
 * for NaN. */
#define RELU_BACKWARD(NAME, T)                                                             \
    KERNEL NAME(const T *g, const T *y, T *gx, Py_ssize_t rows, Py_ssize_t d)              \
    {                                                                                      \
        const Py_ssize_t n = rows * d;                                                     \
        SIMD()                                                                             \
        for (Py_ssize_t i = 0; i < n; i++)                                                 \
            gx[i] = y[i] > 0 ? g[i] : (T)0;                                                \
    }
RELU_BACKWARD(relu_backward_f32, float)
RELU_BACKWARD(relu_backward_f64, double)


/* ------------------------------------------------- sigmoid and tanh, element by element */
/* For arrays of any size, small ones too (an RNN step's (batch, hidden)): each function
 * below checks its arguments itself and makes its output, one C call in all, and answers
 * None for arrays it does not take (the caller then runs NumPy), so the caller pays no
 * Python-level checks. NumPy's own call costs ~0.5-1 µs an operation; σ(x) = 1/(1 + e^−x)
 * is four of them, and so is its backward with tanh's. */

/* Whether `obj` is a float32/float64 ndarray (not a subclass) of at least one element,
 * aligned and in native byte order, whose rows lie evenly spaced in memory: C-contiguous
 * (rows = its size / d, the last axis d), or 2-D with each row contiguous and a gap
 * between rows (an LSTM's gate z[:, H:2H]). `step` is the distance from one row's start
 * to the next, in elements. */
static int
spaced_rows(PyObject *obj, int *typenum, Py_ssize_t *rows, Py_ssize_t *d, Py_ssize_t *step)
{
    if (!PyArray_CheckExact(obj))
        return 0;
    PyArrayObject *a = (PyArrayObject *)obj;
    const int t = PyArray_TYPE(a), nd = PyArray_NDIM(a);
    if ((t != NPY_FLOAT32 && t != NPY_FLOAT64) || nd == 0 || PyArray_SIZE(a) == 0 ||
        !PyArray_ISALIGNED(a) || !PyArray_ISNOTSWAPPED(a))
        return 0;
    const Py_ssize_t item = PyArray_ITEMSIZE(a);
    *d = PyArray_DIM(a, nd - 1);
    if (PyArray_IS_C_CONTIGUOUS(a)) {
        *rows = PyArray_SIZE(a) / *d;
        *step = *d;
    }
    else if (nd == 2 && PyArray_STRIDE(a, 1) == item && PyArray_STRIDE(a, 0) % item == 0 &&
             PyArray_STRIDE(a, 0) >= *d * item) {
        *rows = PyArray_DIM(a, 0);
        *step = PyArray_STRIDE(a, 0) / item;
    }
    else
        return 0;
    *typenum = t;
    return 1;
}

/* Whether g and y are C-contiguous, aligned, native-order ndarrays of one float dtype
 * and one shape, of at least one element (a backward's gradient and the output it saved). */
static int
same_arrays(PyObject *g, PyObject *y, int *typenum)
{
    if (!PyArray_CheckExact(g) || !PyArray_CheckExact(y))
        return 0;
    PyArrayObject *a = (PyArrayObject *)g, *b = (PyArrayObject *)y;
    const int t = PyArray_TYPE(a);
    if ((t != NPY_FLOAT32 && t != NPY_FLOAT64) || PyArray_TYPE(b) != t ||
        PyArray_SIZE(a) == 0 || !PyArray_SAMESHAPE(a, b) || !PyArray_IS_C_CONTIGUOUS(a) ||
        !PyArray_IS_C_CONTIGUOUS(b) || !PyArray_ISALIGNED(a) || !PyArray_ISALIGNED(b) ||
        !PyArray_ISNOTSWAPPED(a) || !PyArray_ISNOTSWAPPED(b))
        return 0;
    *typenum = t;
    return 1;
}

/* a new C-contiguous array of `like`'s shape (NumPy's allocator: aligned when large) */
static PyObject *
new_like(PyObject *like, int typenum)
{
    PyArrayObject *a = (PyArrayObject *)like;
    return PyArray_SimpleNew(PyArray_NDIM(a), PyArray_DIMS(a), typenum);
}

#if defined(TGS_VECTOR_EXP)
/* σ(x) = 1/(1 + e^−x), as the NumPy path computes it. Below x ≈ −88 (float32) e^−x is inf
 * and σ exactly 0, the right answer; no warning is raised (NumPy's path silences it). */
#define SIGMOID(NAME, T, EXP)                                                              \
    KERNEL NAME(const T *x, T *y, Py_ssize_t rows, Py_ssize_t d, Py_ssize_t step)          \
    {                                                                                      \
        for (Py_ssize_t i = 0; i < rows; i++) {                                            \
            const T *xi = x + i * step;                                                    \
            T *yi = y + i * d;                                                             \
            SIMD()                                                                         \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                yi[j] = (T)1 / ((T)1 + EXP(-xi[j]));                                       \
        }                                                                                  \
    }
SIGMOID(sigmoid_f32, float, expf)
SIGMOID(sigmoid_f64, double, exp)

/* sigmoid(x): σ(x) in a new C-contiguous array, or None for an x it does not take */
static PyObject *
sigmoid(PyObject *self, PyObject *x)
{
    int t;
    Py_ssize_t rows, d, step;
    if (!spaced_rows(x, &t, &rows, &d, &step))
        Py_RETURN_NONE;
    PyObject *y = new_like(x, t);
    if (y == NULL)
        return NULL;
    if (t == NPY_FLOAT32)
        sigmoid_f32(DATA(x, float), DATA(y, float), rows, d, step);
    else
        sigmoid_f64(DATA(x, double), DATA(y, double), rows, d, step);
    return y;
}
#endif

/* ∂L/∂x = g ⊙ σ(x)(1 − σ(x)), from σ's output s, in the NumPy path's order: (1 − s)·s·g */
#define SIGMOID_BACKWARD(NAME, T)                                                          \
    KERNEL NAME(const T *g, const T *s, T *gx, Py_ssize_t n)                               \
    {                                                                                      \
        SIMD()                                                                             \
        for (Py_ssize_t i = 0; i < n; i++)                                                 \
            gx[i] = ((T)1 - s[i]) * s[i] * g[i];                                           \
    }
SIGMOID_BACKWARD(sigmoid_backward_f32, float)
SIGMOID_BACKWARD(sigmoid_backward_f64, double)

/* ∂L/∂x = g ⊙ (1 − y²) from tanh's output y, as the NumPy path's g − g·y² */
#define TANH_BACKWARD(NAME, T)                                                             \
    KERNEL NAME(const T *g, const T *y, T *gx, Py_ssize_t n)                               \
    {                                                                                      \
        SIMD()                                                                             \
        for (Py_ssize_t i = 0; i < n; i++)                                                 \
            gx[i] = g[i] - y[i] * y[i] * g[i];                                             \
    }
TANH_BACKWARD(tanh_backward_f32, float)
TANH_BACKWARD(tanh_backward_f64, double)

typedef void (*map_2_f32)(const float *, const float *, float *, Py_ssize_t);
typedef void (*map_2_f64)(const double *, const double *, double *, Py_ssize_t);

/* f(g, y) into a new array like g, or None for arrays it does not take (same_arrays) */
static PyObject *
call_map_2(const char *name, PyObject *const *args, Py_ssize_t nargs, map_2_f32 f32,
           map_2_f64 f64)
{
    int t;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "%s takes 2 arguments", name);
        return NULL;
    }
    if (!same_arrays(args[0], args[1], &t))
        Py_RETURN_NONE;
    PyObject *gx = new_like(args[0], t);
    if (gx == NULL)
        return NULL;
    const Py_ssize_t n = PyArray_SIZE((PyArrayObject *)args[0]);
    if (t == NPY_FLOAT32)
        f32(DATA(args[0], float), DATA(args[1], float), DATA(gx, float), n);
    else
        f64(DATA(args[0], double), DATA(args[1], double), DATA(gx, double), n);
    return gx;
}

static PyObject *
sigmoid_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return call_map_2("sigmoid_backward", args, nargs, sigmoid_backward_f32,
                      sigmoid_backward_f64);
}

static PyObject *
tanh_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return call_map_2("tanh_backward", args, nargs, tanh_backward_f32, tanh_backward_f64);
}


/* ------------------------------------------------- rows added at repeated indices */
/* buffer[index[i]] += values[i] for i = 0, 1, ... in order: NumPy's add.at(buffer, index,
 * values) along the first axis (an embedding table's gradient, its ids repeating), with
 * the same float additions in the same order, so the same bits; add.at costs ~80 ns an
 * index on NumPy 2 (a (64, 32) batch of ids: ~170 µs), this loop a few. Not a KERNEL
 * clone: the rows are short (an embedding's width), and a row may repeat, so the loop
 * over i stays in order. */
#define SCATTER_ADD_ROWS(NAME, T, I)                                                       \
    static void NAME(T *buffer, const I *index, const T *values, Py_ssize_t n,             \
                     Py_ssize_t rows, Py_ssize_t d)                                        \
    {                                                                                      \
        for (Py_ssize_t i = 0; i < n; i++) {                                               \
            Py_ssize_t k = (Py_ssize_t)index[i];                                           \
            T *row = buffer + (k < 0 ? k + rows : k) * d;                                  \
            const T *v = values + i * d;                                                   \
            for (Py_ssize_t j = 0; j < d; j++)                                             \
                row[j] += v[j];                                                            \
        }                                                                                  \
    }
SCATTER_ADD_ROWS(scatter_add_rows_f32_i64, float, npy_int64)
SCATTER_ADD_ROWS(scatter_add_rows_f64_i64, double, npy_int64)
SCATTER_ADD_ROWS(scatter_add_rows_f32_i32, float, npy_int32)
SCATTER_ADD_ROWS(scatter_add_rows_f64_i32, double, npy_int32)

/* Whether `obj` is an exact ndarray, C-contiguous, aligned, in native byte order. */
static int
plain_array(PyObject *obj)
{
    if (!PyArray_CheckExact(obj))
        return 0;
    PyArrayObject *a = (PyArrayObject *)obj;
    return PyArray_IS_C_CONTIGUOUS(a) && PyArray_ISALIGNED(a) && PyArray_ISNOTSWAPPED(a);
}

/* scatter_add_rows(buffer, index, values): True once done; None, having written nothing,
 * for arrays it does not take (the caller then uses add.at): buffer (V, ...) float32 or
 * float64 and writable, index int64 or int32 of any shape, every entry in [-V, V), values
 * of shape index.shape + buffer.shape[1:] and buffer's dtype, not overlapping buffer;
 * each a C-contiguous, aligned, native-order ndarray. */
static PyObject *
scatter_add_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "scatter_add_rows takes 3 arguments");
        return NULL;
    }
    if (!plain_array(args[0]) || !plain_array(args[1]) || !plain_array(args[2]))
        Py_RETURN_NONE;
    PyArrayObject *buf = (PyArrayObject *)args[0], *idx = (PyArrayObject *)args[1],
                  *val = (PyArrayObject *)args[2];
    const int t = PyArray_TYPE(buf), it = PyArray_TYPE(idx);
    const int nb = PyArray_NDIM(buf), ni = PyArray_NDIM(idx);
    if ((t != NPY_FLOAT32 && t != NPY_FLOAT64) || PyArray_TYPE(val) != t || nb < 1 ||
        !PyArray_ISWRITEABLE(buf) || (it != NPY_INT64 && it != NPY_INT32) ||
        PyArray_NDIM(val) != ni + nb - 1)
        Py_RETURN_NONE;
    for (int a = 0; a < ni; a++)
        if (PyArray_DIM(val, a) != PyArray_DIM(idx, a))
            Py_RETURN_NONE;
    for (int a = 1; a < nb; a++)
        if (PyArray_DIM(val, ni + a - 1) != PyArray_DIM(buf, a))
            Py_RETURN_NONE;
    const Py_ssize_t rows = PyArray_DIM(buf, 0), n = PyArray_SIZE(idx);
    const Py_ssize_t d = rows ? PyArray_SIZE(buf) / rows : 0;
    const char *b0 = PyArray_BYTES(buf), *v0 = PyArray_BYTES(val);
    if (b0 < v0 + PyArray_NBYTES(val) && v0 < b0 + PyArray_NBYTES(buf))
        Py_RETURN_NONE; /* (overlapping: an addition could change values still to add) */
    for (Py_ssize_t i = 0; i < n; i++) { /* every index first: nothing written for a bad one */
        const Py_ssize_t k = it == NPY_INT64 ? (Py_ssize_t)DATA(idx, npy_int64)[i]
                                             : (Py_ssize_t)DATA(idx, npy_int32)[i];
        if (k < -rows || k >= rows)
            Py_RETURN_NONE;
    }
    Py_BEGIN_ALLOW_THREADS
    if (it == NPY_INT64) {
        if (t == NPY_FLOAT32)
            scatter_add_rows_f32_i64(DATA(buf, float), DATA(idx, npy_int64), DATA(val, float),
                                     n, rows, d);
        else
            scatter_add_rows_f64_i64(DATA(buf, double), DATA(idx, npy_int64),
                                     DATA(val, double), n, rows, d);
    }
    else {
        if (t == NPY_FLOAT32)
            scatter_add_rows_f32_i32(DATA(buf, float), DATA(idx, npy_int32), DATA(val, float),
                                     n, rows, d);
        else
            scatter_add_rows_f64_i32(DATA(buf, double), DATA(idx, npy_int32),
                                     DATA(val, double), n, rows, d);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_TRUE;
}


/* ------------------------------------------------------------------ GELU, exact form */
/* gelu(x) = x Φ(x) and its slope Φ(x) + x φ(x), Φ(x) = ½ erfc(−x/√2), φ(x) = e^(−x²/2)/√(2π),
 * where glibc's libmvec has vector erfc (glibc 2.35 on, x86-64; setup.py then defines
 * TGS_VECTOR_ERFC): NumPy has no erf, and the NumPy path (_special.py, Cody's rational
 * approximations) makes ~40 passes over the array, ~35 ns an element, where this takes ~2.
 * Computed in double for float32 and float64 alike and rounded once: libmvec's erfc is
 * within a few units in the last place of double (measured: 3 at most against math.erfc,
 * over the whole line and the subnormal left tail), so a float32 result is float64's
 * rounded. −x/√2 is rounded as the NumPy path rounds it. x = −inf reads as the lowest
 * finite double (Φ = 0 there, and −inf · 0 would be NaN): gelu(−inf) = −0, slope 0; the
 * slope at +inf is 1 (x φ(x) = inf · 0 read as DBL_MAX · 0); NaN stays NaN. The slope is
 * made in the forward pass, while Φ(x) is at hand, and kept for the backward (one array,
 * as the NumPy path keeps Φ): computed in double, the float32 slope keeps its digits near
 * its zero (x ≈ −0.75, where Φ and x φ cancel). */
#if defined(TGS_VECTOR_ERFC)
#pragma omp declare simd notinbranch
extern double erfc(double);
#if !defined(TGS_VECTOR_EXP)
#pragma omp declare simd notinbranch
extern double exp(double);
#endif

#define GELU_SQRT_HALF 0.70710678118654752440
#define GELU_INV_SQRT_2PI 0.39894228040143267794

#define GELU_FORWARD(NAME, T)                                                              \
    KERNEL NAME(const T *x, T *y, Py_ssize_t n)                                            \
    {                                                                                      \
        SIMD()                                                                             \
        for (Py_ssize_t i = 0; i < n; i++) {                                               \
            const double v = x[i], cdf = erfc(v * -GELU_SQRT_HALF) * 0.5;                  \
            y[i] = (T)((v < -DBL_MAX ? -DBL_MAX : v) * cdf);                               \
        }                                                                                  \
    }
GELU_FORWARD(gelu_forward_f32, float)
GELU_FORWARD(gelu_forward_f64, double)

#define GELU_FORWARD_SLOPE(NAME, T)                                                        \
    KERNEL NAME(const T *x, T *y, T *slope, Py_ssize_t n)                                  \
    {                                                                                      \
        SIMD()                                                                             \
        for (Py_ssize_t i = 0; i < n; i++) {                                               \
            const double v = x[i], cdf = erfc(v * -GELU_SQRT_HALF) * 0.5;                  \
            const double u = v < -DBL_MAX ? -DBL_MAX : v, w = u > DBL_MAX ? DBL_MAX : u;   \
            const double pdf = exp(-0.5 * (w * w)) * GELU_INV_SQRT_2PI;                    \
            y[i] = (T)(u * cdf);                                                           \
            slope[i] = (T)(cdf + w * pdf);                                                 \
        }                                                                                  \
    }
GELU_FORWARD_SLOPE(gelu_forward_slope_f32, float)
GELU_FORWARD_SLOPE(gelu_forward_slope_f64, double)

/* gelu(x, want_slope): x Φ(x) in a new array, or (x Φ(x), Φ(x) + x φ(x)) when want_slope
 * is true; None for an x it does not take: not a float32/float64 ndarray, C-contiguous,
 * aligned and in native byte order (0-d and empty ones are taken) */
static PyObject *
gelu(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "gelu takes 2 arguments");
        return NULL;
    }
    PyObject *x = args[0];
    const int want_slope = PyObject_IsTrue(args[1]);
    if (want_slope < 0)
        return NULL;
    if (!plain_array(x))
        Py_RETURN_NONE;
    const int t = PyArray_TYPE((PyArrayObject *)x);
    if (t != NPY_FLOAT32 && t != NPY_FLOAT64)
        Py_RETURN_NONE;
    const Py_ssize_t n = PyArray_SIZE((PyArrayObject *)x);
    PyObject *y = new_like(x, t);
    if (y == NULL)
        return NULL;
    if (!want_slope) {
        Py_BEGIN_ALLOW_THREADS
        if (t == NPY_FLOAT32)
            gelu_forward_f32(DATA(x, float), DATA(y, float), n);
        else
            gelu_forward_f64(DATA(x, double), DATA(y, double), n);
        Py_END_ALLOW_THREADS
        return y;
    }
    PyObject *slope = new_like(x, t);
    if (slope == NULL) {
        Py_DECREF(y);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (t == NPY_FLOAT32)
        gelu_forward_slope_f32(DATA(x, float), DATA(y, float), DATA(slope, float), n);
    else
        gelu_forward_slope_f64(DATA(x, double), DATA(y, double), DATA(slope, double), n);
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(NN)", y, slope);
}
#endif


/* ----------------------------------------------------------- a BLAS matrix product */
/* C = A B through a CBLAS ?gemm whose address the caller gives (MKL's, which _mkl.py
 * loads with ctypes). A ctypes call costs ~4 µs more than a C one, on products that take
 * 25-800 µs: a Transformer block makes fifteen of them a step, an MLP's five. The
 * integers are 32-bit (MKL's LP64 interface, which _mkl.py selects). */
typedef void (*sgemm_f)(int, int, int, int, int, int, float, const float *, int,
                        const float *, int, float, float *, int);
typedef void (*dgemm_f)(int, int, int, int, int, int, double, const double *, int,
                        const double *, int, double, double *, int);
static sgemm_f blas_sgemm = NULL;
static dgemm_f blas_dgemm = NULL;

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 }; /* CBLAS's values */

/* set_gemm(sgemm address, dgemm address): 0 for none */
static PyObject *
set_gemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set_gemm takes 2 arguments");
        return NULL;
    }
    void *s = PyLong_AsVoidPtr(args[0]);
    if (s == NULL && PyErr_Occurred())
        return NULL;
    void *d = PyLong_AsVoidPtr(args[1]);
    if (d == NULL && PyErr_Occurred())
        return NULL;
    blas_sgemm = (sgemm_f)s;
    blas_dgemm = (dgemm_f)d;
    Py_RETURN_NONE;
}

/* How CBLAS reads the 2-D array `a` as it lies in memory: rows `ld` elements apart
 * (NO_TRANS), or a transposed view of such an array (TRANS); 0 if neither (strided both
 * ways, or a leading dimension past 32-bit integers). As _mkl._layout. */
static int
blas_layout(PyArrayObject *a, int *trans, int *ld)
{
    const npy_intp item = PyArray_ITEMSIZE(a), rows = PyArray_DIM(a, 0),
                   cols = PyArray_DIM(a, 1), rs = PyArray_STRIDE(a, 0),
                   cs = PyArray_STRIDE(a, 1);
    npy_intp lead;
    if (cs == item && rs % item == 0 && rs >= cols * item) {
        *trans = NO_TRANS;
        lead = rs / item;
    }
    else if (rs == item && cs % item == 0 && cs >= rows * item) {
        *trans = TRANS;
        lead = cs / item;
    }
    else
        return 0;
    if (lead < 1 || lead > INT_MAX)
        return 0;
    *ld = (int)lead;
    return 1;
}

/* gemm(a, b): a @ b for 2-D float32/float64 ndarrays of one dtype, aligned and in native
 * byte order, laid out as CBLAS reads them, with every size from 1 to 2³¹ − 1, in a new
 * C-contiguous array; None for anything else, or when no gemm was set. */
static PyObject *
gemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "gemm takes 2 arguments");
        return NULL;
    }
    if (!PyArray_CheckExact(args[0]) || !PyArray_CheckExact(args[1]))
        Py_RETURN_NONE;
    PyArrayObject *a = (PyArrayObject *)args[0], *b = (PyArrayObject *)args[1];
    const int t = PyArray_TYPE(a);
    /* the routines as they are now, read with the GIL held: another thread's set_gemm
     * cannot change them under the call below, which runs without it */
    const sgemm_f sgemm = blas_sgemm;
    const dgemm_f dgemm = blas_dgemm;
    if (PyArray_NDIM(a) != 2 || PyArray_NDIM(b) != 2 || PyArray_TYPE(b) != t ||
        !(t == NPY_FLOAT32 ? sgemm != NULL : t == NPY_FLOAT64 && dgemm != NULL) ||
        !PyArray_ISALIGNED(a) || !PyArray_ISALIGNED(b) || !PyArray_ISNOTSWAPPED(a) ||
        !PyArray_ISNOTSWAPPED(b))
        Py_RETURN_NONE;
    const npy_intp m = PyArray_DIM(a, 0), k = PyArray_DIM(a, 1), n = PyArray_DIM(b, 1);
    int ta, tb, lda, ldb;
    if (PyArray_DIM(b, 0) != k || m < 1 || k < 1 || n < 1 || m > INT_MAX || k > INT_MAX ||
        n > INT_MAX || !blas_layout(a, &ta, &lda) || !blas_layout(b, &tb, &ldb))
        Py_RETURN_NONE;
    npy_intp dims[2] = {m, n};
    PyObject *c = PyArray_SimpleNew(2, dims, t);
    if (c == NULL)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (t == NPY_FLOAT32)
        sgemm(ROW_MAJOR, ta, tb, (int)m, (int)n, (int)k, 1.0f, PyArray_DATA(a), lda,
              PyArray_DATA(b), ldb, 0.0f, DATA(c, float), (int)n);
    else
        dgemm(ROW_MAJOR, ta, tb, (int)m, (int)n, (int)k, 1.0, PyArray_DATA(a), lda,
              PyArray_DATA(b), ldb, 0.0, DATA(c, double), (int)n);
    Py_END_ALLOW_THREADS
    return c;
}


/* ------------------------------------------------------------ the Python functions */
#if defined(TGS_VECTOR_EXP)
static PyObject *
softmax_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return call_rows_1("softmax_forward", args, nargs, softmax_forward_f32,
                       softmax_forward_f64);
}
#endif

static PyObject *
softmax_shift(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return call_rows_1("softmax_shift", args, nargs, softmax_shift_f32, softmax_shift_f64);
}

static PyObject *
softmax_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return call_rows_2("softmax_backward", args, nargs, 0, softmax_backward_f32,
                       softmax_backward_f64);
}

static PyObject *
add_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return call_rows_2("add_rows", args, nargs, 1, add_rows_f32, add_rows_f64);
}

static PyObject *
relu_backward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return call_rows_2("relu_backward", args, nargs, 0, relu_backward_f32, relu_backward_f64);
}

/* ------------------------------------------------------------------ sum of squares */
/* sum_squares(x): Σ x² of a float32/float64 array laid out in rows (as spaced_rows takes
 * them), summed in double, as a Python float; None for an x it does not take. For the
 * gradient norms a backward records (autograd._norm, record_grad_norms): one call where
 * NumPy's path takes four or more, and float32 squares, which underflow below ~1e-19 in
 * float32 (a vanishing gradient), always fit a double. Four partial sums, so the adds
 * need not wait for each other (strict IEEE order forbids the compiler to split one). */
#define SUM_SQUARES(NAME, T)                                                               \
    static double NAME(const T *x, Py_ssize_t rows, Py_ssize_t d, Py_ssize_t step)         \
    {                                                                                      \
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                             \
        for (Py_ssize_t i = 0; i < rows; i++) {                                            \
            const T *xi = x + i * step;                                                    \
            Py_ssize_t j = 0;                                                              \
            for (; j + 4 <= d; j += 4) {                                                   \
                const double a = xi[j], b = xi[j + 1], c = xi[j + 2], e = xi[j + 3];       \
                s0 += a * a;                                                               \
                s1 += b * b;                                                               \
                s2 += c * c;                                                               \
                s3 += e * e;                                                               \
            }                                                                              \
            for (; j < d; j++) {                                                           \
                const double a = xi[j];                                                    \
                s0 += a * a;                                                               \
            }                                                                              \
        }                                                                                  \
        return (s0 + s1) + (s2 + s3);                                                      \
    }
SUM_SQUARES(sum_squares_f32, float)
SUM_SQUARES(sum_squares_f64, double)

static PyObject *
sum_squares(PyObject *self, PyObject *x)
{
    int t;
    Py_ssize_t rows, d, step;
    if (!spaced_rows(x, &t, &rows, &d, &step))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(t == NPY_FLOAT32 ? sum_squares_f32(DATA(x, float), rows, d, step)
                                               : sum_squares_f64(DATA(x, double), rows, d, step));
}

/* a METH_FASTCALL entry of the table below: the function, under its own name */
#define FASTCALL(name, doc) {#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL, doc}

static PyMethodDef methods[] = {
    {"install_allocator", install_allocator, METH_O,
     "install_allocator(min_bytes): align NumPy's data blocks of at least min_bytes to 64 "
     "bytes (smaller ones stay with NumPy's allocator); False where it cannot."},
    FASTCALL(layer_norm_forward,
     "layer_norm_forward(x, gain, bias, eps, y, mean, rstd)"),
    FASTCALL(layer_norm_backward,
     "layer_norm_backward(g, x, mean, rstd, gain, gx, g_gain or None, g_bias or None)"),
    FASTCALL(softmax_shift,
     "softmax_shift(x, y): y = x - the max of its row"),
#if defined(TGS_VECTOR_EXP)
    FASTCALL(softmax_forward,
     "softmax_forward(x, y): y = softmax of each row of x"),
#endif
    {"softmax_normalize", softmax_normalize, METH_O,
     "softmax_normalize(y): each row divided by its sum, in place"},
    FASTCALL(softmax_backward,
     "softmax_backward(g, y, gx): gx = y * (g - sum(g * y) over the row)"),
    FASTCALL(add_rows,
     "add_rows(x, b, out): out = x + b, b added to every row of x"),
    FASTCALL(relu_backward,
     "relu_backward(g, y, gx): gx = g where y > 0, else 0"),
    {"sum_squares", sum_squares, METH_O,
     "sum_squares(x): the sum of x's squares in double, or None for an x it does not take"},
#if defined(TGS_VECTOR_EXP)
    {"sigmoid", sigmoid, METH_O,
     "sigmoid(x): 1/(1 + exp(-x)) in a new array, or None for an x it does not take"},
#endif
    FASTCALL(sigmoid_backward,
     "sigmoid_backward(g, s): (1 - s) * s * g in a new array, or None"),
    FASTCALL(tanh_backward,
     "tanh_backward(g, y): g - y * y * g in a new array, or None"),
#if defined(TGS_VECTOR_ERFC)
    FASTCALL(gelu,
     "gelu(x, want_slope): x * Phi(x), or (x * Phi(x), Phi(x) + x * phi(x)); None for an "
     "x it does not take"),
#endif
    FASTCALL(scatter_add_rows,
     "scatter_add_rows(buffer, index, values): add.at along axis 0; True, or None"),
    FASTCALL(set_gemm,
     "set_gemm(sgemm_address, dgemm_address): the CBLAS products gemm calls (0: none)"),
    FASTCALL(gemm,
     "gemm(a, b): a @ b through the CBLAS product set_gemm gave, or None"),
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native_ext", "Compiled helpers for tinygrad_seq (see _native.py).",
    -1, methods,
};

/* The version of this file's functions and their arguments, which _native.py checks: an
 * extension built from an older source (a checkout pulled but not rebuilt) is then not
 * used, rather than called with arguments it does not take. Raise it with any change to
 * a function's arguments or results. */
#define ABI_VERSION 5

PyMODINIT_FUNC
PyInit__native_ext(void)
{
    import_array();
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "ABI_VERSION", ABI_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
