/*
 * shlib.c: the shared library of the dynamically linked guest (shlib-main.c): its branch must
 * be reported at this file's lines, found through the profile's maps and the library's DWARF.
 */
unsigned long lib_work(unsigned n)
{
    unsigned long acc = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i % 5 == 0) { /* LIB-BRANCH */
            acc += i;
        }
    }
    return acc;
}
