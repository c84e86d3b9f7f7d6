/*
 * rules.h -- means-testing rules of atbalsts: dated rule sets as data, and the pure
 * calculation of a decision with its explanation.
 *
 * Two halves:
 *
 *  1. Rule sets. A rule set is a collection of scopes: "national" plus one scope per
 *     municipality (tenant). Each scope comes from one YAML file (services/means/rulesets/
 *     <scope>.yaml, format in docs/rules.md): parameters with dated values, income types,
 *     and the benefit catalogue, every value with a mandatory legal `source`. Loading is
 *     strict: an unknown key, a missing source, overlapping dates, an unquoted or
 *     three-decimal amount is an error naming the file and line. The loaded rules_set is
 *     immutable; it has a canonical serialisation (rules_set_bytes: JSON, which is also
 *     YAML, with sorted keys and normalised values) and a version id, the SHA-256 hex of
 *     those bytes. rules_set_from_bytes() loads the canonical bytes back to the same set
 *     and the same id, so a replay years later uses exactly the published rules.
 *
 *  2. Decisions. rules_decide() takes a household, an application and the history facts
 *     the log holds (earlier grants, status periods, memberships) and returns a decision
 *     (granted / refused, status and period, amount in cents, payment form, budget code,
 *     the reason of every failed condition) and an explanation: ordered steps, each with a
 *     Latvian and an English label, the values used, every parameter read (name, value,
 *     effective-from, scope, source) and its result. No I/O, no clock, no global state:
 *     the decision date is an input.
 *
 * The 2021 household reform is data too: household amounts (first person + each other
 * person), parameters that differ by household type (NAME.<type>, rules_household_classify),
 * national caps checked at load, and the housing benefit (K x GMI sum + expenses - income).
 *
 * Lookup rule: a parameter, income type or benefit is looked up in the tenant's scope
 * first and in "national" second, by name and date. A name with no value in force on the
 * date is the error "no rule in force", never a zero or a stale value.
 *
 * Errors: every function that can fail returns an at_code and fills the caller's at_error
 * (may be NULL). Bad input to rules_decide (a member in two households, a negative income,
 * an income month outside the window, an unknown benefit code, a tenant without a rule set
 * on the date) is an error with the reason and no result; a refusal is not an error (AT_OK
 * with outcome RULES_REFUSED and its reasons).
 *
 * Threads: a rules_set is immutable after loading and may be shared by any number of
 * threads. A rules_result belongs to the caller. Nothing here blocks or logs.
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "at_date.h"
#include "at_error.h"
#include "at_money.h"

/* ------------------------------------------------------------------------------------ */
/* Rule sets                                                                             */

typedef struct rules_set rules_set;

/* One YAML document to load: `name` names it in error messages ("daugavpils.yaml"). */
typedef struct rules_source {
    const char *name;
    const void *bytes;
    size_t len;
} rules_source;

/* Load the scopes in srcs[0..n) (one scope per document; exactly one must be "national")
 * into a new immutable set. The bytes are copied. Errors: AT_VALIDATION with the file and
 * line in the message ("daugavpils.yaml:41: unknown key \"amout\" in benefit HEATING") and
 * the key path in err->field; AT_MALFORMED for YAML that does not parse; AT_TOO_LARGE for a
 * document over 4 MiB. Free with rules_set_free. */
at_code rules_set_load(const rules_source *srcs, size_t n, rules_set **out, at_error *err);

/* Load a set from its canonical bytes (as returned by rules_set_bytes, possibly years
 * earlier). The bytes must be canonical: re-serialising the loaded set must give them back
 * byte for byte, so the version id is the hash of exactly these bytes. Free with
 * rules_set_free. */
at_code rules_set_from_bytes(const void *bytes, size_t len, rules_set **out, at_error *err);

/* The canonical serialisation, owned by the set (valid until rules_set_free). */
const void *rules_set_bytes(const rules_set *s, size_t *len);
/* The version id: 64 lower-case hex digits of SHA-256(rules_set_bytes). Owned by the set. */
const char *rules_set_version(const rules_set *s);
/* NULL is a no-op. */
void rules_set_free(rules_set *s);

/* Whether the set has a scope for `tenant` whose in_force period contains `on`. */
bool rules_set_covers(const rules_set *s, const char *tenant, at_date on);

