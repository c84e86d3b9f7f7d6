/*
 * test_htmlreport.c -- libs/htmlreport: every page is well-formed (parsed back with
 * libxml2's XML parser), text is escaped wherever it goes, the page has its language,
 * landmarks and accessible tables, and the charts' geometry follows the values: bar
 * lengths proportional to the values, negative values on the other side of the zero line,
 * zero and empty series drawn without division by zero.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "hr.h"

/* ---- building a page, parsing it, asking XPath ---- */

static xmlDocPtr parse(hr_doc *d)
{
    const char *html;
    size_t len;
    at_error err;
    assert_int_equal(hr_html(d, &html, &len, &err), AT_OK);
    assert_int_equal(strlen(html), len);
    xmlDocPtr x = xmlReadMemory(html, (int)len, "page.html", "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR);
    if (!x)
        fail_msg("the page is not well-formed XML:\n%s", html);
    return x;
}

static xmlXPathObjectPtr query(xmlDocPtr x, const char *xpath)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(x);
    xmlXPathRegisterNs(ctx, BAD_CAST "h", BAD_CAST "http://www.w3.org/1999/xhtml");
    xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
    xmlXPathFreeContext(ctx);
    if (!r)
        fail_msg("bad xpath %s", xpath);
    return r;
}

static int count(xmlDocPtr x, const char *xpath)
{
    xmlXPathObjectPtr r = query(x, xpath);
    int n = r->nodesetval ? r->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(r);
    return n;
}

/* The string value of an XPath expression. */
static char *str(xmlDocPtr x, const char *xpath)
{
    char q[512];
    snprintf(q, sizeof q, "string(%s)", xpath);
    xmlXPathObjectPtr r = query(x, q);
    char *s = strdup((const char *)r->stringval);
    xmlXPathFreeObject(r);
    return s;
}

static double attr_num(xmlDocPtr x, const char *xpath)
{
    char *s = str(x, xpath);
    double v = atof(s);
    free(s);
    return v;
}

static hr_doc *page(const char *lang, const char *title)
{
    hr_doc *d = NULL;
    at_error err;
    assert_int_equal(hr_open(&d, lang, title, "subtitle", &err), AT_OK);
    return d;
}

static const char *const MONTHS[] = {"2026-01", "2026-02", "2026-03", "2026-04"};

/* ---- tests ---- */

static void text_is_escaped_everywhere(void **state)
{
    (void)state;
    const char *evil = "<script>alert(\"x\")</script> & 'quoted' <b>";
    hr_doc *d = page("en", evil);
    hr_section(d, evil);
    hr_para(d, evil);
    const char *heads[2] = {evil, "n"};
    hr_table_begin(d, evil, heads, NULL, 2);
    const char *row[2] = {evil, evil};
    hr_table_row(d, row);
    hr_table_end(d);
    const char *labels[1] = {evil};
    int64_t v[1] = {5};
    hr_chart c = {.kind = HR_BARS, .title = evil, .desc = evil, .label_heading = evil, .value_heading = evil,
                  .labels = labels, .values = v, .n = 1};
    hr_chart_add(d, &c);
    c.kind = HR_LINE;
    hr_chart_add(d, &c);
    hr_footer(d, evil);
    xmlDocPtr x = parse(d);
    /* the markup in the text never became elements ... */
    assert_int_equal(count(x, "//h:script | //s:script | //h:b | //script | //b"), 0);
    /* ... and reads back as the same text */
    char *t = str(x, "/h:html/h:head/h:title");
    assert_string_equal(t, evil);
    free(t);
    t = str(x, "//h:footer/h:p");
    assert_string_equal(t, evil);
    free(t);
    t = str(x, "//s:svg[1]/s:title");
    assert_string_equal(t, evil);
    free(t);
    xmlFreeDoc(x);
    const char *html;
    assert_int_equal(hr_html(d, &html, NULL, NULL), AT_OK);
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<b>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39; &lt;b&gt;"));
    hr_free(d);
}

static void the_page_has_language_landmarks_and_accessible_tables(void **state)
{
    (void)state;
    hr_doc *d = page("lv", "Sociālā palīdzība");
    hr_section(d, "Statusi");
    const char *heads[3] = {"Pašvaldība", "Mājsaimniecības", "Personas"};
    const unsigned char num[3] = {0, 1, 1};
    hr_table_begin(d, "Trūcīgās", heads, num, 3);
    const char *r1[3] = {"daugavpils", "3", "6"};
    hr_table_row(d, r1);
    hr_table_end(d);
    hr_section(d, "Pabalsti");   /* closes the first section */
    hr_para(d, "teksts");
    xmlDocPtr x = parse(d);
    char *lang = str(x, "/h:html/@lang");
    assert_string_equal(lang, "lv");
    free(lang);
    assert_int_equal(count(x, "/h:html/h:body/h:header/h:h1"), 1);
    assert_int_equal(count(x, "/h:html/h:body/h:main/h:section"), 2);
    assert_int_equal(count(x, "//h:section/h:h2"), 2);
    assert_int_equal(count(x, "//h:table/h:caption"), 1);
    assert_int_equal(count(x, "//h:thead//h:th[@scope='col']"), 3);
    assert_int_equal(count(x, "//h:tbody//h:th[@scope='row']"), 1);
    assert_int_equal(count(x, "//h:tbody//h:td[@class='num']"), 2);
    /* self-contained: nothing is fetched, nothing runs */
    assert_int_equal(count(x, "//@src | //@href | //h:script | //h:link"), 0);
    assert_int_equal(count(x, "/h:html/h:head/h:style"), 1);
    xmlFreeDoc(x);
    hr_free(d);
}

