{#- Every column of `alias` but `hidden`. DuckDB and Snowflake say so (`* exclude`);
    elsewhere the columns are listed: the spine's (`spine_columns`, asked of the
    warehouse: a built spine) then each view's of `specs`, as the join bodies'
    featurestore_output_select names them. -#}
{%- macro featurestore_star_except(alias, hidden, spine_columns, specs) -%}
    {{ return(adapter.dispatch('featurestore_star_except', 'featurestore')(alias, hidden, spine_columns, specs)) }}
{%- endmacro -%}

{#- https://duckdb.org/docs/stable/sql/expressions/star#exclude-clause -#}
{%- macro duckdb__featurestore_star_except(alias, hidden, spine_columns, specs) -%}
{{ alias }}.*{{ (' exclude (' ~ (hidden | join(', ')) ~ ')') if hidden }}
{%- endmacro -%}

{#- https://docs.snowflake.com/en/sql-reference/sql/select#parameters (EXCLUDE) -#}
{%- macro snowflake__featurestore_star_except(alias, hidden, spine_columns, specs) -%}
{{ alias }}.*{{ (' exclude (' ~ (hidden | join(', ')) ~ ')') if hidden }}
{%- endmacro -%}

{%- macro default__featurestore_star_except(alias, hidden, spine_columns, specs) -%}
    {%- if not hidden -%}
        {{ return(alias ~ '.*') }}
    {%- endif -%}
    {%- if spine_columns is none -%}
        {{ exceptions.raise_compiler_error(
            "as_of_join: on-demand inputs nobody asked for are left out of the training set by "
            ~ "listing its columns on this warehouse, which needs a built spine (a ref or source, "
            ~ "not a CTE name); pass one, or ask for the inputs too.") }}
    {%- endif -%}
    {%- set listed = [] -%}
    {%- for column in spine_columns -%}
        {%- do listed.append(alias ~ '.' ~ featurestore.featurestore_ident(column)) -%}
    {%- endfor -%}
    {%- for spec in specs -%}
        {%- for name in (spec['features'] | map(attribute='name') | list) + ['feature_ts'] -%}
            {%- set column = spec['name'] ~ '__' ~ name -%}
            {%- if column not in hidden -%}
                {%- do listed.append(alias ~ '.' ~ column) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(listed | join(', ')) }}
{%- endmacro -%}
