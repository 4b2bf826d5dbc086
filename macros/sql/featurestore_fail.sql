{#- An expression that stops the query with `message` (a SQL string expression) when
    evaluated. -#}
{%- macro featurestore_fail(message) -%}
    {{ return(adapter.dispatch('featurestore_fail', 'featurestore')(message)) }}
{%- endmacro -%}

{#- Portable: the message cast to a number, which fails quoting it. -#}
{%- macro default__featurestore_fail(message) -%}
(cast({{ message }} as integer) = 0)
{%- endmacro -%}

{#- https://duckdb.org/docs/stable/sql/functions/utility#errormessage -#}
{%- macro duckdb__featurestore_fail(message) -%}
error({{ message }})
{%- endmacro -%}

{#- raise_error; Spark's VARCHAR needs a length, so the message's `as varchar` casts are
    read as STRING. https://spark.apache.org/docs/latest/api/sql/#raise_error -#}
{%- macro spark__featurestore_fail(message) -%}
(raise_error({{ message | replace(' as varchar)', ' as string)') }}) is null)
{%- endmacro -%}
