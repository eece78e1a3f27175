#ifndef DEMO_UTIL_H
#define DEMO_UTIL_H
int util_sum(const int *v, int n);
int util_scaled_sum(const int *v, int n);
int util_report(const char *label, int value);
int util_legacy_format(int value);
#endif
