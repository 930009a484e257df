/*
 * audit_fixture: builds a broker-like audit store for the audit tests.
 *
 *   audit_fixture build --data DIR --script FILE [--linkage-key FILE]
 *                       [--sign-key FILE] [--broker-id ID]
 *   audit_fixture bulk  --data DIR --count N [--sign-key FILE]
 *                       [--checkpoint-every K] [--batch B]
 *
 * The store is the one the broker keeps: an LMDB environment opened as the
 * broker opens it (store_env_open, 32 named databases) with the audit
 * databases created by audit_log_open and every entry appended by
 * audit_log_append_entry, each checkpoint signed by checkpoint_sign with
 * the broker's identity key (sign.key from `flagpost ca issue --sector
 * broker`).  Appending to an existing store continues it.
 *
 * A script is JSON lines, one entry per line, in log order:
 *   {"event": "disclosure", "time": "2024-05-01T09:00:00Z",
 *    "sender": "police", "recipient": "health",
 *    "subject": {"nhs": "...", "name": "...", "dob": "...", "postcode": "..."},
 *    "role": "victim", "category": "da_victim", "purpose": "safeguarding",
 *    "lawful_basis": "public_task", "consent": "not_sought", "risk": "high",
 *    "decision": "allowed", "rule": "r1", "reason": "...", "stage": "broker",
 *    "flag": "F1", "version": 1, "fields": ["safe_contact"], "break_glass": false}
 * or a checkpoint: {"checkpoint": true, "time": "..."} (signed at the
 * current size).  Every key but "event" is optional.  "flag" is a label:
 * the same label gives the same 16-byte flag id.  Subject identifiers are
 * turned into pseudonyms with the linkage key, as an agent would.
 * Prints the number of entries in the store when done.
 */
#include <getopt.h>
#include <jansson.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_log.h"
#include "audit_query.h"
#include "checkpoint.h"
#include "flagpost.pb-c.h"
#include "keyfile.h"
#include "pseudonym.h"
#include "store.h"

struct fixture {
    const char *data, *script, *linkage_path, *sign_path, *broker_id;
    uint64_t count, every, batch;
    MDB_env *env;
    audit_log *log;
    unsigned char *linkage;      /* 32, sodium memory */
    unsigned char *sign;         /* 64, sodium memory */
};

static int die(const char *what, const fp_error *err)
{
    fprintf(stderr, "audit_fixture: %s: %s\n", what, err != NULL ? err->message : "failed");
    return 1;
}

static char *mut(const char *s)
{
    return (char *)(uintptr_t)(s != NULL ? s : "");
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

static void tagged_hash(const char *tag, const char *text, unsigned char out[32])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)tag, strlen(tag));
    crypto_hash_sha256_update(&st, (const unsigned char *)text, strlen(text));
    crypto_hash_sha256_final(&st, out);
}

static int sign_checkpoint(struct fixture *f, MDB_txn *txn, int64_t time_ms, fp_error *err)
{
    if (f->sign == NULL)
        return fp_error_set(err, FP_ERR_INPUT, "a checkpoint needs --sign-key");
    checkpoint_info cp;
    memset(&cp, 0, sizeof cp);
    int rc = audit_log_size(f->log, txn, &cp.tree_size);
    if (rc == FP_OK)
        rc = audit_log_root(f->log, txn, cp.tree_size, cp.root, err);
    if (rc != FP_OK)
        return rc;
    cp.time_ms = time_ms;
    snprintf(cp.broker_id, sizeof cp.broker_id, "%s", f->broker_id);
    uint8_t *buf;
    size_t len;
    if ((rc = checkpoint_sign(&cp, f->sign, &buf, &len, err)) != FP_OK)
        return rc;
    rc = audit_log_put_checkpoint(f->log, txn, cp.tree_size, buf, len, err);
    free(buf);
    return rc;
}

/* Storage for one entry's byte fields and pointer arrays. */
struct built {
    Flagpost__AuditEntry e;
    Flagpost__Pseudonym ps[PSEUDONYM_MAX];
    Flagpost__Pseudonym *pp[PSEUDONYM_MAX];
    pseudonym subj[PSEUDONYM_MAX];
    unsigned char flag[32], msg[32], payload[32], policy[32];
    char *fields[16];
};

