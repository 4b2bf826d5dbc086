{#- A naive UTC timestamp as a timezone-aware one at UTC; the zone is named, so the
    session's TimeZone cannot shift the instant. -#}
{%- macro featurestore_utc_aware(expr) -%}
    {{ return(adapter.dispatch('featurestore_utc_aware', 'featurestore')(expr)) }}
{%- endmacro -%}

{#- The SQL standard's AT TIME ZONE. -#}
{%- macro default__featurestore_utc_aware(expr) -%}
({{ expr }} at time zone 'UTC')
{%- endmacro -%}

{#- https://duckdb.org/docs/stable/sql/functions/timestamptz#timezonetext-timestamp -#}
{%- macro duckdb__featurestore_utc_aware(expr) -%}
timezone('UTC', {{ expr }})
{%- endmacro -%}

{#- https://docs.snowflake.com/en/sql-reference/functions/timestamp_from_parts -#}
{%- macro snowflake__featurestore_utc_aware(expr) -%}
timestamp_tz_from_parts(year({{ expr }}), month({{ expr }}), day({{ expr }}), hour({{ expr }}), minute({{ expr }}), second({{ expr }}), date_part(nanosecond, {{ expr }}), 'UTC')
{%- endmacro -%}

{#- A naive UTC time (TIMESTAMP_NTZ) as the instant (TIMESTAMP) it names.
    https://spark.apache.org/docs/latest/api/sql/#timestamp_micros -#}
{%- macro spark__featurestore_utc_aware(expr) -%}
timestamp_micros(unix_micros({{ expr }}))
{%- endmacro -%}
