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

/* What the target is: 1 written in place, 0 replaced atomically, -1 refused (with why). */
static int target_kind(int dirfd, const char *name, const char **why)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, 0) != 0) {
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

bool cflow_place_open(const char *path, CflowPlace *place, GError **error)
{
    g_autofree char *target = cflow_output_target(path);
    g_autofree char *dir = g_path_get_dirname(target);
    *place = (CflowPlace){.dirfd = -1};
    place->name = g_path_get_basename(target);
    place->shown = g_strdup(path);
    if (strlen(place->name) > NAME_MAX) {
        g_set_error(error, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO,
                    "cannot write %s: the file name is longer than %d bytes", path, NAME_MAX);
        cflow_place_close(place);
        return false;
    }
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        cflow_place_close(place);
        return io_error(error, e, "cannot write %s: %s", path);
    }
    /* high, so as not to take a descriptor number a program expects from its next open() */
    place->dirfd = fcntl(fd, F_DUPFD_CLOEXEC, 512);
    if (place->dirfd < 0) {
        place->dirfd = fd;
    } else {
        close(fd);
    }
    return true;
}

void cflow_place_close(CflowPlace *place)
{
    if (place->dirfd >= 0) {
        close(place->dirfd);
    }
    g_free(place->name);
    g_free(place->shown);
    *place = (CflowPlace){.dirfd = -1};
}

/* A new temporary file beside the target, with a short name of its own; -1 with errno. */
static int create_temporary(int dirfd, char name[64])
{
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(name, 64, ".cflow-%ld-%u-%08x.tmp", (long)getpid(),
                 __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED), g_random_int());
        int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST) {
            return fd;
        }
    }
    return -1;
}

/* "cannot write output '<path>': <why>", as the plugin says it at start. */
static bool output_error(GError **error, const CflowPlace *place, int code, const char *why)
{
    g_set_error(error, G_FILE_ERROR, code, "cannot write output '%s': %s", place->shown, why);
    return false;
}

bool cflow_place_check(const CflowPlace *place, GError **error)
{
    const char *why = NULL;
    int kind = target_kind(place->dirfd, place->name, &why);
    if (kind < 0) {
        return output_error(error, place, G_FILE_ERROR_INVAL, why);
    }
    if (kind == 1) {
        /* written in place at exit. Not opened now: a FIFO's reader would see end-of-file. */
        if (faccessat(place->dirfd, place->name, W_OK, 0) != 0) {
            int e = errno;
            return output_error(error, place, g_file_error_from_errno(e), g_strerror(e));
        }
        return true;
    }
    /* exactly what the write will do: create a temporary file there (access() says yes to
     * root even on a read-only file system), and the target must be replaceable */
    char probe[64];
    int fd = create_temporary(place->dirfd, probe);
    if (fd < 0) {
        int e = errno;
        return output_error(error, place, g_file_error_from_errno(e), g_strerror(e));
    }
    close(fd);
    unlinkat(place->dirfd, probe, 0);
    if (faccessat(place->dirfd, place->name, F_OK, 0) == 0 &&
        faccessat(place->dirfd, place->name, W_OK, 0) != 0) {
        int e = errno;
        return output_error(error, place, g_file_error_from_errno(e), g_strerror(e));
    }
    return true;
}

bool cflow_output_check(const char *path, GError **error)
{
    g_autofree char *target = cflow_output_target(path);
    g_autofree char *dir = g_path_get_dirname(target);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "cannot write output '%s': folder '%s' does not exist", path, dir);
        return false;
    }
    CflowPlace place;
    GError *local = NULL;
    if (!cflow_place_open(path, &place, &local)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", local->message);
        g_error_free(local);
        return false;
    }
    bool ok = cflow_place_check(&place, error);
    cflow_place_close(&place);
    return ok;
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

static bool write_in_place(const CflowPlace *place, CflowWriteFunc body, const void *what,
                           GError **error)
{
    /* non-blocking open: a FIFO with no reader is an error, not a hang at exit */
    int fd = openat(place->dirfd, place->name, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return io_error(error, e, e == ENXIO ? "cannot write %s: no process reads the FIFO (%s)"
                                             : "cannot write %s: %s", place->shown);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        return io_error(error, e, "cannot write %s: %s", place->shown);
    }
    GError *local = NULL;
    int err = 0;
    bool ok = run_body(f, body, what, &local, &err);
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    return ok ? true : body_error(error, local, err, place->shown);
}

bool cflow_write_place(const CflowPlace *place, CflowWriteFunc body, const void *what,
                       GError **error)
{
    const char *why = NULL;
    int kind = target_kind(place->dirfd, place->name, &why);
    if (kind < 0) {
        g_set_error(error, CFLOW_PROFILE_ERROR, CFLOW_PROFILE_ERROR_IO, "cannot write %s: %s",
                    place->shown, why);
        return false;
    }
    if (kind == 1) {
        return write_in_place(place, body, what, error);
    }
    char tmp[64];
    int fd = create_temporary(place->dirfd, tmp);
    if (fd < 0) {
        return io_error(error, errno, "cannot create a temporary file beside %s: %s",
                        place->shown);
    }
    if (!mode_pinned) {
        cflow_output_pin_umask();
    }
    fchmod(fd, file_mode);
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        int err = errno;
        close(fd);
        unlinkat(place->dirfd, tmp, 0);
        return io_error(error, err, "cannot write %s: %s", place->shown);
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
    if (ok && renameat(place->dirfd, tmp, place->dirfd, place->name) != 0) {
        int rerr = errno;
        unlinkat(place->dirfd, tmp, 0);
        return io_error(error, rerr, "cannot rename a temporary file onto %s: %s",
                        place->shown);
    }
    if (!ok) {
        unlinkat(place->dirfd, tmp, 0);
        return body_error(error, local, err, place->shown);
    }
    return true;
}

bool cflow_write_file_atomic(const char *path, CflowWriteFunc body, const void *what,
                             GError **error)
{
    g_return_val_if_fail(path != NULL, false);
    CflowPlace place;
    if (!cflow_place_open(path, &place, error)) {
        return false;
    }
    bool ok = cflow_write_place(&place, body, what, error);
    cflow_place_close(&place);
    return ok;
}
