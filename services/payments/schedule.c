/*
 * schedule.c -- the slots a grant's terms are paid in (pay_core.h).
 *
 * Invariant: the slots of one terms value never share a first day, so a slot's first day
 * is its key in payments.orders (slot_from) and reconciliation compares slot with slot.
 */
#include "pay_core.h"

static at_date max_date(at_date a, at_date b)
{
    return a > b ? a : b;
}

static at_code add(pay_slot *out, size_t max, size_t *n, at_date from, at_date to, at_date due, at_cents amount,
                   at_error *err)
{
    if (*n >= max) {
        at_error_set(err, AT_VALIDATION, "period", "the period has more than %zu payment slots", max);
        at_error_detail(err, "A grant is paid in at most %d slots (ten years of months).", PAY_MAX_SLOTS);
        return AT_VALIDATION;
    }
    out[*n] = (pay_slot){.from = from, .to = to, .due = due, .amount = amount};
    (*n)++;
    return AT_OK;
}

static at_code months(const pay_terms *t, pay_slot *out, size_t max, size_t *n, at_error *err)
{
    for (at_date m = at_month_first(t->from); m <= t->to; m = at_date_add_months(m, 1)) {
        at_date last = at_month_last(m);
        at_date from = max_date(m, t->from);
        at_date to = last < t->to ? last : t->to;
        int64_t days = to - from + 1, month_days = last - m + 1;
        at_cents amount = t->amount;
        if (days != month_days && !at_cents_muldiv(t->amount, days, month_days, AT_ROUND_HALF_UP, &amount))
            return at_error_set(err, AT_VALIDATION, "amount_cents", "the amount is too large");
        if (amount <= 0)
            continue;   /* a cent pro-rated to nothing is not an order */
        at_code c = add(out, max, n, from, to, max_date(from, t->decided_on), amount, err);
        if (c != AT_OK)
            return c;
    }
    return AT_OK;
}

static at_code years(const pay_terms *t, pay_slot *out, size_t max, size_t *n, at_error *err)
{
    for (at_date y = t->from; y <= t->to; y = at_date_add_months(y, 12)) {
        at_date end = at_date_add_months(y, 12) - 1;
        at_date to = end < t->to ? end : t->to;
        at_code c = add(out, max, n, y, to, max_date(y, t->decided_on), t->amount, err);
        if (c != AT_OK)
            return c;
    }
    return AT_OK;
}

at_code pay_slots(const pay_terms *t, pay_slot *out, size_t max, size_t *n, at_error *err)
{
    *n = 0;
    if (t->amount < 0)
        return at_error_set(err, AT_VALIDATION, "amount_cents", "the amount is negative");
    if (t->amount == 0)
        return AT_OK;
    if (t->from == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "period_from", "the benefit period has no first day");
    if (t->to != AT_DATE_NONE && t->to < t->from)
        return at_error_set(err, AT_VALIDATION, "period_to", "the benefit period ends before it begins");
    if (max > PAY_MAX_SLOTS)
        max = PAY_MAX_SLOTS;
    switch (t->per) {
    case PAY_PER_ONCE: {
        at_date to = t->to == AT_DATE_NONE ? t->from : t->to;
        return add(out, max, n, t->from, to, max_date(t->from, t->decided_on), t->amount, err);
    }
    case PAY_PER_MONTH:
    case PAY_PER_YEAR:
        if (t->to == AT_DATE_NONE) {
            at_error_set(err, AT_VALIDATION, "period_to", "a periodic benefit without an end cannot be scheduled");
            at_error_detail(err, "Monthly and yearly amounts are paid for the decision's period; this one is "
                                 "open-ended.");
            at_error_hint(err, "Correct the decision with a period end (OverrideDecision).");
            return AT_VALIDATION;
        }
        return t->per == PAY_PER_MONTH ? months(t, out, max, n, err) : years(t, out, max, n, err);
    default:
        return at_error_set(err, AT_VALIDATION, "per", "the amount is not per once, month or year");
    }
}
