/* libutil: depends on libcore. */
#include <stdio.h>
#include "core.h"
#include "util.h"

int util_sum(const int *v, int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s = core_add(s, v[i]);
  return s;
}
int util_scaled_sum(const int *v, int n) { return core_scale(util_sum(v, n)); }
int util_report(const char *label, int value) { return printf("%s: %d\n", label, value); }
/* Only reached from here: hiding it frees core_unused_debug_dump too. */
int util_legacy_format(int value) { return core_unused_debug_dump() + value; }
