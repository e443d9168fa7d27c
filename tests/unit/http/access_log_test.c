/* Access loggers: configuration errors, Envoy's default format, command
 * operators, json_format typing, START_TIME formats, files shared between
 * loggers and concurrent emission. Streams are filled by hand. */
#include "dataplane/http/access_log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/http/stream.h"
#include "envoy/config/accesslog/v3/accesslog.pb-c.h"
#include "test.h"
#include "xds/pbjson.h"
#include "xds/typereg.h"

#define S(lit) DP_SLICE_LIT(lit)

/* 2024-01-02T03:04:05.678912345Z, the request's start on the wall clock */
#define START_WALL_NS 1704164645678912345ull
#define START_MONO_NS 5000000000ull
#define ELAPSED_NS 15300000ull /* 15.3 ms */

static char errbuf[1024];

/* Decodes an AccessLog from YAML and creates the logger; NULL on failure
 * with errbuf set. */
static dp_access_log_t *make_log(const char *yaml)
{
    dp_pbjson_opts_t opts = {.resolver = dp_typereg_lookup};
    ProtobufCMessage *m = NULL;
    errbuf[0] = '\0';
    int rc = dp_pbjson_decode_text(yaml, strlen(yaml), &envoy__config__accesslog__v3__access_log__descriptor,
                                   &opts, &m, "test.yaml", errbuf, sizeof(errbuf));
    if (rc != 0)
        return NULL;
    dp_access_log_t *al = NULL;
    rc = dp_access_log_create(m, &al, errbuf, sizeof(errbuf));
    protobuf_c_message_free_unpacked(m, NULL);
    return rc == 0 ? al : NULL;
}

/* A stdout logger with the given text format. */
static dp_access_log_t *text_log(const char *fmt)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "name: envoy.access_loggers.stdout\n"
             "typed_config:\n"
             "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog\n"
             "  log_format:\n"
             "    text_format: '%s'\n",
             fmt);
    return make_log(yaml);
}

static struct sockaddr_in peer4, local4;
static dp_route_t route;

static void fill_stream(dp_stream_t *s)
{
    memset(s, 0, sizeof(*s));
    s->method = S("GET");
    s->path = S("/foo?x=1");
    s->authority = S("example.com");
    s->scheme = S("http");
    s->http_version = 11;
    dp_headers_add(&s->req_headers, S("x-forwarded-for"), S("10.0.0.1"));
    dp_headers_add(&s->req_headers, S("user-agent"), S("curl/8.0"));
    dp_headers_add(&s->req_headers, S("x-request-id"), S("abc-123"));
    s->status = 200;
    s->bytes_received = 10;
    s->bytes_sent = 20;
    s->start_ns = START_MONO_NS;
    s->upstream_host = "127.0.0.1:8080";
    s->cluster_name = "app";
    peer4.sin_family = AF_INET;
    peer4.sin_port = htons(5555);
    inet_pton(AF_INET, "192.168.1.2", &peer4.sin_addr);
    local4.sin_family = AF_INET;
    local4.sin_port = htons(10000);
    inet_pton(AF_INET, "10.0.0.5", &local4.sin_addr);
    s->peer = (const struct sockaddr *)&peer4;
    s->local = (const struct sockaddr *)&local4;
    route.name = "r1";
    s->route = &route;
}

static char *fmt_line(const dp_access_log_t *al, const dp_stream_t *s)
{
    return dp_access_log__format(al, s, START_WALL_NS + ELAPSED_NS, START_MONO_NS + ELAPSED_NS, NULL);
}

/* Formats one stream with a one-off text format and compares. */
static void check_text(const char *fmt, const dp_stream_t *s, const char *want, int line)
{
    dp_access_log_t *al = text_log(fmt);
    if (al == NULL) {
        fprintf(stderr, "access_log_test.c:%d: format '%s' rejected: %s\n", line, fmt, errbuf);
        CHECK(al != NULL);
        return;
    }
    char *got = fmt_line(al, s);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "access_log_test.c:%d: format '%s'\n", line, fmt);
    CHECK_STR(got, want);
    free(got);
    dp_access_log_free(al);
}
#define CHECK_FMT(fmt, s, want) check_text((fmt), (s), (want), __LINE__)

static void check_error(const char *yaml, const char *needle, int line)
{
    dp_access_log_t *al = make_log(yaml);
    if (al != NULL || strstr(errbuf, needle) == NULL)
        fprintf(stderr, "access_log_test.c:%d: expected an error with '%s', got '%s'\n", line, needle,
                al ? "(accepted)" : errbuf);
    CHECK(al == NULL);
    CHECK(strstr(errbuf, needle) != NULL);
    dp_access_log_free(al);
}
#define CHECK_ERROR(yaml, needle) check_error((yaml), (needle), __LINE__)

