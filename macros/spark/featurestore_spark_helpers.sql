{#-
  Spark SQL spellings the shared helpers dispatch to (dialect 'spark'; Databricks runs
  the same bodies through dbt-databricks' fallback to `spark__`). Plain Jinja, so
  featurestore/sql_render.py renders them outside dbt too.

  Time: Spark's TIMESTAMP is an instant (TIMESTAMP_LTZ, shown in the session's zone);
  TIMESTAMP_NTZ is a naive wall clock. Naive times are UTC in featurestore, so the two
  meet through integer epoch microseconds: `unix_micros` of either type, and
  `timestampadd` / `timestamp_micros` back, which no session time zone shifts (tested
  under America/New_York, its DST gap included, and Asia/Kolkata). A cast between the
  two types would use the session's zone, and so does `timestampdiff` on
  TIMESTAMP_NTZ (an hour off in a DST gap): neither is used. featurestore's profile
  and sessions run in UTC all the same.
    https://spark.apache.org/docs/latest/sql-ref-datatypes.html
    https://spark.apache.org/docs/latest/api/sql/#unix_micros
-#}

{#- `name` as a Spark identifier: backticks, a backtick in it doubled. -#}
{%- macro featurestore_spark_ident(name) -%}
`{{ name | string | replace('`', '``') }}`
{%- endmacro -%}

{#- "`k1`, `k2`" (optionally `alias`.`k1`, ...). -#}
{%- macro featurestore_spark_key_list(keys, alias='') -%}
{%- for key in keys -%}{{ alias ~ '.' if alias }}{{ featurestore.featurestore_spark_ident(key) }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro -%}

{#- An instant (TIMESTAMP) as naive UTC (TIMESTAMP_NTZ), exactly. -#}
{%- macro featurestore_spark_utc_naive(expr) -%}
timestampadd(MICROSECOND, unix_micros({{ expr }}), timestamp_ntz'1970-01-01 00:00:00')
{%- endmacro -%}

{#- A naive UTC time (TIMESTAMP_NTZ) as the instant (TIMESTAMP) it names. -#}
{%- macro featurestore_spark_utc_aware(expr) -%}
timestamp_micros(unix_micros({{ expr }}))
{%- endmacro -%}

{#- Integer epoch microseconds of a TIMESTAMP or of a naive UTC TIMESTAMP_NTZ, exactly,
    whatever the session's zone. -#}
{%- macro featurestore_spark_epoch_us(ts) -%}
unix_micros({{ ts }})
{%- endmacro -%}

{#- Integer epoch microseconds as a naive UTC TIMESTAMP_NTZ (no session zone involved). -#}
{%- macro featurestore_spark_from_epoch_us(us) -%}
timestampadd(MICROSECOND, {{ us }}, timestamp_ntz'1970-01-01 00:00:00')
{%- endmacro -%}

{#- Stop the query with `message` (a SQL string expression): raise_error. Spark's VARCHAR
    needs a length, so the shared message's `as varchar` casts are read as STRING.
    https://spark.apache.org/docs/latest/api/sql/#raise_error -#}
{%- macro featurestore_spark_fail(message) -%}
(raise_error({{ message | replace(' as varchar)', ' as string)') }}) is null)
{%- endmacro -%}
