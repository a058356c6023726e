#pragma once
// Certificates for TLS tests, made with the `openssl` command in a directory of the test's:
//
//   TlsCertificates certs(dir);
//   auto ca = certs.authority("test-ca");                          // a CA (self-signed)
//   auto server = certs.issue(ca, "broker", {"DNS:localhost", "IP:127.0.0.1"});
//   auto client = certs.issue(ca, "order-service", {}, /*client=*/true);
//   server.certFile, server.keyFile, ca.certFile: PEM files
//
// EC P-256 keys (fast to make), SHA-256, valid for one day. Header-only. Throws
// std::runtime_error with openssl's output when a command fails.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace orders::testing {

struct TlsIdentity {
  std::string name;
  std::string certFile;
  std::string keyFile;
};

class TlsCertificates {
 public:
  explicit TlsCertificates(std::filesystem::path dir) : dir_(std::move(dir)) {}

  /// A self-signed CA named `name`.
  TlsIdentity authority(const std::string& name) {
    TlsIdentity ca = paths(name);
    const std::string ext = write(name + ".ext",
                                  "basicConstraints=critical,CA:TRUE\n"
                                  "keyUsage=critical,keyCertSign,cRLSign\n"
                                  "subjectKeyIdentifier=hash\n");
    run("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 "
        "-days 1 -subj '/CN=" +
        name + "' -keyout " + ca.keyFile + " -out " + ca.certFile + " -extensions v3 -config " +
        write(name + ".cnf", "[req]\ndistinguished_name=dn\n[dn]\n[v3]\n" + readText(ext)));
    return ca;
  }

  /// A certificate for `name` signed by `ca`: a server certificate with the subjectAltNames
  /// `altNames` ("DNS:localhost", "IP:127.0.0.1"), or a client certificate.
  TlsIdentity issue(const TlsIdentity& ca, const std::string& name,
                    const std::vector<std::string>& altNames, bool client = false) {
    TlsIdentity id = paths(name);
    const std::string csr = (dir_ / (name + ".csr")).string();
    run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=" +
        name + "' -keyout " + id.keyFile + " -out " + csr);
    std::string ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n";
    ext += client ? "extendedKeyUsage=clientAuth\n" : "extendedKeyUsage=serverAuth\n";
    if (!altNames.empty()) {
      ext += "subjectAltName=";
      for (std::size_t i = 0; i < altNames.size(); ++i) ext += (i ? "," : "") + altNames[i];
      ext += "\n";
    }
    run("openssl x509 -req -in " + csr + " -CA " + ca.certFile + " -CAkey " + ca.keyFile +
        " -CAcreateserial -sha256 -days 1 -extfile " + write(name + ".ext", ext) + " -out " +
        id.certFile);
    return id;
  }

 private:
  TlsIdentity paths(const std::string& name) const {
    return {name, (dir_ / (name + ".crt")).string(), (dir_ / (name + ".key")).string()};
  }
  std::string write(const std::string& file, const std::string& content) const {
    const auto path = dir_ / file;
    std::ofstream(path) << content;
    return path.string();
  }
  static std::string readText(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void run(const std::string& command) const {
    const std::string log = (dir_ / "openssl.log").string();
    if (std::system((command + " >" + log + " 2>&1").c_str()) != 0)
      throw std::runtime_error("TlsCertificates: '" + command + "' failed:\n" + readText(log));
  }

  std::filesystem::path dir_;
};

}  // namespace orders::testing
