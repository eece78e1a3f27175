/* tally: reads numbers from the command line (or a built-in series) and
 * prints their count, mean and standard deviation. */
#include <stdio.h>
#include <stdlib.h>

#include "tally.h"

int main(int argc, char **argv) {
    static const double series[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9};
    struct tally *t = tally_new();
    if (!t)
        return 1;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            tally_add(t, strtod(argv[i], NULL));
    } else {
        for (size_t i = 0; i < sizeof series / sizeof series[0]; i++)
            tally_add(t, series[i]);
    }
    printf("count %zu mean %.4f stddev %.4f\n", tally_count(t), tally_mean(t), tally_stddev(t));
    tally_free(t);
    return 0;
}
