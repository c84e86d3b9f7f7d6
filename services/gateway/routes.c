/*
 * routes.c -- the JSON API: every path, the command or query it becomes, who may call it,
 * and what its reading records in the access log.
 *
 * When you add a route: add it to docs/api/openapi.json too (tests/gateway checks that
 * both list the same paths) and to the role table of docs/gateway.md.
 *
 * Roles (per municipality): case workers (social worker, assistance officer, head of
 * service) read and change case files; the auditor reads (read-only); the accountant reads
 * payments and reports; the administrator manages users (atbalsts-gateway adduser) and
 * reads no case file. Deciding beyond the rules (overrides) is not offered here yet.
 */
#include "gateway.h"
#include "atb/v1/allocation.pb-c.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"
#include "atb/v1/payments.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

#define CASEWORK (GW_SOCIAL_WORKER | GW_ASSISTANCE_OFFICER | GW_HEAD_OF_SERVICE)
#define CASE_READ (CASEWORK | GW_AUDITOR)
#define MONEY_READ (GW_ASSISTANCE_OFFICER | GW_HEAD_OF_SERVICE | GW_ACCOUNTANT | GW_AUDITOR)
#define REPORT_READ (GW_ASSISTANCE_OFFICER | GW_HEAD_OF_SERVICE | GW_ACCOUNTANT | GW_AUDITOR)
#define AUDIT (GW_AUDITOR | GW_HEAD_OF_SERVICE)

#define T "/api/v1/t/{tenant}"
#define CMD(svc, n, req)                                                                      \
    .kind = "cmd", .service = svc, .name = #n, .request = &atb__v1__##req##__descriptor,           \
    .reply = &atb__v1__command_reply__descriptor
#define QRY(svc, n, req, rep)                                                                 \
    .kind = "qry", .service = svc, .name = #n, .request = &atb__v1__##req##__descriptor,           \
    .reply = &atb__v1__##rep##__descriptor

