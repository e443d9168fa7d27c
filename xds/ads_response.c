/* Responses in (ads_int.h): a DiscoveryResponse (SotW) or a
 * DeltaDiscoveryResponse is decoded into items, one per resource, each
 * either an update (decoded resource), a heartbeat (a Resource wrapper
 * without a resource) or an error found before translation. Duplicate
 * names reject the whole response; otherwise every item is applied on its
 * own (ads_resources.c), the errors are collected into the NACK, and the
 * (N)ACK goes out once the result is committed.
 *
 * Nothing in a response is trusted: any field may be missing, empty or of
 * the wrong type, and the worst a server gets back is a NACK. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "xds/ads_int.h"
#include "xds/pb_arena.h"
#include "xds/translate.h"
#include "xds/translate_util.h"

typedef Envoy__Service__Discovery__V3__Resource pb_resource_t;

/* One resource of a response. */
typedef struct item {
    size_t idx;          /* position in the response (resources[idx]) */
    char *name;          /* NULL: could not be determined */
    const uint8_t *data; /* the encoded resource, borrowed from the response */
    size_t len;
    ProtobufCMessage *msg; /* decoded, owned until applied (catalogue types: in the
                              response's arena, see xds/pb_arena.h) */
    const char *version;   /* borrowed */
    uint64_t ttl_ms;       /* 0: none */
    bool heartbeat;
    char *err;              /* rejected before translation: why */
    pb_resource_t *wrapper; /* SotW: unpacked Resource wrapper (data points into it), in the arena */
} item_t;

/* ---- NACK text ---------------------------------------------------------------- */

void dp_ads__nack_add(dp_ads_t *a, const char *label, const char *reason)
{
    char piece[1536];
    size_t plen;
    const size_t max = ADS_NACK_MAX - 1; /* bytes, without the NUL */

    a->n_rejected++;
    if (a->in_response && label && label[0]) {
        if (a->n_rej == a->cap_rej) {
            a->cap_rej = a->cap_rej ? a->cap_rej * 2 : 8;
            a->rej = dp_xrealloc(a->rej, a->cap_rej * sizeof(*a->rej));
        }
        a->rej[a->n_rej++] = dp_xstrdup(label);
    }
    if (label && label[0])
        snprintf(piece, sizeof(piece), "%s: %s", label, reason ? reason : "rejected");
    else
        snprintf(piece, sizeof(piece), "%s", reason ? reason : "rejected");
    plen = strlen(piece);
    if (a->nack_cap == 0) {
        a->nack_cap = ADS_NACK_MAX;
        a->nack = dp_xmalloc(a->nack_cap);
        a->nack_len = 0;
        a->nack[0] = '\0';
    }
    if (a->nack_len >= max)
        return; /* already full (ends with "...") */
    size_t need = (a->nack_len ? 2 : 0) + plen;
    if (a->nack_len + need > max) {
        /* Bounded: keep what fits and say there was more. room >= 1
         * and the buffer holds max + 1 bytes. */
        size_t room = max - a->nack_len;
        snprintf(a->nack + a->nack_len, room + 1, "%s%s", a->nack_len ? "; " : "", piece);
        memcpy(a->nack + max - 3, "...", 4);
        a->nack_len = max;
        return;
    }
    if (a->nack_len) {
        memcpy(a->nack + a->nack_len, "; ", 2);
        a->nack_len += 2;
    }
    memcpy(a->nack + a->nack_len, piece, plen + 1);
    a->nack_len += plen;
}

/* The message goes into a proto3 string: replace bytes that are not
 * UTF-8 (a server's own names echoed back, a cut in the middle of a
 * character) so the server can decode our NACK. */
static void utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80                 ? 1
                   : c >= 0xC2 && c <= 0xDF ? 2
                   : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4
                                            : 0;
        /* The second byte's range excludes overlong forms, surrogates
         * and code points above U+10FFFF (what Go's decoder rejects). */
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        size_t k = 1;
        for (; n > 1 && k < n; k++) {
            unsigned b = p[k];
            if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80)
                break;
        }
        if (n == 0 || k < n) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

static void rej_clear(dp_ads_t *a)
{
    for (size_t i = 0; i < a->n_rej; i++)
        free(a->rej[i]);
    a->n_rej = 0;
}

