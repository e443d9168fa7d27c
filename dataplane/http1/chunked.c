/* Chunked transfer-coding decoder (RFC 9112 7.1), zero-copy.
 *
 * A byte-at-a-time state machine for the framing (so it can stop and
 * resume anywhere without keeping bytes back), and a bulk path for chunk
 * data, which is handed back as a pointer into the caller's buffer.
 *
 *   size [";" ext-name ["=" ext-value]]* CRLF  data CRLF   ...repeat...
 *   "0"  [extensions] CRLF  *(trailer-field CRLF)  CRLF
 */
#include "dataplane/http1/parser.h"

#include <limits.h>
#include <string.h>

#define CC(c) dp_h1__char_class[(unsigned char)(c)]

enum {
    /* Not 0, so that a zeroed (uninitialised) decoder fails loudly. */
    CS_SIZE_START = 1,  /* first hex digit of a chunk size */
    CS_SIZE,            /* more hex digits, ';' or CR */
    CS_EXT_NAME_START,  /* after ';' */
    CS_EXT_NAME,        /* in a name: tchar, '=', ';' or CR */
    CS_EXT_VALUE_START, /* after '=': token or quoted-string */
    CS_EXT_VALUE_TOKEN,
    CS_EXT_VALUE_QUOTED,
    CS_EXT_VALUE_QUOTED_PAIR, /* after a backslash */
    CS_EXT_AFTER_QUOTED,      /* ';' or CR */
    CS_SIZE_LF,               /* LF ending the size line */
    CS_DATA,
    CS_DATA_CR, /* CRLF after chunk data */
    CS_DATA_LF,
    CS_TRAILER_LINE, /* start of a trailer line or the final empty line */
    CS_TRAILER_NAME,
    CS_TRAILER_VALUE,
    CS_TRAILER_LF, /* LF ending a trailer field */
    CS_END_LF,     /* LF of the final empty line */
    CS_DONE,
    CS_ERROR,
};

#define MAX_SIZE_DIGITS 16 /* 64 bits */

void dp_h1_chunked_init(dp_h1_chunked_t *c)
{
    memset(c, 0, sizeof(*c));
    c->state = CS_SIZE_START;
    c->max_trailer_bytes = DP_H1_DEFAULT_MAX_TRAILER_BYTES;
}

int dp_h1_chunked_done(const dp_h1_chunked_t *c)
{
    return c->state == CS_DONE;
}

static int hexval(char ch)
{
    unsigned char u = (unsigned char)ch;
    if ((unsigned)(u - '0') < 10u)
        return u - '0';
    u |= 0x20;
    return (unsigned)(u - 'a') < 6u ? u - 'a' + 10 : -1;
}

/* A byte that may not appear where it was found; the reason is chosen by
 * the byte so the error says what the peer did wrong. */
static const char *framing_reason(char ch, const char *otherwise)
{
    switch (ch) {
    case '\0':
        return "NUL in chunked framing";
    case '\n':
        return "bare LF in chunked framing";
    default:
        return otherwise;
    }
}

