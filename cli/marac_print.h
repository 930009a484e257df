/*
 * marac_print: how `flagpost marac` shows the agent's answers to a person
 * (tables) and to a spreadsheet (CSV).  Every function takes the JSON the
 * agent returned; --json prints that JSON unchanged instead.
 */
#ifndef FLAGPOST_MARAC_PRINT_H
#define FLAGPOST_MARAC_PRINT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

void marac_print_request(FILE *out, json_t *reply);
void marac_print_status(FILE *out, json_t *status);
void marac_print_conferences(FILE *out, json_t *reply);
void marac_print_actions(FILE *out, json_t *reply);
void marac_print_inbox(FILE *out, json_t *inbox);
void marac_print_respond(FILE *out, json_t *reply);
void marac_print_stats(FILE *out, json_t *stats);
/* metric,key,value rows, RFC 4180 quoting. */
void marac_print_stats_csv(FILE *out, json_t *stats);

/* A respond file from the inbox: one answer per open request, pre-filled
 * from the drafts and marked "draft": true (respond refuses it until a
 * person has checked it and removed the mark). */
json_t *marac_inbox_template(json_t *inbox);

/* "2d 3h", "4h 10m", "55s"; "overdue by 1h 2m" when negative. */
void marac_time_left(int64_t seconds, char *out, size_t n);

#endif
