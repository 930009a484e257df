/*
 * synfilter: dropping SYNs from blocked addresses.  See synfilter.h.
 *
 * The program reads the IPv4 source address through the kernel's
 * negative "network header" offset (SKF_NET_OFF), since a TCP socket
 * filter sees the packet from its TCP header on.  Each list entry is two
 * instructions: compare, and on a match fall into a return; on a mismatch
 * skip it.  So no jump is longer than one instruction, whatever the list's
 * length (classic BPF jumps reach 255 at most).
 */
#include "synfilter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PROGRAM_MAX (3 + 2 * (SYNFILTER_MAX_BLOCKED + SYNFILTER_MAX_KNOWN) + 2)
#define KEEP 0xffffffffu
#define DROP 0u

void synfilter_init(synfilter *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

void synfilter_set_listener(synfilter *f, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int type = 0;
    socklen_t tlen = sizeof type;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 || ss.ss_family != AF_INET ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM)
        return;
    f->fd = fd;
    f->dirty = true;
}

static bool parse_v4(const char *address, uint32_t *ip)
{
    struct in_addr a;
    if (inet_pton(AF_INET, address, &a) != 1)
        return false;
    *ip = ntohl(a.s_addr);
    return true;
}

/* Add or extend an entry; false when the list is full. */
static bool put(synfilter_entry *list, size_t *n, size_t max, uint32_t ip, int64_t until,
                bool *dirty)
{
    for (size_t i = 0; i < *n; i++)
        if (list[i].ip == ip) {
            if (until > list[i].until_ms)
                list[i].until_ms = until;
            return true;
        }
    if (*n == max)
        return false;
    list[(*n)++] = (synfilter_entry){.ip = ip, .until_ms = until};
    *dirty = true;
    return true;
}

bool synfilter_block(synfilter *f, const char *address, int64_t until_ms)
{
    uint32_t ip;
    return parse_v4(address, &ip) &&
           put(f->blocked, &f->nblocked, SYNFILTER_MAX_BLOCKED, ip, until_ms, &f->dirty);
}

void synfilter_block_unknown(synfilter *f, int64_t until_ms)
{
    if (f->unknown_until_ms == 0)
        f->dirty = true;
    if (until_ms > f->unknown_until_ms)
        f->unknown_until_ms = until_ms;
}

void synfilter_known(synfilter *f, const char *address, int64_t until_ms)
{
    uint32_t ip;
    if (!parse_v4(address, &ip))
        return;
    if (!put(f->known, &f->nknown, SYNFILTER_MAX_KNOWN, ip, until_ms, &f->dirty)) {
        /* Full: the entry closest to expiry makes way. */
        size_t oldest = 0;
        for (size_t i = 1; i < f->nknown; i++)
            if (f->known[i].until_ms < f->known[oldest].until_ms)
                oldest = i;
        f->known[oldest] = (synfilter_entry){.ip = ip, .until_ms = until_ms};
        f->dirty = true;
    }
}

static void expire(synfilter_entry *list, size_t *n, int64_t now, bool *dirty)
{
    for (size_t i = 0; i < *n;) {
        if (list[i].until_ms <= now) {
            list[i] = list[--*n];
            *dirty = true;
        } else {
            i++;
        }
    }
}

static size_t emit_list(struct sock_filter *p, size_t k, const synfilter_entry *list, size_t n,
                        uint32_t verdict)
{
    for (size_t i = 0; i < n; i++) {
        p[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, list[i].ip, 0, 1);
        p[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, verdict);
    }
    return k;
}

static int install(synfilter *f, bool unknown_blocked)
{
    struct sock_filter *p = calloc(PROGRAM_MAX, sizeof *p);
    if (p == NULL)
        return -1;
    size_t k = 0;
    p[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12);
    k = emit_list(p, k, f->blocked, f->nblocked, DROP);
    if (unknown_blocked) {
        k = emit_list(p, k, f->known, f->nknown, KEEP);
        p[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, DROP);
    }
    p[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, KEEP);
    struct sock_fprog prog = {.len = (unsigned short)k, .filter = p};
    int rc = setsockopt(f->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
    free(p);
    if (rc == 0)
        f->installs++;
    return rc;
}

int synfilter_apply(synfilter *f, int64_t now_ms)
{
    expire(f->blocked, &f->nblocked, now_ms, &f->dirty);
    expire(f->known, &f->nknown, now_ms, &f->dirty);
    bool unknown_blocked = f->unknown_until_ms > now_ms;
    if (!unknown_blocked && f->unknown_until_ms != 0) {
        f->unknown_until_ms = 0;
        f->dirty = true;
    }
    if (!f->dirty || f->fd < 0)
        return 0;
    f->dirty = false;
    if (f->nblocked == 0 && !unknown_blocked) {
        synfilter_clear(f);
        return 0;
    }
    return install(f, unknown_blocked);
}

void synfilter_clear(synfilter *f)
{
    if (f->fd < 0)
        return;
    int dummy = 0;
    if (setsockopt(f->fd, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof dummy) != 0 &&
        errno != ENOENT)
        f->dirty = true;   /* try again next time */
}
