{#- Which of `buckets` buckets (0 to buckets - 1) a row falls in, by a hash of its key
    columns (`columns`, a list of SQL expressions): the same keys always land in the
    same bucket, null keys included, so buckets split entities, never an entity. -#}
{%- macro featurestore_key_bucket(columns, buckets) -%}
    {{ return(adapter.dispatch('featurestore_key_bucket', 'featurestore')(columns, buckets)) }}
{%- endmacro -%}

{#- Portable (Snowflake): a signed 64-bit hash of the arguments, nulls included; abs()
    of it is a NUMBER, so it never overflows.
    https://docs.snowflake.com/en/sql-reference/functions/hash -#}
{%- macro default__featurestore_key_bucket(columns, buckets) -%}
mod(abs(hash({{ columns | join(', ') }})), {{ buckets | int }})
{%- endmacro -%}

{#- An unsigned 64-bit hash of the arguments, nulls included.
    https://duckdb.org/docs/stable/sql/functions/utility#hashvalue -#}
{%- macro duckdb__featurestore_key_bucket(columns, buckets) -%}
hash({{ columns | join(', ') }}) % {{ buckets | int }}
{%- endmacro -%}

{#- A signed 32-bit Murmur3 hash of the arguments (a null argument is skipped); pmod is
    never negative. https://spark.apache.org/docs/latest/api/sql/#hash -#}
{%- macro spark__featurestore_key_bucket(columns, buckets) -%}
pmod(hash({{ columns | join(', ') }}), {{ buckets | int }})
{%- endmacro -%}
