/* The HTTP/2 defences that nghttp2 does not apply by itself, as Envoy
 * applies them (source/common/http/http2/protocol_constraints.cc), plus
 * the header block size limit and the rapid reset rule (CVE-2023-44487).
 * Pure accounting: the codec feeds frame headers and queue sizes, and
 * closes the connection with GOAWAY when a function returns an error code.
 *
 * nghttp2 1.52 (Debian's, with its security backports) already limits:
 * queued SETTINGS/PING ACKs (max_outbound_ack), CONTINUATION frames per
 * header block (max_continuations), the RST_STREAM rate (a token bucket),
 * SETTINGS entries per frame. What is left is here:
 *   - consecutive inbound DATA/HEADERS/CONTINUATION frames with an empty
 *     payload and no END_STREAM (max_consecutive_inbound_frames_with_empty_payload);
 *   - PRIORITY frames: max_inbound_priority_frames_per_stream * (1 + streams opened);
 *   - WINDOW_UPDATE frames: 5 + 2 * (streams opened +
 *     max_inbound_window_update_frames_per_data_frame_sent * DATA frames sent);
 *   - frames queued for a peer that does not read: max_outbound_frames, of
 *     which PING/SETTINGS/RST_STREAM: max_outbound_control_frames;
 *   - a header block (HEADERS + CONTINUATION) larger on the wire than the
 *     decoded limit allows (max_request_headers_kb plus HPACK overhead): a
 *     CONTINUATION flood ends before nghttp2 decodes much of it;
 *   - rapid reset: once the client opened DP_H2_RAPID_RESET_MIN_STREAMS
 *     streams, resetting more than half of them before their response. */
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/http2/server_int.h"

void dp_h2_flood__init(dp_h2_flood_t *f, const dp_h2_options_t *o, size_t max_header_block)
{
    memset(f, 0, sizeof(*f));
    f->o = *o;
    f->max_header_block = max_header_block;
}

void dp_h2_flood__free(dp_h2_flood_t *f)
{
    free(f->ring);
    f->ring = NULL;
    f->ring_cap = f->ring_n = f->ring_head = f->n_control = 0;
}

uint32_t dp_h2_flood__begin_frame(dp_h2_flood_t *f, const nghttp2_frame_hd *hd, const char **why)
{
    switch (hd->type) {
    case NGHTTP2_DATA:
    case NGHTTP2_HEADERS:
    case NGHTTP2_CONTINUATION: {
        bool end_stream = hd->type != NGHTTP2_CONTINUATION && (hd->flags & NGHTTP2_FLAG_END_STREAM);
        if (hd->length == 0 && !end_stream)
            f->consecutive_empty++;
        else
            f->consecutive_empty = 0;
        if (f->consecutive_empty > f->o.max_consecutive_inbound_frames_with_empty_payload) {
            *why = "too many consecutive frames with an empty payload";
            return NGHTTP2_ENHANCE_YOUR_CALM;
        }
        if (hd->type == NGHTTP2_DATA)
            break;
        if (hd->type == NGHTTP2_HEADERS)
            f->header_block = hd->length;
        else
            f->header_block += hd->length;
        f->in_header_block = !(hd->flags & NGHTTP2_FLAG_END_HEADERS);
        if (f->header_block > f->max_header_block) {
            *why = "header block too large";
            return NGHTTP2_ENHANCE_YOUR_CALM;
        }
        break;
    }
    case NGHTTP2_PRIORITY:
        f->inbound_priority++;
        if (f->inbound_priority >
            (uint64_t)f->o.max_inbound_priority_frames_per_stream * (1 + f->opened_streams)) {
            *why = "too many PRIORITY frames";
            return NGHTTP2_ENHANCE_YOUR_CALM;
        }
        break;
    case NGHTTP2_WINDOW_UPDATE:
        f->inbound_window_update++;
        if (f->inbound_window_update >
            5 + 2 * (f->opened_streams + (uint64_t)f->o.max_inbound_window_update_frames_per_data_frame_sent *
                                             f->outbound_data_frames)) {
            *why = "too many WINDOW_UPDATE frames";
            return NGHTTP2_ENHANCE_YOUR_CALM;
        }
        break;
    default:
        break;
    }
    return 0;
}

void dp_h2_flood__stream_opened(dp_h2_flood_t *f)
{
    f->opened_streams++;
}

uint32_t dp_h2_flood__client_reset(dp_h2_flood_t *f, bool premature, const char **why)
{
    if (!premature)
        return 0;
    f->premature_resets++;
    if (f->opened_streams >= DP_H2_RAPID_RESET_MIN_STREAMS && f->premature_resets * 2 > f->opened_streams) {
        *why = "too many streams reset by the client before their response (rapid reset)";
        return NGHTTP2_ENHANCE_YOUR_CALM;
    }
    return 0;
}

void dp_h2_flood__written(dp_h2_flood_t *f, size_t queued_now)
{
    uint64_t written = f->out_total - queued_now;
    while (f->ring_n > 0 && (f->ring[f->ring_head] >> 1) <= written) {
        f->n_control -= f->ring[f->ring_head] & 1;
        f->ring_head = (f->ring_head + 1) % f->ring_cap;
        f->ring_n--;
    }
    if (f->ring_n == 0)
        f->ring_head = 0;
}

static void ring_push(dp_h2_flood_t *f, uint64_t v)
{
    if (f->ring_n == f->ring_cap) {
        size_t cap = f->ring_cap ? f->ring_cap * 2 : 64;
        uint64_t *r = dp_xmalloc(cap * sizeof(*r));
        for (size_t i = 0; i < f->ring_n; i++)
            r[i] = f->ring[(f->ring_head + i) % f->ring_cap];
        free(f->ring);
        f->ring = r;
        f->ring_cap = cap;
        f->ring_head = 0;
    }
    f->ring[(f->ring_head + f->ring_n) % f->ring_cap] = v;
    f->ring_n++;
}

uint32_t dp_h2_flood__frame_sent(dp_h2_flood_t *f, uint8_t type, size_t queued_now, const char **why)
{
    dp_h2_flood__written(f, queued_now);
    if (type == NGHTTP2_DATA)
        f->outbound_data_frames++;
    bool control = type == NGHTTP2_PING || type == NGHTTP2_SETTINGS || type == NGHTTP2_RST_STREAM;
    if (queued_now == 0)
        return 0; /* written already */
    ring_push(f, f->out_total << 1 | (control ? 1u : 0u));
    f->n_control += control;
    if (f->ring_n > f->o.max_outbound_frames) {
        *why = "too many frames queued for a peer that does not read";
        return NGHTTP2_ENHANCE_YOUR_CALM;
    }
    if (f->n_control > f->o.max_outbound_control_frames) {
        *why = "too many control frames queued for a peer that does not read";
        return NGHTTP2_ENHANCE_YOUR_CALM;
    }
    return 0;
}

void dp_h2__goaway_frame(uint8_t out[17], int32_t last_stream_id, uint32_t error_code)
{
    static const uint8_t hd[9] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0};
    memcpy(out, hd, 9);
    uint32_t last = (uint32_t)last_stream_id & 0x7fffffffu;
    for (int i = 0; i < 4; i++) {
        out[9 + i] = (uint8_t)(last >> (24 - 8 * i));
        out[13 + i] = (uint8_t)(error_code >> (24 - 8 * i));
    }
}
