/*
 * fixture.c: a small ELF file with DWARF for the tool's unit tests (tests/tool), built at -O0
 * and never run: the tests place profile instructions at its functions' addresses and check
 * the names and lines the tool finds for them. Each function stands on one line, so every
 * instruction of it has that line; the tests find a function's line by its marker comment.
 */
int fixture_leaf(int x);
int fixture_add(int a, int b);
int fixture_loop(int n);
int fixture_switch(int k);

int fixture_leaf(int x) { return x * 3 + 1; } /* MARK fixture_leaf */
int fixture_add(int a, int b) { return fixture_leaf(a) + fixture_leaf(b); } /* MARK fixture_add */
int fixture_loop(int n) { int s = 0; for (int i = 0; i < n; i++) { s += fixture_add(i, s); } return s; } /* MARK fixture_loop */
