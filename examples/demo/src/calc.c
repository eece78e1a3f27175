#include "core.h"
#include "util.h"
int mathx_square(int);
int main(void) {
  int v[] = {1, 2, 3, 4};
  util_report("sum", util_sum(v, 4));
  util_report("scaled", util_scaled_sum(v, 4));
  util_report("square", mathx_square(7));
  return 0;
}
