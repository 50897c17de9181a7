# Where `cmake --install` (and so the .deb) puts tickrelay:
#   bin/                      tickrelayd, tickrelay-sim, tickrelay-load
#   /etc/tickrelay/           tickrelayd.yaml, usdt-pairs.txt, load/example.env
#   <systemd unit dir>        tickrelayd.service, tickrelayd.socket,
#                             tickrelay-load@.service
#   <sysusers dir>            tickrelay.conf (the service user)
#   share/tickrelay/          grafana/, prometheus/, haproxy/ and kubernetes/ when present
#   share/doc/tickrelay/      README.md (deploy/README.md)
# The configuration and unit directories are absolute: an operator edits
# /etc/tickrelay whatever the prefix, and systemd only reads its own
# directories. Override them with -DTICKRELAY_INSTALL_CONFDIR=... etc.
include(GNUInstallDirs)

set(TICKRELAY_INSTALL_CONFDIR "/etc/tickrelay" CACHE PATH "Directory for tickrelayd.yaml and load profiles")
if(NOT DEFINED TICKRELAY_SYSTEMD_UNIT_DIR)
  pkg_get_variable(_tickrelay_unit_dir systemd systemdsystemunitdir)
  if(NOT _tickrelay_unit_dir)
    set(_tickrelay_unit_dir /lib/systemd/system)
  endif()
  set(TICKRELAY_SYSTEMD_UNIT_DIR "${_tickrelay_unit_dir}" CACHE PATH "systemd system unit directory")
endif()
if(NOT DEFINED TICKRELAY_SYSUSERS_DIR)
  pkg_get_variable(_tickrelay_sysusers_dir systemd sysusersdir)
  if(NOT _tickrelay_sysusers_dir)
    set(_tickrelay_sysusers_dir /usr/lib/sysusers.d)
  endif()
  set(TICKRELAY_SYSUSERS_DIR "${_tickrelay_sysusers_dir}" CACHE PATH "systemd sysusers.d directory")
endif()

set(_tickrelay_programs tickrelayd tickrelay-sim)
# The load client is built by client/ once it has sources.
if(TARGET tickrelay-load)
  list(APPEND _tickrelay_programs tickrelay-load)
endif()
install(TARGETS ${_tickrelay_programs} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(FILES config/tickrelayd.yaml config/usdt-pairs.txt DESTINATION ${TICKRELAY_INSTALL_CONFDIR})
install(FILES deploy/systemd/load/example.env DESTINATION ${TICKRELAY_INSTALL_CONFDIR}/load)
install(FILES deploy/systemd/tickrelay.sysusers RENAME tickrelay.conf DESTINATION ${TICKRELAY_SYSUSERS_DIR})

# The units name /usr/bin and /etc/tickrelay, as the .deb installs them; the
# paths are rewritten for the prefix in effect when installing (CPack
# installs with its own prefix, so this cannot happen at configure time).
configure_file(cmake/install_units.cmake.in ${CMAKE_BINARY_DIR}/install_units.cmake @ONLY)
install(SCRIPT ${CMAKE_BINARY_DIR}/install_units.cmake)

# Someone else's folders: installed when they exist.
install(DIRECTORY grafana/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tickrelay/grafana OPTIONAL)
install(DIRECTORY deploy/prometheus/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tickrelay/prometheus OPTIONAL)
# Scaled out (deploy/README.md, "Beyond one box"): HAProxy in front of edge
# relays, the Kubernetes manifests.
install(DIRECTORY deploy/haproxy/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tickrelay/haproxy OPTIONAL)
install(DIRECTORY deploy/kubernetes/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tickrelay/kubernetes OPTIONAL)
install(FILES deploy/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
