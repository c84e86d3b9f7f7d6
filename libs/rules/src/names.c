/*
 * names.c -- the words rule files and test cases use for the enums and flags of rules.h.
 *
 * One table per enum, so a name and its value cannot drift apart. When adding a flag to
 * rules.h, add its row here and describe it in docs/rules.md.
 */
#include <string.h>
#include "rules_int.h"

typedef struct named {
    const char *name;
    uint32_t bit;
} named;

static const named mflags[] = {
    {"pensioner", RULES_MF_PENSIONER},
    {"lives_alone", RULES_MF_LIVES_ALONE},
    {"lonely", RULES_MF_LONELY},
    {"bedridden", RULES_MF_BEDRIDDEN},
    {"registered_unemployed", RULES_MF_REGISTERED_UNEMPLOYED},
    {"able_to_work", RULES_MF_ABLE_TO_WORK},
    {"employed", RULES_MF_EMPLOYED},
    {"student", RULES_MF_STUDENT},
    {"long_term_care", RULES_MF_LONG_TERM_CARE},
    {"prison", RULES_MF_PRISON},
    {"maintenance_contract", RULES_MF_MAINTENANCE_CONTRACT},
    {"health_insurance", RULES_MF_HEALTH_INSURANCE},
    {"home_care", RULES_MF_HOME_CARE},
    {"out_of_family_care", RULES_MF_OUT_OF_FAMILY_CARE},
    {"functional_impairment", RULES_MF_FUNCTIONAL_IMPAIRMENT},
    {"care_leaver", RULES_MF_CARE_LEAVER},
    {"under_guardianship", RULES_MF_UNDER_GUARDIANSHIP},
    {"trustee", RULES_MF_TRUSTEE},
    {"repressed", RULES_MF_REPRESSED},
    {"no_usable_bath", RULES_MF_NO_USABLE_BATH},
    {"cooperation_failed", RULES_MF_COOPERATION_FAILED},
    {"court_appointed_carer", RULES_MF_COURT_APPOINTED_CARER},
    {"child", RULES_MF_CHILD},
    {"pension_age", RULES_MF_PENSION_AGE},
    {"disabled", RULES_MF_DISABLED},
    {NULL, 0}
};

static const named aflags[] = {
    {"specialist_opinion", RULES_AF_SPECIALIST_OPINION},
    {"no_state_funeral_benefit", RULES_AF_NO_STATE_FUNERAL},
    {"food_crisis", RULES_AF_FOOD_CRISIS},
    {"both_parents_declared", RULES_AF_BOTH_PARENTS_DECLARED},
    {"orthodontic", RULES_AF_ORTHODONTIC},
    {"prison_certificate", RULES_AF_PRISON_CERTIFICATE},
    {"no_change", RULES_AF_NO_CHANGE},
    {"catastrophe", RULES_AF_CATASTROPHE},
    {NULL, 0}
};

static int find(const named *t, const char *s)
{
    if (!s)
        return -1;
    for (; t->name; t++)
        if (strcmp(t->name, s) == 0)
            return (int)t->bit;
    return -1;
}

static const char *name_of(const named *t, uint32_t bit)
{
    for (; t->name; t++)
        if (t->bit == bit)
            return t->name;
    return "?";
}

int rules_member_flag(const char *name) { return find(mflags, name); }
int rules_app_flag(const char *name) { return find(aflags, name); }
const char *rules__mflag_name(uint32_t bit) { return name_of(mflags, bit); }
const char *rules__aflag_name(uint32_t bit) { return name_of(aflags, bit); }

const char *rules_status_name(rules_status st)
{
    switch (st) {
    case RULES_STATUS_NEEDY: return "needy";
    case RULES_STATUS_LOW_INCOME: return "low_income";
    default: return "none";
    }
}

int rules__status_from_name(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "needy") == 0)
        return RULES_STATUS_NEEDY;
    if (strcmp(s, "low_income") == 0)
        return RULES_STATUS_LOW_INCOME;
    return -1;
}

static const char *const payment_names[] = {"none", "cash", "account", "cash_or_account", "in_kind", "provider"};

const char *rules_payment_name(rules_payment p)
{
    return (unsigned)p < sizeof payment_names / sizeof *payment_names ? payment_names[p] : "?";
}

int rules__payment_from_name(const char *s)
{
    for (unsigned i = 0; s && i < sizeof payment_names / sizeof *payment_names; i++)
        if (strcmp(payment_names[i], s) == 0)
            return (int)i;
    return -1;
}

const char *rules_per_name(rules_per p)
{
    switch (p) {
    case RULES_PER_ONCE: return "once";
    case RULES_PER_MONTH: return "month";
    case RULES_PER_YEAR: return "year";
    default: return "none";
    }
}
