/*
 * cmd_marac: `flagpost marac ...`, the MARAC research round from the
 * command line (docs/marac.md).
 *
 *   coordinator:  request FILE | status | pack --html FILE | actions FILE | stats
 *   member:       inbox | respond FILE | action-done ACTION_ID
 *
 * Each subcommand reads its options with getopt_long, sends one request to
 * the local agent and shows the answer: a table for people, --json for
 * scripts (the agent's JSON unchanged), CSV for stats.  Files that hold
 * personal data (packs, answer templates) are written 0600.
 */
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_client.h"
#include "cli_output.h"
#include "commands.h"
#include "fileio.h"
#include "json_input.h"
#include "json_wipe.h"
#include "marac_html.h"
#include "marac_print.h"

#define MARAC_MAX_FILE (500 * 1024)
#define MARAC_TIMEOUT_MS 60000

typedef struct sub {
    const char *endpoint;
    int timeout;
} sub;

static int usage_error(const char *cmd, const char *what)
{
    fprintf(stderr, "flagpost: marac %s: %s (try flagpost marac %s --help)\n", cmd, what, cmd);
    return CLI_USAGE;
}

static int read_json(const char *path, json_t **out)
{
    fp_error err;
    if (json_input_read(path, MARAC_MAX_FILE, out, &err) == FP_OK)
        return CLI_OK;
    fprintf(stderr, "flagpost: %s\n", err.message);
    return CLI_FAILED;
}

/* Send req (consumed); on success *reply holds a non-error answer. */
static int call(const sub *s, json_t *req, json_t **reply)
{
    int rc = agent_client_exchange(s->endpoint, req, s->timeout, reply);
    json_decref(req);
    if (rc == CLI_OK && agent_client_report_error(*reply) != CLI_OK) {
        json_t *sent = json_object_get(*reply, "sent");
        if (json_array_size(sent) > 0) {
            char *text = json_dumps(sent, JSON_INDENT(2));
            fprintf(stderr, "flagpost: sent before the failure (run again to continue):\n%s\n",
                    text ? text : "");
            json_text_free(text);
        }
        json_decref(*reply);
        *reply = NULL;
        return CLI_FAILED;
    }
    return rc;
}

static int write_text_file(const char *path, const char *text)
{
    fp_error err;
    if (fileio_write_atomic(path, text, strlen(text), 0600, &err) != FP_OK) {
        fprintf(stderr, "flagpost: %s\n", err.message);
        return CLI_FAILED;
    }
    return CLI_OK;
}

/* ---------------------------------------------------------------- file commands */

/* request FILE, actions FILE, respond FILE: the same shape. */
static int do_file_command(const sub *s, int argc, char **argv)
{
    const char *cmd = argv[0];
    bool is_request = strcmp(cmd, "request") == 0, is_actions = strcmp(cmd, "actions") == 0;
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: flagpost --agent ENDPOINT marac %s FILE|- [--json]\n%s\n"
                   "  --json   print the agent's answer as JSON\n"
                   "The file format is in docs/marac.md (example: docs/examples/marac-%s.json).\n",
                   cmd,
                   is_request ? "Send a conference's research request (coordinator): one "
                                "request per case to every member agency\nthe agreement "
                                "allows. Sending the file again sends only what was not sent."
                   : is_actions ? "Send each action of the conference to its owning agency "
                                  "(coordinator)."
                                : "Answer research requests (member agency); \"no record\" is "
                                  "an answer.",
                   is_request ? "request" : is_actions ? "actions" : "answers");
            return CLI_OK;
        }
        if (c != 'j')
            return CLI_USAGE;
        json = true;
    }
    if (optind != argc - 1)
        return usage_error(cmd, "give exactly one FILE (or - for standard input)");
    json_t *file = NULL, *reply = NULL;
    if (read_json(argv[optind], &file) != CLI_OK)
        return CLI_FAILED;
    const char *op = is_request ? "marac_request" : is_actions ? "marac_actions" : "marac_respond";
    const char *key = is_request ? "request" : is_actions ? "actions" : "answers";
    int rc = call(s, json_pack("{s:s, s:o}", "op", op, key, file), &reply);
    if (rc != CLI_OK)
        return rc;
    if (json)
        rc = cli_output_json(reply, JSON_INDENT(2));
    else if (is_request)
        marac_print_request(stdout, reply);
    else if (is_actions)
        marac_print_actions(stdout, reply);
    else
        marac_print_respond(stdout, reply);
    json_decref(reply);
    return rc;
}

/* ---------------------------------------------------------------- status, pack */

