{#- The statements of a model marked by featurestore_rolling_statements, building it
    into `relation`; none when `compiled_code` holds no marked call (then dbt's own
    create_table_as runs it), an error when it holds more than one. The stage is the
    model's SQL up to the windows' CTE, that CTE emptied (`select 1`), selecting the
    input: a CTE input is read where it is defined. Each bucket's statement is the
    model with the windows of that bucket. -#}
{%- macro featurestore_rolling_statement_list(compiled_code, relation) -%}
{%- set begin = '/* featurestore:rolling_statements ' -%}
{%- set end = '/* featurestore:rolling_statements:end */' -%}
{%- if compiled_code.count(begin) == 0 -%}
    {{ return(none) }}
{%- endif -%}
{%- if compiled_code.count(begin) != 1 or compiled_code.count(end) != 1 -%}
    {{ exceptions.raise_compiler_error(
        "rolling_windows with `statements` true (var featurestore_rolling_statements) in "
        ~ relation ~ ": the model holds " ~ compiled_code.count(begin) ~ " calls marked for "
        ~ "statements (or their marker's text, /* featurestore:rolling_statements ... */); "
        ~ "one statement per bucket splits one call: pass statements=false to the others.") }}
{%- endif -%}
{%- set prefix, marked = compiled_code.split(begin) -%}
{%- set plan_text, rest = marked.split(' */', 1) -%}
{%- set _one_statement, suffix = rest.split(end) -%}
{%- set plan = fromjson(plan_text) -%}
{%- if not modules.re.search('(?i)\\bas\\s*(not\\s+)?(materialized\\s*)?\\(\\s*$', prefix) -%}
    {{ exceptions.raise_compiler_error(
        "rolling_windows with `statements` true (var featurestore_rolling_statements) in "
        ~ relation ~ ": the call must be the whole body of a CTE, `windows as ( "
        ~ "{{ rolling_windows(...) }} )`; write it so, or set statements false.") }}
{%- endif -%}
{%- set statements = ['create or replace temp table ' ~ plan['stage_table'] ~ ' as '
                      ~ prefix ~ 'select 1\n)\n' ~ plan['stage']] -%}
{%- for bucket in range(plan['buckets']) -%}
    {%- set model = prefix ~ plan['head'] ~ bucket ~ plan['tail'] ~ suffix -%}
    {%- if loop.first -%}
        {%- do statements.append('create table ' ~ relation ~ ' as (\n' ~ model ~ '\n)') -%}
    {%- else -%}
        {%- do statements.append('insert into ' ~ relation ~ ' select * from (\n' ~ model
                                 ~ '\n) as model_subq') -%}
    {%- endif -%}
{%- endfor -%}
{%- do statements.append('drop table ' ~ plan['stage_table']) -%}
{{ return(statements) }}
{%- endmacro -%}