static void check_fmt_error(const char *fmt, const char *needle, int line)
{
    dp_access_log_t *al = text_log(fmt);
    if (al != NULL || strstr(errbuf, needle) == NULL)
        fprintf(stderr, "access_log_test.c:%d: format '%s': expected an error with '%s', got '%s'\n", line,
                fmt, needle, al ? "(accepted)" : errbuf);
    CHECK(al == NULL);
    CHECK(strstr(errbuf, needle) != NULL);
    dp_access_log_free(al);
}
#define CHECK_FMT_ERROR(fmt, needle) check_fmt_error((fmt), (needle), __LINE__)

static void test_default_format(void)
{
    dp_stream_t s;
    fill_stream(&s);
    dp_access_log_t *al = make_log("name: envoy.access_loggers.stdout\n"
                                   "typed_config:\n"
                                   "  \"@type\": type.googleapis.com/"
                                   "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog\n");
    CHECK(al != NULL);
    if (al == NULL)
        return;
    char *line = fmt_line(al, &s);
    CHECK_STR(line, "[2024-01-02T03:04:05.678Z] \"GET /foo?x=1 HTTP/1.1\" 200 - 10 20 15 - \"10.0.0.1\" "
                    "\"curl/8.0\" \"abc-123\" \"example.com\" \"127.0.0.1:8080\"\n");
    free(line);

    /* original path, response flags, a request that never got a response */
    dp_headers_add(&s.req_headers, S("x-envoy-original-path"), S("/orig"));
    s.response_flags = DP_RF_UH | DP_RF_UF;
    s.status = 0;
    s.upstream_host = NULL;
    s.http_version = 10;
    dp_headers_remove(&s.req_headers, "user-agent", 10);
    line = fmt_line(al, &s);
    CHECK_STR(line, "[2024-01-02T03:04:05.678Z] \"GET /orig HTTP/1.0\" 0 UH,UF 10 20 15 - \"10.0.0.1\" \"-\" "
                    "\"abc-123\" \"example.com\" \"-\"\n");
    free(line);

    /* nothing filled in at all: every field unset */
    dp_stream_t empty;
    memset(&empty, 0, sizeof(empty));
    line = dp_access_log__format(al, &empty, START_WALL_NS, 0, NULL);
    CHECK_STR(line, "[2024-01-02T03:04:05.678Z] \"- - -\" 0 - 0 0 - - \"-\" \"-\" \"-\" \"-\" \"-\"\n");
    free(line);
    dp_access_log_free(al);
    dp_headers_free(&s.req_headers);
}

