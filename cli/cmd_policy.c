/*
 * flagpost policy: the information sharing agreement from the command line.
 *
 *   policy check FILE...                   every problem, file:line:column
 *   policy explain --policy FILE ...       how one request is decided
 *   policy sign --ca DIR FILE              write FILE.sig with the CA key
 *   policy verify --ca DIR FILE            check FILE.sig against the CA
 *   policy hash FILE                       SHA-256 of the exact bytes
 *
 * Everything here is presentation: parsing, deciding and signing live in
 * the policy module, so what `explain` prints is what the broker does.
 * `sign` refuses a policy that does not check clean, so a signature always
 * covers a policy the broker will load.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fileio.h"
#include "keyfile.h"
#include "policy.h"

#define POLICY_FILE_MAX (4u << 20)
#define EXPLAIN_MAX_NAMED 64

static int usage_error(const char *msg)
{
    fprintf(stderr, "flagpost: %s (see `flagpost policy --help`)\n", msg);
    return CLI_USAGE;
}

static void policy_usage(FILE *out)
{
    fputs("usage: flagpost policy COMMAND [OPTIONS]\n"
          "\n"
          "  check FILE...             report every problem as FILE:LINE:COLUMN: sentence;\n"
          "                            exit 0 only when every file is clean\n"
          "  explain --policy FILE --from A --to B --category C --purpose P [options]\n"
          "                            print ALLOW or DENY, the deciding rule and the\n"
          "                            fields that would flow (exit 0 allow, 1 deny)\n"
          "  sign --ca DIR FILE        sign FILE with DIR/ca.key, writing FILE.sig\n"
          "  verify --ca DIR FILE      check FILE.sig against DIR/ca.pub and load FILE\n"
          "  hash FILE                 print the SHA-256 of FILE's exact bytes\n"
          "\n"
          "Run `flagpost policy COMMAND --help` for a command's options.\n"
          "The language is described in docs/policy.md.\n",
          out);
}

static int read_file(const char *path, uint8_t **text, size_t *len)
{
    fp_error err = { 0 };
    if (fileio_read_all(path, POLICY_FILE_MAX, text, len, &err) != FP_OK) {
        fprintf(stderr, "flagpost: %s\n", err.message);
        return CLI_FAILED;
    }
    return CLI_OK;
}

/* ---- check ---- */

static void print_diag(void *ctx, const char *source, int line, int column, const char *msg)
{
    (void)ctx;
    if (line > 0)
        printf("%s:%d:%d: %s\n", source, line, column, msg);
    else
        printf("%s: %s\n", source, msg);
}

static int check_one(const char *path)
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len) != CLI_OK)
        return CLI_FAILED;
    policy *p = NULL;
    fp_error err = { 0 };
    size_t problems = 0;
    int rc = policy_parse_report(&p, (const char *)text, len, path, print_diag, &problems,
                                 &err);
    free(text);
    if (rc != FP_OK) {
        fflush(stdout);
        fprintf(stderr, "flagpost: %s is not a valid policy\n", path);
        return CLI_FAILED;
    }
    char hex[65];
    policy_hash_hex(p, hex);
    printf("%s: ok: policy '%s', %zu rules, sha256 %s\n", path, policy_name(p),
           policy_rule_count(p), hex);
    policy_free(p);
    return CLI_OK;
}

static int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: flagpost policy check FILE...\n\n"
                 "Checks each policy file and prints every problem as\n"
                 "FILE:LINE:COLUMN: sentence. Exits 0 only when every file is clean.\n\n"
                 "  -h, --help   this text");
            return CLI_OK;
        }
        return CLI_USAGE;
    }
    if (optind >= argc)
        return usage_error("policy check needs at least one FILE");
    int status = CLI_OK;
    for (int i = optind; i < argc; i++)
        if (check_one(argv[i]) != CLI_OK)
            status = CLI_FAILED;
    return status;
}

/* ---- hash ---- */

static int cmd_hash(int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            puts("usage: flagpost policy hash FILE\n\n"
                 "Prints the SHA-256 (hex) of FILE's exact bytes: the policy version\n"
                 "that the broker records with every decision.\n\n"
                 "  -h, --help   this text");
            return CLI_OK;
        }
        return CLI_USAGE;
    }
    if (optind + 1 != argc)
        return usage_error("policy hash needs exactly one FILE");
    uint8_t *text = NULL;
    size_t len = 0;
    if (read_file(argv[optind], &text, &len) != CLI_OK)
        return CLI_FAILED;
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(h, text, len);
    free(text);
    puts(sodium_bin2hex(hex, sizeof hex, h, sizeof h));
    return CLI_OK;
}

