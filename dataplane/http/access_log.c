/* Envoy's file / stdout / stderr access loggers (AccessLog.typed_config of
 * type FileAccessLog, StdoutAccessLog or StderrAccessLog).
 *
 * A logger is immutable once created and is used concurrently by every
 * worker: emission formats into a stack buffer and writes the line with one
 * write(2), so lines from different threads never interleave (O_APPEND on
 * files). Loggers with the same path share one fd, refcounted under a
 * mutex that only creation and destruction take. */
#include "dataplane/http/access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/http/access_log_format.h"
#include "dataplane/http/stream.h"
#include "envoy/config/accesslog/v3/accesslog.pb-c.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb-c.h"
#include "envoy/extensions/access_loggers/stream/v3/stream.pb-c.h"
#include "xds/typereg.h"
#include "xds/unknown.h"

#define MAX_FORMAT_FILE_BYTES (1024 * 1024)

typedef struct logfile {
    char *path;
    int fd;
    int refs;
    struct logfile *next;
} logfile_t;

struct dp_access_log {
    char *name;
    dp_logfmt_t *fmt;
    logfile_t *file; /* NULL for stdout / stderr */
    int fd;
};

static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static logfile_t *files;

/* Opens (or shares) the log file at path. Returns 0 or an errno. */
static int file_acquire(const char *path, logfile_t **out, int *fd)
{
    /* Envoy writes to these through the process's own streams */
    if (strcmp(path, "/dev/stdout") == 0) {
        *out = NULL;
        *fd = STDOUT_FILENO;
        return 0;
    }
    if (strcmp(path, "/dev/stderr") == 0) {
        *out = NULL;
        *fd = STDERR_FILENO;
        return 0;
    }
    pthread_mutex_lock(&files_lock);
    for (logfile_t *f = files; f; f = f->next) {
        if (strcmp(f->path, path) == 0) {
            f->refs++;
            *out = f;
            *fd = f->fd;
            pthread_mutex_unlock(&files_lock);
            return 0;
        }
    }
    int nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (nfd < 0) {
        int e = errno;
        pthread_mutex_unlock(&files_lock);
        return e;
    }
    logfile_t *f = dp_xcalloc(1, sizeof(*f));
    f->path = dp_xstrdup(path);
    f->fd = nfd;
    f->refs = 1;
    f->next = files;
    files = f;
    *out = f;
    *fd = nfd;
    pthread_mutex_unlock(&files_lock);
    return 0;
}

static void file_release(logfile_t *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&files_lock);
    if (--f->refs == 0) {
        for (logfile_t **pp = &files; *pp; pp = &(*pp)->next) {
            if (*pp == f) {
                *pp = f->next;
                break;
            }
        }
        close(f->fd);
        free(f->path);
        free(f);
    }
    pthread_mutex_unlock(&files_lock);
}

/* Reads a DataSource (text_format_source) into a malloc'd string. */
static int read_source(const Envoy__Config__Core__V3__DataSource *ds, char **out, size_t *len, char *err,
                       size_t errlen)
{
    switch (ds->specifier_case) {
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_STRING:
        *out = dp_xstrdup(ds->inline_string ? ds->inline_string : "");
        *len = strlen(*out);
        return 0;
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_BYTES:
        *out = dp_xstrndup((const char *)ds->inline_bytes.data, ds->inline_bytes.len);
        *len = ds->inline_bytes.len;
        return 0;
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_ENVIRONMENT_VARIABLE: {
        const char *v = getenv(ds->environment_variable ? ds->environment_variable : "");
        if (v == NULL) {
            snprintf(err, errlen, "text_format_source: environment variable '%s' is not set",
                     ds->environment_variable ? ds->environment_variable : "");
            return DP_EINVAL;
        }
        *out = dp_xstrdup(v);
        *len = strlen(v);
        return 0;
    }
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_FILENAME: {
        const char *path = ds->filename ? ds->filename : "";
        FILE *fp = fopen(path, "rb");
        if (fp == NULL) {
            snprintf(err, errlen, "text_format_source: cannot read '%s': %s", path, strerror(errno));
            return DP_EINVAL;
        }
        char *buf = dp_xmalloc(MAX_FORMAT_FILE_BYTES + 1);
        size_t n = fread(buf, 1, MAX_FORMAT_FILE_BYTES + 1, fp);
        fclose(fp);
        if (n > MAX_FORMAT_FILE_BYTES) {
            free(buf);
            snprintf(err, errlen, "text_format_source: '%s' is larger than %d bytes", path,
                     MAX_FORMAT_FILE_BYTES);
            return DP_EINVAL;
        }
        buf[n] = '\0';
        *out = buf;
        *len = n;
        return 0;
    }
    default:
        snprintf(err, errlen,
                 "text_format_source: one of filename, inline_bytes, inline_string, "
                 "environment_variable is required");
        return DP_EINVAL;
    }
}