static void test_operators(void)
{
    dp_stream_t s;
    fill_stream(&s);
    CHECK_FMT("%REQ(:METHOD)% %REQ(:PATH)% %REQ(:AUTHORITY)% %REQ(:SCHEME)% %REQ(HOST)%", &s,
              "GET /foo?x=1 example.com http example.com");
    CHECK_FMT("%REQUEST_HEADER(User-Agent)%|%REQ(X-MISSING?USER-AGENT)%|%REQ(X-MISSING)%", &s,
              "curl/8.0|curl/8.0|-");
    CHECK_FMT("%REQ(USER-AGENT):4%|%REQ(X-MISSING?USER-AGENT):2%|%REQ(USER-AGENT):0%", &s, "curl|cu|");
    CHECK_FMT("%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %RESPONSE_HEADER(content-type)%", &s, "- -");
    CHECK_FMT("100%% %RESPONSE_CODE% %%%PROTOCOL%%%", &s, "100% 200 %HTTP/1.1%");
    CHECK_FMT("%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %REQUEST_DURATION% %RESPONSE_DURATION%", &s,
              "10 20 15 - -");
    s.first_upstream_byte_ns = START_MONO_NS + 7900000;
    CHECK_FMT("%RESPONSE_DURATION%", &s, "7");
    CHECK_FMT("%UPSTREAM_HOST% %UPSTREAM_CLUSTER% %ROUTE_NAME%", &s, "127.0.0.1:8080 app r1");
    CHECK_FMT("%RESPONSE_CODE_DETAILS%", &s, "via_upstream");
    s.local_reply_detail = "route_not_found";
    CHECK_FMT("%RESPONSE_CODE_DETAILS%", &s, "route_not_found");
    s.response_flags = DP_RF_NR;
    CHECK_FMT("%RESPONSE_FLAGS%", &s, "NR");

    /* addresses: the trusted client address (XFF: port 0), the peer, ours */
    CHECK_FMT("%DOWNSTREAM_REMOTE_ADDRESS%", &s, "192.168.1.2:5555");
    snprintf(s.remote_addr, sizeof(s.remote_addr), "10.0.0.1");
    s.remote_port = 0;
    CHECK_FMT("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT%",
              &s, "10.0.0.1:0 10.0.0.1 0");
    CHECK_FMT("%DOWNSTREAM_DIRECT_REMOTE_ADDRESS% %DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%", &s,
              "192.168.1.2:5555 192.168.1.2");
    CHECK_FMT("%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%",
              &s, "10.0.0.5:10000 10.0.0.5 10000");
    struct sockaddr_in6 p6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
    inet_pton(AF_INET6, "::1", &p6.sin6_addr);
    s.peer = (const struct sockaddr *)&p6;
    s.remote_addr[0] = '\0';
    CHECK_FMT("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", &s, "[::1]:80 ::1");

    char host[256] = "";
    gethostname(host, sizeof(host));
    CHECK_FMT("%HOSTNAME%", &s, host);

    /* protocols */
    s.http_version = 20;
    CHECK_FMT("%PROTOCOL%", &s, "HTTP/2");
    s.http_version = 30;
    CHECK_FMT("%PROTOCOL%", &s, "HTTP/3");
    s.http_version = 0;
    CHECK_FMT("%PROTOCOL%", &s, "-");

    /* x-request-id generated by the HCM but not in the header list */
    dp_headers_remove(&s.req_headers, "x-request-id", 12);
    s.request_id = S("gen-1");
    CHECK_FMT("%REQ(X-REQUEST-ID)%", &s, "gen-1");

    /* an empty header value is not unset */
    dp_headers_add(&s.req_headers, S("x-empty"), S(""));
    CHECK_FMT("[%REQ(X-EMPTY)%]", &s, "[]");
    /* a format with no command and an empty one */
    CHECK_FMT("plain", &s, "plain");
    dp_headers_free(&s.req_headers);
}

static void test_omit_empty_text(void)
{
    dp_stream_t s;
    fill_stream(&s);
    dp_access_log_t *al = make_log("typed_config:\n"
                                   "  \"@type\": type.googleapis.com/"
                                   "envoy.extensions.access_loggers.stream.v3.StderrAccessLog\n"
                                   "  log_format:\n"
                                   "    omit_empty_values: true\n"
                                   "    text_format_source:\n"
                                   "      inline_string: \"[%REQ(X-NOPE)%] %RESPONSE_CODE%\\n\"\n");
    CHECK(al != NULL);
    if (al) {
        char *line = fmt_line(al, &s);
        CHECK_STR(line, "[] 200\n");
        free(line);
        dp_access_log_free(al);
    }
    dp_headers_free(&s.req_headers);
}

static void test_start_time(void)
{
    dp_stream_t s;
    fill_stream(&s);
    CHECK_FMT("%START_TIME%", &s, "2024-01-02T03:04:05.678Z");
    CHECK_FMT("%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%", &s, "2024/01/02T03:04:05+0000 1704164645");
    CHECK_FMT("%START_TIME(%s.%3f)%", &s, "1704164645.678");
    CHECK_FMT("%START_TIME(%s.%6f)%", &s, "1704164645.678912");
    CHECK_FMT("%START_TIME(%s.%9f)%", &s, "1704164645.678912345");
    CHECK_FMT("%START_TIME(%f|%1f)%", &s, "678912345|6");
    CHECK_FMT("%START_TIME(%H:%M:%E3S)%", &s, "03:04:05.678");
    CHECK_FMT("%START_TIME(%d%%%b)%", &s, "02%Jan");
    /* the start derives from the monotonic start and the emission time */
    s.start_ns = START_MONO_NS + 1000000000ull;
    dp_access_log_t *al = text_log("%START_TIME(%s)%");
    CHECK(al != NULL);
    if (al) {
        char *got =
            dp_access_log__format(al, &s, START_WALL_NS + 5000000000ull, START_MONO_NS + 5000000000ull, NULL);
        CHECK_STR(got, "1704164646");
        free(got);
        dp_access_log_free(al);
    }
    dp_headers_free(&s.req_headers);
}

