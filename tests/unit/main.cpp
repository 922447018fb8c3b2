// The doctest runner for paperboy_unit_tests: every *_test.cpp in this directory links into it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
