"""The training loop shared by every estimator: epochs and batches, stopping
rules, callbacks, the statistics of the data that set the step size, and
the checks at the compiled kernels' boundary. Private."""
