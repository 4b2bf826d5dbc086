{#- A timezone-aware timestamp as naive UTC (its instant, the zone dropped). Naive
    timestamps are UTC (the store's convention), so that no comparison ever depends on
    the session's TimeZone (dbt sessions run in the machine's or the account's zone). -#}
{%- macro featurestore_utc_naive(expr) -%}
    {{ return(adapter.dispatch('featurestore_utc_naive', 'featurestore')(expr)) }}
{%- endmacro -%}

{#- The SQL standard's AT TIME ZONE. -#}
{%- macro default__featurestore_utc_naive(expr) -%}
({{ expr }} at time zone 'UTC')
{%- endmacro -%}

{#- https://duckdb.org/docs/stable/sql/functions/timestamptz#timezonetext-timestamptz -#}
{%- macro duckdb__featurestore_utc_naive(expr) -%}
timezone('UTC', {{ expr }})
{%- endmacro -%}

{#- https://docs.snowflake.com/en/sql-reference/functions/convert_timezone -#}
{%- macro snowflake__featurestore_utc_naive(expr) -%}
cast(convert_timezone('UTC', {{ expr }}) as timestamp_ntz)
{%- endmacro -%}

{#- An instant (TIMESTAMP) as naive UTC (TIMESTAMP_NTZ), exactly, through epoch
    microseconds: a cast would use the session's zone.
    https://spark.apache.org/docs/latest/api/sql/#unix_micros -#}
{%- macro spark__featurestore_utc_naive(expr) -%}
timestampadd(MICROSECOND, unix_micros({{ expr }}), timestamp_ntz'1970-01-01 00:00:00')
{%- endmacro -%}
