# paperboy_add_pytest(NAME <test> DIRECTORY <dir> [WORKING_DIRECTORY <cwd>] [TIMEOUT <s>]
#                     [ENVIRONMENT <VAR=value>...]): one ctest test, label `integration`, that runs
# pytest on <dir> from <cwd> (default: <dir>). It needs an interpreter with
# pytest and pytest-asyncio (python3-pytest, python3-pytest-asyncio from scripts/setup-debian.sh);
# without one the test fails, saying so.
include_guard(GLOBAL)

# Debian's pytest lives in /usr/bin/python3's dist-packages, which another python3 first on the
# PATH (pyenv, a venv) may not see: take the first interpreter that can import both. Found once,
# kept in a global property (a variable would be seen by the first includer's directory only).
function(paperboy_pytest_python out)
  get_property(known GLOBAL PROPERTY PAPERBOY_PYTEST_PYTHON SET)
  if(NOT known)
    find_package(Python3 COMPONENTS Interpreter QUIET)
    set(found "")
    foreach(candidate IN ITEMS "${Python3_EXECUTABLE}" /usr/bin/python3)
      if(candidate AND EXISTS "${candidate}")
        execute_process(COMMAND "${candidate}" -c "import pytest, pytest_asyncio"
          RESULT_VARIABLE import_failed OUTPUT_QUIET ERROR_QUIET)
        if(NOT import_failed)
          set(found "${candidate}")
          break()
        endif()
      endif()
    endforeach()
    set_property(GLOBAL PROPERTY PAPERBOY_PYTEST_PYTHON "${found}")
  endif()
  get_property(python GLOBAL PROPERTY PAPERBOY_PYTEST_PYTHON)
  set(${out} "${python}" PARENT_SCOPE)
endfunction()

function(paperboy_add_pytest)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;DIRECTORY;WORKING_DIRECTORY;TIMEOUT" "ENVIRONMENT")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 240)
  endif()
  if(NOT arg_WORKING_DIRECTORY)
    set(arg_WORKING_DIRECTORY "${arg_DIRECTORY}")
  endif()
  paperboy_pytest_python(python)
  if(python)
    add_test(NAME ${arg_NAME}
      COMMAND "${python}" -m pytest -q -p no:cacheprovider "${arg_DIRECTORY}"
      WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}")
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
