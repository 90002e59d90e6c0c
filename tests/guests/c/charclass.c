/*
 * charclass.c: the pictures' guest (tests/integration/test_tool_dot.py, test_export_*.py): a
 * character classifier reading standard input, as a new user would first profile. Its main
 * loop contains calls (getchar, and isspace/isdigit through the C library), so a graph of main
 * is one connected piece only if calls are drawn to where they return.
 *
 * Counts known by construction for an input of R copies of "ab 12\n" (6 characters: two
 * letters, two spaces (' ', '\n'), two digits): getchar is called 6R + 1 times (the last
 * returns EOF), the CC-ISSPACE line runs 6R times, CC-ISDIGIT 4R, the CC-SPACE, CC-DIGIT and
 * CC-OTHER lines 2R times each, CC-RETURN once, and all of main's code runs.
 * Lines are found through the CC-* markers, never by number.
 */
#include <ctype.h>
#include <stdio.h>

int main(void)
{
    long spaces = 0, digits = 0, others = 0;
    int c;
    while ((c = getchar()) != EOF) { /* CC-LOOP */
        if (isspace(c)) { /* CC-ISSPACE */
            spaces++; /* CC-SPACE */
        } else if (isdigit(c)) { /* CC-ISDIGIT */
            digits++; /* CC-DIGIT */
        } else {
            others++; /* CC-OTHER */
        }
    }
    printf("%ld spaces, %ld digits, %ld others\n", spaces, digits, others);
    return 0; /* CC-RETURN */
}
