#ifndef DEMO_CORE_H
#define DEMO_CORE_H
int core_add(int a, int b);
int core_scale(int v);
int core_checksum(const char *s);
int core_unused_debug_dump(void);
#endif
