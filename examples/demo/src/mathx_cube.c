int mathx_square(int v);
int mathx_cube(int v) { return mathx_square(v) * v; }