static void begin_response(dp_ads_t *a, dp_res_type_t type)
{
    a->in_response = true;
    a->cur_type = type;
    a->n_rejected = 0;
    rej_clear(a);
    a->nack_len = 0;
    if (a->nack)
        a->nack[0] = '\0';
    dp_ads__refs_invalidate(a);
}

static const char *end_response(dp_ads_t *a)
{
    a->in_response = false;
    dp_ads__refs_invalidate(a);
    if (a->n_rejected == 0) {
        rej_clear(a);
        return NULL;
    }
    utf8_sanitize(a->nack);
    /* CSDS shows each rejected resource with the NACK that said so. A
     * label that is not a held resource (an index, a dropped RDS name)
     * finds nothing. */
    for (size_t i = 0; i < a->n_rej; i++) {
        ads_res_t *r = dp_ads__find(&a->t[a->cur_type].store, a->rej[i]);
        if (r && r->rej) {
            free(r->rej->nack);
            r->rej->nack = dp_xstrdup(a->nack);
        }
    }
    rej_clear(a);
    return a->nack;
}

/* ---- helpers -------------------------------------------------------------------------- */

bool dp_ads__duration_ms(const ProtobufCMessage *m, uint64_t *out)
{
    const Google__Protobuf__Duration *d = (const Google__Protobuf__Duration *)m;
    if (d == NULL || d->base.descriptor != &google__protobuf__duration__descriptor)
        return false;
    if (d->seconds < 0 || d->nanos < 0 || d->nanos > 999999999)
        return false;
    /* Far beyond any sensible timer: clamp instead of overflowing. */
    int64_t s = d->seconds > 1000000000000LL ? 1000000000000LL : d->seconds;
    *out = (uint64_t)s * 1000u + (uint64_t)d->nanos / 1000000u;
    return true;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return dp_xstrdup(buf);
}

static const char *name_field(dp_res_type_t t)
{
    if (t == DP_RES_CONTAINER || t == DP_RES_PROJECT)
        return "id";
    return t == DP_RES_ENDPOINT ? "cluster_name" : "name";
}

static const char *str(const char *s)
{
    return s ? s : "";
}

static uint64_t ttl_of(const pb_resource_t *r)
{
    uint64_t ms = 0;
    if (r->ttl && dp_ads__duration_ms(&r->ttl->base, &ms))
        return ms;
    return 0;
}

/* Decodes the resource Any of item `it` (type checked against the
 * response's). `wrapper_name`: the Resource wrapper's name, if any.
 * Catalogue resources are decoded into the response's arena `ar` (they
 * are applied and dropped within the response), the others on the heap
 * (their versions keep them). */
static void decode_any(const ads_type_t *t, const Google__Protobuf__Any *any, const char *wrapper_name,
                       item_t *it, dp_pb_arena_t *ar)
{
    char err[1024] = "";
    ProtobufCMessage *m = NULL;
    ProtobufCAllocator *alloc = DP_RES_IN_SNAPSHOT(t->type) ? NULL : &ar->alloc;

    if (wrapper_name && wrapper_name[0])
        it->name = dp_xstrdup(wrapper_name);
    if (any == NULL) {
        it->err = fmt("resource missing");
        return;
    }
    if (strcmp(str(any->type_url), t->url) != 0) {
        it->err = fmt("type_url '%s' is not the response's type_url '%s'", str(any->type_url), t->url);
        return;
    }
    it->data = any->value.data;
    it->len = any->value.len;
    if (it->len && it->data == NULL) {
        it->err = fmt("resource missing");
        return;
    }
    if (dp_resource_decode_with(t->type, alloc, it->data, it->len, &m, err, sizeof(err)) != 0) {
        /* Still try to name it (a field we do not implement is an error
         * of that resource, not of an unknown one). */
        ProtobufCMessage *loose = protobuf_c_message_unpack(dp_resource_descriptor(t->type), NULL, it->len, it->data);
        char path[1024] = "";
        dp_xlate_t x;
        if (loose != NULL) {
            const char *n = dp_resource_name(t->type, loose);
            if (it->name == NULL && n && n[0])
                it->name = dp_xstrdup(n);
            protobuf_c_message_free_unpacked(loose, NULL);
        }
        dp_xlate__init(&x, path, sizeof(path));
        dp_xlate__fail_unknown(&x, dp_resource_descriptor(t->type), err);
        it->err = dp_xstrdup(path);
        return;
    }
    const char *n = dp_resource_name(t->type, m);
    if (n == NULL || n[0] == '\0') {
        protobuf_c_message_free_unpacked(m, alloc);
        it->err = fmt("%s: required", name_field(t->type));
        return;
    }
    if (it->name && strcmp(it->name, n) != 0) {
        it->err =
            fmt("%s: '%s' differs from the Resource wrapper's name '%s'", name_field(t->type), n, it->name);
        protobuf_c_message_free_unpacked(m, alloc);
        return;
    }
    if (it->name == NULL)
        it->name = dp_xstrdup(n);
    it->msg = m;
}

