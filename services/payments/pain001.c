/*
 * pain001.c -- ISO 20022 customer credit transfer initiation, pain.001.001.03 (pay_core.h):
 * the file a municipality uploads to its bank, and a structural check of such a file.
 *
 * One group header, one payment information block (SEPA, batch booking, charges SLEV),
 * one CdtTrfTxInf per order. Identifiers are derived, never invented: MsgId is "ATB" and
 * the batch id's 32 hex digits, PmtInfId the same, EndToEndId the order id's 32 hex
 * digits. A bank that has seen a MsgId refuses the file again, and the EndToEndId comes
 * back in the bank's status report, which is how a confirmation finds its order.
 * Amounts are written from cents with two decimals; the control sums are computed from
 * the same integers, so they cannot disagree with the transactions.
 */
#include "pay_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "at_iban.h"

#define PAIN_NS "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"

/* The 32 hex digits of a UUID, upper case, into out[33]. */
static void hex_id(const char *uuid, char *out)
{
    size_t k = 0;
    for (const char *p = uuid; p && *p && k < 32; p++)
        if (*p != '-')
            out[k++] = (char)(*p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
    out[k] = '\0';
}

/* XML-escaped text, cut at max bytes of the source (never inside a UTF-8 character). */
static bool put_text(at_buf *b, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        switch (s[i]) {
        case '&': ok = at_buf_puts(b, "&amp;"); break;
        case '<': ok = at_buf_puts(b, "&lt;"); break;
        case '>': ok = at_buf_puts(b, "&gt;"); break;
        case '"': ok = at_buf_puts(b, "&quot;"); break;
        case '\'': ok = at_buf_puts(b, "&apos;"); break;
        case '\n': case '\t': case '\r': ok = at_buf_puts(b, " "); break;
        default: ok = at_buf_append(b, s + i, 1);
        }
    }
    return ok;
}

static bool put_elem(at_buf *b, const char *name, const char *text, size_t max)
{
    return at_buf_printf(b, "<%s>", name) && put_text(b, text, max) && at_buf_printf(b, "</%s>", name);
}

static bool put_agent(at_buf *b, const char *tag, const char *bic)
{
    if (bic && *bic)
        return at_buf_printf(b, "<%s><FinInstnId>", tag) && put_elem(b, "BIC", bic, 11) &&
               at_buf_printf(b, "</FinInstnId></%s>", tag);
    return at_buf_printf(b, "<%s><FinInstnId><Othr><Id>NOTPROVIDED</Id></Othr></FinInstnId></%s>", tag, tag);
}

at_code pay_pain001_render(const pay_batch_file *f, at_buf *out, at_error *err)
{
    if (f->n_xfers == 0)
        return at_error_set(err, AT_VALIDATION, "orders", "a batch without orders cannot be exported");
    if (!f->debtor_iban || !*f->debtor_iban) {
        at_error_set(err, AT_VALIDATION, "debtor", "the municipality has no debtor account");
        at_error_hint(err, "Set it with SetPayeeAccount, kind PAYEE_KIND_DEBTOR.");
        return AT_VALIDATION;
    }
    at_cents sum = 0;
    for (size_t i = 0; i < f->n_xfers; i++) {
        const pay_xfer *x = &f->xfers[i];
        if (x->amount <= 0)
            return at_error_set(err, AT_VALIDATION, "amount_cents", "order %s has an amount of 0 or less",
                                x->end_to_end_id);
        if (!x->creditor_iban || !*x->creditor_iban)
            return at_error_set(err, AT_VALIDATION, "iban", "order %s has no creditor account", x->end_to_end_id);
        if (!at_cents_add(sum, x->amount, &sum))
            return at_error_set(err, AT_VALIDATION, "amount_cents", "the batch's sum overflows");
    }
    char msg_id[40], total[24], amount[24], exec[11], e2e[33];
    hex_id(f->batch_id, msg_id + 3);
    memcpy(msg_id, "ATB", 3);
    at_cents_format(sum, total, sizeof total);
    at_date_format(f->execution_date, exec, sizeof exec);
    bool ok = at_buf_printf(out,
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<Document xmlns=\"" PAIN_NS "\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
                            "<CstmrCdtTrfInitn>\n<GrpHdr><MsgId>%s</MsgId><CreDtTm>%s</CreDtTm>"
                            "<NbOfTxs>%zu</NbOfTxs><CtrlSum>%s</CtrlSum><InitgPty>",
                            msg_id, f->created_at, f->n_xfers, total) &&
              put_elem(out, "Nm", f->debtor_name, 140) &&
              at_buf_printf(out,
                            "</InitgPty></GrpHdr>\n<PmtInf><PmtInfId>%s</PmtInfId><PmtMtd>TRF</PmtMtd>"
                            "<BtchBookg>true</BtchBookg><NbOfTxs>%zu</NbOfTxs><CtrlSum>%s</CtrlSum>"
                            "<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf><ReqdExctnDt>%s</ReqdExctnDt><Dbtr>",
                            msg_id, f->n_xfers, total, exec) &&
              put_elem(out, "Nm", f->debtor_name, 140) && at_buf_puts(out, "</Dbtr><DbtrAcct><Id>") &&
              put_elem(out, "IBAN", f->debtor_iban, 34) && at_buf_puts(out, "</Id><Ccy>EUR</Ccy></DbtrAcct>") &&
              put_agent(out, "DbtrAgt", f->debtor_bic) && at_buf_puts(out, "<ChrgBr>SLEV</ChrgBr>\n");
    for (size_t i = 0; ok && i < f->n_xfers; i++) {
        const pay_xfer *x = &f->xfers[i];
        hex_id(x->end_to_end_id, e2e);
        at_cents_format(x->amount, amount, sizeof amount);
        ok = at_buf_printf(out,
                           "<CdtTrfTxInf><PmtId><InstrId>%s</InstrId><EndToEndId>%s</EndToEndId></PmtId>"
                           "<Amt><InstdAmt Ccy=\"EUR\">%s</InstdAmt></Amt>",
                           e2e, e2e, amount) &&
             (!x->creditor_bic || !*x->creditor_bic || put_agent(out, "CdtrAgt", x->creditor_bic)) &&
             at_buf_puts(out, "<Cdtr>") && put_elem(out, "Nm", x->creditor_name, 140) &&
             at_buf_puts(out, "</Cdtr><CdtrAcct><Id>") && put_elem(out, "IBAN", x->creditor_iban, 34) &&
             at_buf_puts(out, "</Id></CdtrAcct>") &&
             (!x->remittance || !*x->remittance ||
              (at_buf_puts(out, "<RmtInf>") && put_elem(out, "Ustrd", x->remittance, 140) &&
               at_buf_puts(out, "</RmtInf>"))) &&
             at_buf_puts(out, "</CdtTrfTxInf>\n");
    }
    ok = ok && at_buf_puts(out, "</PmtInf>\n</CstmrCdtTrfInitn>\n</Document>\n");
    if (!ok)
        return at_error_set(err, AT_INTERNAL, NULL, "could not render the batch file: out of memory");
    return AT_OK;
}