typedef enum rules_unit {
    RULES_UNIT_EUR = 1,       /* an amount in cents */
    RULES_UNIT_EUR_SCALE,     /* per person, or first person + each other person */
    RULES_UNIT_RATIO,         /* parts per 10 000 ("0.80" = 8000) */
    RULES_UNIT_COUNT,
    RULES_UNIT_MONTHS,
    RULES_UNIT_DAYS,
    RULES_UNIT_YEARS,
    RULES_UNIT_BOOL
} rules_unit;

/* A parameter value in force on a date. Strings are owned by the set. */
typedef struct rules_param_value {
    const char *name;
    rules_unit unit;
    int64_t value;            /* cents (EUR, per-person EUR_SCALE), count, months, days,
                                 years, ratio parts per 10 000, or 0/1 */
    bool household;           /* EUR_SCALE only: true = first + others form */
    at_cents first, others;   /* EUR_SCALE: first person / each other person (per-person
                                 form: both equal to value) */
    at_period in_force;       /* from .. to (to = AT_DATE_NONE: open-ended) */
    const char *scope;        /* "national" or the tenant that overrode it */
    const char *source;       /* legal act and point, or document and section */
    const char *note;         /* the assumption made, or "" */
} rules_param_value;

/* Look up `name` for `tenant` on `on` (tenant scope first, then national). A derived value
 * (a ratio of another parameter) is computed. Errors: AT_UNKNOWN_TENANT (no such scope),
 * AT_NOT_FOUND ("no rule in force": the name is unknown, or no value is in force on the
 * date). */
at_code rules_param(const rules_set *s, const char *tenant, const char *name, at_date on,
                    rules_param_value *out, at_error *err);

/* ------------------------------------------------------------------------------------ */
/* Inputs. All plain structs owned by the caller; strings are borrowed for the call.     */

/* Member flags given by the caller (facts of the case on the decision date). */
enum {
    RULES_MF_PENSIONER            = 1u << 0,  /* receives an old-age pension */
    RULES_MF_LIVES_ALONE          = 1u << 1,  /* atsevišķi dzīvojoša persona */
    RULES_MF_LONELY               = 1u << 2,  /* vientuļa persona (no relatives to care) */
    RULES_MF_BEDRIDDEN            = 1u << 3,  /* guļoša persona */
    RULES_MF_REGISTERED_UNEMPLOYED= 1u << 4,  /* registered with the NVA */
    RULES_MF_ABLE_TO_WORK         = 1u << 5,  /* working age, able to work, not exempt */
    RULES_MF_EMPLOYED             = 1u << 6,
    RULES_MF_STUDENT              = 1u << 7,
    RULES_MF_LONG_TERM_CARE       = 1u << 8,  /* in a long-term social care institution */
    RULES_MF_PRISON               = 1u << 9,
    RULES_MF_MAINTENANCE_CONTRACT = 1u << 10, /* has concluded a maintenance contract */
    RULES_MF_HEALTH_INSURANCE     = 1u << 11, /* holds a health-insurance policy */
    RULES_MF_HOME_CARE            = 1u << 12, /* receives the home-care service */
    RULES_MF_OUT_OF_FAMILY_CARE   = 1u << 13, /* child in out-of-family care (orphan's court) */
    RULES_MF_FUNCTIONAL_IMPAIRMENT= 1u << 14,
    RULES_MF_CARE_LEAVER          = 1u << 15, /* was in out-of-family care until majority */
    RULES_MF_UNDER_GUARDIANSHIP   = 1u << 16, /* child in a guardian's family (court) */
    RULES_MF_TRUSTEE              = 1u << 17, /* court-appointed trustee of an adult ward */
    RULES_MF_REPRESSED            = 1u << 18, /* politically repressed / resistance */
    RULES_MF_NO_USABLE_BATH       = 1u << 19, /* private house, flat without bath, or bath
                                                 unusable for health reasons */
    RULES_MF_COOPERATION_FAILED   = 1u << 20, /* failed the co-operation duties */
    RULES_MF_COURT_APPOINTED_CARER= 1u << 21, /* child given into care by the orphan's court */
    /* Computed by rules_decide from the other inputs; setting them has no effect. */
    RULES_MF_CHILD                = 1u << 28, /* under 18 on the decision date */
    RULES_MF_PENSION_AGE          = 1u << 29, /* reached the state pension age (parameter) */
    RULES_MF_DISABLED             = 1u << 30  /* a disability (group 1-4) in force on the date */
};

