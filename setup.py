"""Builds the optional compiled helpers (tinygrad_seq/_native_ext.c); everything else is in
pyproject.toml. Without a C compiler the build skips them and the engine uses NumPy alone."""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:  # NumPy's headers (pyproject's build requirements bring NumPy)
    import numpy
except ImportError:  # a build without it (no isolation): no compiled helpers
    numpy = None


class BuildNative(build_ext):
    """Optimised, and vectorised where gcc or clang can (`omp simd` needs no OpenMP
    runtime); a failure to compile leaves the extension out (it is optional)."""

    def build_extensions(self):
        if self.compiler.compiler_type == "unix":
            for ext in self.extensions:
                ext.extra_compile_args += ["-O3", "-fopenmp-simd"]
        super().build_extensions()


setup(
    ext_modules=[
        Extension(
            "tinygrad_seq._native_ext",
            ["tinygrad_seq/_native_ext.c"],
            include_dirs=[numpy.get_include()],
            optional=True,
        )
    ]
    if numpy is not None
    else [],
    cmdclass={"build_ext": BuildNative},
)
