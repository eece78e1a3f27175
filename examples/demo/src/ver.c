/* libver: a versioned library (see ver.map); ver_old is kept for old binaries. */
__asm__(".symver ver_compute_v1, ver_compute@VER_1");
__asm__(".symver ver_compute_v2, ver_compute@@VER_2");
int ver_compute_v1(int x) { return x + 1; }
int ver_compute_v2(int x) { return x + 2; }
int ver_helper_unused(int x) { return x * 42; }
