#ifndef WHARF_CLIBPQ_SHIM_H
#define WHARF_CLIBPQ_SHIM_H
// libpq, PostgreSQL's C client (Debian libpq-dev). Imported only by the Postgres module.
#include <libpq-fe.h>
#endif
