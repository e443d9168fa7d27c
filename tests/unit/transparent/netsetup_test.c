/* The netlink set-up for transparent upstreams, checked with the real
 * tools (nft, ip) in a network namespace of the test's own (unshare):
 * nothing on the host is touched. Skipped (77) where namespaces cannot be
 * made. */
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/transparent/netsetup.h"
#include "dataplane/transparent/transparent.h"
#include "test.h"

static char *run(const char *cmd)
{
    static char out[8192];
    FILE *f = popen(cmd, "r");
    size_t n = 0;
    out[0] = '\0';
    if (f == NULL)
        return out;
    n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    pclose(f);
    return out;
}

static void lo_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    ioctl(fd, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    ioctl(fd, SIOCSIFFLAGS, &ifr);
    close(fd);
}

int main(void)
{
    char err[256];
    dp_netsetup_t ns = {.mark = 0x6470, .table = 6470, .pref = 6470};

    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "SKIP: cannot create a network namespace (unshare: %m)\n");
        return 77;
    }
    if (system("command -v nft >/dev/null && command -v ip >/dev/null") != 0) {
        fprintf(stderr, "SKIP: nft or ip(8) missing to check the set-up with\n");
        return 77;
    }
    lo_up();

    /* before init: unavailable, and the kernel untouched */
    const char *why = NULL;
    CHECK(!dp_transparent_require(&why));
    CHECK(why && strstr(why, "not initialised"));

    int rc = dp_netsetup_install(&ns, err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "install: %s\n", err);
    char *o = run("nft list table inet dataplane_transparent 2>&1");
    CHECK(strstr(o, "hook prerouting priority mangle") != NULL);
    CHECK(strstr(o, "meta l4proto tcp socket transparent 1 meta mark set 0x00006470") != NULL);
    o = run("ip rule show 2>&1");
    CHECK(strstr(o, "6470:\tfrom all fwmark 0x6470 lookup 6470") != NULL);
    o = run("ip -6 rule show 2>&1");
    CHECK(strstr(o, "6470:\tfrom all fwmark 0x6470 lookup 6470") != NULL);
    o = run("ip route show table 6470 2>&1");
    CHECK(strstr(o, "local default dev lo") != NULL);
    o = run("ip -6 route show table 6470 2>&1");
    CHECK(strstr(o, "local default dev lo") != NULL);

    /* a second install (a restart after a crash) deletes before it adds:
     * still exactly one rule of each */
    rc = dp_netsetup_install(&ns, err, sizeof(err));
    CHECK_INT(rc, 0);
    o = run("ip rule show | grep -c 'fwmark 0x6470'");
    CHECK_STR(o, "1\n");
    o = run("nft list table inet dataplane_transparent | grep -c 'socket transparent'");
    CHECK_STR(o, "1\n");

    dp_netsetup_remove(&ns);
    o = run("nft list table inet dataplane_transparent 2>&1");
    CHECK(strstr(o, "socket transparent") == NULL);
    o = run("ip rule show; ip -6 rule show");
    CHECK(strstr(o, "0x6470") == NULL);
    o = run("ip route show table 6470 2>&1; ip -6 route show table 6470 2>&1");
    CHECK(strstr(o, "local default") == NULL);

    /* the self-check: root in a namespace of its own can do it; then the
     * first require sets the kernel up and shutdown removes it */
    CHECK(dp_transparent_init(&(dp_transparent_opts_t){.install = true}));
    CHECK(!dp_transparent_ready());
    CHECK(dp_transparent_require(&why));
    CHECK(dp_transparent_ready());
    o = run("ip rule show | grep -c 'fwmark 0x6470'");
    CHECK_STR(o, "1\n");
    dp_transparent_shutdown();
    CHECK(!dp_transparent_ready());
    o = run("ip rule show | grep -c 'fwmark 0x6470'");
    CHECK_STR(o, "0\n");
    TEST_DONE();
}
