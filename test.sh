#!/usr/bin/env bash
# Runs every test of the solution against a real PostgreSQL (Testcontainers where a Docker engine answers,
# otherwise a throwaway local server started from the installed PostgreSQL binaries).
set -euo pipefail
cd "$(dirname "$0")"
exec dotnet test --solution Participation.sln "$@"
