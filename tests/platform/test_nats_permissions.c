/*
 * test_nats_permissions.c -- the NATS configurations in deploy/nats really enforce one
 * user per service.
 *
 * The program starts its own nats-servers on free loopback ports (JetStream stores in
 * temporary directories), so it neither needs nor disturbs the development server, and
 * stops them at the end. Claims checked against the real server, with
 * atbalsts-dev.conf: a service may serve its own commands and no other service's; only
 * the relay publishes events and changes the stream; consumers may read the stream; a
 * wrong password is refused; a client without credentials is the dev-only admin (the
 * documented trade-off). With atbalsts-prod.conf: passwords come from the environment
 * (bcrypt hashes too), a client without credentials is refused, and the shared
 * permissions (atbalsts-permissions.conf) apply.
 *
 * When the permissions change, change the claims here too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#if !defined(ATB_NATS_DEV_CONF) || !defined(ATB_NATS_PROD_CONF)
#error "ATB_NATS_DEV_CONF and ATB_NATS_PROD_CONF (paths in deploy/nats) must be defined by CMake"
#endif

#define NATS_SERVER_DEFAULT "/usr/sbin/nats-server"
#define STREAM "ATB_EVENTS"

/* ------------------------------------------------------------------ servers */

/* A nats-server this program started, with its files in a temporary directory. */
typedef struct server {
    pid_t pid;
    char dir[256];      /* JetStream store, log */
    char url[64];
} server;

static server dev = { .pid = -1 };
static const char *nats_exe;

static bool require_services(void)
{
    const char *v = getenv("ATB_REQUIRE_SERVICES");
    return v != NULL && strcmp(v, "1") == 0;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void kill_server(server *sv)
{
    if (sv->pid <= 0)
        return;
    kill(sv->pid, SIGTERM);
    for (int i = 0; i < 100; i++) {               /* 10 s, then SIGKILL */
        if (waitpid(sv->pid, NULL, WNOHANG) == sv->pid) {
            sv->pid = -1;
            return;
        }
        sleep_ms(100);
    }
    kill(sv->pid, SIGKILL);
    waitpid(sv->pid, NULL, 0);
    sv->pid = -1;
}

static void server_stop(server *sv)
{
    kill_server(sv);
    if (sv->dir[0] != '\0') {
        nftw(sv->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        sv->dir[0] = '\0';
    }
}

/* Start nats-server with conf on a free loopback port (monitoring on another), with
 * envp (plus ATB_NATS_STORE_DIR) as its whole environment; an empty envp means the dev
 * config, anything else the prod config. True once it answers clients. The port may be taken
 * between free_port() and the server's bind: the caller retries. */
static bool server_start_once(server *sv, const char *conf, char *const envp[])
{
    char port[16], mport[16], store[300], log[300];
    int p = free_port(), m = free_port();

    if (p <= 0 || m <= 0 || p == m)
        return false;
    snprintf(port, sizeof port, "%d", p);
    snprintf(mport, sizeof mport, "%d", m);
    snprintf(store, sizeof store, "%s/js", sv->dir);
    snprintf(log, sizeof log, "%s/nats-server.log", sv->dir);
    snprintf(sv->url, sizeof sv->url, "nats://127.0.0.1:%d", p);
    /* The dev config takes the store on the command line; the prod config names it with
     * $ATB_NATS_STORE_DIR (nats-server refuses both at once). */
    char store_env[320];
    const char *env[32];
    size_t n = 0;
    snprintf(store_env, sizeof store_env, "ATB_NATS_STORE_DIR=%s", store);
    for (; envp[n] != NULL && n < 30; n++)
        env[n] = envp[n];
    env[n++] = store_env;
    env[n] = NULL;
    char *const argv_dev[] = { (char *)nats_exe, "-c", (char *)conf, "-js", "-sd", store,
                               "-a", "127.0.0.1", "-p", port, "-m", mport, "-l", log, NULL };
    char *const argv_prod[] = { (char *)nats_exe, "-c", (char *)conf,
                                "-a", "127.0.0.1", "-p", port, "-m", mport, "-l", log, NULL };
    char *const *argv = envp[0] == NULL ? argv_dev : argv_prod;

    char out[300];
    snprintf(out, sizeof out, "%s/nats-server.out", sv->dir);

    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        /* Config errors are printed before -l takes effect: keep them in a file. */
        int in = open("/dev/null", O_RDONLY);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in >= 0)
            dup2(in, 0);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setsid();
        execve(nats_exe, argv, (char *const *)env);
        _exit(127);
    }
    sv->pid = pid;
    for (int i = 0; i < 100; i++) {               /* up to 10 s */
        natsConnection *nc = NULL;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            sv->pid = -1;
            return false;
        }
        natsStatus s = natsConnection_ConnectTo(&nc, sv->url);
        natsConnection_Destroy(nc);
        if (s == NATS_OK || s == NATS_CONNECTION_AUTH_FAILED)   /* it answers */
            return true;
        sleep_ms(100);
    }
    return false;
}

