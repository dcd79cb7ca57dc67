/*
 * access/htup_details.h: see access/htup.h (heap_getattr lives there).
 */
#ifndef BGW_COMPAT_HTUP_DETAILS_H
#define BGW_COMPAT_HTUP_DETAILS_H

#include "access/htup.h"

#endif /* BGW_COMPAT_HTUP_DETAILS_H */
