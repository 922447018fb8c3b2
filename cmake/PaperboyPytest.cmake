# paperboy_add_pytest(NAME <test> DIRECTORY <dir> [ENVIRONMENT <VAR=value>...]): one ctest test,
# label `integration`, that runs pytest on <dir> from inside it. It needs an interpreter with
# pytest and pytest-asyncio (python3-pytest, python3-pytest-asyncio from scripts/setup-debian.sh);
# without one the test fails, saying so.
include_guard(GLOBAL)

find_package(Python3 COMPONENTS Interpreter QUIET)
# Debian's pytest lives in /usr/bin/python3's dist-packages, which another python3 first on the
# PATH (pyenv, a venv) may not see: take the first interpreter that can import both.
set(PAPERBOY_PYTEST_PYTHON "")
foreach(candidate IN ITEMS "${Python3_EXECUTABLE}" /usr/bin/python3)
  if(candidate AND EXISTS "${candidate}")
    execute_process(COMMAND "${candidate}" -c "import pytest, pytest_asyncio"
      RESULT_VARIABLE import_failed OUTPUT_QUIET ERROR_QUIET)
    if(NOT import_failed)
      set(PAPERBOY_PYTEST_PYTHON "${candidate}")
      break()
    endif()
  endif()
endforeach()

function(paperboy_add_pytest)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;DIRECTORY;TIMEOUT" "ENVIRONMENT")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 240)
  endif()
  if(PAPERBOY_PYTEST_PYTHON)
    add_test(NAME ${arg_NAME}
      COMMAND "${PAPERBOY_PYTEST_PYTHON}" -m pytest -q -p no:cacheprovider "${arg_DIRECTORY}"
      WORKING_DIRECTORY "${arg_DIRECTORY}")
  else()
    message(WARNING "no python3 with pytest and pytest-asyncio: the ${arg_NAME} test will fail")
    add_test(NAME ${arg_NAME}
      COMMAND "${CMAKE_COMMAND}" -E echo
        "${arg_NAME}: no python3 with pytest and pytest-asyncio (run scripts/setup-debian.sh)")
    set_tests_properties(${arg_NAME} PROPERTIES WILL_FAIL TRUE)
  endif()
  set_tests_properties(${arg_NAME} PROPERTIES LABELS integration TIMEOUT ${arg_TIMEOUT}
    ENVIRONMENT "${arg_ENVIRONMENT};PYTHONDONTWRITEBYTECODE=1")
endfunction()
