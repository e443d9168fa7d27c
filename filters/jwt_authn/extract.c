/* Token locations (Envoy's jwt_authn Extractor), header sanitizing, the
 * headers a verified token adds, and the query string edits of
 * forward: false. Everything a request gets is copied into its arena:
 * header values and the path must outlive the per-request state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dataplane/core/arena.h"
#include "dataplane/core/common.h"
#include "dataplane/http/query.h"
#include "filters/jwt_authn/jwt_authn_int.h"

/* ---- building extractors ------------------------------------------------------- */

static void issuers_add(ja_issuers_t *iss, const char *issuer)
{
    if (issuer == NULL || issuer[0] == '\0') {
        iss->all = true;
        return;
    }
    for (size_t i = 0; i < iss->n; i++)
        if (strcmp(iss->v[i], issuer) == 0)
            return;
    iss->v = dp_xrealloc(iss->v, (iss->n + 1) * sizeof(*iss->v));
    iss->v[iss->n++] = issuer;
}

bool ja_issuer_allowed(const ja_issuers_t *iss, const char *jwt_iss)
{
    if (iss->all)
        return true;
    for (size_t i = 0; i < iss->n; i++)
        if (strcmp(iss->v[i], jwt_iss) == 0)
            return true;
    return false;
}

static void add_loc(ja_extractor_t *ex, ja_loc_kind_t kind, const char *name, const char *prefix, const char *issuer)
{
    for (size_t i = 0; i < ex->n; i++) {
        ja_loc_t *l = &ex->locs[i];
        if (l->kind == kind && strcmp(l->name, name) == 0 && strcmp(l->prefix, prefix) == 0) {
            issuers_add(&l->issuers, issuer);
            return;
        }
    }
    ex->locs = dp_xrealloc(ex->locs, (ex->n + 1) * sizeof(*ex->locs));
    ja_loc_t *l = &ex->locs[ex->n++];
    memset(l, 0, sizeof(*l));
    l->kind = kind;
    l->name = dp_xstrdup(name);
    l->prefix = dp_xstrdup(prefix);
    issuers_add(&l->issuers, issuer);
}

static void add_sanitize(ja_extractor_t *ex, const char *name)
{
    for (size_t i = 0; i < ex->n_sanitize; i++)
        if (strcmp(ex->sanitize[i], name) == 0)
            return;
    ex->sanitize = dp_xrealloc(ex->sanitize, (ex->n_sanitize + 1) * sizeof(*ex->sanitize));
    ex->sanitize[ex->n_sanitize++] = dp_xstrdup(name);
}

void ja_extractor_add(ja_extractor_t *ex, const ja_provider_t *p)
{
    for (size_t i = 0; i < p->n_from_headers; i++)
        add_loc(ex, JA_LOC_HEADER, p->from_headers[i].name, p->from_headers[i].prefix, p->issuer);
    for (size_t i = 0; i < p->n_from_params; i++)
        add_loc(ex, JA_LOC_PARAM, p->from_params[i], "", p->issuer);
    for (size_t i = 0; i < p->n_from_cookies; i++)
        add_loc(ex, JA_LOC_COOKIE, p->from_cookies[i], "", p->issuer);
    if (p->n_from_headers == 0 && p->n_from_params == 0 && p->n_from_cookies == 0) {
        /* RFC 6750: "Authorization: Bearer <t>", then ?access_token=<t> */
        add_loc(ex, JA_LOC_HEADER, "authorization", "Bearer ", p->issuer);
        add_loc(ex, JA_LOC_PARAM, "access_token", "", p->issuer);
    }
    if (p->forward_payload_header)
        add_sanitize(ex, p->forward_payload_header);
    for (size_t i = 0; i < p->n_claim_to_headers; i++)
        add_sanitize(ex, p->claim_to_headers[i].header);
}

/* Envoy keeps header locations in a std::map keyed by name + prefix. */
static int cmp_concat(const char *a1, const char *a2, const char *b1, const char *b2)
{
    for (;;) {
        unsigned char ca = (unsigned char)(*a1 ? *a1 : *a2), cb = (unsigned char)(*b1 ? *b1 : *b2);
        if (ca != cb || ca == '\0')
            return (int)ca - (int)cb;
        if (*a1)
            a1++;
        else
            a2++;
        if (*b1)
            b1++;
        else
            b2++;
    }
}

