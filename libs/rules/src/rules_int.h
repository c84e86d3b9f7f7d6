/*
 * This file is private to libs/rules.
 *
 * The compiled form of a rule set, the YAML tree it is compiled from, and the helpers the
 * files of the library share (double-underscore names).
 */
#ifndef RULES_INT_H
#define RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rules.h"

/* ---- memory pool: every allocation of a set or a result lives until the pool is freed */
typedef struct rules__pool rules__pool;
rules__pool *rules__pool_new(void);
void *rules__palloc(rules__pool *p, size_t n);            /* zeroed; NULL when out of memory */
char *rules__pstrdup(rules__pool *p, const char *s);
char *rules__psprintf(rules__pool *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rules__pool_free(rules__pool *p);

/* ---- SHA-256 (FIPS 180-4) */
typedef struct rules__sha256 {
    uint32_t h[8];
    uint64_t len;           /* bytes hashed so far */
    uint8_t buf[64];
    size_t nbuf;
} rules__sha256;
void rules__sha256_init(rules__sha256 *c);
void rules__sha256_update(rules__sha256 *c, const void *p, size_t n);
void rules__sha256_final(rules__sha256 *c, uint8_t out[32]);
/* Hex digest of p[0..n) into hex (65 bytes, NUL-terminated). */
void rules__sha256_hex(const void *p, size_t n, char hex[65]);

/* ---- YAML tree with line numbers */
typedef enum ynode_kind { YN_SCALAR = 1, YN_SEQ, YN_MAP } ynode_kind;

typedef struct ynode {
    ynode_kind kind;
    int line;                   /* 1-based */
    bool quoted;                /* scalar written quoted */
    bool plain_text;            /* scalar to be emitted as a bare JSON number / bool */
    char *text;                 /* scalar text (normalised in place by the compiler) */
    size_t n;                   /* items (seq) or pairs (map) */
    struct ynode **items;       /* seq items / map values */
    char **keys;                /* map keys */
    int *key_lines;
} ynode;

#define RULES_MAX_DOC (4u * 1024u * 1024u)

/* Parse bytes into a tree allocated from pool. Errors name `file`. */
at_code rules__yparse(rules__pool *pool, const char *file, const void *bytes, size_t len,
                      ynode **out, at_error *err);
ynode *rules__ymap_get(const ynode *map, const char *key);
/* Canonical JSON of a tree (maps sorted by key). Caller frees *out with free(). */
at_code rules__yemit(const ynode *root, char **out, size_t *len, at_error *err);
void rules__ysort(ynode *n);   /* sort every map's keys, recursively */

/* ---- compiled rule set */
enum { VK_PLAIN = 0, VK_SCALE, VK_DERIVED };

typedef struct pval {
    at_date from, to;
    const char *source, *note;
    int line;
    int kind;                   /* VK_* */
    int64_t v;                  /* cents / integer / ratio parts per 10 000 / 0-1 */
    at_cents first, others;     /* VK_SCALE */
    int64_t ratio;              /* VK_DERIVED: parts per 10 000 of `of` */
    const char *of;
    at_rounding rounding;
} pval;

typedef struct param {
    const char *name, *label_lv, *label_en;
    rules_unit unit;
    pval *values;
    size_t n;
    const char **caps;          /* names (with their household-type variants) whose values
                                   in every scope must not exceed this one's (national) */
    size_t n_caps;
} param;

typedef struct itval {
    at_date from, to;
    bool counted;
    const char *source, *note;
} itval;

typedef struct itype {
    const char *code, *label_lv, *label_en;
    itval *values;
    size_t n;
} itype;

#define RULES_STATUS_BIT(s) (1u << (s))

typedef struct group {          /* one eligibility category of a person */
    uint32_t all, any, none;    /* member flags */
    int age_min, age_max;       /* -1 = no bound; age in whole years */
    int residence_months;       /* -1 = none; declared residence at least N months before
                                   the event (or the decision date) */
    bool resident;              /* declared residence in the tenant */
    uint32_t status_any;        /* household holds one of these statuses */
    bool pupil;
} group;

enum { ON_NONE = 0, ON_INCOME, ON_CHILDREN, ON_AGE };

typedef struct row {
    bool has_min, has_max;
    int64_t min, max;           /* cents (income) or integers */
    int64_t value;              /* cents */
    bool unknown;               /* the documents give no amount for this row */
    uint32_t all, none, app_all;
    const char *note;
} row;

typedef struct vspec {          /* an amount: fixed, or chosen by bands */
    int on;                     /* ON_NONE with n == 0: fixed `value` */
    int64_t value;
    row *rows;
    size_t n;
} vspec;

enum { MODE_FIXED = 1, MODE_REIMBURSE, MODE_PER_UNIT, MODE_PER_MEMBER, MODE_IN_KIND, MODE_GMI, MODE_COMPOSITE,
       MODE_HOUSING };
enum { BASIS_NONE = 0, BASIS_PER_PERSON, BASIS_SUBJECT, BASIS_HOUSEHOLD };
enum { COUNT_ANNIVERSARY = 1, COUNT_CALENDAR_YEARS, COUNT_WINDOW };
enum { SCOPE_HOUSEHOLD = 1, SCOPE_SUBJECT, SCOPE_MEMBER };
enum { PERIOD_DAY = 1, PERIOD_MONTH, PERIOD_CALENDAR_YEAR, PERIOD_STATUS };
enum { START_DECISION = 0, START_APPLICATION };
enum { KIND_CATALOGUE = 1, KIND_GMI, KIND_COMPOSITE, KIND_HOUSING };

typedef struct expkind {        /* a housing expense kind of a housing benefit version */
    const char *kind;
    bool counted;
    const char *norm_param;     /* NULL = no norm in the rule set: counted in full */
    const char *source, *note;
} expkind;

typedef struct bversion {
    at_date from, to;
    const char *source, *note;
    int line;
    uint32_t status_any;        /* RULES_STATUS_BIT(...) */
    int status_lookback_months; /* -1 = status on the decision date */
    int heating;                /* rules_heating, 0 = any */
    uint32_t app_all;
    int children_min;           /* -1 = none */
    group *groups; size_t n_groups;
    int income_basis;           /* BASIS_* */
    bool has_income_max;
    int64_t income_max;
    const char *income_max_param;
    bool has_window;
    int win_from, win_to;       /* month * 100 + day */
    int mode;                   /* MODE_* */
    vspec value;
    bool rate_input;            /* per_unit: the rate is the application's unit_cost */
    bool times_count;           /* fixed: multiplied by the application's count */
    int64_t max_per_payout, max_per_year;   /* -1 = none */
    const char *unit_name;
    bool annual_cap;            /* reimburse: value is a cap per calendar year */
    int64_t school[4];          /* per_member by school level, cents; -1 = not eligible */
    group *members; size_t n_members;       /* in_kind: who counts */
    const char *item;
    int once_years;             /* 0 = no once-per limit */
    int once_counting;
    int limit_scope;            /* SCOPE_* for once / annual caps / units */
    bool once_per_event;
    bool requires_receipts;
    const char *bill_age_param;
    int per;                    /* rules_per */
    int period;                 /* PERIOD_* */
    int start;                  /* START_* */
    bool has_start;             /* start given: a calendar-year grant runs from it */
    int payment;                /* rules_payment */
    const char *ekk;
    const char *level_param;    /* gmi, housing */
    const char **components; size_t n_components;
    const char *coefficient_param;          /* housing: K (ratio, household-type variants) */
    expkind *expenses; size_t n_expenses;   /* housing: sorted by kind */
} bversion;

typedef struct benefit {
    const char *code, *label_lv, *label_en;
    int kind;
    bversion *versions;
    size_t n;
} benefit;

typedef struct scope {
    const char *name, *title;
    at_date from, to;
    const char *source, *note;
    param *params; size_t n_params;         /* sorted by name */
    itype *itypes; size_t n_itypes;         /* sorted by code */
    benefit *benefits; size_t n_benefits;   /* sorted by code */
} scope;

struct rules_set {
    rules__pool *pool;
    scope *scopes;              /* sorted by name */
    size_t n;
    const scope *national;
    char *bytes;                /* canonical JSON, malloc'd */
    size_t len;
    char version[65];
};

/* Compile one scope document (tree) into sc, normalising the tree's scalars in place. */
at_code rules__compile_scope(rules__pool *pool, const char *file, ynode *doc, scope *sc,
                             at_error *err);
/* Cross-scope checks after every scope is compiled (references to other parameters,
 * components). */
at_code rules__check_set(const rules_set *s, at_error *err);

const scope *rules__scope(const rules_set *s, const char *name);
const param *rules__param_in(const scope *sc, const char *name);
const itype *rules__itype_in(const scope *sc, const char *code);
const benefit *rules__benefit_in(const scope *sc, const char *code);

const pval *rules__pval_on(const param *p, at_date on);

/* Look `name` up for `tenant` (may be NULL = national only) on `on`: the tenant's value in
 * force wins, else national's; a derived value is computed from its base (read first). Each
 * read, the base's included, is reported to cb (may be NULL). AT_NOT_FOUND when no value is
 * in force ("no rule in force"). */
typedef void (*rules__on_read)(void *ctx, const rules_param_value *v);
at_code rules__lookup(const rules_set *s, const scope *tenant, const char *name, at_date on,
                      rules_param_value *out, rules__on_read cb, void *cbctx, at_error *err);
/* The value as text for the explanation ("128.06", "109.00 + 76.00 x (n-1)", "0.8000"). */
int rules__value_text(const rules_param_value *v, char *buf, size_t n);

/* The household-type variant of a parameter: "NAME.<type name>". */
#define RULES_N_HTYPES 4

/* Names */
const char *rules__mflag_name(uint32_t bit);
const char *rules__aflag_name(uint32_t bit);
int rules__status_from_name(const char *s);
int rules__payment_from_name(const char *s);

#endif
