/*
 * cmd_agent: the commands that talk to a running agent over its local
 * socket: publish, lookup, inbox, result, status.
 *
 * Each builds one JSON request, waits for one JSON answer (REQ/REP), and
 * prints it: one object for publish/result/status, one line per flag for
 * lookup and inbox (JSON lines, easy for scripts).  An error answer is
 * printed on stderr as the agent worded it, naming the field at fault.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_client.h"
#include "cli_options.h"
#include "cli_output.h"
#include "commands.h"
#include "flag_json.h"
#include "json_input.h"

#define DEFAULT_TIMEOUT_MS 15000

static int fail(const char *message)
{
    fprintf(stderr, "flagpost: %s\n", message);
    return CLI_FAILED;
}

static int print_record_answer(json_t *reply);

static int print_flag_lines(json_t *reply)
{
    size_t i;
    json_t *f;
    json_t *list = json_object_get(reply, "flags");
    if (list == NULL)
        list = json_object_get(reply, "notices");
    json_array_foreach(list, i, f) {
        if (cli_output_json(f, JSON_COMPACT) != CLI_OK)
            return CLI_FAILED;
    }
    return CLI_OK;
}

/* ---------------------------------------------------------------- publish */

static int read_flag(const char *path, json_t **out)
{
    fp_error err;
    return json_input_read(path, FLAG_MAX_JSON_BYTES, out, &err) == FP_OK ? CLI_OK
                                                                         : fail(err.message);
}

static int print_record_answer(json_t *reply)
{
    int rc = agent_client_report_error(reply);
    if (rc == CLI_OK)
        rc = cli_output_json(reply, JSON_INDENT(2));
    if (rc == CLI_OK) {
        const char *status = json_string_value(json_object_get(reply, "status"));
        if (status != NULL && strcmp(status, "refused") == 0)
            rc = CLI_FAILED;
    }
    return rc;
}

/* publish FILE, or update FLAG_ID FILE (the same flag JSON, new version). */
static int do_publish(const char *endpoint, int argc, char **argv, int timeout)
{
    bool update = strcmp(argv[0], "update") == 0;
    if (argc != (update ? 3 : 2))
        return fail(update ? "usage: flagpost --agent ENDPOINT update FLAG_ID FILE|-"
                           : "usage: flagpost --agent ENDPOINT publish FILE|-");
    json_t *flag = NULL;
    if (read_flag(argv[update ? 2 : 1], &flag) != CLI_OK)
        return CLI_FAILED;
    if (update) {
        json_object_set_new(flag, "action", json_string("update"));
        json_object_set_new(flag, "flag_id", json_string(argv[1]));
    }
    json_t *req = json_pack("{s:s, s:o}", "op", "publish", "flag", flag);
    json_t *reply = NULL;
    int rc = agent_client_exchange(endpoint, req, timeout, &reply);
    json_decref(req);
    if (rc != CLI_OK)
        return rc;
    rc = print_record_answer(reply);
    json_decref(reply);
    return rc;
}

/* withdraw FLAG_ID --reason CODE, ack FLAG_ID --outcome CODE */
static int do_flag_event(const char *endpoint, int argc, char **argv, int timeout)
{
    bool withdraw = strcmp(argv[0], "withdraw") == 0;
    const char *opt = withdraw ? "--reason" : "--outcome";
    if (argc != 4 || strcmp(argv[2], opt) != 0) {
        fprintf(stderr, "flagpost: usage: flagpost --agent ENDPOINT %s FLAG_ID %s CODE\n",
                argv[0], opt);
        return CLI_USAGE;
    }
    json_t *req = json_pack("{s:s, s:s, s:s}", "op", withdraw ? "withdraw" : "ack", "flag_id",
                            argv[1], withdraw ? "reason" : "outcome", argv[3]);
    json_t *reply = NULL;
    int rc = agent_client_exchange(endpoint, req, timeout, &reply);
    json_decref(req);
    if (rc != CLI_OK)
        return rc;
    rc = print_record_answer(reply);
    json_decref(reply);
    return rc;
}

/* ---------------------------------------------------------------- lookup */

