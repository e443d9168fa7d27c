/* The HTTP/2 defences' accounting (dataplane/http2/flood.c): each limit
 * holds up to its value and fires one past it, with Envoy's formulas. */
#include <stdlib.h>

#include "dataplane/http2/server_int.h"
#include "test.h"

static nghttp2_frame_hd hd(uint8_t type, uint8_t flags, size_t length, int32_t stream)
{
    nghttp2_frame_hd h = {.length = length, .stream_id = stream, .type = type, .flags = flags};
    return h;
}

static dp_h2_flood_t fresh(void)
{
    dp_h2_options_t o;
    dp_h2_options_default(&o);
    dp_h2_flood_t f;
    dp_h2_flood__init(&f, &o, 1000);
    return f;
}

static void test_empty_frames(void)
{
    dp_h2_flood_t f = fresh();
    const char *why = NULL;
    nghttp2_frame_hd empty = hd(NGHTTP2_DATA, 0, 0, 1);
    nghttp2_frame_hd full = hd(NGHTTP2_DATA, 0, 10, 1);
    nghttp2_frame_hd end = hd(NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 0, 1);
    /* default limit 1: one empty frame is fine, two in a row are not */
    CHECK_INT(dp_h2_flood__begin_frame(&f, &empty, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &full, &why), 0); /* resets the run */
    CHECK_INT(dp_h2_flood__begin_frame(&f, &empty, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &end, &why), 0); /* END_STREAM: not "empty" */
    CHECK_INT(dp_h2_flood__begin_frame(&f, &empty, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &empty, &why), NGHTTP2_ENHANCE_YOUR_CALM);
    CHECK(why && strstr(why, "empty payload"));
    /* CONTINUATION counts too, and its END_STREAM bit means nothing */
    dp_h2_flood__free(&f);
    f = fresh();
    nghttp2_frame_hd h = hd(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 20, 3);
    nghttp2_frame_hd cont = hd(NGHTTP2_CONTINUATION, NGHTTP2_FLAG_END_STREAM, 0, 3);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &h, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &cont, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &cont, &why), NGHTTP2_ENHANCE_YOUR_CALM);
    dp_h2_flood__free(&f);
}

static void test_header_block(void)
{
    dp_h2_flood_t f = fresh(); /* 1000-byte blocks */
    const char *why = NULL;
    nghttp2_frame_hd h = hd(NGHTTP2_HEADERS, 0, 400, 1);
    nghttp2_frame_hd c = hd(NGHTTP2_CONTINUATION, 0, 300, 1);
    nghttp2_frame_hd last = hd(NGHTTP2_CONTINUATION, NGHTTP2_FLAG_END_HEADERS, 300, 1);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &h, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &c, &why), 0);
    CHECK(f.in_header_block);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &last, &why), 0); /* exactly 1000 */
    CHECK(!f.in_header_block);
    /* a new block starts from zero */
    CHECK_INT(dp_h2_flood__begin_frame(&f, &h, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &c, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &c, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &c, &why), NGHTTP2_ENHANCE_YOUR_CALM);
    CHECK(why && strstr(why, "header block"));
    dp_h2_flood__free(&f);
}

static void test_priority(void)
{
    dp_h2_flood_t f = fresh();
    const char *why = NULL;
    nghttp2_frame_hd p = hd(NGHTTP2_PRIORITY, 0, 5, 1);
    for (int i = 0; i < 100; i++)
        CHECK_INT(dp_h2_flood__begin_frame(&f, &p, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &p, &why), NGHTTP2_ENHANCE_YOUR_CALM);
    /* each opened stream allows 100 more: 100 * (1 + 1) */
    dp_h2_flood__free(&f);
    f = fresh();
    dp_h2_flood__stream_opened(&f);
    int fired = -1;
    for (int i = 0; i < 300 && fired < 0; i++)
        if (dp_h2_flood__begin_frame(&f, &p, &why))
            fired = i;
    CHECK_INT(fired, 200);
    dp_h2_flood__free(&f);
}

static void test_window_update(void)
{
    dp_h2_flood_t f = fresh();
    const char *why = NULL;
    nghttp2_frame_hd w = hd(NGHTTP2_WINDOW_UPDATE, 0, 4, 0);
    /* 5 + 2 * (streams + 10 * DATA frames sent) */
    for (int i = 0; i < 5; i++)
        CHECK_INT(dp_h2_flood__begin_frame(&f, &w, &why), 0);
    CHECK_INT(dp_h2_flood__begin_frame(&f, &w, &why), NGHTTP2_ENHANCE_YOUR_CALM);
    dp_h2_flood__free(&f);
    f = fresh();
    dp_h2_flood__stream_opened(&f);
    dp_h2_flood__queued(&f, 100);
    CHECK_INT(dp_h2_flood__frame_sent(&f, NGHTTP2_DATA, 100, &why), 0);
    int fired = -1;
    for (int i = 0; i < 100 && fired < 0; i++)
        if (dp_h2_flood__begin_frame(&f, &w, &why))
            fired = i;
    CHECK_INT(fired, 5 + 2 * (1 + 10 * 1));
    dp_h2_flood__free(&f);
}

