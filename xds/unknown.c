/* Unknown-field walk over protobuf-c messages (see unknown.h). */
#include "xds/unknown.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

/* Envoy's name for every field of the messages we model, generated from
 * Envoy's protos by tests/conformance/gen_fields.sh (the conformance test
 * keeps it equal to them). Sorted by message, then number, for bsearch. */
typedef struct envoy_field {
    const char *message;
    uint32_t number;
    const char *name;
} envoy_field_t;

static const envoy_field_t envoy_fields[] = {
#include "xds/envoy_fields.inc"
};

/* Long enough for any real resource path; a deeper path is cut and marked
 * with "..." rather than failing the check. */
#define UNKNOWN_PATH_MAX 512

typedef struct unknown_walk {
    const ProtobufCMessageDescriptor *root;
    char path[UNKNOWN_PATH_MAX];
    size_t len;      /* bytes of path in use */
    int truncated;   /* a step did not fit */
    unsigned depth;  /* message nesting below the root */
    char *errbuf;
    size_t errlen;
} unknown_walk_t;

static void walk_push(unknown_walk_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends one path step; the caller restores w->len to pop it. */
static void walk_push(unknown_walk_t *w, const char *fmt, ...)
{
    size_t room = sizeof(w->path) - w->len;
    va_list ap;
    int n;

    if (w->truncated)
        return;
    va_start(ap, fmt);
    n = vsnprintf(w->path + w->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        w->path[w->len] = '\0';
        w->truncated = 1;
        return;
    }
    w->len += (size_t)n;
}

/* Back to a state saved before walk_push(). */
static void walk_pop(unknown_walk_t *w, size_t len, int truncated)
{
    w->len = len;
    w->path[len] = '\0';
    w->truncated = truncated;
}

static int envoy_field_cmp(const void *key, const void *elem)
{
    const envoy_field_t *k = key, *e = elem;
    int c = strcmp(k->message, e->message);

    if (c != 0)
        return c;
    return k->number < e->number ? -1 : k->number > e->number;
}

const char *dp_pb_envoy_field_name(const char *message, uint32_t number)
{
    envoy_field_t key = {message, number, NULL};
    const envoy_field_t *hit;

    if (message == NULL)
        return NULL;
    hit = bsearch(&key, envoy_fields, sizeof(envoy_fields) / sizeof(envoy_fields[0]),
                  sizeof(envoy_fields[0]), envoy_field_cmp);
    return hit != NULL ? hit->name : NULL;
}

/* "<type>.<name> (field N): not supported", or "<type> (field N): ..." when
 * the table does not know the number (a newer Envoy's field, or none at
 * all); below the root, the path that leads there comes first. */
static int walk_report(unknown_walk_t *w, const ProtobufCMessage *m)
{
    const char *type = m->descriptor->name;
    uint32_t number = m->unknown_fields[0].tag;
    const char *name;

    if (w->errbuf == NULL || w->errlen == 0)
        return DP_EINVAL;
    name = dp_pb_envoy_field_name(type, number);
    snprintf(w->errbuf, w->errlen, "%s%s%s%s%s%s%s (field %" PRIu32 "): not supported",
             w->depth == 0 ? "" : w->root->name, w->path, w->truncated ? "..." : "",
             w->depth == 0 ? "" : ": ", type, name != NULL ? "." : "", name != NULL ? name : "",
             number);
    return DP_EINVAL;
}

/* protobuf-c keeps no map_entry option, so a map entry is recognised by the
 * shape protoc gives every one: a nested "...Entry" type with exactly
 * key = 1 and value = 2. A hand-written message of that shape would only be
 * printed as a map in the error path, nothing else changes. */
static int is_map_entry(const ProtobufCMessageDescriptor *d)
{
    size_t n = strlen(d->short_name);

    return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
           d->fields[0].id == 1 && strcmp(d->fields[0].name, "key") == 0 &&
           d->fields[1].id == 2 && strcmp(d->fields[1].name, "value") == 0;
}

static void push_map_key(unknown_walk_t *w, const ProtobufCMessage *entry)
{
    const ProtobufCFieldDescriptor *k = &entry->descriptor->fields[0];
    const void *p = (const char *)entry + k->offset;

    switch (k->type) {
    case PROTOBUF_C_TYPE_STRING:
        walk_push(w, "[\"%s\"]", *(char *const *)p ? *(char *const *)p : "");
        break;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        walk_push(w, "[%" PRId32 "]", *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        walk_push(w, "[%" PRIu32 "]", *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        walk_push(w, "[%" PRId64 "]", *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        walk_push(w, "[%" PRIu64 "]", *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        walk_push(w, "[%s]", *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    default:
        walk_push(w, "[?]");
        break;
    }
}

static int walk_message(unknown_walk_t *w, const ProtobufCMessage *m);

/* A map value is reported at ".field[key]", without a ".value" step: that
 * is how the config author wrote it. */
static int walk_map_entry(unknown_walk_t *w, const ProtobufCMessage *entry)
{
    const ProtobufCFieldDescriptor *v = &entry->descriptor->fields[1];
    const ProtobufCMessage *sub;

    if (entry->n_unknown_fields > 0)
        return walk_report(w, entry);
    if (v->type != PROTOBUF_C_TYPE_MESSAGE)
        return 0;
    sub = *(ProtobufCMessage *const *)((const char *)entry + v->offset);
    return sub != NULL ? walk_message(w, sub) : 0;
}

static int walk_field(unknown_walk_t *w, const ProtobufCMessage *m,
                      const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)m;
    size_t saved = w->len;
    int saved_truncated = w->truncated;
    int rc = 0;

    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)(base + f->quantifier_offset);
        ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
        const ProtobufCMessageDescriptor *sd = f->descriptor;
        int map = is_map_entry(sd);

        for (size_t i = 0; i < n && rc == 0; i++) {
            if (arr[i] == NULL)
                continue;
            walk_push(w, ".%s", f->name);
            if (map)
                push_map_key(w, arr[i]);
            else
                walk_push(w, "[%zu]", i);
            w->depth++;
            rc = map ? walk_map_entry(w, arr[i]) : walk_message(w, arr[i]);
            w->depth--;
            if (rc == 0)
                walk_pop(w, saved, saved_truncated);
        }
        return rc;
    }

    /* Oneof members share storage: only the member named by the case field
     * holds a message pointer. */
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)(base + f->quantifier_offset) != f->id)
        return 0;

    const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
    if (sub == NULL)
        return 0;
    walk_push(w, ".%s", f->name);
    w->depth++;
    rc = walk_message(w, sub);
    w->depth--;
    if (rc == 0)
        walk_pop(w, saved, saved_truncated);
    return rc;
}

static int walk_message(unknown_walk_t *w, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    if (m->n_unknown_fields > 0)
        return walk_report(w, m);
    for (unsigned i = 0; i < d->n_fields; i++) {
        int rc;

        if (d->fields[i].type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        rc = walk_field(w, m, &d->fields[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The same traversal without building paths: a resource is almost always
 * clean, and formatting a path step for every sub-message (vsnprintf) was
 * most of the check's cost on big catalogues. The walk that names the
 * field runs only when this finds something. */
static bool has_unknown(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;

    if (m->n_unknown_fields > 0)
        return true;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (arr[j] != NULL && has_unknown(arr[j]))
                    return true;
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
        if (sub != NULL && has_unknown(sub))
            return true;
    }
    return false;
}

int dp_pb_check_unknown(const ProtobufCMessage *m, char *errbuf, size_t errlen)
{
    unknown_walk_t w;

    if (m == NULL) {
        if (errbuf != NULL && errlen > 0)
            snprintf(errbuf, errlen, "null message");
        return DP_EINVAL;
    }
    if (!has_unknown(m))
        return 0;
    w.root = m->descriptor;
    w.path[0] = '\0';
    w.len = 0;
    w.truncated = 0;
    w.depth = 0;
    w.errbuf = errbuf;
    w.errlen = errlen;
    return walk_message(&w, m);
}
