"""The losses: regression losses of the residual (which are also the network
regressor's output units), the linear classifier's margin losses, and the
cross-entropy losses. Private: the estimators take them by name
(``loss="huber"``)."""
