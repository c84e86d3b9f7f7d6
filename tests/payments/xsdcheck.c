/*
 * xsdcheck.c -- see xsdcheck.h.
 */
#include "xsdcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#ifndef PAIN_XSD
#define PAIN_XSD ""
#endif

const char *xsd_path(void)
{
    const char *env = getenv("ATB_PAIN_XSD");
    const char *p = env && *env ? env : PAIN_XSD;
    return p && *p && access(p, R_OK) == 0 ? p : NULL;
}

typedef struct sink {
    char *msg;
    size_t n;
    int errors;
} sink;

static void on_error(void *ctx, const char *fmt, ...)
{
    sink *s = ctx;
    if (s->errors++ > 0 || !s->msg)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, s->n, fmt, ap);
    va_end(ap);
}

int xsd_validate(const char *xml, size_t len, char *msg, size_t n)
{
    const char *path = xsd_path();
    if (!path)
        return -1;
    sink s = {msg, n, 0};
    if (msg && n)
        msg[0] = '\0';
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
    xmlSchemaPtr schema = pc ? xmlSchemaParse(pc) : NULL;
    xmlSchemaFreeParserCtxt(pc);
    if (!schema)
        return -1;
    int rc = 0;
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "batch.xml", "UTF-8", XML_PARSE_NONET);
    if (doc) {
        xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
        xmlSchemaSetValidErrors(vc, on_error, on_error, &s);
        rc = xmlSchemaValidateDoc(vc, doc) == 0 ? 1 : 0;
        xmlSchemaFreeValidCtxt(vc);
        xmlFreeDoc(doc);
    } else if (msg) {
        snprintf(msg, n, "not well-formed XML");
    }
    xmlSchemaFree(schema);
    return rc;
}
