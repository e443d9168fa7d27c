/* Small output helpers for the admin endpoints: a streaming JSON writer
 * whose pretty form matches dp_pbjson_print (so printed protobuf messages
 * splice in at any depth), printf into a dp_buf_t, query strings and
 * timestamps. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dataplane/admin/admin_int.h"
#include "dataplane/core/common.h"
#include "dataplane/http/query.h"

void dp_admin__buf_puts(dp_buf_t *b, const char *s)
{
    dp_buf_append(b, s, strlen(s));
}

void dp_admin__set_text(dp_admin_resp_t *r, int status, const char *text)
{
    r->status = status;
    r->ctype = DP_ADMIN_CT_TEXT;
    dp_admin__buf_puts(&r->body, text);
}

void dp_admin__buf_printf(dp_buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        dp_buf_append(b, tmp, (size_t)n);
        return;
    }
    size_t avail;
    char *p = dp_buf_reserve(b, (size_t)n + 1, &avail);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    dp_buf_commit(b, (size_t)n);
}

/* --- JSON writer ----------------------------------------------------------- */

void dp_jw_init(dp_jw_t *w, dp_buf_t *b, bool pretty)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
    w->pretty = pretty;
}

static void newline(dp_jw_t *w, int depth)
{
    static const char spaces[] = "                                ";
    if (!w->pretty)
        return;
    dp_buf_append(w->b, "\n", 1);
    for (int left = 2 * depth; left > 0; left -= (int)sizeof(spaces) - 1)
        dp_buf_append(w->b, spaces, (size_t)DP_MIN(left, (int)sizeof(spaces) - 1));
}

/* Separator and indentation before a member or element. */
static void before_value(dp_jw_t *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0)
        return;
    int d = DP_MIN(w->depth, 63);
    if (w->nonempty[d])
        dp_buf_append(w->b, ",", 1);
    w->nonempty[d] = true;
    newline(w, w->depth);
}

static void open_(dp_jw_t *w, char ch)
{
    before_value(w);
    dp_buf_append(w->b, &ch, 1);
    w->depth++;
    w->nonempty[DP_MIN(w->depth, 63)] = false;
}

static void close_(dp_jw_t *w, char ch)
{
    bool any = w->nonempty[DP_MIN(w->depth, 63)];
    w->depth--;
    if (any)
        newline(w, w->depth);
    dp_buf_append(w->b, &ch, 1);
}

void dp_jw_obj(dp_jw_t *w)
{
    open_(w, '{');
}

void dp_jw_obj_end(dp_jw_t *w)
{
    close_(w, '}');
}

void dp_jw_arr(dp_jw_t *w)
{
    open_(w, '[');
}

void dp_jw_arr_end(dp_jw_t *w)
{
    close_(w, ']');
}

static void put_string(dp_jw_t *w, const char *s, size_t n)
{
    dp_buf_append(w->b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        const char *e = NULL;
        if (c == '"')
            e = "\\\"";
        else if (c == '\\')
            e = "\\\\";
        else if (c == '\n')
            e = "\\n";
        else if (c == '\r')
            e = "\\r";
        else if (c == '\t')
            e = "\\t";
        else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            e = esc;
        }
        if (e == NULL) {
            run++;
            continue;
        }
        dp_buf_append(w->b, s + i - run, run);
        run = 0;
        dp_buf_append(w->b, e, strlen(e));
    }
    dp_buf_append(w->b, s + n - run, run);
    dp_buf_append(w->b, "\"", 1);
}

void dp_jw_key(dp_jw_t *w, const char *k)
{
    before_value(w);
    put_string(w, k, strlen(k));
    dp_buf_append(w->b, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    w->after_key = true;
}

void dp_jw_strn(dp_jw_t *w, const char *s, size_t n)
{
    before_value(w);
    put_string(w, s ? s : "", s ? n : 0);
}

void dp_jw_str(dp_jw_t *w, const char *s)
{
    dp_jw_strn(w, s, s ? strlen(s) : 0);
}

void dp_jw_int(dp_jw_t *w, int64_t v)
{
    before_value(w);
    dp_admin__buf_printf(w->b, "%" PRId64, v);
}

void dp_jw_uint(dp_jw_t *w, uint64_t v)
{
    before_value(w);
    dp_admin__buf_printf(w->b, "%" PRIu64, v);
}

void dp_jw_bool(dp_jw_t *w, bool v)
{
    before_value(w);
    dp_admin__buf_puts(w->b, v ? "true" : "false");
}

void dp_jw_raw(dp_jw_t *w, const char *text, size_t n)
{
    before_value(w);
    dp_buf_append(w->b, text, n);
}

/* --- query strings and time ------------------------------------------------ */

bool dp_admin__query_get(const char *query, size_t qlen, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i < qlen) {
        size_t end = i;
        while (end < qlen && query[end] != '&')
            end++;
        const char *eq = memchr(query + i, '=', end - i);
        size_t nlen = eq ? (size_t)(eq - (query + i)) : end - i;
        if (nlen == klen && memcmp(query + i, key, klen) == 0) {
            size_t o = 0;
            if (eq) {
                for (const char *p = eq + 1; p < query + end && o + 1 < outlen; p++) {
                    if (*p == '%' && p + 2 < query + end && dp_hexval(p[1]) >= 0 && dp_hexval(p[2]) >= 0) {
                        out[o++] = (char)(dp_hexval(p[1]) * 16 + dp_hexval(p[2]));
                        p += 2;
                    } else {
                        out[o++] = *p;
                    }
                }
            }
            if (outlen > 0)
                out[o] = '\0';
            return true;
        }
        i = end + 1;
    }
    return false;
}

void dp_admin__rfc3339(uint64_t wall_ms, char *out, size_t outlen)
{
    time_t secs = (time_t)(wall_ms / 1000);
    unsigned ms = (unsigned)(wall_ms % 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (ms)
        snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    else
        snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
}
