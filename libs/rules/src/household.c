/*
 * household.c -- the household types of the 2021 reform, a pure function of the members'
 * flags. The housing-benefit coefficient (Social Services and Social Assistance Law art. 35)
 * and a municipality's low-income threshold (art. 33) may differ by type; a rule set
 * gives such a value as a variant of a parameter named NAME.<type name> (docs/rules.md).
 */
#include <stddef.h>
#include "rules_int.h"

static const char *const type_names[] = {
    "none", "single_pensioner_or_disabled", "pensioners_or_disabled_only",
    "pensioners_or_disabled_with_children", "other",
};

const char *rules_household_type_name(int t)
{
    if (t < RULES_HT_NONE || t > RULES_HT_OTHER)
        return NULL;
    return type_names[t];
}

rules_household_type rules_household_classify(const uint32_t *flags, size_t n)
{
    const uint32_t counts = RULES_MF_PENSION_AGE | RULES_MF_PENSIONER | RULES_MF_DISABLED;
    if (!flags || n == 0)
        return RULES_HT_NONE;
    size_t adults = 0, qualifying_adults = 0, other_children = 0;
    for (size_t i = 0; i < n; i++) {
        bool child = flags[i] & RULES_MF_CHILD, q = flags[i] & counts;
        if (!child) {
            adults++;
            qualifying_adults += q;
        } else if (!q) {
            other_children++;   /* a child with disability counts as a disabled person */
        }
    }
    if (adults == 0 || qualifying_adults < adults)
        return RULES_HT_OTHER;
    if (other_children > 0)
        return RULES_HT_PENSIONERS_OR_DISABLED_WITH_CHILDREN;
    return n == 1 ? RULES_HT_SINGLE_PENSIONER_OR_DISABLED : RULES_HT_PENSIONERS_OR_DISABLED_ONLY;
}
