"""The dbt macros, also shipped inside the Python package as ``featurestore.macros``.

dbt reads the ``.sql`` files of this folder and its sub-folders (one macro per file, in
folders by kind: ``point_in_time/``, ``rolling_windows/``, ``sql/``, ``jinja_helpers/``,
``versions/``; it is the project's macro path, and what a dbt project gets when it
installs featurestore as a package). The Python package ships the same files as package
data, so ``featurestore training-set`` renders exactly these bodies from a wheel as from
this repository (see ``featurestore/sql_render.py``). This file only makes the folder
importable for ``importlib.resources``.
"""