static bool server_start(server *sv, const char *conf, char *const envp[])
{
    if (access(conf, R_OK) != 0) {
        fprintf(stderr, "cannot read %s: %s\n", conf, strerror(errno));
        return false;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(sv->dir, sizeof sv->dir, "%s/atb-natsperm-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : P_tmpdir);
    if (mkdtemp(sv->dir) == NULL) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
        sv->dir[0] = '\0';
        return false;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        if (server_start_once(sv, conf, envp))
            return true;
        kill_server(sv);                          /* running but not answering */
    }
    char path[300], line[512];
    fprintf(stderr, "nats-server -c %s did not start; its output:\n", conf);
    snprintf(path, sizeof path, "%s/nats-server.out", sv->dir);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        fputs(line, stderr);
    if (f != NULL)
        fclose(f);
    server_stop(sv);
    return false;
}

static int group_setup(void **state)
{
    (void)state;
    static char *const no_env[] = { NULL };

    nats_exe = getenv("ATB_NATS_SERVER");
    if (nats_exe == NULL || nats_exe[0] == '\0')
        nats_exe = NATS_SERVER_DEFAULT;
    if (access(nats_exe, X_OK) != 0) {
        fprintf(stderr, "cannot run %s: %s (install nats-server: scripts/deps.sh)\n", nats_exe,
                strerror(errno));
        exit(require_services() ? 1 : 77);
    }
    return server_start(&dev, ATB_NATS_DEV_CONF, no_env) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    server_stop(&dev);
    nats_Close();
    return 0;
}

/* ------------------------------------------------------------------ clients */

/* What the asynchronous error handler saw on one connection. */
typedef struct errs {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int count;
    natsStatus last;
    char text[256];
} errs;

typedef struct client {
    natsConnection *nc;
    errs e;
} client;

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)sub;
    errs *e = closure;
    const char *txt = NULL;
    natsConnection_GetLastError(nc, &txt);
    pthread_mutex_lock(&e->mu);
    e->count++;
    e->last = err;
    snprintf(e->text, sizeof e->text, "%s", txt != NULL ? txt : "");
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* Connect to url as user (NULL = no credentials). Returns the connect status. */
static natsStatus connect_to(client *c, const char *url, const char *user, const char *password)
{
    natsOptions *o = NULL;
    natsStatus s;

    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->e.mu, NULL);
    pthread_cond_init(&c->e.cv, NULL);
    c->e.last = NATS_OK;
    assert_int_equal(natsOptions_Create(&o), NATS_OK);
    assert_int_equal(natsOptions_SetURL(o, url), NATS_OK);
    if (user != NULL)
        assert_int_equal(natsOptions_SetUserInfo(o, user, password), NATS_OK);
    assert_int_equal(natsOptions_SetErrorHandler(o, on_error, &c->e), NATS_OK);
    assert_int_equal(natsOptions_SetAllowReconnect(o, false), NATS_OK);
    assert_int_equal(natsOptions_SetTimeout(o, 5000), NATS_OK);
    s = natsConnection_Connect(&c->nc, o);
    natsOptions_Destroy(o);
    return s;
}

static natsStatus connect_as(client *c, const char *user, const char *password)
{
    return connect_to(c, dev.url, user, password);
}

static void connect_ok(client *c, const char *user)
{
    char password[64];
    snprintf(password, sizeof password, "atb-dev-%s", user);
    natsStatus s = connect_as(c, user, password);
    if (s != NATS_OK)
        fail_msg("connect as %s: %s", user, natsStatus_GetText(s));
}