static int do_status(const sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"conference", required_argument, NULL, 'c'},
                                         {"list", no_argument, NULL, 'l'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *conf = NULL;
    bool json = false, list = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: flagpost --agent ENDPOINT marac status [--conference ID] [--list] "
                 "[--json]\n"
                 "Per case and agency: answered, late or outstanding; the time left; the\n"
                 "reminder; the actions and which are overdue (coordinator).\n"
                 "  --conference ID  the conference (default: the next to sit, else the latest)\n"
                 "  --list           list the conferences instead\n"
                 "  --json           print the agent's answer as JSON");
            return CLI_OK;
        }
        if (c == '?')
            return CLI_USAGE;
        if (c == 'c')
            conf = optarg;
        list |= c == 'l';
        json |= c == 'j';
    }
    if (optind != argc)
        return usage_error("status", "unexpected argument");
    json_t *req = json_pack("{s:s}", "op", list ? "marac_conferences" : "marac_status");
    if (conf != NULL)
        json_object_set_new(req, "conference", json_string(conf));
    json_t *reply = NULL;
    int rc = call(s, req, &reply);
    if (rc != CLI_OK)
        return rc;
    if (json)
        rc = cli_output_json(reply, JSON_INDENT(2));
    else if (list)
        marac_print_conferences(stdout, reply);
    else
        marac_print_status(stdout, reply);
    json_decref(reply);
    return rc;
}

static int do_pack(const sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"conference", required_argument, NULL, 'c'},
                                         {"html", required_argument, NULL, 'H'},
                                         {"json", required_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *conf = NULL, *html = NULL, *json = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: flagpost --agent ENDPOINT marac pack [--conference ID] --html FILE "
                 "[--json FILE]\n"
                 "Write the research pack: per case the referral, each agency's answer under\n"
                 "its name, the children, agencies that did not answer and the flag history\n"
                 "(coordinator). Files are written mode 0600.\n"
                 "  --conference ID  the conference (default: the next to sit, else the latest)\n"
                 "  --html FILE      the printable pack (one self-contained page)\n"
                 "  --json FILE      the same content as JSON");
            return CLI_OK;
        }
        if (c == '?')
            return CLI_USAGE;
        if (c == 'c')
            conf = optarg;
        else if (c == 'H')
            html = optarg;
        else
            json = optarg;
    }
    if (optind != argc || (html == NULL && json == NULL))
        return usage_error("pack", "give --html FILE (and/or --json FILE)");
    json_t *req = json_pack("{s:s}", "op", "marac_pack"), *reply = NULL;
    if (conf != NULL)
        json_object_set_new(req, "conference", json_string(conf));
    int rc = call(s, req, &reply);
    if (rc != CLI_OK)
        return rc;
    char *text = NULL;
    size_t len = 0;
    if (html != NULL) {
        FILE *mem = open_memstream(&text, &len);
        if (mem != NULL) {
            marac_html_pack(mem, reply);
            fclose(mem);
        }
        rc = text != NULL ? write_text_file(html, text) : CLI_FAILED;
        if (text != NULL)
            sodium_memzero(text, len);   /* the cases' answers, in clear */
        free(text);
    }
    if (rc == CLI_OK && json != NULL) {
        text = json_dumps(reply, JSON_INDENT(2));
        rc = text != NULL ? write_text_file(json, text) : CLI_FAILED;
        json_text_free(text);
    }
    if (rc == CLI_OK)
        printf("research pack for conference %s: %zu cases written to %s\n",
               json_string_value(json_object_get(json_object_get(reply, "conference"), "id")),
               json_array_size(json_object_get(reply, "cases")), html ? html : json);
    json_decref(reply);
    return rc;
}

/* ---------------------------------------------------------------- stats */

static int do_stats(const sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"csv", no_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    json_t *req = json_pack("{s:s}", "op", "marac_stats");
    bool csv = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: flagpost --agent ENDPOINT marac stats [--from DATE] [--to DATE] "
                 "[--csv | --json]\n"
                 "Counts for the partnership (coordinator): cases heard, repeat rate, children,\n"
                 "referral sources, equality monitoring where recorded (aggregates only),\n"
                 "harmful-practice cases and actions completed on time.\n"
                 "  --from DATE  conferences on or after DATE (YYYY-MM-DD)\n"
                 "  --to DATE    conferences on or before DATE\n"
                 "  --csv        metric,key,value rows for a spreadsheet\n"
                 "  --json       the agent's answer as JSON");
            json_decref(req);
            return CLI_OK;
        }
        if (c == '?') {
            json_decref(req);
            return CLI_USAGE;
        }
        if (c == 'f' || c == 't')
            json_object_set_new(req, c == 'f' ? "from" : "to", json_string(optarg));
        csv |= c == 'c';
        json |= c == 'j';
    }
    if (optind != argc || (csv && json)) {
        json_decref(req);
        return usage_error("stats", csv && json ? "--csv or --json, not both"
                                                : "unexpected argument");
    }
    json_t *reply = NULL;
    int rc = call(s, req, &reply);
    if (rc != CLI_OK)
        return rc;
    if (csv)
        marac_print_stats_csv(stdout, reply);
    else if (json)
        rc = cli_output_json(reply, JSON_INDENT(2));
    else
        marac_print_stats(stdout, reply);
    json_decref(reply);
    return rc;
}

/* ---------------------------------------------------------------- member */

