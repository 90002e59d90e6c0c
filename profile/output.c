/*
 * output.c: where and how a profile (or any output of the tool) reaches the file system.
 *
 * - A symbolic link is followed (through a chain, dangling or not) and its target written; the
 *   link itself is kept.
 * - A FIFO or a character device (a pipe to a consumer, /dev/null, a terminal) is written in
 *   place: renaming over it would replace the system's node with a regular file.
 * - Anything else that exists and is not a regular file (a directory, a socket, a block
 *   device) is refused.
 * - A regular file, or a new path, is replaced atomically: a temporary file with a short name
 *   of its own in the same folder (so a long file name or a long pid can never push it past
 *   NAME_MAX), flushed to disk with fsync, then renamed over the target.
 * - Files are created with the permissions the umask allowed when the writer was set up
 *   (cflow_output_pin_umask), whatever the program changed it to since.
 */
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static mode_t file_mode = 0666;
static bool mode_pinned;
static unsigned tmp_counter;

void cflow_output_pin_umask(void)
{
    mode_t m = umask(0);
    umask(m);
    file_mode = 0666 & ~m;
    mode_pinned = true;
}

static bool io_error(GError **error, int err, const char *fmt, const char *path)
{
    g_set_error(error, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO, fmt, path,
                g_strerror(err));
    return false;
}

char *cflow_output_target(const char *path)
{
    char *cur = g_strdup(path);
    for (int depth = 0; depth < 40; depth++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) {
            return cur;
        }
        char *link = g_file_read_link(cur, NULL);
        if (!link) {
            return cur;
        }
        char *next;
        if (g_path_is_absolute(link)) {
            next = link;
        } else {
            g_autofree char *dir = g_path_get_dirname(cur);
            next = g_build_filename(dir, link, NULL);
            g_free(link);
        }
        g_free(cur);
        cur = next;
    }
    return cur; /* a loop: the open below reports ELOOP */
}

/* What the target is: 1 written in place, 0 replaced atomically, -1 refused (errno-ish). */
static int target_kind(const char *target, const char **why)
{
    struct stat st;
    if (stat(target, &st) != 0) {
        return 0; /* a new file */
    }
    if (S_ISREG(st.st_mode)) {
        return 0;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        return 1;
    }
    *why = S_ISDIR(st.st_mode)   ? "is a directory"
           : S_ISSOCK(st.st_mode) ? "is a socket"
           : S_ISBLK(st.st_mode)  ? "is a block device (refused: it would be overwritten)"
                                  : "is not a regular file";
    return -1;
}

/* A temporary name beside `target`, short whatever the target's own name. */
static char *temporary_beside(const char *target)
{
    g_autofree char *dir = g_path_get_dirname(target);
    g_autofree char *name = g_strdup_printf(".cflow-%ld-%u-XXXXXX", (long)getpid(),
                                            __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED));
    return g_build_filename(dir, name, NULL);
}

bool cflow_output_check(const char *path, GError **error)
{
    g_autofree char *target = cflow_output_target(path);
    const char *why = NULL;
    int kind = target_kind(target, &why);
    if (kind < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "cannot write output '%s': %s%s%s",
                    path, strcmp(target, path) ? target : "", strcmp(target, path) ? " " : "",
                    why);
        return false;
    }
    g_autofree char *base = g_path_get_basename(target);
    if (strlen(base) > NAME_MAX) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
                    "cannot write output '%s': the file name is longer than %d bytes", path,
                    NAME_MAX);
        return false;
    }
    g_autofree char *dir = g_path_get_dirname(target);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "cannot write output '%s': folder '%s' does not exist", path, dir);
        return false;
    }
    if (kind == 1) {
        /* written in place at exit. Not opened now: a FIFO's reader would see end-of-file. */
        if (access(target, W_OK) != 0) {
            int e = errno;
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                        "cannot write output '%s': %s", path, g_strerror(e));
            return false;
        }
        return true;
    }
    /* exactly what the write will do: create a temporary file there (access() says yes to
     * root even on a read-only file system), and the target must be replaceable */
    g_autofree char *probe = temporary_beside(target);
    int fd = g_mkstemp_full(probe, O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "cannot write output '%s': %s", path, g_strerror(e));
        return false;
    }
    close(fd);
    unlink(probe);
    if (access(target, F_OK) == 0 && access(target, W_OK) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "cannot write output '%s': %s", path, g_strerror(e));
        return false;
    }
    return true;
}

/* Runs body on f, flushes; false with err set (errno or the body's error) on failure. */
static bool run_body(FILE *f, CflowWriteFunc body, const void *what, GError **local, int *err)
{
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    errno = 0;
    bool ok = body(what, f, local);
    *err = errno;
    if (ok && fflush(f) != 0) {
        ok = false;
        *err = errno;
    }
    if (ok && ferror(f)) {
        ok = false;
        *err = *err != 0 ? *err : EIO;
    }
    return ok;
}

static bool body_error(GError **error, GError *local, int err, const char *path)
{
    if (local != NULL) {
        g_propagate_prefixed_error(error, local, "cannot write %s: ", path);
        return false;
    }
    return io_error(error, err != 0 ? err : EIO, "cannot write %s: %s", path);
}

static bool write_in_place(const char *target, CflowWriteFunc body, const void *what,
                           GError **error)
{
    /* non-blocking open: a FIFO with no reader is an error, not a hang at exit */
    int fd = open(target, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return io_error(error, e, e == ENXIO ? "cannot write %s: no process reads the FIFO (%s)"
                                             : "cannot write %s: %s", target);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        return io_error(error, e, "cannot write %s: %s", target);
    }
    GError *local = NULL;
    int err = 0;
    bool ok = run_body(f, body, what, &local, &err);
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    return ok ? true : body_error(error, local, err, target);
}

bool cflow_write_file_atomic(const char *path, CflowWriteFunc body, const void *what,
                             GError **error)
{
    g_return_val_if_fail(path != NULL, false);
    g_autofree char *target = cflow_output_target(path);
    const char *why = NULL;
    int kind = target_kind(target, &why);
    if (kind < 0) {
        g_set_error(error, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO, "cannot write %s: %s",
                    target, why);
        return false;
    }
    if (kind == 1) {
        return write_in_place(target, body, what, error);
    }
    char *tmp = temporary_beside(target);
    int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        int err = errno;
        g_free(tmp);
        return io_error(error, err, "cannot create a temporary file beside %s: %s", target);
    }
    if (!mode_pinned) {
        cflow_output_pin_umask();
    }
    fchmod(fd, file_mode);
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        int err = errno;
        close(fd);
        unlink(tmp);
        g_free(tmp);
        return io_error(error, err, "cannot write %s: %s", target);
    }
    GError *local = NULL;
    int err = 0;
    bool ok = run_body(f, body, what, &local, &err);
    if (ok && fsync(fileno(f)) != 0 && errno != EINVAL) {
        ok = false;
        err = errno;
    }
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && rename(tmp, target) != 0) {
        int rerr = errno;
        unlink(tmp);
        g_free(tmp);
        return io_error(error, rerr, "cannot rename a temporary file onto %s: %s", target);
    }
    if (!ok) {
        unlink(tmp);
        g_free(tmp);
        return body_error(error, local, err, target);
    }
    g_free(tmp);
    return true;
}
