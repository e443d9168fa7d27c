/* Kernel set-up for transparent upstreams, over netlink (libmnl, and
 * libnftnl for the one nftables rule). See netsetup.h for what it builds
 * and why. Every function opens its own netlink socket: this runs a few
 * times per process life, never on a hot path. */
#include "dataplane/transparent/netsetup.h"

/* glibc's netinet/in.h before the kernel headers: it tells linux/in.h
 * (pulled in by linux/netfilter.h) not to define the same types again */
#include <netinet/in.h>
#include <net/if.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/fib_rules.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "dataplane/core/common.h"

#define NFT_TABLE "dataplane_transparent"
#define NFT_CHAIN "prerouting"

/* ---- one request/ack exchange ------------------------------------------------- */

/* Sends the message(s) in buf and reads the kernel's answers until every
 * ACK arrived (or the first error). Returns 0 or -errno. */
static int nl_talk(int bus, const void *buf, size_t len, unsigned n_acks)
{
    struct mnl_socket *nl = mnl_socket_open(bus);
    char rbuf[MNL_SOCKET_BUFFER_SIZE];
    int rc = 0;

    if (nl == NULL)
        return -errno;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        rc = -errno;
        goto out;
    }
    if (mnl_socket_sendto(nl, buf, len) < 0) {
        rc = -errno;
        goto out;
    }
    while (n_acks > 0) {
        ssize_t n = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        /* each message of a batch is acked on its own (NLM_F_ACK); an
         * error ack carries a negative errno */
        const struct nlmsghdr *h = (const struct nlmsghdr *)rbuf;
        size_t left = (size_t)n;
        while (mnl_nlmsg_ok(h, (int)left) && n_acks > 0) {
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                n_acks--;
                if (e->error != 0) {
                    rc = e->error;
                    goto out;
                }
            }
            h = mnl_nlmsg_next(h, (int *)&left);
        }
    }
out:
    mnl_socket_close(nl);
    return rc;
}

/* ---- ip rule: fwmark MARK lookup TABLE -------------------------------------- */

static int rule_msg(int family, uint16_t type, uint16_t flags, uint32_t mark, uint32_t table, uint32_t pref)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    memset(buf, 0, sizeof(buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct fib_rule_hdr *fr;

    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    nlh->nlmsg_seq = (uint32_t)time(NULL);
    fr = mnl_nlmsg_put_extra_header(nlh, sizeof(*fr));
    fr->family = (uint8_t)family;
    fr->action = FR_ACT_TO_TBL;
    fr->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
    mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
    mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffffu);
    mnl_attr_put_u32(nlh, FRA_PRIORITY, pref);
    mnl_attr_put_u32(nlh, FRA_TABLE, table);
    return nl_talk(NETLINK_ROUTE, nlh, nlh->nlmsg_len, 1);
}

/* ---- ip route add local 0.0.0.0/0 (::/0) dev lo table TABLE ----------------- */

static int route_msg(int family, uint16_t type, uint16_t flags, uint32_t table)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    memset(buf, 0, sizeof(buf));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct rtmsg *rt;
    unsigned lo = if_nametoindex("lo");

    if (lo == 0)
        return -ENODEV;
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    nlh->nlmsg_seq = (uint32_t)time(NULL);
    rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
    rt->rtm_family = (uint8_t)family;
    rt->rtm_dst_len = 0;
    rt->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_HOST;
    rt->rtm_type = RTN_LOCAL;
    mnl_attr_put_u32(nlh, RTA_TABLE, table);
    mnl_attr_put_u32(nlh, RTA_OIF, lo);
    return nl_talk(NETLINK_ROUTE, nlh, nlh->nlmsg_len, 1);
}

/* ---- nftables: table inet dataplane_transparent ----------------------------- */

static struct nftnl_expr *expr_new(const char *name)
{
    struct nftnl_expr *e = nftnl_expr_alloc(name);
    if (e == NULL)
        abort();
    return e;
}

/* register 1 == data, or the rule stops here */
static void add_cmp_eq(struct nftnl_rule *r, const void *data, uint32_t len)
{
    struct nftnl_expr *e = expr_new("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    nftnl_rule_add_expr(r, e);
}

/* meta l4proto tcp socket transparent 1 meta mark set MARK */
static struct nftnl_rule *mark_rule(uint32_t mark)
{
    struct nftnl_rule *r = nftnl_rule_alloc();
    struct nftnl_expr *e;
    uint8_t tcp = IPPROTO_TCP, one = 1;

    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE);
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, NFT_CHAIN);

    e = expr_new("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
    nftnl_rule_add_expr(r, e);
    add_cmp_eq(r, &tcp, sizeof(tcp));

    e = expr_new("socket");
    nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_TRANSPARENT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, NFT_REG_1);
    nftnl_rule_add_expr(r, e);
    add_cmp_eq(r, &one, sizeof(one));

    e = expr_new("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
    nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &mark, sizeof(mark));
    nftnl_rule_add_expr(r, e);
    e = expr_new("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
    nftnl_rule_add_expr(r, e);
    return r;
}

