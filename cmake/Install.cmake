# `cmake --install`: the binaries, the client library with its headers and CMake package
# (find_package(paperboy CONFIG) -> paperboy::client), paperboy.pc, the systemd units and the
# example configuration. Each rule names its component, which cmake/Packaging.cmake turns into a
# Debian package: daemon (paperboy), dev (libpaperboy-dev), bench (not packaged).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PAPERBOY_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit goes, relative to the install prefix (systemd also reads /usr/local/lib/systemd/system)")
set(PAPERBOY_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/paperboy")

install(TARGETS paperboyd paperboy RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT daemon)
if(TARGET paperboy-bench)
  install(TARGETS paperboy-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT bench)
endif()

install(TARGETS paperboy_protocol paperboy_client EXPORT paperboyTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/protocol/include/ ${PROJECT_SOURCE_DIR}/clients/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(EXPORT paperboyTargets NAMESPACE paperboy:: DESTINATION ${PAPERBOY_CMAKE_DIR} COMPONENT dev)

configure_package_config_file(cmake/paperboyConfig.cmake.in
  ${PROJECT_BINARY_DIR}/paperboyConfig.cmake INSTALL_DESTINATION ${PAPERBOY_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/paperboyConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/paperboyConfig.cmake
              ${PROJECT_BINARY_DIR}/paperboyConfigVersion.cmake
        DESTINATION ${PAPERBOY_CMAKE_DIR} COMPONENT dev)

configure_file(cmake/paperboy.pc.in ${PROJECT_BINARY_DIR}/paperboy.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/paperboy.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# The units name the paperboyd this install puts in place, wherever the prefix is;
# scripts/check-units.sh configures them the same way to check them.
foreach(unit paperboyd.service paperboyd.socket)
  configure_file(systemd/${unit}.in ${PROJECT_BINARY_DIR}/${unit} @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${unit} DESTINATION ${PAPERBOY_SYSTEMD_UNIT_DIR} COMPONENT daemon)
endforeach()
# The example configuration, every setting at its default and commented out (the unit reads it).
install(FILES systemd/paperboyd.toml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/paperboy COMPONENT daemon)
install(FILES README.md protocol/PROTOCOL.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT daemon)
