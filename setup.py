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
    runtime), with a * b + c rounded as written, not fused into one instruction where the
    CPU has one (so σ's and tanh's backward give the NumPy path's numbers bit for bit on
    every CPU; the other kernels agree with it to rounding); a failure to compile leaves
    the extension out (it is optional)."""

    def build_extensions(self):
        if self.compiler.compiler_type == "unix":
            for ext in self.extensions:
                ext.extra_compile_args = [
                    "-O3",
                    "-fopenmp-simd",
                    "-fno-math-errno",
                    "-ffp-contract=off",
                ]
                if _vector_exp():  # glibc's vector exponentials: a one-pass softmax
                    ext.define_macros = [("TGS_VECTOR_EXP", "1")]
                    ext.libraries = ["mvec"]
                    if _vector_erfc():  # and erfc (glibc 2.35 on): the exact gelu
                        ext.define_macros.append(("TGS_VECTOR_ERFC", "1"))
        super().build_extensions()


def _vector_exp() -> bool:
    """Whether glibc's libmvec is at hand (x86-64 Linux): expf on 16 floats at once."""
    import ctypes.util
    import platform

    return (
        platform.system() == "Linux"
        and platform.machine() in ("x86_64", "AMD64")
        and platform.libc_ver()[0] == "glibc"
        and ctypes.util.find_library("mvec") is not None
    )


def _vector_erfc() -> bool:
    """Whether that libmvec has erfc too (glibc 2.35 on): 4 doubles at once with AVX2."""
    import ctypes
    import ctypes.util

    try:
        return hasattr(ctypes.CDLL(ctypes.util.find_library("mvec")), "_ZGVdN4v_erfc")
    except OSError:
        return False


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