static void test_rapid_reset(void)
{
    dp_h2_flood_t f = fresh();
    const char *why = NULL;
    for (int i = 0; i < DP_H2_RAPID_RESET_MIN_STREAMS - 1; i++) {
        dp_h2_flood__stream_opened(&f);
        CHECK_INT(dp_h2_flood__client_reset(&f, true, &why), 0); /* under the minimum */
    }
    dp_h2_flood__stream_opened(&f);
    CHECK_INT(dp_h2_flood__client_reset(&f, true, &why), NGHTTP2_ENHANCE_YOUR_CALM);
    CHECK(why && strstr(why, "rapid reset"));
    dp_h2_flood__free(&f);

    /* resets after the response, or up to half of the streams, are fine */
    f = fresh();
    for (int i = 0; i < 1000; i++) {
        dp_h2_flood__stream_opened(&f);
        CHECK_INT(dp_h2_flood__client_reset(&f, i % 2 == 1, &why), 0);
        CHECK_INT(dp_h2_flood__client_reset(&f, false, &why), 0);
    }
    dp_h2_flood__free(&f);
}

static void test_outbound(void)
{
    dp_h2_options_t o;
    dp_h2_options_default(&o);
    o.max_outbound_frames = 50;
    o.max_outbound_control_frames = 10;
    dp_h2_flood_t f;
    dp_h2_flood__init(&f, &o, 1000);
    const char *why = NULL;
    size_t queued = 0;
    /* 10 PING ACKs queued (17 bytes each) at a peer that does not read */
    for (int i = 0; i < 10; i++) {
        dp_h2_flood__queued(&f, 17);
        queued += 17;
        CHECK_INT(dp_h2_flood__frame_sent(&f, NGHTTP2_PING, queued, &why), 0);
    }
    CHECK_INT(f.n_control, 10);
    /* the socket writes 5 of them: room for 5 more */
    queued -= 5 * 17;
    dp_h2_flood__written(&f, queued);
    CHECK_INT(f.n_control, 5);
    CHECK_INT(f.ring_n, 5);
    for (int i = 0; i < 5; i++) {
        dp_h2_flood__queued(&f, 17);
        queued += 17;
        CHECK_INT(dp_h2_flood__frame_sent(&f, NGHTTP2_PING, queued, &why), 0);
    }
    dp_h2_flood__queued(&f, 17);
    queued += 17;
    CHECK_INT(dp_h2_flood__frame_sent(&f, NGHTTP2_SETTINGS, queued, &why), NGHTTP2_ENHANCE_YOUR_CALM);
    CHECK(why && strstr(why, "control frames"));
    dp_h2_flood__free(&f);

    /* all frames: DATA and HEADERS count towards max_outbound_frames only */
    dp_h2_flood__init(&f, &o, 1000);
    queued = 0;
    int fired = -1;
    for (int i = 0; i < 200 && fired < 0; i++) {
        dp_h2_flood__queued(&f, 100);
        queued += 100;
        if (dp_h2_flood__frame_sent(&f, i % 2 ? NGHTTP2_DATA : NGHTTP2_HEADERS, queued, &why))
            fired = i;
        if (i == 30) { /* partial write: the first 20 frames and half of the 21st */
            queued -= 20 * 100 + 50;
            dp_h2_flood__written(&f, queued);
            CHECK_INT(f.ring_n, 11);
        }
    }
    CHECK_INT(fired, 30 + 40);
    CHECK_INT(f.n_control, 0);
    /* everything written: nothing queued any more */
    dp_h2_flood__written(&f, 0);
    CHECK_INT(f.ring_n, 0);
    dp_h2_flood__free(&f);
}

static void test_goaway_frame(void)
{
    uint8_t g[17];
    dp_h2__goaway_frame(g, 0x01020304, NGHTTP2_ENHANCE_YOUR_CALM);
    static const uint8_t want[17] = {0, 0, 8, 7, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 11};
    CHECK(memcmp(g, want, 17) == 0);
}

int main(void)
{
    test_empty_frames();
    test_header_block();
    test_priority();
    test_window_update();
    test_rapid_reset();
    test_outbound();
    test_goaway_frame();
    TEST_DONE();
}
