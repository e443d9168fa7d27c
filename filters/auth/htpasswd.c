/* Password engine (see htpasswd.h): table building, lookup, verification
 * (synchronous and offloaded), and the Basic credential decoder.
 *
 * The table keeps one copy of the text with the ':' and '\n' separators
 * replaced by NULs, so names and hashes are C strings (crypt wants them)
 * pointing into it, and an array of users sorted by name for binary
 * search. */
#include "filters/auth/htpasswd.h"

#include <crypt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "filters/auth/credcache.h"

typedef enum {
    SCHEME_SHA1 = 1,
    SCHEME_BCRYPT,
    SCHEME_SHA512_CRYPT,
    SCHEME_SHA256_CRYPT,
    SCHEME_YESCRYPT,
} scheme_t;

typedef struct user {
    const char *name;
    const char *hash; /* after "{SHA}" for SCHEME_SHA1, else the whole crypt string */
    size_t name_len, hash_len;
    uint32_t line;
    scheme_t scheme;
} user_t;

struct dp_htpasswd {
    uint64_t id;
    char *buf;
    user_t *users; /* sorted by name (bytes, then length) */
    size_t n;
    bool has_crypt; /* some entry may be in the credential cache */
    /* a crypt user whose hash an unknown user's password is run against,
     * so "no such user" takes as long as "wrong password" (no user
     * enumeration by timing); NULL if every hash is {SHA} */
    const user_t *decoy;
    const user_t *sha_decoy; /* same for {SHA}-only tables */
};