/* A Resource (Delta's element, or SotW's wrapper): heartbeat or update. */
static void decode_resource(const ads_type_t *t, const pb_resource_t *r, item_t *it, dp_pb_arena_t *ar)
{
    it->ttl_ms = ttl_of(r);
    if (r->resource == NULL) {
        if (r->name == NULL || r->name[0] == '\0') {
            it->err = fmt("heartbeat (Resource without resource) without a name");
            return;
        }
        it->name = dp_xstrdup(r->name);
        it->heartbeat = true;
        return;
    }
    decode_any(t, r->resource, r->name, it, ar);
}

/* What the arena holds (wrappers, catalogue messages) goes with it. */
static void items_free(item_t *v, size_t n, dp_res_type_t type)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].err);
        if (v[i].msg && DP_RES_IN_SNAPSHOT(type))
            protobuf_c_message_free_unpacked(v[i].msg, NULL);
    }
    free(v);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* A name twice in one response: the response is rejected as a whole.
 * extra: more names (Delta's removed_resources). Returns the duplicate. */
static const char *find_duplicate(const item_t *v, size_t n, char **extra, size_t n_extra, char *buf,
                                  size_t blen)
{
    const char **names = dp_xcalloc(n + n_extra + 1, sizeof(*names));
    size_t k = 0;
    const char *dup = NULL;

    for (size_t i = 0; i < n; i++)
        if (v[i].name)
            names[k++] = v[i].name;
    for (size_t i = 0; i < n_extra; i++)
        if (extra[i] && extra[i][0])
            names[k++] = extra[i];
    if (k > 1)
        qsort(names, k, sizeof(*names), cmp_str);
    for (size_t i = 1; i < k && dup == NULL; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
            snprintf(buf, blen, "%s", names[i]);
            dup = buf;
        }
    free(names);
    return dup;
}

/* Applies every item; returns true if all had a name. */
static bool apply_items(dp_ads_t *a, const ads_type_t *t, item_t *v, size_t n, const char *sotw_version)
{
    bool all_named = true;

    if (!DP_RES_IN_SNAPSHOT(t->type) && n > 16) {
        const char **names = dp_xcalloc(n, sizeof(*names));
        for (size_t i = 0; i < n; i++)
            names[i] = v[i].err || v[i].heartbeat ? NULL : v[i].name;
        dp_ads__store_reserve(&a->t[t->type].store, t->type, names, n);
        free(names);
    }
    for (size_t i = 0; i < n; i++) {
        item_t *it = &v[i];
        const char *ver = sotw_version ? sotw_version : it->version;
        if (it->name == NULL)
            all_named = false;
        if (it->err) {
            if (it->name) {
                dp_ads__reject(a, t->type, it->name, it->data, it->len, ver, it->err);
            } else {
                char label[48];
                snprintf(label, sizeof(label), "resources[%zu]", it->idx);
                dp_ads__nack_add(a, label, it->err);
            }
        } else if (it->heartbeat) {
            dp_ads__heartbeat(a, t->type, it->name, it->ttl_ms);
        } else {
            ProtobufCMessage *m = it->msg;
            it->msg = NULL;
            dp_ads__apply(a, t->type, it->name, it->data, it->len, m, ver, it->ttl_ms);
        }
    }
    return all_named;
}

/* The response is not one of ours to process: NACK it. */
static void nack_type(dp_ads_t *a, const char *url, const char *nonce, const char *why)
{
    begin_response(a, DP_RES__COUNT);
    dp_ads__nack_add(a, NULL, why);
    const char *msg = end_response(a);
    DP_WARN("xds: NACK %s: %s", url, msg);
    if (a->delta)
        dp_ads__send_delta(a, url, NULL, 0, NULL, 0, NULL, nonce, msg);
    else
        dp_ads__send_sotw(a, url, "", nonce, NULL, msg);
}

/* Known URL, but nothing asked for it. */
static bool check_type(dp_ads_t *a, const char *url, ads_type_t *t, const char *nonce)
{
    char why[512];

    if (t == NULL) {
        snprintf(why, sizeof(why), "unknown resource type '%.400s'", url);
        nack_type(a, url, nonce, why);
        return false;
    }
    if (!t->configured) {
        snprintf(why, sizeof(why), "resource type '%s' is not subscribed (no %s in the bootstrap)", url,
                 t->type == DP_RES_LISTENER ? "dynamic_resources.lds_config"
                                            : "dynamic_resources.cds_config");
        nack_type(a, url, nonce, why);
        return false;
    }
    free(t->nonce);
    t->nonce = dp_xstrdup(nonce);
    t->fetched = true;
    return true;
}

/* ---- SotW ------------------------------------------------------------------------------ */

/* LDS/CDS: what a SotW response does not name is deleted. */
static void sotw_delete_absent(dp_ads_t *a, ads_type_t *t, const item_t *v, size_t n)
{
    ads_store_t *s = &t->store;
    ads_names_t gone = {NULL, 0};

    for (size_t i = 0; i < s->n; i++)
        s->v[i]->seen = false;
    for (size_t i = 0; i < n; i++) {
        ads_res_t *r = v[i].name ? dp_ads__find(s, v[i].name) : NULL;
        if (r)
            r->seen = true;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!s->v[i]->seen) {
            gone.v = dp_xrealloc(gone.v, (gone.n + 1) * sizeof(*gone.v));
            gone.v[gone.n++] = dp_xstrdup(s->v[i]->name);
        }
    }
    for (size_t i = 0; i < gone.n; i++)
        dp_ads__remove(a, t->type, gone.v[i]);
    dp_ads__names_free(&gone);
}

