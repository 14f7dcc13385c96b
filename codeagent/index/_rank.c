/* Personalized PageRank over the factored definition/reference graph (see rank.py).
 *
 * The same arithmetic, in the same order, as rank.py's pure-Python fallback, so both give
 * bit-identical ranks (build with -ffp-contract=off: no fused multiply-adds).
 *
 * rank(def_off, def_ident, ref_off, ref_ident, ref_count, ident_mul, file_mul,
 *      personalization, damping, tol, max_iter) -> (file_rank, ident_score, order, iterations)
 *
 * Int arrays are array('i'), float arrays array('d'). file_rank (n doubles) and ident_score
 * (m doubles) come back as bytes; order (bytes of ints) lists the positions in def_ident sorted
 * by score descending, ties by position, leaving out definitions nobody references.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double score;
    int pos;
} Entry;

static int by_score(const void *a, const void *b) {
    const Entry *x = (const Entry *)a, *y = (const Entry *)b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static PyObject *rank(PyObject *self, PyObject *args) {
    Py_buffer b_doff, b_did, b_roff, b_rid, b_rcnt, b_imul, b_fmul, b_pers;
    double damping, tol;
    int max_iter;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*ddi", &b_doff, &b_did, &b_roff, &b_rid,
                          &b_rcnt, &b_imul, &b_fmul, &b_pers, &damping, &tol, &max_iter))
        return NULL;

    const int *def_off = b_doff.buf, *def_ident = b_did.buf, *ref_off = b_roff.buf;
    const int *ref_ident = b_rid.buf, *ref_count = b_rcnt.buf;
    const double *ident_mul = b_imul.buf, *file_mul = b_fmul.buf, *pers = b_pers.buf;
    Py_ssize_t n = b_doff.len / (Py_ssize_t)sizeof(int) - 1;
    Py_ssize_t m = b_imul.len / (Py_ssize_t)sizeof(double);
    Py_ssize_t n_defs = b_did.len / (Py_ssize_t)sizeof(int);
    Py_ssize_t n_refs = b_rid.len / (Py_ssize_t)sizeof(int);
    size_t N = (size_t)(n > 0 ? n : 1), M = (size_t)(m > 0 ? m : 1);
    size_t D = (size_t)(n_defs > 0 ? n_defs : 1), R = (size_t)(n_refs > 0 ? n_refs : 1);
    PyObject *result = NULL;

    int *ndef = calloc(M, sizeof(int));     /* definers per identifier */
    int *live = calloc(M, sizeof(int));     /* identifier -> live slot + 1 (0: not live) */
    int *nref = calloc(M + 1, sizeof(int)); /* references per live slot, then offsets */
    int *by_slot_file = calloc(R, sizeof(int));
    double *by_slot_w = calloc(R, sizeof(double));
    int *def_slot = calloc(D, sizeof(int)); /* each definition's live slot, or -1 */
    double *W = calloc(N, sizeof(double));
    double *p = calloc(N, sizeof(double));
    double *x = calloc(N, sizeof(double));
    double *nx = calloc(N, sizeof(double));
    double *inflow = calloc(M, sizeof(double));
    double *score = calloc(M, sizeof(double));
    Entry *entries = calloc(D, sizeof(Entry));
    if (!ndef || !live || !nref || !by_slot_file || !by_slot_w || !def_slot || !W || !p || !x ||
        !nx || !inflow || !score || !entries) {
        PyErr_NoMemory();
        goto done;
    }

    /* Live identifiers: defined somewhere and referenced somewhere, numbered by first use. */
    for (Py_ssize_t d = 0; d < n_defs; d++) ndef[def_ident[d]] += 1;
    int slots = 0;
    for (Py_ssize_t r = 0; r < n_refs; r++) {
        int id = ref_ident[r];
        if (ndef[id] > 0 && live[id] == 0) live[id] = ++slots;
    }
    /* Weights, out-weights, and the references regrouped by slot (file order kept). */
    for (Py_ssize_t a = 0; a < n; a++) {
        for (int r = ref_off[a]; r < ref_off[a + 1]; r++) {
            if (live[ref_ident[r]]) nref[live[ref_ident[r]]] += 1;
        }
    }
    for (int k = 1; k <= slots; k++) nref[k] += nref[k - 1]; /* nref[k]: end of slot k-1 */
    int *fill = calloc((size_t)slots + 1, sizeof(int));
    if (!fill) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t a = 0; a < n; a++) {
        for (int r = ref_off[a]; r < ref_off[a + 1]; r++) {
            int id = ref_ident[r];
            if (!live[id]) continue;
            double crowd = ndef[id] > 5 ? 0.1 : 1.0;
            double w = ident_mul[id] * crowd * sqrt((double)ref_count[r]) * file_mul[a];
            W[a] += w * (double)ndef[id];
            int k = live[id] - 1;
            int at = nref[k] + fill[k]++;
            by_slot_file[at] = (int)a;
            by_slot_w[at] = w;
        }
    }
    free(fill);
    for (int k = 0; k < slots; k++) {
        for (int at = nref[k]; at < nref[k + 1]; at++) by_slot_w[at] /= W[by_slot_file[at]];
    }
    for (Py_ssize_t d = 0; d < n_defs; d++) def_slot[d] = live[def_ident[d]] - 1;

    double psum = 0.0;
    for (Py_ssize_t a = 0; a < n; a++) psum += pers[a];
    for (Py_ssize_t a = 0; a < n; a++) {
        p[a] = psum > 0.0 ? pers[a] / psum : 1.0 / (double)n;
        x[a] = p[a];
    }

    int it = 0;
    for (;;) {
        double dangling = 0.0;
        for (Py_ssize_t a = 0; a < n; a++) {
            if (W[a] == 0.0) dangling += x[a];
        }
        for (int k = 0; k < slots; k++) {
            double acc = 0.0;
            for (int at = nref[k]; at < nref[k + 1]; at++) acc += x[by_slot_file[at]] * by_slot_w[at];
            inflow[k] = acc;
        }
        if (it >= max_iter) break; /* inflow now matches the final x */
        double err = 0.0;
        for (Py_ssize_t b = 0; b < n; b++) {
            double acc = 0.0;
            for (int d = def_off[b]; d < def_off[b + 1]; d++) {
                if (def_slot[d] >= 0) acc += inflow[def_slot[d]];
            }
            nx[b] = (1.0 - damping) * p[b] + damping * dangling * p[b] + damping * acc;
            err += fabs(nx[b] - x[b]);
        }
        double *t = x;
        x = nx;
        nx = t;
        it++;
        if (err < tol) max_iter = it; /* one more pass computes inflow for the final x */
    }

    for (Py_ssize_t i = 0; i < m; i++) score[i] = live[i] ? inflow[live[i] - 1] : 0.0;
    Py_ssize_t kept = 0;
    for (Py_ssize_t d = 0; d < n_defs; d++) {
        if (def_slot[d] >= 0 && inflow[def_slot[d]] > 0.0) {
            entries[kept].score = inflow[def_slot[d]];
            entries[kept].pos = (int)d;
            kept++;
        }
    }
    qsort(entries, (size_t)kept, sizeof(Entry), by_score);
    PyObject *order = PyBytes_FromStringAndSize(NULL, kept * (Py_ssize_t)sizeof(int));
    if (order == NULL) goto done;
    int *out = (int *)PyBytes_AS_STRING(order);
    for (Py_ssize_t k = 0; k < kept; k++) out[k] = entries[k].pos;
    result = Py_BuildValue("(y#y#Ni)", (const char *)x, n * (Py_ssize_t)sizeof(double),
                           (const char *)score, m * (Py_ssize_t)sizeof(double), order, it);

done:
    free(ndef);
    free(live);
    free(nref);
    free(by_slot_file);
    free(by_slot_w);
    free(def_slot);
    free(W);
    free(p);
    free(x); /* x and nx may have been swapped; they are still the two buffers */
    free(nx);
    free(inflow);
    free(score);
    free(entries);
    PyBuffer_Release(&b_doff);
    PyBuffer_Release(&b_did);
    PyBuffer_Release(&b_roff);
    PyBuffer_Release(&b_rid);
    PyBuffer_Release(&b_rcnt);
    PyBuffer_Release(&b_imul);
    PyBuffer_Release(&b_fmul);
    PyBuffer_Release(&b_pers);
    return result;
}

static PyMethodDef methods[] = {
    {"rank", rank, METH_VARARGS, "Personalized PageRank over the factored tag graph."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rank", NULL, -1, methods};

PyMODINIT_FUNC PyInit__rank(void) { return PyModule_Create(&module); }
