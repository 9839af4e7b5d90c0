"""Build the compiled epochs of the models; everything else is in pyproject.toml."""

import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

# Without errno from sqrt, GCC and Clang vectorise the optimizers' loops.
flags = [] if sys.platform == "win32" else ["-fno-math-errno"]
extensions = [
    Extension(
        "skgd.linear._epoch",
        ["skgd/linear/_epoch.pyx"],
        depends=["skgd/optimizers/_rules.pxi", "skgd/training/_kernel_checks.pxi"],
        extra_compile_args=flags,
    ),
    Extension(
        "skgd.training._column_statistics",
        ["skgd/training/_column_statistics.pyx"],
        extra_compile_args=flags,
    ),
    # The network's matrix products call the BLAS that SciPy ships, through
    # scipy.linalg.cython_blas: nothing to link here.
    Extension(
        "skgd.network._epoch",
        ["skgd/network/_epoch.pyx"],
        depends=["skgd/optimizers/_rules.pxi", "skgd/training/_kernel_checks.pxi"],
        extra_compile_args=flags,
    ),
]

setup(ext_modules=cythonize(extensions, language_level=3))
