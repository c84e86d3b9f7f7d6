/*
 * xsdcheck.h -- validate a pain.001.001.03 file against the official XML schema with
 * libxml2. The schema is not part of the repository: its path comes from the environment
 * (ATB_PAIN_XSD) or from CMake (PAIN_XSD, the shared schema folder next to the source).
 */
#ifndef XSDCHECK_H
#define XSDCHECK_H

#include <stddef.h>

/* The schema's path, or NULL when the file is not there. */
const char *xsd_path(void);
/* 1 valid, 0 invalid (the first error in msg), -1 no schema or it does not load. */
int xsd_validate(const char *xml, size_t len, char *msg, size_t n);

/* The same for the bank's status report against pain.002.001.03.xsd (ATB_PAIN002_XSD, or
 * PAIN002_XSD from CMake, the same shared folder): -1 when that schema is not there. */
const char *xsd_pain002_path(void);
int xsd_validate_pain002(const char *xml, size_t len, char *msg, size_t n);

#endif
