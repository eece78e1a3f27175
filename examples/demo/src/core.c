/* libcore: the base library everything links against. */
#include <stdio.h>
#include "core.h"

int core_add(int a, int b) { return a + b; }
int core_scale(int v) { return core_add(v, v) * 3; }
int core_checksum(const char *s) {
  int sum = 0;
  while (*s) sum = sum * 31 + *s++;
  return sum;
}
/* Exported, but no program of the demo calls it. */
int core_unused_debug_dump(void) {
  printf("core: nothing to dump\n");
  return core_checksum("debug");
}
