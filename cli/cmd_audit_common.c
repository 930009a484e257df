/*
 * cmd_audit_common: helpers shared by the `flagpost audit` subcommands.
 * See audit_cli.h.
 *
 * The broker's checkpoint key comes from exactly one place,
 * audit_cli_broker_keys(): the partnership CA bundle, through the trust
 * store, so a key is believed only because the CA certified it.
 */
#include "audit_cli.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cert.h"
#include "commands.h"
#include "fileio.h"
#include "keyfile.h"
#include "store.h"
#include "timefmt.h"
#include "trust_store.h"

#define AUDIT_MAX_DBS 32

int audit_cli_open(const char *dir, audit_cli_store *st, fp_error *err)
{
    memset(st, 0, sizeof *st);
    char path[4096];
    struct stat sb;
    if (fileio_join(path, sizeof path, dir, "data.mdb", err) != FP_OK)
        return err->code;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || stat(path, &sb) != 0)
        return fp_error_set(err, FP_ERR_NOT_FOUND,
                            "no flagpost data in %s; give --data the broker's data directory "
                            "(its `data_dir` setting)",
                            dir);
    int rc = store_env_open(&st->env, dir, 0, AUDIT_MAX_DBS, MDB_RDONLY, err);
    if (rc != FP_OK)
        return rc;
    rc = audit_log_open_readonly(&st->log, st->env, err);
    if (rc == FP_ERR_NOT_FOUND)
        fp_error_set(err, rc, "no flagpost audit trail in %s: the broker has not started here",
                     dir);
    int mrc = 0;
    if (rc == FP_OK && (mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->txn)) != 0)
        rc = store_fail(err, mrc, "reading the audit trail");
    if (rc == FP_OK)
        rc = audit_log_size(st->log, st->txn, &st->size);
    if (rc != FP_OK)
        audit_cli_close(st);
    return rc;
}

void audit_cli_close(audit_cli_store *st)
{
    if (st->txn != NULL)
        mdb_txn_abort(st->txn);
    if (st->log != NULL)
        audit_log_close(st->log);
    if (st->env != NULL)
        mdb_env_close(st->env);
    memset(st, 0, sizeof *st);
}

static bool have_key(unsigned char (*keys)[32], size_t n, const unsigned char k[32])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(keys[i], k, 32) == 0)
            return true;
    return false;
}

int audit_cli_broker_keys(const char *ca_dir, unsigned char (**keys)[32], size_t *nkeys,
                          fp_error *err)
{
    *keys = NULL;
    *nkeys = 0;
    trust_store *ts = NULL;
    int rc = trust_store_load(&ts, ca_dir, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--ca %s", ca_dir);
    size_t total = trust_store_count(ts);
    unsigned char(*k)[32] = calloc(total + 1, 32);
    if (k == NULL) {
        trust_store_free(ts);
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    }
    size_t n = 0;
    const cert_info *now = trust_store_broker(ts, (int64_t)time(NULL), NULL);
    if (now != NULL)
        memcpy(k[n++], now->sign_public, 32);
    for (size_t i = 0; i < total; i++) {
        const cert_info *c = trust_store_at(ts, i);
        if (strcmp(c->sector, "broker") == 0 && !have_key(k, n, c->sign_public))
            memcpy(k[n++], c->sign_public, 32);
    }
    trust_store_free(ts);
    if (n == 0) {
        free(k);
        return fp_error_set(err, FP_ERR_NOT_FOUND,
                            "--ca %s: the bundle has no broker certificate, so checkpoint "
                            "signatures cannot be checked; export the bundle again after "
                            "`flagpost ca issue` for the broker",
                            ca_dir);
    }
    *keys = k;
    *nkeys = n;
    return FP_OK;
}

bool audit_cli_subject_given(const audit_cli_subject *s)
{
    const char *all[] = {s->ids.nhs, s->ids.name, s->ids.dob, s->ids.postcode, s->ids.uprn};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i] != NULL && all[i][0] != '\0')
            return true;
    return false;
}

bool audit_cli_subject_option(audit_cli_subject *s, int id, const char *value)
{
    switch (id) {
    case AUDIT_OPT_NHS: s->ids.nhs = value; return true;
    case AUDIT_OPT_NAME: s->ids.name = value; return true;
    case AUDIT_OPT_DOB: s->ids.dob = value; return true;
    case AUDIT_OPT_POSTCODE: s->ids.postcode = value; return true;
    case AUDIT_OPT_UPRN: s->ids.uprn = value; return true;
    case AUDIT_OPT_LINKAGE_KEY: s->linkage_key = value; return true;
    default: return false;
    }
}

int audit_cli_subject_pseudonyms(const audit_cli_subject *s, pseudonym out[PSEUDONYM_MAX],
                                 size_t *n, fp_error *err)
{
    *n = 0;
    if (s->linkage_key == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "--linkage-key FILE is needed to turn identifiers into the "
                            "pseudonyms the audit trail records");
    unsigned char *key = NULL;
    int rc = keyfile_read_secret(s->linkage_key, "linkage-key", &key, PSEUDONYM_KEY_LEN, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--linkage-key");
    rc = pseudonym_derive(key, &s->ids, "subject", out, n, err);
    keyfile_free_secret(key, PSEUDONYM_KEY_LEN);
    return rc;
}

int audit_cli_usage(const char *cmd, const char *message)
{
    fprintf(stderr, "flagpost: audit %s: %s (see `flagpost audit %s --help`)\n", cmd, message,
            cmd);
    return CLI_USAGE;
}

int audit_cli_fail(const char *cmd, const fp_error *err)
{
    fprintf(stderr, "flagpost: audit %s: %s\n", cmd, err->message);
    return err->code == FP_ERR_INPUT ? CLI_USAGE : CLI_FAILED;
}

void audit_cli_hex(const uint8_t *data, size_t len, char *out, size_t outsz)
{
    if (outsz == 0)
        return;
    if (len * 2 + 1 > outsz)
        len = (outsz - 1) / 2;
    sodium_bin2hex(out, outsz, data, len);
}

void audit_cli_time(int64_t ms, char out[32])
{
    char iso[TIMEFMT_ISO_LEN];
    timefmt_iso_ms(ms, iso);
    /* 2024-05-01T09:30:00.000Z -> 2024-05-01 09:30:00Z */
    snprintf(out, 32, "%.10s %.8sZ", iso, iso + 11);
}

int audit_cli_buffer_open(audit_cli_buffer *b, fp_error *err)
{
    memset(b, 0, sizeof *b);
    b->f = open_memstream(&b->data, &b->len);
    if (b->f == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    return FP_OK;
}

int audit_cli_buffer_save(audit_cli_buffer *b, const char *path, fp_error *err)
{
    int bad = ferror(b->f);
    if (fclose(b->f) != 0)
        bad = 1;
    b->f = NULL;
    int rc = FP_OK;
    if (bad)
        rc = fp_error_set(err, FP_ERR_IO, "out of memory writing %s", path);
    else if (strcmp(path, "-") == 0)
        rc = fwrite(b->data, 1, b->len, stdout) == b->len && fflush(stdout) == 0
                 ? FP_OK
                 : fp_error_set(err, FP_ERR_IO, "cannot write to standard output: %s",
                                strerror(errno));
    else
        rc = fileio_write_atomic(path, b->data, b->len, 0600, err);
    free(b->data);
    b->data = NULL;
    return rc;
}
