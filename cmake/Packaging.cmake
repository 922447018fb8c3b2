# `cpack -G DEB`: Debian packages made from the install rules' components (cmake/Install.cmake).
#   paperboy          paperboyd and the paperboy CLI, the systemd units, the example configuration
#                     /etc/paperboy/paperboyd.toml (a conffile) and the docs: what an operator installs
#   libpaperboy-dev   the client library (static: libpaperboy_client.a, libpaperboy_protocol.a), its
#                     headers, CMake package and paperboy.pc: what someone building a client installs
# Two packages because neither needs the other: a broker host wants no headers, and a program
# built against the static client library carries it inside. paperboy-bench (component bench) is
# in neither: it is a load generator for comparing brokers on a developer's machine, not a tool for
# running one. scripts/check-deb.sh builds both, checks their contents and installs them.
#
# The units' ExecStart= and paperboy.pc name the paths the build was configured with, so the
# packages need a build configured with -DCMAKE_INSTALL_PREFIX=/usr (cpack refuses any other;
# cmake/deb/CPackChecks.cmake). With that prefix GNUInstallDirs puts the configuration in /etc and
# the libraries in /usr/lib/<multiarch>.
set(PAPERBOY_PACKAGE_MAINTAINER "paperboy maintainers <maintainers@users.noreply.h-seed-9d1f81a6.example>"
    CACHE STRING "The Debian packages' Maintainer field")
set(PAPERBOY_PACKAGE_HOMEPAGE "" CACHE STRING "The Debian packages' Homepage field (left out when empty)")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME paperboy)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${PAPERBOY_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PAPERBOY_CONFIGURED_PREFIX "${CMAKE_INSTALL_PREFIX}")  # for CPackChecks.cmake
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/deb/CPackChecks.cmake)
set(CPACK_STRIP_FILES ON)  # the programs; install(TARGETS) never strips a static library

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemon dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # paperboy_0.2.0-1_amd64.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
if(PAPERBOY_PACKAGE_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${PAPERBOY_PACKAGE_HOMEPAGE}")
endif()
# dpkg-shlibdeps computes what the programs load (spdlog, fmt, libstdc++, ...); both libraries of
# ours are static, so there is no shared library of ours for it to find.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)

set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME paperboy)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION net)
# The first line is the synopsis; cpack indents the rest and turns the empty line into " .".
set(CPACK_COMPONENT_DAEMON_DESCRIPTION "small, fast message broker (daemon and command line)
paperboyd speaks a length-prefixed binary protocol over TCP: /topic channels fan out to every
subscriber, /queue channels hand each message to one consumer. Bounded per-client send queues
and per-queue backlogs keep a slow subscriber from stalling the others.

This package holds paperboyd with its systemd service and socket (installed, not enabled), the
example configuration /etc/paperboy/paperboyd.toml, and the paperboy command line.")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/deb/conffiles ${PROJECT_SOURCE_DIR}/cmake/deb/postinst
    ${PROJECT_SOURCE_DIR}/cmake/deb/prerm ${PROJECT_SOURCE_DIR}/cmake/deb/postrm)
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libpaperboy-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The client's headers use standalone Asio's (AsyncClient hands out asio::awaitables); its TLS
# links OpenSSL, which a static library leaves to the program that uses it.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libasio-dev, libssl-dev")
set(CPACK_COMPONENT_DEV_DESCRIPTION "C++20 client library for the paperboy message broker
The blocking Client and the Asio-coroutine AsyncClient, as static libraries, with their headers,
a CMake package (find_package(paperboy CONFIG) gives paperboy::client) and paperboy.pc.")

include(CPack)