int dp_ads__on_sotw(dp_ads_t *a, const uint8_t *buf, size_t len)
{
    Envoy__Service__Discovery__V3__DiscoveryResponse *resp;
    const char *url, *nonce, *version, *nack;
    item_t *items;
    ads_type_t *t;
    char dupbuf[512];
    dp_pb_arena_t ar;

    dp_pb_arena_init(&ar);
    resp = envoy__service__discovery__v3__discovery_response__unpack(&ar.alloc, len, buf);
    if (resp == NULL) {
        dp_pb_arena_release(&ar);
        return DP_EINVAL;
    }
    url = str(resp->type_url);
    nonce = str(resp->nonce);
    version = str(resp->version_info);
    t = dp_ads__type_by_url(a, url);
    if (!check_type(a, url, t, nonce))
        goto out;

    begin_response(a, t->type);
    items = dp_xcalloc(resp->n_resources + 1, sizeof(*items));
    for (size_t i = 0; i < resp->n_resources; i++) {
        const Google__Protobuf__Any *any = resp->resources[i];
        item_t *it = &items[i];
        it->idx = i;
        if (any && strcmp(str(any->type_url), ADS_TYPE_RESOURCE) == 0) {
            it->wrapper =
                envoy__service__discovery__v3__resource__unpack(&ar.alloc, any->value.len, any->value.data);
            if (it->wrapper == NULL)
                it->err = fmt("cannot decode envoy.service.discovery.v3.Resource");
            else
                decode_resource(t, it->wrapper, it, &ar);
        } else {
            decode_any(t, any, NULL, it, &ar);
        }
    }
    if (find_duplicate(items, resp->n_resources, NULL, 0, dupbuf, sizeof(dupbuf))) {
        char why[700];
        snprintf(why, sizeof(why), "duplicate resource name '%.500s' in one response", dupbuf);
        dp_ads__nack_add(a, NULL, why);
    } else {
        bool all_named = apply_items(a, t, items, resp->n_resources, version);
        if (t->wildcard) {
            if (all_named)
                sotw_delete_absent(a, t, items, resp->n_resources);
            else
                DP_WARN("xds: %s response %s has unnamed resources: nothing deleted", url, version);
        }
        dp_ads__settle(a);
        dp_ads__commit(a);
    }
    items_free(items, resp->n_resources, t->type);
    nack = end_response(a);
    if (nack == NULL) {
        free(t->version);
        t->version = dp_xstrdup(version);
    } else {
        DP_WARN("xds: NACK %s version %s: %s", url, version, nack);
    }
    if (t->wildcard) {
        dp_ads__send_sotw(a, url, t->version, nonce, NULL, nack);
    } else {
        /* The (N)ACK carries the current interest: it is the subscription. */
        ads_names_t need;
        dp_ads__needed(a, t->type, &need);
        dp_ads__send_sotw(a, url, t->version, nonce, &need, nack);
        dp_ads__names_copy(&t->sent, &need);
        t->on_stream = true;
        dp_ads__names_free(&need);
    }
    dp_ads__update_subscriptions(a);
out:
    dp_pb_arena_release(&ar); /* resp */
    return 0;
}