static int do_inbox(const sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"template", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool all = false, json = false;
    const char *template = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: flagpost --agent ENDPOINT marac inbox [--all] [--json] "
                 "[--template FILE]\n"
                 "Open research requests and actions from the MARAC coordinator (member\n"
                 "agency), each request with an answer drafted from the flags this agency holds\n"
                 "or sent. Showing a request's details is recorded as a view.\n"
                 "  --all            include answered requests and completed actions\n"
                 "  --json           print the agent's answer as JSON\n"
                 "  --template FILE  write a respond file pre-filled from the drafts (0600);\n"
                 "                   check each answer and remove \"draft\" before sending");
            return CLI_OK;
        }
        if (c == '?')
            return CLI_USAGE;
        all |= c == 'a';
        json |= c == 'j';
        if (c == 't')
            template = optarg;
    }
    if (optind != argc)
        return usage_error("inbox", "unexpected argument");
    json_t *reply = NULL;
    int rc = call(s, json_pack("{s:s, s:b}", "op", "marac_inbox", "all", all), &reply);
    if (rc != CLI_OK)
        return rc;
    if (template != NULL) {
        json_t *t = marac_inbox_template(reply);
        char *text = json_dumps(t, JSON_INDENT(2));
        rc = text != NULL ? write_text_file(template, text) : CLI_FAILED;
        if (rc == CLI_OK)
            fprintf(stderr, "flagpost: %zu draft answer%s written to %s\n",
                    json_array_size(json_object_get(t, "answers")),
                    json_array_size(json_object_get(t, "answers")) == 1 ? "" : "s", template);
        json_text_free(text);
        json_decref(t);
    }
    if (json && cli_output_json(reply, JSON_INDENT(2)) != CLI_OK)
        rc = CLI_FAILED;
    else if (!json && template == NULL)
        marac_print_inbox(stdout, reply);
    json_decref(reply);
    return rc;
}

static int do_action_done(const sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"outcome", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *outcome = "acted_on";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: flagpost --agent ENDPOINT marac action-done ACTION_ID [--outcome CODE]\n"
                 "Complete (or acknowledge) a MARAC action this agency owns; the coordinator\n"
                 "is told through the broker and the acknowledgement is audited.\n"
                 "  --outcome CODE  acted_on (default), safety_plan_updated, referred_on,\n"
                 "                  no_further_action, unable_to_contact; or received to\n"
                 "                  acknowledge it without completing it");
            return CLI_OK;
        }
        if (c == '?')
            return CLI_USAGE;
        outcome = optarg;
    }
    if (optind != argc - 1)
        return usage_error("action-done", "give the ACTION_ID `marac inbox` printed");
    json_t *reply = NULL;
    int rc = call(s, json_pack("{s:s, s:s, s:s}", "op", "marac_action_done", "action_id",
                               argv[optind], "outcome", outcome),
                  &reply);
    if (rc == CLI_OK)
        rc = cli_output_json(reply, JSON_INDENT(2));
    json_decref(reply);
    return rc;
}

/* ---------------------------------------------------------------- dispatch */

static void usage(FILE *out)
{
    fputs("usage: flagpost --agent ENDPOINT marac SUBCOMMAND [OPTIONS]\n"
          "MARAC coordinator:\n"
          "  request FILE|-              send a conference's research request\n"
          "  status [--conference ID]    who has answered, time left, actions overdue\n"
          "  pack --html FILE            the printable research pack\n"
          "  actions FILE|-              send the conference's actions to their owners\n"
          "  stats [--from D --to D] [--csv]  counts for the partnership\n"
          "Member agencies:\n"
          "  inbox [--all] [--template FILE]  research requests and actions, with drafts\n"
          "  respond FILE|-              answer research requests\n"
          "  action-done ACTION_ID [--outcome CODE]  complete an action\n"
          "Each subcommand has --help. File formats: docs/marac.md.\n",
          out);
}

int cmd_marac(const char *endpoint, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *name = argv[1];
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    bool help = false;
    for (int i = 1; i < sub_argc; i++)
        help |= strcmp(sub_argv[i], "--help") == 0;
    if (!help && (endpoint == NULL || endpoint[0] == '\0')) {
        fprintf(stderr, "flagpost: marac %s needs the agent's socket: --agent ipc://PATH (or "
                        "set FLAGPOST_AGENT)\n", name);
        return CLI_USAGE;
    }
    sub s = {.endpoint = endpoint, .timeout = agent_client_timeout_ms(MARAC_TIMEOUT_MS)};
    if (strcmp(name, "request") == 0 || strcmp(name, "actions") == 0 ||
        strcmp(name, "respond") == 0)
        return do_file_command(&s, sub_argc, sub_argv);
    if (strcmp(name, "status") == 0)
        return do_status(&s, sub_argc, sub_argv);
    if (strcmp(name, "pack") == 0)
        return do_pack(&s, sub_argc, sub_argv);
    if (strcmp(name, "stats") == 0)
        return do_stats(&s, sub_argc, sub_argv);
    if (strcmp(name, "inbox") == 0)
        return do_inbox(&s, sub_argc, sub_argv);
    if (strcmp(name, "action-done") == 0)
        return do_action_done(&s, sub_argc, sub_argv);
    fprintf(stderr, "flagpost: marac: unknown subcommand '%s'\n", name);
    usage(stderr);
    return CLI_USAGE;
}
