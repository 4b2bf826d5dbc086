{#- The stored features the asked on-demand features read (their inputs), added to the
    as-of join: a view asked for gains the input features it lacks, a view read only for
    inputs is joined too. Returns the output columns nobody asked for (the inputs'
    columns and, for a view read only for inputs, its `<view>__feature_ts`), which the
    training set leaves out as `featurestore training-set` does. A pinned input
    (`view@vN:feature`) reads that version, an unpinned one the view's base version (the
    one `as_of_join` reads for `view`); one version per view, as the output's columns
    are named `<view>__<feature>` whatever the version. -#}
{% macro featurestore_on_demand_inputs(on_demand, od_order, od_wanted, contracts, order, wanted) %}
    {%- set hidden = [] -%}
    {%- for name in od_order -%}
        {%- set view = on_demand[name] -%}
        {%- for feature in view['features'] if feature['name'] in od_wanted[name] -%}
            {%- for input_name in feature['inputs'] -%}
                {%- set input = view['inputs'][input_name] -%}
                {%- set pinned = input['view'] ~ '@v' ~ input['version'] -%}
                {%- if input['version'] is none or (pinned not in contracts and input['view'] in contracts
                      and contracts[input['view']]['version'] == input['version']) -%}
                    {%- set key = input['view'] -%}
                {%- else -%}
                    {%- set key = pinned -%}
                {%- endif -%}
                {%- set known = contracts[key]['features'] | map(attribute='name') | list if key in contracts else [] -%}
                {%- if input['feature'] not in known -%}
                    {{ exceptions.raise_compiler_error(
                        "as_of_join: on-demand view `" ~ name ~ "` reads `" ~ key ~ ":" ~ input['feature']
                        ~ "`, which the generated contracts lack; run `featurestore generate`.") }}
                {%- endif -%}
                {%- for other in order if other != key and contracts[other]['name'] == input['view'] -%}
                    {{ exceptions.raise_compiler_error(
                        "as_of_join: view `" ~ input['view'] ~ "` is read at two versions (`" ~ other ~ "` and `"
                        ~ key ~ "`, an input of on-demand view `" ~ name ~ "`); a training set's columns are "
                        ~ "named <view>__<feature> whatever the version: read one version of it.") }}
                {%- endfor -%}
                {%- set column = input['view'] ~ '__' ~ input['feature'] -%}
                {%- if key not in wanted -%}
                    {%- do order.append(key) -%}
                    {%- do wanted.update({key: [input['feature']]}) -%}
                    {%- do hidden.extend([column, input['view'] ~ '__feature_ts']) -%}
                {%- elif wanted[key] is not none and input['feature'] not in wanted[key] -%}
                    {%- do wanted[key].append(input['feature']) -%}
                    {%- do hidden.append(column) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(hidden) }}
{% endmacro %}