/* ---- sign / verify ---- */

static int ca_options(int argc, char **argv, const char *cmd, const char **ca_dir,
                      const char **file)
{
    static const struct option opts[] = { { "ca", required_argument, NULL, 'c' },
                                          { "help", no_argument, NULL, 'h' }, { 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c') {
            *ca_dir = optarg;
        } else if (c == 'h') {
            printf("usage: flagpost policy %s --ca DIR FILE\n\n", cmd);
            if (strcmp(cmd, "sign") == 0)
                puts("Checks FILE, then signs it with the CA secret key DIR/ca.key and\n"
                     "writes the detached signature to FILE.sig. A policy with problems\n"
                     "is never signed.\n");
            else
                puts("Checks FILE.sig against the CA public key DIR/ca.pub and that FILE\n"
                     "loads, exactly as the broker and agents do.\n");
            puts("  -c, --ca DIR   the CA directory (or an exported bundle for verify)\n"
                 "  -h, --help     this text");
            return -1;
        } else {
            return CLI_USAGE;
        }
    }
    if (*ca_dir == NULL)
        return usage_error("--ca DIR is required");
    if (optind + 1 != argc)
        return usage_error("exactly one policy FILE is needed");
    *file = argv[optind];
    return CLI_OK;
}

static int cmd_sign(int argc, char **argv)
{
    const char *ca_dir = NULL, *file = NULL;
    int rc = ca_options(argc, argv, "sign", &ca_dir, &file);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    uint8_t *text = NULL;
    size_t len = 0;
    if (read_file(file, &text, &len) != CLI_OK)
        return CLI_FAILED;
    fp_error err = { 0 };
    policy *p = NULL;
    if (policy_parse(&p, (const char *)text, len, file, &err) != FP_OK) {
        free(text);
        fprintf(stderr, "flagpost: refusing to sign a policy with problems: %s\n",
                err.message);
        return CLI_FAILED;
    }
    char key_path[4096], hex[65];
    unsigned char *sk = NULL;
    policy_hash_hex(p, hex);
    policy_free(p);
    rc = fileio_join(key_path, sizeof key_path, ca_dir, "ca.key", &err);
    if (rc == FP_OK)
        rc = keyfile_read_secret(key_path, "ca-secret", &sk, 64, &err);
    if (rc == FP_OK)
        rc = policy_sign(file, text, len, sk, &err);
    keyfile_free_secret(sk, 64);
    free(text);
    if (rc != FP_OK) {
        fprintf(stderr, "flagpost: policy sign: %s\n", err.message);
        return CLI_FAILED;
    }
    printf("signed %s (sha256 %s); signature written to %s.sig\n", file, hex, file);
    return CLI_OK;
}

static int cmd_verify(int argc, char **argv)
{
    const char *ca_dir = NULL, *file = NULL;
    int rc = ca_options(argc, argv, "verify", &ca_dir, &file);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    char pub_path[4096];
    unsigned char pk[32];
    fp_error err = { 0 };
    policy *p = NULL;
    rc = fileio_join(pub_path, sizeof pub_path, ca_dir, "ca.pub", &err);
    if (rc == FP_OK)
        rc = keyfile_read_public(pub_path, "ca-public", pk, sizeof pk, &err);
    if (rc == FP_OK)
        rc = policy_load(&p, file, pk, &err);
    if (rc != FP_OK) {
        fprintf(stderr, "flagpost: policy verify: %s\n", err.message);
        return CLI_FAILED;
    }
    char hex[65];
    policy_hash_hex(p, hex);
    printf("%s: signature ok: policy '%s', %zu rules, sha256 %s\n", file, policy_name(p),
           policy_rule_count(p), hex);
    policy_free(p);
    return CLI_OK;
}

/* ---- explain ---- */

typedef struct explain_args {
    const char *policy_file, *ca_dir;
    const char *from, *to;
    char *named_buf;
    const char *named[EXPLAIN_MAX_NAMED];
    policy_request req;
} explain_args;