static void test_json_format(void)
{
    dp_stream_t s;
    fill_stream(&s);
    const char *yaml =
        "name: json\n"
        "typed_config:\n"
        "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog\n"
        "  log_format:\n"
        "    %s\n"
        "    json_format:\n"
        "      proto: \"%%PROTOCOL%%\"\n"
        "      code: \"%%RESPONSE_CODE%%\"\n"
        "      dur: \"%%DURATION%%\"\n"
        "      missing: \"%%REQ(X-NOPE)%%\"\n"
        "      combo: \"%%REQ(:METHOD)%% %%REQ(X-NOPE)%%\"\n"
        "      n: 5\n"
        "      half: 0.5\n"
        "      nested: {a: \"%%UPSTREAM_HOST%%\", rd: \"%%REQUEST_DURATION%%\"}\n"
        "      list: [\"x\", \"%%BYTES_SENT%%\", \"%%REQ(X-NOPE)%%\"]\n"
        "      start: \"%%START_TIME(%%s)%%\"\n"
        "      lit: \"text\"\n"
        "      ua: \"%%REQ(USER-AGENT)%%\"\n";
    char cfg[2048];
    snprintf(cfg, sizeof(cfg), yaml, "omit_empty_values: false");
    dp_access_log_t *al = make_log(cfg);
    CHECK(al != NULL);
    if (al == NULL) {
        fprintf(stderr, "%s\n", errbuf);
        return;
    }
    /* a user agent that needs escaping, with a byte that is not UTF-8 */
    dp_headers_set(&s.req_headers, S("user-agent"), S("a\"b\\c\x01\xff\xc3\xa9"));
    char *line = fmt_line(al, &s);
    CHECK_STR(
        line,
        "{\"code\":200,\"combo\":\"GET -\",\"dur\":15,\"half\":0.5,\"list\":[\"x\",20,null],"
        "\"lit\":\"text\",\"missing\":null,\"n\":5,\"nested\":{\"a\":\"127.0.0.1:8080\",\"rd\":null},"
        "\"proto\":\"HTTP/1.1\",\"start\":\"1704164645\",\"ua\":\"a\\\"b\\\\c\\u0001\\ufffd\xc3\xa9\"}\n");
    free(line);
    dp_access_log_free(al);

    snprintf(cfg, sizeof(cfg), yaml, "omit_empty_values: true");
    al = make_log(cfg);
    CHECK(al != NULL);
    if (al) {
        line = fmt_line(al, &s);
        CHECK_STR(line, "{\"code\":200,\"combo\":\"GET \",\"dur\":15,\"half\":0.5,\"list\":[\"x\",20],"
                        "\"lit\":\"text\",\"n\":5,\"nested\":{\"a\":\"127.0.0.1:8080\"},"
                        "\"proto\":\"HTTP/"
                        "1.1\",\"start\":\"1704164645\",\"ua\":\"a\\\"b\\\\c\\u0001\\ufffd\xc3\xa9\"}\n");
        free(line);
        dp_access_log_free(al);
    }

    /* only strings, numbers, structs and lists */
    CHECK_ERROR("typed_config:\n"
                "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog\n"
                "  log_format:\n"
                "    json_format: {a: {b: true}}\n",
                "json_format.a.b: only string values");
    CHECK_ERROR("typed_config:\n"
                "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog\n"
                "  log_format:\n"
                "    json_format: {a: \"%BOGUS%\"}\n",
                "json_format.a: unsupported command operator %BOGUS%");
    dp_headers_free(&s.req_headers);
}

