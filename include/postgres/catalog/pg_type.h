/*
 * catalog/pg_type.h: PostgreSQL's OIDs of the built-in types that SPI
 * parameters and results use (the values are PostgreSQL's, so argtypes
 * arrays written for PostgreSQL work unchanged).
 */
#ifndef BGW_COMPAT_PG_TYPE_H
#define BGW_COMPAT_PG_TYPE_H

#define BOOLOID 16
#define BYTEAOID 17
#define CHAROID 18
#define NAMEOID 19
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23
#define TEXTOID 25
#define OIDOID 26
#define FLOAT4OID 700
#define FLOAT8OID 701
#define UNKNOWNOID 705
#define VARCHAROID 1043
#define TIMESTAMPTZOID 1184
#define NUMERICOID 1700

#endif /* BGW_COMPAT_PG_TYPE_H */
