# Read by cpack (CPACK_PROJECT_CONFIG_FILE) before it packages: a Debian package installs under
# /usr, and the units and paperboy.pc name the prefix the build was configured with.
if(CPACK_GENERATOR STREQUAL "DEB"
   AND NOT CPACK_PAPERBOY_CONFIGURED_PREFIX STREQUAL CPACK_PACKAGING_INSTALL_PREFIX)
  message(FATAL_ERROR "This build is configured with CMAKE_INSTALL_PREFIX=${CPACK_PAPERBOY_CONFIGURED_PREFIX}; "
    "its units and paperboy.pc would name that, not ${CPACK_PACKAGING_INSTALL_PREFIX}. "
    "Configure the package's build with -DCMAKE_INSTALL_PREFIX=${CPACK_PACKAGING_INSTALL_PREFIX}.")
endif()
