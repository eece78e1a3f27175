#ifndef TALLY_INTERNAL_H
#define TALLY_INTERNAL_H

#include <stddef.h>

struct tally {
    double *v;
    size_t n, cap;
};

/* Shared by the library's files, so exported, but not for programs. */
double *tally_sorted_copy(const struct tally *t);

#endif
