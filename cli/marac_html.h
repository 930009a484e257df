/*
 * marac_html: the MARAC research pack as one printable HTML page, from
 * the JSON the coordinator's agent builds (op marac_pack).
 *
 * One self-contained file: CSS inline, no scripts, no fonts, images or
 * links that leave it.  Printed, each case starts on a new page; the
 * cover lists the cases.  Every value is HTML-escaped, and the markup is
 * well-formed XML so it can be checked mechanically.  Each agency's answer
 * sits in its own <article> under a heading with the agency's name, with
 * id "case-<ref>-answer-<agency>".
 */
#ifndef FLAGPOST_MARAC_HTML_H
#define FLAGPOST_MARAC_HTML_H

#include <jansson.h>
#include <stdio.h>

void marac_html_pack(FILE *out, json_t *pack);

#endif
