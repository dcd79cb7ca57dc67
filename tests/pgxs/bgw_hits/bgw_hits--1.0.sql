/* bgw_hits--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION bgw_hits" to load this file. \quit

CREATE FUNCTION bgw_hits_hit(name text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bgw_hits_hit'
LANGUAGE C STRICT PARALLEL SAFE;

CREATE FUNCTION bgw_hits_count(name text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'bgw_hits_count'
LANGUAGE C STRICT PARALLEL SAFE;

CREATE FUNCTION bgw_hits_entries()
RETURNS bigint
AS 'MODULE_PATHNAME', 'bgw_hits_entries'
LANGUAGE C STRICT PARALLEL SAFE;

CREATE FUNCTION bgw_hits_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'bgw_hits_reset'
LANGUAGE C STRICT;