int dp_h1_chunked_decode(dp_h1_chunked_t *c, const char *buf, size_t len, const char **data, size_t *data_len,
                         const char **err)
{
    const char *p, *end, *why;
    int v;

    *data = NULL;
    *data_len = 0;
    if (c->state == CS_ERROR || c->state < CS_SIZE_START || c->state > CS_ERROR) {
        why = c->state == CS_ERROR && c->error ? c->error : "chunked decoder not initialised";
        goto fail;
    }
    if (len == 0)
        return 0;
    /* The consumed count is an int; the caller comes back for the rest. */
    p = buf;
    end = buf + DP_MIN(len, (size_t)INT_MAX);

    while (p < end) {
        char ch = *p;
        switch (c->state) {
        case CS_SIZE_START:
            if ((v = hexval(ch)) < 0) {
                why = framing_reason(ch, "invalid chunk size");
                goto fail;
            }
            c->remaining = (uint64_t)v;
            c->size_digits = 1;
            c->state = CS_SIZE;
            break;
        case CS_SIZE:
            if ((v = hexval(ch)) >= 0) {
                if (++c->size_digits > MAX_SIZE_DIGITS) {
                    why = "chunk size too long";
                    goto fail;
                }
                c->remaining = c->remaining << 4 | (uint64_t)v;
            } else if (ch == ';') {
                c->ext_bytes = 1;
                c->state = CS_EXT_NAME_START;
            } else if (ch == '\r') {
                c->state = CS_SIZE_LF;
            } else {
                why = framing_reason(ch, "invalid character after chunk size");
                goto fail;
            }
            break;

        case CS_EXT_NAME_START:
        case CS_EXT_NAME:
        case CS_EXT_VALUE_START:
        case CS_EXT_VALUE_TOKEN:
        case CS_EXT_VALUE_QUOTED:
        case CS_EXT_VALUE_QUOTED_PAIR:
        case CS_EXT_AFTER_QUOTED:
            /* the bound covers ";name=value..." up to the CR */
            if (ch != '\r' && ++c->ext_bytes > DP_H1_MAX_CHUNK_EXT_BYTES) {
                why = "chunk extensions too long";
                goto fail;
            }
            why = framing_reason(ch, "invalid chunk extension");
            switch (c->state) {
            case CS_EXT_NAME_START:
                if (!(CC(ch) & DP_H1__TCHAR))
                    goto fail;
                c->state = CS_EXT_NAME;
                break;
            case CS_EXT_NAME:
                if (ch == '=')
                    c->state = CS_EXT_VALUE_START;
                else if (ch == ';')
                    c->state = CS_EXT_NAME_START;
                else if (ch == '\r')
                    c->state = CS_SIZE_LF;
                else if (!(CC(ch) & DP_H1__TCHAR))
                    goto fail;
                break;
            case CS_EXT_VALUE_START:
                if (ch == '"')
                    c->state = CS_EXT_VALUE_QUOTED;
                else if (CC(ch) & DP_H1__TCHAR)
                    c->state = CS_EXT_VALUE_TOKEN;
                else
                    goto fail;
                break;
            case CS_EXT_VALUE_TOKEN:
                if (ch == ';')
                    c->state = CS_EXT_NAME_START;
                else if (ch == '\r')
                    c->state = CS_SIZE_LF;
                else if (!(CC(ch) & DP_H1__TCHAR))
                    goto fail;
                break;
            case CS_EXT_VALUE_QUOTED:
                /* qdtext = HTAB / SP / VCHAR except '"' and '\' / obs-text */
                if (ch == '"')
                    c->state = CS_EXT_AFTER_QUOTED;
                else if (ch == '\\')
                    c->state = CS_EXT_VALUE_QUOTED_PAIR;
                else if (!(CC(ch) & DP_H1__VALUE))
                    goto fail;
                break;
            case CS_EXT_VALUE_QUOTED_PAIR:
                if (!(CC(ch) & DP_H1__VALUE))
                    goto fail;
                c->state = CS_EXT_VALUE_QUOTED;
                break;
            default: /* CS_EXT_AFTER_QUOTED */
                if (ch == ';')
                    c->state = CS_EXT_NAME_START;
                else if (ch == '\r')
                    c->state = CS_SIZE_LF;
                else
                    goto fail;
                break;
            }
            break;

        case CS_SIZE_LF:
            if (ch != '\n') {
                why = "bare CR in chunk size line";
                goto fail;
            }
            c->trailer_bytes = 0;
            c->state = c->remaining ? CS_DATA : CS_TRAILER_LINE;
            break;

        case CS_DATA: {
            size_t avail = (size_t)(end - p);
            size_t n = c->remaining < avail ? (size_t)c->remaining : avail;
            *data = p;
            *data_len = n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = CS_DATA_CR;
            return (int)(p + n - buf);
        }
        case CS_DATA_CR:
            if (ch != '\r') {
                why = "missing CRLF after chunk data";
                goto fail;
            }
            c->state = CS_DATA_LF;
            break;
        case CS_DATA_LF:
            if (ch != '\n') {
                why = "missing CRLF after chunk data";
                goto fail;
            }
            c->state = CS_SIZE_START;
            break;

        case CS_TRAILER_LINE:
        case CS_TRAILER_NAME:
        case CS_TRAILER_VALUE:
        case CS_TRAILER_LF:
        case CS_END_LF:
            if (++c->trailer_bytes > c->max_trailer_bytes) {
                why = "trailer section too large";
                goto fail;
            }
            switch (c->state) {
            case CS_TRAILER_LINE:
                if (ch == '\r') {
                    c->state = CS_END_LF;
                } else if (CC(ch) & DP_H1__TCHAR) {
                    c->state = CS_TRAILER_NAME;
                } else {
                    why = ch == ' ' || ch == '\t' ? "obs-fold in trailer section"
                                                  : framing_reason(ch, "invalid trailer field name");
                    goto fail;
                }
                break;
            case CS_TRAILER_NAME:
                if (ch == ':') {
                    c->state = CS_TRAILER_VALUE;
                } else if (!(CC(ch) & DP_H1__TCHAR)) {
                    why = ch == ' ' || ch == '\t' ? "whitespace between trailer name and colon"
                                                  : framing_reason(ch, "invalid trailer field name");
                    goto fail;
                }
                break;
            case CS_TRAILER_VALUE:
                if (ch == '\r') {
                    c->state = CS_TRAILER_LF;
                } else if (!(CC(ch) & DP_H1__VALUE)) {
                    why = framing_reason(ch, "invalid character in trailer value");
                    goto fail;
                }
                break;
            case CS_TRAILER_LF:
                if (ch != '\n') {
                    why = "bare CR in trailer section";
                    goto fail;
                }
                c->state = CS_TRAILER_LINE;
                break;
            default: /* CS_END_LF */
                if (ch != '\n') {
                    why = "bare CR in trailer section";
                    goto fail;
                }
                c->state = CS_DONE;
                return (int)(p + 1 - buf);
            }
            break;

        default: /* CS_DONE: the rest belongs to the next message */
            return (int)(p - buf);
        }
        p++;
    }
    return (int)(p - buf);

fail:
    c->state = CS_ERROR;
    c->error = why;
    *err = why;
    return DP_ERR;
}
