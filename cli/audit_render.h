/*
 * audit_render: writing a subject's chronology as a text table (for a
 * terminal or a plain-text bundle) or as a self-contained HTML document
 * (for a review panel), from audit_chronology's data.
 */
#ifndef FLAGPOST_AUDIT_RENDER_H
#define FLAGPOST_AUDIT_RENDER_H

#include <stdio.h>

#include "audit_chronology.h"

void audit_render_chronology_text(FILE *out, const audit_chronology *c, const char *label);
void audit_render_chronology_html(FILE *out, const audit_chronology *c, const char *label);

#endif
