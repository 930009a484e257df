/*
 * crl: the signed revocation list.  See crl.h.
 *
 * Decoding follows cert.c: bound the length, unpack only the outer pair,
 * verify the CA signature over the exact list bytes, then unpack the list
 * and check every entry before copying it out.  Entries are few (an agency
 * leaving or losing a key), so lookup is a linear scan.
 */
#include "crl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casig.h"
#include "fileio.h"
#include "flagpost.pb-c.h"

void crl_free(crl *list)
{
    if (list == NULL)
        return;
    free(list->entries);
    memset(list, 0, sizeof *list);
}

int crl_append(crl *list, const char *agency_id, uint64_t serial, const char *reason,
               int64_t revoked_at, fp_error *err)
{
    if (!cert_agency_id_valid(agency_id))
        return fp_error_set(err, FP_ERR_INPUT, "revocation: the agency id is not valid");
    if (!cert_text_valid(reason, CRL_REASON_MAX))
        return fp_error_set(err, FP_ERR_INPUT,
                            "revocation reason must be 1-%d characters with no control "
                            "characters", CRL_REASON_MAX - 1);
    if (list->count >= CRL_MAX_ENTRIES)
        return fp_error_set(err, FP_ERR_FULL, "the revocation list already holds %d entries",
                            CRL_MAX_ENTRIES);
    if (list->count == list->capacity) {
        size_t cap = list->capacity ? list->capacity * 2 : 16;
        crl_entry *grown = realloc(list->entries, cap * sizeof *grown);
        if (grown == NULL)
            return fp_error_set(err, FP_ERR_IO, "out of memory growing the revocation list");
        list->entries = grown;
        list->capacity = cap;
    }
    crl_entry *e = &list->entries[list->count++];
    memset(e, 0, sizeof *e);
    snprintf(e->agency_id, sizeof e->agency_id, "%s", agency_id);
    snprintf(e->reason, sizeof e->reason, "%s", reason);
    e->serial = serial;
    e->revoked_at = revoked_at;
    return FP_OK;
}

const crl_entry *crl_find(const crl *list, const char *agency_id, uint64_t serial)
{
    for (size_t i = 0; list != NULL && i < list->count; i++) {
        const crl_entry *e = &list->entries[i];
        if (strcmp(e->agency_id, agency_id) == 0 && (e->serial == 0 || e->serial == serial))
            return e;
    }
    return NULL;
}

int crl_encode_signed(const crl *list, const unsigned char ca_secret[64], uint8_t **out,
                      size_t *out_len, fp_error *err)
{
    *out = NULL;
    *out_len = 0;
    Flagpost__Revocation *items = calloc(list->count ? list->count : 1, sizeof *items);
    Flagpost__Revocation **ptrs = calloc(list->count ? list->count : 1, sizeof *ptrs);
    if (items == NULL || ptrs == NULL) {
        free(items);
        free(ptrs);
        return fp_error_set(err, FP_ERR_IO, "out of memory encoding the revocation list");
    }
    for (size_t i = 0; i < list->count; i++) {
        flagpost__revocation__init(&items[i]);
        items[i].agency_id = list->entries[i].agency_id;
        items[i].serial = list->entries[i].serial;
        items[i].reason = list->entries[i].reason;
        items[i].revoked_at = list->entries[i].revoked_at;
        ptrs[i] = &items[i];
    }
    Flagpost__RevocationList rl = FLAGPOST__REVOCATION_LIST__INIT;
    rl.format = CRL_FORMAT;
    rl.number = list->number;
    rl.issued_at = list->issued_at;
    rl.n_entries = list->count;
    rl.entries = ptrs;
    size_t llen = flagpost__revocation_list__get_packed_size(&rl);
    uint8_t *lbytes = malloc(llen ? llen : 1);
    int rc = FP_OK;
    if (lbytes == NULL)
        rc = fp_error_set(err, FP_ERR_IO, "out of memory encoding the revocation list");
    else
        flagpost__revocation_list__pack(&rl, lbytes);
    free(items);
    free(ptrs);
    unsigned char sig[CASIG_BYTES];
    if (rc == FP_OK)
        rc = casig_sign(CASIG_CONTEXT_CRL, lbytes, llen, ca_secret, sig, err);
    if (rc != FP_OK) {
        free(lbytes);
        return rc;
    }
    Flagpost__SignedRevocationList srl = FLAGPOST__SIGNED_REVOCATION_LIST__INIT;
    srl.list = (ProtobufCBinaryData){llen, lbytes};
    srl.signature = (ProtobufCBinaryData){sizeof sig, sig};
    size_t slen = flagpost__signed_revocation_list__get_packed_size(&srl);
    uint8_t *sbytes = malloc(slen);
    if (sbytes == NULL) {
        free(lbytes);
        return fp_error_set(err, FP_ERR_IO, "out of memory encoding the revocation list");
    }
    flagpost__signed_revocation_list__pack(&srl, sbytes);
    free(lbytes);
    *out = sbytes;
    *out_len = slen;
    return FP_OK;
}

