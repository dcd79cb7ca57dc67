/* bgw_tally--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bgw_tally UPDATE TO '1.1'" to load this file. \quit

CREATE FUNCTION bgw_tally_api()
RETURNS pg_catalog.int4 STRICT
AS 'MODULE_PATHNAME', 'bgw_tally_api'
LANGUAGE C;

CREATE FUNCTION bgw_tally_add(a pg_catalog.int4, b pg_catalog.int4 DEFAULT 10,
                              c pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'bgw_tally_add'
LANGUAGE C;

CREATE FUNCTION bgw_tally_session()
RETURNS pg_catalog.text STRICT
AS 'MODULE_PATHNAME', 'bgw_tally_session'
LANGUAGE C;
