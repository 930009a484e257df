/*
 * flagpost-broker: the partnership's central broker.  Parses options,
 * opens the broker, runs its loop until SIGTERM/SIGINT, then finishes the
 * current batch and closes LMDB cleanly.
 */
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "cli_options.h"
#include "config_file.h"

/* The one piece of global state: what the signal handlers tell the loop. */
static broker_signals signals;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        signals.reload = 1;
    else
        signals.stop = 1;
}

static void usage(FILE *out)
{
    fputs("usage: flagpost-broker --identity DIR --ca DIR --policy FILE --data DIR\n"
          "                       --bind ENDPOINT [options]\n"
          "       flagpost-broker --config FILE [options]\n"
          "\n"
          "Runs the partnership's broker: admits agencies by certificate (CURVE + ZAP),\n"
          "enforces the signed agreement, queues flags durably per recipient, and keeps\n"
          "the audit trail.\n"
          "\n"
          "  --config FILE      read settings from FILE: 'key = value' lines whose keys\n"
          "                     are the long options below (identity = /etc/...);\n"
          "                     options on the command line override the file\n"
          "  --identity DIR     the broker's identity (flagpost ca issue --sector broker)\n"
          "  --ca DIR           the partnership trust bundle (flagpost ca export)\n"
          "  --policy FILE      the signed agreement (FILE.sig beside it)\n"
          "  --data DIR         where queues and the audit trail live (LMDB, created 0700)\n"
          "  --bind ENDPOINT    where agents connect, e.g. tcp://0.0.0.0:7400\n"
          "  --skew SECONDS     allowed difference between a sender's clock and ours\n"
          "                     (default 300)\n"
          "  --seen-retention SECONDS\n"
          "                     how long message ids are kept to answer retransmissions\n"
          "                     and refuse replays (default 604800, 7 days; at least\n"
          "                     twice --skew plus 60); older ones are pruned\n"
          "  --window N         unacknowledged deliveries per agency (default 4096)\n"
          "  --window-mb N      ... and at most N MB of them (default 32; one delivery\n"
          "                     always goes, however large)\n"
          "  --batch N          most messages committed together (default 1024)\n"
          "  --batch-mb N       ... and at most about N MB of them (default 16)\n"
          "  --map-size MB      maximum database size (default 8192)\n"
          "  --checkpoint-interval MS\n"
          "                     sign a checkpoint of the audit tree at least this often\n"
          "                     while entries arrive (default 2000, at most 5000)\n"
          "\n"
          "Limits (0 turns a rate limit off; see docs/deploy.md):\n"
          "  --max-message-kb N largest message an agent may send (default 4096); a larger\n"
          "                     one is refused (message-too-large); one over twice this\n"
          "                     is cut off by ZeroMQ with its connection\n"
          "  --agency-rate N    publishes and events per agency per second (default 500);\n"
          "                     more are answered \"rate-limited\" and the agent resends\n"
          "  --agency-burst N   messages an agency may send at once above the rate\n"
          "                     (default 10000)\n"
          "  --connect-rate N   new connections per source address per second (default\n"
          "                     10, bursts of 2N; 4N for an address an agency recently\n"
          "                     authenticated from); more are closed before the handshake\n"
          "                     and the address's SYNs are dropped for a second\n"
          "  --connect-rate-total N\n"
          "                     new connections per second from all addresses no agency\n"
          "                     authenticated from recently (default 100, bursts of 2N)\n"
          "  --log-level LEVEL  error, warn, info (default) or debug\n"
          "  --help             this text\n"
          "\n"
          "Signals: SIGTERM/SIGINT finish the current batch and stop cleanly; SIGHUP\n"
          "reloads the trust bundle, revocation list and signed policy (a policy change\n"
          "is audited with the old and new hash; a bad file is refused, audited and the\n"
          "old one kept).  A revoked agency's open session is closed at once and its\n"
          "queued deliveries held.\n",
          out);
}

enum {
    OPT_SKEW = 256, OPT_WINDOW, OPT_WINDOW_MB, OPT_BATCH, OPT_BATCH_MB, OPT_MAP_SIZE,
    OPT_LOG_LEVEL, OPT_CHECKPOINT, OPT_MAX_MESSAGE, OPT_AGENCY_RATE, OPT_AGENCY_BURST,
    OPT_CONNECT_RATE, OPT_CONNECT_TOTAL, OPT_SEEN_RETENTION
};

/* The numeric options: each one's bounds, the unit its value is multiplied
 * by, and the one field of the configuration it sets (exactly one of the
 * three pointers).  One table, so an option is added in one line. */
typedef struct number_option {
    int opt;
    const char *name;
    int64_t min, max, unit;
    int64_t *i64;
    size_t *size;
    double *real;
} number_option;