/* Characters of crypt's base64 ("./0-9A-Za-z"). */
static bool is_crypt64(unsigned char c)
{
    return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* --- errors -------------------------------------------------------------------- */

static int fail(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return DP_EINVAL;
}

/* A user name fit for an error message: printable ASCII, at most 64
 * characters (names come from configuration, but may hold anything). */
static const char *printable_name(const char *name, size_t len, char out[72])
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < 64; i++) {
        unsigned char c = (unsigned char)name[i];
        out[n++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
    }
    if (len > 64) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* --- schemes ------------------------------------------------------------------- */

static const char supported[] =
    "supported: {SHA}, bcrypt ($2y$, $2b$, $2a$), sha512-crypt ($6$), sha256-crypt ($5$), yescrypt ($y$)";

static bool has_prefix(const char *s, size_t n, const char *p)
{
    size_t pl = strlen(p);
    return n >= pl && memcmp(s, p, pl) == 0;
}

/* The crypt checksum after the last '$' must be complete: a bare setting
 * ("$6$salt$") would make a user nobody can log in as, silently. */
static bool crypt_tail_ok(const char *h, size_t n, size_t want)
{
    const char *d = memrchr(h, '$', n);
    size_t tail = (size_t)(h + n - d - 1);
    if (tail != want)
        return false;
    for (size_t i = 0; i < tail; i++)
        if (!is_crypt64((unsigned char)d[1 + i]))
            return false;
    return true;
}

/* Classifies a hash (NUL-terminated, n bytes). Returns the scheme, or 0
 * with *why set. */
static scheme_t classify(const char *h, size_t n, const char **why)
{
    if (has_prefix(h, n, "{SHA}")) {
        /* Envoy checks the length only: any 28 characters are accepted,
         * compared as text against the base64 of the digest */
        if (n - 5 != 28) {
            *why = "invalid SHA hash length (a {SHA} hash is 28 base64 characters)";
            return 0;
        }
        return SCHEME_SHA1;
    }
    scheme_t s = 0;
    size_t tail = 0;
    if (has_prefix(h, n, "$2y$") || has_prefix(h, n, "$2b$") || has_prefix(h, n, "$2a$")) {
        s = SCHEME_BCRYPT;
        tail = 53; /* 22 salt + 31 hash characters after "$2y$NN$" */
    } else if (has_prefix(h, n, "$6$")) {
        s = SCHEME_SHA512_CRYPT;
        tail = 86;
    } else if (has_prefix(h, n, "$5$")) {
        s = SCHEME_SHA256_CRYPT;
        tail = 43;
    } else if (has_prefix(h, n, "$y$")) {
        s = SCHEME_YESCRYPT;
        tail = 43;
    }
    if (s == 0) {
        if (has_prefix(h, n, "$apr1$"))
            *why = "apr1 (Apache MD5, htpasswd -m) hashes are not supported";
        else if (has_prefix(h, n, "$1$"))
            *why = "md5-crypt ($1$) hashes are not supported";
        else if (h[0] == '$')
            *why = "unknown crypt hash scheme";
        else if (n == 13 &&
                 strspn(h, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == 13)
            *why = "DES crypt hashes (htpasswd -d) are not supported";
        else
            *why = "plain-text passwords are not supported (htpasswd -p)";
        return 0;
    }
    /* LEGACY is fine here: the prefix already picked a scheme we accept
     * (libxcrypt files sha256-crypt under legacy) */
    int cs = crypt_checksalt(h);
    if (cs != CRYPT_SALT_OK && cs != CRYPT_SALT_METHOD_LEGACY) {
        *why = "malformed hash: libxcrypt rejects its settings";
        return 0;
    }
    /* checksalt takes any two digits as a bcrypt cost; crypt then fails */
    if (s == SCHEME_BCRYPT) {
        int cost = n > 6 && h[4] >= '0' && h[4] <= '9' && h[5] >= '0' && h[5] <= '9' && h[6] == '$'
                       ? (h[4] - '0') * 10 + (h[5] - '0')
                       : -1;
        if (cost < 4 || cost > 31) {
            *why = "malformed hash: bcrypt cost must be 04..31";
            return 0;
        }
    }
    if (s == SCHEME_BCRYPT ? !(n == 60 && crypt_tail_ok(h, n, tail)) : !crypt_tail_ok(h, n, tail)) {
        *why = "malformed hash: wrong checksum length";
        return 0;
    }
    return s;
}

/* --- table --------------------------------------------------------------------- */

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

static int user_cmp(const void *pa, const void *pb)
{
    const user_t *a = pa, *b = pb;
    int c = name_cmp(a->name, a->name_len, b->name, b->name_len);
    if (c != 0)
        return c;
    return a->line < b->line ? -1 : a->line > b->line;
}

int dp_htpasswd_parse(const char *text, size_t len, dp_htpasswd_t **out, char *errbuf, size_t errlen)
{
    char nm[72];
    int rc = 0;
    *out = NULL;
    dp_htpasswd_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return DP_ENOMEM;
    t->buf = malloc(len + 1);
    if (t->buf == NULL) {
        rc = DP_ENOMEM;
        goto fail_table;
    }
    if (len)
        memcpy(t->buf, text, len);
    t->buf[len] = '\0';

    /* pass 1: lines, stopping at the first malformed one; its error is kept
     * until pass 2 has looked for a duplicate on an earlier line, so the
     * error reported is the first in the file, as Envoy's single pass does */
    size_t cap = 0;
    uint32_t lineno = 0, bad_line = 0;
    char bad_msg[256] = "";
    char *p = t->buf, *end = t->buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        size_t ll = (size_t)(le - p);
        *le = '\0';
        lineno++;
        char *line = p;
        p = le + 1;
        if (ll == 0 || line[0] == '#')
            continue;
        if (memchr(line, '\0', ll)) {
            bad_line = lineno;
            snprintf(bad_msg, sizeof(bad_msg), "NUL byte in the line");
            break;
        }
        char *colon = memchr(line, ':', ll);
        if (colon == NULL) {
            bad_line = lineno;
            snprintf(bad_msg, sizeof(bad_msg), "invalid htpasswd format, username:password is expected");
            break;
        }
        size_t name_len = (size_t)(colon - line), hash_len = ll - name_len - 1;
        if (name_len == 0 || hash_len == 0) {
            bad_line = lineno;
            snprintf(bad_msg, sizeof(bad_msg), "empty user name or password");
            break;
        }
        *colon = '\0';
        /* names go upstream in forward_username_header: no CR, LF, ... */
        bool ctl = false;
        for (size_t i = 0; i < name_len && !ctl; i++)
            ctl = (unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f;
        if (ctl) {
            bad_line = lineno;
            snprintf(bad_msg, sizeof(bad_msg), "user '%s': control character in the user name",
                     printable_name(line, name_len, nm));
            break;
        }
        const char *why = NULL;
        scheme_t s = classify(colon + 1, hash_len, &why);
        if (s == 0) {
            bad_line = lineno;
            snprintf(bad_msg, sizeof(bad_msg), "user '%s': %s; %s", printable_name(line, name_len, nm), why,
                     supported);
            break;
        }
        if (t->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            user_t *nu = realloc(t->users, ncap * sizeof(*nu));
            if (nu == NULL) {
                rc = DP_ENOMEM;
                goto fail_table;
            }
            t->users = nu;
            cap = ncap;
        }
        user_t *u = &t->users[t->n++];
        u->name = line;
        u->name_len = name_len;
        u->scheme = s;
        u->hash = s == SCHEME_SHA1 ? colon + 1 + 5 : colon + 1;
        u->hash_len = s == SCHEME_SHA1 ? hash_len - 5 : hash_len;
        u->line = lineno;
        if (s != SCHEME_SHA1)
            t->has_crypt = true;
    }

    /* pass 2: sorted by (name, line), a duplicate sits right after the first */
    if (t->n > 1)
        qsort(t->users, t->n, sizeof(*t->users), user_cmp);
    const user_t *dup = NULL, *first = NULL;
    for (size_t i = 1; i < t->n; i++) {
        const user_t *a = &t->users[i - 1], *b = &t->users[i];
        if (name_cmp(a->name, a->name_len, b->name, b->name_len) == 0 &&
            (dup == NULL || b->line < dup->line)) {
            /* b's earliest definition is the first of its run */
            size_t k = i - 1;
            while (k > 0 &&
                   name_cmp(t->users[k - 1].name, t->users[k - 1].name_len, b->name, b->name_len) == 0)
                k--;
            dup = b;
            first = &t->users[k];
        }
    }
    if (dup) {
        rc = fail(errbuf, errlen, "line %u: duplicate user '%s' (first defined on line %u)", dup->line,
                  printable_name(dup->name, dup->name_len, nm), first->line);
        goto fail_table;
    }
    if (bad_line) {
        rc = fail(errbuf, errlen, "line %u: %s", bad_line, bad_msg);
        goto fail_table;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->users[i].scheme != SCHEME_SHA1 && t->decoy == NULL)
            t->decoy = &t->users[i];
        if (t->users[i].scheme == SCHEME_SHA1 && t->sha_decoy == NULL)
            t->sha_decoy = &t->users[i];
    }
    t->id = dp_credcache_table_id();
    *out = t;
    return 0;

fail_table:
    if (rc == DP_ENOMEM)
        fail(errbuf, errlen, "out of memory");
    free(t->users);
    if (t->buf)
        OPENSSL_cleanse(t->buf, len);
    free(t->buf);
    free(t);
    return rc;
}

void dp_htpasswd_free(dp_htpasswd_t *t)
{
    if (t == NULL)
        return;
    if (t->has_crypt)
        dp_credcache_purge(dp_credcache_default(), t->id);
    free(t->users);
    free(t->buf);
    free(t);
}

size_t dp_htpasswd_count(const dp_htpasswd_t *t)
{
    return t->n;
}

bool dp_htpasswd_needs_offload(const dp_htpasswd_t *t)
{
    return t->has_crypt;
}

uint64_t dp_htpasswd_id(const dp_htpasswd_t *t)
{
    return t->id;
}

static const user_t *find_user(const dp_htpasswd_t *t, dp_slice_t user)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const user_t *u = &t->users[mid];
        int c = name_cmp(u->name, u->name_len, user.base ? user.base : "", user.len);
        if (c == 0)
            return u;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool dp_htpasswd_has_user(const dp_htpasswd_t *t, dp_slice_t user)
{
    return find_user(t, user) != NULL;
}

/* --- verification ------------------------------------------------------------- */

static EVP_MD *sha1_md;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

static void sha1_init(void)
{
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
}

/* Envoy: base64(SHA-1(password)) == the 28 stored characters. */
static int verify_sha1(const user_t *u, dp_slice_t password)
{
    pthread_once(&sha1_once, sha1_init);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char b64[64];
    if (sha1_md == NULL ||
        EVP_Digest(password.len ? password.base : "", password.len, md, &mdlen, sha1_md, NULL) != 1)
        return DP_HTPASSWD_DENY;
    int n = EVP_EncodeBlock(b64, md, (int)mdlen);
    OPENSSL_cleanse(md, sizeof(md));
    return n == 28 && CRYPTO_memcmp(b64, u->hash, 28) == 0 ? DP_HTPASSWD_ALLOW : DP_HTPASSWD_DENY;
}

/* crypt(password, hash) == hash. password is NUL-terminated. Slow. */
static int verify_crypt(const char *hash, size_t hash_len, const char *password)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (cd == NULL)
        return DP_HTPASSWD_DENY;
    const char *o = crypt_rn(password, hash, cd, (int)sizeof(*cd));
    int r = o && strlen(o) == hash_len && CRYPTO_memcmp(o, hash, hash_len) == 0 ? DP_HTPASSWD_ALLOW
                                                                                : DP_HTPASSWD_DENY;
    OPENSSL_cleanse(cd, sizeof(*cd)); /* holds the password and intermediate state */
    free(cd);
    return r;
}

