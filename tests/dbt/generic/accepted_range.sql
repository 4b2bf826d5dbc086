{#- Values within [min_value, max_value]: both bounds inclusive unless
    `inclusive: false`; either bound may be null (unbounded). Nulls pass (not_null
    checks them). dbt-utils' accepted_range, same arguments. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error(
        "accepted_range on " ~ model ~ "." ~ column_name ~ ": give `min_value`, "
        ~ "`max_value` or both.") }}
{%- endif %}
select *
from {{ model }}
where {{ column_name }} is not null
  and (
      false
      {%- if min_value is not none %}
      or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
      {%- endif %}
      {%- if max_value is not none %}
      or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
      {%- endif %}
  )
{% endtest %}