typedef enum rules_relationship {
    RULES_REL_APPLICANT = 0, RULES_REL_SPOUSE, RULES_REL_CHILD, RULES_REL_PARENT,
    RULES_REL_OTHER_RELATIVE, RULES_REL_OTHER
} rules_relationship;

typedef enum rules_school {
    RULES_SCHOOL_NONE = 0, RULES_SCHOOL_PRESCHOOL, RULES_SCHOOL_GRADE_1, RULES_SCHOOL_OTHER
} rules_school;

typedef struct rules_member {
    const char *key;                /* pseudonymous person key, unique in the household */
    at_date birth;
    rules_relationship relationship;
    uint32_t flags;                 /* RULES_MF_* */
    int disability_group;           /* 0 = none, 1..3 = group I-III, 4 = a child with
                                       disability (children have no group) */
    at_period disability;           /* when the group is in force (to may be AT_DATE_NONE) */
    rules_school school;            /* pupil in the municipality's schools */
    at_date residence_since;        /* declared residence in the tenant since; AT_DATE_NONE
                                       = not declared there */
} rules_member;

typedef struct rules_income {
    const char *member;             /* member key */
    const char *type;               /* income type code of the rule set ("wage", "pension") */
    at_date month;                  /* any day of the month the income is for */
    at_cents amount;                /* >= 0 */
} rules_income;

typedef enum rules_property_use { RULES_PROPERTY_OWN_HOME = 1, RULES_PROPERTY_OTHER } rules_property_use;

typedef struct rules_property {
    const char *member;
    rules_property_use use;
    at_cents cadastral_value;
} rules_property;

typedef struct rules_vehicle {
    const char *member;
    bool needed_for_disability;     /* not counted as property */
} rules_vehicle;

/* One monthly housing expense by kind (the housing benefit of 2021 on). The kinds are
 * the rule set's (`expenses` of the HOUSING benefit): "rent", "heat", "hot_water",
 * "electricity", "water", "gas", "sewage", "waste", "telecom", "solid_fuel", ... */
typedef struct rules_expense {
    const char *kind;
    at_cents amount;                /* >= 0, per month */
} rules_expense;

typedef struct rules_household {
    const char *id;                 /* household key */
    const rules_member *members;   size_t n_members;
    const rules_income *incomes;   size_t n_incomes;
    const rules_property *properties; size_t n_properties;
    const rules_vehicle *vehicles; size_t n_vehicles;
    at_cents savings;               /* money savings and securities of the household */
    at_cents housing_expenses;      /* monthly housing expenses in total: the housing benefit
                                       takes them as eligible when they are not broken down
                                       by kind in `expenses` */
    /* Added for the 2021 reform; zero = not given (as before). */
    const rules_expense *expenses; size_t n_expenses;   /* housing expenses by kind */
} rules_household;

typedef enum rules_ask {
    RULES_ASK_NEEDY_STATUS = 1,     /* trūcīgas ģimenes (personas) statuss */
    RULES_ASK_LOW_INCOME_STATUS,    /* maznodrošinātas ģimenes (personas) statuss */
    RULES_ASK_GMI,                  /* GMI benefit: benefit code "GMI" */
    RULES_ASK_HOUSING,              /* housing benefit: benefit code "HOUSING" */
    RULES_ASK_BENEFIT               /* a catalogue benefit named by `benefit` */
} rules_ask;

/* Application flags: facts stated with the application. */
enum {
    RULES_AF_SPECIALIST_OPINION     = 1u << 0, /* a social work specialist's opinion */
    RULES_AF_NO_STATE_FUNERAL       = 1u << 1, /* not entitled to the state funeral benefit */
    RULES_AF_FOOD_CRISIS            = 1u << 2, /* no money for food */
    RULES_AF_BOTH_PARENTS_DECLARED  = 1u << 3, /* both parents declared in the municipality */
    RULES_AF_ORTHODONTIC            = 1u << 4, /* a child needs orthodontic treatment */
    RULES_AF_PRISON_CERTIFICATE     = 1u << 5, /* release certificate presented */
    RULES_AF_NO_CHANGE              = 1u << 6, /* no change in composition or situation
                                                  since the start of the status period */
    RULES_AF_CATASTROPHE            = 1u << 7  /* catastrophe or circumstances beyond control */
};