static int crl_from_message(const Flagpost__RevocationList *rl, crl *out, fp_error *err)
{
    if (rl->format != CRL_FORMAT)
        return fp_error_set(err, FP_ERR_VERSION,
                            "revocation list format %u is not known to this build (it "
                            "reads format %d); upgrade flagpost", rl->format, CRL_FORMAT);
    if (rl->n_entries > CRL_MAX_ENTRIES)
        return fp_error_set(err, FP_ERR_INPUT,
                            "the revocation list has %zu entries; the limit is %d",
                            rl->n_entries, CRL_MAX_ENTRIES);
    out->number = rl->number;
    out->issued_at = rl->issued_at;
    for (size_t i = 0; i < rl->n_entries; i++) {
        const Flagpost__Revocation *r = rl->entries[i];
        int rc = crl_append(out, r->agency_id, r->serial, r->reason, r->revoked_at, err);
        if (rc != FP_OK) {
            fp_error_wrap(err, "revocation list entry %zu", i + 1);
            return rc;
        }
    }
    return FP_OK;
}

int crl_decode_verified(const uint8_t *buf, size_t len, const unsigned char ca_public[32],
                        crl *out, fp_error *err)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL || len == 0 || len > CRL_FILE_MAX)
        return fp_error_set(err, FP_ERR_INPUT,
                            "a revocation list must be 1-%zu bytes; this is %zu",
                            CRL_FILE_MAX, len);
    Flagpost__SignedRevocationList *srl =
        flagpost__signed_revocation_list__unpack(NULL, len, buf);
    if (srl == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "not a flagpost revocation list (the outer structure does not "
                            "decode)");
    int rc = casig_verify(CASIG_CONTEXT_CRL, srl->list.data, srl->list.len,
                          srl->signature.data, srl->signature.len, ca_public, err);
    if (rc != FP_OK) {
        flagpost__signed_revocation_list__free_unpacked(srl, NULL);
        fp_error_wrap(err, "revocation list refused");
        return rc;
    }
    Flagpost__RevocationList *rl =
        flagpost__revocation_list__unpack(NULL, srl->list.len, srl->list.data);
    flagpost__signed_revocation_list__free_unpacked(srl, NULL);
    if (rl == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "the revocation list is signed by the CA but does not decode");
    rc = crl_from_message(rl, out, err);
    flagpost__revocation_list__free_unpacked(rl, NULL);
    if (rc != FP_OK)
        crl_free(out);
    return rc;
}

int crl_read_file(const char *path, const unsigned char ca_public[32], crl *out,
                  fp_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = fileio_read_all(path, CRL_FILE_MAX, &buf, &len, err);
    if (rc != FP_OK)
        return rc;
    rc = crl_decode_verified(buf, len, ca_public, out, err);
    free(buf);
    if (rc != FP_OK)
        fp_error_wrap(err, "%s", path);
    return rc;
}
