/*
 * cmd_audit_verify: `flagpost audit verify --data DIR [--ca DIR]`.
 *
 * Runs audit_verify over the broker's store and says, in one line a person
 * can act on, either that every entry, stored hash and signed checkpoint
 * matches, or which entry is the first that does not.  The progress bar
 * goes to stderr and only when stderr is a terminal, so scripts and logs
 * get clean output.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_cli.h"
#include "audit_cmds.h"
#include "audit_verify.h"
#include "cli_options.h"
#include "commands.h"
#include "timefmt.h"

#define BAR_WIDTH 30

static void usage(FILE *out)
{
    fputs("usage: flagpost audit verify --data DIR [--ca DIR] [--threads N]\n"
          "\n"
          "Recompute the audit tree from every entry and check it against every stored\n"
          "hash and every checkpoint the broker signed.  Names the first entry that does\n"
          "not match.  Exit status 0 when everything verifies, 1 when something does not.\n"
          "\n"
          "  --data DIR     the broker's data directory (read only)\n"
          "  --ca DIR       the partnership CA bundle; the broker's certificate in it gives\n"
          "                 the key that checkpoint signatures are checked with (without\n"
          "                 it checkpoints are counted but not checked)\n"
          "  --threads N    hashing threads (default: one per CPU)\n"
          "  --help         this text\n",
          out);
}

struct bar {
    bool on;
    double last;
    int last_pct;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw(void *ctx, uint64_t done, uint64_t total)
{
    struct bar *b = ctx;
    if (!b->on || total == 0)
        return;
    int pct = (int)(done * 100 / total);
    double t = now_s();
    if (pct == b->last_pct || (t - b->last < 0.1 && done != total))
        return;
    b->last = t;
    b->last_pct = pct;
    int fill = (int)(done * BAR_WIDTH / total);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\rverifying [%s] %3d%%  %llu of %llu entries", bar, pct,
            (unsigned long long)done, (unsigned long long)total);
    fflush(stderr);
}

static void clear_bar(const struct bar *b)
{
    if (b->on && b->last_pct >= 0)
        fputs("\r\033[K", stderr);
}

static void print_ok(const audit_verify_result *res, bool keys)
{
    char root[65], when[TIMEFMT_ISO_LEN];
    audit_cli_hex(res->root, 32, root, sizeof root);
    printf("audit trail verified: %llu entries and %llu stored hashes match\n",
           (unsigned long long)res->tree_size, (unsigned long long)res->nodes_checked);
    printf("root of all %llu entries: %s\n", (unsigned long long)res->tree_size, root);
    if (!keys) {
        printf("checkpoints: %llu stored, NOT checked (give --ca DIR, the partnership CA "
               "bundle, to check the broker's signatures)\n",
               (unsigned long long)res->checkpoints);
        return;
    }
    if (res->checkpoints_checked == 0)
        printf("checkpoints: none stored yet (the broker signs one every few seconds while "
               "busy)\n");
    else
        printf("checkpoints: all %llu signed by the broker and matching the entries\n",
               (unsigned long long)res->checkpoints_checked);
    if (res->have_checkpoint) {
        timefmt_iso_ms(res->latest.time_ms, when);
        printf("latest checkpoint: %llu entries, signed %s by %s\n",
               (unsigned long long)res->latest.tree_size, when, res->latest.broker_id);
        if (res->latest.tree_size < res->tree_size)
            printf("entries after the latest checkpoint: %llu (the broker signs the next "
                   "one within seconds while busy)\n",
                   (unsigned long long)(res->tree_size - res->latest.tree_size));
    }
}

int cmd_audit_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"ca", required_argument, NULL, 'c'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL, *ca = NULL;
    int64_t threads = 0;
    fp_error err;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'c')
            ca = optarg;
        else if (c == 't') {
            if (cli_parse_int("--threads", optarg, 1, 64, &threads, &err) != FP_OK)
                return audit_cli_fail("verify", &err);
        } else if (c == 'h') {
            usage(stdout);
            return CLI_OK;
        } else {
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (data == NULL || optind != argc)
        return audit_cli_usage("verify", data == NULL ? "--data DIR is required"
                                                      : "unexpected argument");
    unsigned char(*keys)[32] = NULL;
    size_t nkeys = 0;
    if (ca != NULL && audit_cli_broker_keys(ca, &keys, &nkeys, &err) != FP_OK)
        return audit_cli_fail("verify", &err);
    audit_cli_store st;
    if (audit_cli_open(data, &st, &err) != FP_OK) {
        free(keys);
        return audit_cli_fail("verify", &err);
    }
    struct bar bar = {isatty(STDERR_FILENO) == 1, 0, -1};
    audit_verify_options opt = {(const unsigned char(*)[32])keys, nkeys, (unsigned)threads,
                                draw, &bar};
    audit_verify_result res;
    int rc = audit_verify_run(st.env, st.log, &opt, &res, &err);
    clear_bar(&bar);
    int status = CLI_OK;
    if (rc == FP_OK) {
        print_ok(&res, nkeys > 0);
    } else if (rc == FP_ERR_CRYPTO) {
        fprintf(stderr, "flagpost: audit verify: the audit trail does NOT verify: %s\n",
                res.problem);
        if (res.first_bad != AUDIT_VERIFY_NONE)
            fprintf(stderr, "flagpost: audit verify: first entry that does not match: %llu\n",
                    (unsigned long long)res.first_bad);
        status = CLI_FAILED;
    } else {
        status = audit_cli_fail("verify", &err);
    }
    audit_cli_close(&st);
    free(keys);
    return status;
}