/* What a check still has to do once check_fast() returns PENDING. */
typedef struct pending {
    const user_t *u;
    uint8_t key[DP_CREDCACHE_KEY_LEN];
    bool key_ok; /* key holds the cache key: insert on success */
    bool decoy;  /* unknown user: hash for the time it takes, then deny */
} pending_t;

/* The part of a check that needs no hashing. Returns ALLOW / DENY when it
 * decided, PENDING when a crypt hash must run (*p filled). */
static int check_fast(const dp_htpasswd_t *t, dp_slice_t user, dp_slice_t password, pending_t *p)
{
    p->key_ok = p->decoy = false;
    /* crypt reads a C string: "secret\0junk" must not pass as "secret";
     * refused before the lookup, so it says nothing about the user */
    bool nul = password.len && memchr(password.base, '\0', password.len);
    p->u = find_user(t, user);
    if (p->u == NULL) {
        if (t->decoy && !nul) {
            p->u = t->decoy;
            p->decoy = true;
            return DP_HTPASSWD_PENDING;
        }
        if (t->sha_decoy)
            (void)verify_sha1(t->sha_decoy, password);
        return DP_HTPASSWD_DENY;
    }
    if (p->u->scheme == SCHEME_SHA1)
        return verify_sha1(p->u, password);
    if (nul)
        return DP_HTPASSWD_DENY;
    p->key_ok = dp_credcache_key(t->id, user, password, p->key) == 0;
    if (p->key_ok && dp_credcache_lookup(dp_credcache_default(), t->id, p->key))
        return DP_HTPASSWD_ALLOW;
    return DP_HTPASSWD_PENDING;
}

