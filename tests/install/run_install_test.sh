#!/bin/bash
# The installed Order Service and OrderEvents package (cmake/install.cmake), from the outside:
#  1. `cmake --install` of this build into a fresh prefix;
#  2. the installed order-service and order-events take their schemas and topology from
#     <prefix>/share/order-service, run from a directory that is not the source tree;
#  3. examples/notification_service configures and builds out of tree with
#     find_package(OrderEvents CONFIG) and nothing of the source tree on its include path;
#  4. that binary runs the consumer runtime's kill -9 test against a real private broker.
# Usage: run_install_test.sh BUILD_DIR SOURCE_DIR CONSUMER_RMQTEST
set -euo pipefail
build=$1
source=$2
rmqtest=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in bin/order-service bin/order-events share/order-service/topology.json \
         share/order-service/schemas/schemas.lock lib/cmake/OrderEvents/OrderEventsConfig.cmake \
         include/order-service/consumer/consumer.hpp include/order-service/events/schema_registry.hpp; do
  [[ -e $prefix/$f ]] || { echo "not installed: $f"; exit 1; }
done
if [[ -e $prefix/include/order-service/orders || -e $prefix/include/order-service/http ]]; then
  echo "the package installs Order Service internals (orders/, http/)"; exit 1
fi

cd "$work"
help=$("$prefix/bin/order-service" --help)
grep -qF "$prefix/share/order-service/schemas" <<<"$help" ||
  { echo "installed order-service does not default to the installed schemas:"; echo "$help"; exit 1; }
grep -qF "$prefix/share/order-service/topology.json" <<<"$help" ||
  { echo "installed order-service does not default to the installed topology"; exit 1; }
"$prefix/bin/order-events" topology validate --help | grep -qF "$prefix/share/order-service/topology.json" ||
  { echo "installed order-events does not default to the installed topology"; exit 1; }

cmake -S "$source/examples/notification_service" -B "$work/example" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/example" -j2 >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
example=$work/example/notification-service-example
grep -q "$source/src" "$work/example/CMakeFiles/notification-service-example.dir/flags.make" &&
  { echo "the out-of-tree build sees the source tree's headers"; exit 1; }

NOTIFICATION_EXAMPLE_BINARY=$example "$rmqtest" --gtest_filter='ConsumerProcessRmqTest.*'
echo "installed package OK: $prefix"