static int subject_of(struct fixture *f, json_t *s, struct built *b, fp_error *err)
{
    if (!json_is_object(s))
        return FP_OK;
    if (f->linkage == NULL)
        return fp_error_set(err, FP_ERR_INPUT, "a subject needs --linkage-key");
    subject_identifiers ids = {str(s, "nhs"), str(s, "name"), str(s, "dob"),
                               str(s, "postcode"), str(s, "uprn")};
    size_t n;
    int rc = pseudonym_derive(f->linkage, &ids, "subject", b->subj, &n, err);
    if (rc != FP_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        flagpost__pseudonym__init(&b->ps[i]);
        b->ps[i].kind = (Flagpost__PseudonymKind)b->subj[i].kind;
        b->ps[i].value.data = b->subj[i].value;
        b->ps[i].value.len = PSEUDONYM_LEN;
        b->pp[i] = &b->ps[i];
    }
    b->e.subject = b->pp;
    b->e.n_subject = n;
    return FP_OK;
}

static int build_entry(struct fixture *f, json_t *o, size_t line, struct built *b,
                       fp_error *err)
{
    Flagpost__AuditEntry *e = &b->e;
    flagpost__audit_entry__init(e);
    int event;
    int rc = audit_event_parse(str(o, "event"), &event, err);
    if (rc == FP_OK && json_object_get(o, "time") != NULL)
        rc = audit_time_parse(str(o, "time"), false, &e->time_ms, "time", err);
    if (rc == FP_OK)
        rc = subject_of(f, json_object_get(o, "subject"), b, err);
    if (rc != FP_OK)
        return rc;
    e->event = (Flagpost__AuditEvent)event;
    e->sender = mut(str(o, "sender"));
    e->recipient = mut(str(o, "recipient"));
    e->subject_role = mut(str(o, "role"));
    e->category = mut(str(o, "category"));
    e->purpose = mut(str(o, "purpose"));
    e->lawful_basis = mut(str(o, "lawful_basis"));
    e->consent = mut(str(o, "consent"));
    e->risk = mut(str(o, "risk"));
    e->decision = mut(str(o, "decision"));
    e->rule_id = mut(str(o, "rule"));
    e->reason = mut(str(o, "reason"));
    e->stage = mut(json_object_get(o, "stage") ? str(o, "stage") : "broker");
    e->break_glass = json_is_true(json_object_get(o, "break_glass"));
    e->version = (uint32_t)json_integer_value(json_object_get(o, "version"));
    char num[32];
    snprintf(num, sizeof num, "%zu", line);
    if (json_object_get(o, "flag") != NULL) {
        tagged_hash("flag:", str(o, "flag"), b->flag);
        e->flag_id.data = b->flag;
        e->flag_id.len = 16;
    }
    tagged_hash("message:", num, b->msg);
    e->message_id.data = b->msg;
    e->message_id.len = 16;
    tagged_hash("payload:", num, b->payload);
    e->payload_hash.data = b->payload;
    e->payload_hash.len = 32;
    tagged_hash("policy:", "fixture", b->policy);
    e->policy_hash.data = b->policy;
    e->policy_hash.len = 32;
    json_t *fields = json_object_get(o, "fields");
    for (size_t i = 0; i < json_array_size(fields) && i < 16; i++)
        b->fields[e->n_fields++] = mut(json_string_value(json_array_get(fields, i)));
    e->fields = b->fields;
    return FP_OK;
}

static int run_line(struct fixture *f, MDB_txn *txn, json_t *o, size_t line, fp_error *err)
{
    if (json_is_true(json_object_get(o, "checkpoint"))) {
        int64_t t = 0;
        if (json_object_get(o, "time") != NULL &&
            audit_time_parse(str(o, "time"), false, &t, "time", err) != FP_OK)
            return err->code;
        return sign_checkpoint(f, txn, t, err);
    }
    struct built b;
    memset(&b, 0, sizeof b);
    int rc = build_entry(f, o, line, &b, err);
    if (rc == FP_OK)
        rc = audit_log_append_entry(f->log, txn, &b.e, NULL, err);
    return rc;
}

static int cmd_build(struct fixture *f)
{
    FILE *in = fopen(f->script, "r");
    if (in == NULL) {
        perror(f->script);
        return 1;
    }
    MDB_txn *txn;
    fp_error err;
    if (mdb_txn_begin(f->env, NULL, 0, &txn) != 0) {
        fclose(in);
        return die("begin", NULL);
    }
    char buf[8192];
    size_t line = 0;
    int rc = FP_OK;
    while (rc == FP_OK && fgets(buf, sizeof buf, in) != NULL) {
        line++;
        if (strspn(buf, " \t\r\n") == strlen(buf) || buf[0] == '#')
            continue;
        json_error_t jerr;
        json_t *o = json_loads(buf, 0, &jerr);
        if (!json_is_object(o)) {
            fp_error_set(&err, FP_ERR_INPUT, "%s:%zu: %s", f->script, line, jerr.text);
            rc = FP_ERR_INPUT;
        } else if ((rc = run_line(f, txn, o, line, &err)) != FP_OK) {
            fp_error_wrap(&err, "%s:%zu", f->script, line);
        }
        json_decref(o);
    }
    fclose(in);
    if (rc != FP_OK) {
        mdb_txn_abort(txn);
        return die("build", &err);
    }
    uint64_t size = 0;
    audit_log_size(f->log, txn, &size);
    if (mdb_txn_commit(txn) != 0)
        return die("commit", NULL);
    printf("%llu\n", (unsigned long long)size);
    return 0;
}