static int parse_number(int opt, const char *arg, broker_config *cfg, fp_error *err)
{
    const number_option table[] = {
        {OPT_SKEW, "--skew", 1, 86400, 1000, .i64 = &cfg->skew_ms},
        {OPT_SEEN_RETENTION, "--seen-retention", 1, 3650LL * 86400, 1000,
         .i64 = &cfg->seen_retention_ms},
        {OPT_WINDOW, "--window", 1, 100000, 1, .size = &cfg->delivery_window},
        {OPT_WINDOW_MB, "--window-mb", 1, 4096, 1 << 20, .size = &cfg->delivery_window_bytes},
        {OPT_BATCH, "--batch", 1, 100000, 1, .size = &cfg->batch_max},
        {OPT_BATCH_MB, "--batch-mb", 1, 4096, 1 << 20, .size = &cfg->batch_max_bytes},
        {OPT_MAP_SIZE, "--map-size", 1, 1 << 20, 1 << 20, .size = &cfg->map_size},
        {OPT_CHECKPOINT, "--checkpoint-interval", 100, 5000, 1, .i64 = &cfg->checkpoint_ms},
        {OPT_MAX_MESSAGE, "--max-message-kb", 64, 1 << 20, 1024, .i64 = &cfg->max_message_bytes},
        {OPT_AGENCY_RATE, "--agency-rate", 0, 10000000, 1, .real = &cfg->agency_rate},
        {OPT_AGENCY_BURST, "--agency-burst", 1, 100000000, 1, .real = &cfg->agency_burst},
        {OPT_CONNECT_RATE, "--connect-rate", 0, 1000000, 1, .real = &cfg->connect_rate},
        {OPT_CONNECT_TOTAL, "--connect-rate-total", 1, 1000000, 1,
         .real = &cfg->connect_rate_total},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const number_option *o = &table[i];
        int64_t v = 0;
        if (o->opt != opt)
            continue;
        if (cli_parse_int(o->name, arg, o->min, o->max, &v, err) != FP_OK)
            return FP_ERR_INPUT;
        if (o->i64 != NULL)
            *o->i64 = v * o->unit;
        else if (o->size != NULL)
            *o->size = (size_t)(v * o->unit);
        else
            *o->real = (double)(v * o->unit);
        return FP_OK;
    }
    return fp_error_set(err, FP_ERR_INTERNAL, "option %d has no entry in the number table", opt);
}

static int parse(int argc, char **argv, config_args *args, broker_config *cfg, fp_log *log,
                 fp_error *err)
{
    static const struct option opts[] = {
        {"identity", required_argument, NULL, 'i'}, {"ca", required_argument, NULL, 'c'},
        {"policy", required_argument, NULL, 'p'},   {"data", required_argument, NULL, 'd'},
        {"bind", required_argument, NULL, 'b'},     {"skew", required_argument, NULL, OPT_SKEW},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"window-mb", required_argument, NULL, OPT_WINDOW_MB},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"batch-mb", required_argument, NULL, OPT_BATCH_MB},
        {"map-size", required_argument, NULL, OPT_MAP_SIZE},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"checkpoint-interval", required_argument, NULL, OPT_CHECKPOINT},
        {"max-message-kb", required_argument, NULL, OPT_MAX_MESSAGE},
        {"agency-rate", required_argument, NULL, OPT_AGENCY_RATE},
        {"agency-burst", required_argument, NULL, OPT_AGENCY_BURST},
        {"connect-rate", required_argument, NULL, OPT_CONNECT_RATE},
        {"connect-rate-total", required_argument, NULL, OPT_CONNECT_TOTAL},
        {"seen-retention", required_argument, NULL, OPT_SEEN_RETENTION},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    /* Settings from --config FILE come first, so the command line wins. */
    if (config_file_merge(argc, argv, opts, args, err) != FP_OK)
        return FP_ERR_INPUT;
    argc = args->argc;
    argv = args->argv;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': cfg->identity_dir = optarg; break;
        case 'c': cfg->ca_dir = optarg; break;
        case 'p': cfg->policy_path = optarg; break;
        case 'd': cfg->data_dir = optarg; break;
        case 'b': cfg->bind_endpoint = optarg; break;
        case OPT_SKEW: case OPT_WINDOW: case OPT_WINDOW_MB: case OPT_BATCH:
        case OPT_BATCH_MB: case OPT_MAP_SIZE: case OPT_CHECKPOINT: case OPT_MAX_MESSAGE:
        case OPT_AGENCY_RATE: case OPT_AGENCY_BURST: case OPT_CONNECT_RATE:
        case OPT_CONNECT_TOTAL: case OPT_SEEN_RETENTION:
            if (parse_number(c, optarg, cfg, err) != FP_OK)
                return FP_ERR_INPUT;
            break;
        case OPT_LOG_LEVEL:
            if ((log->level = log_level_parse(optarg)) < 0)
                return fp_error_set(err, FP_ERR_INPUT,
                                    "--log-level: '%s' is not error, warn, info or debug",
                                    optarg);
            break;
        case 'h': usage(stdout); exit(0);
        default: return fp_error_set(err, FP_ERR_INPUT, "see --help for the options");
        }
    }
    if (optind < argc)
        return fp_error_set(err, FP_ERR_INPUT, "unexpected argument '%s'", argv[optind]);
    return FP_OK;
}

int main(int argc, char **argv)
{
    broker_config cfg;
    broker_config_defaults(&cfg);
    fp_log log = {.level = LOG_INFO, .program = "flagpost-broker"};
    fp_error err;
    fp_error_clear(&err);
    config_args args;
    if (parse(argc, argv, &args, &cfg, &log, &err) != FP_OK) {
        fprintf(stderr, "flagpost-broker: %s\n", err.message);
        config_args_free(&args);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "flagpost-broker: libsodium failed to initialise\n");
        config_args_free(&args);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    broker *b = calloc(1, sizeof *b);
    if (b == NULL) {
        fprintf(stderr, "flagpost-broker: out of memory while starting\n");
        config_args_free(&args);
        return 1;
    }
    int rc = broker_open(b, &cfg, &log, &err);
    if (rc == FP_OK)
        rc = broker_run(b, &signals, &err);
    if (rc != FP_OK)
        fprintf(stderr, "flagpost-broker: %s\n", err.message);
    broker_close(b);
    free(b);
    config_args_free(&args);
    return rc == FP_OK ? 0 : (rc == FP_ERR_INPUT ? 2 : 1);
}