static int do_lookup(const char *endpoint, int argc, char **argv, int timeout)
{
    static const struct option opts[] = {
        {"nhs", required_argument, NULL, 'n'},  {"name", required_argument, NULL, 'N'},
        {"dob", required_argument, NULL, 'd'},  {"postcode", required_argument, NULL, 'p'},
        {"uprn", required_argument, NULL, 'u'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    json_t *req = json_pack("{s:s}", "op", "lookup");
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: flagpost --agent ENDPOINT lookup [--nhs N] [--name NAME --dob DATE]\n"
                 "                [--postcode PC] [--uprn U]\n"
                 "Prints, one JSON object per line, every flag this agency holds on the\n"
                 "subject. Each flag shown is reported to the broker as a view.\n"
                 "  --nhs N          NHS number (10 digits; spaces and dashes allowed)\n"
                 "  --name NAME      full name (needs --dob)\n"
                 "  --dob DATE       date of birth, YYYY-MM-DD or DD/MM/YYYY\n"
                 "  --postcode PC    UK postcode\n"
                 "  --uprn U         unique property reference number\n"
                 "  --help           this text");
            json_decref(req);
            return CLI_OK;
        }
        if (c == '?') {
            json_decref(req);
            return CLI_USAGE;
        }
        const char *key = c == 'n' ? "nhs" : c == 'N' ? "name" : c == 'd' ? "dob"
                        : c == 'p' ? "postcode" : "uprn";
        json_object_set_new(req, key, json_string(optarg));
    }
    if (json_object_size(req) == 1) {
        json_decref(req);
        return fail("lookup needs --nhs, --name with --dob, --postcode or --uprn");
    }
    json_t *reply = NULL;
    int rc = agent_client_exchange(endpoint, req, timeout, &reply);
    json_decref(req);
    if (rc != CLI_OK)
        return rc;
    rc = agent_client_report_error(reply);
    if (rc == CLI_OK)
        rc = print_flag_lines(reply);
    json_decref(reply);
    return rc;
}

/* ---------------------------------------------------------------- others */

static int do_simple(const char *endpoint, json_t *req, int timeout, bool lines)
{
    json_t *reply = NULL;
    int rc = agent_client_exchange(endpoint, req, timeout, &reply);
    json_decref(req);
    if (rc != CLI_OK)
        return rc;
    rc = agent_client_report_error(reply);
    if (rc == CLI_OK)
        rc = lines ? print_flag_lines(reply) : cli_output_json(reply, JSON_INDENT(2));
    json_decref(reply);
    return rc;
}

static int do_inbox(const char *endpoint, int argc, char **argv, int timeout)
{
    bool notices = strcmp(argv[0], "notices") == 0;
    bool open_fields = false;
    int64_t limit = 50;
    fp_error err;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (cli_parse_int("--limit", argv[++i], 1, 1000000, &limit, &err) != FP_OK)
                return fail(err.message);
        } else if (!notices && strcmp(argv[i], "--open") == 0) {
            open_fields = true;
        } else if (strcmp(argv[i], "--help") == 0) {
            puts(notices ? "usage: flagpost --agent ENDPOINT notices [--limit N]\n"
                           "Prints the newest notices from the broker (views of our flags,\n"
                           "acknowledgements, escalations, withdrawals, expiries), one JSON\n"
                           "object per line (default 50)."
                         : "usage: flagpost --agent ENDPOINT inbox [--limit N] [--open]\n"
                           "Prints the newest received flags, one JSON object per line\n"
                           "(default 50): who sent each, category, purpose, risk, dates\n"
                           "and state, without field values.  This is not a view.\n"
                           "  --open  show the field values too; each flag shown is then\n"
                           "          recorded as viewed, in the audit trail, and its\n"
                           "          sender told where the agreement says so (as lookup).");
            return CLI_OK;
        } else {
            fprintf(stderr, "flagpost: %s: unknown option '%s'\n", argv[0], argv[i]);
            return CLI_USAGE;
        }
    }
    json_t *req = json_pack("{s:s, s:I}", "op", notices ? "notices" : "inbox", "limit",
                            (json_int_t)limit);
    if (open_fields)
        json_object_set_new(req, "open", json_true());
    return do_simple(endpoint, req, timeout, true);
}

