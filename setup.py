"""Maps the top-level folders the user asked for under the one ``replens`` namespace.

``hub``, ``device_agent`` and ``integrations`` would clash with existing PyPI packages as top-level
import names, so they install as ``replens.hub``, ``replens.device_agent`` and ``replens.integrations``.
Everything else lives in pyproject.toml.
"""

from setuptools import find_packages, setup

PACKAGE_DIRS = {
    "replens": "replens",
    "replens.hub": "hub",
    "replens.device_agent": "device_agent",
    "replens.integrations": "integrations",
}

packages = []
for name, folder in PACKAGE_DIRS.items():
    packages.append(name)
    # custom_components is Home Assistant's, copied into its config folder, not a part of replens
    packages += [f"{name}.{sub}" for sub in find_packages(folder, exclude=["*custom_components*"])]

setup(packages=packages, package_dir=PACKAGE_DIRS)
