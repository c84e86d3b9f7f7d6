/*
 * pain002.c -- the bank's status report, ISO 20022 pain.002.001.03 (Customer Payment
 * Status Report), read into what ImportConfirmation carries. Contract: pay_core.h.
 *
 * The report is read by the client (the command line) and sent as ImportConfirmation, not
 * sent as a file: a bank lists every transaction of a 10,000-order file in some 3 MB of
 * XML, more than one bus message; the message it maps to is some 50 bytes an order. The
 * service still checks what matters against its own data: the report's original MsgId is
 * the batch's, every end-to-end id is an order of the batch.
 */
#include "pay_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define PAIN002_NS "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
#define PAIN002_NS_STEM "urn:iso:std:iso:20022:tech:xsd:pain.002."

/* The first element child of n named `name` (in any namespace: the root's was checked). */
static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

static xmlNodePtr next_named(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->next : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* The trimmed text of n into out[n_out]: 0 absent or empty, 1 copied, -1 too long. */
static int text_into(xmlNodePtr n, char *out, size_t n_out)
{
    out[0] = '\0';
    if (!n)
        return 0;
    xmlChar *c = xmlNodeGetContent(n);
    if (!c)
        return 0;
    const char *s = (const char *)c, *e = s + strlen(s);
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t'))
        e--;
    size_t len = (size_t)(e - s);
    int rc = len == 0 ? 0 : len < n_out ? 1 : -1;
    if (rc == 1) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    xmlFree(c);
    return rc;
}

/* msg has one %s, for value. */
static at_code bad(at_error *err, const char *path, const char *msg, const char *value, const char *detail)
{
    at_error_set(err, AT_VALIDATION, path, msg, value);
    if (detail)
        at_error_detail(err, "%s", detail);
    return AT_VALIDATION;
}

/* An id element (Max35Text) that must be there. */
static at_code need_id(xmlNodePtr n, const char *path, char out[PAY_ID_MAX + 1], at_error *err)
{
    int rc = text_into(n, out, PAY_ID_MAX + 1);
    if (rc == 0)
        return bad(err, path, "%s is missing", path, "A pain.002.001.03 status report always carries it.");
    if (rc < 0)
        return bad(err, path, "%s is longer than 35 characters", path, NULL);
    return AT_OK;
}

typedef enum st { ST_NONE, ST_DONE, ST_REJECTED, ST_PART, ST_OPEN, ST_BAD } st;

/* ISO 20022 TransactionGroupStatus3Code / TransactionIndividualStatus3Code. */
static st status_of(const char *s)
{
    static const char *const done[] = {"ACSC", "ACCP", "ACSP", "ACWC"};
    static const char *const open[] = {"RCVD", "PDNG", "ACTC"};
    if (!*s)
        return ST_NONE;
    for (size_t i = 0; i < sizeof done / sizeof done[0]; i++)
        if (strcmp(s, done[i]) == 0)
            return ST_DONE;
    for (size_t i = 0; i < sizeof open / sizeof open[0]; i++)
        if (strcmp(s, open[i]) == 0)
            return ST_OPEN;
    if (strcmp(s, "RJCT") == 0)
        return ST_REJECTED;
    if (strcmp(s, "PART") == 0)
        return ST_PART;
    return ST_BAD;
}

static at_code status_at(xmlNodePtr n, const char *path, char out[5], st *s, at_error *err)
{
    int rc = text_into(n, out, 5);
    *s = rc == 0 ? ST_NONE : rc < 0 ? ST_BAD : status_of(out);
    if (*s == ST_BAD)
        return bad(err, path, "%s is not an ISO 20022 status code", path,
                   "Known codes: ACSC, ACCP, ACSP, ACWC (executed), RJCT (rejected), PART, RCVD, PDNG, ACTC.");
    if (*s == ST_OPEN) {
        at_error_set(err, AT_VALIDATION, path, "the report is not final (%s %s)", path, out);
        at_error_detail(err, "The bank has not executed or rejected the payments yet; nothing was recorded.");
        at_error_hint(err, "Import the bank's final status report of the file.");
        return AT_VALIDATION;
    }
    return AT_OK;
}

/* StsRsnInf/Rsn/Cd or /Prtry of n into out[5]: "NARR" when the bank gives no code. */
static at_code reason_at(xmlNodePtr n, const char *path, char out[5], at_error *err)
{
    xmlNodePtr rsn = child(child(n, "StsRsnInf"), "Rsn");
    xmlNodePtr code = child(rsn, "Cd") ? child(rsn, "Cd") : child(rsn, "Prtry");
    int rc = text_into(code, out, 5);
    if (rc == 0)
        snprintf(out, 5, "NARR");
    else if (rc < 0)
        return bad(err, path, "%s is not a reason code of one to four characters", path, NULL);
    return AT_OK;
}

static at_code read_tx(xmlNodePtr tx, st inherited, const char *inherited_reason, pay_status_report *r,
                       at_error *err)
{
    pay_status_tx *t = &r->txs[r->n_txs];
    memset(t, 0, sizeof *t);
    at_code c = need_id(child(tx, "OrgnlEndToEndId"), "TxInfAndSts/OrgnlEndToEndId", t->end_to_end_id, err);
    if (c != AT_OK)
        return c;
    for (size_t i = 0; i < r->n_txs; i++)
        if (strcmp(r->txs[i].end_to_end_id, t->end_to_end_id) == 0)
            return bad(err, "TxInfAndSts/OrgnlEndToEndId", "end-to-end id %s is reported twice", t->end_to_end_id,
                       "A report gives one status per transaction; a second one is ambiguous.");
    char code[5];
    st s;
    if ((c = status_at(child(tx, "TxSts"), "TxInfAndSts/TxSts", code, &s, err)) != AT_OK)
        return c;
    if (s == ST_NONE)
        s = inherited;
    if (s == ST_NONE || s == ST_PART)
        return bad(err, "TxInfAndSts/TxSts", "transaction %s has no status", t->end_to_end_id,
                   "Neither the transaction nor its payment information or group gives one.");
    if (s == ST_DONE && r->reject_all)
        return bad(err, "TxInfAndSts/TxSts", "transaction %s is accepted in a rejected group", t->end_to_end_id,
                   "The group status is RJCT: the whole file was rejected.");
    t->rejected = s == ST_REJECTED;
    if (t->rejected) {
        if ((c = reason_at(tx, "TxInfAndSts/StsRsnInf/Rsn/Cd", t->reason, err)) != AT_OK)
            return c;
        if (strcmp(t->reason, "NARR") == 0 && inherited_reason && *inherited_reason)
            snprintf(t->reason, sizeof t->reason, "%s", inherited_reason);
    }
    r->n_txs++;
    return AT_OK;
}

static size_t count_txs(xmlNodePtr rpt)
{
    size_t n = 0;
    for (xmlNodePtr p = child(rpt, "OrgnlPmtInfAndSts"); p; p = next_named(p, "OrgnlPmtInfAndSts"))
        for (xmlNodePtr t = child(p, "TxInfAndSts"); t; t = next_named(t, "TxInfAndSts"))
            n++;
    return n;
}

static at_code read_report(xmlNodePtr root, pay_status_report *r, at_error *err)
{
    xmlNodePtr rpt = child(root, "CstmrPmtStsRpt");
    if (!rpt)
        return bad(err, "CstmrPmtStsRpt", "%s is missing", "Document/CstmrPmtStsRpt",
                   "The document is not a Customer Payment Status Report.");
    at_code c = need_id(child(child(rpt, "GrpHdr"), "MsgId"), "GrpHdr/MsgId", r->msg_id, err);
    xmlNodePtr og = child(rpt, "OrgnlGrpInfAndSts");
    if (c == AT_OK)
        c = need_id(child(og, "OrgnlMsgId"), "OrgnlGrpInfAndSts/OrgnlMsgId", r->orig_msg_id, err);
    char name[PAY_ID_MAX + 1];
    if (c == AT_OK && text_into(child(og, "OrgnlMsgNmId"), name, sizeof name) != 0 &&
        strncmp(name, "pain.001", 8) != 0)
        return bad(err, "OrgnlGrpInfAndSts/OrgnlMsgNmId", "the report is about a %s message", name,
                   "Only reports on credit transfer files (pain.001) are imported.");
    st group = ST_NONE;
    if (c == AT_OK)
        c = status_at(child(og, "GrpSts"), "OrgnlGrpInfAndSts/GrpSts", r->group_status, &group, err);
    char group_reason[5] = "";
    if (c == AT_OK && group == ST_REJECTED) {
        r->reject_all = true;
        c = reason_at(og, "OrgnlGrpInfAndSts/StsRsnInf/Rsn/Cd", group_reason, err);
        snprintf(r->reject_all_reason, sizeof r->reject_all_reason, "%s", group_reason);
    }
    if (c != AT_OK)
        return c;
    size_t n = count_txs(rpt);
    r->txs = calloc(n + 1, sizeof *r->txs);
    if (!r->txs)
        return at_error_set(err, AT_INTERNAL, NULL, "could not read the report: out of memory");
    for (xmlNodePtr p = child(rpt, "OrgnlPmtInfAndSts"); c == AT_OK && p; p = next_named(p, "OrgnlPmtInfAndSts")) {
        char code[5], reason[5] = "";
        st ps;
        if ((c = status_at(child(p, "PmtInfSts"), "OrgnlPmtInfAndSts/PmtInfSts", code, &ps, err)) != AT_OK)
            break;
        if (ps == ST_REJECTED && (c = reason_at(p, "OrgnlPmtInfAndSts/StsRsnInf/Rsn/Cd", reason, err)) != AT_OK)
            break;
        /* our files have one payment information: rejected without details, it is all of them */
        if (ps == ST_REJECTED && !child(p, "TxInfAndSts")) {
            r->reject_all = true;
            snprintf(r->reject_all_reason, sizeof r->reject_all_reason, "%s", reason);
        }
        st inherited = ps != ST_NONE ? ps : group;
        const char *inherited_reason = ps == ST_REJECTED ? reason : group_reason;
        for (xmlNodePtr t = child(p, "TxInfAndSts"); c == AT_OK && t; t = next_named(t, "TxInfAndSts"))
            c = read_tx(t, inherited, inherited_reason, r, err);
    }
    return c;
}

at_code pay_pain002_parse(const char *xml, size_t len, pay_status_report *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    if (!xml || len == 0 || len > (size_t)INT32_MAX)
        return bad(err, "Document", "%s", "the report is empty", NULL);
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "pain002.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return bad(err, "Document", "%s", "the report is not well-formed XML",
                   "The file could not be read as XML; it may be cut short or not a bank report at all.");
    xmlNodePtr root = xmlDocGetRootElement(doc);
    const char *ns = root && root->ns && root->ns->href ? (const char *)root->ns->href : "";
    at_code c;
    if (!root || strcmp((const char *)root->name, "Document") != 0) {
        c = bad(err, "Document", "%s", "the root element is not Document", "An ISO 20022 message is a Document.");
    } else if (strcmp(ns, PAIN002_NS) != 0) {
        at_error_set(err, AT_VALIDATION, "Document", "the report's namespace is not pain.002.001.03");
        at_error_detail(err, "Its namespace is \"%.200s\".", ns);
        at_error_hint(err, strncmp(ns, PAIN002_NS_STEM, strlen(PAIN002_NS_STEM)) == 0
                               ? "Ask the bank for the status report in version pain.002.001.03, the version of "
                                 "the credit transfer files it was sent."
                               : "Import the bank's Customer Payment Status Report (pain.002.001.03).");
        c = AT_VALIDATION;
    } else {
        c = read_report(root, out, err);
    }
    xmlFreeDoc(doc);
    if (c != AT_OK)
        pay_pain002_free(out);
    return c;
}

void pay_pain002_free(pay_status_report *r)
{
    if (!r)
        return;
    free(r->txs);
    memset(r, 0, sizeof *r);
}

bool pay_batch_of_msg_id(const char *msg_id, char out[37])
{
    if (!msg_id || strlen(msg_id) != 35 || strncmp(msg_id, "ATB", 3) != 0)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < 32; i++) {
        char ch = msg_id[3 + i];
        bool hex = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F') || (ch >= 'a' && ch <= 'f');
        if (!hex)
            return false;
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[k++] = '-';
        out[k++] = (char)(ch >= 'A' && ch <= 'F' ? ch + 32 : ch);
    }
    out[k] = '\0';
    return true;
}

void pay_msg_id_of_batch(const char *batch_id, char out[36])
{
    size_t k = 0;
    memcpy(out, "ATB", 3);
    k = 3;
    for (const char *p = batch_id; p && *p && k < 35; p++)
        if (*p != '-')
            out[k++] = (char)(*p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
    out[k] = '\0';
}