typedef enum rules_heating { RULES_HEATING_NONE = 0, RULES_HEATING_DISTRICT, RULES_HEATING_INDIVIDUAL } rules_heating;

typedef struct rules_application {
    const char *tenant;             /* municipality id ("daugavpils") */
    at_date submitted;              /* application date; AT_DATE_NONE = the decision date */
    at_date decision;               /* the decision date (never "today") */
    rules_ask ask;
    const char *benefit;            /* catalogue code when ask == RULES_ASK_BENEFIT */
    const char *applicant;          /* member key */
    const char *subject;            /* member the benefit is for (NULL = the applicant):
                                       the person needing a prosthesis, the deceased, the child */
    uint32_t flags;                 /* RULES_AF_* */
    rules_heating heating;
    bool has_bill;                  /* an expense document */
    at_cents bill;                  /* its amount */
    at_date bill_date;              /* its issue date */
    int64_t units;                  /* days / visits asked for */
    at_cents unit_cost;             /* cost of one day / visit (for 100% benefits) */
    int64_t count;                  /* children born, etc.; 0 = 1 */
    at_date event;                  /* birth, death, release date; AT_DATE_NONE if none */
} rules_application;

typedef enum rules_status {
    RULES_STATUS_NONE = 0, RULES_STATUS_NEEDY, RULES_STATUS_LOW_INCOME
} rules_status;

/* History facts the log supplies. */
typedef struct rules_grant {
    const char *benefit;            /* catalogue code */
    at_date date;                   /* decision date of the grant */
    const char *member;             /* the subject of the grant, NULL = household */
    at_cents amount;
    int64_t units;                  /* days / visits / items granted */
    at_date event;                  /* the event it was for, AT_DATE_NONE if none */
    bool receipts_pending;          /* receipts for this payout not yet submitted */
} rules_grant;

typedef struct rules_status_record {
    rules_status status;
    at_period period;
} rules_status_record;

typedef struct rules_membership {   /* the member belongs to household `household` */
    const char *member;
    const char *household;
    at_period period;
} rules_membership;

typedef struct rules_history {
    const rules_grant *grants;            size_t n_grants;
    const rules_status_record *statuses;  size_t n_statuses;  /* this household's */
    const rules_membership *memberships;  size_t n_memberships;
} rules_history;

/* ------------------------------------------------------------------------------------ */
/* Outputs                                                                               */

typedef enum rules_outcome { RULES_GRANTED = 1, RULES_REFUSED } rules_outcome;
typedef enum rules_per { RULES_PER_NONE = 0, RULES_PER_ONCE, RULES_PER_MONTH, RULES_PER_YEAR } rules_per;
typedef enum rules_payment {
    RULES_PAY_NONE = 0, RULES_PAY_CASH, RULES_PAY_ACCOUNT, RULES_PAY_CASH_OR_ACCOUNT,
    RULES_PAY_IN_KIND, RULES_PAY_PROVIDER
} rules_payment;

typedef struct rules_reason {
    const char *code;               /* stable machine code: "income_above_threshold" */
    const char *text_lv;
    const char *text_en;
} rules_reason;

typedef struct rules_param_read {
    const char *name;
    const char *value;              /* formatted: "128.06", "0.8000", "3", "53.00 + 53.00 x (n-1)" */
    at_date from;
    at_date to;
    const char *scope;
    const char *source;
    const char *note;               /* assumption, or "" */
} rules_param_read;

typedef enum rules_step_result { RULES_STEP_INFO = 0, RULES_STEP_PASS, RULES_STEP_FAIL } rules_step_result;

typedef struct rules_step {
    const char *label_lv;
    const char *label_en;
    const char *values;             /* the values used, in words and numbers */
    const char *result;             /* what the step found */
    rules_step_result outcome;
    const rules_param_read *reads;  /* parameters read by this step */
    size_t n_reads;
} rules_step;