static void a_bad_language_tag_is_refused(void **state)
{
    (void)state;
    hr_doc *d = (hr_doc *)1;
    at_error err;
    assert_int_equal(hr_open(&d, "lv\"><x", "t", NULL, &err), AT_VALIDATION);
    assert_null(d);
    assert_string_equal(err.message, "language tag is not valid");
    assert_string_equal(err.field, "lang");
    assert_int_equal(hr_open(&d, "", "t", NULL, &err), AT_VALIDATION);
}

static void bar_lengths_are_proportional_to_the_values(void **state)
{
    (void)state;
    static const char *const labels[] = {"GMI", "HOUSING", "BIRTH"};
    int64_t v[] = {28000, 5000, 20000};
    hr_doc *d = page("en", "t");
    hr_chart c = {.kind = HR_BARS, .title = "Amounts", .desc = "Amount per benefit.", .label_heading = "Benefit",
                  .value_heading = "EUR", .labels = labels, .values = v, .n = 3, .decimals = 2};
    hr_chart_add(d, &c);
    xmlDocPtr x = parse(d);
    assert_int_equal(count(x, "//s:svg[@role='img']"), 1);
    assert_int_equal(count(x, "//s:rect[contains(@class,'hr-bar')]"), 3);
    /* the svg names its title and desc */
    char *lb = str(x, "//s:svg/@aria-labelledby");
    char *tid = str(x, "//s:svg/s:title/@id");
    char *did = str(x, "//s:svg/s:desc/@id");
    assert_non_null(strstr(lb, tid));
    assert_non_null(strstr(lb, did));
    free(lb), free(tid), free(did);
    double w[3];
    for (int i = 0; i < 3; i++) {
        char q[128];
        snprintf(q, sizeof q, "(//s:rect[contains(@class,'hr-bar')])[%d]/@width", i + 1);
        w[i] = attr_num(x, q);
        snprintf(q, sizeof q, "(//s:rect[contains(@class,'hr-bar')])[%d]/@data-value", i + 1);
        assert_int_equal((int64_t)attr_num(x, q), v[i]);
    }
    assert_true(fabs(w[0] - HR_PLOT) < 0.06);   /* the largest fills the plot */
    assert_true(fabs(w[1] / w[0] - 5000.0 / 28000) < 0.001);
    assert_true(fabs(w[2] / w[0] - 20000.0 / 28000) < 0.001);
    /* the fallback table has the exact figures */
    assert_int_equal(count(x, "//h:figure/h:table/h:tbody/h:tr"), 3);
    char *cell = str(x, "(//h:figure/h:table/h:tbody/h:tr)[1]/h:td");
    assert_string_equal(cell, "280.00");
    free(cell);
    xmlFreeDoc(x);
    hr_free(d);
}

static void a_negative_value_goes_the_other_way_from_zero(void **state)
{
    (void)state;
    int64_t v[] = {300, -100, 0, 200};
    hr_doc *d = page("en", "t");
    hr_chart c = {.kind = HR_COLUMNS, .title = "Balance", .desc = "Balance by month.", .label_heading = "Month",
                  .value_heading = "EUR", .labels = MONTHS, .values = v, .n = 4};
    hr_chart_add(d, &c);
    xmlDocPtr x = parse(d);
    double y[4], h[4];
    for (int i = 0; i < 4; i++) {
        char q[128];
        snprintf(q, sizeof q, "(//s:rect[contains(@class,'hr-bar')])[%d]/@y", i + 1);
        y[i] = attr_num(x, q);
        snprintf(q, sizeof q, "(//s:rect[contains(@class,'hr-bar')])[%d]/@height", i + 1);
        h[i] = attr_num(x, q);
    }
    /* span 400 (-100..300) over HR_PLOT */
    assert_true(fabs(h[0] - HR_PLOT * 300.0 / 400) < 0.06);
    assert_true(fabs(h[1] - HR_PLOT * 100.0 / 400) < 0.06);
    assert_true(h[2] == 0);
    double zero = y[0] + h[0];                 /* a positive column ends on the zero line */
    assert_true(fabs(y[1] - zero) < 0.06);     /* a negative one starts there, going down */
    assert_true(fabs(y[2] - zero) < 0.06);
    assert_true(fabs(y[3] + h[3] - zero) < 0.06);
    assert_int_equal(count(x, "//s:rect[@class='hr-bar neg']"), 1);
    xmlFreeDoc(x);
    hr_free(d);
}

