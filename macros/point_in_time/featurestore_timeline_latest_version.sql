{#- The timeline's corrections step (featurestore_timeline_body, 2), for a view with a
    created_timestamp: of the rows `source_rows` holds, one per (keys, feature_ts), the
    later created_timestamp winning and a null one losing; the view's columns exactly. -#}
{%- macro featurestore_timeline_latest_version(spec) -%}
    {{ return(adapter.dispatch('featurestore_timeline_latest_version', 'featurestore')(spec)) }}
{%- endmacro -%}

{#- Portable: NOT EXISTS a later correction of the same (keys, feature_ts). -#}
{%- macro default__featurestore_timeline_latest_version(spec) -%}
{%- set created = spec['created_timestamp'] -%}
select * from source_rows
        where not exists (
            select 1
            from source_rows as correction
            where {{ featurestore.featurestore_keys_equal(spec['keys'], 'correction', 'source_rows') }}
              and {{ featurestore.featurestore_view_column(spec['timestamp'], spec, 'correction') }} = {{ featurestore.featurestore_view_column(spec['timestamp'], spec, 'source_rows') }}
              and {{ featurestore.featurestore_view_column(created, spec, 'correction') }} > {{ featurestore.featurestore_view_column(created, spec, 'source_rows') }}
        )
{%- endmacro -%}

{#- QUALIFY row_number() = 1. https://duckdb.org/docs/stable/sql/query_syntax/qualify -#}
{%- macro duckdb__featurestore_timeline_latest_version(spec) -%}
select * from source_rows
        qualify row_number() over (
            partition by {{ featurestore.featurestore_key_list(spec['keys']) }}, {{ featurestore.featurestore_view_column(spec['timestamp'], spec) }}
            order by {{ featurestore.featurestore_view_column(spec['created_timestamp'], spec) }} desc nulls last
        ) = 1
{%- endmacro -%}

{#- The same QUALIFY as DuckDB's. https://docs.snowflake.com/en/sql-reference/constructs/qualify -#}
{%- macro snowflake__featurestore_timeline_latest_version(spec) -%}
    {{ return(featurestore.duckdb__featurestore_timeline_latest_version(spec)) }}
{%- endmacro -%}

{#- No QUALIFY: row_number in a subquery, the row carried as a struct so the result
    keeps exactly the view's columns. https://spark.apache.org/docs/latest/api/sql/#row_number -#}
{%- macro spark__featurestore_timeline_latest_version(spec) -%}
select _fs_row.*
        from (
            select
                struct(source_rows.*) as _fs_row,
                row_number() over (
                    partition by {{ featurestore.featurestore_key_list(spec['keys']) }}, {{ featurestore.featurestore_view_column(spec['timestamp'], spec) }}
                    order by {{ featurestore.featurestore_view_column(spec['created_timestamp'], spec) }} desc nulls last
                ) as _fs_version_rank
            from source_rows
        ) as ranked
        where _fs_version_rank = 1
{%- endmacro -%}