/* status exits 3 when the agent has raised an audit alarm, so monitoring
 * scripts notice without parsing. */
static int do_status(const char *endpoint, int timeout)
{
    json_t *reply = NULL;
    json_t *req = json_pack("{s:s}", "op", "status");
    int rc = agent_client_exchange(endpoint, req, timeout, &reply);
    json_decref(req);
    if (rc != CLI_OK)
        return rc;
    rc = agent_client_report_error(reply);
    if (rc == CLI_OK) {
        rc = cli_output_json(reply, JSON_INDENT(2));
        if (json_is_string(json_object_get(reply, "audit_alarm"))) {
            fprintf(stderr, "flagpost: AUDIT ALARM: the broker showed an audit history that "
                            "does not extend the one this agent witnessed (see audit_alarm)\n");
            rc = 3;
        }
    }
    json_decref(reply);
    return rc;
}

static void agent_usage(void)
{
    puts("usage: flagpost --agent ipc://PATH COMMAND [ARGS]\n"
         "  publish FILE|-     publish a flag (JSON; see docs/flags.md)\n"
         "  lookup --nhs N | --name NAME --dob DATE | --postcode PC | --uprn U\n"
         "  update FLAG_ID FILE|-  publish a new version of one of our flags\n"
         "  withdraw FLAG_ID --reason CODE   withdraw one of our flags everywhere\n"
         "  ack FLAG_ID --outcome CODE       acknowledge a received flag with action\n"
         "  inbox [--limit N] [--open]  newest received flags (--open: with field\n"
         "                     values, each recorded as viewed)\n"
         "  notices [--limit N]  views, acknowledgements, escalations, expiries\n"
         "  result MESSAGE_ID  decisions for an earlier publish\n"
         "  status             connection, queues, policy and last checkpoint of the\n"
         "                     agent; exits 3 if it has raised an audit alarm\n"
         "Options before COMMAND: --agent ENDPOINT (or $FLAGPOST_AGENT).\n"
         "Set FLAGPOST_TIMEOUT (seconds, default 15) to wait longer for the agent.");
}

int cmd_agent(const char *endpoint, const char *command, int argc, char **argv)
{
    static const char *const known[] = {"publish", "update", "withdraw", "ack", "lookup",
                                        "inbox", "notices", "result", "status", NULL};
    bool is_known = false;
    for (size_t i = 0; known[i] != NULL; i++)
        is_known |= strcmp(command, known[i]) == 0;
    if (!is_known) {
        fprintf(stderr, "flagpost: unknown command '%s' (try flagpost --help)\n", command);
        return CLI_USAGE;
    }
    if (argc > 1 && strcmp(argv[1], "--help") == 0 && strcmp(command, "lookup") != 0 &&
        strcmp(command, "inbox") != 0 && strcmp(command, "notices") != 0) {
        agent_usage();
        return CLI_OK;
    }
    if (endpoint == NULL || endpoint[0] == '\0') {
        fprintf(stderr, "flagpost: %s needs the agent's socket: --agent ipc://PATH (or set "
                        "FLAGPOST_AGENT)\n", command);
        return CLI_USAGE;
    }
    int timeout = agent_client_timeout_ms(DEFAULT_TIMEOUT_MS);
    if (strcmp(command, "publish") == 0 || strcmp(command, "update") == 0)
        return do_publish(endpoint, argc, argv, timeout);
    if (strcmp(command, "withdraw") == 0 || strcmp(command, "ack") == 0)
        return do_flag_event(endpoint, argc, argv, timeout);
    if (strcmp(command, "lookup") == 0)
        return do_lookup(endpoint, argc, argv, timeout);
    if (strcmp(command, "inbox") == 0 || strcmp(command, "notices") == 0)
        return do_inbox(endpoint, argc, argv, timeout);
    if (strcmp(command, "result") == 0) {
        if (argc != 2)
            return fail("usage: flagpost --agent ENDPOINT result MESSAGE_ID");
        return do_simple(endpoint,
                         json_pack("{s:s, s:s}", "op", "result", "message_id", argv[1]),
                         timeout, false);
    }
    return do_status(endpoint, timeout);
}