const gw_route gw_routes[] = {
    {.method = "GET", .pattern = "/healthz", .public_route = true, .fn = gw_route_health},
    {.method = "POST", .pattern = "/api/v1/session", .public_route = true, .fn = gw_route_sign_in},
    {.method = "GET", .pattern = "/api/v1/session", .fn = gw_route_session},
    {.method = "DELETE", .pattern = "/api/v1/session", .fn = gw_route_sign_out},
    {.method = "GET", .pattern = "/api/v1/routes", .fn = gw_route_routes},

    /* persons */
    {.method = "GET", .pattern = T "/persons",
     QRY("intake", FindPersons, find_persons, person_list),
     .roles = CASE_READ, .log = GW_LOG_SEARCH},
    {.method = "POST", .pattern = T "/persons", CMD("intake", RegisterPerson, register_person), .roles = CASEWORK},
    {.method = "GET", .pattern = T "/persons/{person_key}",
     QRY("intake", GetPerson, get_person, person_view),
     .roles = CASE_READ, .log = GW_LOG_PERSON},
    /* {person}: ListPersonStatuses' field is named person */
    {.method = "GET", .pattern = T "/persons/{person}/statuses",
     QRY("means", ListPersonStatuses, list_person_statuses, person_statuses),
     .roles = CASE_READ, .log = GW_LOG_PERSON},
    {.method = "GET", .pattern = T "/persons/{person_key}/cases",
     QRY("intake", ListPersonCases, list_person_cases, case_list),
     .roles = CASE_READ, .log = GW_LOG_PERSON},
    {.method = "GET", .pattern = T "/persons/{person_key}/agreements",
     QRY("intake", ListPersonAgreements, list_person_agreements, agreement_list),
     .roles = CASE_READ, .log = GW_LOG_PERSON},
    {.method = "GET", .pattern = T "/cases/{case_key}/history",
     QRY("intake", GetCaseHistory, get_case_history, case_history),
     .roles = CASE_READ, .log = GW_LOG_CASE},
    {.method = "POST", .pattern = T "/persons/{person_key}/facts",
     CMD("intake", RecordPersonFact, record_person_fact),
     .roles = CASEWORK},
    /* households */
    {.method = "POST", .pattern = T "/households",
     CMD("intake", CreateHousehold, create_household),
     .roles = CASEWORK},
    {.method = "GET", .pattern = T "/households/{household_key}",
     QRY("intake", GetHousehold, get_household, household_view),
     .roles = CASE_READ, .log = GW_LOG_HOUSEHOLD},
    {.method = "GET", .pattern = T "/households/{household_key}/applications",
     QRY("intake", ListHouseholdApplications, list_household_applications, application_list),
     .roles = CASE_READ, .log = GW_LOG_HOUSEHOLD},
    {.method = "POST", .pattern = T "/households/{household_key}/members",
     CMD("intake", AddHouseholdMember, add_household_member),
     .roles = CASEWORK},
    /* applications, declarations, decisions */
    {.method = "POST", .pattern = T "/applications",
     CMD("intake", SubmitApplication, submit_application),
     .roles = CASEWORK},
    {.method = "GET", .pattern = T "/applications/{application_id}",
     QRY("intake", GetApplication, get_application, application_view),
     .roles = CASE_READ, .log = GW_LOG_APPLICATION},
    {.method = "POST", .pattern = T "/applications/{application_id}/declaration",
     CMD("intake", SubmitDeclaration, submit_declaration),
     .roles = CASEWORK},
    {.method = "POST", .pattern = T "/applications/{application_id}/complete",
     CMD("intake", CompleteApplication, complete_application),
     .roles = CASEWORK},
    {.method = "GET", .pattern = T "/applications/{application_id}/decisions",
     QRY("means", ExplainDecision, explain_decision, explain_reply),
     .roles = CASE_READ, .log = GW_LOG_APPLICATION},
    {.method = "GET", .pattern = T "/applications/{application_id}/replay",
     QRY("means", ReplayDecision, replay_decision, replay_reply),
     .roles = AUDIT | GW_ASSISTANCE_OFFICER, .log = GW_LOG_APPLICATION},
    /* co-operation agreements */
    {.method = "POST", .pattern = T "/agreements", CMD("intake", MakeAgreement, make_agreement), .roles = CASEWORK},
    {.method = "POST", .pattern = T "/agreements/{agreement_key}/outcomes",
     CMD("intake", RecordDutyOutcome, record_duty_outcome),
     .roles = CASEWORK},
    /* services, payments, reports */
    {.method = "GET", .pattern = T "/waiting-list",
     QRY("allocation", GetWaitingList, get_waiting_list, waiting_list_reply),
     .roles = CASE_READ},
    {.method = "GET", .pattern = T "/occupancy",
     QRY("allocation", GetOccupancy, get_occupancy, occupancy_reply),
     .roles = CASE_READ},
    /* {person}: PaymentHistory's field is named person */
    {.method = "GET", .pattern = T "/persons/{person}/payments",
     QRY("payments", PaymentHistory, payment_history, order_list),
     .roles = CASE_READ | MONEY_READ, .log = GW_LOG_PERSON},
    {.method = "GET", .pattern = T "/payments/due",
     QRY("payments", ListDueOrders, list_due_orders, order_list),
     .roles = MONEY_READ},
    {.method = "GET", .pattern = T "/payment-batches",
     QRY("payments", ListBatches, list_batches, batch_list),
     .roles = MONEY_READ},
    {.method = "GET", .pattern = T "/reports/assistance",
     QRY("reporting", AssistanceReport, assistance_report, assistance_report_reply),
     .roles = REPORT_READ},
    /* the access log */
    {.method = "GET", .pattern = T "/access-log", .roles = AUDIT, .fn = gw_route_access_log},
};
const size_t gw_n_routes = sizeof gw_routes / sizeof gw_routes[0];
