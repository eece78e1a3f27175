/* The part of libtally nobody in this image calls: order statistics,
 * histograms and JSON output, and the helpers only they reach. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"
#include "tally-internal.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double *tally_sorted_copy(const struct tally *t) {
    double *c = malloc((t->n ? t->n : 1) * sizeof *c);
    if (!c)
        return NULL;
    memcpy(c, t->v, t->n * sizeof *c);
    qsort(c, t->n, sizeof *c, cmp_double);
    return c;
}

double tally_percentile(const struct tally *t, double p) {
    if (t->n == 0 || p < 0 || p > 100)
        return NAN;
    double *c = tally_sorted_copy(t);
    if (!c)
        return NAN;
    double rank = p / 100.0 * (double)(t->n - 1);
    size_t lo = (size_t)floor(rank), hi = (size_t)ceil(rank);
    double r = c[lo] + (c[hi] - c[lo]) * (rank - (double)lo);
    free(c);
    return r;
}

double tally_median(const struct tally *t) { return tally_percentile(t, 50); }

int tally_histogram(const struct tally *t, unsigned *bins, int nbins) {
    if (nbins <= 0 || t->n == 0)
        return -1;
    double lo = t->v[0], hi = t->v[0];
    for (size_t i = 1; i < t->n; i++) {
        if (t->v[i] < lo) lo = t->v[i];
        if (t->v[i] > hi) hi = t->v[i];
    }
    memset(bins, 0, (size_t)nbins * sizeof *bins);
    for (size_t i = 0; i < t->n; i++) {
        int b = hi > lo ? (int)((t->v[i] - lo) / (hi - lo) * nbins) : 0;
        bins[b < nbins ? b : nbins - 1]++;
    }
    return 0;
}

static int json_number(char *buf, size_t size, const char *key, double x, int last) {
    if (isnan(x) || isinf(x))
        return snprintf(buf, size, "\"%s\":null%s", key, last ? "" : ",");
    return snprintf(buf, size, "\"%s\":%.17g%s", key, x, last ? "" : ",");
}

int tally_to_json(const struct tally *t, char *buf, size_t size) {
    static const double pcts[] = {1, 5, 10, 25, 50, 75, 90, 95, 99};
    unsigned bins[16];
    size_t used = 0;
    int n = snprintf(buf, size, "{\"count\":%zu,", t->n);
    if (n < 0)
        return -1;
    used += (size_t)n;
    n = json_number(buf + (used < size ? used : size), used < size ? size - used : 0,
                    "mean", tally_mean(t), 0);
    used += (size_t)n;
    n = json_number(buf + (used < size ? used : size), used < size ? size - used : 0,
                    "stddev", tally_stddev(t), 0);
    used += (size_t)n;
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        char key[16];
        snprintf(key, sizeof key, "p%g", pcts[i]);
        n = json_number(buf + (used < size ? used : size), used < size ? size - used : 0,
                        key, tally_percentile(t, pcts[i]), 0);
        used += (size_t)n;
    }
    n = snprintf(buf + (used < size ? used : size), used < size ? size - used : 0,
                 "\"histogram\":[");
    used += (size_t)n;
    if (tally_histogram(t, bins, 16) == 0) {
        for (int i = 0; i < 16; i++) {
            n = snprintf(buf + (used < size ? used : size), used < size ? size - used : 0,
                         "%u%s", bins[i], i < 15 ? "," : "");
            used += (size_t)n;
        }
    }
    n = snprintf(buf + (used < size ? used : size), used < size ? size - used : 0, "]}");
    used += (size_t)n;
    return used < size ? (int)used : -1;
}
