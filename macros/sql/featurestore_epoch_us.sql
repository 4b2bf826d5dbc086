{#- A timestamp as integer microseconds since 1970-01-01 UTC: a naive one read as UTC,
    an aware one by its instant. Models may call it too. -#}
{%- macro featurestore_epoch_us(ts) -%}
    {{ return(adapter.dispatch('featurestore_epoch_us', 'featurestore')(ts)) }}
{%- endmacro -%}

{#- Portable: whole seconds (floored: a cast would round .5 up) plus the microseconds. -#}
{%- macro default__featurestore_epoch_us(ts) -%}
(cast(floor(extract(epoch from {{ ts }})) as bigint) * 1000000 + cast(extract(microseconds from {{ ts }}) as bigint) % 1000000)
{%- endmacro -%}

{#- A TIMESTAMPTZ by its instant, whatever the session's TimeZone.
    https://duckdb.org/docs/stable/sql/functions/timestamp#epoch_ustimestamp -#}
{%- macro duckdb__featurestore_epoch_us(ts) -%}
epoch_us({{ ts }})
{%- endmacro -%}

{#- https://docs.snowflake.com/en/sql-reference/functions/date_part -#}
{%- macro snowflake__featurestore_epoch_us(ts) -%}
date_part(epoch_microsecond, {{ ts }})
{%- endmacro -%}

{#- Spark's TIMESTAMP is an instant (TIMESTAMP_LTZ), TIMESTAMP_NTZ a naive wall clock;
    naive times are UTC in featurestore, so the two meet through integer epoch
    microseconds: `unix_micros` of either type, which no session time zone shifts
    (tested under America/New_York, its DST gap included, and Asia/Kolkata). A cast
    between the two types would use the session's zone, and so does `timestampdiff` on
    TIMESTAMP_NTZ (an hour off in a DST gap): neither is used.
    https://spark.apache.org/docs/latest/api/sql/#unix_micros -#}
{%- macro spark__featurestore_epoch_us(ts) -%}
unix_micros({{ ts }})
{%- endmacro -%}