static int cmp_loc(const void *a, const void *b)
{
    const ja_loc_t *x = a, *y = b;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return cmp_concat(x->name, x->prefix, y->name, y->prefix);
}

void ja_extractor_finish(ja_extractor_t *ex)
{
    if (ex->n > 1)
        qsort(ex->locs, ex->n, sizeof(*ex->locs), cmp_loc);
}

void ja_extractor_free(ja_extractor_t *ex)
{
    for (size_t i = 0; i < ex->n; i++) {
        free(ex->locs[i].name);
        free(ex->locs[i].prefix);
        free(ex->locs[i].issuers.v);
    }
    free(ex->locs);
    for (size_t i = 0; i < ex->n_sanitize; i++)
        free(ex->sanitize[i]);
    free(ex->sanitize);
    memset(ex, 0, sizeof(*ex));
}

void ja_sanitize(const ja_extractor_t *ex, dp_stream_t *s)
{
    for (size_t i = 0; i < ex->n_sanitize; i++)
        dp_headers_remove(&s->req_headers, ex->sanitize[i], strlen(ex->sanitize[i]));
}

/* ---- cookies ---------------------------------------------------------------------- */

char *ja_cookie(dp_arena_t *a, const dp_headers_t *h, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (long i = dp_headers_find(h, "cookie", 6, 0); i >= 0; i = dp_headers_find(h, "cookie", 6, (size_t)i + 1)) {
        dp_slice_t v = h->v[i].value;
        size_t pos = 0;
        while (pos <= v.len) {
            const char *semi = memchr(v.base + pos, ';', v.len - pos);
            size_t end = semi ? (size_t)(semi - v.base) : v.len;
            size_t b = pos;
            while (b < end && v.base[b] == ' ')
                b++;
            const char *eq = memchr(v.base + b, '=', end - b);
            if (eq && (size_t)(eq - (v.base + b)) == nl && memcmp(v.base + b, name, nl) == 0) {
                const char *val = eq + 1;
                size_t vl = (size_t)(v.base + end - val);
                if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
                    val++;
                    vl -= 2;
                }
                *len = vl;
                return dp_arena_strndup(a, val, vl);
            }
            if (semi == NULL)
                break;
            pos = end + 1;
        }
    }
    return NULL;
}

/* ---- extraction ---------------------------------------------------------------------- */

static bool jwt_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

static const char *find_mem(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return h;
    for (size_t i = 0; i + nl <= hl; i++)
        if (h[i] == n[0] && memcmp(h + i, n, nl) == 0)
            return h + i;
    return NULL;
}

size_t ja_extract(const ja_extractor_t *ex, dp_stream_t *s, ja_token_t **out)
{
    const dp_headers_t *h = &s->req_headers;
    size_t cap = 0;
    for (size_t i = 0; i < ex->n; i++)
        cap += ex->locs[i].kind == JA_LOC_HEADER ? dp_headers_count(h, ex->locs[i].name, strlen(ex->locs[i].name)) : 1;
    ja_token_t *t = dp_arena_alloc(&s->arena, (cap ? cap : 1) * sizeof(*t));
    size_t n = 0;
    for (size_t i = 0; i < ex->n; i++) {
        const ja_loc_t *l = &ex->locs[i];
        size_t len = 0;
        char *v;
        switch (l->kind) {
        case JA_LOC_HEADER: {
            size_t nl = strlen(l->name), pl = strlen(l->prefix);
            for (long k = dp_headers_find(h, l->name, nl, 0); k >= 0; k = dp_headers_find(h, l->name, nl, (size_t)k + 1)) {
                dp_slice_t val = h->v[k].value;
                const char *tok = val.base;
                size_t tl = val.len;
                if (pl > 0) {
                    /* Envoy: the prefix anywhere in the value, then the token
                     * from the first base64url character after it (the whole
                     * value when there is none) */
                    const char *p = find_mem(val.base, val.len, l->prefix, pl);
                    if (p == NULL)
                        continue;
                    const char *b = p + pl, *e = val.base + val.len;
                    while (b < e && !jwt_char(*b))
                        b++;
                    if (b < e) {
                        tok = b;
                        tl = (size_t)(e - b);
                    }
                }
                t[n++] = (ja_token_t){l, dp_arena_strndup(&s->arena, tok ? tok : "", tl), tl};
            }
            continue;
        }
        case JA_LOC_PARAM:
            v = dp_query_param(&s->arena, s->path, l->name, &len);
            break;
        case JA_LOC_COOKIE:
            v = ja_cookie(&s->arena, h, l->name, &len);
            break;
        default:
            continue;
        }
        if (v)
            t[n++] = (ja_token_t){l, v, len};
    }
    *out = t;
    return n;
}

