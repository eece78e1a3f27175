#include "core.h"
#include "util.h"
int mathx_cube(int);
int ver_compute(int);
int main(int argc, char **argv) {
  const char *s = argc > 1 ? argv[1] : "ldprune";
  util_report("checksum", core_checksum(s));
  util_report("cube", mathx_cube(3));
  util_report("versioned", ver_compute(40));
  return 0;
}