int dp_htpasswd_check(const dp_htpasswd_t *t, dp_slice_t user, dp_slice_t password)
{
    pending_t p;
    int r = check_fast(t, user, password, &p);
    if (r != DP_HTPASSWD_PENDING)
        return r;
    char *pw = malloc(password.len + 1);
    if (pw == NULL)
        return DP_HTPASSWD_DENY;
    if (password.len)
        memcpy(pw, password.base, password.len);
    pw[password.len] = '\0';
    r = verify_crypt(p.u->hash, p.u->hash_len, pw);
    OPENSSL_cleanse(pw, password.len);
    free(pw);
    if (p.decoy)
        r = DP_HTPASSWD_DENY;
    if (r == DP_HTPASSWD_ALLOW && p.key_ok)
        dp_credcache_insert(dp_credcache_default(), t->id, p.key);
    OPENSSL_cleanse(p.key, sizeof(p.key));
    return r;
}

/* --- offloaded checks ---------------------------------------------------------- */

struct dp_htpasswd_req {
    dp_offload_job_t *job;
    const dp_htpasswd_t *t; /* read on the loop only (done), where it is alive */
    dp_htpasswd_done_fn done;
    void *arg;
    uint8_t key[DP_CREDCACHE_KEY_LEN];
    bool key_ok, decoy;
    int result;
    /* copies: the pool thread may still run after a cancel, when neither
     * the request's memory nor the table need exist any more */
    size_t hash_len, pw_len;
    char *hash, *pw;
    char mem[];
};

