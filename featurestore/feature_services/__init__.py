"""Feature services: the features one model consumes, in its order, and transformations
whose parameters are computed on a training set and frozen (docs/services.md).

- ``model.py``: ``FeatureService``, ``ServiceFeature``, ``Transformation``, the kinds;
- ``load.py``: ``feature_services/*.yml``, loaded strictly against the contracts;
- ``transforms.py``: each transformation as on-demand expression trees over its frozen
  parameters (the warehouse renders them, the lookup compiles them);
- ``params_sql.py``: the parameters, computed in the warehouse over a training set;
- ``param_registry.py``: the frozen sets, in ``featurestore.service_parameters``;
- ``freeze.py``: the training set of a service, and its parameters frozen;
- ``serving.py``: what a registry snapshot carries of each service to the lookup.
"""
