"""The one thing pyproject.toml cannot declare: the optional C accelerators.

- proxy.transforms._trad_scan: the markup step of the trad transform (reference: trad_markup.py);
- proxy.transforms._measure: the landmark repairs' measuring walk over libxml2's tree (reference:
  aria.Measure), built against lxml's public C API and the libxml2 headers lxml ships (lxml.get_include()),
  hence lxml in pyproject's build requirements.

optional=True: without a C compiler (or without lxml's headers) the build goes on and the package runs its
pure-Python references, with the same output, only slower."""
from setuptools import Extension, setup

extensions = [Extension("proxy.transforms._trad_scan", ["proxy/transforms/_trad_scan.c"], optional=True)]
try:
    import lxml
except ImportError:  # (a build without its build requirements: --no-build-isolation on a bare interpreter)
    pass
else:
    extensions.append(Extension("proxy.transforms._measure", ["proxy/transforms/_measure.c"],
                                include_dirs=lxml.get_include(), optional=True))

setup(ext_modules=extensions)
