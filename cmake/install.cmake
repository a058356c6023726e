# `cmake --install`: the service's executables, its data files (schemas, default topology) under
# share/order-service, and the OrderEvents package (the event library and the consumer runtime
# with their public headers and a CMake package config) for other services (docs/architecture.md,
# "Installing").
include(CMakePackageConfigHelpers)

set(ORDER_SERVICE_INSTALL_DATADIR "${CMAKE_INSTALL_DATADIR}/order-service")
set(ORDER_SERVICE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/OrderEvents")

install(TARGETS order-service order-events RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# common/install_paths.hpp finds these from <prefix>/bin.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/schemas/ DESTINATION ${ORDER_SERVICE_INSTALL_DATADIR}/schemas)
install(FILES ${PROJECT_SOURCE_DIR}/config/topology.json DESTINATION ${ORDER_SERVICE_INSTALL_DATADIR})

# The package: the libraries a consumer links and the static libraries they need.
# Exported names: OrderEvents::events, ::consumer, ::consumer_rabbitmq, ::consumer_sqlite.
set(order_events_package_targets
  order_common order_events order_consumer order_amqp order_consumer_rabbitmq order_sqlite
  order_consumer_sqlite)
set_target_properties(order_events PROPERTIES EXPORT_NAME events)
set_target_properties(order_consumer PROPERTIES EXPORT_NAME consumer)
set_target_properties(order_consumer_rabbitmq PROPERTIES EXPORT_NAME consumer_rabbitmq)
set_target_properties(order_consumer_sqlite PROPERTIES EXPORT_NAME consumer_sqlite)
set_target_properties(order_common PROPERTIES EXPORT_NAME common)
set_target_properties(order_amqp PROPERTIES EXPORT_NAME amqp)
set_target_properties(order_sqlite PROPERTIES EXPORT_NAME sqlite)
# The same names inside this build, so that examples/ builds in tree and out of tree alike.
foreach(name IN ITEMS events consumer consumer_rabbitmq consumer_sqlite)
  add_library(OrderEvents::${name} ALIAS order_${name})
endforeach()
# A sanitized build's static libraries call into the sanitizer runtimes: whoever links them from
# the installed package must link those runtimes too.
if(ORDER_SERVICE_SANITIZE)
  foreach(target IN LISTS order_events_package_targets)
    target_link_options(${target} INTERFACE $<INSTALL_INTERFACE:-fsanitize=address,undefined>)
  endforeach()
endif()
install(TARGETS ${order_events_package_targets} EXPORT OrderEventsTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(target IN LISTS order_events_package_targets)
  get_target_property(source_dir ${target} SOURCE_DIR)
  install(DIRECTORY ${source_dir}/include/
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/order-service)
endforeach()
install(EXPORT OrderEventsTargets NAMESPACE OrderEvents:: DESTINATION ${ORDER_SERVICE_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/OrderEventsConfig.cmake.in
  ${PROJECT_BINARY_DIR}/OrderEventsConfig.cmake
  INSTALL_DESTINATION ${ORDER_SERVICE_INSTALL_CMAKEDIR}
  PATH_VARS ORDER_SERVICE_INSTALL_DATADIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/OrderEventsConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/OrderEventsConfig.cmake
  ${PROJECT_BINARY_DIR}/OrderEventsConfigVersion.cmake
  DESTINATION ${ORDER_SERVICE_INSTALL_CMAKEDIR})
