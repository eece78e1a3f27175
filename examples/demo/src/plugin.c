/* plugin.so: loaded by name with dlopen; its entry point found with dlsym. */
#include "util.h"
int demo_plugin_entry(int x) { return util_report("plugin", x * 10); }
int demo_plugin_unused(void) { return 0; }
