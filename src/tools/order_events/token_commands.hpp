#pragma once
// `order-events token ...`: development tokens and key sets for the API's bearer authentication
// (docs/security.md, "API: tokens and roles"). Production tokens come from the identity provider;
// these are for local runs, tests and service-to-service secrets.
//
//   order-events token mint --sub SUBJECT [--role ROLE]... (--secret-file FILE |
//                           --private-key PEM --kid KID) [--iss ISSUER] [--aud AUDIENCE]
//                           [--ttl SECONDS] [--roles-claim NAME]
//       Prints a signed JWT: HS256 with the secret in FILE (one trailing newline ignored, as the
//       service reads it), RS256 or ES256 with an RSA / P-256 private key in PEM (the algorithm
//       follows from the key). Claims: sub, iat, exp (now + ttl, default 3600), iss and aud when
//       given, and the roles under --roles-claim (default "roles", an array; "scope" makes it a
//       space-separated string).
//   order-events token jwks --public-key PEM --kid KID [--public-key PEM --kid KID]...
//       Prints the JWKS (RFC 7517) of the public keys, for --jwks-file.
//
// Exit 0 success, 2 bad input (unreadable file, wrong key type, secret shorter than 32 bytes).

#include <CLI/CLI.hpp>
#include <iostream>

#include "common/clock.hpp"

namespace orders::tools {

/// Adds `token` (mint, jwks) to `app`. `clock`, `out` and `err` must outlive `app`.
void addTokenCommands(CLI::App& app, const Clock& clock, std::ostream& out = std::cout,
                      std::ostream& err = std::cerr);

}  // namespace orders::tools
