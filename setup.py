"""The one thing pyproject.toml cannot declare: the optional C accelerator of the trad markup step.

optional=True: without a C compiler the build goes on and the package runs its pure-Python reference
(proxy/transforms/trad_markup.py), with the same output, only slower."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("proxy.transforms._trad_scan", ["proxy/transforms/_trad_scan.c"], optional=True)])