/* One nfnetlink batch: begin, the messages, end. */
typedef struct {
    char buf[8192];
    struct mnl_nlmsg_batch *b;
    uint32_t seq;
    unsigned n;
} nft_batch_t;

static void batch_start(nft_batch_t *nb)
{
    memset(nb->buf, 0, sizeof(nb->buf)); /* netlink padding goes out as is */
    nb->seq = (uint32_t)time(NULL);
    nb->n = 0;
    nb->b = mnl_nlmsg_batch_start(nb->buf, sizeof(nb->buf));
    nftnl_batch_begin(mnl_nlmsg_batch_current(nb->b), nb->seq++);
    mnl_nlmsg_batch_next(nb->b);
}

static struct nlmsghdr *batch_msg(nft_batch_t *nb, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *h = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(nb->b), type, NFPROTO_INET,
                                               NLM_F_ACK | flags, nb->seq++);
    nb->n++;
    return h;
}

static int batch_send(nft_batch_t *nb)
{
    mnl_nlmsg_batch_next(nb->b);
    nftnl_batch_end(mnl_nlmsg_batch_current(nb->b), nb->seq++);
    mnl_nlmsg_batch_next(nb->b);
    int rc = nl_talk(NETLINK_NETFILTER, mnl_nlmsg_batch_head(nb->b), mnl_nlmsg_batch_size(nb->b), nb->n);
    mnl_nlmsg_batch_stop(nb->b);
    return rc;
}

static int nft_delete_table(void)
{
    nft_batch_t nb;
    struct nftnl_table *t = nftnl_table_alloc();

    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE);
    batch_start(&nb);
    nftnl_table_nlmsg_build_payload(batch_msg(&nb, NFT_MSG_DELTABLE, 0), t);
    nftnl_table_free(t);
    return batch_send(&nb);
}

static int nft_add(uint32_t mark)
{
    nft_batch_t nb;
    struct nftnl_table *t = nftnl_table_alloc();
    struct nftnl_chain *c = nftnl_chain_alloc();
    struct nftnl_rule *r = mark_rule(mark);

    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE);
    nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE);
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, NFT_CHAIN);
    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
    nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_PRE_ROUTING);
    nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, -150); /* mangle */
    nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);

    batch_start(&nb);
    nftnl_table_nlmsg_build_payload(batch_msg(&nb, NFT_MSG_NEWTABLE, NLM_F_CREATE), t);
    mnl_nlmsg_batch_next(nb.b);
    nftnl_chain_nlmsg_build_payload(batch_msg(&nb, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
    mnl_nlmsg_batch_next(nb.b);
    nftnl_rule_nlmsg_build_payload(batch_msg(&nb, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r);
    int rc = batch_send(&nb);
    nftnl_rule_free(r);
    nftnl_chain_free(c);
    nftnl_table_free(t);
    return rc;
}

/* ---- the whole set-up --------------------------------------------------------- */

static const int families[2] = {AF_INET, AF_INET6};

/* Removes every trace, whatever is there; ENOENT / ESRCH are fine. */
static void remove_all(const dp_netsetup_t *ns)
{
    for (int i = 0; i < 2; i++) {
        /* a rule added twice by an earlier crash: delete until none left */
        for (int n = 0; n < 16 && rule_msg(families[i], RTM_DELRULE, 0, ns->mark, ns->table, ns->pref) == 0; n++)
            ;
        route_msg(families[i], RTM_DELROUTE, 0, ns->table);
    }
    nft_delete_table();
}

int dp_netsetup_install(const dp_netsetup_t *ns, char *errbuf, size_t errlen)
{
    int rc;

    remove_all(ns); /* delete before add: a crash leaves nothing that blocks us */
    if ((rc = nft_add(ns->mark)) != 0) {
        snprintf(errbuf, errlen,
                 "nftables rule (table inet %s: socket transparent 1 meta mark set 0x%x): %s%s", NFT_TABLE,
                 ns->mark, strerror(-rc),
                 rc == -ENOENT || rc == -EOPNOTSUPP ? " (kernel without nf_tables or its socket match?)" : "");
        goto fail;
    }
    for (int i = 0; i < 2; i++) {
        const char *fam = families[i] == AF_INET ? "ip" : "ip -6";
        if ((rc = rule_msg(families[i], RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, ns->mark, ns->table, ns->pref)) != 0) {
            snprintf(errbuf, errlen, "%s rule add fwmark 0x%x lookup %u pref %u: %s", fam, ns->mark, ns->table,
                     ns->pref, strerror(-rc));
            goto fail;
        }
        if ((rc = route_msg(families[i], RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, ns->table)) != 0) {
            snprintf(errbuf, errlen, "%s route add local %s dev lo table %u: %s", fam,
                     families[i] == AF_INET ? "0.0.0.0/0" : "::/0", ns->table, strerror(-rc));
            goto fail;
        }
    }
    return 0;
fail:
    remove_all(ns);
    return DP_ERR;
}

void dp_netsetup_remove(const dp_netsetup_t *ns)
{
    remove_all(ns);
}
