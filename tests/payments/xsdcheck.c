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
#ifndef PAIN002_XSD
#define PAIN002_XSD ""
#endif

static const char *path_of(const char *env_name, const char *built_in)
{
    const char *env = getenv(env_name);
    const char *p = env && *env ? env : built_in;
    return p && *p && access(p, R_OK) == 0 ? p : NULL;
}

const char *xsd_path(void)
{
    return path_of("ATB_PAIN_XSD", PAIN_XSD);
}

const char *xsd_pain002_path(void)
{
    return path_of("ATB_PAIN002_XSD", PAIN002_XSD);
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

static int validate_with(const char *path, const char *xml, size_t len, char *msg, size_t n);

int xsd_validate(const char *xml, size_t len, char *msg, size_t n)
{
    return validate_with(xsd_path(), xml, len, msg, n);
}

int xsd_validate_pain002(const char *xml, size_t len, char *msg, size_t n)
{
    return validate_with(xsd_pain002_path(), xml, len, msg, n);
}

static int validate_with(const char *path, const char *xml, size_t len, char *msg, size_t n)
{
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
