/*
 * fixture-switch.c: a third compile unit of the fixture (fixture.c), for lcov's case labels:
 * a label has no code of its own, yet gcov gives it the count of the code it leads to.
 */
int fixture_switch(int k);

int fixture_switch(int k)
{
    switch (k) {
    case 1: /* MARK case_one */
        return 10; /* MARK return_ten */
    default: /* MARK default */
        return 20; /* MARK return_twenty */
    }
}