static void all_zero_and_empty_series_are_drawn(void **state)
{
    (void)state;
    int64_t zeros[] = {0, 0, 0, 0};
    hr_doc *d = page("lv", "t");
    hr_chart c = {.kind = HR_LINE, .title = "Nulles", .desc = "d", .label_heading = "Mēnesis",
                  .value_heading = "Skaits", .labels = MONTHS, .values = zeros, .n = 4};
    hr_chart_add(d, &c);
    c.kind = HR_BARS;
    hr_chart_add(d, &c);
    c.n = 0;
    c.title = "Tukšs";
    hr_chart_add(d, &c);
    const char *html;
    at_error err;
    assert_int_equal(hr_html(d, &html, NULL, &err), AT_OK);
    assert_null(strstr(html, "nan"));
    assert_null(strstr(html, "inf"));
    xmlDocPtr x = parse(d);
    assert_int_equal(count(x, "//s:svg"), 3);
    assert_int_equal(count(x, "//s:circle[@class='hr-dot']"), 4);
    assert_int_equal(count(x, "//s:polyline[@class='hr-line']"), 1);
    /* every dot of an all-zero line sits on one height */
    assert_true(attr_num(x, "(//s:circle)[1]/@cy") == attr_num(x, "(//s:circle)[4]/@cy"));
    char *t = str(x, "(//s:svg)[3]/s:text");
    assert_string_equal(t, "Nav datu");
    free(t);
    assert_int_equal(count(x, "(//h:figure)[3]/h:table/h:tbody/h:tr"), 1);
    xmlFreeDoc(x);
    hr_free(d);
}

static void a_line_rises_with_its_values(void **state)
{
    (void)state;
    int64_t v[] = {10, 20, 40, 30};
    hr_doc *d = page("en", "t");
    hr_chart c = {.kind = HR_LINE, .title = "Series", .desc = "d", .label_heading = "Month", .value_heading = "N",
                  .labels = MONTHS, .values = v, .n = 4};
    hr_chart_add(d, &c);
    xmlDocPtr x = parse(d);
    double cy[4];
    for (int i = 0; i < 4; i++) {
        char q[64];
        snprintf(q, sizeof q, "(//s:circle)[%d]/@cy", i + 1);
        cy[i] = attr_num(x, q);
    }
    double zero = cy[2] + HR_PLOT;   /* 40 is the top of the span 0..40 */
    for (int i = 0; i < 4; i++)
        assert_true(fabs((zero - cy[i]) - HR_PLOT * (double)v[i] / 40) < 0.06);
    xmlFreeDoc(x);
    hr_free(d);
}

static void numbers_are_written_in_the_pages_language(void **state)
{
    (void)state;
    char b[48];
    assert_string_equal(hr_number(123456789, 2, "en", b, sizeof b), "1,234,567.89");
    assert_string_equal(hr_number(-123456789, 2, "lv", b, sizeof b), "-1\u00a0234\u00a0567,89");
    assert_string_equal(hr_number(5, 2, "en", b, sizeof b), "0.05");
    assert_string_equal(hr_number(-5, 2, "en", b, sizeof b), "-0.05");
    assert_string_equal(hr_number(999, 0, "en", b, sizeof b), "999");
    assert_string_equal(hr_number(1000, 0, "lv", b, sizeof b), "1\u00a0000");
    assert_string_equal(hr_number(INT64_MIN, 0, "en", b, sizeof b), "-9,223,372,036,854,775,808");
    char small[4];
    assert_string_equal(hr_number(123456, 0, "en", small, sizeof small), "123");
}

static void the_page_is_written_whole_to_its_file(void **state)
{
    (void)state;
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/hr_test_%d.html", tmp && *tmp ? tmp : P_tmpdir, (int)getpid());
    hr_doc *d = page("en", "File");
    hr_para(d, "body");
    at_error err;
    assert_int_equal(hr_write(d, path, &err), AT_OK);
    hr_free(d);
    xmlDocPtr x = xmlReadFile(path, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR);
    assert_non_null(x);
    xmlFreeDoc(x);
    unlink(path);
    d = page("en", "File");
    assert_int_equal(hr_write(d, "/nonexistent-dir/x.html", &err), AT_UNAVAILABLE);
    assert_string_equal(err.message, "could not create \"/nonexistent-dir/x.html.tmp\"");
    assert_string_equal(err.detail, "No such file or directory.");
    hr_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_is_escaped_everywhere),
        cmocka_unit_test(the_page_has_language_landmarks_and_accessible_tables),
        cmocka_unit_test(a_bad_language_tag_is_refused),
        cmocka_unit_test(bar_lengths_are_proportional_to_the_values),
        cmocka_unit_test(a_negative_value_goes_the_other_way_from_zero),
        cmocka_unit_test(all_zero_and_empty_series_are_drawn),
        cmocka_unit_test(a_line_rises_with_its_values),
        cmocka_unit_test(numbers_are_written_in_the_pages_language),
        cmocka_unit_test(the_page_is_written_whole_to_its_file),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
