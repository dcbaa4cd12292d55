"""cloudformation-cli language plugin for rpdk-rs (``"language": "rust"``).

``cfn`` loads the class named by the ``rpdk.v1.languages`` entry point ``rust``
and instantiates it with no arguments (``rpdk.core.plugin_registry.load_plugin``).
The Rust build writes the project (``.rpdk-config``, the schema, ``inputs/``)
and the Lambda bundle ``handler.zip`` itself, so this plugin generates nothing:
it only hands that prebuilt bundle to ``cfn submit``.
"""

from importlib.metadata import version

from rpdk.core.exceptions import SysExitRecommendedError
from rpdk.core.plugin_base import LanguagePlugin

DISTRIBUTION = "rpdk-rust-plugin"
HANDLER_BUNDLE = "handler.zip"


class RustLanguagePlugin(LanguagePlugin):
    """The three hooks ``rpdk.core.project.Project`` calls, plus its metadata hook."""

    def init(self, project):
        """``cfn init``: nothing to scaffold; the Rust build writes the project."""

    def generate(self, project):
        """``cfn generate``: no code to generate.

        ``Project.generate`` itself writes ``resource-role.yaml`` before calling
        this, and ``cfn generate`` then writes ``docs/``.
        """

    def package(self, project, zip_file):
        """``cfn submit``: add ``<project root>/handler.zip`` as ``handler.zip``.

        The bundle (``bootstrap`` at its root) is built beforehand by the Rust
        build; ``cfn submit`` writes the schema, ``.rpdk-config``, ``inputs/``,
        ``overrides.json`` and ``.cfn_metadata.json`` around it.
        """
        bundle = project.root / HANDLER_BUNDLE
        if not bundle.is_file():
            raise SysExitRecommendedError(
                f"{bundle} not found: build the handler bundle first "
                "(a zip with the 'bootstrap' executable at its root)"
            )
        zip_file.write(bundle, HANDLER_BUNDLE)

    def get_plugin_information(self, project):
        """Written into ``.cfn_metadata.json`` of the submitted package."""
        return {"plugin-name": "rust", "plugin-version": version(DISTRIBUTION)}