static void client_close(client *c)
{
    natsConnection_Destroy(c->nc);
    c->nc = NULL;
    pthread_mutex_destroy(&c->e.mu);
    pthread_cond_destroy(&c->e.cv);
}

/* Wait up to ms for an asynchronous error; returns its status (NATS_OK if none came). */
static natsStatus wait_error(client *c, int ms, char *text, size_t n)
{
    struct timespec until;
    natsStatus s;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->e.mu);
    while (c->e.count == 0) {
        if (pthread_cond_timedwait(&c->e.cv, &c->e.mu, &until) == ETIMEDOUT)
            break;
    }
    s = c->e.count > 0 ? c->e.last : NATS_OK;
    if (text != NULL)
        snprintf(text, n, "%s", c->e.text);
    pthread_mutex_unlock(&c->e.mu);
    return s;
}

static void ensure_stream(natsConnection *nc)
{
    jsCtx *js = NULL;
    jsStreamConfig cfg;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    const char *subjects[] = { "atb.evt.>" };

    assert_int_equal(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
    jsStreamConfig_Init(&cfg);
    cfg.Name = STREAM;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    natsStatus s = js_AddStream(&si, js, &cfg, NULL, &jerr);
    if (s != NATS_OK)
        fail_msg("relay could not create stream %s: %s (%d)", STREAM, natsStatus_GetText(s),
                 (int)jerr);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
}

/* ------------------------------------------------------------------ claims */

static void on_intake_command(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)sub; (void)closure;
    if (natsMsg_GetReply(m) != NULL)
        natsConnection_PublishString(nc, natsMsg_GetReply(m), "accepted");
    natsMsg_Destroy(m);
}

static void intake_serves_its_commands_to_the_cli(void **state)
{
    (void)state;
    client intake, cli;
    natsSubscription *sub = NULL;
    natsMsg *reply = NULL;

    connect_ok(&intake, "intake");
    connect_ok(&cli, "cli");
    assert_int_equal(natsConnection_Subscribe(&sub, intake.nc, "atb.cmd.x.intake.>",
                                              on_intake_command, NULL), NATS_OK);
    assert_int_equal(natsConnection_Flush(intake.nc), NATS_OK);
    assert_int_equal(wait_error(&intake, 200, NULL, 0), NATS_OK);

    natsStatus s = natsConnection_RequestString(&reply, cli.nc, "atb.cmd.x.intake.RegisterPerson",
                                                "register", 5000);
    assert_int_equal(s, NATS_OK);
    assert_string_equal(natsMsg_GetData(reply), "accepted");
    assert_int_equal(wait_error(&cli, 100, NULL, 0), NATS_OK);

    natsMsg_Destroy(reply);
    natsSubscription_Destroy(sub);
    client_close(&cli);
    client_close(&intake);
}

static void intake_cannot_publish_an_event(void **state)
{
    (void)state;
    client intake, admin;
    natsSubscription *watch = NULL;
    natsMsg *m = NULL;
    char text[256];

    connect_ok(&intake, "intake");
    assert_int_equal(connect_as(&admin, NULL, NULL), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&watch, admin.nc, "atb.evt.>"), NATS_OK);
    assert_int_equal(natsConnection_Flush(admin.nc), NATS_OK);

    assert_int_equal(natsConnection_PublishString(intake.nc, "atb.evt.x.person.PersonRegistered",
                                                  "forged"), NATS_OK);
    natsConnection_Flush(intake.nc);
    assert_int_equal(wait_error(&intake, 5000, text, sizeof text), NATS_NOT_PERMITTED);
    assert_non_null(strstr(text, "Permissions Violation for Publish"));
    assert_non_null(strstr(text, "atb.evt.x.person.PersonRegistered"));
    const char *last = NULL;
    assert_int_equal(natsConnection_GetLastError(intake.nc, &last), NATS_NOT_PERMITTED);

    /* Nothing reached a subscriber. */
    assert_int_equal(natsSubscription_NextMsg(&m, watch, 500), NATS_TIMEOUT);

    natsSubscription_Destroy(watch);
    client_close(&admin);
    client_close(&intake);
}

