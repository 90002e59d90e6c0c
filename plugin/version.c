/*
 * version.c: what this plugin is, readable without loading it. `cflow version` reads the
 * section below from the file with libelf (tool/cmd-version.c): loading the plugin into the
 * tool instead would need QEMU's symbols, and run the constructors of everything it links.
 * `readelf -p .cflow_version libcflow.so` shows the same text.
 *
 * One "key value" line each: the plugin's version, the profile format version it writes, and
 * the QEMU it was compiled against (its version and plugin API version).
 */
#include <glib.h>
#include <qemu-plugin.h>

#include "profile.h"

#define PROFILE_FORMAT_TEXT "1"
G_STATIC_ASSERT(CFLOW_PROFILE_VERSION == 1); /* PROFILE_FORMAT_TEXT says the same */

__attribute__((used, section(".cflow_version"))) static const char plugin_version[] =
    "cflow-plugin " CFLOW_VERSION "\n"
    "profile-format " PROFILE_FORMAT_TEXT "\n"
    "qemu " CFLOW_QEMU_VERSION "\n"
    "qemu-plugin-api " G_STRINGIFY(QEMU_PLUGIN_VERSION) "\n";
