/* postgres_ext.h: the few definitions PostgreSQL shares with clients. */
#ifndef BGW_COMPAT_POSTGRES_EXT_H
#define BGW_COMPAT_POSTGRES_EXT_H

typedef unsigned int Oid;
#define InvalidOid ((Oid) 0)
#define OID_MAX UINT_MAX
#define PG_DIAG_SEVERITY 'S'
#define PG_DIAG_SQLSTATE 'C'
#define PG_DIAG_MESSAGE_PRIMARY 'M'
#define PG_DIAG_MESSAGE_DETAIL 'D'
#define PG_DIAG_MESSAGE_HINT 'H'

#endif /* BGW_COMPAT_POSTGRES_EXT_H */
