# Install rules, then a Debian package of them: `cpack -G DEB` in the build
# directory builds tickrelay_<version>_<arch>.deb. Its Depends come from
# dpkg-shlibdeps on the programs, plus adduser for the service user; the
# files under /etc/tickrelay are conffiles, so an edited tickrelayd.yaml
# survives upgrades. Maintainer scripts: deploy/debian/.
include(${CMAKE_CURRENT_LIST_DIR}/install.cmake)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tickrelay)
set(CPACK_PACKAGE_VENDOR tickrelay)
set(CPACK_PACKAGE_CONTACT "tickrelay maintainers <tickrelay@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Binance market-data WebSocket relay for many local clients")
set(CPACK_PACKAGE_DESCRIPTION
    "tickrelayd relays Binance's public market-data WebSocket streams to many local clients from one core, speaking Binance's own stream protocol. Includes the tickrelay-sim exchange simulator, the systemd units and the load-profile template.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# A Debian package lives in /usr whatever CMAKE_INSTALL_PREFIX the build used.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, grafana")

set(_tickrelay_debian_dir ${CMAKE_BINARY_DIR}/debian)
foreach(_script postinst prerm postrm conffiles)
  configure_file(deploy/debian/${_script}.in ${_tickrelay_debian_dir}/${_script} @ONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_tickrelay_debian_dir}/postinst ${_tickrelay_debian_dir}/prerm ${_tickrelay_debian_dir}/postrm
    ${_tickrelay_debian_dir}/conffiles)
# Scripts 0755, conffiles 0644, as dpkg expects.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
