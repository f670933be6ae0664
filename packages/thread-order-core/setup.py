"""Build the optional compiled ready-set core.

The build fails loudly and the import falls back quietly: a compile error in a normal build
stops the build, while a machine without a C compiler (or THREAD_ORDER_NO_EXTENSIONS=1 at
build time, or a non-CPython interpreter) gets a working pure-Python install and a message
saying so.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

HERE = Path(__file__).parent
PYX = "src/thread_order/_readyset_c.pyx"


def _note(message: str) -> None:
    sys.stderr.write(f"thread-order-core: {message}\n")


def _compiler_works() -> bool:
    """Compile a one-line C file; False if no usable C compiler is installed."""
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "probe.c")
        src.write_text("int main(void) { return 0; }\n")
        try:
            compiler.compile([str(src)], output_dir=tmp)
        except Exception:  # any compiler failure means: no usable compiler
            return False
    return True


def _wanted() -> list[Extension]:
    """The extension list; empty when the pure-Python core is asked for."""
    if os.environ.get("THREAD_ORDER_NO_EXTENSIONS"):
        _note("THREAD_ORDER_NO_EXTENSIONS is set: building the pure-Python core only.")
        return []
    if platform.python_implementation() != "CPython":
        _note("not CPython: building the pure-Python core only.")
        return []
    if not (HERE / PYX).exists():
        return []
    trace = bool(os.environ.get("THREAD_ORDER_CYTHON_TRACE"))
    ext = Extension(
        "thread_order._readyset_c",
        [PYX],
        define_macros=[("CYTHON_TRACE_NOGIL", "1"), ("CYTHON_TRACE", "1")] if trace else [],
        extra_compile_args=[] if sys.platform == "win32" else ["-O2"],
    )
    ext.cython_directives = {  # type: ignore[attr-defined]
        "language_level": "3",
        "boundscheck": False,
        "wraparound": False,
        "cdivision": True,
        "initializedcheck": False,
        "linetrace": trace,
    }
    return [ext]


class build_ext(_build_ext):
    """Cythonize and compile at build time; with no compiler at all, fall back with a note."""

    def run(self) -> None:
        if self.extensions and not _compiler_works():
            _note(
                "no working C compiler found: installing the pure-Python core, which is "
                "correct but slower. Install a compiler and reinstall for the compiled core."
            )
            self.extensions = []
        if self.extensions:
            from Cython.Build import cythonize

            compiled = cythonize(
                self.extensions,
                compiler_directives=self.extensions[0].cython_directives,  # type: ignore[attr-defined]
            )
            # Keep the Extension objects finalize_options() prepared (setuptools' build_ext
            # relies on attributes it set there, e.g. _needs_stub): take only the C sources.
            for ext, done in zip(self.extensions, compiled, strict=True):
                ext.sources = done.sources
        super().run()


setup(ext_modules=_wanted(), cmdclass={"build_ext": build_ext})
