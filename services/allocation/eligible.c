/*
 * eligible.c -- the eligibility rule, the priority rule and the care level: pure
 * functions of the catalogue and the request, no I/O (docs/allocation.md).
 *
 * Eligibility is checked in a fixed order (age, care level, disability group, status,
 * residence, target group, weekly limit) and the first failure is the reason given, so the
 * same request is always refused for the same reason.
 */
#include "allocation.h"

#include <stdio.h>
#include <string.h>

static const char *status_name(int s)
{
    if (s == ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY)
        return "needy";
    return s == ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME ? "low-income" : "none";
}

at_code al_eligible(const al_service *s, const al_person *p, at_date on, at_error *err)
{
    int age = at_age_on(p->birth_date, on);
    if (age < s->age_min || (s->age_max >= 0 && age > s->age_max)) {
        at_error_set(err, AT_VALIDATION, "birth_date", "not eligible: age %d is outside %d..%d", age, s->age_min,
                     s->age_max >= 0 ? s->age_max : 130);
        at_error_detail(err, "The service %s is for persons aged %d to %d on the start date.", s->code, s->age_min,
                        s->age_max >= 0 ? s->age_max : 130);
        return AT_VALIDATION;
    }
    if (s->care_level_min > 0 && p->care_level < s->care_level_min) {
        if (p->care_level == 0) {
            at_error_set(err, AT_VALIDATION, "care_level", "not eligible: no needs assessment");
            at_error_detail(err, "The service %s needs care level %d or higher; the person has no assessment.",
                            s->code, s->care_level_min);
            at_error_hint(err, "Record the assessment of functional abilities first (RecordAssessment).");
        } else {
            at_error_set(err, AT_VALIDATION, "care_level", "not eligible: care level %d is below %d", p->care_level,
                         s->care_level_min);
            at_error_detail(err, "The service %s needs care level %d or higher; the latest assessment gives %d.",
                            s->code, s->care_level_min, p->care_level);
        }
        return AT_VALIDATION;
    }
    if (s->n_groups > 0) {
        bool ok = false;
        for (int i = 0; i < s->n_groups && !ok; i++)
            ok = p->disability_group == s->disability_groups[i];
        if (!ok) {
            at_error_set(err, AT_VALIDATION, "disability_group", "not eligible: disability group %d",
                         p->disability_group);
            char list[32] = "";
            for (int i = 0; i < s->n_groups; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? ", " : "",
                         s->disability_groups[i]);
            at_error_detail(err, "The service %s is for disability groups %s; the person's group is %d.", s->code,
                            list, p->disability_group);
            return AT_VALIDATION;
        }
    }
    if ((s->needy_only && p->status != ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY) ||
        (s->low_income_ok && p->status == ATB__V1__NEED_STATUS__NEED_STATUS_NONE)) {
        at_error_set(err, AT_VALIDATION, "status", "not eligible: status %s", status_name(p->status));
        at_error_detail(err, "The service %s is for %s persons.", s->code,
                        s->needy_only ? "needy" : "needy or low-income");
        return AT_VALIDATION;
    }
    if (s->residents_only && !p->resident) {
        at_error_set(err, AT_VALIDATION, "resident", "not eligible: not a resident");
        at_error_detail(err, "The service %s is for persons whose declared residence is in the municipality.",
                        s->code);
        return AT_VALIDATION;
    }
    if (s->n_targets > 0) {
        bool ok = false;
        for (int i = 0; i < s->n_targets && !ok; i++)
            for (size_t k = 0; k < p->n_targets && !ok; k++)
                ok = strcmp(s->targets[i], p->targets[k]) == 0;
        if (!ok) {
            at_error_set(err, AT_VALIDATION, "target_groups", "not eligible: not in a target group");
            char list[160] = "";
            for (int i = 0; i < s->n_targets; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", s->targets[i]);
            at_error_detail(err, "The service %s is for the target groups %s.", s->code, list);
            return AT_VALIDATION;
        }
    }
    if (s->unit == AL_UNIT_HOUR || s->unit == AL_UNIT_TRIP) {
        for (int i = 0; i < s->n_limits; i++) {
            const al_limit *l = &s->limits[i];
            if (age < l->age_min || (l->age_max >= 0 && age > l->age_max))
                continue;
            if (p->load > l->per_week) {
                at_error_set(err, AT_VALIDATION, "hours_per_week", "over the weekly limit: %d > %d", p->load,
                             l->per_week);
                at_error_detail(err, "The service %s gives at most %d %ss a week to a person aged %d.", s->code,
                                l->per_week, al_unit_name(s->unit), age);
                return AT_VALIDATION;
            }
        }
    }
    return AT_OK;
}

int al_priority(int urgency, at_date on)
{
    if (urgency == ATB__V1__URGENCY__URGENCY_CRISIS || urgency == ATB__V1__URGENCY__URGENCY_VIOLENCE)
        return 1;
    if (urgency == ATB__V1__URGENCY__URGENCY_HOMELESS) {
        int y, m, d;
        at_date_to_ymd(on, &y, &m, &d);
        if (m >= 11 || m <= 3)
            return 2;
    }
    return 3;
}

int al_care_level(const int32_t *scores, size_t n, int *total)
{
    int t = 0;
    for (size_t i = 0; i < n; i++)
        t += scores[i];
    *total = t;
    /* Points of dependence over the ten domains (0..40): docs/allocation.md, "Care level". */
    if (t >= 30)
        return 4;
    if (t >= 20)
        return 3;
    if (t >= 10)
        return 2;
    return 1;
}