static void test_errors(void)
{
    CHECK_FMT_ERROR("%FOO_BAR%", "unsupported command operator %FOO_BAR%");
    CHECK_FMT_ERROR("abc %REQ(x", "couldn't find valid command at position 4");
    CHECK_FMT_ERROR("50% off", "couldn't find valid command at position 2");
    CHECK_FMT_ERROR("%lower%", "couldn't find valid command at position 0");
    CHECK_FMT_ERROR("%REQ%", "%REQ% requires parameters");
    CHECK_FMT_ERROR("%REQ()%", "%REQ% requires parameters");
    CHECK_FMT_ERROR("%PROTOCOL(x)%", "%PROTOCOL% does not take any parameters or length");
    CHECK_FMT_ERROR("%DURATION:3%", "%DURATION% does not take any parameters or length");
    CHECK_FMT_ERROR("%START_TIME(%s):3%", "%START_TIME% does not allow length to be specified");
    CHECK_FMT_ERROR("%REQ(A?B?C)%", "more than 1 alternative header specified in token: A?B?C");
    CHECK_FMT_ERROR("%START_TIME(%Y%n)%", "newline");
    CHECK_FMT_ERROR("%REQ(X):%", "couldn't find valid command at position 0");

    CHECK_ERROR("name: nothing\n", "access_log 'nothing': typed_config is required");
    CHECK_ERROR("name: weird\n"
                "typed_config:\n"
                "  \"@type\": type.googleapis.com/envoy.config.core.v3.Node\n",
                "unsupported access logger type 'type.googleapis.com/envoy.config.core.v3.Node'");
    CHECK_ERROR("typed_config:\n"
                "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n",
                "access_log: FileAccessLog.path is required");
    CHECK_ERROR("typed_config:\n"
                "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
                "  path: /nonexistent-dir/x.log\n",
                "cannot open access log file '/nonexistent-dir/x.log'");
    CHECK_ERROR("typed_config:\n"
                "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
                "  path: /dev/null\n"
                "  log_format: {}\n",
                "log_format: one of text_format, json_format, text_format_source is required");
    CHECK_ERROR("typed_config:\n"
                "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
                "  path: /dev/null\n"
                "  log_format: {text_format: \"%NOPE%\"}\n",
                "log_format.text_format: unsupported command operator %NOPE%");
    CHECK_ERROR("typed_config:\n"
                "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
                "  path: /dev/null\n"
                "  log_format: {text_format_source: {environment_variable: DP_TEST_SURELY_UNSET}}\n",
                "environment variable 'DP_TEST_SURELY_UNSET' is not set");

    /* not an AccessLog at all */
    dp_access_log_t *al = NULL;
    CHECK(dp_access_log_create(NULL, &al, errbuf, sizeof(errbuf)) != 0);
    CHECK(al == NULL);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return dp_xstrdup("");
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return dp_xstrdup(buf);
}

typedef struct {
    const dp_access_log_t *al;
    const dp_stream_t *s;
} emit_arg_t;

static void *emit_many(void *arg)
{
    emit_arg_t *a = arg;
    for (int i = 0; i < 2000; i++)
        dp_access_log_emit(a->al, a->s);
    return NULL;
}

static void test_file_logs(void)
{
    char dir[] = "/tmp/dp_access_log_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], src[256], yaml[1024];
    snprintf(path, sizeof(path), "%s/access.log", dir);
    snprintf(src, sizeof(src), "%s/format.txt", dir);
    FILE *f = fopen(src, "w");
    fputs("B %RESPONSE_CODE%\n", f);
    fclose(f);

    snprintf(yaml, sizeof(yaml),
             "typed_config:\n"
             "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
             "  path: %s\n"
             "  log_format: {text_format: \"A %%REQ(:METHOD)%% %%REQ(:PATH)%%\\n\"}\n",
             path);
    dp_access_log_t *a = make_log(yaml);
    CHECK(a != NULL);
    snprintf(yaml, sizeof(yaml),
             "typed_config:\n"
             "  \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
             "  path: %s\n"
             "  log_format: {text_format_source: {filename: %s}}\n",
             path, src);
    dp_access_log_t *b = make_log(yaml);
    CHECK(b != NULL);
    if (a == NULL || b == NULL)
        return;

    dp_stream_t s;
    fill_stream(&s);
    dp_access_log_emit(a, &s);
    dp_access_log_emit(b, &s);
    dp_access_log_free(a); /* the shared fd stays open for b */
    s.status = 503;
    dp_access_log_emit(b, &s);
    char *got = read_file(path);
    CHECK_STR(got, "A GET /foo?x=1\nB 200\nB 503\n");
    free(got);

    /* four threads, one line per write: every line arrives whole */
    pthread_t th[4];
    emit_arg_t arg = {b, &s};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, emit_many, &arg);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    got = read_file(path);
    size_t lines = 0, bad = 0;
    for (char *p = got, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        lines++;
        size_t n = (size_t)(nl - p);
        if (!((n == 5 && memcmp(p, "B 503", 5) == 0) || (n == 5 && memcmp(p, "B 200", 5) == 0) ||
              (n == 14 && memcmp(p, "A GET /foo?x=1", 14) == 0)))
            bad++;
    }
    CHECK_INT(lines, 3 + 4 * 2000);
    CHECK_INT(bad, 0);
    free(got);
    dp_access_log_free(b);
    dp_headers_free(&s.req_headers);
    unlink(path);
    unlink(src);
    rmdir(dir);
}

int main(void)
{
    test_default_format();
    test_operators();
    test_omit_empty_text();
    test_start_time();
    test_json_format();
    test_errors();
    test_file_logs();
    TEST_DONE();
}
