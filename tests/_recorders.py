"""Networks that keep the validation data early stopping held out."""

from skgd import MLPGDClassifier, MLPGDRegressor


class RecordsValidation:
    """Keeps, as ``validation_data_``, the validation data early stopping held out.

    A mixin: put it before the estimator's class among the bases.
    """

    def _split_validation(self, X, y, sample_weight, random_state):
        train, validation = super()._split_validation(X, y, sample_weight, random_state)
        self.validation_data_ = validation
        return train, validation


class RecordingClassifier(RecordsValidation, MLPGDClassifier):
    """MLPGDClassifier keeping the validation data early stopping held out."""


class RecordingRegressor(RecordsValidation, MLPGDRegressor):
    """MLPGDRegressor keeping the validation data early stopping held out."""
