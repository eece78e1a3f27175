/* libtally: running statistics over a series of numbers. The program
 * (main.c) uses the counting and mean/stddev part; the rest is exported
 * but used by nobody in this image, which is what ldprune removes. */
#ifndef TALLY_H
#define TALLY_H

#include <stddef.h>

struct tally;

/* Used by the program. */
struct tally *tally_new(void);
void tally_free(struct tally *t);
int tally_add(struct tally *t, double x);
size_t tally_count(const struct tally *t);
double tally_mean(const struct tally *t);
double tally_stddev(const struct tally *t);

/* Used by nobody. */
double tally_median(const struct tally *t);
double tally_percentile(const struct tally *t, double p);
int tally_histogram(const struct tally *t, unsigned *bins, int nbins);
int tally_to_json(const struct tally *t, char *buf, size_t size);

#endif
