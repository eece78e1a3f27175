/* The part of libtally the program uses: storage, mean, stddev. */
#include <math.h>
#include <stdlib.h>

#include "tally.h"
#include "tally-internal.h"

struct tally *tally_new(void) {
    return calloc(1, sizeof(struct tally));
}

void tally_free(struct tally *t) {
    if (t) {
        free(t->v);
        free(t);
    }
}

int tally_add(struct tally *t, double x) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        double *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = x;
    return 0;
}

size_t tally_count(const struct tally *t) { return t->n; }

double tally_mean(const struct tally *t) {
    double s = 0;
    for (size_t i = 0; i < t->n; i++)
        s += t->v[i];
    return t->n ? s / (double)t->n : 0.0;
}

double tally_stddev(const struct tally *t) {
    double m = tally_mean(t), s = 0;
    for (size_t i = 0; i < t->n; i++)
        s += (t->v[i] - m) * (t->v[i] - m);
    return t->n > 1 ? sqrt(s / (double)(t->n - 1)) : 0.0;
}