static void explain_help(void)
{
    puts("usage: flagpost policy explain --policy FILE --from A --to B --category C\n"
         "                               --purpose P [options]\n"
         "\n"
         "Decides one request exactly as the broker would and prints ALLOW or DENY,\n"
         "the rule that decided, and the fields that would flow. A and B are agency\n"
         "ids listed in the policy (their sector is looked up there) or sector:NAME.\n"
         "Exit status: 0 allow, 1 deny, 2 usage error or a name the policy does not know.\n"
         "\n"
         "  -p, --policy FILE          the policy (need not be signed)\n"
         "      --ca DIR               also verify FILE.sig against DIR/ca.pub\n"
         "  -f, --from A               sending agency id or sector:NAME\n"
         "  -t, --to B                 receiving agency id or sector:NAME\n"
         "  -c, --category C           flag category\n"
         "      --subcategory S        e.g. fgm for a harmful_practice flag\n"
         "  -u, --purpose P            purpose of sharing\n"
         "  -b, --basis B              lawful basis\n"
         "      --consent STATE        given, refused, refused_overridden,\n"
         "                             not_sought_unsafe, not_possible\n"
         "  -r, --risk LEVEL           standard, medium, high\n"
         "      --role ROLE            victim, perpetrator, child, address\n"
         "      --restricted           the flag is restricted (closed MARAC, harmful practice)\n"
         "      --named X,Y            agencies named on a restricted flag\n"
         "      --break-glass          an emergency disclosure (needs a break-glass rule)\n"
         "      --holds-perpetrator    the recipient holds the perpetrator as its client\n"
         "  -h, --help                 this text");
}

