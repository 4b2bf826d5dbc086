"""The applications: what people and schedulers run (the CLI, the SDK, the catalog site,
the demo, the loop, the versions workflow).

They sit on top of the services (featurestore.sync, .lookup, .gates) and the core
(featurestore/), and nothing below imports them: the direction tests/core/test_layers.py
checks folder by folder. Installed as ``featurestore.apps``.
"""