void ja_remove_token(dp_stream_t *s, const ja_token_t *t)
{
    const ja_loc_t *l = t->loc;
    if (l->kind == JA_LOC_HEADER) {
        dp_headers_remove(&s->req_headers, l->name, strlen(l->name));
        return;
    }
    if (l->kind != JA_LOC_PARAM)
        return; /* cookies stay, as in Envoy */
    dp_query_remove(&s->arena, &s->path, l->name);
}

/* ---- what a verified token adds ------------------------------------------------------- */

/* A claim as a header value, as Envoy's addJWTClaimToHeader: strings as
 * they are, numbers as integers when whole and non-negative (else "%f"),
 * booleans as true/false, objects and lists as base64 of their JSON.
 * NULL for a missing or null claim, an empty value, or one that could not
 * be a header value (CR, LF, NUL). */
static const char *claim_value(dp_arena_t *a, const json_t *v, size_t *len)
{
    char num[64];
    const char *s = NULL;
    size_t n = 0;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v) || json_is_real(v)) {
        double d = json_number_value(v);
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        else if (d >= 0 && d < 18446744073709551615.0 && d == (double)(uint64_t)d)
            n = (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)d);
        else
            n = (size_t)snprintf(num, sizeof(num), "%f", d);
        s = num;
    } else if (json_is_boolean(v)) {
        s = json_is_true(v) ? "true" : "false";
        n = strlen(s);
    } else if (json_is_object(v) || json_is_array(v)) {
        char *js = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (js == NULL)
            return NULL;
        size_t jl = strlen(js);
        char *b = dp_arena_alloc(a, (jl + 2) / 3 * 4 + 1);
        n = (size_t)EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)js, (int)jl);
        free(js);
        *len = n;
        return n ? b : NULL;
    }
    if (s == NULL || n == 0 || memchr(s, '\r', n) || memchr(s, '\n', n) || memchr(s, '\0', n))
        return NULL;
    *len = n;
    return dp_arena_strndup(a, s, n);
}

void ja_add_headers(dp_stream_t *s, const ja_provider_t *p, const dp_jwt_t *jwt)
{
    if (p->forward_payload_header) {
        size_t n = jwt->payload_b64_len, pad = p->pad_forward_payload_header ? (4 - n % 4) % 4 : 0;
        char *v = dp_arena_alloc(&s->arena, n + pad + 1);
        memcpy(v, jwt->payload_b64, n);
        memset(v + n, '=', pad);
        v[n + pad] = '\0';
        dp_headers_add(&s->req_headers, dp_slice_cstr(p->forward_payload_header), dp_slice(v, n + pad));
    }
    for (size_t i = 0; i < p->n_claim_to_headers; i++) {
        const ja_claim_hdr_t *c = &p->claim_to_headers[i];
        size_t len = 0;
        const char *v = claim_value(&s->arena, dp_jwt_claim(jwt, c->claim), &len);
        if (v)
            dp_headers_add(&s->req_headers, dp_slice_cstr(c->header), dp_slice(v, len));
    }
}

json_t *ja_payload_metadata(const ja_provider_t *p, const dp_jwt_t *jwt)
{
    json_t *copy = json_deep_copy(jwt->payload);
    if (copy == NULL)
        return NULL;
    for (size_t i = 0; i < p->n_space_delimited; i++) {
        const json_t *v = json_object_get(copy, p->space_delimited_claims[i]);
        if (!json_is_string(v))
            continue;
        json_t *list = json_array();
        const char *str = json_string_value(v);
        size_t len = json_string_length(v);
        for (size_t b = 0; b < len;) {
            size_t e = b;
            while (e < len && str[e] != ' ')
                e++;
            if (e > b)
                json_array_append_new(list, json_stringn(str + b, e - b));
            b = e + 1;
        }
        json_object_set_new(copy, p->space_delimited_claims[i], list);
    }
    return copy;
}
