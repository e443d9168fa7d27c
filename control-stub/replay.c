/* Loader of recorded xDS streams for --replay (see replay.h). */
#include "control-stub/replay.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-stub/stub_util.h"
#include "dataplane/core/common.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "xds/pbjson.h"
#include "xds/typereg.h"

static dp_replay_stream_t *stream_of(dp_replay_t *rp, unsigned no)
{
    for (size_t i = 0; i < rp->nstreams; i++)
        if (rp->streams[i].no == no)
            return &rp->streams[i];
    rp->streams = dp_stub_xrealloc(rp->streams, (rp->nstreams + 1) * sizeof *rp->streams);
    dp_replay_stream_t *s = &rp->streams[rp->nstreams++];
    memset(s, 0, sizeof *s);
    s->no = no;
    return s;
}

/* One line into rp. Returns 0 or DP_EINVAL (errbuf without the FILE:LINE
 * prefix, which the caller adds). */
static int load_line(dp_replay_t *rp, const char *text, size_t lineno, char *errbuf, size_t errlen)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    int rc = DP_EINVAL;
    char *msgtext = NULL;
    if (j == NULL || !json_is_object(j)) {
        snprintf(errbuf, errlen, "not a JSON object%s%s", j ? "" : ": ", j ? "" : je.text);
        goto out;
    }
    json_t *jstream = json_object_get(j, "stream"), *jmsg = json_object_get(j, "msg");
    const char *dir = json_string_value(json_object_get(j, "dir"));
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!json_is_integer(jstream) || dir == NULL || type == NULL) {
        snprintf(errbuf, errlen, "needs \"stream\" (integer), \"dir\" and \"type\" (strings)");
        goto out;
    }
    int is_req = strcmp(dir, "send") == 0;
    if (!is_req && strcmp(dir, "recv") != 0) {
        snprintf(errbuf, errlen, "dir '%s': expected send or recv", dir);
        goto out;
    }
    const ProtobufCMessageDescriptor *want[2][2] = {
        {&envoy__service__discovery__v3__discovery_response__descriptor,
         &envoy__service__discovery__v3__delta_discovery_response__descriptor},
        {&envoy__service__discovery__v3__discovery_request__descriptor,
         &envoy__service__discovery__v3__delta_discovery_request__descriptor},
    };
    int delta = -1;
    for (int k = 0; k < 2; k++)
        if (strcmp(type, want[is_req][k]->name) == 0)
            delta = k;
    if (delta < 0) {
        snprintf(errbuf, errlen, "type '%s': expected %s or %s for dir %s", type, want[is_req][0]->name,
                 want[is_req][1]->name, dir);
        goto out;
    }
    dp_replay_stream_t *s = stream_of(rp, (unsigned)json_integer_value(jstream));
    if (s->n > 0 && s->delta != delta) {
        snprintf(errbuf, errlen, "stream %u mixes SotW and delta messages", s->no);
        goto out;
    }
    s->delta = delta;
    dp_replay_item_t it = {is_req, NULL, 0, lineno};
    if (!is_req) {
        if (!json_is_object(jmsg)) {
            snprintf(errbuf, errlen, "recv line without a \"msg\" object");
            goto out;
        }
        msgtext = json_dumps(jmsg, JSON_COMPACT);
        dp_pbjson_opts_t o = {dp_typereg_lookup, 0};
        ProtobufCMessage *m = NULL;
        char label[32];
        snprintf(label, sizeof label, "msg");
        if (msgtext == NULL ||
            dp_pbjson_decode_text(msgtext, strlen(msgtext), want[0][delta], &o, &m, label, errbuf, errlen) != 0)
            goto out;
        it.len = protobuf_c_message_get_packed_size(m);
        it.bytes = dp_stub_xmalloc(it.len);
        protobuf_c_message_pack(m, it.bytes);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    s->items = dp_stub_xrealloc(s->items, (s->n + 1) * sizeof *s->items);
    s->items[s->n++] = it;
    rc = 0;
out:
    free(msgtext);
    json_decref(j);
    return rc;
}

int dp_replay_load(const char *path, dp_replay_t **out, char *errbuf, size_t errlen)
{
    size_t len = 0;
    char *text = dp_stub_read_file(path, &len);
    if (text == NULL) {
        snprintf(errbuf, errlen, "%s: cannot read", path);
        return DP_ERR;
    }
    dp_replay_t *rp = dp_stub_xcalloc(1, sizeof *rp);
    size_t lineno = 0;
    int rc = 0;
    for (char *p = text, *nl; p < text + len && rc == 0; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL)
            nl = text + len;
        *nl = '\0';
        lineno++;
        if (strspn(p, " \t\r") == strlen(p))
            continue;
        char e[900];
        if ((rc = load_line(rp, p, lineno, e, sizeof e)) != 0)
            snprintf(errbuf, errlen, "%s:%zu: %s", path, lineno, e);
    }
    free(text);
    if (rc == 0 && rp->nstreams == 0) {
        snprintf(errbuf, errlen, "%s: no recorded stream", path);
        rc = DP_EINVAL;
    }
    if (rc) {
        dp_replay_free(rp);
        return rc;
    }
    *out = rp;
    return 0;
}

void dp_replay_free(dp_replay_t *rp)
{
    if (rp == NULL)
        return;
    for (size_t i = 0; i < rp->nstreams; i++) {
        for (size_t k = 0; k < rp->streams[i].n; k++)
            free(rp->streams[i].items[k].bytes);
        free(rp->streams[i].items);
    }
    free(rp->streams);
    free(rp);
}
