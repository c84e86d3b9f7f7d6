/*
 * chromium.c -- headless Chromium for the tests of HTML pages (chromium.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "chromium.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsupport.h"

const char *chr_find(void)
{
    static char path[512];
    const char *env = getenv("ATB_CHROMIUM");
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
        return access(path, X_OK) == 0 ? path : NULL;
    }
    const char *dirs = getenv("PATH");
    static const char *const names[] = {"chromium", "chromium-browser"};
    for (size_t k = 0; dirs && k < 2; k++) {
        const char *p = dirs;
        while (*p) {
            size_t n = strcspn(p, ":");
            snprintf(path, sizeof path, "%.*s/%s", (int)n, p, names[k]);
            if (n && access(path, X_OK) == 0)
                return path;
            p += n + (p[n] == ':');
        }
    }
    return NULL;
}

int chr_open(const char *chromium, const char *html, const char *dir, const char *name, int width, int height,
             chr_page *out)
{
    char profile[600];
    snprintf(out->png, sizeof out->png, "%s/%s.png", dir, name);
    snprintf(out->dom, sizeof out->dom, "%s/%s.dom.html", dir, name);
    snprintf(out->log, sizeof out->log, "%s/%s.console.log", dir, name);
    snprintf(profile, sizeof profile, "%s/chromium-profile", dir);
    unlink(out->png);
    /* --no-sandbox: the tests may run as root (CI containers); the profile is private */
    static const char FLAGS[] = "--headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check "
                                "--disable-extensions --hide-scrollbars";
    int rc = t_system("timeout 120 '%s' %s --user-data-dir='%s' --window-size=%d,%d --screenshot='%s' "
                      "'file://%s' >/dev/null 2>&1",
                      chromium, FLAGS, profile, width, height, out->png, html);
    if (rc != 0)
        return rc;
    return t_system("timeout 120 '%s' %s --user-data-dir='%s' --enable-logging=stderr --v=0 --dump-dom "
                    "'file://%s' >'%s' 2>'%s'",
                    chromium, FLAGS, profile, html, out->dom, out->log);
}

void chr_png_census(const char *path, unsigned rgb, long *differ, long *colour, long *total)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        fail_msg("%s is not a PNG: %s", path, img.message);
    img.format = PNG_FORMAT_RGB;
    png_bytep px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(px);
    if (!png_image_finish_read(&img, NULL, px, 0, NULL))
        fail_msg("%s does not decode: %s", path, img.message);
    const png_byte r = (png_byte)(rgb >> 16), g = (png_byte)(rgb >> 8), b = (png_byte)rgb;
    *total = (long)img.width * (long)img.height;
    *differ = *colour = 0;
    for (long i = 0; i < *total; i++) {
        const png_byte *p = px + 3 * i;
        if (p[0] != px[0] || p[1] != px[1] || p[2] != px[2])
            (*differ)++;
        if (p[0] == r && p[1] == g && p[2] == b)
            (*colour)++;
    }
    free(px);
}

char *chr_console_errors(const char *log)
{
    char *l = chr_slurp(log);
    if (strstr(l, "Uncaught") || strstr(l, ":CONSOLE"))
        return l;
    free(l);
    return NULL;
}

char *chr_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

int chr_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}