static int cmd_bulk(struct fixture *f)
{
    fp_error err;
    uint64_t done = 0;
    const char *senders[] = {"police", "health", "housing", "childrens-services", "idva"};
    while (done < f->count) {
        MDB_txn *txn;
        if (mdb_txn_begin(f->env, NULL, 0, &txn) != 0)
            return die("begin", NULL);
        for (uint64_t k = 0; k < f->batch && done < f->count; k++, done++) {
            struct built b;
            memset(&b, 0, sizeof b);
            flagpost__audit_entry__init(&b.e);
            b.e.event = FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE;
            b.e.time_ms = 1717200000000 + (int64_t)done * 1000;
            b.e.sender = mut(senders[done % 5]);
            b.e.recipient = mut(senders[(done + 1) % 5]);
            b.e.category = mut("da_victim");
            b.e.decision = mut("allowed");
            int rc = audit_log_append_entry(f->log, txn, &b.e, NULL, &err);
            if (rc == FP_OK && f->every > 0 && f->sign != NULL && (done + 1) % f->every == 0)
                rc = sign_checkpoint(f, txn, b.e.time_ms, &err);
            if (rc != FP_OK) {
                mdb_txn_abort(txn);
                return die("bulk", &err);
            }
        }
        if (mdb_txn_commit(txn) != 0)
            return die("commit", NULL);
    }
    printf("%llu\n", (unsigned long long)done);
    return 0;
}

static int load_keys(struct fixture *f, fp_error *err)
{
    if (f->linkage_path != NULL &&
        keyfile_read_secret(f->linkage_path, "linkage-key", &f->linkage, 32, err) != FP_OK)
        return err->code;
    if (f->sign_path != NULL &&
        keyfile_read_secret(f->sign_path, "sign-secret", &f->sign, 64, err) != FP_OK)
        return err->code;
    return FP_OK;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"script", required_argument, NULL, 's'},
                                         {"linkage-key", required_argument, NULL, 'l'},
                                         {"sign-key", required_argument, NULL, 'k'},
                                         {"broker-id", required_argument, NULL, 'b'},
                                         {"count", required_argument, NULL, 'n'},
                                         {"checkpoint-every", required_argument, NULL, 'e'},
                                         {"batch", required_argument, NULL, 'B'},
                                         {NULL, 0, NULL, 0}};
    struct fixture f = {0};
    f.broker_id = "broker";
    f.batch = 10000;
    if (argc < 2 || sodium_init() < 0) {
        fprintf(stderr, "usage: audit_fixture build|bulk --data DIR ...\n");
        return 2;
    }
    const char *cmd = argv[1];
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': f.data = optarg; break;
        case 's': f.script = optarg; break;
        case 'l': f.linkage_path = optarg; break;
        case 'k': f.sign_path = optarg; break;
        case 'b': f.broker_id = optarg; break;
        case 'n': f.count = strtoull(optarg, NULL, 10); break;
        case 'e': f.every = strtoull(optarg, NULL, 10); break;
        case 'B': f.batch = strtoull(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (f.data == NULL || f.batch == 0 ||
        (strcmp(cmd, "build") == 0 ? f.script == NULL : strcmp(cmd, "bulk") != 0)) {
        fprintf(stderr, "usage: audit_fixture build --data DIR --script FILE ... | "
                        "bulk --data DIR --count N ...\n");
        return 2;
    }
    fp_error err;
    if (load_keys(&f, &err) != FP_OK)
        return die("keys", &err);
    if (store_env_open(&f.env, f.data, 0, 32, 0, &err) != FP_OK ||
        audit_log_open(&f.log, f.env, &err) != FP_OK)
        return die(f.data, &err);
    int rc = strcmp(cmd, "build") == 0 ? cmd_build(&f) : cmd_bulk(&f);
    audit_log_close(f.log);
    mdb_env_close(f.env);
    if (f.linkage != NULL)
        keyfile_free_secret(f.linkage, 32);
    if (f.sign != NULL)
        keyfile_free_secret(f.sign, 64);
    return rc;
}
