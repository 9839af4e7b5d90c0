"""The linear models' losses: regression losses of the residual, and the
classifiers' margin and multinomial losses. Private: the estimators take
them by name (``loss="huber"``)."""
