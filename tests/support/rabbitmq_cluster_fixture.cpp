// The CTest fixture of the 3-node RabbitMQ cluster (rabbitmq_cluster.hpp):
//   rabbitmq_cluster_fixture start FILE   boots the cluster, writes its description to FILE, exits
//                                         (the nodes keep running)
//   rabbitmq_cluster_fixture stop FILE    kills the nodes FILE describes, removes them and FILE
// start first stops a cluster a previous run left behind in FILE (a run killed before cleanup).
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "support/rabbitmq_cluster.hpp"

namespace {

using orders::testing::RabbitMqCluster;

void stopDescribed(const std::string& file) {
  if (!std::filesystem::exists(file)) return;
  RabbitMqCluster::attach(file)->destroy();
  std::filesystem::remove(file);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::fprintf(stderr, "usage: %s start|stop FILE\n", argv[0]);
    return 2;
  }
  const std::string file = argv[2];
  try {
    stopDescribed(file);
    if (std::string(argv[1]) == "stop") {
      std::printf("cluster of %s stopped\n", file.c_str());
      return 0;
    }
    const auto started = std::chrono::steady_clock::now();
    auto cluster = RabbitMqCluster::start(3, /*outliveProcess=*/true);
    cluster->writeDescription(file);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    std::printf("3-node cluster running after %lld ms: %s\n", static_cast<long long>(ms),
                cluster->amqpUrlList().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rabbitmq_cluster_fixture %s: %s\n", argv[1], e.what());
    return 1;
  }
}
