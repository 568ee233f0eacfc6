#!/bin/sh
# Runs once, when the PostgreSQL volume is empty (docker-entrypoint-initdb.d): one role and
# one database per service, so the storefront cannot even see the marketplace's tables.
# Passwords come from the environment; nothing secret is written here.
set -eu
: "${LIVECART_ORDERS_DB_PASSWORD:?}" "${LIVECART_STOREFRONT_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v orders_password="$LIVECART_ORDERS_DB_PASSWORD" \
    -v storefront_password="$LIVECART_STOREFRONT_DB_PASSWORD" <<'SQL'
CREATE ROLE orders LOGIN PASSWORD :'orders_password';
CREATE DATABASE orders OWNER orders;
REVOKE ALL ON DATABASE orders FROM PUBLIC;
CREATE ROLE storefront LOGIN PASSWORD :'storefront_password';
CREATE DATABASE storefront OWNER storefront;
REVOKE ALL ON DATABASE storefront FROM PUBLIC;
SQL