/* Builds the formatter of a SubstitutionFormatString (NULL: Envoy's
 * default format). */
static int make_format(const Envoy__Config__Core__V3__SubstitutionFormatString *lf, dp_logfmt_t **out,
                       char *err, size_t errlen)
{
    char sub[512];
    if (lf == NULL)
        return dp_logfmt_parse_text(DP_LOGFMT_DEFAULT, strlen(DP_LOGFMT_DEFAULT), false, out, err, errlen);
    bool omit = lf->omit_empty_values;
    int rc;
    switch (lf->format_case) {
    case ENVOY__CONFIG__CORE__V3__SUBSTITUTION_FORMAT_STRING__FORMAT_TEXT_FORMAT: {
        const char *t = lf->text_format ? lf->text_format : "";
        rc = dp_logfmt_parse_text(t, strlen(t), omit, out, sub, sizeof(sub));
        if (rc != 0)
            snprintf(err, errlen, "log_format.text_format: %s", sub);
        return rc;
    }
    case ENVOY__CONFIG__CORE__V3__SUBSTITUTION_FORMAT_STRING__FORMAT_TEXT_FORMAT_SOURCE: {
        char *text;
        size_t len;
        if (lf->text_format_source == NULL) {
            snprintf(err, errlen, "log_format.text_format_source: a data source is required");
            return DP_EINVAL;
        }
        rc = read_source(lf->text_format_source, &text, &len, sub, sizeof(sub));
        if (rc != 0) {
            snprintf(err, errlen, "log_format.%s", sub);
            return rc;
        }
        rc = dp_logfmt_parse_text(text, len, omit, out, sub, sizeof(sub));
        free(text);
        if (rc != 0)
            snprintf(err, errlen, "log_format.text_format_source: %s", sub);
        return rc;
    }
    case ENVOY__CONFIG__CORE__V3__SUBSTITUTION_FORMAT_STRING__FORMAT_JSON_FORMAT: {
        Google__Protobuf__Struct empty = GOOGLE__PROTOBUF__STRUCT__INIT;
        rc = dp_logfmt_parse_json(lf->json_format ? lf->json_format : &empty, omit, out, sub, sizeof(sub));
        if (rc != 0)
            snprintf(err, errlen, "log_format.%s", sub);
        return rc;
    }
    default:
        snprintf(err, errlen, "log_format: one of text_format, json_format, text_format_source is required");
        return DP_EINVAL;
    }
}

#define FILE_LOG_TYPE "envoy.extensions.access_loggers.file.v3.FileAccessLog"
#define STDOUT_LOG_TYPE "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
#define STDERR_LOG_TYPE "envoy.extensions.access_loggers.stream.v3.StderrAccessLog"

