{#- Integer epoch microseconds back to a naive UTC timestamp. Models may call it too. -#}
{%- macro featurestore_from_epoch_us(us) -%}
    {{ return(adapter.dispatch('featurestore_from_epoch_us', 'featurestore')(us)) }}
{%- endmacro -%}

{#- Portable: days, seconds and microseconds as intervals (each factor stays small). -#}
{%- macro default__featurestore_from_epoch_us(us) -%}
(timestamp '1970-01-01 00:00:00'
    + cast(floor(({{ us }}) / 86400000000.0) as bigint) * interval '1 day'
    + cast(floor((({{ us }}) - cast(floor(({{ us }}) / 86400000000.0) as bigint) * 86400000000) / 1000000.0) as bigint) * interval '1 second'
    + cast((({{ us }}) - cast(floor(({{ us }}) / 1000000.0) as bigint) * 1000000) as bigint) * interval '1 microsecond')
{%- endmacro -%}

{#- https://duckdb.org/docs/stable/sql/functions/timestamp#make_timestampmicroseconds -#}
{%- macro duckdb__featurestore_from_epoch_us(us) -%}
make_timestamp({{ us }})
{%- endmacro -%}

{#- https://docs.snowflake.com/en/sql-reference/functions/to_timestamp (scale 6) -#}
{%- macro snowflake__featurestore_from_epoch_us(us) -%}
to_timestamp_ntz({{ us }}, 6)
{%- endmacro -%}

{#- A naive UTC TIMESTAMP_NTZ, no session zone involved (see featurestore_epoch_us).
    https://spark.apache.org/docs/latest/api/sql/#timestampadd -#}
{%- macro spark__featurestore_from_epoch_us(us) -%}
timestampadd(MICROSECOND, {{ us }}, timestamp_ntz'1970-01-01 00:00:00')
{%- endmacro -%}