static void intake_cannot_command_another_service(void **state)
{
    (void)state;
    client intake;
    char text[256];

    connect_ok(&intake, "intake");
    assert_int_equal(natsConnection_PublishString(intake.nc, "atb.cmd.x.payments.CreateBatch",
                                                  "pay me"), NATS_OK);
    natsConnection_Flush(intake.nc);
    assert_int_equal(wait_error(&intake, 5000, text, sizeof text), NATS_NOT_PERMITTED);
    assert_non_null(strstr(text, "atb.cmd.x.payments.CreateBatch"));
    client_close(&intake);
}

static void payments_cannot_subscribe_to_intake_commands(void **state)
{
    (void)state;
    client payments, cli;
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    char text[256];

    connect_ok(&payments, "payments");
    connect_ok(&cli, "cli");
    assert_int_equal(natsConnection_SubscribeSync(&sub, payments.nc, "atb.cmd.*.intake.>"),
                     NATS_OK);
    natsConnection_Flush(payments.nc);
    assert_int_equal(wait_error(&payments, 5000, text, sizeof text), NATS_NOT_PERMITTED);
    assert_non_null(strstr(text, "Permissions Violation for Subscription"));
    assert_non_null(strstr(text, "atb.cmd.*.intake.>"));

    /* A command the cli sends to intake does not reach payments. */
    assert_int_equal(natsConnection_PublishString(cli.nc, "atb.cmd.x.intake.RegisterPerson",
                                                  "secret"), NATS_OK);
    assert_int_equal(natsConnection_Flush(cli.nc), NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, sub, 500), NATS_TIMEOUT);

    natsSubscription_Destroy(sub);
    client_close(&cli);
    client_close(&payments);
}

static void relay_publishes_events_that_reporting_receives(void **state)
{
    (void)state;
    client relay, reporting;
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;

    connect_ok(&relay, "relay");
    connect_ok(&reporting, "reporting");
    assert_int_equal(natsConnection_SubscribeSync(&sub, reporting.nc, "atb.evt.>"), NATS_OK);
    assert_int_equal(natsConnection_Flush(reporting.nc), NATS_OK);

    assert_int_equal(natsConnection_PublishString(relay.nc, "atb.evt.x.person.PersonRegistered",
                                                  "event"), NATS_OK);
    assert_int_equal(natsConnection_Flush(relay.nc), NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(m), "atb.evt.x.person.PersonRegistered");
    assert_string_equal(natsMsg_GetData(m), "event");
    assert_int_equal(wait_error(&relay, 100, NULL, 0), NATS_OK);
    assert_int_equal(wait_error(&reporting, 100, NULL, 0), NATS_OK);

    natsMsg_Destroy(m);
    natsSubscription_Destroy(sub);
    client_close(&reporting);
    client_close(&relay);
}

/* The JetStream path the services use: the relay creates the stream and publishes with a
 * message id; a consumer service pulls through its own durable and acknowledges. */
static void reporting_consumes_what_the_relay_stores(void **state)
{
    (void)state;
    client relay, reporting;
    jsCtx *js = NULL, *rjs = NULL;
    jsPubOptions po;
    jsPubAck *pa = NULL;
    jsSubOptions so;
    natsSubscription *sub = NULL;
    natsMsgList list = { 0 };
    jsErrCode jerr = 0;
    natsStatus s;

    connect_ok(&relay, "relay");
    connect_ok(&reporting, "reporting");
    ensure_stream(relay.nc);

    assert_int_equal(natsConnection_JetStream(&js, relay.nc, NULL), NATS_OK);
    jsPubOptions_Init(&po);
    po.MsgId = "perm-test-1";
    po.ExpectStream = STREAM;
    s = js_Publish(&pa, js, "atb.evt.x.person.PersonRegistered", "stored", 6, &po, &jerr);
    if (s != NATS_OK)
        fail_msg("relay js_Publish: %s (%d)", natsStatus_GetText(s), (int)jerr);
    assert_string_equal(pa->Stream, STREAM);

    assert_int_equal(natsConnection_JetStream(&rjs, reporting.nc, NULL), NATS_OK);
    jsSubOptions_Init(&so);
    so.Stream = STREAM;
    so.Config.AckPolicy = js_AckExplicit;
    s = js_PullSubscribe(&sub, rjs, "atb.evt.x.person.>", "reporting-perm-test", NULL, &so, &jerr);
    if (s != NATS_OK)
        fail_msg("reporting js_PullSubscribe: %s (%d)", natsStatus_GetText(s), (int)jerr);
    s = natsSubscription_Fetch(&list, sub, 10, 5000, &jerr);
    if (s != NATS_OK)
        fail_msg("reporting Fetch: %s (%d)", natsStatus_GetText(s), (int)jerr);
    assert_true(list.Count >= 1);
    bool found = false;
    for (int i = 0; i < list.Count; i++) {
        if (natsMsg_GetDataLength(list.Msgs[i]) == 6 &&
            memcmp(natsMsg_GetData(list.Msgs[i]), "stored", 6) == 0)
            found = true;
        assert_int_equal(natsMsg_AckSync(list.Msgs[i], NULL, &jerr), NATS_OK);
    }
    assert_true(found);
    assert_int_equal(wait_error(&reporting, 100, NULL, 0), NATS_OK);

    natsMsgList_Destroy(&list);
    natsSubscription_Destroy(sub);   /* never Unsubscribe: that would delete the durable */
    jsPubAck_Destroy(pa);
    jsCtx_Destroy(rjs);
    jsCtx_Destroy(js);
    client_close(&reporting);
    client_close(&relay);
}