typedef struct rules_decision {
    rules_ask ask;
    const char *benefit;            /* benefit code, or "" for a status */
    const char *component;          /* for a composite (HOUSING): the component granted */
    const char *tenant;
    const char *version;            /* rule-set version id */
    rules_outcome outcome;
    rules_status status;            /* the status granted (status asks) */
    at_period period;               /* validity / benefit period (from = AT_DATE_NONE if none) */
    bool has_amount;                /* false for in-kind grants and statuses */
    at_cents amount;                /* per `per` */
    rules_per per;
    int64_t units;                  /* days / visits / items granted, 0 if not applicable */
    const char *unit_name;          /* "day", "visit", "gift", "" */
    rules_payment payment;
    const char *ekk;                /* budget classification code, "" when not given */
    const rules_reason *reasons;    /* every failed condition (also on a shortened grant) */
    size_t n_reasons;
    /* Added for the 2021 reform: the household type, when a rule depended on it
       (RULES_HT_NONE otherwise). */
    int household_type;             /* rules_household_type */
} rules_decision;

typedef struct rules_result rules_result;

/* Household types of the 2021 reform (Cabinet Regulation No. 809; Social Services and
 * Social Assistance Law art. 33 and 35): the housing-benefit coefficient and a
 * municipality's low-income threshold may differ by type. A member "counts as a pensioner
 * or disabled" when RULES_MF_PENSION_AGE, RULES_MF_PENSIONER or RULES_MF_DISABLED is set. */
typedef enum rules_household_type {
    RULES_HT_NONE = 0,                            /* not classified */
    RULES_HT_SINGLE_PENSIONER_OR_DISABLED,        /* one member, a pensioner or disabled */
    RULES_HT_PENSIONERS_OR_DISABLED_ONLY,         /* two or more, every member one */
    RULES_HT_PENSIONERS_OR_DISABLED_WITH_CHILDREN,/* every adult one, and minor children */
    RULES_HT_OTHER                                /* a working-age adult who is neither */
} rules_household_type;

/* Classify a household from its members' flags (with the computed CHILD, PENSION_AGE and
 * DISABLED bits already set). Pure: no rule set, no date. n == 0 gives RULES_HT_NONE. */
rules_household_type rules_household_classify(const uint32_t *flags, size_t n);
/* "single_pensioner_or_disabled", "pensioners_or_disabled_only",
 * "pensioners_or_disabled_with_children", "other"; "none" for RULES_HT_NONE; NULL when
 * unknown. These are also the suffixes of a parameter's household-type variants. */
const char *rules_household_type_name(int t);

/* Decide `a` for household `h` with the history facts `hist` (NULL = none) under `s`.
 * On AT_OK *out is a new result (free with rules_result_free); otherwise *out is NULL and
 * err says why: AT_VALIDATION (negative income, income month outside the three-month
 * window, unknown income type or member, duplicate member, missing input the benefit needs),
 * AT_CONFLICT (a member belongs to another household on the decision date),
 * AT_NOT_FOUND (unknown benefit code; "no rule in force" for a parameter or benefit on the
 * date; no rule set in force for the tenant on the date), AT_UNKNOWN_TENANT (no rule set
 * at all for the tenant), AT_INTERNAL (out of memory, arithmetic overflow). */
at_code rules_decide(const rules_set *s, const rules_household *h, const rules_application *a,
                     const rules_history *hist, rules_result **out, at_error *err);

const rules_decision *rules_result_decision(const rules_result *r);
size_t rules_result_n_steps(const rules_result *r);
const rules_step *rules_result_step(const rules_result *r, size_t i);

typedef enum rules_lang { RULES_LANG_LV = 1, RULES_LANG_EN, RULES_LANG_BOTH } rules_lang;
/* Render the decision and its explanation as text into buf (like snprintf: returns the
 * length the full text needs; writes at most n bytes, always NUL-terminated if n > 0). */
size_t rules_result_format(const rules_result *r, rules_lang lang, char *buf, size_t n);
/* NULL is a no-op. */
void rules_result_free(rules_result *r);

/* Names used in rule files and test cases, for the enums above. Return NULL / -1 when
 * unknown. */
const char *rules_status_name(rules_status st);          /* "needy", "low_income", "none" */
const char *rules_payment_name(rules_payment p);         /* "cash", "account", ... */
const char *rules_per_name(rules_per p);                 /* "once", "month", "year" */
int rules_member_flag(const char *name);                 /* "lonely" -> RULES_MF_LONELY */
int rules_app_flag(const char *name);                    /* "specialist_opinion" -> ... */

#endif
