{#- The training set's select over the as-of join (`join_sql`) when on-demand features
    are asked for, as `featurestore training-set` writes it (featurestore/ondemand_sql.py):
    the join's columns but `hidden` (inputs nobody asked for), then one column per
    on-demand feature, `<view>__<feature>`, its expression in this warehouse's SQL
    (rendered by `featurestore generate`, featurestore/generate_on_demand.py) over the
    spine's request columns and the joined inputs. A request column that is
    timezone-aware (asked of the warehouse, for a built spine) is read as its instant. -#}
{% macro featurestore_on_demand_select(join_sql, spine, specs, on_demand, od_order, od_wanted, hidden) %}
    {%- set sql_key = featurestore.featurestore_on_demand_sql_key() -%}
    {%- set fields = [] -%}
    {%- for name in od_order -%}
        {%- for feature in on_demand[name]['features'] if feature['name'] in od_wanted[name] -%}
            {%- for field in feature['request'] if field not in fields -%}
                {%- do fields.append(field) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set spine_columns = featurestore.featurestore_relation_columns(spine) -%}
    {%- if spine_columns is not none -%}
        {%- set lowered = spine_columns | map('lower') | list -%}
        {%- for field in fields if field | lower not in lowered -%}
            {{ exceptions.raise_compiler_error(
                "as_of_join: the spine has no column `" ~ field ~ "`: an on-demand feature asked for "
                ~ "reads request field `" ~ field ~ "`. Add it to the spine, with the value each row was "
                ~ "scored with.") }}
        {%- endfor -%}
    {%- endif -%}
    {%- set aware = featurestore.featurestore_tz_columns(spine, fields) | map('lower') | list -%}
    {%- set columns = {} -%}
    {%- for field in fields -%}
        {%- set spelled = 'fs_joined.' ~ featurestore.featurestore_ident(field) -%}
        {%- do columns.update({field: featurestore.featurestore_utc_naive(spelled) if field | lower in aware else spelled}) -%}
    {%- endfor %}
-- the as-of join, then the columns asked for and the on-demand features
select
    {{ featurestore.featurestore_star_except('fs_joined', hidden, spine_columns, specs) }}
{%- for name in od_order -%}
{%- set view = on_demand[name] -%}
{%- for feature_name in od_wanted[name] -%}
{%- set feature = (view['features'] | selectattr('name', 'equalto', feature_name) | first) -%}
{%- set sql = [] -%}
{%- for part in feature['sql'][sql_key] -%}
    {%- if loop.index0 % 2 == 0 -%}
        {%- do sql.append(part) -%}
    {%- elif part in view['inputs'] -%}
        {%- do sql.append('fs_joined.' ~ view['inputs'][part]['view'] ~ '__' ~ view['inputs'][part]['feature']) -%}
    {%- else -%}
        {%- do sql.append(columns[part]) -%}
    {%- endif -%}
{%- endfor %},
    {{ sql | join('') }} as {{ name }}__{{ feature_name }}
{%- endfor -%}
{%- endfor %}
from (
{{ join_sql }}
) fs_joined
{%- endmacro %}
