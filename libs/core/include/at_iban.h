/*
 * at_iban.h -- IBAN validation (ISO 13616): country length table and mod-97 check.
 */
#ifndef AT_IBAN_H
#define AT_IBAN_H

#include "at_error.h"

#define AT_IBAN_MAX 34

/* Validate s (spaces allowed, any case). On success write the normalised electronic form
 * (upper case, no spaces) into out (at least AT_IBAN_MAX+1 bytes, may be NULL) and return
 * AT_OK; otherwise AT_VALIDATION naming the reason (unknown country, wrong length for the
 * country, bad character, account format of the country, check digits) and out untouched.
 * Pure and thread-safe. */
at_code at_iban_validate(const char *s, const char *field, char *out, at_error *err);

#endif
