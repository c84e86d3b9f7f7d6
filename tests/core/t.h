/* t.h -- what every tests/core program includes: cmocka in the order it needs. */
#ifndef TESTS_CORE_T_H
#define TESTS_CORE_T_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#endif
