"""The one C extension (the gateway's per-packet send path); everything else is in
pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cloud.gateway._rtpout",
            ["cloud/gateway/_rtpout.c"],
            extra_compile_args=["-O2", "-Wall", "-Werror=implicit-function-declaration"],
        )
    ]
)
