// The CTest fixture of the PostgreSQL tests: `postgres_fixture start FILE` starts one private
// server (support/postgres_server.hpp) and writes its connection info to FILE, where every
// PostgreSQL test of this ctest run finds it; `postgres_fixture stop FILE` stops it and removes
// its directory and FILE. pg_ctl runs the server as a daemon, so it outlives the start command.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "support/postgres_server.hpp"

int main(int argc, char** argv) {
  using orders::testing::PostgresConnectionInfo;
  using orders::testing::PostgresServer;
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::cerr << "usage: postgres_fixture start|stop INFO_FILE\n";
    return 2;
  }
  const std::string file = argv[2];
  try {
    if (std::string(argv[1]) == "start") {
      // A server a crashed earlier run left behind is stopped first (same file).
      std::ifstream previous(file);
      if (previous) {
        std::stringstream text;
        text << previous.rdbuf();
        try {
          auto old = PostgresServer::attach(PostgresConnectionInfo::parse(text.str()));
          old->stopServer();
        } catch (const std::exception&) {
          // Already gone.
        }
      }
      auto server = PostgresServer::start();
      {
        std::ofstream out(file, std::ios::trunc);
        out << server->info().serialize();
      }
      std::cout << "PostgreSQL on port " << server->info().port << " in "
                << server->info().directory << "\n";
      server->keepRunning();  // past this process: the stop step removes it
      return 0;
    }
    std::ifstream in(file);
    if (!in) {
      std::cout << "no server to stop (" << file << " is missing)\n";
      return 0;
    }
    std::stringstream text;
    text << in.rdbuf();
    const auto info = PostgresConnectionInfo::parse(text.str());
    {
      auto server = PostgresServer::attach(info);
      server->stopServer();
    }
    std::filesystem::remove_all(info.directory);
    std::filesystem::remove(file);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
