/*
 * libpq/pqformat.h: building and reading protocol-format messages in a
 * StringInfo, PostgreSQL 13-15 compatible: integers in network byte order,
 * NUL-terminated strings, floats as their IEEE bits, counted text, and the
 * binary send/receive helpers pq_begintypsend/pq_endtypsend. Text is UTF-8
 * and never converted (the server's only encoding).
 *
 * Not here: the functions that send to the client (pq_endmessage,
 * pq_puttextmessage, pq_putemptymessage): module code has no frontend
 * connection to write to in this server.
 */
#ifndef BGW_COMPAT_PQFORMAT_H
#define BGW_COMPAT_PQFORMAT_H

#include "fmgr.h"
#include "lib/stringinfo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts a message of type msgtype (kept in buf->cursor until it is sent). */
extern void pq_beginmessage(StringInfo buf, char msgtype);
extern void pq_beginmessage_reuse(StringInfo buf, char msgtype);

extern void pq_sendbytes(StringInfo buf, const void *data, int datalen);
extern void pq_sendcountedtext(StringInfo buf, const char *str, int slen, bool countincludesself);
extern void pq_sendtext(StringInfo buf, const char *str, int slen);
extern void pq_sendstring(StringInfo buf, const char *str);
extern void pq_send_ascii_string(StringInfo buf, const char *str);
extern void pq_sendfloat4(StringInfo buf, float4 f);
extern void pq_sendfloat8(StringInfo buf, float8 f);
extern void pq_sendint8(StringInfo buf, uint8 i);
extern void pq_sendint16(StringInfo buf, uint16 i);
extern void pq_sendint32(StringInfo buf, uint32 i);
extern void pq_sendint64(StringInfo buf, uint64 i);
#define pq_sendbyte(buf, byt) pq_sendint8(buf, byt)
/* Deprecated in PostgreSQL: b is 1, 2 or 4. */
extern void pq_sendint(StringInfo buf, uint32 i, int b);

extern void pq_begintypsend(StringInfo buf);
extern bytea *pq_endtypsend(StringInfo buf);

/* Reading from buf->cursor; ERROR 08P01 past the end. */
extern int	pq_getmsgbyte(StringInfo msg);
extern unsigned int pq_getmsgint(StringInfo msg, int b);
extern int64 pq_getmsgint64(StringInfo msg);
extern float4 pq_getmsgfloat4(StringInfo msg);
extern float8 pq_getmsgfloat8(StringInfo msg);
extern const char *pq_getmsgbytes(StringInfo msg, int datalen);
extern void pq_copymsgbytes(StringInfo msg, void *buf, int datalen);
extern char *pq_getmsgtext(StringInfo msg, int rawbytes, int *nbytes);
extern const char *pq_getmsgstring(StringInfo msg);
extern const char *pq_getmsgrawstring(StringInfo msg);
/* ERROR 08P01 unless the whole message was read. */
extern void pq_getmsgend(StringInfo msg);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PQFORMAT_H */
