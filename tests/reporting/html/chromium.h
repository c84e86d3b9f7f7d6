/*
 * chromium.h -- headless Chromium for the tests of HTML pages (tests/reporting/html and
 * tests/means): find it, open a page as a screenshot and as its rendered DOM with the
 * console on stderr, and count the screenshot's pixels.
 *
 * Chromium is ATB_CHROMIUM, else chromium or chromium-browser on PATH; tests without it
 * skip (scripts/deps.sh installs it, so CI runs them). Runs with --no-sandbox (the tests
 * may run as root in CI containers) and a private profile folder.
 */
#ifndef TESTS_CHROMIUM_H
#define TESTS_CHROMIUM_H

#include <stdbool.h>
#include <stddef.h>

/* The Chromium to use, or NULL when there is none. */
const char *chr_find(void);

/* What chr_open made, each a file path in the caller's folder: */
typedef struct chr_page {
    char png[600];        /* <dir>/<name>.png: the screenshot, width x height pixels */
    char dom[600];        /* <dir>/<name>.dom.html: the DOM after rendering */
    char log[600];        /* <dir>/<name>.console.log: Chromium's stderr with console logging */
} chr_page;

/* Open the page at html (an absolute path) in headless Chromium twice: a screenshot of
 * width x height, then --dump-dom with console logging. Files go to dir (kept as test
 * artefacts), named after name; the profile is dir/chromium-profile. Returns 0 when both
 * runs exited 0, else the first failing exit status. */
int chr_open(const char *chromium, const char *html, const char *dir, const char *name, int width, int height,
             chr_page *out);

/* The screenshot's pixels: how many differ from the top-left one (the page background)
 * and how many are exactly the colour rgb (0xRRGGBB). Fails the test when it is no PNG. */
void chr_png_census(const char *path, unsigned rgb, long *differ, long *colour, long *total);

/* The console errors in a log of chr_open ("Uncaught", ":CONSOLE"), or NULL when none:
 * the whole log, malloc'd (caller frees). */
char *chr_console_errors(const char *log);

/* The whole file as a NUL-terminated string (caller frees); fails the test if unreadable. */
char *chr_slurp(const char *path);

/* How many times needle occurs in hay, not overlapping. */
int chr_count(const char *hay, const char *needle);

#endif