static void intake_cannot_publish_to_the_stream(void **state)
{
    (void)state;
    client relay, intake;
    jsCtx *js = NULL;
    jsOptions jo;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    char text[256];

    connect_ok(&relay, "relay");
    ensure_stream(relay.nc);
    connect_ok(&intake, "intake");
    jsOptions_Init(&jo);
    jo.Wait = 1000;
    assert_int_equal(natsConnection_JetStream(&js, intake.nc, &jo), NATS_OK);
    natsStatus s = js_Publish(&pa, js, "atb.evt.x.person.PersonRegistered", "forged", 6, NULL,
                              &jerr);
    assert_int_not_equal(s, NATS_OK);
    assert_null(pa);
    assert_int_equal(wait_error(&intake, 5000, text, sizeof text), NATS_NOT_PERMITTED);
    assert_non_null(strstr(text, "atb.evt.x.person.PersonRegistered"));

    jsCtx_Destroy(js);
    client_close(&intake);
    client_close(&relay);
}

static void payments_cannot_delete_the_stream(void **state)
{
    (void)state;
    client relay, payments;
    jsCtx *js = NULL, *rjs = NULL;
    jsOptions jo;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    char text[256];

    connect_ok(&relay, "relay");
    ensure_stream(relay.nc);
    connect_ok(&payments, "payments");
    jsOptions_Init(&jo);
    jo.Wait = 1000;
    assert_int_equal(natsConnection_JetStream(&js, payments.nc, &jo), NATS_OK);
    assert_int_not_equal(js_DeleteStream(js, STREAM, NULL, &jerr), NATS_OK);
    assert_int_equal(wait_error(&payments, 5000, text, sizeof text), NATS_NOT_PERMITTED);
    assert_non_null(strstr(text, "$JS.API.STREAM.DELETE." STREAM));

    /* Reading the stream's info is allowed, and the stream is still there. */
    assert_int_equal(js_GetStreamInfo(&si, js, STREAM, NULL, &jerr), NATS_OK);
    jsStreamInfo_Destroy(si);
    si = NULL;
    assert_int_equal(natsConnection_JetStream(&rjs, relay.nc, NULL), NATS_OK);
    assert_int_equal(js_GetStreamInfo(&si, rjs, STREAM, NULL, &jerr), NATS_OK);
    jsStreamInfo_Destroy(si);

    jsCtx_Destroy(rjs);
    jsCtx_Destroy(js);
    client_close(&payments);
    client_close(&relay);
}

static void wrong_password_is_refused(void **state)
{
    (void)state;
    client c;
    natsStatus s = connect_as(&c, "intake", "not-the-password");
    assert_int_equal(s, NATS_CONNECTION_AUTH_FAILED);
    assert_null(c.nc);
    client_close(&c);

    s = connect_as(&c, "nobody", "atb-dev-intake");
    assert_int_equal(s, NATS_CONNECTION_AUTH_FAILED);
    client_close(&c);
}