/* ---- the check ---- */

typedef struct reader {
    xmlDocPtr doc;
    xmlXPathContextPtr ctx;
} reader;

static xmlXPathObjectPtr eval(reader *r, xmlNodePtr at, const char *path)
{
    r->ctx->node = at;
    return xmlXPathEvalExpression((const xmlChar *)path, r->ctx);
}

/* The text of the first node of path under `at`, malloc'd, or NULL when absent/empty. */
static char *text_of(reader *r, xmlNodePtr at, const char *path)
{
    xmlXPathObjectPtr o = eval(r, at, path);
    char *s = NULL;
    if (o && o->nodesetval && o->nodesetval->nodeNr > 0) {
        xmlChar *c = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
        if (c && *c)
            s = strdup((const char *)c);
        xmlFree(c);
    }
    xmlXPathFreeObject(o);
    return s;
}

/* A decimal with at most two fraction digits into cents. */
static bool cents_of(const char *s, at_cents *out)
{
    return s && at_cents_parse(s, "amount", out, NULL) == AT_OK && strchr(s, ',') == NULL;
}

static at_code missing(at_error *err, const char *path)
{
    at_error_set(err, AT_VALIDATION, path, "%s is missing", path);
    at_error_detail(err, "A pain.001.001.03 credit transfer needs it; the bank refuses the file without it.");
    return AT_VALIDATION;
}

static at_code check_total(at_error *err, const char *where, const char *nb, const char *ctrl, int64_t count,
                           at_cents sum)
{
    at_cents c;
    char want[24];
    if (!nb || strtoll(nb, NULL, 10) != count || strspn(nb, "0123456789") != strlen(nb)) {
        at_error_set(err, AT_VALIDATION, where, "%s/NbOfTxs does not match the transactions", where);
        at_error_detail(err, "It says %s; the file has %lld transactions.", nb ? nb : "nothing", (long long)count);
        return AT_VALIDATION;
    }
    if (!ctrl || !cents_of(ctrl, &c) || c != sum) {
        at_cents_format(sum, want, sizeof want);
        at_error_set(err, AT_VALIDATION, where, "%s/CtrlSum does not match the transactions", where);
        at_error_detail(err, "It says %s; the transactions add up to %s.", ctrl ? ctrl : "nothing", want);
        return AT_VALIDATION;
    }
    return AT_OK;
}

