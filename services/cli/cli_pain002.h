/*
 * cli_pain002.h -- `atbalsts payment confirm --file`: the bank's status report file
 * (pain.002.001.03) read into an ImportConfirmation. The reading itself is payments'
 * (pay_pain002_parse in services/payments/pay_core.h); this maps it to the command and
 * ties it to the batch.
 */
#ifndef CLI_PAIN002_H
#define CLI_PAIN002_H

#include "cli.h"
#include "pay_core.h"
#include "atb/v1/payments.pb-c.h"

typedef struct cli_pain002 {
    pay_status_report rep;
    Atb__V1__OrderResult *res;
    Atb__V1__OrderResult **rp;
    char batch[37];
} cli_pain002;

/* Read the report at path ("-" = standard input) into cmd: batch_id from its OrgnlMsgId
 * (the batch file's MsgId; `batch`, when not NULL, must be the same one), report_id =
 * GrpHdr/MsgId, original_message_id, one result per transaction (executed or rejected
 * with its reason) and reject_all for a rejected file. The service then refuses an
 * end-to-end id that is not an order of the batch. Returns CLI_NEXT, or CLI_USAGE with
 * the reason printed (nothing was sent). cmd's strings point into p: cli_pain002_free
 * after the command. */
int cli_pain002_load(const cli_sub *s, const char *path, const char *batch, Atb__V1__ImportConfirmation *cmd,
                     cli_pain002 *p);
void cli_pain002_free(cli_pain002 *p);

#endif