/* "X,Y,Z" into args->named (pointers into a private copy). */
static int split_named(explain_args *a, const char *list)
{
    free(a->named_buf);
    a->named_buf = strdup(list);
    if (a->named_buf == NULL)
        return CLI_FAILED;
    a->req.named_count = 0;
    for (char *save = NULL, *tok = strtok_r(a->named_buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (a->req.named_count == EXPLAIN_MAX_NAMED)
            return usage_error("--named lists too many agencies");
        a->named[a->req.named_count++] = tok;
    }
    a->req.named_agencies = a->named;
    return CLI_OK;
}

static int explain_options(int argc, char **argv, explain_args *a)
{
    enum { O_CA = 256, O_SUB, O_CONSENT, O_ROLE, O_RESTRICTED, O_NAMED, O_BREAK, O_HOLDS };
    static const struct option opts[] = {
        { "policy", required_argument, NULL, 'p' }, { "ca", required_argument, NULL, O_CA },
        { "from", required_argument, NULL, 'f' }, { "to", required_argument, NULL, 't' },
        { "category", required_argument, NULL, 'c' },
        { "subcategory", required_argument, NULL, O_SUB },
        { "purpose", required_argument, NULL, 'u' }, { "basis", required_argument, NULL, 'b' },
        { "consent", required_argument, NULL, O_CONSENT },
        { "risk", required_argument, NULL, 'r' }, { "role", required_argument, NULL, O_ROLE },
        { "restricted", no_argument, NULL, O_RESTRICTED },
        { "named", required_argument, NULL, O_NAMED },
        { "break-glass", no_argument, NULL, O_BREAK },
        { "holds-perpetrator", no_argument, NULL, O_HOLDS },
        { "help", no_argument, NULL, 'h' }, { 0 } };
    policy_request *r = &a->req;
    int c;
    while ((c = getopt_long(argc, argv, "p:f:t:c:u:b:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': a->policy_file = optarg; break;
        case O_CA: a->ca_dir = optarg; break;
        case 'f': a->from = optarg; break;
        case 't': a->to = optarg; break;
        case 'c': r->category = optarg; break;
        case O_SUB: r->subcategory = optarg; break;
        case 'u': r->purpose = optarg; break;
        case 'b': r->lawful_basis = optarg; break;
        case O_CONSENT: r->consent = optarg; break;
        case 'r': r->risk = optarg; break;
        case O_ROLE: r->subject_role = optarg; break;
        case O_RESTRICTED: r->restricted = true; break;
        case O_NAMED:
            if (split_named(a, optarg) != CLI_OK)
                return CLI_USAGE;
            break;
        case O_BREAK: r->break_glass = true; break;
        case O_HOLDS: r->recipient_holds_perpetrator = true; break;
        case 'h': explain_help(); return -1;
        default: return CLI_USAGE;
        }
    }
    if (optind != argc)
        return usage_error("policy explain takes options only");
    if (a->policy_file == NULL || a->from == NULL || a->to == NULL || r->category == NULL ||
        r->purpose == NULL)
        return usage_error("policy explain needs --policy, --from, --to, --category and "
                           "--purpose");
    return CLI_OK;
}

static int resolve_party(const policy *p, const char *arg, policy_party *out, const char *opt)
{
    if (strncmp(arg, "sector:", 7) == 0) {
        out->agency_id = NULL;
        out->sector = arg + 7;
        return CLI_OK;
    }
    out->agency_id = arg;
    out->sector = policy_agency_sector(p, arg);
    if (out->sector == NULL) {
        fprintf(stderr, "flagpost: %s: '%s' is not an agency listed in the policy; name a "
                "sector as sector:NAME\n", opt, arg);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int load_for_explain(const explain_args *a, policy **p)
{
    fp_error err = { 0 };
    unsigned char pk[32];
    const unsigned char *ca = NULL;
    if (a->ca_dir != NULL) {
        char path[4096];
        if (fileio_join(path, sizeof path, a->ca_dir, "ca.pub", &err) != FP_OK ||
            keyfile_read_public(path, "ca-public", pk, sizeof pk, &err) != FP_OK) {
            fprintf(stderr, "flagpost: %s\n", err.message);
            return CLI_FAILED;
        }
        ca = pk;
    }
    if (policy_load(p, a->policy_file, ca, &err) != FP_OK) {
        fprintf(stderr, "flagpost: %s\n", err.message);
        return CLI_FAILED;
    }
    return CLI_OK;
}

static void print_fields(const policy *p, const char *category, uint64_t mask)
{
    size_t n = policy_field_count(p, category);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!((mask >> i) & 1u))
            continue;
        printf("%s%s", any ? ", " : "", policy_field_name(p, category, i));
        any = true;
    }
    puts(any ? "" : "(none)");
}

static void print_duration(int64_t s)
{
    if (s == 0)
        puts("not required");
    else if (s % 86400 == 0 && s >= 2 * 86400)
        printf("%lldd\n", (long long)(s / 86400));
    else if (s % 3600 == 0)
        printf("%lldh\n", (long long)(s / 3600));
    else
        printf("%lldm\n", (long long)(s / 60));
}

static void print_decision(const policy *p, const policy_request *r, const policy_decision *d)
{
    char hex[65];
    policy_hash_hex(p, hex);
    puts(d->allowed ? "ALLOW" : "DENY");
    printf("rule:         %s\n", d->rule_id);
    printf("reason:       %s\n", d->reason);
    printf("fields:       ");
    print_fields(p, r->category, d->fields);
    if (d->withheld != 0) {
        printf("withheld:     ");
        print_fields(p, r->category, d->withheld);
        printf("withheld by:  %s\n", d->withheld_by);
    }
    if (d->allowed) {
        printf("acknowledge:  ");
        print_duration(d->ack_within_s);
        printf("notify view:  %s\n", d->notify_on_view ? "yes: the sender is told" : "no");
        if (d->retention_days > 0)
            printf("retention:    %lld days\n", (long long)d->retention_days);
        else
            printf("retention:    until review or expiry\n");
        printf("break-glass:  %s\n", d->break_glass ? "yes: marked for IG review" : "no");
    }
    printf("policy:       %s sha256 %s\n", policy_name(p), hex);
}

static int cmd_policy_explain(int argc, char **argv)
{
    explain_args a = { 0 };
    int rc = explain_options(argc, argv, &a);
    policy *p = NULL;
    if (rc == CLI_OK)
        rc = load_for_explain(&a, &p);
    if (rc == CLI_OK)
        rc = resolve_party(p, a.from, &a.req.from, "--from");
    if (rc == CLI_OK)
        rc = resolve_party(p, a.to, &a.req.to, "--to");
    if (rc == CLI_OK) {
        fp_error err = { 0 };
        if (policy_validate_request(p, &a.req, &err) != FP_OK) {
            fprintf(stderr, "flagpost: %s\n", err.message);
            rc = CLI_USAGE;
        }
    }
    if (rc == CLI_OK) {
        policy_decision d;
        policy_decide(p, &a.req, &d);
        print_decision(p, &a.req, &d);
        rc = d.allowed ? CLI_OK : CLI_FAILED;
    }
    policy_free(p);
    free(a.named_buf);
    return rc < 0 ? CLI_OK : rc;
}

int cmd_policy(int argc, char **argv)
{
    if (argc < 2) {
        policy_usage(stderr);
        return CLI_USAGE;
    }
    if (sodium_init() < 0) {   /* keyfile uses sodium_malloc */
        fprintf(stderr, "flagpost: libsodium failed to initialise\n");
        return CLI_FAILED;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        policy_usage(stdout);
        return CLI_OK;
    }
    static const struct { const char *name; int (*fn)(int, char **); } subs[] = {
        { "check", cmd_check }, { "explain", cmd_policy_explain }, { "sign", cmd_sign },
        { "verify", cmd_verify }, { "hash", cmd_hash },
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(sub, subs[i].name) == 0)
            return subs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "flagpost: unknown policy command '%s'\n", sub);
    policy_usage(stderr);
    return CLI_USAGE;
}
