// libpq/pqformat.h: protocol-format messages in a StringInfo.
#include "postgres/libpq/pqformat.h"

#include <cstring>

#include "postgres/utils/elog.h"
#include "postgres/utils/palloc.h"

namespace {

void SendBigEndian(StringInfo buf, uint64 v, int bytes) {
  char out[8];
  for (int i = bytes - 1; i >= 0; i--) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  appendBinaryStringInfo(buf, out, bytes);
}

// The next n bytes of msg, or ERROR if it has fewer left.
const char* Take(StringInfo msg, int n) {
  if (n < 0 || msg->cursor < 0 || n > msg->len - msg->cursor) {
    ereport(ERROR, errcode(ERRCODE_PROTOCOL_VIOLATION),
            errmsg("insufficient data left in message"));
  }
  const char* p = msg->data + msg->cursor;
  msg->cursor += n;
  return p;
}

uint64 GetBigEndian(StringInfo msg, int bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(Take(msg, bytes));
  uint64 v = 0;
  for (int i = 0; i < bytes; i++) v = (v << 8) | p[i];
  return v;
}

}  // namespace

extern "C" {

void pq_beginmessage(StringInfo buf, char msgtype) {
  initStringInfo(buf);
  buf->cursor = static_cast<unsigned char>(msgtype);
}

void pq_beginmessage_reuse(StringInfo buf, char msgtype) {
  resetStringInfo(buf);
  buf->cursor = static_cast<unsigned char>(msgtype);
}

void pq_sendbytes(StringInfo buf, const void* data, int datalen) {
  appendBinaryStringInfo(buf, static_cast<const char*>(data), datalen);
}

void pq_sendcountedtext(StringInfo buf, const char* str, int slen, bool countincludesself) {
  pq_sendint32(buf, static_cast<uint32>(countincludesself ? slen + 4 : slen));
  appendBinaryStringInfo(buf, str, slen);
}

void pq_sendtext(StringInfo buf, const char* str, int slen) {
  appendBinaryStringInfo(buf, str, slen);
}

void pq_sendstring(StringInfo buf, const char* str) {
  appendBinaryStringInfo(buf, str, static_cast<int>(strlen(str)) + 1);
}

void pq_send_ascii_string(StringInfo buf, const char* str) {
  // Anything that is not 7-bit ASCII becomes '?', as in PostgreSQL.
  for (const char* p = str; *p != '\0'; p++) {
    appendStringInfoChar(buf, (static_cast<unsigned char>(*p) & 0x80) ? '?' : *p);
  }
  appendStringInfoChar(buf, '\0');
}

void pq_sendfloat4(StringInfo buf, float4 f) {
  uint32 bits;
  memcpy(&bits, &f, sizeof bits);
  pq_sendint32(buf, bits);
}

void pq_sendfloat8(StringInfo buf, float8 f) {
  uint64 bits;
  memcpy(&bits, &f, sizeof bits);
  pq_sendint64(buf, bits);
}

void pq_sendint8(StringInfo buf, uint8 i) { SendBigEndian(buf, i, 1); }
void pq_sendint16(StringInfo buf, uint16 i) { SendBigEndian(buf, i, 2); }
void pq_sendint32(StringInfo buf, uint32 i) { SendBigEndian(buf, i, 4); }
void pq_sendint64(StringInfo buf, uint64 i) { SendBigEndian(buf, i, 8); }

void pq_sendint(StringInfo buf, uint32 i, int b) {
  if (b != 1 && b != 2 && b != 4) elog(ERROR, "unsupported integer size %d", b);
  SendBigEndian(buf, i, b);
}

void pq_begintypsend(StringInfo buf) {
  initStringInfo(buf);
  appendStringInfoSpaces(buf, VARHDRSZ);  // the bytea length word, set at the end
}

bytea* pq_endtypsend(StringInfo buf) {
  auto* result = reinterpret_cast<bytea*>(buf->data);
  SET_VARSIZE(result, buf->len);
  return result;
}

int pq_getmsgbyte(StringInfo msg) { return static_cast<unsigned char>(*Take(msg, 1)); }

unsigned int pq_getmsgint(StringInfo msg, int b) {
  if (b != 1 && b != 2 && b != 4) elog(ERROR, "unsupported integer size %d", b);
  return static_cast<unsigned int>(GetBigEndian(msg, b));
}

int64 pq_getmsgint64(StringInfo msg) { return static_cast<int64>(GetBigEndian(msg, 8)); }

float4 pq_getmsgfloat4(StringInfo msg) {
  const uint32 bits = static_cast<uint32>(GetBigEndian(msg, 4));
  float4 f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

float8 pq_getmsgfloat8(StringInfo msg) {
  const uint64 bits = GetBigEndian(msg, 8);
  float8 f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

const char* pq_getmsgbytes(StringInfo msg, int datalen) { return Take(msg, datalen); }

void pq_copymsgbytes(StringInfo msg, void* buf, int datalen) {
  memcpy(buf, Take(msg, datalen), static_cast<size_t>(datalen));
}

char* pq_getmsgtext(StringInfo msg, int rawbytes, int* nbytes) {
  const char* p = Take(msg, rawbytes);
  char* out = static_cast<char*>(palloc(static_cast<Size>(rawbytes) + 1));
  memcpy(out, p, static_cast<size_t>(rawbytes));
  out[rawbytes] = '\0';
  *nbytes = rawbytes;
  return out;
}

const char* pq_getmsgrawstring(StringInfo msg) {
  const char* start = msg->data + msg->cursor;
  const void* nul = msg->cursor >= 0 && msg->cursor < msg->len
                        ? memchr(start, '\0', static_cast<size_t>(msg->len - msg->cursor))
                        : nullptr;
  if (nul == nullptr) {
    ereport(ERROR, errcode(ERRCODE_PROTOCOL_VIOLATION), errmsg("invalid string in message"));
  }
  msg->cursor += static_cast<int>(static_cast<const char*>(nul) - start) + 1;
  return start;
}

const char* pq_getmsgstring(StringInfo msg) { return pq_getmsgrawstring(msg); }

void pq_getmsgend(StringInfo msg) {
  if (msg->cursor != msg->len) {
    ereport(ERROR, errcode(ERRCODE_PROTOCOL_VIOLATION), errmsg("invalid message format"));
  }
}

}  // extern "C"