static at_code check_tx(reader *r, xmlNodePtr tx, size_t i, at_cents *amount, at_error *err)
{
    static const char *const need[] = {"p:PmtId/p:EndToEndId", "p:Amt/p:InstdAmt", "p:Cdtr/p:Nm",
                                       "p:CdtrAcct/p:Id/p:IBAN"};
    char *v[4];
    at_code c = AT_OK;
    for (int k = 0; k < 4; k++)
        v[k] = text_of(r, tx, need[k]);
    char where[96];
    for (int k = 0; k < 4 && c == AT_OK; k++)
        if (!v[k]) {
            snprintf(where, sizeof where, "CdtTrfTxInf[%zu]/%s", i + 1, need[k]);
            for (char *p = where, *q = where; ; p++) {   /* drop the "p:" prefixes */
                if (p[0] == 'p' && p[1] == ':')
                    p += 2;
                if (!(*q++ = *p))
                    break;
            }
            c = missing(err, where);
        }
    if (c == AT_OK && (!cents_of(v[1], amount) || *amount <= 0)) {
        at_error_set(err, AT_VALIDATION, "InstdAmt", "transaction %zu has no positive amount", i + 1);
        at_error_detail(err, "InstdAmt is \"%s\".", v[1]);
        c = AT_VALIDATION;
    }
    if (c == AT_OK && at_iban_validate(v[3], "CdtrAcct/Id/IBAN", NULL, err) != AT_OK)
        c = AT_VALIDATION;
    for (int k = 0; k < 4; k++)
        free(v[k]);
    return c;
}

static at_code check_doc(reader *r, int64_t *count_out, at_cents *sum_out, at_error *err)
{
    xmlNodePtr root = xmlDocGetRootElement(r->doc);
    if (!root || strcmp((const char *)root->name, "Document") != 0 || !root->ns ||
        strcmp((const char *)root->ns->href, PAIN_NS) != 0)
        return at_error_set(err, AT_VALIDATION, "Document", "the file is not a pain.001.001.03 document");
    char *msg = text_of(r, root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId");
    char *nb = text_of(r, root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs");
    char *ctrl = text_of(r, root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum");
    at_code c = msg ? AT_OK : missing(err, "GrpHdr/MsgId");
    int64_t count = 0;
    at_cents sum = 0;
    xmlXPathObjectPtr pis = c == AT_OK ? eval(r, root, "p:CstmrCdtTrfInitn/p:PmtInf") : NULL;
    if (c == AT_OK && (!pis || !pis->nodesetval || pis->nodesetval->nodeNr == 0))
        c = missing(err, "PmtInf");
    for (int p = 0; c == AT_OK && p < pis->nodesetval->nodeNr; p++) {
        xmlNodePtr pi = pis->nodesetval->nodeTab[p];
        char *dacct = text_of(r, pi, "p:DbtrAcct/p:Id/p:IBAN");
        if (!dacct)
            c = missing(err, "PmtInf/DbtrAcct/Id/IBAN");
        free(dacct);
        xmlXPathObjectPtr txs = c == AT_OK ? eval(r, pi, "p:CdtTrfTxInf") : NULL;
        int n = txs && txs->nodesetval ? txs->nodesetval->nodeNr : 0;
        if (c == AT_OK && n == 0)
            c = missing(err, "PmtInf/CdtTrfTxInf");
        at_cents pi_sum = 0;
        for (int i = 0; c == AT_OK && i < n; i++) {
            at_cents a = 0;
            c = check_tx(r, txs->nodesetval->nodeTab[i], (size_t)(count + i), &a, err);
            if (c == AT_OK && !at_cents_add(pi_sum, a, &pi_sum))
                c = at_error_set(err, AT_VALIDATION, "CtrlSum", "the amounts overflow");
        }
        xmlXPathFreeObject(txs);
        if (c == AT_OK) {
            char *pnb = text_of(r, pi, "p:NbOfTxs"), *pctrl = text_of(r, pi, "p:CtrlSum");
            /* both optional in the schema; when given they must be right */
            if (pnb || pctrl)
                c = check_total(err, "PmtInf", pnb, pctrl, n, pi_sum);
            free(pnb);
            free(pctrl);
        }
        count += n;
        sum += pi_sum;
    }
    xmlXPathFreeObject(pis);
    if (c == AT_OK)
        c = check_total(err, "GrpHdr", nb, ctrl, count, sum);
    free(msg);
    free(nb);
    free(ctrl);
    if (c == AT_OK) {
        if (count_out)
            *count_out = count;
        if (sum_out)
            *sum_out = sum;
    }
    return c;
}

at_code pay_pain001_check(const char *xml, size_t len, int64_t *count, at_cents *sum, at_error *err)
{
    reader r = {0};
    r.doc = xmlReadMemory(xml, (int)len, "pain001.xml", "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                                     XML_PARSE_NOWARNING);
    if (!r.doc)
        return at_error_set(err, AT_VALIDATION, "Document", "the file is not well-formed XML");
    r.ctx = xmlXPathNewContext(r.doc);
    at_code c;
    if (!r.ctx || xmlXPathRegisterNs(r.ctx, (const xmlChar *)"p", (const xmlChar *)PAIN_NS) != 0)
        c = at_error_set(err, AT_INTERNAL, NULL, "could not read the file: out of memory");
    else
        c = check_doc(&r, count, sum, err);
    xmlXPathFreeContext(r.ctx);
    xmlFreeDoc(r.doc);
    return c;
}
