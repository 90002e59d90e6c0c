/*
 * mode.c: the one place where option mode= becomes the table of the mode that runs (mode.h);
 * everything else calls through that table.
 */
#include "mode.h"

#include "hotpath.h"
#include "reference.h"

const CflowModeOps *cflow_mode_of(CflowMode mode)
{
    static const CflowModeOps *const modes[] = {
        [MODE_FAST] = &hotpath_mode,
        [MODE_REFERENCE] = &reference_mode,
    };
    return modes[mode];
}
