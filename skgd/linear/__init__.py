"""The linear models: GDRegressor, GDClassifier, their shared model, and
the compiled epoch that trains them with its Python glue. Private: import
the estimators from :mod:`skgd`."""
