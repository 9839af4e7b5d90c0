"""Class labels as the classifiers train on them: the label binarizer of
``y`` (or of the classes a stream declares), the checks of new labels, and
the class weights as per-sample weights. Shared by GDClassifier and
MLPGDClassifier."""

from numbers import Real

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _check_sample_weight


def fit_binarizer(y, classes=None):
    """Return the ``LabelBinarizer`` of the labels ``y`` (or of ``classes``).

    ``classes``, when given, lists every class of a stream; it is ignored for
    multilabel targets, whose labels are the columns of ``y``.
    """
    y_type = type_of_target(y, input_name="y")
    if y_type not in ("binary", "multiclass", "multilabel-indicator"):
        raise ValueError(
            "Only binary, multiclass and multilabel indicator targets are "
            f"supported; y is {y_type}."
        )
    use_classes = classes is not None and y_type != "multilabel-indicator"
    binarizer = LabelBinarizer().fit(classes if use_classes else y)
    if len(binarizer.classes_) < 2:
        raise ValueError(
            "At least 2 classes are needed to learn, but the data has only one "
            f"class: {binarizer.classes_[0]!r}."
        )
    return binarizer


def check_labels(y, binarizer, same_classes=False):
    """Check that ``y`` only has the classes (or labels) of ``binarizer``.

    With ``same_classes``, ``y`` must have every class too.
    """
    classes = binarizer.classes_
    if binarizer.y_type_.startswith("multilabel"):
        if y.ndim != 2 or y.shape[1] != len(classes):
            raise ValueError(
                f"y must be an indicator matrix of {len(classes)} labels, like "
                f"the targets the network was set up for; got shape {y.shape}."
            )
        return
    if y.ndim != 1:
        raise ValueError(f"y must be 1d class labels; got shape {y.shape}.")
    labels = np.unique(y)
    if same_classes and set(labels) != set(classes):
        raise ValueError(
            "warm_start needs y to have the same classes as the previous fit: "
            f"it had {classes}, y has {labels}."
        )
    unknown = np.setdiff1d(labels, classes)
    if len(unknown):
        raise ValueError(
            f"y has labels {unknown} that are not among the classes {classes}."
        )


def class_weight_of_samples(class_weight, binarizer, y):
    """The weight of each sample's class: ``class_weight`` is a dict or "balanced"."""
    if binarizer.y_type_.startswith("multilabel"):
        raise ValueError(
            "class_weight is not supported for multilabel targets; pass "
            "sample_weight instead."
        )
    classes = binarizer.classes_
    if isinstance(class_weight, str):
        weights = compute_class_weight(class_weight, classes=classes, y=y)
    else:
        weights = np.ones(len(classes))
        for label, weight in class_weight.items():
            if not (isinstance(weight, Real) and np.isfinite(weight) and weight >= 0):
                raise ValueError(
                    "class_weight must map labels to finite non-negative numbers;"
                    f" got {weight!r} for the label {label!r}."
                )
            index = np.flatnonzero(classes == label)
            if not len(index):
                raise ValueError(
                    f"class_weight has the label {label!r}, which is not among "
                    f"the classes {classes}."
                )
            weights[index] = weight
    weights = weights[np.searchsorted(classes, y)]
    if len(y) and not weights.any():
        raise ValueError(
            f"class_weight={class_weight!r} gives every sample of y a weight of 0;"
            " at least one must be positive."
        )
    return weights


def weigh_classes(class_weight, binarizer, y, sample_weight, X, partial):
    """The sample weights times the weights of the samples' classes.

    ``class_weight="balanced"`` is refused in ``partial_fit`` (``partial``):
    a chunk's class frequencies are not the data's.
    """
    if partial and class_weight == "balanced":
        raise ValueError(
            'class_weight="balanced" is not supported by partial_fit: a '
            "chunk's class frequencies are not the data's. Pass a dict, "
            'e.g. from compute_class_weight("balanced", ...) on all data.'
        )
    weights = class_weight_of_samples(class_weight, binarizer, y)
    given = _check_sample_weight(sample_weight, X, dtype=X.dtype)
    weighted = given * weights.astype(X.dtype)
    if (given > 0).any() and not (weighted > 0).any():
        raise ValueError(
            f"class_weight={class_weight!r} gives a weight of 0 to "
            "every sample with a positive sample_weight."
        )
    return weighted
