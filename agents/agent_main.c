/*
 * flagpost-agent: one agency's agent.  Parses options, opens the agent,
 * runs its loop until SIGTERM/SIGINT, and shuts down cleanly (the current
 * batch finishes, LMDB is closed).
 */
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "json_wipe.h"
#include "cli_options.h"
#include "config_file.h"
#include "spool.h"

/* The one piece of global state: what the signal handlers tell the loop. */
static agent_signals signals;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        signals.reload = 1;
    else
        signals.stop = 1;
}

static void usage(FILE *out)
{
    fputs("usage: flagpost-agent --identity DIR --ca DIR --policy FILE --data DIR\n"
          "                      --broker ENDPOINT --socket ipc://PATH [options]\n"
          "       flagpost-agent --config FILE [options]\n"
          "\n"
          "Runs one agency's flagpost agent: keeps its keys, its durable outbox and its\n"
          "store of received flags, and serves the agency's systems on --socket.\n"
          "\n"
          "  --config FILE       read settings from FILE: 'key = value' lines whose keys\n"
          "                      are the long options below (data = /var/lib/...);\n"
          "                      options on the command line override the file\n"
          "  --identity DIR      this agency's identity (flagpost ca issue --out DIR)\n"
          "  --ca DIR            the partnership trust bundle (flagpost ca export)\n"
          "  --policy FILE       the signed agreement (FILE.sig beside it)\n"
          "  --data DIR          where the agent's LMDB store lives (created 0700)\n"
          "  --broker ENDPOINT   the broker, e.g. tcp://broker.example:7400\n"
          "  --socket ipc://PATH local socket for the agency's systems (mode 0660)\n"
          "  --spool DIR         also publish flags dropped as DIR/in/*.json and write\n"
          "                      received flags to DIR/received (see flagpost-agent(8))\n"
          "  --publish-wait MS   how long publish waits for the broker's decision before\n"
          "                      answering \"pending\" (default 3000; 0 = never wait)\n"
          "  --map-size MB       maximum database size (default 8192)\n"
          "  --log-level LEVEL   error, warn, info (default) or debug\n"
          "  --help              this text\n"
          "\n"
          "Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the trust bundle,\n"
          "revocation list, signed policy and identity directory (a re-issued\n"
          "identity or a new broker certificate reconnects; nothing queued is lost).\n",
          out);
}

enum { OPT_PUBLISH_WAIT = 256, OPT_MAP_SIZE, OPT_LOG_LEVEL, OPT_SPOOL };

static int parse(int argc, char **argv, config_args *args, agent_config *cfg, fp_log *log,
                 fp_error *err)
{
    static const struct option opts[] = {
        {"identity", required_argument, NULL, 'i'},
        {"ca", required_argument, NULL, 'c'},
        {"policy", required_argument, NULL, 'p'},
        {"data", required_argument, NULL, 'd'},
        {"broker", required_argument, NULL, 'b'},
        {"socket", required_argument, NULL, 's'},
        {"publish-wait", required_argument, NULL, OPT_PUBLISH_WAIT},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"map-size", required_argument, NULL, OPT_MAP_SIZE},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    /* Settings from --config FILE come first, so the command line wins. */
    if (config_file_merge(argc, argv, opts, args, err) != FP_OK)
        return FP_ERR_INPUT;
    argc = args->argc;
    argv = args->argv;
    int c;
    int64_t v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': cfg->identity_dir = optarg; break;
        case 'c': cfg->ca_dir = optarg; break;
        case 'p': cfg->policy_path = optarg; break;
        case 'd': cfg->data_dir = optarg; break;
        case 'b': cfg->broker_endpoint = optarg; break;
        case 's': cfg->socket_endpoint = optarg; break;
        case OPT_SPOOL: cfg->spool_dir = optarg; break;
        case OPT_PUBLISH_WAIT:
            if (cli_parse_int("--publish-wait", optarg, 0, 600000, &v, err) != FP_OK)
                return FP_ERR_INPUT;
            cfg->publish_wait_ms = v;
            break;
        case OPT_MAP_SIZE:
            if (cli_parse_int("--map-size", optarg, 1, 1 << 20, &v, err) != FP_OK)
                return FP_ERR_INPUT;
            cfg->map_size = (size_t)v << 20;
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
    json_wipe_install();   /* before any JSON: field values pass through it */
    agent_config cfg;
    agent_config_defaults(&cfg);
    fp_log log = {.level = LOG_INFO, .program = "flagpost-agent"};
    fp_error err;
    fp_error_clear(&err);
    config_args args;
    if (parse(argc, argv, &args, &cfg, &log, &err) != FP_OK) {
        fprintf(stderr, "flagpost-agent: %s\n", err.message);
        config_args_free(&args);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "flagpost-agent: libsodium failed to initialise\n");
        config_args_free(&args);
        return 1;
    }
    if (cfg.spool_dir != NULL && spool_prepare(cfg.spool_dir, &err) != FP_OK) {
        fprintf(stderr, "flagpost-agent: %s\n", err.message);
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

    agent *a = calloc(1, sizeof *a);
    if (a == NULL) {
        fprintf(stderr, "flagpost-agent: out of memory while starting\n");
        config_args_free(&args);
        return 1;
    }
    int rc = agent_open(a, &cfg, &log, &err);
    if (rc == FP_OK)
        rc = agent_run(a, &signals, &err);
    if (rc != FP_OK)
        fprintf(stderr, "flagpost-agent: %s\n", err.message);
    agent_close(a);
    free(a);
    config_args_free(&args);
    return rc == FP_OK ? 0 : (rc == FP_ERR_INPUT ? 2 : 1);
}