/* The dev-only trade-off: no credentials = atb_admin, which may do anything. */
static void no_credentials_is_the_dev_admin(void **state)
{
    (void)state;
    client admin;
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;

    assert_int_equal(connect_as(&admin, NULL, NULL), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, admin.nc, "atb.cmd.*.intake.>"), NATS_OK);
    assert_int_equal(natsConnection_Flush(admin.nc), NATS_OK);
    assert_int_equal(natsConnection_PublishString(admin.nc, "atb.cmd.x.intake.Anything", "x"),
                     NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK);
    assert_int_equal(wait_error(&admin, 100, NULL, 0), NATS_OK);
    natsMsg_Destroy(m);
    natsSubscription_Destroy(sub);
    client_close(&admin);
}

/* The production config: same users and permissions, passwords from the environment (one
 * of them a bcrypt hash), and no anonymous access. */
static void prod_config_refuses_clients_without_credentials(void **state)
{
    (void)state;
    /* nats-server parses an environment value as a config value: a bcrypt hash ('$' would
     * start a variable reference), a number or true/false must be in double quotes.
     * The hash is bcrypt of "atb-test-intake-secret": the server holds the hash, the
     * client presents the text. */
    static char *const env[] = {
        "ATB_NATS_LISTEN=127.0.0.1",
        "RELAY_NATS_PASSWORD=Zm9v+YmFy/YmF6==",
        "INTAKE_NATS_PASSWORD=\"$2b$10$ee9KeDteSlvsA5mLpZNFUeEPQO2.OFPBYon8rmS/7D/AYoztdMfwu\"",
        "MEANS_NATS_PASSWORD=prod-means-pw",
        "ALLOCATION_NATS_PASSWORD=prod-allocation-pw",
        "PAYMENTS_NATS_PASSWORD=prod-payments-pw",
        "REPORTING_NATS_PASSWORD=prod-reporting-pw",
        "GATEWAY_NATS_PASSWORD=prod-gateway-pw",
        "CLI_NATS_PASSWORD=prod-cli-pw",
        "ADMIN_NATS_PASSWORD=\"prod-admin-pw\"",
        NULL,
    };
    server prod = { .pid = -1 };
    client c;
    char text[256];

    assert_true(server_start(&prod, ATB_NATS_PROD_CONF, env));

    assert_int_equal(connect_to(&c, prod.url, NULL, NULL), NATS_CONNECTION_AUTH_FAILED);
    client_close(&c);
    assert_int_equal(connect_to(&c, prod.url, "intake", "atb-dev-intake"),
                     NATS_CONNECTION_AUTH_FAILED);
    client_close(&c);
    assert_int_equal(connect_to(&c, prod.url, "cli", "wrong"), NATS_CONNECTION_AUTH_FAILED);
    client_close(&c);

    assert_int_equal(connect_to(&c, prod.url, "relay", "Zm9v+YmFy/YmF6=="), NATS_OK);
    client_close(&c);
    assert_int_equal(connect_to(&c, prod.url, "atb_admin", "prod-admin-pw"), NATS_OK);
    client_close(&c);

    /* The shared permissions apply here too. */
    assert_int_equal(connect_to(&c, prod.url, "intake", "atb-test-intake-secret"), NATS_OK);
    assert_int_equal(natsConnection_PublishString(c.nc, "atb.evt.x.person.PersonRegistered",
                                                  "forged"), NATS_OK);
    natsConnection_Flush(c.nc);
    assert_int_equal(wait_error(&c, 5000, text, sizeof text), NATS_NOT_PERMITTED);
    client_close(&c);

    server_stop(&prod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(intake_serves_its_commands_to_the_cli),
        cmocka_unit_test(intake_cannot_publish_an_event),
        cmocka_unit_test(intake_cannot_command_another_service),
        cmocka_unit_test(payments_cannot_subscribe_to_intake_commands),
        cmocka_unit_test(relay_publishes_events_that_reporting_receives),
        cmocka_unit_test(reporting_consumes_what_the_relay_stores),
        cmocka_unit_test(intake_cannot_publish_to_the_stream),
        cmocka_unit_test(payments_cannot_delete_the_stream),
        cmocka_unit_test(wrong_password_is_refused),
        cmocka_unit_test(no_credentials_is_the_dev_admin),
        cmocka_unit_test(prod_config_refuses_clients_without_credentials),
    };
    return cmocka_run_group_tests_name("nats_permissions", tests, group_setup, group_teardown);
}
