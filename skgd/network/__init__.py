"""The multi-layer perceptrons: MLPGDClassifier, MLPGDRegressor, their
model, activations, output units, curvature estimate, and the compiled
epoch with its Python glue. Private: import the estimators from
:mod:`skgd`."""
