/* bgw_tally--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION bgw_tally" to load this file. \quit

CREATE TABLE bgw_tally_counts (
	worker int4 PRIMARY KEY,
	n int8 NOT NULL
);

CREATE FUNCTION bgw_tally_launch(pg_catalog.int4, pg_catalog.int4)
RETURNS pg_catalog.int4 STRICT
AS 'MODULE_PATHNAME'
LANGUAGE C;
