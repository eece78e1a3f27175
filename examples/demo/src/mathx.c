/* libmathx.a members: a static archive, linked into programs. */
int mathx_square(int v) { return v * v; }
