/*
 * fixture-inline.c: a second compile unit of the fixture (fixture.c), with code inlined even
 * at -O0: an address in it belongs to the function it was inlined in, on the inlined line.
 * Apart from fixture.c so that the exporter tests' run (no code of this unit) sees none of it.
 */
int fixture_outer(int x);

static inline __attribute__((always_inline)) int fixture_inlined(int x) { return x * x - 7; } /* MARK fixture_inlined */
int fixture_outer(int x) { return fixture_inlined(x + 1) + fixture_inlined(x); } /* MARK fixture_outer */
