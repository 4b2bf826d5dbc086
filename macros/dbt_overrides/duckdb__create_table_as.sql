{#-
  dbt-duckdb's create_table_as, which runs a model marked by rolling_windows with
  `statements` (featurestore_rolling_statements) as one statement per bucket of
  entities, and every other model exactly as dbt-duckdb does. The table and incremental
  materializations both build through it, so a full build and a full refresh take it.

  dbt picks it for this project (the root project's macros come first). A project that
  installs featurestore opts in with dbt's dispatch, its own name first:
    dispatch:
      - macro_namespace: dbt
        search_order: ['my_project', 'featurestore', 'dbt']
  Without it, the marked model runs as its one statement, with the same rows.
  https://docs.getdbt.com/reference/dbt-jinja-functions/dispatch#overriding-global-macros
-#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
{%- set contract = config.get('contract') -%}
{%- set plain = language != 'sql' or temporary or partitioned_by or sorted_by
                or (contract and contract.enforced) or config.get('sql_header') -%}
{%- set statements = none if plain else featurestore.featurestore_rolling_statement_list(compiled_code, relation) -%}
{%- if statements is none -%}
{{ dbt.duckdb__create_table_as(temporary, relation, compiled_code, language, partitioned_by=partitioned_by, sorted_by=sorted_by) }}
{%- else -%}
{{ statements | join(';\n\n') }};
{%- endif -%}
{%- endmacro %}