static void req_release(void *arg)
{
    dp_htpasswd_req_t *r = arg;
    OPENSSL_cleanse(r->pw, r->pw_len);
    OPENSSL_cleanse(r->key, sizeof(r->key));
    free(r);
}

static void req_work(void *arg)
{
    dp_htpasswd_req_t *r = arg;
    r->result = verify_crypt(r->hash, r->hash_len, r->pw);
}

static void req_done(void *arg)
{
    dp_htpasswd_req_t *r = arg;
    if (r->decoy)
        r->result = DP_HTPASSWD_DENY;
    if (r->result == DP_HTPASSWD_ALLOW && r->key_ok)
        dp_credcache_insert(dp_credcache_default(), r->t->id, r->key);
    dp_htpasswd_done_fn done = r->done;
    void *uarg = r->arg;
    int result = r->result;
    req_release(r);
    done(uarg, result);
}

int dp_htpasswd_check_async(const dp_htpasswd_t *t, dp_slice_t user, dp_slice_t password,
                            dp_offload_port_t *port, dp_htpasswd_done_fn done, void *arg,
                            dp_htpasswd_req_t **req)
{
    pending_t p;
    *req = NULL;
    int r = check_fast(t, user, password, &p);
    if (r != DP_HTPASSWD_PENDING)
        return r;
    const user_t *u = p.u;
    if (port == NULL)
        return DP_EINVAL;
    dp_htpasswd_req_t *q = malloc(sizeof(*q) + u->hash_len + 1 + password.len + 1);
    if (q == NULL)
        return DP_ENOMEM;
    q->t = t;
    q->done = done;
    q->arg = arg;
    memcpy(q->key, p.key, sizeof(p.key));
    OPENSSL_cleanse(p.key, sizeof(p.key));
    q->key_ok = p.key_ok;
    q->decoy = p.decoy;
    q->result = DP_HTPASSWD_DENY;
    q->hash = q->mem;
    q->hash_len = u->hash_len;
    memcpy(q->hash, u->hash, u->hash_len + 1);
    q->pw = q->mem + u->hash_len + 1;
    q->pw_len = password.len;
    if (password.len)
        memcpy(q->pw, password.base, password.len);
    q->pw[password.len] = '\0';
    int rc = dp_offload_submit(port, req_work, req_done, req_release, q, &q->job);
    if (rc < 0) {
        req_release(q);
        return rc;
    }
    *req = q;
    return DP_HTPASSWD_PENDING;
}

void dp_htpasswd_cancel(dp_htpasswd_req_t *req)
{
    if (req)
        dp_offload_cancel(req->job);
}

/* --- Basic credentials ---------------------------------------------------------- */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long dp_htpasswd_b64decode(const char *in, size_t len, char *out)
{
    if (len == 0)
        return -1;
    size_t n = len;
    if (in[n - 1] == '=') {
        n--;
        if (n > 0 && in[n - 1] == '=')
            n--;
    }
    if (n % 4 == 1 || n == 0)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (char)(acc >> 16);
            out[o++] = (char)(acc >> 8);
            out[o++] = (char)acc;
            acc = 0;
        }
    }
    /* a partial group: its unused low bits must be zero (Envoy's check) */
    if (n % 4 == 2) {
        if (acc & 0x0f)
            return -1;
        out[o++] = (char)(acc >> 4);
    } else if (n % 4 == 3) {
        if (acc & 0x03)
            return -1;
        out[o++] = (char)(acc >> 10);
        out[o++] = (char)(acc >> 2);
    }
    return (long)o;
}

dp_basic_result_t dp_htpasswd_parse_basic(dp_slice_t value, char *buf, dp_slice_t *user, dp_slice_t *password)
{
    if (value.len < 6 || memcmp(value.base, "Basic ", 6) != 0)
        return DP_BASIC_NOT_BASIC;
    long n = dp_htpasswd_b64decode(value.base + 6, value.len - 6, buf);
    if (n < 0)
        return DP_BASIC_BAD_FORMAT;
    const char *colon = memchr(buf, ':', (size_t)n);
    if (colon == NULL)
        return DP_BASIC_BAD_FORMAT;
    *user = dp_slice(buf, (size_t)(colon - buf));
    *password = dp_slice(colon + 1, (size_t)(buf + n - colon - 1));
    return DP_BASIC_OK;
}
