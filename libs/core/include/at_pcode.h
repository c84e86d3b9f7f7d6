/*
 * at_pcode.h -- Latvian personal code (personas kods) validation.
 *
 * Two formats:
 *  - old: DDMMYY-CNNNN, where C is the century (0 = 1800s, 1 = 1900s, 2 = 2000s), the
 *    first six digits are the birth date and the last digit is a checksum;
 *  - new (issued from 1 July 2017): 32NNNN-NNNNN, no birth date in it. The law makes the
 *    second digit 2..9 (codes seen so far start with 32), so any 3D with D in 2..9 is accepted; no
 *    check digit is verified for these (see pcode.c for the sources and the reason).
 * The dash is optional on input; the normalised form always has it.
 * Pure and thread-safe; no clock (a birth date in the future is the caller's check).
 */
#ifndef AT_PCODE_H
#define AT_PCODE_H

#include <stdbool.h>
#include "at_date.h"
#include "at_error.h"

typedef enum at_pcode_kind { AT_PCODE_OLD = 1, AT_PCODE_NEW = 2 } at_pcode_kind;

typedef struct at_pcode {
    at_pcode_kind kind;
    char normalised[13];   /* "DDMMYY-CNNNN" or "32NNNN-NNNNN" */
    at_date birth_date;    /* old format only; AT_DATE_NONE for the new format */
} at_pcode;

/* Validate s. On success fill *out (may be NULL) and return AT_OK; otherwise return
 * AT_VALIDATION with a message naming what is wrong (length, non-digit, date that does
 * not exist, checksum). field names the input in the error. */
at_code at_pcode_validate(const char *s, const char *field, at_pcode *out, at_error *err);

#endif
