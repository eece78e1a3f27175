#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *h = dlopen("libdemoplugin.so", RTLD_NOW);
  if (!h) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
  int (*entry)(int) = (int (*)(int))dlsym(h, "demo_plugin_entry");
  if (!entry) { fprintf(stderr, "dlsym: %s\n", dlerror()); return 1; }
  entry(4);
  return 0;
}
