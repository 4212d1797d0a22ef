// The one way src/serve includes cpp-httplib. Debian ships it as a compiled
// library built with these features (see `pkg-config --cflags cpp-httplib`);
// its class layouts depend on them, so every includer must define the same.
// Defining them here, not on the command line, keeps the shared PCH valid.
#pragma once
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>