/* ---- Delta ------------------------------------------------------------------------------- */

int dp_ads__on_delta(dp_ads_t *a, const uint8_t *buf, size_t len)
{
    Envoy__Service__Discovery__V3__DeltaDiscoveryResponse *resp;
    const char *url, *nonce, *nack;
    item_t *items;
    ads_type_t *t;
    char **removed = NULL;
    size_t n_removed = 0;
    char dupbuf[512];
    dp_pb_arena_t ar;

    dp_pb_arena_init(&ar);
    resp = envoy__service__discovery__v3__delta_discovery_response__unpack(&ar.alloc, len, buf);
    if (resp == NULL) {
        dp_pb_arena_release(&ar);
        return DP_EINVAL;
    }
    url = str(resp->type_url);
    nonce = str(resp->nonce);
    t = dp_ads__type_by_url(a, url);
    if (!check_type(a, url, t, nonce))
        goto out;

    begin_response(a, t->type);
    items = dp_xcalloc(resp->n_resources + 1, sizeof(*items));
    for (size_t i = 0; i < resp->n_resources; i++) {
        item_t *it = &items[i];
        it->idx = i;
        if (resp->resources[i] == NULL) {
            it->err = fmt("resource missing");
            continue;
        }
        it->version = str(resp->resources[i]->version);
        decode_resource(t, resp->resources[i], it, &ar);
    }
    removed = dp_xcalloc(resp->n_removed_resources + resp->n_removed_resource_names + 1, sizeof(*removed));
    for (size_t i = 0; i < resp->n_removed_resources; i++)
        if (resp->removed_resources[i] && resp->removed_resources[i][0])
            removed[n_removed++] = resp->removed_resources[i];
    for (size_t i = 0; i < resp->n_removed_resource_names; i++) {
        const Envoy__Service__Discovery__V3__ResourceName *rn = resp->removed_resource_names[i];
        if (rn && rn->name && rn->name[0])
            removed[n_removed++] = rn->name;
    }
    /* The same name in removed_resources and removed_resource_names is
     * one removal said twice; a name updated twice, or updated and
     * removed, is a contradiction. */
    if (n_removed > 1)
        qsort(removed, n_removed, sizeof(*removed), cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n_removed; i++)
        if (k == 0 || strcmp(removed[k - 1], removed[i]) != 0)
            removed[k++] = removed[i];
    n_removed = k;
    if (find_duplicate(items, resp->n_resources, removed, n_removed, dupbuf, sizeof(dupbuf))) {
        char why[700];
        snprintf(why, sizeof(why), "duplicate resource name '%.500s' in one response", dupbuf);
        dp_ads__nack_add(a, NULL, why);
    } else {
        apply_items(a, t, items, resp->n_resources, NULL);
        for (size_t i = 0; i < n_removed; i++)
            dp_ads__remove(a, t->type, removed[i]);
        dp_ads__settle(a);
        dp_ads__commit(a);
    }
    items_free(items, resp->n_resources, t->type);
    free(removed);
    nack = end_response(a);
    if (nack)
        DP_WARN("xds: NACK %s (system version %s): %s", url, str(resp->system_version_info), nack);
    dp_ads__send_delta(a, url, NULL, 0, NULL, 0, NULL, nonce, nack);
    dp_ads__update_subscriptions(a);
out:
    dp_pb_arena_release(&ar); /* resp */
    return 0;
}