int dp_access_log_create(const ProtobufCMessage *access_log_msg, dp_access_log_t **out, char *errbuf,
                         size_t errlen)
{
    char err[768];
    int rc = DP_EINVAL;
    ProtobufCMessage *inner = NULL;
    dp_access_log_t *al = NULL;
    const char *name = "";
    *out = NULL;
    err[0] = '\0';

    if (access_log_msg == NULL ||
        access_log_msg->descriptor != &envoy__config__accesslog__v3__access_log__descriptor) {
        snprintf(errbuf, errlen, "access_log: expected an envoy.config.accesslog.v3.AccessLog message");
        return DP_EINVAL;
    }
    const Envoy__Config__Accesslog__V3__AccessLog *a =
        (const Envoy__Config__Accesslog__V3__AccessLog *)access_log_msg;
    if (a->name)
        name = a->name;
    if (dp_pb_check_unknown(access_log_msg, err, sizeof(err)) != 0)
        goto fail;
    if (a->config_type_case != ENVOY__CONFIG__ACCESSLOG__V3__ACCESS_LOG__CONFIG_TYPE_TYPED_CONFIG ||
        a->typed_config == NULL) {
        snprintf(err, sizeof(err), "typed_config is required");
        goto fail;
    }
    const char *url = a->typed_config->type_url ? a->typed_config->type_url : "";
    const ProtobufCMessageDescriptor *d = dp_typereg_lookup(url);
    if (d == NULL || (strcmp(d->name, FILE_LOG_TYPE) != 0 && strcmp(d->name, STDOUT_LOG_TYPE) != 0 &&
                      strcmp(d->name, STDERR_LOG_TYPE) != 0)) {
        snprintf(err, sizeof(err),
                 "unsupported access logger type '%s' (supported: " FILE_LOG_TYPE ", " STDOUT_LOG_TYPE
                 ", " STDERR_LOG_TYPE ")",
                 url);
        goto fail;
    }
    inner = protobuf_c_message_unpack(d, NULL, a->typed_config->value.len, a->typed_config->value.data);
    if (inner == NULL) {
        snprintf(err, sizeof(err), "typed_config: cannot decode %s", d->name);
        goto fail;
    }
    if (dp_pb_check_unknown(inner, err, sizeof(err)) != 0)
        goto fail;

    al = dp_xcalloc(1, sizeof(*al));
    al->name = dp_xstrdup(name);
    const Envoy__Config__Core__V3__SubstitutionFormatString *lf = NULL;
    const char *path = NULL;
    if (d == &envoy__extensions__access_loggers__file__v3__file_access_log__descriptor) {
        const Envoy__Extensions__AccessLoggers__File__V3__FileAccessLog *f =
            (const Envoy__Extensions__AccessLoggers__File__V3__FileAccessLog *)inner;
        path = f->path;
        if (path == NULL || path[0] == '\0') {
            snprintf(err, sizeof(err), "FileAccessLog.path is required");
            goto fail;
        }
        if (f->access_log_format_case ==
            ENVOY__EXTENSIONS__ACCESS_LOGGERS__FILE__V3__FILE_ACCESS_LOG__ACCESS_LOG_FORMAT_LOG_FORMAT)
            lf = f->log_format;
    } else if (d == &envoy__extensions__access_loggers__stream__v3__stdout_access_log__descriptor) {
        const Envoy__Extensions__AccessLoggers__Stream__V3__StdoutAccessLog *f =
            (const Envoy__Extensions__AccessLoggers__Stream__V3__StdoutAccessLog *)inner;
        if (f->access_log_format_case ==
            ENVOY__EXTENSIONS__ACCESS_LOGGERS__STREAM__V3__STDOUT_ACCESS_LOG__ACCESS_LOG_FORMAT_LOG_FORMAT)
            lf = f->log_format;
        al->fd = STDOUT_FILENO;
    } else {
        const Envoy__Extensions__AccessLoggers__Stream__V3__StderrAccessLog *f =
            (const Envoy__Extensions__AccessLoggers__Stream__V3__StderrAccessLog *)inner;
        if (f->access_log_format_case ==
            ENVOY__EXTENSIONS__ACCESS_LOGGERS__STREAM__V3__STDERR_ACCESS_LOG__ACCESS_LOG_FORMAT_LOG_FORMAT)
            lf = f->log_format;
        al->fd = STDERR_FILENO;
    }
    rc = make_format(lf, &al->fmt, err, sizeof(err));
    if (rc != 0)
        goto fail;
    if (path) {
        int e = file_acquire(path, &al->file, &al->fd);
        if (e != 0) {
            snprintf(err, sizeof(err), "cannot open access log file '%s': %s", path, strerror(e));
            rc = DP_EINVAL;
            goto fail;
        }
    }
    protobuf_c_message_free_unpacked(inner, NULL);
    *out = al;
    return 0;

fail:
    if (inner)
        protobuf_c_message_free_unpacked(inner, NULL);
    dp_access_log_free(al);
    if (name[0])
        snprintf(errbuf, errlen, "access_log '%s': %s", name, err);
    else
        snprintf(errbuf, errlen, "access_log: %s", err);
    return rc ? rc : DP_EINVAL;
}

void dp_access_log_free(dp_access_log_t *al)
{
    if (al == NULL)
        return;
    file_release(al->file);
    dp_logfmt_free(al->fmt);
    free(al->name);
    free(al);
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

char *dp_access_log__format(const dp_access_log_t *al, const struct dp_stream *s, uint64_t now_wall_ns,
                            uint64_t now_mono_ns, size_t *len)
{
    dp_logbuf_t b;
    dp_logbuf_init(&b, NULL, 0);
    dp_logfmt_write(al->fmt, s, now_wall_ns, now_mono_ns, &b);
    dp_logbuf_append(&b, "", 1);
    if (len)
        *len = b.len - 1;
    return b.p;
}

void dp_access_log_emit(const dp_access_log_t *al, const struct dp_stream *s)
{
    char stack[4096];
    dp_logbuf_t b;
    dp_logbuf_init(&b, stack, sizeof(stack));
    dp_logfmt_write(al->fmt, s, wall_ns(), dp_now_ns(), &b);
    size_t off = 0;
    while (off < b.len) {
        ssize_t n = write(al->fd, b.p + off, b.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* a full disk or closed pipe must not stop the proxy */
        off += (size_t)n;
    }
    dp_logbuf_free(&b);
}
